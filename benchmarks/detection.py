"""Face detection on photographs: recall at IoU >= 0.3 and false positives per detector, on a boxed set and harder variants of it.

Usage: `python benchmarks/detection.py FACES > benchmarks/detection.txt`, where FACES is a folder in
dlib's image-metadata format: `*.xml` files of `<image file=...>` with one `<box top= left= width=
height=/>` per face (every face boxed), and optionally `dogs.jpg`, a photograph with no face. The
harder variants are made in memory: each face's lower half behind a skin-coloured hand, the photo
turned by 15 and 30 degrees, scaled so that its faces are 24-32 pixels, darkened to a quarter.
On the turned photos it also measures how often the bundled model gives a face the same label as
on the upright photo, with the crop turned upright by the detector's eyes and without, and, for
reference, how often it does when the photo is only scaled by 0.9 (how steady the labels are at all).
`--timing` measures only end-to-end frames/s (detect + classify a 640x480 frame with one face,
frame by frame), which is honest only on an idle machine; `--no-timing` skips it."""
import argparse, os, platform, time, xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
import cv2, numpy as np, torch
from fermask.faces import BlazeFaceDetector, HaarDetector, face_crops, read_image
from fermask.classifier import FaceClassifier
from fermask.errors import FermaskError
from fermask.predict import classify_frame, make_classifier
from fermask.speed import benchmark_frame, throughput

IOU = 0.3
SKIN = np.array([125, 160, 215.])  # BGR of a light skin tone

def boxed_photos(folder:Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    "(name, BGR image, float boxes (N,4) x, y, w, h) for every photo in the folder's XML files, then dogs.jpg with no box."
    photos = []
    for xml in sorted(folder.glob('*.xml')):
        for image in ET.parse(xml).getroot().iter('image'):
            boxes = [[float(b.get(k)) for k in ('left', 'top', 'width', 'height')] for b in image.iter('box')]
            photos.append((image.get('file'), read_image(folder/image.get('file')), np.array(boxes).reshape(-1, 4)))
    if (folder/'dogs.jpg').is_file(): photos.append(('dogs.jpg', read_image(folder/'dogs.jpg'), np.zeros((0, 4))))
    return photos

def hand_covered(image, boxes):
    "Each face's lower half behind a hand: four horizontal fingers from the nose down to the chin, the palm and wrist below."
    image = image.copy()
    for x, y, w, h in boxes:
        centre = x + w / 2
        cv2.ellipse(image, (int(centre), int(y + 1.25 * h)), (int(w * .45), int(h * .45)), 0, 0, 360, (SKIN * .85).tolist(), -1, cv2.LINE_AA)
        for k, length in enumerate((0.42, 0.46, 0.44, 0.38)):
            cv2.ellipse(image, (int(centre + w * .05), int(y + h * (0.56 + 0.125 * k))), (int(w * length), max(1, int(h * .07))), 0, 0, 360,
                        (SKIN * (1 - 0.05 * k)).tolist(), -1, cv2.LINE_AA)
    return image, boxes

def turned(degrees):
    "The photo turned by `degrees` (counter-clockwise) on a canvas that holds all of it; boxes of the same size around the turned centres."
    def turn(image, boxes):
        h, w = image.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1)
        c, s = abs(m[0, 0]), abs(m[0, 1])
        size = (int(h * s + w * c), int(h * c + w * s))
        m[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
        centres = np.c_[boxes[:, :2] + boxes[:, 2:] / 2, np.ones(len(boxes))] @ m.T
        return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR), np.c_[centres - boxes[:, 2:] / 2, boxes[:, 2:]]
    return turn

def small(image, boxes):
    "The photo scaled so that its faces are 24-32 pixels wide (as near as one scale per photo allows); the no-face photo to 0.3."
    scale = np.sqrt(24 * 32 / (boxes[:, 2].min() * boxes[:, 2].max())) if len(boxes) else 0.3
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), boxes * scale

VARIANTS = {'clean': lambda image, boxes: (image, boxes), 'hand over mouth': hand_covered, 'turned 15': turned(15),
            'turned 30': turned(30), 'faces 24-32 px': small, 'dark (x0.25)': lambda image, boxes: ((image * 0.25 + 0.5).astype(np.uint8), boxes)}

def overlaps(a, b):
    "Intersection over union (len(a), len(b)) of x, y, w, h boxes."
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter)

def matches(truth, found) -> dict:
    "Greedy one-to-one matching at IoU >= `IOU`: {truth index: found index}."
    pairs, iou = {}, overlaps(truth, found.astype(float)) if len(truth) and len(found) else np.zeros((len(truth), len(found)))
    for i, j in sorted(np.argwhere(iou >= IOU).tolist(), key=lambda ij: -iou[ij[0], ij[1]]):
        if i not in pairs and j not in pairs.values(): pairs[i] = j
    return pairs

def detection_table(photos, detectors:dict) -> None:
    print(f"recall (faces found / faces) and false positives, IoU >= {IOU}, per variant; FP total over all variants\n")
    print(f"{'detector':56s}" + ''.join(f"{v:>20s}" for v in VARIANTS) + f"{'FP total':>10s}{'s/photo':>9s}")
    for name, detector in detectors.items():
        cells, false_total, start, calls = [], 0, time.perf_counter(), 0
        for variant in VARIANTS.values():
            hits = faces = false = 0
            for _, image, boxes in photos:
                image, boxes = variant(image, boxes)
                found = detector(image); calls += 1
                pairs = matches(boxes, found)
                hits, faces, false = hits + len(pairs), faces + len(boxes), false + len(found) - len(pairs)
            cells.append(f"{hits}/{faces} {100 * hits / faces:3.0f}% FP {false}"); false_total += false
        print(f"{name:56s}" + ''.join(f"{c:>20s}" for c in cells) + f"{false_total:>10d}{(time.perf_counter() - start) / calls:>9.3f}", flush=True)

def scaled(factor):
    "The photo scaled by `factor`, and its boxes."
    return lambda image, boxes: (cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), boxes * factor)

def label_agreement(photos, detector, classifier) -> None:
    "How often a face keeps the label of its upright crop when the photo is turned, or only scaled by 0.9 (the reference), on the faces found in every version."
    changes = {'turned 15': turned(15), 'turned 30': turned(30), 'not turned, scaled by 0.9 (the reference)': scaled(0.9)}
    same, faces = {name: np.zeros(2, int) for name in changes}, 0
    for _, image, boxes in photos:
        found = {'upright': (boxes, image, *detector.locate(image))}
        for name, change in changes.items():
            changed, truth = change(image, boxes)
            found[name] = (truth, changed, *detector.locate(changed))
        pairs = {name: matches(truth, located) for name, (truth, _, located, _) in found.items()}
        common = sorted(set.intersection(*(set(p) for p in pairs.values())))
        if not common: continue
        def labels(name, upright=True):
            _, changed, located, eyes = found[name]
            crops = face_crops(changed, located[[pairs[name][i] for i in common]], detector.margin,
                               eyes=eyes[[pairs[name][i] for i in common]] if upright else None)
            return classifier(crops).argmax(1)
        reference = labels('upright')
        for name in changes: same[name] += (labels(name) == reference).sum(), (labels(name, upright=False) == reference).sum()
        faces += len(common)
    print(f"\nlabel agreement, bundled model, {detector}: on the {faces} faces found in the upright photo and in every changed one, "
          f"how many keep the label of their upright crop")
    for name, (upright, tilted) in same.items():
        print(f"  {name:42s} crops turned upright by the eyes: {upright}/{faces} = {100 * upright / faces:.0f}%; "
              f"left as found: {tilted}/{faces} = {100 * tilted / faces:.0f}%")

def timing(detectors:dict, classifier, seconds:float=3.0) -> None:
    frame = benchmark_frame()
    print(f"\nend to end, detect + classify a 640x480 frame with one face, frame by frame ({seconds:.0f} s each; only honest on an idle machine):")
    for name, detector in detectors.items():
        if len(detector(frame)) != 1: print(f"  {name:56s} does not find exactly one face in the frame"); continue
        print(f"  {name:56s} {throughput(lambda: classify_frame(frame, detector, classifier), 1, seconds):7.1f} frames/s"
              f"   (detection alone {throughput(lambda: detector(frame), 1, seconds):7.1f})", flush=True)
    try: onnx = make_classifier(engine='onnxruntime')
    except FermaskError as e: print(f"  with ONNX Runtime: not measured ({e})"); return
    default = next(iter(detectors.values()))
    print(f"  {'blazeface (default), ONNX Runtime classifier':56s} {throughput(lambda: classify_frame(frame, default, onnx), 1, seconds):7.1f} frames/s"
          f"   (fermask predict --engine onnxruntime)", flush=True)

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('faces', type=Path, help="a folder of photos with dlib-format XML boxes (and optionally dogs.jpg, with no face)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--timing', action='store_true', help="only the end-to-end frames/s")
    group.add_argument('--no-timing', action='store_true', help="everything but the end-to-end frames/s")
    args = parser.parse_args()
    detectors = {'blazeface (default: min_face 24, second looks from 0.2)': BlazeFaceDetector(),
                 'blazeface, no second look (MediaPipe: score >= 0.5)': BlazeFaceDetector(second_look_from=0.5, sure_from=0.5),
                 'blazeface, score >= 0.35, no second look': BlazeFaceDetector(score_threshold=0.35, second_look_from=0.35, sure_from=0.35),
                 'blazeface, the closer look only (no Haar look)': BlazeFaceDetector(haar_look_from=1),
                 'blazeface min_face 48': BlazeFaceDetector(min_face=48),
                 'haar (min_face 48)': HaarDetector(),
                 'haar min_face 16, min_face_fraction 0': HaarDetector(min_face=16, min_face_fraction=0)}
    classifier = FaceClassifier()
    print(__doc__.splitlines()[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)")
    print(f"command: python benchmarks/detection.py FACES{' --timing' if args.timing else ' --no-timing' if args.no_timing else ''}\n")
    if not args.timing:
        photos = boxed_photos(args.faces)
        print(f"{sum(len(b) for _, _, b in photos)} faces in {sum(len(b) > 0 for _, _, b in photos)} photos, "
              f"{sum(len(b) == 0 for _, _, b in photos)} photo(s) without a face\n")
        detection_table(photos, detectors)
        label_agreement(photos, next(iter(detectors.values())), classifier)
    if not args.no_timing: timing(detectors, classifier)

if __name__ == '__main__': main()
