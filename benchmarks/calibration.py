"""Calibration of the bundled model's probabilities: expected calibration error on PrivateTest before and after its temperature.

The bundled model (fermask.load_model()) carries one temperature, fitted on PublicTest (FER2013's validation
split) by release/bundle_model.py to minimise the negative log-likelihood (fermask.calibration.fit_temperature).
This script classifies PublicTest and PrivateTest in fp32 at temperature 1 (the model's own softmax) and at the
stored temperature (what `fermask predict` reports), and prints for each split:
  ECE : expected calibration error, 15 confidence bins of equal width (Guo et al. 2017; fermask.calibration);
  NLL : mean negative log-likelihood of the true labels;
  the PrivateTest reliability table, bin by bin.
It draws the PrivateTest reliability diagram (accuracy against confidence per bin, both temperatures) into
benchmarks/calibration.png. PrivateTest plays no part in the fit: it measures.
Run:  python benchmarks/calibration.py | tee benchmarks/calibration.txt
"""
from datetime import datetime, timezone
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import pandas as pd
from fermask.cache import fer2013_splits
from fermask.calibration import calibration_error, negative_log_likelihood, reliability
from fermask.checkpoints import load_model
from fermask.classifier import FaceClassifier, model_temperature

BINS = 15
FIGURE = Path(__file__).resolve().parent/'calibration.png'

def reliability_diagram(tables:dict, path:Path):
    "Accuracy against mean confidence per bin, one line per temperature, the diagonal for perfect calibration."
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color='gray', linestyle='--', label='perfectly calibrated')
    for name, table in tables.items():
        shown = table.dropna()
        ax.plot(shown.confidence, shown.accuracy, marker='o', label=name)
    ax.set(xlabel='confidence (probability of the chosen label)', ylabel='accuracy', xlim=(0, 1), ylim=(0, 1),
           title=f'Bundled model, FER2013 PrivateTest, {BINS} bins')
    ax.legend(loc='upper left')
    fig.tight_layout()
    fig.savefig(path, dpi=100)

if __name__ == '__main__':
    print(__doc__.split('\n')[0])
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print("command: python benchmarks/calibration.py\n")
    model, splits = load_model(), fer2013_splits()
    temperature = model_temperature(model)
    print(f"model: {model.config['name']} ({model.metadata['provenance']['run_id']}); stored temperature {temperature:.4f} "
          f"(fitted on {model.metadata['calibration']['fitted_on']})\n")
    classifiers = {'temperature 1': FaceClassifier(model, 'fp32', temperature=1.0), f'temperature {temperature:.3f}': FaceClassifier(model, 'fp32')}
    rows, tables = [], {}
    for split, name in (('val', 'PublicTest'), ('test', 'PrivateTest')):
        faces = splits[split]
        for label, classify in classifiers.items():
            probs = classify(faces.images)
            rows.append({'split': name, 'probabilities': label, 'accuracy': (probs.argmax(1) == faces.labels).mean(),
                         'mean confidence': probs.max(1).mean(), f'ECE ({BINS} bins)': calibration_error(probs, faces.labels, BINS),
                         'NLL': negative_log_likelihood(probs, faces.labels)})
            if split == 'test': tables[label] = reliability(probs, faces.labels, BINS)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f'{v:.4f}'))
    for label, table in tables.items():
        print(f"\nPrivateTest reliability, {label}:")
        print(table.to_string(index=False, float_format=lambda v: f'{v:.3f}'))
    reliability_diagram(tables, FIGURE)
    print(f"\nreliability diagram: benchmarks/{FIGURE.name}")
