"""Training throughput of a model on a GPU or the CPU, and the fraction of the device's peak it reaches.

By default: ResMaskingNet at 224x224 on the GPU, at the paper's batch of 48. Two rates, in images/s:
  bare    : forward + backward + RAdam step on a batch already on the device, in each numeric format of
            --formats ('bf16-cl': bf16 autocast and channels_last, what a GPU run uses; 'fp32': neither)
            and each compile setting of --compile ('off': eager; 'reduce-overhead': torch.compile with
            CUDA graphs, what a GPU run uses; 'default': torch.compile alone), with cuDNN autotuning; the
            median over --steps timed steps after warm-up steps. The first compiled step's seconds, the
            compilation, are reported apart;
  trainer : fermask.training.train for two epochs on a slice of FER2013 (data loading, augmentation on
            the device, forward, backward, step) with the last of --compile, timing the batch loop of the
            second epoch (the first holds the compilation).
The model's work per image is counted with torch.utils.flop_counter (forward and backward, multiply-adds
counted as 2 FLOPs); achieved FLOP/s = bare bf16 rate x FLOPs per image, and the fraction of peak divides it
by the GPU's dense bf16 tensor-core peak (the table below, or --peak-tflops). A convolutional network with
small feature maps, batch norms and element-wise masks is far from matmul-bound: expect a modest fraction.
--json PATH also writes the numbers as JSON (benchmarks/gpu_run.sh reads it to pick the compile setting).
Run on a GPU:  python benchmarks/throughput.py | tee benchmarks/gpu.txt
Rehearse on the CPU (a tiny ResMaskingNet at 48x48, a minute or two, mostly compilation):
  python benchmarks/throughput.py --quick
The CPU profile's formats on our 2 cores (an idle machine), for resmaskingnet_cpu, then the same network with
the deeper masks of an earlier recipe (depths 2, 2, 1, 1), then resmaskingnet_s48 at 96x96:
  python benchmarks/throughput.py --device cpu --model resmaskingnet_cpu --size 96 --batch 64 --steps 30 --formats fp32 bf16-cl --compile off --no-trainer | tee benchmarks/cpu_formats.txt
  python benchmarks/throughput.py --device cpu --model resmaskingnet_cpu --model-args '{"mask_depths": [2, 2, 1, 1]}' --size 96 --batch 64 --steps 30 --formats fp32 bf16-cl --compile off --no-trainer | tee -a benchmarks/cpu_formats.txt
  python benchmarks/throughput.py --device cpu --model resmaskingnet_s48 --size 96 --batch 64 --steps 30 --formats fp32 bf16-cl --compile off --no-trainer | tee -a benchmarks/cpu_formats.txt
"""
import argparse, json, os, shlex, platform, statistics, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import torch, torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from fermask.cache import fer2013_splits
from fermask.models import create
from fermask.training import TrainConfig, TrainingStep, compiled_step, train, set_determinism

# dense bf16 tensor-core peaks in TFLOP/s, from NVIDIA's data sheets; matched against torch.cuda.get_device_name()
PEAK_BF16_TFLOPS = {'H200': 989.4, 'H100 80GB HBM3': 989.4, 'H100 PCIe': 756.0, 'H100 NVL': 835.0,
                    'A100': 312.0, 'L40S': 362.0, 'L4': 121.0, 'A10G': 70.0}

def peak_tflops(device:torch.device) -> float|None:
    if device.type != 'cuda': return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)

def flops_per_image(model, size, device):
    x = torch.rand(2, 3, size, size, device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), torch.zeros(2, dtype=torch.long, device=device)).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2

def bare_rate(model, size, batch, steps, device, fmt='bf16-cl', compile='off'):
    "(images/s of the steady step, seconds of the first step: the compilation, if any)."
    channels_last = fmt == 'bf16-cl'
    model = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    opt = torch.optim.RAdam(model.parameters(), lr=1e-4, weight_decay=1e-3, decoupled_weight_decay=True)
    torch.compiler.reset()  # each setting compiles from scratch, so its first step shows its whole compilation
    run = compiled_step(TrainingStep(model), compile, device)
    x = torch.rand(batch, 3, size, size, device=device)
    if channels_last: x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (batch,), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    def step():
        sync(); t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fmt == 'bf16-cl'):
            loss, _ = run(x, y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        sync(); return time.perf_counter() - t0
    first = step()
    for _ in range(3): step()  # warm-up: cuDNN's autotuning, the CUDA graphs' recording
    return batch / statistics.median(step() for _ in range(steps)), first

def trainer_rate(model, model_args, size, batch, steps, device, compile='off'):
    n = steps * batch
    cfg = TrainConfig(model=model, model_args=model_args, size=size, epochs=2, batch_size=batch, train_limit=n, val_limit=batch,
                      amp='bf16', channels_last='on', compile=compile, deterministic=False, device=str(device), progress=False)
    with tempfile.TemporaryDirectory() as d: result = train(cfg, d, fer2013_splits())
    return n / result.history[1]['train_seconds']

QUICK = dict(device='cpu', model='resmaskingnet', model_args={'width': 0.125, 'layers': [1, 1, 1, 1], 'mask_depths': [1, 1, 1, 1]},
             size=48, batch=16, steps=5, formats=['bf16-cl'], compile=['off', 'default'])  # the CPU rehearsal of --quick

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda'); ap.add_argument('--model', default='resmaskingnet')
    ap.add_argument('--size', type=int, default=224); ap.add_argument('--batch', type=int, default=48)
    ap.add_argument('--steps', type=int, default=30); ap.add_argument('--formats', nargs='+', default=['bf16-cl'], choices=['bf16-cl', 'fp32'])
    ap.add_argument('--compile', nargs='+', default=['off', 'reduce-overhead'], choices=['off', 'default', 'reduce-overhead'])
    ap.add_argument('--peak-tflops', type=float, default=None, help="the GPU's dense bf16 peak, if not in the table")
    ap.add_argument('--no-trainer', action='store_true', help='only the bare step')
    ap.add_argument('--model-args', type=json.loads, default={}, help='the model\'s arguments as JSON, e.g. \'{"mask_depths": [2, 2, 1, 1]}\'')
    ap.add_argument('--quick', action='store_true', help='rehearse on the CPU: ' + ', '.join(f'{k} {v}' for k, v in QUICK.items()))
    ap.add_argument('--json', default='', help='also write the numbers to this JSON file')
    args = ap.parse_args()
    if args.quick: vars(args).update(QUICK)
    device = torch.device(args.device)
    set_determinism(False, 0)
    model = create(args.model, in_size=args.size, **args.model_args).to(device).train()
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {name}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.model}{' ' + json.dumps(args.model_args) if args.model_args else ''} at {args.size}x{args.size}, batch {args.batch}")
    print(f"command: python benchmarks/throughput.py {shlex.join(sys.argv[1:])}\n")
    flops = flops_per_image(model, args.size, device)
    print(f"work per image (forward + backward): {flops / 1e9:.2f} GFLOP")
    peak = args.peak_tflops or peak_tflops(device)
    numbers = {'device': name, 'torch': torch.__version__, 'gflop_per_image': flops / 1e9, 'bare': {}}
    for fmt in args.formats:
        for setting in args.compile:
            rate, first = bare_rate(model, args.size, args.batch, args.steps, device, fmt, setting)
            achieved = rate * flops / 1e12
            share = f" = {100 * achieved / peak:.1f}% of the {peak:.0f} TFLOP/s bf16 peak" if peak and fmt == 'bf16-cl' else ''
            compilation = f"; first step (compilation) {first:.1f} s" if setting != 'off' else ''
            print(f"bare step, {fmt:7s}, compile {setting:15s}: {rate:8.1f} images/s = {achieved:.2f} TFLOP/s{share}{compilation}", flush=True)
            numbers['bare'][f'{fmt}/{setting}'] = {'images_per_s': rate, 'first_step_seconds': first}
    if not args.no_trainer:
        full = trainer_rate(args.model, args.model_args, args.size, args.batch, args.steps, device, args.compile[-1])
        print(f"trainer, bf16-cl, compile {args.compile[-1]}: {full:8.1f} images/s; an epoch of FER2013's 28,709 training faces: {28709 / full / 60:.1f} min")
        numbers['trainer'] = {'compile': args.compile[-1], 'images_per_s': full}
    if args.json: Path(args.json).write_text(json.dumps(numbers, indent=1) + '\n')
