"""The site's post-render step (Quarto's and smalldocs'): maths as MathML, so the site loads nothing from the network, and the Try it page's files.

Quarto writes maths as MathML when `html-math-method: mathml` is set (Pandoc converts it at build
time). smalldocs ignores that option and writes the TeX for KaTeX, which it loads from a CDN. This
step converts smalldocs' maths to MathML too (with the pure-Python `latex2mathml`) and drops the
KaTeX tags; on Quarto's output it finds nothing to do. Quarto and smalldocs run it after rendering,
with `QUARTO_PROJECT_OUTPUT_DIR` naming the built site.
"""
from __future__ import annotations
import html, os, re, subprocess, sys
from pathlib import Path

_TEX = re.compile(r'<span class="math (inline|display)">\\[(\[](.*?)\\[)\]]</span>', re.S)
_KATEX = re.compile(r'<(?:link|script)\b[^>]*katex[^>]*>(?:</script>)?\n?')

def mathml(page:str, # the HTML of a page
          ) -> str:
    "The page with TeX maths spans converted to MathML and KaTeX's style sheet and scripts removed."
    from latex2mathml.converter import convert
    def to_mathml(m): return f'<span class="math {m[1]}">{convert(html.unescape(m[2]), display="block" if m[1] == "display" else "inline")}</span>'
    return _KATEX.sub('', _TEX.sub(to_mathml, page))

def mathml_site(site_dir:str|Path, # a built site
               ) -> int:
    "Convert the maths of every page of `site_dir` to MathML (the site's post-render step); the number of pages changed."
    changed = 0
    for page in Path(site_dir).rglob('*.html'):
        text = page.read_text()
        if text != (new := mathml(text)):
            page.write_text(new); changed += 1
    return changed

def build_try_it(site_dir:str|Path, # a built site
                ) -> Path:
    "Write what the Try it page loads (site/try.qmd) into `site_dir`/site/demo: `site/demo/build.py`, run after rendering because rendering empties the site."
    out = Path(site_dir)/'site'/'demo'
    subprocess.run([sys.executable, str(Path(__file__).parent/'demo'/'build.py'), '--out', str(out)], check=True, stdout=subprocess.DEVNULL)
    return out

if __name__ == '__main__':
    site_dir = os.environ['QUARTO_PROJECT_OUTPUT_DIR']
    print(f"maths as MathML on {mathml_site(site_dir)} page(s)")
    print(f"the Try it page's model, detector and samples in {build_try_it(site_dir)}")
