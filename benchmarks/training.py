"""Training throughput on this machine: the bare step against the full trainer.

For ResMaskingNet and ResNet-34 (identical stem and head) at 48, 96 and 224 pixels, batch 48:
  bare    : forward + backward + RAdam step on a ready-made batch: the median over timed steps,
            after two warm-up steps (images/s);
  trainer : fermask.training.train for two epochs on a slice of FER2013, timing the batch loop of
            the second (`train_seconds` in the history): data loading, the batched flip/rotate/resize
            augmentation, forward, loss, backward and the optimiser step (images/s). The first epoch
            is the warm-up. Validation and the checkpoint, once per epoch, are outside the loop; over
            a real epoch of 599 steps they cost little, and the last column shows them for the record.
The ratio trainer/bare shows whether the data pipeline ever holds the model back.
Run:  python benchmarks/training.py | tee benchmarks/training.txt   (on an otherwise idle machine)
"""
import os, platform, statistics, tempfile, time
from datetime import datetime, timezone
import torch, torch.nn.functional as F
from fermask.cache import fer2013_splits
from fermask.models import create
from fermask.training import TrainConfig, train

BATCH = 48
STEPS = {48: 30, 96: 8, 224: 3}   # timed steps per size (after warm-up steps, or a warm-up epoch)

def bare_step_rate(name, size):
    torch.manual_seed(0)
    model = create(name, in_size=size).train()
    opt = torch.optim.RAdam(model.parameters(), lr=1e-4, weight_decay=1e-3, decoupled_weight_decay=True)
    x, y = torch.rand(BATCH, 3, size, size), torch.randint(0, 7, (BATCH,))
    def step():
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return time.perf_counter() - t0
    step(); step()
    return BATCH / statistics.median(step() for _ in range(STEPS[size]))

def trainer_rates(name, size, splits):
    n = STEPS[size] * BATCH
    cfg = TrainConfig(model=name, size=size, epochs=2, train_limit=n, val_limit=BATCH, progress=False)
    with tempfile.TemporaryDirectory() as d: result = train(cfg, d, splits)
    epoch = result.history[1]
    return n / epoch['train_seconds'], epoch['seconds'] - epoch['train_seconds']

if __name__ == '__main__':
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH}")
    print("command: python benchmarks/training.py\n")
    splits = fer2013_splits()
    print(f"{'model':16s} {'size':>4s} {'bare img/s':>11s} {'trainer img/s':>14s} {'ratio':>6s} {'val+checkpoint s/epoch':>23s}")
    for size in (48, 96, 224):
        for name in ('resmaskingnet', 'resnet34'):
            bare, (full, per_epoch) = bare_step_rate(name, size), trainer_rates(name, size, splits)
            print(f"{name:16s} {size:4d} {bare:11.1f} {full:14.1f} {full / bare:6.2f} {per_epoch:23.1f}", flush=True)
