"""Training throughput on this machine: the bare step against the full trainer (issue 3, Performance).

For ResMaskingNet and ResNet-34 (identical stem and head) at 48, 96 and 224 pixels:
  bare    : forward + backward + RAdam step on a ready-made batch of 48 (images/s);
  trainer : fermask.training.train for one epoch on a slice of FER2013, so data loading, the batched
            flip/rotate/resize augmentation, the loss, the optimiser and a tiny validation pass are all
            in it (images/s of training faces over the epoch's wall time).
The ratio trainer/bare shows whether the data pipeline ever holds the model back.
Run:  python benchmarks/training.py | tee benchmarks/training.txt
"""
import os, platform, tempfile, time
from datetime import datetime, timezone
import torch, torch.nn.functional as F
from fermask.cache import fer2013_splits
from fermask.models import create
from fermask.training import TrainConfig, train

BATCH = 48
STEPS = {48: 12, 96: 6, 224: 3}   # timed steps per size (one more is run first as warm-up)

def bare_step_rate(name, size):
    torch.manual_seed(0)
    model = create(name, in_size=size).train()
    opt = torch.optim.RAdam(model.parameters(), lr=1e-4, weight_decay=1e-3, decoupled_weight_decay=True)
    x, y = torch.rand(BATCH, 3, size, size), torch.randint(0, 7, (BATCH,))
    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    step()
    t0 = time.perf_counter()
    for _ in range(STEPS[size]): step()
    return STEPS[size] * BATCH / (time.perf_counter() - t0)

def trainer_rate(name, size, splits):
    n = (STEPS[size] + 1) * BATCH
    cfg = TrainConfig(model=name, size=size, epochs=1, train_limit=n, val_limit=BATCH, progress=False)
    with tempfile.TemporaryDirectory() as d: result = train(cfg, d, splits)
    return n / result.history[0]['seconds']

if __name__ == '__main__':
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH}")
    print("command: python benchmarks/training.py\n")
    splits = fer2013_splits()
    print(f"{'model':16s} {'size':>4s} {'bare img/s':>11s} {'trainer img/s':>14s} {'ratio':>6s}")
    for size in (48, 96, 224):
        for name in ('resmaskingnet', 'resnet34'):
            bare, full = bare_step_rate(name, size), trainer_rate(name, size, splits)
            print(f"{name:16s} {size:4d} {bare:11.1f} {full:14.1f} {full / bare:6.2f}", flush=True)
