"""The data layer's two promises: preparing FER2013 from the zip takes under 60 s,
and loading the prepared cache of all 35,887 faces takes under 1 s.

  prepare : prepare_cache(fer2013.zip) into a temporary folder (hash, decode every JPEG, write .npz + .json)
  load    : load_cache of that .npz, the median of 5 runs
Run:  python benchmarks/data.py | tee benchmarks/data.txt
"""
import os, platform, statistics, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
from fermask.data import find_fer2013
from fermask.cache import load_cache, prepare_cache

def seconds(work):
    "Wall time of `work()` in seconds, and its result."
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result

if __name__ == '__main__':
    source = find_fer2013()
    print(f'command : python {" ".join(sys.argv)}')
    print(f'machine : {platform.machine()}, {os.cpu_count()} CPU cores (nproc), Python {platform.python_version()}')
    print(f'date    : {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC')
    print(f'source  : {source.name} ({source.stat().st_size / 2**20:.0f} MiB)')
    with tempfile.TemporaryDirectory() as tmp:
        prepare_s, cache = seconds(lambda: prepare_cache(source, Path(tmp)/'fer2013.npz'))
        print(f'prepare : {prepare_s:.1f} s (target < 60 s)   -> {cache.stat().st_size / 2**20:.0f} MiB .npz')
        loads = [seconds(lambda: load_cache(cache)) for _ in range(5)]
        faces = loads[0][1]
        load_s = statistics.median(s for s, _ in loads)
        print(f'load    : {load_s:.3f} s median of 5 (target < 1 s; runs {", ".join(f"{s:.3f}" for s, _ in loads)}) '
              f'-> {len(faces):,} faces')
    print('verdict :', 'both within target' if prepare_s < 60 and load_s < 1 else 'OUT OF TARGET')
