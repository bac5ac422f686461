"""The site's pre-render step (Quarto's and smalldocs'): everything the pages include or link to that is made, not written.

1. `fragments.write_fragments`: the tables, verdicts and figures from the run records in `results/`
   into `site/_generated/`;
2. `runpages.run_pages`: the runs' executed notebooks, made readable, into `site/runs/`;
3. `apipages.api_pages`: the library's notebooks, processed by nbdev, into `site/api/`.

All three folders are git-ignored and rewritten at every build. Run it on its own before `quarto
render` on a fresh clone (`python site/prerender.py`): Quarto expands `{{< include >}}` and lists the
files to render before its own pre-render hook runs, so those files must exist already. Quarto and
smalldocs then run it once more, from the project root, with `QUARTO_PROJECT_DIR` set.
"""
from __future__ import annotations
import os
from pathlib import Path

from fermask.cli import one_line_errors

from fragments import write_fragments
from runpages import run_pages
from apipages import api_pages

def prerender(root:str|Path='.', # the project root
             ) -> None:
    "Write the pages' fragments from `results/`, the run pages, and the API pages from `nbs/`."
    write_fragments(root)
    run_pages(root)
    api_pages(root)


if __name__ == '__main__':
    with one_line_errors(): prerender(os.environ.get('QUARTO_PROJECT_DIR', Path(__file__).resolve().parent.parent))
