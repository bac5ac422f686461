"""Robustness of the bundled model: FER2013 PrivateTest accuracy and per-class recall on clean crops and under changes of the crop.

Each of the 3,589 PrivateTest faces (48x48 gray) is changed the same way, then classified by the bundled model
(fermask.load_model(), FaceClassifier in fp32, no test-time augmentation):
  clean              : the faces as they are;
  brightness +40%/-40% : every pixel times 1.4 / 0.6, clipped to 0..255;
  contrast x1.5/x0.5 : each face's deviations from its own mean pixel times 1.5 / 0.5, clipped;
  blur sigma 1       : Gaussian blur, sigma 1 pixel (OpenCV, kernel from sigma);
  JPEG quality 30    : encoded and decoded as JPEG at quality 30 (OpenCV);
  rotation +15/-15   : rotated about the centre by 15 degrees counter-clockwise / clockwise;
  shift left/right/up/down 10% : the crop window moved by 10% of its side (4.8 pixels, bilinear), so the face
                       moves the other way;
rotations and shifts fill the pixels they bring in by mirroring the face's edge (OpenCV BORDER_REFLECT_101),
since FER2013 keeps nothing outside the crop. Columns: accuracy, its change from clean in points, and the
recall of each class (the share of that class's faces labelled as it).
Run:  python benchmarks/robustness.py | tee benchmarks/robustness.txt
"""
from datetime import datetime, timezone
import cv2
import numpy as np
import pandas as pd
from fermask.cache import fer2013_splits
from fermask.checkpoints import load_model
from fermask.classifier import FaceClassifier
from fermask.data import EMOTIONS

SHIFT = 0.1  # of the crop's side

def scaled(faces:np.ndarray, factor:float) -> np.ndarray:
    "Every pixel times `factor` (brightness)."
    return np.clip(faces * factor, 0, 255).astype(np.uint8)

def contrast(faces:np.ndarray, factor:float) -> np.ndarray:
    "Each face's deviations from its mean pixel times `factor`."
    mean = faces.mean((1, 2), keepdims=True)
    return np.clip((faces - mean) * factor + mean, 0, 255).astype(np.uint8)

def each(faces:np.ndarray, change) -> np.ndarray:
    "`change` applied to every face."
    return np.stack([change(face) for face in faces])

def jpeg(face:np.ndarray, quality:int=30) -> np.ndarray:
    "`face` after a JPEG round trip at `quality`."
    return cv2.imdecode(cv2.imencode('.jpg', face, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)

def warped(face:np.ndarray, matrix:np.ndarray) -> np.ndarray:
    "`face` under the affine `matrix`, bilinear, the edges mirrored into what comes in."
    return cv2.warpAffine(face, matrix, face.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)

def rotated(degrees:float):
    return lambda face: warped(face, cv2.getRotationMatrix2D(((face.shape[1] - 1) / 2, (face.shape[0] - 1) / 2), degrees, 1.0))

def window_moved(dx:float, dy:float):
    "The crop window moved by (dx, dy) of its side: the content moves by minus that."
    return lambda face: warped(face, np.float32([[1, 0, -dx * face.shape[1]], [0, 1, -dy * face.shape[0]]]))

CONDITIONS = {
    'clean': lambda f: f,
    'brightness +40%': lambda f: scaled(f, 1.4),
    'brightness -40%': lambda f: scaled(f, 0.6),
    'contrast x1.5': lambda f: contrast(f, 1.5),
    'contrast x0.5': lambda f: contrast(f, 0.5),
    'blur sigma 1': lambda f: each(f, lambda face: cv2.GaussianBlur(face, (0, 0), 1.0)),
    'JPEG quality 30': lambda f: each(f, jpeg),
    'rotation +15 deg': lambda f: each(f, rotated(15)),
    'rotation -15 deg': lambda f: each(f, rotated(-15)),
    'shift left 10%': lambda f: each(f, window_moved(-SHIFT, 0)),
    'shift right 10%': lambda f: each(f, window_moved(SHIFT, 0)),
    'shift up 10%': lambda f: each(f, window_moved(0, -SHIFT)),
    'shift down 10%': lambda f: each(f, window_moved(0, SHIFT)),
}

if __name__ == '__main__':
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print("command: python benchmarks/robustness.py\n")
    model, test = load_model(), fer2013_splits()['test']
    print(f"model: {model.config['name']} ({model.metadata['provenance']['run_id']}); PrivateTest: {len(test.labels)} faces, "
          + ', '.join(f"{e} {n}" for e, n in zip(EMOTIONS, np.bincount(test.labels, minlength=len(EMOTIONS)))) + '\n')
    classify = FaceClassifier(model, precision='fp32')
    rows = []
    for name, change in CONDITIONS.items():
        faces = change(test.images)
        assert faces.shape == test.images.shape and faces.dtype == np.uint8, name
        predicted = classify(faces).argmax(1)
        right = predicted == test.labels
        rows.append({'condition': name, 'accuracy %': 100 * right.mean(),
                     **{e: 100 * right[test.labels == i].mean() for i, e in enumerate(EMOTIONS)}})
    table = pd.DataFrame(rows)
    table.insert(2, 'change (points)', table['accuracy %'] - table['accuracy %'][0])
    print('accuracy and per-class recall, %:')
    print(table.to_string(index=False, float_format=lambda v: f'{v:.1f}'))
