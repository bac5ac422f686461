"""The paper's protocol for ResMaskingNet on a GPU machine reached one command at a time, as that single command, ended inside --minutes (9).

On the GPU machine (it needs only python3 with torch, torchvision, numpy, pandas, matplotlib, seaborn,
safetensors, tqdm and opencv; no papermill, nbdev or fastcore):
    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_run.py
Rehearsal here, on the CPU at a tiny scale (a tiny ResMaskingNet at 48x48, 256 faces, one epoch: a minute with a
warm compiler cache, five on our 2 cores with an empty one), writing into a temporary folder unless $OUT is set:
    python benchmarks/gpu_run.py --dry-run
Stages, each under a deadline so that the record is written whatever happens:
  1. the environment: the GPU (nvidia-smi), python, torch and the packages fermask imports, the commit;
  2. FER2013: data/fer2013.tar.xz, the zip's image folder sent to the machine as a solid archive, unpacked
     to /tmp (else whatever fermask.data.find_fer2013 finds). Make it here, once:
        python -c "import zipfile; zipfile.ZipFile('data/fer2013.zip').extractall('/tmp/fer2013')"
        tar -C /tmp/fer2013 -cJf data/fer2013.tar.xz .
     It is 50 MiB (its folder's sha256 is the 5b12daae... of the H100 records). Where what travels with one
     command (the 22 MiB repository and the files sent with it) is limited to 64 MiB, send it in two halves,
     the first with a quick command and the second with this one, to the same machine, which keeps
     git-ignored files between commands:
        split -n 2 -d data/fer2013.tar.xz data/fer2013.tar.xz.part-
        1st command, sending data/fer2013.tar.xz.part-00:  ls -l data
        2nd command, sending data/fer2013.tar.xz.part-01:  PYTHONUNBUFFERED=1 python3 benchmarks/gpu_run.py
     The parts are joined again (`joined`) before unpacking;
  3. benchmarks/throughput.py, briefly: the bare step at batch 48 in bf16, eager and compiled with CUDA graphs
     ('reduce-overhead'), the compilation timed apart. Training compiles its step only if the compiled one
     ran there and was faster;
  4. the paper's protocol from scratch (the 'paper' profile of fermask.experiments), with max_minutes leaving
     time for evaluation and the record, in a subprocess killed at its deadline. If a compiled run fails, it
     resumes from its last checkpoint with the eager step (compile changes only float rounding);
  5. the best weights on PublicTest (val) and PrivateTest (test), without TTA, with flips and with the authors'
     random views, and the run's record written by fermask.experiments.write_record into
     results/paper/<run>/ (run.json, history, per-image probabilities, confusion matrix, curves).
$OUT receives four files: log.txt (everything printed), throughput.txt and .json, and record.tar.gz, the
record folder with its path from the repository root. The weights (550 MB) stay on the machine.
Landing it here:  tar -xzf <files_at>/record.tar.gz   (then add a "note" to run.json: device, budget, commit).
"""
import argparse, json, os, platform, shutil, signal, subprocess, sys, tarfile, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: its fermask package, benchmarks and data/
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

TINY = {'model_args': {'width': 0.125, 'layers': [1, 1, 1, 1], 'mask_depths': [1, 1, 1, 1]}, 'size': 48,
        'batch_size': 16, 'epochs': 1, 'train_limit': 256, 'val_limit': 128, 'device': 'cpu', 'amp': 'bf16', 'channels_last': 'on'}  # the dry run's model, data and GPU formats

def say(*args): print(f'[{time.strftime("%H:%M:%S")}]', *args, flush=True)

class Tee:
    "A text stream writing to each of `streams`."
    def __init__(self, *streams): self.streams = streams
    def write(self, text): return [f.write(text) for f in self.streams][0]
    def flush(self):
        for f in self.streams: f.flush()

def sh(command:list, seconds:float, log:Path|None=None) -> int:
    "Run `command` for at most `seconds`, echoing its output (also into `log`); its exit status, 124 if it was stopped."
    say('$', ' '.join(map(str, command))[:300], f'(at most {seconds:.0f} s)')
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True) as p, \
         open(log or os.devnull, 'w') as copy:
        echo = threading.Thread(target=lambda: [(sys.stdout.write(line), copy.write(line), sys.stdout.flush()) for line in p.stdout], daemon=True)
        echo.start()
        try: return p.wait(timeout=max(seconds, 1))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL); p.wait()  # the child and its compile workers
            say(f'stopped after {seconds:.0f} s'); return 124
        finally: echo.join(10)  # a grandchild that left the process group may hold the pipe open

def print_environment():
    if shutil.which('nvidia-smi'): sh(['nvidia-smi', '--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm', '--format=csv'], 20)
    import torch
    from importlib.metadata import version, PackageNotFoundError
    def have(name):
        try: return version(name)
        except PackageNotFoundError: return 'missing'
    say(f"python {platform.python_version()} ({sys.executable}); torch {torch.__version__}, cuda {torch.version.cuda}, "
        f"{os.cpu_count()} cores; gpu: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    say('packages:', ', '.join(f'{n} {have(n)}' for n in ('torchvision', 'numpy', 'pandas', 'matplotlib', 'seaborn', 'safetensors',
                                                           'tqdm', 'opencv-python-headless', 'pillow', 'triton', 'papermill', 'fastcore')))

def joined(archive:Path) -> Path:
    "`archive`, first put together from its parts `<archive>.part-*` (carried over two calls) if only they are there."
    parts = sorted(archive.parent.glob(archive.name + '.part-*'))
    if archive.exists() or not parts: return archive
    with open(archive.with_suffix('.joining'), 'wb') as whole:
        for part in parts: whole.write(part.read_bytes())
    archive.with_suffix('.joining').rename(archive)
    say(f'joined {len(parts)} parts into {archive}')
    return archive

def find_data(archive:Path) -> str:
    "The FER2013 source, decoded once into fermask's cache: `archive` unpacked into /tmp, else whatever find_fer2013 finds."
    archive = joined(archive)
    if archive.exists():
        folder = Path(tempfile.gettempdir())/'fer2013'
        if not folder.exists():
            t0 = time.perf_counter()
            with tarfile.open(archive) as tar: tar.extractall(folder.with_suffix('.part'), filter='data')
            folder.with_suffix('.part').rename(folder)
            say(f'unpacked {archive} into {folder} in {time.perf_counter() - t0:.0f} s')
        os.environ['FERMASK_FER2013'] = str(folder)
    from fermask.data import find_fer2013
    from fermask.cache import fer2013_splits
    fer2013_splits(source := find_fer2013())  # decoded into fermask's cache now, not in the training's minutes
    return str(source)

def pick_compile(numbers:Path) -> str:
    "'reduce-overhead' if the benchmark's compiled step ran and beat the eager one, else 'off'."
    try: bare = json.loads(numbers.read_text())['bare']
    except (OSError, ValueError, KeyError): return 'off'
    compiled = [v['images_per_s'] for k, v in bare.items() if not k.endswith('/off')]
    eager = [v['images_per_s'] for k, v in bare.items() if k.endswith('/off')]
    return 'reduce-overhead' if compiled and eager and max(compiled) > max(eager) else 'off'

TRAIN = "import json, sys; from fermask.training import TrainConfig, train; train(TrainConfig(**json.loads(sys.argv[1])), sys.argv[2])"

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--minutes', type=float, default=9.0, help='the whole command ends inside this many minutes')
    ap.add_argument('--eval-minutes', type=float, default=1.5, help='kept for evaluation, the record and packing')
    ap.add_argument('--data', default='data/fer2013.tar.xz', help='the carried archive of the FER2013 image folder')
    ap.add_argument('--dry-run', action='store_true', help='rehearse on the CPU at a tiny scale: ' + json.dumps(TINY))
    args = ap.parse_args()
    start, end = time.monotonic(), time.monotonic() + 60 * args.minutes
    left = lambda: end - time.monotonic()
    out = Path(os.environ.get('OUT') or tempfile.mkdtemp(prefix='gpu_run-'))
    out.mkdir(parents=True, exist_ok=True)
    log = open(out/'log.txt', 'w')
    sys.stdout, sys.stderr = Tee(sys.__stdout__, log), Tee(sys.__stderr__, log)  # everything printed also goes into $OUT/log.txt
    os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))
    say(f'{__doc__.splitlines()[0]}\nout: {out}; budget {args.minutes} min{" (dry run)" if args.dry_run else ""}')

    print_environment()
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip() or 'unknown (no git on the device)'
    say('commit', commit)
    data = find_data(ROOT/args.data)
    say('FER2013 from', data)

    bench = ['--quick', '--no-trainer'] if args.dry_run else ['--steps', '20', '--compile', 'off', 'reduce-overhead', '--no-trainer']
    sh([sys.executable, 'benchmarks/throughput.py', *bench, '--json', str(out/'throughput.json')], min(150, left() / 3), out/'throughput.txt')
    mode = 'default' if args.dry_run else pick_compile(out/'throughput.json')

    from fermask.experiments import profile_config, run_id, command_line, write_record
    from fermask.training import seeded_subset, pick_device
    from dataclasses import asdict
    train_seconds = left() - 60 * args.eval_minutes
    overrides = {'model': 'resmaskingnet', 'max_minutes': max(0.5, (train_seconds - 45) // 30 / 2)}  # whole half-minutes; 45 s to load and build
    if args.dry_run: overrides.update(TINY)
    cfg = profile_config('paper', {**overrides, 'compile': mode, 'progress': False})
    run = run_id('paper', overrides)
    scratch = Path(tempfile.mkdtemp(prefix='gpu_run-'))  # the run from scratch, out of the repository
    run_dir, record_dir = scratch/'runs'/'paper'/run, scratch/'results'/'paper'/run
    say(f'training {run} for at most {cfg.max_minutes} min, compile {mode}')
    t0 = time.monotonic()
    for mode in dict.fromkeys([mode, 'off']):  # a failed compiled run resumes eagerly from its last checkpoint
        rc = sh([sys.executable, '-c', TRAIN, json.dumps({**asdict(cfg), 'compile': mode}), str(run_dir)], left() - 60 * args.eval_minutes)
        if rc in (0, 124): break
    train_wall = time.monotonic() - t0

    if (run_dir/'best.safetensors').exists() and (run_dir/'history.csv').exists():
        from fermask.cache import fer2013_splits
        from fermask.evaluation import evaluate_checkpoint
        t0, splits = time.monotonic(), fer2013_splits(data)
        for split in ('val', 'test'):
            faces = seeded_subset(splits[split], 256 if args.dry_run else 0, cfg.seed)
            r = evaluate_checkpoint(run_dir/'best.safetensors', faces, split, 8, cfg.seed, run_dir, pick_device(cfg.device))
            say(f"{split}: accuracy {r['tta_none']['accuracy']:.4f}, flip {r['tta_flip']['accuracy']:.4f}, random {r['tta_random']['accuracy']:.4f}")
        command = command_line('paper', overrides, run)
        record = write_record('paper', run, cfg, run_dir, record_dir, command, train_wall + time.monotonic() - t0, commit)
        record['note'] = (f"Made by benchmarks/gpu_run.py ({'dry run' if args.dry_run else 'one GPU, one command'}, a {args.minutes}-minute command): "
                          f"{record['training']['epochs_run']} epochs in max_minutes {cfg.max_minutes}, compile {mode}{' (the compiled run failed)' if mode != cfg.compile else ''}; the weights stayed there.")
        (record_dir/'run.json').write_text(json.dumps(record, indent=1) + '\n')
        with tarfile.open(out/'record.tar.gz', 'w:gz') as tar: tar.add(record_dir, arcname=str(record_dir.relative_to(scratch)))
        say(f"record: {out/'record.tar.gz'} ({(out/'record.tar.gz').stat().st_size / 2**20:.1f} MiB), test accuracy {record['metrics']['test']['tta_none']['accuracy']:.4f}")
    else: say('no epoch finished: no record')
    say(f'done in {(time.monotonic() - start) / 60:.1f} of {args.minutes} min')
