"""Run pages: the executed notebooks of every recorded run, made readable for the site.

A run's record keeps the notebooks exactly as papermill executed them (`results/<profile>/<run>/
train.ipynb` and `evaluate.ipynb`): an epoch log of one line per epoch, a history table of every
epoch with six decimals. Those records stay as they are; at every build `run_pages` writes a copy of
each, changed for reading only, into `site/runs/<profile>/<run>/` (git-ignored), and the site
renders the copies:

- the epoch log is folded into one line that says how many epochs ran and where validation
  accuracy peaked; a click unfolds the whole log;
- a table of more than `LONG_TABLE` rows (the history) is folded the same way, the learning-curve
  figure beside it showing what it holds; a training notebook whose figure is missing gets the
  record's `curves.png`;
- the notebook's default parameters, which papermill's injected cell replaced, are left out (a note
  says so), so that the page shows one set of parameters: those the run used;
- numbers are rounded to four significant digits (`0.255634` reads `0.2556`, a learning rate of
  `1.150054e-04` reads `1.15e-04`).
"""
from __future__ import annotations
import base64, html, json, re
from pathlib import Path

from fermask.errors import atomic_write

from fragments import RUN_PAGES

RUN_NOTEBOOKS = ('train.ipynb', 'evaluate.ipynb')
EPOCH_LINE = re.compile(r'^\s*epoch\s+(\d+)\b.*?\bval loss \S+ acc ([\d.]+)')
LONG_TABLE = 12
LONG_NUMBER = re.compile(r'(?<![\w.])-?\d+\.\d{5,}(?:e[-+]\d+)?(?![\w.])')
TABLE_NUMBER = re.compile(r'<td>(-?\d+\.\d+(?:e[-+]\d+)?)</td>')

def readable_number(value:float) -> str:
    "`value` to four significant digits; below 0.001 (a learning rate) in scientific notation, to three."
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4g}"

def rounded(text:str) -> str:
    "`text` with every number of five or more decimals rounded by `readable_number`."
    return LONG_NUMBER.sub(lambda m: readable_number(float(m[0])), text)

def rounded_table(table:str) -> str:
    "An HTML table (pandas') with the number in every cell rounded by `readable_number`."
    return TABLE_NUMBER.sub(lambda m: f"<td>{readable_number(float(m[1]))}</td>", table)

def folded(summary:str, # the one line shown
           body:str, # HTML shown on a click
          ) -> dict:
    "A notebook output showing `summary`, which unfolds into `body`."
    return {'output_type': 'display_data', 'metadata': {},
            'data': {'text/html': f'<details class="run-log"><summary>{html.escape(summary)}</summary>\n{body}\n</details>'}}

def epoch_log_summary(lines:list[str]) -> str:
    "One line for an epoch log: how many epochs it shows and where validation accuracy peaked."
    epochs = [(int(m[1]), float(m[2])) for m in map(EPOCH_LINE.match, lines) if m]
    best_epoch, best = max(epochs, key=lambda e: e[1])
    return (f"The epoch log: epochs {epochs[0][0]} to {epochs[-1][0]}, best validation accuracy {100 * best:.2f}% "
            f"at epoch {best_epoch} (click to unfold)")

def fold_epoch_log(outputs:list[dict]) -> list[dict]:
    "A cell's outputs with its epoch lines folded into one output; other printed lines stay as they are."
    text = ''.join(''.join(o['text']) if isinstance(o['text'], list) else o['text'] for o in outputs if o['output_type'] == 'stream')
    lines = text.splitlines()
    epoch_lines = [line for line in lines if EPOCH_LINE.match(line)]
    if len(epoch_lines) < 2: return outputs
    others = [line for line in lines if not EPOCH_LINE.match(line)]
    kept = [{'output_type': 'stream', 'name': 'stdout', 'text': '\n'.join(others) + '\n'}] if others else []
    log = folded(epoch_log_summary(epoch_lines), f"<pre>{html.escape(chr(10).join(epoch_lines))}</pre>")
    return kept + [log] + [o for o in outputs if o['output_type'] != 'stream']

def readable_output(output:dict) -> dict:
    "One output with its numbers rounded, and folded if it is a long table."
    data = output.get('data')
    if output['output_type'] == 'stream': return {**output, 'text': rounded(''.join(output['text']))}
    if not data: return output
    data = {**data}
    if 'text/plain' in data: data['text/plain'] = rounded(''.join(data['text/plain']))
    if 'text/html' in data:
        table = rounded_table(''.join(data['text/html']))
        rows = table.count('<tr')
        if rows > LONG_TABLE + 1: return folded(f"A table of {rows - 1} rows (click to unfold)", table)
        data['text/html'] = table
    return {**output, 'data': data}

def with_curves(nb:dict, # a training notebook
                curves:Path, # the record's learning curves (curves.png)
               ) -> dict:
    "`nb` with the record's learning curves shown after its last code cell, if it shows no figure of its own."
    outputs = [o for c in nb['cells'] for o in c.get('outputs', [])]
    if any('image/png' in o.get('data', {}) for o in outputs) or not curves.is_file(): return nb
    last = [c for c in nb['cells'] if c['cell_type'] == 'code'][-1]
    last['outputs'] = last.get('outputs', []) + [{'output_type': 'display_data', 'metadata': {},
                                                  'data': {'image/png': base64.b64encode(curves.read_bytes()).decode()}}]
    return nb

DEFAULTS_LEFT_OUT = "*The notebook's default parameters are left out here: the next cell holds those this run used.*"

def without_defaults(nb:dict) -> dict:
    "`nb` with its `parameters` cell replaced by a note, where papermill injected the run's parameters after it."
    tags = lambda cell: cell.get('metadata', {}).get('tags', [])
    if not any('injected-parameters' in tags(c) for c in nb['cells']): return nb
    note = {'cell_type': 'markdown', 'metadata': {}, 'source': DEFAULTS_LEFT_OUT}
    return {**nb, 'cells': [note if 'parameters' in tags(c) else c for c in nb['cells']]}

def readable_run_notebook(notebook:Path, # an executed notebook in a run's record
                         ) -> dict:
    "The notebook as its run page shows it: defaults left out, epoch log and long tables folded, numbers rounded, the learning curves shown."
    nb = without_defaults(json.loads(notebook.read_text()))
    for cell in nb['cells']:
        if cell['cell_type'] == 'code':
            cell['outputs'] = [readable_output(o) for o in fold_epoch_log(cell.get('outputs', []))]
    return with_curves(nb, notebook.parent/'curves.png') if notebook.name == 'train.ipynb' else nb

def run_pages(root:str|Path='.', # the project root
              dest:str|Path|None=None, # where the pages go; default `site/runs/` under `root`
             ) -> list[Path]:
    "Write the readable copy of every run's executed notebooks, `results/<profile>/<run>/*.ipynb` -> `dest/<profile>/<run>/`."
    root = Path(root).resolve()
    dest = Path(dest) if dest else root/RUN_PAGES
    sources = sorted(p for name in RUN_NOTEBOOKS for p in (root/'results').glob(f'*/*/{name}'))
    pages = {source: dest/source.relative_to(root/'results') for source in sources}
    for stale in set(dest.glob('*/*/*.ipynb')) - set(pages.values()): stale.unlink()
    for source, page in pages.items():
        page.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(page) as tmp: tmp.write_text(json.dumps(readable_run_notebook(source), indent=1))
    return list(pages.values())
