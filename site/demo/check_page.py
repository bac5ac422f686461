"""Check the "Try it" page of a built site in headless Chromium, and measure it:

    python site/demo/check_page.py SITE [--page site/try.html] [--screenshots .screenshots/try] [--speed]

SITE is a built site with the page and, beside it, the folder `demo/` that site/demo/build.py writes.
The check serves SITE on 127.0.0.1 and, in Chromium:
- loads the page, and clicks each sample photo, then gives it photos made from them (a 2x2 shrink,
  two faces, a small face, a 6000x4000 photo): the page's faces, boxes and 7 probabilities must be
  those of `fermask predict --detector haar` on the same files (probabilities within 0.01); the time
  from a sample's click to its result is measured (a sample chosen while the page still loads too);
- turns on a fake camera (Chromium's `--use-fake-device-for-media-stream`, fed a .y4m written here from
  `fermask.speed.benchmark_frame()`): frames must be classified and the face found, at a rate measured;
- gives the page bad input: a file that is not an image, a photo too large, a camera refused, no camera:
  each must end in a clear message on the page;
- fails on any request that leaves the page's origin, any failed request, console error or exception,
  and when the page loads more than 15 MB.
Before the browser, it runs faces.js in Node on the same photos and on the camera's frame, with the photo
and the camera settings: its boxes and crops must be fermask.faces' (OpenCV's) to the pixel.
It saves a screenshot of each step (look at them) and prints the measurements; exit status 1 on a failure.
The speeds are targets only with `--speed` (a result within 2 s of the click, at least 15 camera
frames/s), as for the committed record benchmarks/try_it.txt: the website's check (site/check.py) runs
this one without it, as a speed measured on a machine busy with other work says nothing about the page.
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from fermask.data import EMOTIONS
from fermask.speed import benchmark_frame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # site/: the site's own check, whose Chromium session this one drives
import check as site_check

TOLERANCE = 0.01          # largest difference allowed between the page's probabilities and the command's
FIRST_RESULT_S = 2.0      # seconds from choosing a photo to its result
CAMERA_FPS = 15           # frames per second classified from the camera
MAX_BYTES = 15e6          # everything the page loads
FAKE_CAMERA_FLAGS = ('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream')


def write_y4m(path:Path, frame:np.ndarray, frames:int=30, fps:int=30) -> Path:
    "A .y4m video (I420) of `frames` copies of a BGR `frame`: Chromium's fake camera plays it in a loop."
    height, width = frame.shape[:2]
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with open(path, 'wb') as f:
        f.write(f'YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n'.encode())
        for _ in range(frames): f.write(b'FRAME\n' + planes)
    return path


def derived_photos(samples:list[Path], folder:Path) -> list[Path]:
    "Photos made from the samples that take the detector's other paths: a 2x2 block shrink, two faces, a face too small for INTER_AREA, a large photo."
    from fermask.faces import read_image
    astronaut, hopper = (read_image(next(p for p in samples if p.stem == name)) for name in ('astronaut', 'grace-hopper'))
    photos = {'astronaut-480.png': cv2.resize(astronaut, (480, 480), interpolation=cv2.INTER_AREA),
              'two-faces.png': np.hstack([cv2.resize(astronaut, (300, 300), interpolation=cv2.INTER_AREA), cv2.resize(hopper, (260, 300), interpolation=cv2.INTER_AREA)]),
              'small-face.png': cv2.resize(hopper, (115, 135), interpolation=cv2.INTER_AREA),
              'large-6000x4000.jpg': cv2.resize(cv2.copyMakeBorder(astronaut, 0, 0, 256, 256, cv2.BORDER_REFLECT_101), (6000, 4000), interpolation=cv2.INTER_CUBIC)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in photos.items(): cv2.imwrite(str(folder/name), image)
    return [folder/name for name in photos]


def faces_js_problems(photos:list[Path], demo:Path, folder:Path) -> list[str]:
    "faces.js against fermask.faces (OpenCV) in Node, with the photo and the camera settings, on `photos` and on the camera's frame."
    from fermask.faces import HaarDetector, face_crops, read_image
    from fermask.speed import LIVE_CAMERA
    folder.mkdir(parents=True, exist_ok=True)
    images = {p.name: read_image(p) for p in photos} | {'camera-frame': benchmark_frame()}
    cases = []
    for name, image in images.items():
        (folder/f'{name}.rgba').write_bytes(cv2.cvtColor(image, cv2.COLOR_BGR2RGBA).tobytes())
        for mode, detector in [('photo', HaarDetector()), ('camera', HaarDetector(**LIVE_CAMERA))]:
            boxes = detector(image)
            (folder/f'{name}-{mode}.crops').write_bytes(face_crops(image, boxes, detector.margin).tobytes())
            settings = {k: getattr(detector, k) for k in ('min_face', 'min_face_fraction', 'scale_factor', 'min_neighbors')}
            cases.append({'name': f'{name} ({mode} settings)', 'width': image.shape[1], 'height': image.shape[0], 'settings': settings,
                          'rgba': f'{name}.rgba', 'crops': f'{name}-{mode}.crops', 'boxes': boxes.tolist()})
    (folder/'cases.json').write_text(json.dumps({'margin': HaarDetector().margin, 'size': 48, 'cases': cases}))
    shutil.copy(demo/'haarcascade_frontalface_default.json', folder/'cascade.json')
    done = subprocess.run(['node', str(Path(__file__).parent/'test_faces.mjs'), str(folder)], capture_output=True, text=True)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-500:])
    return [] if done.returncode == 0 else [f"faces.js: {line}" for line in (done.stdout.strip().splitlines()[:-1] or [done.stderr.strip()[-500:]])]


def cli_predictions(files:list[Path]) -> pd.DataFrame:
    "`fermask predict --detector haar` on `files`, as the command writes them."
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)/'faces.json'
        done = subprocess.run([shutil.which('fermask') or 'fermask', 'predict', '--detector', 'haar', *map(str, files), '--out', str(out)],
                              capture_output=True, text=True)
        if done.returncode: raise SystemExit(f"error: fermask predict failed: {done.stderr.strip()[-500:]}")
        return pd.read_json(out, orient='records')


def compare(page:dict, cli:pd.DataFrame) -> tuple[list[str], float]:
    "Problems in the page's result for one file against the command's rows for it, and the largest probability difference."
    rows = cli[cli.label != 'no face found']
    if len(rows) != len(page['faces']): return [f"{len(page['faces'])} faces on the page, {len(rows)} from fermask predict"], float('nan')
    problems, worst = [], 0.
    for face, (_, row) in zip(page['faces'], rows.sort_values(['x', 'y']).iterrows()):
        box = [int(row[k]) for k in ('x', 'y', 'width', 'height')]
        if face['box'] != box: problems.append(f"box {face['box']} on the page, {box} from fermask predict")
        difference = max(abs(face['probabilities'][e] - row[e]) for e in EMOTIONS)
        worst = max(worst, difference)
        if difference > TOLERANCE: problems.append(f"probabilities differ by {difference:.4f} (> {TOLERANCE})")
        if face['label'] != row['label']: problems.append(f"label {face['label']} on the page, {row['label']} from fermask predict")
    return problems, worst


class PageSession:
    "One Chromium tab on the page, with the helpers the checks share."
    def __init__(self, tools:site_check.DevTools, url:str, base:str, screenshots:Path):
        self.tools, self.url, self.base, self.screenshots = tools, url, base, screenshots

    def load(self, timeout:float=60) -> float:
        "Load the page; seconds until the model is ready."
        self.tools.events = []
        start = time.time()
        self.tools.send('Page.navigate', url=self.url)
        self.wait("document.getElementById('try-it')?.dataset.ready === '1' || document.getElementById('try-it')?.dataset.state === 'error'", timeout)
        return time.time() - start

    def wait(self, condition:str, timeout:float=30) -> bool:
        "Wait until the JavaScript `condition` holds (False when it never did)."
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.tools.evaluate(f'!!({condition})'): return True
            time.sleep(0.05)
        return False

    def status(self) -> tuple[str, str]:
        return tuple(self.tools.evaluate("[document.getElementById('try-status').dataset.kind, document.getElementById('try-status').textContent]"))

    def shot(self, name:str) -> Path:
        height = self.tools.send('Page.getLayoutMetrics')['cssContentSize']['height']
        self.tools.send('Emulation.setDeviceMetricsOverride', width=1280, height=min(int(height), 6000), deviceScaleFactor=1, mobile=False)
        png = self.tools.capture()
        self.tools.send('Emulation.clearDeviceMetricsOverride')
        self.screenshots.mkdir(parents=True, exist_ok=True)
        (path := self.screenshots/f'{name}.png').write_bytes(png)
        return path

    def choose_file(self, path:Path):
        "Give the page's file picker `path`, as a reader choosing it does."
        node = self.tools.send('DOM.querySelector', nodeId=self.tools.send('DOM.getDocument')['root']['nodeId'], selector='#try-file')['nodeId']
        self.tools.send('DOM.setFileInputFiles', files=[str(path)], nodeId=node)

    def result(self, source:str, timeout:float=30) -> dict|None:
        "The page's result for `source`, once it is there."
        found = self.wait(f"(JSON.parse(document.getElementById('try-it').dataset.result || '{{}}').source === {json.dumps(source)})"
                          " || ['error', 'warning'].includes(document.getElementById('try-status').dataset.kind)", timeout)
        value = self.tools.evaluate("document.getElementById('try-it').dataset.result || null")
        return json.loads(value) if found and value else None

    def problems(self) -> list[str]:
        "Requests that left the origin or failed, console errors and exceptions, since the page was loaded."
        return site_check._event_problems(self.tools.events, self.base)

    def bytes_loaded(self) -> int:
        "Bytes the page has received over the network since it was loaded."
        return int(sum(e['params']['encodedDataLength'] for e in self.tools.events if e['method'] == 'Network.loadingFinished'))


def check(site_dir:Path, page:str='site/try.html', screenshots:Path=Path('.screenshots/try'), timeout:float=60,
          speed:bool=False, # hold the page to FIRST_RESULT_S and CAMERA_FPS too
         ) -> dict:
    "Run every check of the page; the measurements and the problems found."
    demo = (site_dir/page).parent/'demo'
    samples = sorted((demo/'samples').glob('*.png'))
    if not (site_dir/page).is_file() or not samples: raise SystemExit(f"error: {site_dir/page} or its demo/samples/*.png not found: build the site and run site/demo/build.py")
    report, problems = {'samples': {}, 'bad input': {}}, []
    with site_check.serving(site_dir) as base, tempfile.TemporaryDirectory(prefix='fermask-try-') as tmp:
        tmp = Path(tmp)
        photos = derived_photos(samples, tmp/'photos')
        problems += faces_js_problems(samples + photos, demo, tmp/'faces-js')
        cli = cli_predictions(samples + photos)
        camera = write_y4m(tmp/'camera.y4m', benchmark_frame())
        tools = site_check.DevTools(tmp/'profile', timeout, (*FAKE_CAMERA_FLAGS, f'--use-file-for-fake-video-capture={camera}'))
        try:
            tools.send('DOM.enable')
            session = PageSession(tools, base + page, base, screenshots)
            tools.send('Network.setCacheDisabled', cacheDisabled=True)   # every load counts its bytes
            tools.send('Page.navigate', url=session.url)   # a photo chosen while the page still loads: the model's loading counts
            session.wait("document.getElementById('try-it')?.dataset.listening === '1'", timeout)
            tools.evaluate(f"document.querySelector('[data-sample=\"{samples[0].name}\"]').click()")
            early = session.result(samples[0].name, timeout)
            report['photo chosen at load: ms to result'] = round(early['ms']) if early else None
            report['seconds to ready'] = session.load(timeout)
            report['page loading ms'] = json.loads(tools.evaluate("document.getElementById('try-it').dataset.loading || 'null'") or 'null')
            if session.status()[0] == 'error': problems.append(f"page: {session.status()[1]}")
            report['megabytes loaded before any photo'] = session.bytes_loaded() / 1e6
            session.shot('0-ready')
            for sample in samples + photos:
                start = time.time()
                tools.evaluate("delete document.getElementById('try-it').dataset.result; document.getElementById('try-status').dataset.kind = ''")
                if sample in samples: tools.evaluate(f"document.querySelector('[data-sample=\"{sample.name}\"]').click()")
                else: session.choose_file(sample)
                result = session.result(sample.name, timeout)
                seconds = time.time() - start
                session.shot(f"1-{sample.stem}")
                if result is None: problems.append(f"{sample.name}: no result ({session.status()[1]})"); continue
                found, worst = compare(result, cli[cli.file.map(lambda f: Path(f).name) == sample.name])
                problems += [f"{sample.name}: {p}" for p in found]
                if speed and result['ms'] / 1000 > FIRST_RESULT_S and sample in samples: problems.append(f"{sample.name}: first result after {result['ms'] / 1000:.2f} s (> {FIRST_RESULT_S})")
                report['samples'][sample.name] = {'faces': len(result['faces']), 'labels': [f['label'] for f in result['faces']],
                                                  'max probability difference': worst, 'page ms': round(result['ms']), 'click to result s': round(seconds, 2),
                                                  'status': session.status()[1]}
            report['megabytes loaded with the samples'] = session.bytes_loaded() / 1e6
            if report['megabytes loaded with the samples'] * 1e6 > MAX_BYTES: problems.append(f"the page loaded {report['megabytes loaded with the samples']:.1f} MB (> {MAX_BYTES / 1e6:.0f})")

            not_image = tmp/'notes.jpg'; not_image.write_text('these are notes, not a photo\n')
            huge = tmp/'huge.png'; cv2.imwrite(str(huge), np.zeros((6000, 8000, 3), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            for name, path, kind in [('not an image', not_image, 'error'), ('huge photo', huge, 'error')]:
                session.choose_file(path)
                session.wait("['error', 'warning', 'done'].includes(document.getElementById('try-status').dataset.kind)", timeout)
                got, text = session.status()
                report['bad input'][name] = text
                session.shot('2-' + name.replace(' ', '-'))
                if got != kind: problems.append(f"{name}: the page says {text!r} ({got}), not an {kind}")

            tools.evaluate("document.getElementById('try-camera').click()")
            session.wait("JSON.parse(document.getElementById('try-it').dataset.frames || '{\"frames\": 0}').frames >= 1", timeout)
            time.sleep(5)
            frames = json.loads(tools.evaluate("document.getElementById('try-it').dataset.frames || 'null'") or 'null')
            session.shot('3-camera')
            tools.evaluate("document.getElementById('try-camera').click()")
            if frames is None: problems.append(f"camera: no frame classified ({session.status()[1]})")
            else:
                rate = frames['frames'] / frames['seconds']
                report['camera'] = {'frames': frames['frames'], 'seconds': round(frames['seconds'], 2), 'frames/s': round(rate, 1),
                                    'size': f"{frames['width']}x{frames['height']}", 'labels': [f['label'] for f in frames['faces']]}
                if speed and rate < CAMERA_FPS: problems.append(f"camera: {rate:.1f} frames/s (< {CAMERA_FPS})")
                if not frames['faces']: problems.append("camera: no face found in the fake camera's frames")
            problems += session.problems()
        finally: tools.close()

        for case, flags, permission, words in [('camera refused', FAKE_CAMERA_FLAGS[:1], 'denied', 'refused'), ('no camera', (), 'granted', 'No camera')]:
            tools = site_check.DevTools(tmp/case.replace(' ', '-'), timeout, flags)   # without the fake device, headless Chromium has no camera
            try:
                session = PageSession(tools, base + page, base, screenshots)
                session.load(timeout)
                tools.send('Browser.setPermission', permission={'name': 'camera'}, setting=permission, origin=base.rstrip('/'))
                tools.evaluate("document.getElementById('try-camera').click()")
                session.wait("document.getElementById('try-status').dataset.kind === 'error'", timeout)
                got, text = session.status()
                report['bad input'][case] = text
                session.shot('4-' + case.replace(' ', '-'))
                if got != 'error' or words not in text: problems.append(f"{case}: the page says {text!r} ({got})")
                problems += session.problems()
            finally: tools.close()
    report['problems'] = list(dict.fromkeys(problems))
    return report


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('site', type=Path, help='a built site, with the page and its demo/ folder')
    parser.add_argument('--page', default='site/try.html', help='the page, relative to SITE')
    parser.add_argument('--screenshots', type=Path, default=Path('.screenshots/try'), help='where to save the screenshots')
    parser.add_argument('--speed', action='store_true', help='fail when the page is slower than its targets (for the benchmark record, on a quiet machine)')
    args = parser.parse_args()
    report = check(args.site.resolve(), args.page, args.screenshots, speed=args.speed)
    chromium_version = subprocess.run([site_check.find_chromium(), '--version'], capture_output=True, text=True).stdout.strip()
    speeds = f"first result <= {FIRST_RESULT_S:g} s, >= {CAMERA_FPS} camera frames/s, " if args.speed else "speeds measured, not held to targets (--speed), "
    print(f"The Try it page in headless Chromium (targets: probabilities within {TOLERANCE} of fermask predict, {speeds}"
          f"<= {MAX_BYTES / 1e6:g} MB loaded, no request off the origin)")
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {chromium_version}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps(report, indent=1))
    print(f"screenshots in {args.screenshots}/; " + (f"{len(report['problems'])} problem(s)" if report['problems'] else 'no problem'))
    sys.exit(1 if report['problems'] else 0)
