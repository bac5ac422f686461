"""Build the website without Quarto: `python site/build.py [--out DIR]` writes `_site/` with smalldocs.

smalldocs (a pure-Python renderer of Quarto website projects) reads `_quarto.yml` as Quarto does and
runs the same pre-render step (`site/prerender.py`: fragments, run pages, API pages) and post-render
step (`site/postrender.py`: maths as MathML). Users with Quarto run `python site/prerender.py &&
quarto render` instead, as the GitHub Pages workflow does. Neither runs any notebook: notebooks are
shown with the outputs they were saved with.

Whatever smalldocs warns about stops the build (a broken link, a missing include, an option it
cannot honour), except the maths option that the post-render step takes care of. Serve the result
with `python -m http.server -d _site 4200`; check it with `python site/check.py`.
"""
from __future__ import annotations
import argparse
from pathlib import Path

from fermask.errors import FermaskError

ROOT = Path(__file__).resolve().parent.parent  # the project: _quarto.yml, index.qmd, site/
SMALLDOCS_HANDLED = ('format.html.html-math-method is ignored',)  # warnings about what the post-render step does instead

def build_site(root:str|Path=ROOT, # the project root (holds _quarto.yml)
               out:str|Path|None=None, # where to write the site; default `_site/` (the output-dir of _quarto.yml)
              ) -> Path:
    "Build the website with smalldocs, pre-render and post-render included; the folder it was written to."
    try: from smalldocs.config import load, BuildError, ConfigError
    except ImportError: raise FermaskError("smalldocs is not installed: pip install -e '.[dev]', or build with `quarto render`") from None
    from smalldocs.site import Site
    try:
        site = Site(load(Path(root).resolve()), quiet=True)
        if out is not None: site.out = Path(out).resolve()
        site.build()
    except (BuildError, ConfigError) as e: raise FermaskError(f"the site did not build: {e}") from None
    problems = [w for w in site.warnings if w not in SMALLDOCS_HANDLED]
    if problems: raise FermaskError(f"the site built with {len(problems)} problem(s): " + '; '.join(problems))
    return site.out


if __name__ == '__main__':
    from fermask.cli import one_line_errors
    parser = argparse.ArgumentParser(prog='python site/build.py', description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=None, help="where the site goes (default: _site/ in the project)")
    args = parser.parse_args()
    with one_line_errors(): print(f"wrote {build_site(ROOT, args.out)}")
