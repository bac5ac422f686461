"""The website's fragments: every number, table and figure a page shows, written from the run records.

The pages (`index.qmd`, `site/*.qmd`) are written by hand but type no result: where one shows a
number or a figure from a run, it includes a Markdown fragment from `site/_generated/` (git-ignored)
that `write_fragments` writes from the committed records in `results/` at every build (the pre-render
step, `site/prerender.py`). Rerun an experiment, rebuild, and every table on the site follows.

Each function below writes one fragment, or a piece that several share; `nbs/21_website.ipynb` shows
each one on the real records and tests it. This is the website's code, not fermask's: it lives
beside the pages, and the installed package knows nothing of it.
"""
from __future__ import annotations
import json, os, re, shutil
from pathlib import Path

import pandas as pd
import torch

from fermask.errors import FermaskError, atomic_write, check_choice
from fermask.cache import load_fer2013
from fermask.paper import PAPER_TABLE2, PAPER_ACCURACY, PAPER_ENSEMBLE_ACCURACY, PAPER_PARAMETERS
from fermask.report import load_records, recipe_of, ablation_table, ablation_summary, ablation_tests, per_class_recall, per_class_observation, ended_by
from fermask.experiments import PROFILES, profile_config, protocol_differences, table2_runs
from fermask.models import create, count_parameters
from fermask.checkpoints import BUNDLED_WEIGHTS, read_weights
from fermask.evaluation import read_run_record
from fermask.faces import make_detector
from fermask.training import TrainConfig

# ---- Where the pages are ----
# 
# Profiles are ranked by how close they are to the paper's protocol: a result of the `paper` profile
# stands for the paper's number better than one of `cpu`, which beats the 48x48 `ablation`. A
# profile not listed here (a later one) ranks last.

SITE = Path('site')                  # the hand-written pages, the diagrams and the style sheet
GENERATED = SITE/'_generated'        # fragments and figures written from results/ at build time (git-ignored)
API = SITE/'api'                     # the API reference, processed from nbs/ at build time (git-ignored)
RUN_PAGES = SITE/'runs'              # the runs' executed notebooks, made readable at build time (git-ignored; runpages.py)
PROFILE_FIDELITY = ('paper', 'cpu', 'ablation', 'smoke')  # most faithful to the paper first

def fidelity(profile:str) -> int:
    "Rank of `profile` in `PROFILE_FIDELITY` (0 is the paper's protocol); unknown profiles rank last."
    return PROFILE_FIDELITY.index(profile) if profile in PROFILE_FIDELITY else len(PROFILE_FIDELITY)

# ---- Markdown both renderers read ----
# 
# Quarto and smalldocs read the same pipe tables, links, figures and callouts. A path is written
# relative to the page that includes the fragment, so it works from a file system, a local server
# and GitHub Pages alike. A figure that cannot be made in this build becomes a note that says why.

def pipe_table(rows:list[dict], # one dict per row; its keys name the columns, in order of first appearance
               align:str='', # 'l', 'r' or 'c' per column; left-aligned where not given
              ) -> str:
    "A Markdown pipe table of `rows`; a row without a column's key leaves that cell empty."
    if not rows: raise FermaskError("pipe_table needs at least one row")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cell = lambda v: str(v).replace('|', '\\|').replace('\n', ' ')
    rule = {'l': ':--', 'r': '--:', 'c': ':-:'}
    lines = ['| ' + ' | '.join(map(cell, columns)) + ' |',
             '|' + '|'.join(rule[a] for a in align[:len(columns)].ljust(len(columns), 'l')) + '|']
    lines += ['| ' + ' | '.join(cell(r.get(c, '')) for c in columns) + ' |' for r in rows]
    return '\n'.join(lines) + '\n'

def relative(target:str|Path, # a file
             page_dir:str|Path, # the folder of the page that refers to it
            ) -> str:
    "The path of `target` as a page in `page_dir` writes it."
    return Path(os.path.relpath(target, page_dir)).as_posix()

def markdown_link(text:str, # what the reader sees
         target:str|Path, # the file linked to
         page_dir:str|Path, # the folder of the page the link is written on
        ) -> str:
    "A Markdown link to `target`, relative to `page_dir`."
    return f"[{text}]({relative(target, page_dir)})"

def figure_markdown(image:Path|None, # the picture, or None when it could not be made
           caption:str, # what it shows, as a sentence
           missing:str, # what to say when it is missing
           page_dir:Path, # the folder of the page the figure is on
          ) -> str:
    "A figure with its caption, or a note saying why it is missing."
    if image is None: return f"::: {{.callout-note}}\n## Not in this build\n{caption}: {missing}\n:::\n"
    return f"![{caption}.]({relative(image, page_dir)})\n"

# ---- Runs and groups of runs ----
# 
# A *group* is what `ablation_table` summarises: the runs of one model with one profile and one recipe,
# differing only in the seed. `group_runs` finds a group's runs again, and the small writers below turn
# them into the words and links the tables share.

def group_runs(records:pd.DataFrame, # `load_records(...)`
               group:pd.Series, # a row of `ablation_table(records)`
              ) -> pd.DataFrame:
    "The runs summarised by `group`, by seed."
    same = (records.profile == group.profile) & (records.recipe == group.recipe) & (records.model == group.model) & (records.build == group.build)
    return records[same].sort_values('seed')

def accuracy_text(runs:pd.DataFrame, # runs of one group
                  column:str='test', # the accuracy column of `load_records`
                 ) -> str:
    "Mean accuracy (%) over the runs, with its standard deviation over seeds when there are several."
    values = runs[column]
    return f"{values.iloc[0]:.2f}" if len(values) == 1 else f"{values.mean():.2f}\u00a0±\u00a0{values.std():.2f}"  # unbroken

def minutes_text(runs:pd.DataFrame, # runs, e.g. the seeds of one group
                ) -> str:
    "The runs' training minutes: one number, or their range (a run on a slower day shows, instead of hiding in a mean); tenths under 10."
    low, high = (f"{m:.1f}" if m < 10 else f"{m:.0f}" for m in (runs.train_minutes.min(), runs.train_minutes.max()))
    return f"{low} min" if low == high else f"{low}-{high} min"

def count_text(n:int, noun:str) -> str:
    "`n` and `noun`, plural unless `n` is 1: '1 run', '3 runs'."
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

def ensemble_architectures(ensemble:dict, # an `ensemble.json`
                           records:pd.DataFrame, # `load_records(...)`
                          ) -> set[str]:
    "The architectures of an ensemble's members, by the paper's names ('?' for a member whose record is not among `records`)."
    by_run = {f'{r.profile}/{r.run}': r.architecture for r in records.itertuples()} if len(records) else {}
    return {by_run.get(run, '?') for run in ensemble['chosen']}

def ensemble_variety(ensemble:dict, # an `ensemble.json`
                     records:pd.DataFrame, # `load_records(...)`
                    ) -> str:
    "'seeds' where an ensemble's members differ only in their seed (one build, one recipe), else 'seeds and recipes'."
    chosen = records[(records.profile + '/' + records.run).isin(ensemble['chosen'])] if len(records) else records
    return 'seeds' if len(chosen) == len(ensemble['chosen']) and chosen.build.nunique() == chosen.recipe.nunique() == 1 else 'seeds and recipes'

def ensemble_records(results:Path, # the folder of the run records
                    ) -> list[tuple[Path, dict]]:
    "Every ensemble recorded under `results` (an `ensemble.json`, written by `fermask.ensemble`), with its path."
    return [(path, json.loads(path.read_text())) for path in sorted(Path(results).glob('**/ensemble.json'))]

def record_links(runs:pd.DataFrame, # the runs to link
                 page_dir:Path, # the folder of the page the links are written on
                ) -> str:
    "A link to each run's record (`run.json`), named by its seed."
    return ' · '.join(markdown_link(str(r.seed), Path(r.path)/'run.json', page_dir) for r in runs.itertuples())

def run_page(run, # a row of `load_records`
             notebook:str, # 'train.ipynb' or 'evaluate.ipynb'
            ) -> Path:
    "Where the site shows one of a run's executed notebooks (`runpages.py` writes it there)."
    root = Path(run.path).parents[2]  # a record is results/<profile>/<run> in the project
    return root/RUN_PAGES/run.profile/run.run/notebook

# ---- Home: the paper's claims, one by one ----
# 
# Home opens with a verdict on each claim of the paper, in the manner of a reproducibility report: the
# claim, the paper's number, our evidence (number, protocol, hardware, seeds, interval, the record) and
# one word, *reproduced*, *partly*, *not reproduced* or *not tested*, with the reason. Only like-for-like
# evidence counts for a verdict: the paper's protocol for its single-network numbers; for the masks'
# gain, both networks under one recipe, the most faithful recipe run on at least three seeds (one
# seed cannot tell a gain of 1.7 points from chance), and a gain found only at a smaller scale than
# the paper's is *partly*. Where we
# pick a run, it is the best on PublicTest, never on the test split. How a recorded run ended (all its
# epochs, early stopping, or a time cap) is read from its record.

VERDICTS = ('reproduced', 'partly', 'not reproduced', 'not tested')

def claim_row(claim:str, paper:str, evidence:str, verdict:str, why:str) -> dict:
    "One row of the claims table; `verdict` is one of `VERDICTS`, and `why` says why."
    check_choice('verdict', verdict, VERDICTS)
    if not why.strip(): raise ValueError(f"the verdict on {claim!r} needs its reason")
    return {'the paper claims': claim, 'the paper': paper, 'our evidence': evidence, 'verdict': f"**{verdict}**: {why}"}


def single_network_claim(records:pd.DataFrame, page_dir:Path) -> dict:
    "ResMaskingNet's 74.14%: judged on the paper's protocol only; the best such run on PublicTest."
    paper = PAPER_ACCURACY['ResMaskingNet']
    runs = records[(records.architecture == 'ResMaskingNet') & (records.profile == 'paper')] if len(records) else records
    claim = f"ResMaskingNet reaches {paper:.2f}% on PrivateTest"
    if not len(runs): return claim_row(claim, f"{paper:.2f}%", 'no run of the paper\'s protocol yet', 'not tested', 'it needs a GPU')
    run = runs.loc[runs.val.idxmax()]
    record = read_run_record(run.path)
    evidence = (f"{run.test:.2f}% (95% interval {run.test_ci_low:.2f}-{run.test_ci_high:.2f}), {count_text(len(runs), 'run')}, "
                f"the paper's protocol on {run.device}, ended by {ended_by(record)} at {run.epochs} of {record['config']['epochs']} epochs, "
                f"from random weights ({markdown_link('record', Path(run.path)/'run.json', page_dir)})")
    if run.test_ci_high >= paper: return claim_row(claim, f"{paper:.2f}%", evidence, 'reproduced', 'the paper\'s number is inside our interval')
    return claim_row(claim, f"{paper:.2f}%", evidence, 'not reproduced',
                     f"{paper - run.test:.1f} points below, outside our interval; the paper started from ImageNet weights"
                     + ('' if ended_by(record) != 'its time cap' else ', and our run did not finish'))

MIN_SEEDS = 3  # the fewest seeds a comparison needs to decide a verdict: one seed cannot tell a gain of 1.7 points from chance

def masks_claim(records:pd.DataFrame) -> dict:
    "The masks' gain over the same ResNet-34: the most faithful recipe run with both networks on `MIN_SEEDS` seeds decides; every recipe is shown."
    paper = PAPER_ACCURACY['ResMaskingNet'] - PAPER_ACCURACY['ResNet-34']
    claim, paper_text = "the masks add accuracy to the same ResNet-34", f"{paper:+.2f} points"
    overall = ablation_summary(records) if len(records) else pd.DataFrame()
    if not len(overall): return claim_row(claim, paper_text, 'no recipe with both networks yet', 'not tested', 'the comparison needs both networks under one recipe')
    overall = overall.assign(rank=overall.profile.map(fidelity)).sort_values('rank')
    evidence = '; '.join(f"{o.difference:+.2f} (95% interval {o.ci_low:+.2f} to {o.ci_high:+.2f}) under `{o.profile}`, {count_text(o.seeds, 'seed')}"
                         for o in overall.itertuples())
    enough = overall[overall.seeds >= MIN_SEEDS]
    first = (enough if len(enough) else overall).iloc[0]
    where = f"under `{first.profile}`, {count_text(first.seeds, 'seed')}"
    if first.ci_low > 0 and first.ci_low <= paper <= first.ci_high:
        if first.profile == 'paper': return claim_row(claim, paper_text, evidence, 'reproduced', f"a gain of the paper's size {where}")
        faithful = overall[overall.profile == 'paper']
        return claim_row(claim, paper_text, evidence, 'partly', f"reproduced at a smaller scale than the paper's, {where}: the interval holds "
                         f"the paper's {paper:+.2f} and not 0; " + (f"the paper's protocol has {count_text(faithful.seeds.iloc[0], 'seed')} only"
                                                                   if len(faithful) else "the paper's protocol not run with both networks"))
    if first.ci_low > 0: return claim_row(claim, paper_text, evidence, 'partly', f"a gain {where}, of another size than {paper:+.2f}")
    why = (f"the interval holds both 0 and the paper's {paper:+.2f}" if first.ci_low <= paper <= first.ci_high else
           'the interval holds 0 and lies below the paper\'s gain' if first.ci_high >= 0 else 'the masks cost accuracy')
    deciding = 'the most faithful recipe run on enough seeds' if len(enough) else f'too few seeds to tell (fewer than {MIN_SEEDS} under every recipe)'
    return claim_row(claim, paper_text, evidence, 'not reproduced', f"{why}, {where}: {deciding}")


def table2_change(overrides:dict, # one network's entry of `table2_runs()`
                 ) -> str:
    "What `fermask table2` sets for one network beyond the `baselines` profile: '`width=0.5`', '75×75'; '' for nothing."
    size = f"{overrides['size']}×{overrides['size']}" if 'size' in overrides else ''
    return ', '.join(filter(None, [arguments_text(overrides.get('model_args', {})), size]))

def table2_claim(records:pd.DataFrame) -> dict:
    "Table II's ranking: tested only when all its networks ran under `fermask table2`'s one recipe; ranked on PublicTest."
    claim, paper = "ResMaskingNet is the most accurate of Table II's eleven networks", 'ranks 1 of 11'
    groups = one_recipe_groups(records)
    if not groups: return claim_row(claim, paper, 'none run under one recipe', 'not tested', 'the ranking needs all eleven under one protocol')
    config, seeds = profile_config('baselines'), sorted({int(g.seeds) for g in groups.values()})
    changes = {arch: table2_change(overrides) for arch, overrides in table2_runs().items()}
    evidence = (f"{len(groups)} of {len(PAPER_ACCURACY)} networks under one recipe (`fermask table2`: {config.size}×{config.size}, {config.epochs} epochs, "
                f"{'/'.join(map(str, seeds))} seed{'s' if seeds != [1] else ''} each), on PrivateTest: "
                + ', '.join(f"{arch} {g.test_mean:.2f}%" + (f" ({changes[arch]})" if changes[arch] else '')
                            for arch, g in sorted(groups.items(), key=lambda kv: -kv[1].test_mean)))
    if len(groups) < len(PAPER_ACCURACY): return claim_row(claim, paper, evidence, 'not tested', 'the ranking needs all eleven under one protocol')
    ranking = sorted(groups, key=lambda arch: -groups[arch].val_mean)
    rank = ranking.index('ResMaskingNet') + 1
    reason = f"ResMaskingNet ranks {rank} of {len(ranking)} on PublicTest under one short recipe" + ('' if rank == 1 else f", {ranking[0]} first")
    return claim_row(claim, paper, evidence, 'reproduced' if rank == 1 else 'not reproduced', reason)

def ensemble_claim(records:pd.DataFrame, ensembles:list, page_dir:Path) -> dict:
    "Table III: an average of ResMaskingNet and six other CNNs; an ensemble of fewer architectures does not test it."
    claim, paper = 'ResMaskingNet and six other CNNs, averaged, reach 76.82%', f"{PAPER_ENSEMBLE_ACCURACY:.2f}%"
    if not ensembles: return claim_row(claim, paper, 'no ensemble yet', 'not tested', 'the claim needs an average of seven different networks')
    path, best = max(ensembles, key=lambda e: (len(ensemble_architectures(e[1], records)), e[1]['ensemble']['val_accuracy']))
    kinds = ensemble_architectures(best, records)
    low, high = (100 * x for x in best['ensemble']['test_accuracy_ci95'])
    evidence = (f"{100 * best['ensemble']['test_accuracy']:.2f}% (95% interval {low:.2f}-{high:.2f}): {count_text(best['ensemble']['members'], 'run')} of "
                f"{count_text(len(kinds), 'architecture')} ({', '.join(sorted(kinds))}), chosen on PublicTest, 1 selection"
                + (f"; {100 * (best['ensemble']['test_accuracy'] - member['test_accuracy']):+.2f} points over its best member on test "
                   f"(McNemar p = {member['mcnemar']['p_value']:.2g})" if (member := best.get('best_chosen_member_on_test')) else '')
                + f" ({markdown_link('ensemble.json', path, page_dir)})")
    if len(kinds) < 7: return claim_row(claim, paper, evidence, 'not tested', 'our members are not seven different networks')
    accuracy = 100 * best['ensemble']['test_accuracy']
    if high >= PAPER_ENSEMBLE_ACCURACY: return claim_row(claim, paper, evidence, 'reproduced', 'our interval reaches the paper\'s number')
    return claim_row(claim, paper, evidence, 'not reproduced', f"{PAPER_ENSEMBLE_ACCURACY - accuracy:.1f} points below, outside our interval; "
                     "our members are short runs on 2 CPU cores (Table II's recipe and the `cpu` profile), each far below the paper's networks")


def speed_claim(root:Path) -> dict:
    "100 frames/s: our bundled network, frame by frame on the CPU, as `benchmarks/inference.py` measured it."
    claim = 'the network runs at 100 frames/s'
    bench = root/'benchmarks'/'inference.txt'
    text = bench.read_text() if bench.is_file() else ''
    rows = [line.split() for line in text.splitlines() if line.startswith(('onnxruntime', 'auto'))]
    if not rows: return claim_row(claim, '100 frames/s (a GPU)', 'not measured', 'not tested', 'no record of `benchmarks/inference.py` yet')
    fps = {row[0]: float(row[3]) for row in rows}  # the frame-by-frame column
    timed = re.search(r'(?m)^detection alone, blazeface \(default\): (.*), 640x480 frame', text)
    current = bool(timed) and timed[1] == str(make_detector())   # timed with the detector `predict` uses now
    detector = "`predict`'s default detector" if current else "an earlier setting of the default detector"
    evidence = (f"{fps.get('onnxruntime', 0):.0f} frames/s with ONNX Runtime, {fps.get('auto', 0):.0f} with torch: the bundled 3.2M-parameter network with "
                f"{detector} (BlazeFace), one 640x480 frame at a time, on 2 CPU cores (`benchmarks/inference.txt`)")
    if not current: return claim_row(claim, '100 frames/s (a GPU)', evidence, 'not tested',
                                     "the file predates `predict`'s default detector as it is now: rerun `python benchmarks/inference.py` on an idle machine")
    return claim_row(claim, '100 frames/s (a GPU)', evidence,
                     'reproduced' if max(fps.values()) >= 100 else 'not reproduced', 'for our much smaller network, not the paper\'s')

def claims_table(records:pd.DataFrame, # `load_records(...)`
                 root:Path, # the project root (for the benchmarks)
                 page_dir:Path, # the folder of the page the table is written on
                 ensembles:list=(), # `ensemble_records(...)`
                ) -> str:
    "Each claim of the paper with our evidence and a verdict."
    with torch.device('meta'): n = count_parameters(create('resmaskingnet'))
    table1 = claim_row("Table I: the network has 142.9M parameters", '142.9M', f"{n['paper'] / 1e6:.1f}M counted as the paper counts "
                       f"({n['unique'] / 1e6:.1f}M distinct), from our rebuild (`fermask.models`)",
                       'reproduced' if abs(n['paper'] - PAPER_PARAMETERS['ResMaskingNet']) < 0.1e6 else 'not reproduced', 'the same architecture')
    gradcam = claim_row('Grad-CAM falls on the eyes and the mouth', 'Fig. 6, by eye', 'the same maps for our runs, in local builds (they show FER2013 faces)',
                        'not tested', 'no measure of where the maps fall yet')
    rows = [table1, single_network_claim(records, page_dir), masks_claim(records), table2_claim(records),
            ensemble_claim(records, list(ensembles), page_dir), speed_claim(root), gradcam]
    counts = {v: sum(row['verdict'].startswith(f'**{v}**') for row in rows) for v in VERDICTS}
    verdict = f"How close we got: of the paper's {len(rows)} claims, " + ', '.join(f"{n} {v}" for v, n in counts.items() if n) + '.'
    return verdict + '\n\n' + pipe_table(rows, 'llll')

# ---- The README's copy of the verdicts ----
# 
# The README opens its results with Home's table, so that a reader of either meets the same verdict
# on each claim. `python site/readme.py` copies it in between two markers; the website notebook's
# test fails when the copy differs from what the records give, so it cannot drift from them.

README_MARKERS = ('<!-- the verdicts: written from results/ by `python site/readme.py`, not by hand -->', '<!-- end of the verdicts -->')

def with_claims(readme:str, # the README's text, holding each of `README_MARKERS` once
                table:str, # `claims_table(...)`, written for the project root
               ) -> str:
    "`readme` with what lies between its two `README_MARKERS` replaced by `table`."
    start, end = README_MARKERS
    if readme.count(start) != 1 or readme.count(end) != 1 or readme.index(start) > readme.index(end):
        raise FermaskError(f"README.md needs the line {start!r} and, after it, the line {end!r}, once each")
    head, rest = readme.split(start)
    return f"{head}{start}\n{table.strip()}\n{end}{rest.split(end)[1]}"

# ---- Results: Table II and III, the ablation, one run in detail ----
# 
# `comparison_table` is the paper's Table II with our groups beside it: one row per group, the
# paper's number on every row of its network, and a "not run yet" row where the `paper` profile has
# not been run for a network of the paper.

def rebuild_parameters(network:str, # a network of the paper's Table II
                      ) -> str:
    "Our rebuild of `network` at its default input size, counted on the meta device (nothing allocated)."
    with torch.device('meta'): n = count_parameters(create(PAPER_TABLE2[network]['model']))
    return f"{n['unique'] / 1e6:.1f}M parameters" + (f" ({n['paper'] / 1e6:.1f}M as the paper counts)" if n['paper'] != n['unique'] else '')

def arguments_text(model_args:dict, # arguments given to a registered model beyond its own
                  ) -> str:
    "`model_args` as code: '`width=0.5`, ...'; '' for none."
    return ', '.join(f"`{name}={json.dumps(value)}`" for name, value in model_args.items())

def build_text(run:pd.Series, # a row of `load_records`: one run of a group
              ) -> str:
    "How the network was built: input side, the arguments given beyond the registered model's own (`width=0.5`), parameters."
    arguments = arguments_text(json.loads(run.model_args))
    return f"{run['size']}×{run['size']}, {arguments + ', ' if arguments else ''}{run.parameters / 1e6:.1f}M parameters"

def epochs_text(runs:pd.DataFrame, # runs of one group
               ) -> str:
    "How many epochs the runs trained, and what ended those that stopped before their last: '24 epochs, ended by its time cap'."
    early = sorted(set(runs.ended) - {'all epochs'})
    return f"{int(runs.epochs.max())} epochs" + (f", ended by {' or '.join(early)}" if early else '')

def comparison_table(records:pd.DataFrame, # `load_records(...)`
                     page_dir:Path, # the folder of the page the table is written on
                    ) -> str:
    "Table II: one row per network, the paper's accuracy beside our group of runs under the most faithful profile (its best recipe on PublicTest)."
    summary = ablation_table(records) if len(records) else pd.DataFrame(columns=['architecture', 'profile'])
    paper_size = profile_config('paper').size
    rows = []
    for arch in PAPER_ACCURACY:  # the paper's networks only: others (the multiscale network) are on Experiments
        paper = f"{PAPER_ACCURACY[arch]:.2f}"
        mine = summary[summary.architecture == arch]
        if not len(mine):
            rows.append({'network': arch, 'paper (%)': paper, 'ours (%)': 'not run yet', 'with TTA (%)': '',
                         'our protocol': f"`paper`, {paper_size}×{paper_size}, {rebuild_parameters(arch)}: needs a GPU"})
            continue
        group = min(mine.itertuples(), key=lambda g: (fidelity(g.profile), -g.val_mean))
        runs = group_runs(records, group)
        r = runs.iloc[0]
        others = len(mine) - 1
        rows.append({'network': arch, 'paper (%)': paper, 'ours (%)': f"{accuracy_text(runs)} ({count_text(len(runs), 'seed')})",
                     'with TTA (%)': accuracy_text(runs, 'test_random'), 'our protocol': f"`{group.profile}`, {epochs_text(runs)}, {build_text(r)}"
                     + (f"; {count_text(others, 'other group')} of runs (recipe or build) on [Experiments](experiments.qmd)" if others else ''),
                     'records by seed': record_links(runs, page_dir)})
    return pipe_table(rows, 'lrrrll')

def one_recipe_groups(records:pd.DataFrame, # `load_records(...)`
                     ) -> dict:
    "Network of the paper -> its group of runs (a row of `ablation_table`) made as `fermask table2` makes them: its recipe, input and widths."
    summary = ablation_table(records) if len(records) else pd.DataFrame(columns=['architecture', 'profile', 'model', 'model_args', 'recipe'])
    groups = {}
    for network, overrides in table2_runs().items():
        made = summary[(summary.profile == 'baselines') & (summary.model == overrides['model']) & (summary.recipe == recipe_of(profile_config('baselines', overrides)))
                       & (summary.model_args == json.dumps(overrides.get('model_args', {}), sort_keys=True))]
        if len(made): groups[network] = made.iloc[0]
    return groups

def one_recipe_table(records:pd.DataFrame, # `load_records(...)`
                     page_dir:Path, # the folder of the page the table is written on
                    ) -> str:
    "Table II as `fermask table2` trains it: each network of the paper under the `baselines` recipe, ranked as in the paper and as ours rank on PrivateTest."
    groups = one_recipe_groups(records)
    rank = lambda value, values: 1 + sum(v > value for v in values)  # ties share a rank
    paper_rank = {arch: rank(acc, PAPER_ACCURACY.values()) for arch, acc in PAPER_ACCURACY.items()}
    our_rank = {arch: rank(g.test_mean, [h.test_mean for h in groups.values()]) for arch, g in groups.items()}
    rows = []
    for arch in PAPER_ACCURACY:
        row = {'network': arch, 'paper (%)': f"{PAPER_ACCURACY[arch]:.2f}", "paper's rank": paper_rank[arch]}
        if arch not in groups:
            rows.append({**row, 'ours (%)': 'not run yet', 'our rank': '', 'built as': '', 'training': '', 'records by seed': ''})
            continue
        runs = group_runs(records, groups[arch])
        r = runs.iloc[0]
        rows.append({**row, 'ours (%)': f"{accuracy_text(runs)} ({count_text(len(runs), 'seed')})", 'our rank': f"{our_rank[arch]} of {len(groups)}",
                     'built as': build_text(r),
                     'training': f"{minutes_text(runs)}, {int(runs.epochs.max())} epochs", 'records by seed': record_links(runs, page_dir)})
    return pipe_table(rows, 'lrrrrlll')

def one_recipe_cost(records:pd.DataFrame, # `load_records(...)`
                   ) -> str:
    "What the rows of `one_recipe_table` cost together: hours of training summed from their records."
    groups = one_recipe_groups(records)
    if not groups: return "No network has been run under the `baselines` recipe yet.\n"
    runs = pd.concat([group_runs(records, g) for g in groups.values()])
    return (f"Together the {count_text(len(groups), 'network')} above ({count_text(len(runs), 'run')}) took "
            f"{runs.train_minutes.sum() / 60:.1f} hours of training, summed from their records.\n")

def ensemble_table(results:Path, # the folder of the run records; an ensemble's record is an `ensemble.json` in it
                   page_dir:Path, # the folder of the page the table is written on
                  ) -> str:
    "Table III: the paper's ensemble, then each of ours recorded under `results` (averaged softmax, members chosen on validation; most architectures first), beside its best member on test."
    rows = [{'ensemble': 'the paper: ResMaskingNet and six other CNNs, averaged', 'paper (%)': f"{PAPER_ENSEMBLE_ACCURACY:.2f}",
             'ours (%)': '', 'its best member on test (%)': '', 'McNemar': '', 'command and record': ''}]
    records = load_records(results)
    mixed_first = lambda e: (-len(ensemble_architectures(e[1], records)), e[0])   # Table III proper, then one architecture's
    for path, record in sorted(ensemble_records(results), key=mixed_first):
        kinds = sorted(ensemble_architectures(record, records))
        what = f"{len(kinds)} architectures ({', '.join(kinds)})" if len(kinds) > 1 else f"{ensemble_variety(record, records)} of one architecture, {kinds[0]}"
        best, e = record['best_chosen_member_on_test'], record['ensemble']
        rows.append({'ensemble': f"ours: {count_text(e['members'], 'run')}, {what}; chosen on PublicTest ({record['selection']}): "
                                 + ', '.join(f"`{run}`" for run in record['chosen']),
                     'ours (%)': f"{100 * e['test_accuracy']:.2f} ({100 * e['test_accuracy_ci95'][0]:.1f}-{100 * e['test_accuracy_ci95'][1]:.1f})",
                     'its best member on test (%)': f"`{best['run']}` {100 * best['test_accuracy']:.2f}",
                     'McNemar': f"{best['mcnemar']['b']} faces only the ensemble gets right, {best['mcnemar']['c']} only the member; p = {best['mcnemar']['p_value']:.2g}",
                     'command and record': f"`{record['command']}`, {markdown_link('ensemble.json', path, page_dir)}"})
    if len(rows) == 1: rows[0]['ours (%)'] = 'not run yet'
    return pipe_table(rows, 'lrrlll')

# The ablation is the paper's core claim measured on identical recipes: per profile, each
# architecture's mean over seeds, then each seed's pair of runs with McNemar's exact test on the
# same test faces (`only masked right` counts the faces only ResMaskingNet got right).

def ablation_fragment(records:pd.DataFrame, # `load_records(...)`
                      page_dir:Path, # the folder of the page the fragment is written on
                     ) -> str:
    "The ablation: both networks per profile and recipe beside the paper's, the seed-by-seed McNemar tests, and the gain over seeds with its interval."
    tests = ablation_tests(records) if len(records) else pd.DataFrame()
    if not len(tests): return "No profile has both networks trained with one recipe yet.\n"
    summary, overall = ablation_table(records), ablation_summary(records)
    parts = []
    for o in sorted(overall.itertuples(), key=lambda o: fidelity(o.profile)):
        pairs = tests[(tests.profile == o.profile) & (tests.recipe == o.recipe) & (tests.trunk == o.trunk)]
        arms = summary[(summary.profile == o.profile) & (summary.recipe == o.recipe) & (summary.trunk == o.trunk) & summary.architecture.isin(['ResMaskingNet', 'ResNet-34'])]
        groups = [(g, group_runs(records, g)) for g in arms.itertuples()]
        rows = [{'network': g.architecture, 'model': f"`{g.model}`", 'paper (%)': f"{g.paper:.2f}", 'ours (%)': accuracy_text(runs),
                 'seeds': len(runs), 'parameters': f"{g.parameters / 1e6:.1f}M", 'training': f"{int(runs.epochs.max())} epochs, {minutes_text(runs)}",
                 'records by seed': record_links(runs, page_dir)} for g, runs in groups]
        r = groups[0][1].iloc[0]
        paper_gain = PAPER_ACCURACY['ResMaskingNet'] - PAPER_ACCURACY['ResNet-34']
        verdict = ('the masks help, as in the paper' if o.ci_low > 0 else 'unlike the paper, the masks cost accuracy' if o.ci_high < 0
                   else 'no difference shown either way: the interval holds 0')
        parts += [f"### The `{o.profile}` profile\n", f"{r['size']}×{r['size']} input, trained on {r.device}.\n", pipe_table(rows, 'llrrrrrl'),
                  f"\nThe masks' gain over {count_text(o.seeds, 'paired seed')}: {o.difference:+.2f} points (95% interval "
                  f"{o.ci_low:+.2f} to {o.ci_high:+.2f}, seeds and test faces resampled), against the paper's {paper_gain:+.2f}: {verdict}.\n",
                  pipe_table([{'seed': t['seed'], 'ResMaskingNet (%)': f"{t['ResMaskingNet']:.2f}", 'ResNet-34 (%)': f"{t['ResNet-34']:.2f}",
                               'difference': f"{t['difference']:+.2f}", 'only masked right': t['only_masked_right'],
                               'only plain right': t['only_plain_right'], 'McNemar p': f"{t['mcnemar_p']:.2g}"}
                              for t in pairs.to_dict('records')], 'rrrrrrr')]
    return '\n'.join(parts)

# One run stands for our reproduction in the figures: the ResMaskingNet run of the most faithful
# profile we have, and within it the best on PublicTest (never chosen on the test split).

def featured_run(records:pd.DataFrame, # `load_records(...)`
                ) -> pd.Series|None:
    "The ResMaskingNet run the site shows in detail: most faithful profile, then best validation (PublicTest) accuracy; None without one."
    masked = records[records.architecture == 'ResMaskingNet'] if len(records) else records
    if not len(masked): return None
    return masked.assign(rank=masked.profile.map(fidelity)).sort_values(['rank', 'val'], ascending=[True, False]).iloc[0]

# Its confusion matrix is the paper's Fig. 7, and section V-B of the paper reads it class by class:
# `per_class_fragment` puts our recall per class beside that reading.

def per_class_fragment(run:pd.Series, # a row of `load_records`
                       page_dir:Path, # the folder of the page the fragment is written on
                      ) -> str:
    "The run's confusion matrix (Fig. 7) with its recall per class and the paper's reading of it."
    test = read_run_record(run.path)['metrics']['test']['tta_none']
    recall = per_class_recall(test['confusion_matrix'])
    support = [int(sum(row)) for row in test['confusion_matrix']]
    table = pipe_table([{'class': c, 'test faces': n, 'recall': f"{recall[c]:.1f}%"} for c, n in zip(recall.index, support)], 'lrr')
    caption = f"Confusion matrix of `{run.run}` on PrivateTest, without test-time augmentation (the paper's Fig. 7)"
    return '\n'.join([figure_markdown(Path(run.path)/'confusion.png', caption, '', page_dir), table, per_class_observation(recall), ''])

# ---- The bundled model's card ----
# 
# The model shipped in the package (`fermask.load_model()`) gets a page of its own, in the manner of a
# model card: what it is, what it was trained on and how, how well it does per class with an interval,
# where it is weak, its licence and what it is for. Everything but the last two comes from the weights
# file's provenance and the record of the run that made it.

def probabilities_text(meta:dict, # the metadata of a weights file, `read_weights(...)[1]`
                      ) -> str:
    "What the probabilities of a weights file are: a softmax at the temperature stored with it, and where it was fitted."
    calibration = meta.get('calibration')
    if not calibration: return "a plain softmax: not calibrated"
    nll = calibration['nll']
    return (f"a softmax at temperature {calibration['temperature']:.3f}, fitted on {calibration['fitted_on']} (negative log-likelihood there "
            f"{nll['uncalibrated']:.4f} at temperature 1, {nll['calibrated']:.4f} at it); calibration error on PrivateTest before and after: "
            "`benchmarks/calibration.txt`")

def model_card(records:pd.DataFrame, # `load_records(...)`
               page_dir:Path, # the folder of the page the card is written on
               weights:Path=BUNDLED_WEIGHTS, # the bundled weights file
              ) -> str:
    "The bundled model's card: model, data, recipe, accuracy with its interval, recall per class, weaknesses, licence, intended use."
    meta = read_weights(weights)[1]
    source = meta.get('provenance', {})
    runs = records[records.run == source.get('run_id')] if len(records) else records
    if not len(runs): return f"The record of the bundled model's run (`{source.get('run_id')}`) is not in `results/`.\n"
    run = runs.iloc[0]
    record = read_run_record(run.path)
    test = record['metrics']['test']['tta_none']
    recall = per_class_recall(test['confusion_matrix'])
    with torch.device('meta'): n = count_parameters(create(**meta['model']))['unique']
    weakest = recall.sort_values().index[:2]
    facts = [('model', f"`{meta['model']['name']}`: ResMaskingNet at a quarter of the paper's width, masks of depth "
                       f"{', '.join(map(str, meta['model']['mask_depths']))}, {n / 1e6:.1f}M parameters, stored as {meta.get('weights_dtype', 'float32')} "
                       f"({weights.stat().st_size / 1e6:.1f} MB); input: a 48x48 gray face crop, seen at {record['config']['size']}x{record['config']['size']}"),
             ('data', "FER2013: trained on its 28,709 Training faces, chosen on PublicTest (its best validation accuracy among the runs of its "
                      "recipe), tested on PrivateTest, which played no part in any choice"),
             ('recipe', f"`{record['command']}` (the `{record['profile']}` profile: {', '.join(protocol_differences(TrainConfig(**record['config']), record['model'])[1:5])}, ...), "
                        f"{record['training']['epochs_run']} epochs, {record['training']['train_minutes']:.0f} minutes on {run.device}; "
                        f"{markdown_link('the record', Path(run.path)/'run.json', page_dir)}"),
             ('accuracy', f"{100 * test['accuracy']:.2f}% on PrivateTest without test-time augmentation (95% interval "
                          f"{100 * test['accuracy_ci95'][0]:.2f}-{100 * test['accuracy_ci95'][1]:.2f}), 1 run; the paper's much larger network: "
                          f"{PAPER_ACCURACY['ResMaskingNet']:.2f}%"),
             ('known weaknesses', f"{weakest[0]} ({recall[weakest[0]]:.1f}% recall) and {weakest[1]} ({recall[weakest[1]]:.1f}%) are its weakest classes "
                                  "on PrivateTest; FER2013's faces are small, mostly frontal web images with noisy labels, so posed photographs, "
                                  "other crops, strong head turns and covered faces fare worse"),
             ('probabilities', probabilities_text(meta)),
             ('licence', "the code and the weights: Apache 2.0, as fermask; FER2013, its training data, has terms of its own (research use)"),
             ('intended use', "research and teaching: studying the paper's method, a baseline, a demonstration. Not for decisions about people: "
                              "expressions are not emotions, and a 7-way label of a face says nothing reliable about what a person feels")]
    table = pipe_table([{'': what, 'the bundled model': text} for what, text in facts], 'll')
    per_class = pipe_table([{'class': c, 'test faces': int(sum(row)), 'recall': f"{recall[c]:.1f}%"}
                            for c, row in zip(recall.index, test['confusion_matrix'])], 'lrr')
    return f"{table}\n### Recall per class, PrivateTest\n\n{per_class}"

# ---- Figures that show faces ----
# 
# FER2013 may not be redistributed, so no figure showing its faces is committed. `fermask reproduce`
# writes Grad-CAM (Fig. 6), the masking maps (Fig. 1) and the worst mistakes (Fig. 8) into the run's
# folder in `runs/`; the pre-render copies them into the build when they are there, and the example
# faces (Fig. 3) are drawn from FER2013 when it is found. Otherwise the page says what is missing and
# how to make it: a build on GitHub Pages has neither the data nor the runs.

FACE_FIGURES = {  # file the explain notebook writes in the run's folder -> what it shows
    'gradcam-correct.png': "Grad-CAM for the predicted class on correctly classified test faces (the paper's Fig. 6, top)",
    'gradcam-wrong.png': "Grad-CAM on misclassified test faces, truth -> prediction (the paper's Fig. 6, bottom)",
    'masking-stage3.png': "The third stage's features F_R, its mask M and F_N = F_R + F_R M, channel means (the paper's Fig. 1)",
    'mistakes.png': "The most confident mistakes on PrivateTest, with the predicted probability (the paper's Fig. 8)",
}

def face_figures(root:Path, # the project root
                 run:pd.Series|None, # the featured run
                 dest:Path, # where the copies go (git-ignored)
                ) -> dict:
    "Copy the featured run's face figures from `runs/` into `dest`: file name -> copy, or None when absent."
    found = {}
    for name in FACE_FIGURES:
        source = root/'runs'/run.profile/run.run/name if run is not None else None
        found[name] = Path(shutil.copyfile(source, dest/name)) if source is not None and source.is_file() else None
    return found

def examples_figure(dest:Path, # the picture to write (git-ignored)
                   ) -> Path|None:
    "Fig. 3, example faces per class drawn from FER2013, or None when FER2013 is not found."
    from fermask.data_figures import examples_grid_figure, save_figure
    try: faces = load_fer2013()
    except FermaskError: return None
    save_figure(examples_grid_figure(faces), dest)
    return dest

# The published site has no FER2013 face, but it has the figures a record keeps because they show
# none (`fermask.experiments.PUBLIC_FIGURES`: averages over many faces, and a public-domain
# photograph), from the featured run if it has them, else from the most faithful run that does.

def public_figure(records:pd.DataFrame, # `load_records(...)`
                  run:pd.Series|None, # the featured run
                  name:str, # one of `PUBLIC_FIGURES`
                  caption:str, # what it shows
                  page_dir:Path, # the folder of the page it is shown on
                 ) -> str:
    "A record's figure that shows no individual FER2013 face, captioned with the run it comes from."
    candidates = [] if not len(records) else [run] * (run is not None) + [r for _, r in records.assign(rank=records.profile.map(fidelity)).sort_values(['rank', 'val'], ascending=[True, False]).iterrows()]
    found = next((r for r in candidates if (Path(r.path)/name).is_file()), None)
    if found is None: return figure_markdown(None, caption, 'no record has it yet: `fermask reproduce` writes it.', page_dir)
    return figure_markdown(Path(found.path)/name, f"{caption}; `{found.profile}/{found.run}`", '', page_dir)

# Grad-CAM is taken at the network's last stage, whose feature map is small: the heat map of a
# face is an upsampled grid of that many cells, and the page says how many.

def gradcam_grid(run:pd.Series) -> int:
    "The side of the last stage's feature map for the run's input size and stem: the resolution of its Grad-CAM."
    from fermask.models import stage_sides
    model = read_run_record(run.path)['model']
    return stage_sides(model['in_size'], model.get('stem', 'paper'))[-1]

# ---- Method, Data, Experiments, Reproduce, Differences ----
# 
# Table I is computed from the model itself; the parameter counts too, both the unique count and the
# paper's.

def table1_fragment() -> str:
    "Table I of the paper computed from `create('resmaskingnet')`, with both parameter counts."
    from fermask.models import create, table1, count_parameters
    model = create('resmaskingnet')
    rows = [{'part': r.layer, 'ResNet-34': r.resnet, 'output (C×H×W)': r.output.replace('x', '×'),
             'Masking Block depth': r['mask depth'], 'parameters': f"{r.parameters:,}"} for _, r in table1(model).iterrows()]
    counts = count_parameters(model)
    return (pipe_table(rows, 'llrrr') + f"\n{counts['unique'] / 1e6:.1f}M parameters are trained; counting the shortcut "
            f"convolutions inside the Masking Blocks twice, as the paper's count does, gives {counts['paper'] / 1e6:.1f}M "
            f"(the paper: {PAPER_PARAMETERS['ResMaskingNet'] / 1e6:.1f}M).\n")

# The data page shows the split sizes the dataset experiment committed.

def counts_fragment(counts:Path, # `results/dataset/counts.txt`, written by the dataset experiment
                   ) -> str:
    "FER2013's faces per split and class as a table."
    lines = counts.read_text().splitlines()
    header = ['split', *lines[1].split()]
    return pipe_table([dict(zip(header, line.split())) for line in lines[2:]], 'l' + 'r' * (len(header) - 1))

# The experiments page lists every record with its executed notebooks, which the site renders as
# pages with the outputs they had when they ran, made readable (`runpages.py`).

def experiments_table(records:pd.DataFrame, # `load_records(...)`
                      page_dir:Path, # the folder of the page the table is written on
                     ) -> str:
    "Every run record: what ran, its test accuracy, and links to its executed notebooks and files."
    if not len(records): return "No run has been recorded yet.\n"
    rows = []
    for r in sorted(records.itertuples(), key=lambda r: (fidelity(r.profile), r.model, r.seed)):
        d = Path(r.path)
        rows.append({'profile': f"`{r.profile}`", 'model': f"`{r.model}`", 'seed': r.seed, 'input': f"{r.size}×{r.size}",
                     'epochs': r.epochs, 'test (%)': f"{r.test:.2f}", 'training': f"{r.train_minutes:.0f} min",
                     'notebooks': f"{markdown_link('training', run_page(r, 'train.ipynb'), page_dir)}, {markdown_link('evaluation', run_page(r, 'evaluate.ipynb'), page_dir)}",
                     'files': f"{markdown_link('run.json', d/'run.json', page_dir)}, {markdown_link('curves', d/'curves.png', page_dir)}"})
    return pipe_table(rows, 'llrrrrrll')

# The API pages are made from the library's notebooks only: those that export a module.

DEFAULT_EXP = re.compile(r'#\|\s*default_exp\s+([\w.]+)')

def library_notebooks(root:Path, # the project root
                     ) -> dict[str, Path]:
    "The notebooks of `nbs/` that export a module of the package, by module name, in reading order."
    found = {}
    for notebook in sorted((Path(root)/'nbs').glob('*.ipynb')):
        if (m := DEFAULT_EXP.search(notebook.read_text())): found[m[1]] = notebook
    return found

# The API index and the experiments page list notebooks by the title and the one-line summary each
# one starts with.

def notebooks_table(notebooks:list[Path], # the notebooks, in the order to list them
                    pages:Path, # the folder where their pages are
                    page_dir:Path, # the folder of the page the table is written on
                   ) -> str:
    "A table of notebooks: each one's title, linked to its page, and its one-line summary."
    rows = []
    for notebook in notebooks:
        first = json.loads(notebook.read_text())['cells'][0]['source']
        first = ''.join(first) if isinstance(first, list) else first
        title = re.search(r'^#\s+(.+)$', first, re.M)
        summary = re.search(r'^>\s*(.+)$', first, re.M)
        rows.append({'notebook': markdown_link(title[1] if title else notebook.stem, pages/notebook.name, page_dir),
                     'what it holds': summary[1] if summary else ''})
    return pipe_table(rows)

# The reproduce page gives every profile with the training time our records measured on this machine.

def profiles_table(records:pd.DataFrame) -> str:
    "Each profile: what it trains, and the training time its records took, per model."
    rows = []
    for profile in PROFILES:
        cfg = profile_config(profile)
        mine = records[records.profile == profile] if len(records) else records
        times = '; '.join(f"`{model}`: {minutes_text(runs)} for {int(runs.epochs.max())} epochs ({count_text(len(runs), 'run')}, {runs.device.iloc[0]})"
                          for model, runs in mine.groupby('model')) if len(mine) else 'no record yet'
        rows.append({'profile': f"`{profile}`", 'model': f"`{cfg.model}`", 'input': f"{cfg.size}×{cfg.size}",
                     'epochs': cfg.epochs, 'training time measured': times})
    return pipe_table(rows, 'llrrl')

# The differences page shows, for each profile with records, the choices its runs actually used
# where the paper's text and the authors' code disagree.

def choices_table(records:pd.DataFrame) -> str:
    "Per profile with records: the optimiser, schedule, mask activation and input size its runs used."
    rows = []
    for profile, runs in sorted(records.groupby('profile'), key=lambda kv: fidelity(kv[0])) if len(records) else []:
        cfg = read_run_record(runs.iloc[0].path)['config']
        activations = {read_run_record(run.path)['model'].get('activation') for _, run in runs.iterrows()} - {None}  # networks without masks have none
        rows.append({'profile': f"`{profile}`", 'optimiser': f"{cfg['optimizer']}, lr {cfg['lr']:g}, weight decay {cfg['weight_decay']:g}",
                     'schedule': cfg['schedule'], 'mask activation': ', '.join(sorted(activations)) or 'no masks', 'input': f"{cfg['size']}×{cfg['size']}"})
    return pipe_table(rows) if rows else "No run has been recorded yet.\n"

# ---- The pre-render ----
# 
# `write_fragments` writes every fragment the pages include. Each is written for the page that
# includes it (`index.qmd` at the root, the others in `site/`), so its links resolve from there.

def write_fragments(root:str|Path='.', # the project root
                    dest:str|Path|None=None, # where to write them; default `site/_generated/` under `root`
                   ) -> list[Path]:
    "Write the Markdown fragments and figures that the pages include, from `results/`."
    root = Path(root).resolve()
    out, home, pages = Path(dest) if dest else root/GENERATED, root, root/SITE
    (out/'figures').mkdir(parents=True, exist_ok=True)
    records = load_records(root/'results')
    run = featured_run(records)
    faces = face_figures(root, run, out/'figures')
    no_faces = "it shows FER2013 faces, which are never committed. Run `fermask reproduce` with FER2013 in `data/` and rebuild to see it here."
    if run is None: shown = dict.fromkeys(['results-run.md', 'results-fig7.md', 'results-curves.md'], "No ResMaskingNet run has been recorded yet.\n")
    else: shown = {
        'results-run.md': (f"The run shown below is `{run.run}` (`{run.profile}` profile, test accuracy {run.test:.2f}%; "
                           f"{markdown_link('record', Path(run.path)/'run.json', pages)}, {markdown_link('training notebook', run_page(run, 'train.ipynb'), pages)}). "
                           f"Its last stage's feature map is {gradcam_grid(run)}×{gradcam_grid(run)}: each Grad-CAM heat map below is "
                           f"that coarse a grid, upsampled to the face.\n"),
        'results-fig7.md': per_class_fragment(run, pages),
        'results-curves.md': figure_markdown(Path(run.path)/'curves.png', 'Loss and accuracy per epoch of the run shown', '', pages)}
    fragments = {
        'home-headline.md': claims_table(records, root, home, ensemble_records(root/'results')),
        'home-photo.md': public_figure(records, run, 'photo.png', "The Masking Blocks at work on a public-domain photograph (Grace Hopper's portrait, which "
                                       "Matplotlib ships): the prediction, its Grad-CAM and the mask of each of the four blocks", home),
        'results-table2.md': comparison_table(records, pages),
        'results-table2-one-recipe.md': one_recipe_table(records, pages),
        'results-table2-cost.md': one_recipe_cost(records),
        'results-table3.md': ensemble_table(root/'results', pages),
        'results-ablation.md': ablation_fragment(records, pages),
        **shown,
        **{f"results-{Path(name).stem}.md": figure_markdown(faces[name], caption, no_faces, pages) for name, caption in FACE_FIGURES.items()},
        'method-table1.md': table1_fragment(),
        'data-counts.md': counts_fragment(root/'results'/'dataset'/'counts.txt'),
        'data-fig3.md': figure_markdown(examples_figure(out/'figures'/'examples.png'), "Example faces of every class (the paper's Fig. 3)",
                               'FER2013 was not found when this site was built (data/README.md says how to get it).', pages),
        'experiments-runs.md': experiments_table(records, pages),
        'experiments-notebooks.md': notebooks_table(sorted((root/'nbs'/'experiments').glob('*.ipynb')), root/'nbs'/'experiments', pages),
        'api-notebooks.md': notebooks_table(list(library_notebooks(root).values()), root/API, pages),
        'reproduce-profiles.md': profiles_table(records),
        'differences-choices.md': choices_table(records),
        'model-card.md': model_card(records, pages),
        'results-class-means.md': public_figure(records, run, 'class-means.png', "Per expression, averaged over all its PrivateTest faces: the mean face, "
                                                "the mean Grad-CAM of the prediction and the mean mask of each Masking Block (Figs. 1 and 6, averaged)", pages),
        'results-confusion-means.md': public_figure(records, run, 'confusion-means.png', "The most frequent confusions, truth -> prediction, "
                                                    "each as the mean of its PrivateTest faces (Fig. 8, averaged)", pages),
        'results-photo.md': public_figure(records, run, 'photo.png', "A public-domain photograph (Grace Hopper's portrait, which Matplotlib ships), "
                                          "cropped as `fermask predict` crops it: the prediction, its Grad-CAM and the four masks", pages),
    }
    written = []
    for name, text in fragments.items():
        with atomic_write(out/name) as tmp: tmp.write_text(text)
        written.append(out/name)
    return written