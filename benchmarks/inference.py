"""Inference speed of the bundled model on this machine (targets: >= 1000 faces/s at batch 64, >= 100 frames/s end to end).

The bundled model (fermask.load_model(): resmaskingnet_cpu, 96x96 input, 3.2M parameters), run five ways:
  fp32        : fermask.classifier.FaceClassifier(precision='fp32'): inference_mode, batch norms folded
                into the convolutions, channels_last;
  as loaded   : the model as `load_model()` returns it, fp32, under torch.no_grad: the naive baseline;
  bf16        : FaceClassifier(precision='bf16'): fp32's path with bf16 autocast;
  auto        : FaceClassifier(), the default of `predict` and `benchmark`: bf16 for batches of 16 crops
                or more on processors with bf16 instructions (as this one), fp32 for smaller ones;
  onnxruntime : OnnxClassifier(model): the graph `fermask export --onnx` writes, on ONNX Runtime's CPU
                provider (fp32); `fermask predict --engine onnxruntime`.
Numbers:
  classify    : 48x48 uint8 crops -> probabilities, faces/s at batch 1 and 64;
  frame by frame : detect + crop + classify a 640x480 frame with one face (fermask.speed.benchmark_frame,
                Grace Hopper's portrait), one frame at a time as from a live camera, frames/s;
  video stream: the same over a stream of 64 frames, faces classified together as `predict` does
                for videos (fermask.predict.classified), frames/s;
                both with `predict`'s default detector, BlazeFace (fermask.faces.make_detector());
  accuracy    : on FER2013 PrivateTest (3,589 faces), without TTA, and the largest difference of any
                probability from fp32's;
  detect      : detection alone: BlazeFace, and the Haar cascade at its live-camera setting (HaarDetector(**LIVE_CAMERA):
                faces >= 1/5 of the frame), the fastest detector fermask has.
Each rate: repeated calls for 5 s (or the seconds given) after two warm-up calls (fermask.speed.throughput).
Run:  python benchmarks/inference.py | tee benchmarks/inference.txt   (on an otherwise idle machine)
"""
import sys
from datetime import datetime, timezone
import numpy as np
import torch, torch.nn.functional as F
from fermask.cache import fer2013_splits
from fermask.checkpoints import load_model
from fermask.faces import HaarDetector, make_detector
from fermask.loading import FaceTransform
from fermask.classifier import FaceClassifier, model_temperature
from fermask.onnx_export import OnnxClassifier
from fermask.predict import classified, classify_frame
from fermask.speed import LIVE_CAMERA, benchmark_frame, machine, throughput

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0

def as_loaded(model):
    "The naive path: the model as loaded, fp32, contiguous, under torch.no_grad (its probabilities at its stored temperature)."
    transform, temperature = FaceTransform(model.in_size, train=False), model_temperature(model)
    def classify(faces):
        with torch.no_grad(): return F.softmax(model(transform(torch.from_numpy(faces).unsqueeze(1))) / temperature, -1).numpy()
    return classify

class Batched:
    "A classify function with the `batch_size` that fermask.predict.classified reads."
    def __init__(self, classify, batch_size=64): self.classify, self.batch_size = classify, batch_size
    def __call__(self, faces): return np.concatenate([self.classify(faces[i:i + self.batch_size]) for i in range(0, len(faces), self.batch_size)])

if __name__ == '__main__':
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}")
    print("command: python benchmarks/inference.py\n")
    model, test = load_model(), fer2013_splits()['test']
    print(f"model: {model.config['name']} ({model.metadata['provenance']['run_id']}), {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters\n")
    paths = {'fp32': FaceClassifier(model, 'fp32'), 'as loaded': Batched(as_loaded(model)), 'bf16': FaceClassifier(model, 'bf16'),
             'auto': FaceClassifier(model), 'onnxruntime': OnnxClassifier(model)}
    detectors = {'blazeface (default)': make_detector(), 'haar, live camera': HaarDetector(**LIVE_CAMERA)}
    frame = benchmark_frame()
    faces = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    default, reference = detectors['blazeface (default)'], None
    print(f"{'path':12s} {'batch 1 faces/s':>16s} {'batch 64 faces/s':>17s} {'frame by frame fps':>19s} {'video stream fps':>17s} {'test accuracy':>14s} {'max |p - p_fp32|':>17s}")
    for name, classify in paths.items():
        probs = classify(test.images)
        reference = probs if reference is None else reference   # fp32 comes first
        single = throughput(lambda: classify(faces[:1]), 1, SECONDS)
        batch = throughput(lambda: classify(faces), 64, SECONDS)
        frame_by_frame = throughput(lambda: classify_frame(frame, default, classify), 1, SECONDS)
        stream = throughput(lambda: list(classified(((i, frame) for i in range(64)), default, classify)), 64, SECONDS)
        print(f"{name:12s} {single:16.0f} {batch:17.0f} {frame_by_frame:19.1f} {stream:17.1f} "
              f"{(probs.argmax(1) == test.labels).mean():14.4f} {np.abs(probs - reference).max():17.4f}", flush=True)
    for name, detector in detectors.items():
        print(f"\ndetection alone, {name}: {detector}, 640x480 frame: {throughput(lambda: detector(frame), 1, SECONDS):.1f} frames/s", end='')
    print()
