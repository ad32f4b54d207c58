"""Cells right per input form, on tests/fixtures/forms (two real reports laid out again in every
form a report reaches us in, plus real PDF text layers and seed 002 run together).

    .venv/bin/python benchmarks/forms_accuracy.py

Each fixture goes through the real path (read_document, then extract_figures). These fixtures
are regression fixtures the extractor was built with, not a held-out measure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from postprocess.extract.documents import read_document  # noqa: E402
from postprocess.extract.figures import extract_figures  # noqa: E402
from postprocess.extract.model import ReportMeta  # noqa: E402

FORMS = ROOT / "tests" / "fixtures" / "forms"


def main() -> None:
    total = [0, 0, 0]
    for path in sorted(FORMS.iterdir()):
        exp_path = FORMS / (path.name.rsplit(".", 1)[0] + ".expected.json")
        if path.suffix in (".json", ".py") or path.name == "PROVENANCE.md" or not exp_path.exists():
            continue
        exp = json.loads(exp_path.read_text(encoding="utf-8"))
        doc = read_document(path.read_bytes(), f"file:///{path.name}", exp["content_type"])
        meta = ReportMeta(exp["title"], exp["agency"], exp["year"], None, "annual_report")
        figures = extract_figures(doc, meta, None)
        got = {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells}
        right = sum(1 for k, v in exp["cells"].items() if got.get(k) == v)
        invented = sum(1 for k in got if k not in exp["cells"])
        flagged = sum(1 for c in figures.checks if c.rule == "cells_split_ambiguous")
        total[0] += right
        total[1] += len(exp["cells"])
        total[2] += invented
        print(
            f"  {path.name:28} {right:5}/{len(exp['cells']):<5} invented {invented}"
            f"{'   ambiguous rows flagged' if flagged else ''}"
        )
    print(f"  {'all':28} {total[0]:5}/{total[1]:<5} invented {total[2]}")


if __name__ == "__main__":
    main()
