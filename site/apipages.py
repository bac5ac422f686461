"""The API reference: the library's notebooks in `nbs/`, processed by nbdev as for its own docs, into `site/api/`.

nbdev documents a notebook by processing a copy of it: it adds a `show_doc` cell after every
exported function or class and runs it (the signature, the docstring and the docments table of the
parameters), removes the exported source and the `#| hide` cells, and turns the title and summary
into the page's front matter. `nbdev_proc_nbs` does that into `_proc/`, where neither Quarto nor
smalldocs would render from the root `_quarto.yml` (they skip folders starting with `_`), so
`api_pages` runs the same processors into `site/api/` (git-ignored).

Two of nbdev's processors are changed. nbdev links a name in backticks to the published site
(`https://fermask.github.io/...`); here those links point at the API pages of this build, so they
work offline and before anything is published. And nbdev runs, besides the exported cells and the
`show_doc` calls, every cell that imports something, even a test that trains a model; here only the
cells that are nothing but imports run with them.

Only the library's notebooks (those with a `#| default_exp`) become API pages: `nbs/21_website.ipynb`,
which tests these scripts, documents no module of the package.
"""
from __future__ import annotations
import ast, os, re
from pathlib import Path

from fermask.errors import atomic_write

from fragments import API, library_notebooks

def _doc_links(pages:dict, # module name -> API page file name, e.g. 'models' -> '06_models.ipynb'
              ):
    "An nbdev processor: nbdev's `add_links`, then its links to the published docs made relative to the API pages."
    from nbdev.config import get_config
    from nbdev.processors import add_links
    cfg = get_config()
    published = re.compile(re.escape(cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/')) + r'/(\w+)\.html')
    local = lambda text: published.sub(lambda m: pages.get(m[1], m[0]), text)
    def doc_links(cell):
        add_links(cell)
        cell.source = local(cell.source)
        for output in cell.get('outputs', []):
            if 'text/markdown' in output.get('data', {}): output.data['text/markdown'] = [local(s) for s in output.data['text/markdown']]
    return doc_links

def _needed_for_docs(cell) -> bool:
    "Whether documenting a notebook needs this code cell run: it is exported, calls `show_doc`, or only imports."
    if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} or 'show_doc(' in cell.source: return True
    try: body = ast.parse(cell.source).body
    except SyntaxError: return False
    return bool(body) and all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in body)

def api_pages(root:str|Path='.', # the project root (holds settings.ini)
              dest:str|Path|None=None, # where the pages go; default `site/api/` under `root`
             ) -> list[Path]:
    "Process every library notebook in `nbs/` as nbdev does for its docs into `dest`: the API reference pages."
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults, add_links, exec_show_docs
    root = Path(root).resolve()
    dest = Path(dest) if dest else root/API
    library = library_notebooks(root)
    notebooks, modules = list(library.values()), {module: n.name for module, n in library.items()}
    class ShowDocs(exec_show_docs):  # nbdev also runs any cell that imports something, tests and trainings included
        def __call__(self, cell):
            if cell.cell_type != 'code' or _needed_for_docs(cell): super().__call__(cell)
    replace = {add_links: _doc_links(modules), exec_show_docs: ShowDocs}
    class SiteDocs(FilterDefaults):
        def base_procs(self): return [replace.get(p, p) for p in super().base_procs()]
    dest.mkdir(parents=True, exist_ok=True)
    for stale in set(dest.glob('*.ipynb')) - {dest/n.name for n in notebooks}: stale.unlink()
    written = []
    cwd = Path.cwd()
    try:
        os.chdir(root)  # the notebooks' cells run from the project root, as nbdev_proc_nbs runs them
        for notebook in notebooks:
            nb = read_nb(notebook)
            SiteDocs()(nb)
            front = nb.cells[0]  # nbdev names the page after the module; Quarto would obey, smalldocs not: keep the notebook's name
            front.source = re.sub(r'^output-file: .*\n', '', front.source, flags=re.M)
            with atomic_write(dest/notebook.name) as tmp: write_nb(nb, tmp)
            written.append(dest/notebook.name)
    finally: os.chdir(cwd)
    return written