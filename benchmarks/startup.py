"""Start-up cost where users feel it: `fermask --help`, `fermask predict --help`, and `import fermask; fermask.load_model()`.

Each command runs in a fresh process, several times; the median wall time is reported, with the heavy
modules each one imports and the slowest imports by `python -X importtime` (cumulative microseconds).
Run on an idle machine: `python benchmarks/startup.py > benchmarks/startup.txt`."""
import os, platform, re, shutil, statistics, subprocess, sys, time
from datetime import datetime, timezone

RUNS = 5
HEAVY = ('torch', 'torchvision', 'pandas', 'matplotlib', 'seaborn', 'papermill', 'nbdev', 'cv2')
CASES = {
    'fermask --help': [shutil.which('fermask') or 'fermask', '--help'],
    'fermask predict --help': [shutil.which('fermask') or 'fermask', 'predict', '--help'],
    'import fermask; fermask.load_model()': [sys.executable, '-c', 'import fermask; fermask.load_model()'],
}
PYTHON_OF = {  # the same work as Python code, to list what it imports
    'fermask --help': 'from fermask.cli import build_parser; build_parser().format_help()',
    'fermask predict --help': 'from fermask.cli import build_parser; p = build_parser(); p.parse_known_args(["predict", "x"])',
    'import fermask; fermask.load_model()': 'import fermask; fermask.load_model()',
}

def median_seconds(command:list) -> float:
    "The median wall time of `command` over `RUNS` fresh processes."
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)

def heavy_imports(code:str) -> list[str]:
    "Which of `HEAVY` a fresh interpreter has imported after running `code`."
    probe = f'import sys\n{code}\nprint(" ".join(m for m in {HEAVY!r} if m in sys.modules))'
    return subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, check=True).stdout.split()

def slowest_imports(code:str, n:int=5) -> list[str]:
    "The `n` imports with the largest cumulative time under `python -X importtime`."
    err = subprocess.run([sys.executable, '-X', 'importtime', '-c', code], capture_output=True, text=True, check=True).stderr
    rows = [re.match(r'import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)', line) for line in err.splitlines()]
    rows = sorted((int(m[2]), m[4]) for m in rows if m)
    return [f'{us / 1e6:6.3f} s  {name}' for us, name in rows[::-1][:n]]

print(__doc__.splitlines()[0])
print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}")
print('command: python benchmarks/startup.py\n')
for name, command in CASES.items():
    heavy = heavy_imports(PYTHON_OF[name])
    print(f"{name:40s} {median_seconds(command):6.2f} s (median of {RUNS})   imports: {', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")
    for line in slowest_imports(PYTHON_OF[name]): print(f"    {line}")
