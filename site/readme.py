"""Copy the table of verdicts on the paper's claims into README.md from `results/`: `python site/readme.py` (with `--check`: only say whether it is current).

The table is Home's (`fragments.claims_table`), written for the project root, between the two
`fragments.README_MARKERS` lines of README.md. Run it after committing a record.
"""
from __future__ import annotations
import argparse, sys
from pathlib import Path

from fermask.cli import one_line_errors
from fermask.errors import FermaskError, atomic_write
from fermask.report import load_records

from fragments import claims_table, ensemble_records, with_claims

ROOT = Path(__file__).resolve().parent.parent  # the project: README.md, results/

def readme_with_claims(root:str|Path=ROOT, # the project root
                      ) -> str:
    "README.md's text with its table of verdicts written afresh from `results/`."
    root = Path(root)
    if not (root/'README.md').is_file(): raise FermaskError(f"no README.md in {root}")
    table = claims_table(load_records(root/'results'), root, root, ensemble_records(root/'results'))
    return with_claims((root/'README.md').read_text(), table)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(prog='python site/readme.py', description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help="only check: exit 1 if README.md's table differs from the records")
    args = parser.parse_args()
    with one_line_errors():
        text = readme_with_claims()
        if (ROOT/'README.md').read_text() == text: print("README.md's verdicts match the records")
        elif args.check: sys.exit("README.md's verdicts differ from the records: run python site/readme.py")
        else:
            with atomic_write(ROOT/'README.md') as tmp: tmp.write_text(text)
            print("README.md's verdicts written from the records")
