"""Build what the "Try it" page (site/try.qmd) loads, into a git-ignored folder that the site build copies
beside the page as `demo/`:

    python site/demo/build.py [--out site/demo/_build]

1. `npm ci` in site/demo: onnxruntime-web, at the version package-lock.json pins.
2. The bundled model (`fermask.load_model()`) exported to ONNX with the mask of each of its four Masking
   Blocks as extra outputs (channel means, 48x48, as `fermask.explain.all_masks` draws them), its weights
   stored in fp16 (the bundled weights are fp16: nothing is lost), checked against PyTorch on the sample
   photos' crops and on random crops; the largest difference is printed.
3. OpenCV's Haar cascade (`haarcascade_frontalface_default.xml`, from opencv-python-headless) as JSON for
   faces.js, and the detector's settings (`fermask.faces.HaarDetector`'s defaults for photos,
   `fermask.predict.LIVE_CAMERA` for the camera).
4. Public-domain sample photos from installed packages, as PNG (lossless: the page and `fermask predict`
   read the same pixels): NASA's portrait of Eileen Collins (scikit-image), the US Navy's of Grace Hopper
   (Matplotlib) and a cat, with no human face (scikit-image, CC0).
5. ONNX Runtime's WebAssembly gzipped (the page inflates it with the browser's DecompressionStream: about a
   quarter of its size is sent), its JavaScript, and the page's own try.js, faces.js and try.css.
"""
from __future__ import annotations
import argparse, gzip, json, shutil, subprocess, sys, tempfile, time, warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import fermask
from fermask.data import EMOTIONS
from fermask.errors import FermaskError, atomic_write
from fermask.faces import HaarDetector, face_crops, read_image
from fermask.speed import LIVE_CAMERA
from fermask.onnx_export import CropsToProbabilities, onnx_session

HERE = Path(__file__).resolve().parent
ORT = HERE/'node_modules'/'onnxruntime-web'/'dist'
PAGE_FILES = ('try.js', 'faces.js', 'try.css')
MASK_OUTPUTS = [f'mask{i}' for i in range(1, 5)]


def npm_ci():
    "Install the page's npm dependencies exactly as package-lock.json pins them."
    if not shutil.which('npm'): raise FermaskError("npm is not on the PATH: install Node.js 18 or newer")
    done = subprocess.run(['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], cwd=HERE, capture_output=True, text=True)
    if done.returncode: raise FermaskError(f"npm ci in {HERE} failed: {' '.join(done.stderr.split())[-300:]}")


class CropsToExplained(nn.Module):
    "uint8 (B,1,48,48) crops -> probabilities (B,7) and the channel-mean mask of each Masking Block, (B,48,48) each."
    def __init__(self, model:nn.Module):
        super().__init__()
        self.probabilities = CropsToProbabilities(model)
        self.masks = [block.mask for block in model.stages if getattr(block, 'mask', None) is not None]

    def forward(self, faces:torch.Tensor):
        seen = []
        hooks = [mask.register_forward_hook(lambda module, inputs, output: seen.append(output)) for mask in self.masks]
        try: probs = self.probabilities(faces)
        finally:
            for hook in hooks: hook.remove()
        side = faces.shape[-2:]
        return (probs, *(F.interpolate(m.mean(1, keepdim=True), size=side, mode='bilinear', align_corners=False)[:, 0] for m in seen))


def fp16_initializers(proto):
    "Store every float32 weight of `proto` as float16 and cast it back in the graph, when the fp16 copy is exact."
    import onnx
    from onnx import helper, numpy_helper
    casts, kept = [], []
    for init in proto.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or not np.array_equal(array.astype(np.float16).astype(np.float32), array): kept.append(init); continue
        kept.append(numpy_helper.from_array(array.astype(np.float16), init.name + '_fp16'))
        casts.append(helper.make_node('Cast', [init.name + '_fp16'], [init.name], to=onnx.TensorProto.FLOAT))
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    nodes = casts + list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    return len(casts)


def export_explained(path:Path, check_faces:np.ndarray) -> dict:
    "Export the bundled model with its masks to `path`; compare ONNX Runtime with PyTorch on `check_faces`."
    try: import onnx
    except ImportError: raise FermaskError('the export needs the onnx extra: pip install -e ".[onnx]"') from None
    model = fermask.load_model()
    graph = CropsToExplained(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # the exporter's notes on its own internals
        program = torch.onnx.export(graph, (torch.from_numpy(check_faces[:2, None]),), dynamo=True, optimize=False, verbose=False,
                                    input_names=['faces'], output_names=['probabilities', *MASK_OUTPUTS],
                                    dynamic_shapes=({0: torch.export.Dim('batch')},))
    proto = program.model_proto
    for node in proto.graph.node: del node.metadata_props[:]; node.doc_string = ''   # the exporter's stack traces: 1.3 MB the page need not load
    halved = fp16_initializers(proto)
    proto.metadata_props.add(key='labels', value=json.dumps(EMOTIONS))
    proto.metadata_props.add(key='model', value=json.dumps(model.config))
    with atomic_write(path) as tmp:
        onnx.save(proto, str(tmp))
        onnx_out = onnx_session(tmp).run(None, {'faces': check_faces[:, None]})
    with torch.inference_mode(): torch_out = [t.numpy() for t in graph(torch.from_numpy(check_faces[:, None]))]
    differences = {name: float(np.abs(o - t).max()) for name, o, t in zip(['probabilities', *MASK_OUTPUTS], onnx_out, torch_out)}
    return {'megabytes': path.stat().st_size / 1e6, 'fp16 weights': halved, 'max_abs_difference': differences}


def cascade_json(xml:Path) -> dict:
    "OpenCV's cascade XML (stumps only) as the JSON faces.js reads; every number as its float32 value."
    root = ET.parse(xml).getroot().find('cascade')
    f32 = lambda s: float(np.float32(float(s)))
    stages = []
    for stage in root.find('stages'):
        stumps = []
        for tree in stage.find('weakClassifiers'):
            left, right, feature, threshold = tree.find('internalNodes').text.split()
            if (left, right) != ('0', '-1'): raise FermaskError(f"{xml}: only cascades of stumps are supported")
            stumps.append([int(feature), f32(threshold), *map(f32, tree.find('leafValues').text.split())])
        stages.append({'threshold': f32(stage.find('stageThreshold').text), 'stumps': stumps})
    features = [[[*map(int, r.text.split()[:4]), f32(r.text.split()[4])] for r in f.find('rects')] for f in root.find('features')]
    if any(f.find('tilted') is not None and f.find('tilted').text.strip() != '0' for f in root.find('features')):
        raise FermaskError(f"{xml}: tilted features are not supported")
    window = [int(root.find('width').text), int(root.find('height').text)]
    licence = xml.read_text().split('<!--', 1)[1].split('-->', 1)[0]   # the XML's opening comment: its author and Intel's licence, kept with the numbers
    return {'source': f'OpenCV {cv2.__version__}, {xml.name}', 'licence': licence.strip(), 'window': window, 'features': features, 'stages': stages}


def write_samples(folder:Path) -> list[Path]:
    "The sample photos, as PNG, from packages that ship them."
    try: from skimage import data
    except ImportError: raise FermaskError("the sample photos come from scikit-image: pip install scikit-image") from None
    from matplotlib.cbook import get_sample_data
    folder.mkdir(parents=True, exist_ok=True)
    photos = {'astronaut.png': cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR),
              'grace-hopper.png': read_image(get_sample_data('grace_hopper.jpg', asfileobj=False)),
              'cat.png': cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)}
    for name, image in photos.items(): cv2.imwrite(str(folder/name), image)
    return [folder/name for name in photos]


def settings() -> dict:
    "What the page needs to find, crop and name faces as `fermask predict` does."
    photo, camera = HaarDetector(), HaarDetector(**LIVE_CAMERA)
    describe = lambda d: {'min_face': d.min_face, 'min_face_fraction': d.min_face_fraction, 'scale_factor': d.scale_factor, 'min_neighbors': d.min_neighbors}
    return {'labels': list(EMOTIONS), 'margin': photo.margin, 'crop_size': 48, 'photo': describe(photo), 'camera': describe(camera),
            'onnxruntime_web': json.loads((ORT.parent/'package.json').read_text())['version'], 'fermask': fermask.__version__}


def build(out:Path) -> dict:
    "Everything the page loads, in `out` (replaced)."
    npm_ci()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix='.demo-'))   # written beside `out`, then renamed: never half a folder
    try:
        samples = write_samples(tmp/'samples')
        detector = HaarDetector()
        crops = [face_crops(image, detector(image), detector.margin) for image in map(read_image, samples)]
        check = np.concatenate([*crops, np.random.default_rng(0).integers(0, 256, (32, 48, 48), dtype=np.uint8)])
        report = export_explained(tmp/'model.onnx', check)
        xml = Path(cv2.data.haarcascades)/'haarcascade_frontalface_default.xml'
        (tmp/'haarcascade_frontalface_default.json').write_text(json.dumps(cascade_json(xml), separators=(',', ':')))
        (tmp/'settings.json').write_text(json.dumps(settings(), indent=1))
        shutil.copy(ORT/'ort.wasm.bundle.min.mjs', tmp)
        with gzip.open(tmp/'ort-wasm-simd-threaded.wasm.gz', 'wb', compresslevel=9) as f: f.write((ORT/'ort-wasm-simd-threaded.wasm').read_bytes())
        for name in PAGE_FILES: shutil.copy(HERE/name, tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True); raise
    report['files'] = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob('*')) if p.is_file()}
    report['faces in samples'] = {p.name: len(c) for p, c in zip(samples, crops)}
    return report


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=Path, default=HERE/'_build', help='the folder to write (replaced); default site/demo/_build')
    args = parser.parse_args()
    start = time.time()
    try: report = build(args.out.resolve())
    except FermaskError as e: sys.exit(f"error: {e}")
    for name, size in report['files'].items(): print(f"{size / 1e6:8.3f} MB  {name}")
    print(f"{sum(report['files'].values()) / 1e6:8.3f} MB  in all, in {args.out}")
    print(f"ONNX model: {report['megabytes']:.2f} MB, {report['fp16 weights']} weight tensors stored in fp16")
    print("ONNX Runtime vs PyTorch, largest absolute difference: " + ', '.join(f"{k} {v:.2e}" for k, v in report['max_abs_difference'].items()))
    print(f"faces found by fermask's Haar detector: {report['faces in samples']}; built in {time.time() - start:.0f} s")
