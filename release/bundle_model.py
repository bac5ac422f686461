"""Release step: write a training run's model into the package, as fermask ships it.

    python release/bundle_model.py RUN [--record RUN_JSON] [--dest FOLDER] [--data FER2013]

RUN is a run folder (its best.safetensors is bundled) or a weights file in one; its record is
results/<profile>/<run>/run.json beside runs/<profile>/<run>/ (or --record). The script
  1. refuses weights over 10 MB in fp16 (every user downloads the package) and weights whose fp16
     copy changes the probabilities of 32 random inputs by more than 0.01;
  2. fits the temperature that calibrates the fp16 model's probabilities: the one minimising the
     negative log-likelihood of FER2013's PublicTest faces (never PrivateTest, which only measures;
     fermask.calibration), so that re-bundling the same weights gives the same temperature;
  3. writes FOLDER/<model>.fer2013_<profile>.safetensors (fp16; default FOLDER: fermask/weights/ of
     this checkout), the run's facts and the temperature in its metadata (`provenance`,
     `calibration`), and the run's record beside it as .json.
fermask.classifier.FaceClassifier, `fermask predict` and the ONNX export use the stored temperature.

The model fermask ships was written by (the run's fp32 weights were not kept: bundling the fp16 file
again gives the same tensors, and keeps the fp16 check made when it was first bundled):

    python release/bundle_model.py fermask/weights/resmaskingnet_cpu.fer2013_cpu.safetensors --record results/cpu/resmaskingnet_cpu-seed1/run.json

Bad input ends in one line on stderr and exit status 2; nothing is half-written.
"""
import copy, json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fermask.cache import fer2013_splits
from fermask.calibration import fit_temperature, negative_log_likelihood, temperature_scaled
from fermask.checkpoints import load_model, save_weights
from fermask.classifier import FaceClassifier
from fermask.cli import OneLineErrors, one_line_errors
from fermask.errors import FermaskError, atomic_write

MAX_BUNDLE_BYTES = 10_000_000  # a weights file shipped in the package is at most 10 MB: a small download for every user
PACKAGE_WEIGHTS = Path(__file__).resolve().parent.parent/'fermask'/'weights'  # where this checkout's package keeps its model

def record_of(run:Path) -> Path:
    "The record of run folder `runs/<profile>/<run>`: `results/<profile>/<run>/run.json` in the same project."
    return run.parent.parent.parent/'results'/run.parent.name/run.name/'run.json'

def fp16_difference(model:nn.Module, half:nn.Module) -> float:
    "The largest change fp16 weights make to any probability of 32 random inputs."
    x = torch.rand(32, 3, model.in_size, model.in_size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(): return (F.softmax(copy.deepcopy(half).float()(x), 1) - F.softmax(model(x), 1)).abs().max().item()

def calibration(model:nn.Module, data:str|None) -> dict:
    "The temperature calibrating `model` on PublicTest, with the negative log-likelihood before and after."
    val = fer2013_splits(data)['val']
    probs = FaceClassifier(model, precision='fp32', temperature=1.0)(val.images)
    temperature = fit_temperature(probs, val.labels)
    return {'temperature': temperature, 'fitted_on': f'val (PublicTest), {len(val.labels)} faces',
            'nll': {'uncalibrated': negative_log_likelihood(probs, val.labels),
                    'calibrated': negative_log_likelihood(temperature_scaled(probs, temperature), val.labels)}}

def bundle_model(run:str|Path, # a run folder (its best.safetensors is bundled) or a weights file in one
                 record:str|Path|None=None, # the run's run.json (default: results/<profile>/<run>/run.json of the project)
                 dest:str|Path=PACKAGE_WEIGHTS, # the folder to write into
                 data:str|None=None, # FER2013 for the temperature's fit (default: fermask.data.find_fer2013())
                ) -> Path:
    "Write a run's weights as fp16 safetensors named `<model>.fer2013_<profile>`, calibrated, with its record in the metadata and beside it."
    run = Path(run)
    if not run.exists(): raise FermaskError(f"no such run folder or weights file: {run}")
    weights = run/'best.safetensors' if run.is_dir() else run
    record = Path(record) if record else record_of(run if run.is_dir() else run.parent)
    if not record.is_file(): raise FermaskError(f"run record {record} not found: bundling needs the run's run.json (pass --record)")
    facts = json.loads(record.read_text())
    model = load_model(weights)
    half = copy.deepcopy(model).half()
    size = sum(t.numel() * t.element_size() for t in half.state_dict().values())
    if size > MAX_BUNDLE_BYTES: raise FermaskError(f"{weights}: {size / 1e6:.1f} MB of weights in fp16, over the {MAX_BUNDLE_BYTES / 1e6:.0f} MB allowed in the package")
    difference = fp16_difference(model, half)
    if difference > 0.01: raise FermaskError(f"{weights}: its fp16 copy changes probabilities by up to {difference:.3f}; not bundled")
    difference = model.metadata.get('fp16_max_prob_difference', difference)   # weights already in fp16: keep the check against their fp32 original
    provenance = {k: facts.get(k) for k in ('profile', 'run_id', 'command', 'git_commit', 'data_sha256', 'created', 'config', 'training')}
    provenance['accuracy'] = {split: {tta: m['accuracy'] for tta, m in metrics.items()} for split, metrics in facts.get('metrics', {}).items()}
    name = f"{model.config['name']}.fer2013_{facts.get('profile', 'run')}"
    calibrated = calibration(copy.deepcopy(half).float(), data)   # the model as users get it: fp16 weights in fp32
    dest = Path(dest)
    save_weights(half, dest/f'{name}.safetensors', {'weights_dtype': 'float16', 'fp16_max_prob_difference': difference,
                                                    'calibration': calibrated, 'provenance': provenance})
    with atomic_write(dest/f'{name}.json') as tmp: tmp.write_text(json.dumps(facts, indent=1) + '\n')
    for suffix in ('.safetensors', '.json'): (dest/f'{name}{suffix}').chmod(0o644)   # package data, readable by every user
    return dest/f'{name}.safetensors'

def main():
    parser = OneLineErrors(prog='release/bundle_model.py', description=__doc__.split('\n')[0])
    parser.add_argument('run', help='a run folder (its best.safetensors is bundled) or a weights file in one')
    parser.add_argument('--record', help="the run's run.json (default: results/<profile>/<run>/run.json of the project)")
    parser.add_argument('--dest', default=str(PACKAGE_WEIGHTS), help='the folder to write into (default: fermask/weights/ of this checkout)')
    parser.add_argument('--data', help='FER2013 (zip, csv, folder or prepared .npz) for the temperature (default: as fermask finds it)')
    args = parser.parse_args()
    with one_line_errors():
        path = bundle_model(args.run, args.record, args.dest, args.data)
        meta = load_model(path).metadata
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; fp16 changes probabilities by at most {meta['fp16_max_prob_difference']:.5f}; "
              f"temperature {meta['calibration']['temperature']:.4f}, PublicTest negative log-likelihood "
              f"{meta['calibration']['nll']['uncalibrated']:.4f} -> {meta['calibration']['nll']['calibrated']:.4f})")

if __name__ == '__main__':
    main()
