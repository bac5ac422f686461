"""Bad input, as a careless or hostile user would give it, against fermask's commands.

Each case runs `fermask ...` (the real entry point, `fermask.cli.main`, in this process) or, where a
command would take minutes, the library function behind it, in a scratch folder with small made-up
data (random faces, tiny networks). A case holds when the command ends as stated: most in exactly
one line on stderr with exit status 2 (no traceback) and nothing half-written, some by carrying on
safely. Prints one row per case and the counts.
Run:  python benchmarks/hostile.py | tee benchmarks/hostile.txt
"""
import contextlib, io, json, os, platform, resource, shutil, subprocess, sys, tempfile, time, zipfile
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import save_file

from fermask.cli import main
from fermask.data import FaceData, SPLITS
from fermask.models import create
from fermask.checkpoints import save_weights
from fermask.evaluation import save_predictions
from fermask.experiments import run_id

CASES = []

def case(item:int, what:str):
    "Register the function below as hostile case `what` of the family `item` of bad input."
    def register(check):
        CASES.append((item, what, check))
        return check
    return register

def fermask(*args) -> tuple:
    "(exit status, stdout, stderr) of `fermask ARGS`; an exception that escapes is reported as 'traceback'."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in args]); status = 0
        except SystemExit as e: status = e.code
        except BaseException as e: status = f'traceback ({type(e).__name__}: {str(e)[:80]})'
    return status, out.getvalue(), err.getvalue()

def refused(*args, contains:str) -> tuple[bool, str]:
    "Whether `fermask ARGS` ends with status 2 and one line on stderr that holds `contains`."
    status, _, err = fermask(*args)
    lines = err.strip().splitlines()
    held = status == 2 and len(lines) == 1 and contains in lines[0]
    return held, lines[0] if len(lines) == 1 else f'status {status}, {len(lines)} lines: {err.strip()[-150:]}'

def faces(n:int, seed:int) -> FaceData:
    "`n` random faces in each split."
    rng = np.random.default_rng(seed)
    return FaceData(rng.integers(0, 256, (3 * n, 48, 48), dtype=np.uint8), rng.integers(0, 7, 3 * n),
                    np.repeat(np.array(SPLITS), n), f'random {seed}')

def files(folder:Path) -> dict:
    "Name -> bytes of every file in `folder`."
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}

def fer2013_csv(name:str, pixel:str) -> Path:
    "A FER2013 CSV of three faces, one per split, the first pixel of the first being `pixel`."
    rows = [f"3,{pixel} {' '.join(['7'] * 2303)},Training", f"3,{' '.join(['7'] * 2304)},PublicTest", f"3,{' '.join(['7'] * 2304)},PrivateTest"]
    (work/name).write_text('emotion,pixels,Usage\n' + '\n'.join(rows) + '\n')
    return work/name

work = Path(tempfile.mkdtemp(prefix='fermask-hostile-'))
small, other = work/'small.npz', work/'other.npz'
for path, seed in ((small, 0), (other, 1)):
    data = faces(40, seed)
    np.savez(path, images=data.images, labels=data.labels, splits=data.splits)   # a plain .npz of faces, as a user may make one
torch.manual_seed(0)
save_weights(create('resmaskingnet', in_size=48, width=0.125), work/'A.safetensors')
save_weights(create('resmaskingnet', in_size=48, width=0.125, dropout=0.5), work/'B.safetensors')
(work/'file').write_text('')
TINY = ['--model', 'resmaskingnet', '--model-args', 'width=0.125', '--size', '48', '--batch-size', '32', '--no-progress',
        '--epochs', '1', '--train-limit', '64', '--val-limit', '32', '--data', small]   # seconds, should a case not be refused

# 1. evaluate writes an evaluation as a whole
@case(1, "evaluate B --k 0 into A's evaluation folder")
def _():
    fermask('evaluate', work/'A.safetensors', '--split', 'val', '--data', small, '--k', '1', '--out', work/'eval', '--device', 'cpu')
    before = files(work/'eval')
    held, line = refused('evaluate', work/'B.safetensors', '--split', 'val', '--data', small, '--k', '0', '--out', work/'eval', contains='k must be a positive')
    return held and files(work/'eval') == before and 'val-metrics.json' in before, line

# 2, 3. a run's data belongs to its identity
@case(2, 'reproduce -p data OTHER gets its own run id')
def _():
    default, on_other = run_id('smoke', {}), run_id('smoke', {'data': str(other)})
    return default != on_other and 'data' in on_other, f'{default} vs {on_other}'

@case(3, 'train resumed with --data of other faces')
def _():
    status, _, err = fermask('train', '--out', work/'R', *TINY)
    if status != 0: return False, f'first run: {status} {err[-150:]}'
    return refused('train', '--out', work/'R', *TINY, '--data', other,
                   contains="R was trained on data")

# 4. the cache and its record
@case(4, "data info on a cache whose .json is another prepare's")
def _():
    for name, pixel in (('c1', '7'), ('c2', '9')): fermask('data', 'prepare', fer2013_csv(f'{name}.csv', pixel), '--out', work/f'{name}.npz')
    (work/'c1.json').write_text((work/'c2.json').read_text())   # what two concurrent prepares, or a failed record write, left
    return refused('data', 'info', work/'c1.npz', contains='c1.json does not match the record inside')

# 5. predict keeps what it can
@case(5, 'predict a folder holding a 1x1 image')
def _():
    album = work/'album'
    album.mkdir()
    cv2.imwrite(str(album/'dot.png'), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(album/'wall.png'), np.full((120, 160, 3), 200, np.uint8))
    status, out, err = fermask('predict', album, '--out', work/'faces.csv', '--no-progress')
    rows = (work/'faces.csv').read_text().splitlines() if (work/'faces.csv').is_file() else []
    return status == 0 and len(rows) == 3, f'status {status}, {len(rows) - 1} rows kept'

# 6. numbers that are not numbers
for value in ('inf', 'nan', '-inf'):
    @case(6, f'train --lr={value}')
    def _(value=value): return refused('train', '--out', work/'lr', *TINY, f'--lr={value}', contains='is not a finite number')

@case(6, 'other float options: benchmark --seconds nan')
def _(): return refused('benchmark', '--seconds', 'nan', contains='is not a finite number')

@case(6, 'train --config with "lr": NaN')
def _():
    (work/'nan.json').write_text('{"lr": NaN}')
    return refused('train', '--out', work/'lr', *TINY, '--config', work/'nan.json', contains='parameter lr must be a finite number')

@case(6, 'train with a loss that diverges (sgd, --lr 1e30)')
def _():
    held, line = refused('train', '--out', work/'diverge', *TINY, '--optimizer', 'sgd', '--lr', '1e30', contains='training diverged')
    return held and sorted(p.name for p in (work/'diverge').iterdir()) == ['config.json'], line

# 7. names papermill reads as templates
@case(7, "reproduce -p model_args '{\"width\": 0.1}': run id without braces")
def _():
    name = run_id('smoke', {'model_args': {'width': 0.1}})
    return not set('{}"\' ') & set(name), name

@case(7, "reproduce --run 'a{b}'")
def _(): return refused('reproduce', '--profile', 'smoke', '--run', 'a{b}', contains="run name 'a{b}'")

# 8. resources bounded by what the file holds
@case(8, 'data prepare: a 60 KB zip whose member inflates to 64 MB')
def _():
    with zipfile.ZipFile(work/'bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z: z.writestr('train/happy/Training_1.jpg', b'\0' * (64 * 2**20))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held, line = refused('data', 'prepare', work/'bomb.zip', '--out', work/'bomb.npz', contains='over 1,048,576 bytes')
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    return held and grew < 32, f'peak memory +{grew:.0f} MB; {line}'

@case(8, 'evaluate a 140-byte weights file claiming resmaskingnet width 2')
def _():
    save_file({'fc.weight': torch.zeros(7, 2)}, str(work/'huge.safetensors'), metadata={'model': json.dumps({'name': 'resmaskingnet', 'width': 2.0})})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held, line = refused('evaluate', work/'huge.safetensors', '--data', small, '--out', work/'huge', '--device', 'cpu', contains='does not fit this model')
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    return held and grew < 200, f'peak memory +{grew:.0f} MB; {line}'

# 9. temporaries of killed writers
@case(9, 'a .tmp-PID-* file of a killed writer, then another write there')
def _():
    dead = subprocess.Popen(['true'])
    dead.wait()
    stale = work/'eval'/f'.tmp-{dead.pid}-epoch-003.state.pt'
    stale.write_bytes(b'\0' * 2**20)
    status, _, err = fermask('evaluate', work/'A.safetensors', '--split', 'val', '--data', small, '--k', '1', '--out', work/'eval', '--device', 'cpu')
    return status == 0 and not stale.exists(), f'status {status}, stale temporary {"left" if stale.exists() else "removed"}'

# 10. outputs that cannot be written: refused before any work, in one line
for args in (['data', 'prepare', fer2013_csv('ok.csv', '7'), '--out', work/'file'/'c.npz'],
             ['train', '--out', work/'file'/'run', *TINY],
             ['evaluate', work/'A.safetensors', '--data', small, '--out', work/'file'/'eval'],
             ['ensemble', work/'results'/'cpu'/'good', '--out', work/'file'/'ens'],
             ['predict', work/'album', '--out', work/'file'/'faces.csv', '--no-progress'],
             ['export', '--onnx', work/'file'/'model.onnx']):
    @case(10, f"{' '.join(args[:2] if args[0] == 'data' else args[:1])} with an output whose parent is a file")
    def _(args=args): return refused(*args, contains='cannot write')

@case(10, 'data prepare --out an existing folder named c.npz')
def _():
    (work/'dir.npz').mkdir()
    return refused('data', 'prepare', fer2013_csv('ok.csv', '7'), '--out', work/'dir.npz', contains='it is a folder')

@case(10, 'any OS error left: the top level names the path')
def _():
    from fermask.cli import one_line_errors
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            with one_line_errors(): open(work/'no'/'such.txt')
        except SystemExit as e: status = e.code
    return status == 2 and str(work/'no'/'such.txt') in err.getvalue(), err.getvalue().strip()

# 11. one line, not a traceback
for out in ('cache', 'c.dat'):
    @case(11, f'data prepare --out {out}')
    def _(out=out):
        held, line = refused('data', 'prepare', fer2013_csv('ok.csv', '7'), '--out', work/out, contains="a cache's name must end in .npz")
        return held and not list(work.glob(f'{out}*')) and not list(work.glob('.tmp-*')), line

@case(11, 'data prepare: a CSV pixel of 99999999999999999999999')
def _(): return refused('data', 'prepare', fer2013_csv('big.csv', '99999999999999999999999'), '--out', work/'big.npz', contains='big.csv row 1: pixels must be whole numbers')

for class_map in ('happy', '{bad'):
    @case(11, f'data prepare --class-map {class_map!r}')
    def _(class_map=class_map): return refused('data', 'prepare', work, '--class-map', class_map, contains='--class-map')

@case(11, 'train --config missing.json')
def _(): return refused('train', '--out', work/'cfg', *TINY, '--config', work/'missing.json', contains='No such file or directory')

@case(11, 'train --config that is not JSON')
def _():
    (work/'notjson.json').write_text('lr = 1')
    return refused('train', '--out', work/'cfg', *TINY, '--config', work/'notjson.json', contains='not JSON')

for name, spec in (('string', 'resmaskingnet'), ('list', ['resmaskingnet', 0.125])):
    @case(11, f"weights whose metadata 'model' is a {name}")
    def _(name=name, spec=spec):
        save_file({'fc.weight': torch.zeros(7, 2)}, str(work/f'{name}.safetensors'), metadata={'model': json.dumps(spec)})
        return refused('evaluate', work/f'{name}.safetensors', '--data', small, '--out', work/'m', contains="its metadata 'model' must be a model configuration")

@case(11, 'predict with valid weights of 8 classes')
def _():
    save_weights(create('resmaskingnet', in_size=48, width=0.125, num_classes=8), work/'eight.safetensors')
    return refused('predict', work/'album', '--weights', work/'eight.safetensors', '--no-progress', contains='has 8 classes')

@case(11, 'predict --detector junk.xml')
def _():
    (work/'junk.xml').write_text('<junk>')
    return refused('predict', work/'album', '--detector', work/'junk.xml', '--no-progress', contains='is not a readable Haar cascade')

for flag, value, says in (('--plateau-factor', '1', 'plateau_factor must be between 0 and 1'), ('--label-smoothing', '1.5', 'label_smoothing must be at most 1'),
                          ('--seed', str(2**64), 'seed must be below 2**32')):
    @case(11, f"train {flag} {'2**64' if value == str(2**64) else value}")
    def _(flag=flag, value=value, says=says):
        held, line = refused('train', '--out', work/'range', *TINY, flag, value, contains=says)
        return held and not (work/'range').exists(), line

for flag, value, says in (('--device', 'tpu', "unknown device 'tpu'"), ('--k', '0', 'k must be a positive'), ('--seed', '-1', 'seed must be a non-negative')):
    @case(11, f'evaluate {flag} {value}, said before FER2013 is looked for')
    def _(flag=flag, value=value, says=says):
        held, line = refused('evaluate', work/'A.safetensors', '--data', work/'no-fer2013.csv', '--out', work/'early', flag, value, contains=says)
        return held and not (work/'early').exists(), line

@case(11, 'teach --out a name without .npz')
def _():
    status, _, err = fermask('teach', work/'A.safetensors', '--data', small, '--out', work/'teacher', '--tta', 'none', '--device', 'cpu')
    written = sorted(p.name for p in work.glob('*teacher*')) + [p.name for p in work.glob('.tmp-*')]
    return status == 0 and written == ['teacher', 'teacher.json'], f'status {status}, wrote {written} {err.strip()[-100:]}'

def record(name:str, damage=None) -> Path:
    "A run record of predictions on 12 faces, damaged by `damage(folder)`."
    folder = work/'results'/'cpu'/name
    folder.mkdir(parents=True)
    labels = np.arange(12) % 7
    for split in ('val', 'test'): save_predictions(folder/f'{split}-tta_none.npz', np.eye(7)[labels], labels)
    (folder/'run.json').write_text(json.dumps({'profile': 'cpu', 'run_id': name, 'model': {'name': 'resnet34'}}))
    if damage: damage(folder)
    return folder

good = record('good')
ensemble_cases = {
    'a corrupt npz': (lambda f: (f/'val-tta_none.npz').write_bytes(b'PK\3\4 not a zip'), 'not readable saved predictions'),
    'a pickled npz': (lambda f: np.savez(f/'val-tta_none.npz', probs=np.array([None] * 12, dtype=object), labels=np.arange(12)), 'not readable saved predictions'),
    'an npz without probs': (lambda f: np.savez(f/'val-tta_none.npz', labels=np.arange(12) % 7), "KeyError"),
    '8-class predictions': (lambda f: np.savez(f/'val-tta_none.npz', probs=np.full((12, 8), 1 / 8), labels=np.arange(12) % 7), 'expected (12, 7) float probabilities'),
    'a run.json that is not JSON': (lambda f: (f/'run.json').write_text('{bad'), 'not a readable run record'),
    'a run.json that is a list': (lambda f: (f/'run.json').write_text('[]'), 'not a run record'),
}
for what, (damage, message) in ensemble_cases.items():
    @case(11, f'ensemble over {what}')
    def _(what=what, damage=damage, message=message):
        return refused('ensemble', good, record(what.replace(' ', '_').replace('.', ''), damage), contains=message)

@case(11, 'ensemble over a record without profile: named by its folders')
def _():
    anonymous = record('anonymous', lambda f: (f/'run.json').write_text('{"model": "resnet34"}'))
    status, out, err = fermask('ensemble', good, anonymous, '--selection', 'all')
    return status == 0 and 'cpu/anonymous' in out, f'status {status}'

# held before: kept here so that they stay held
@case(0, 'evaluate a pickle (torch.save) file')
def _():
    class Trap:
        def __reduce__(self): return (os.mkdir, (str(work/'pwned'),))
    torch.save({'fc.weight': Trap()}, work/'evil.pt')
    held, line = refused('evaluate', work/'evil.pt', '--data', small, '--out', work/'evil', contains='pickle')
    return held and not (work/'pwned').exists(), line

@case(0, 'data prepare a zip whose entry escapes it (../../x.jpg)')
def _():
    with zipfile.ZipFile(work/'escape.zip', 'w') as z: z.writestr('../../x.jpg', b'x')
    return refused('data', 'prepare', work/'escape.zip', '--out', work/'escape.npz', contains='entry escapes the archive')

if __name__ == '__main__':
    print(f'command : python {" ".join(sys.argv)}')
    print(f'machine : {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, torch {torch.__version__}')
    print(f'date    : {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC')
    print('item: the family of bad input the case belongs to (1-11); 0: a safety that every version has had, checked all the same\n')
    torch.set_num_threads(1)
    start, held = time.perf_counter(), 0
    print(f"{'item':>4}  {'held':4}  {'case':62}  result")
    for item, what, check in CASES:
        try: ok, detail = check()
        except Exception as e: ok, detail = False, f'the case itself failed: {type(e).__name__}: {e}'
        held += bool(ok)
        detail = ' '.join(str(detail).replace(str(work), 'SCRATCH').split())
        print(f"{item:>4}  {'yes' if ok else 'NO':4}  {what:62}  {detail[:150]}", flush=True)
    print(f'\n{len(CASES)} tried, {held} held ({time.perf_counter() - start:.0f} s; SCRATCH is a temporary folder, removed)')
    shutil.rmtree(work)
    sys.exit(0 if held == len(CASES) else 1)
