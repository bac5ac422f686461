"""Table II's cost on this machine: each network's training speed under the `baselines` profile, and what the whole table costs.

For every network of the paper's Table II (ResMaskingNet included) as `fermask table2` trains it
(`fermask.experiments.table2_runs`: 48x48, Inception-v3 at 75x75; with --smaller, VGG19, ResNet-152 and
ResMaskingNet at their smaller width), under the profile's batch, bf16 autocast and channels_last: its
work per image (forward + backward) and the trainer's images/s over the second of two short epochs
(`trainer_rate` of benchmarks/throughput.py), hence minutes per epoch of FER2013's training
faces (the batch loop only: validation, 3,589 faces forward, is not counted). The last lines add the
networks up: minutes for the profile's epochs against the table's budget, and the networks whose run
would pass the per-network limit: the ones to run at a stated smaller width or input size.
Run on an otherwise idle machine:  python benchmarks/table2_budget.py [--smaller] | tee -a benchmarks/table2_budget.txt
"""
import argparse, contextlib, io, os, platform
from datetime import datetime, timezone
import torch
from fermask.cache import fer2013_splits
from fermask.experiments import profile_config, table2_runs
from fermask.models import create
from fermask.training import set_determinism
from throughput import flops_per_image, trainer_rate

BUDGET_MINUTES, NETWORK_MINUTES = 360, 45   # the whole table, and one network's run

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smaller', action='store_true', help='VGG19, ResNet-152 and ResMaskingNet at their smaller width, as `fermask table2` runs them')
    ap.add_argument('--steps', type=int, default=6, help='timed batches per network')
    args = ap.parse_args()
    profile = profile_config('baselines')
    set_determinism(False, 0)
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; `baselines` profile: batch {profile.batch_size}, "
          f"{profile.epochs} epochs; {args.steps} timed batches per network")
    print(f"command: python benchmarks/table2_budget.py{' --smaller' if args.smaller else ''} --steps {args.steps}\n")
    print(f"{'network':16s} {'model':16s} {'arguments':26s} {'size':>4s} {'GFLOP/img':>9s} {'img/s':>7s} {'min/epoch':>9s} {f'min/{profile.epochs} epochs':>13s}")
    training_faces = len(fer2013_splits()['train'])
    per_epoch = {}
    for network, run in table2_runs(args.smaller).items():
        size, model_args = run.get('size', profile.size), run.get('model_args', {})
        flops = flops_per_image(create(run['model'], in_size=size, **model_args), size, torch.device('cpu'))
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer's epoch lines
            rate = trainer_rate(run['model'], model_args, size, profile.batch_size, args.steps, torch.device('cpu'))
        per_epoch[network] = training_faces / rate / 60
        print(f"{network:16s} {run['model']:16s} {str(model_args or ''):26s} {size:4d} {flops / 1e9:9.2f} {rate:7.1f} {per_epoch[network]:9.1f} "
              f"{profile.epochs * per_epoch[network]:13.0f}", flush=True)
    total = sum(per_epoch.values())
    print(f"\nall {len(per_epoch)} networks: {total:.1f} min per epoch each, {profile.epochs * total:.0f} min for {profile.epochs} epochs "
          f"(budget {BUDGET_MINUTES}); the budget holds {BUDGET_MINUTES / total:.1f} epochs of every network")
    slow = [n for n, m in per_epoch.items() if profile.epochs * m > NETWORK_MINUTES]
    print(f"over {NETWORK_MINUTES} min for {profile.epochs} epochs: {', '.join(slow) or 'none'}\n")
