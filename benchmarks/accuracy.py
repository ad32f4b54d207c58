"""Accuracy of figure extraction on the fixtures: cells per form, narrative stats, checks.

    .venv/bin/python benchmarks/accuracy.py

Cell accuracy = cells extracted with the expected value / cells in the expected JSON, per
form (text, html, docx, pdf); cells extracted that the fixture does not have are counted
as invented. Summary-key accuracy is measured on the narrative fixtures. "Checks caught"
feeds copies of every table fixture with one number altered per rule and counts how many
alterations a check flags.
"""

from __future__ import annotations

import copy
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "figures"))
sys.path.insert(0, str(ROOT))

from loader import expected, fixtures, form, load_document, meta_for  # noqa: E402

from postprocess.extract.checks import run_checks  # noqa: E402
from postprocess.extract.figures import extract_figures  # noqa: E402
from postprocess.extract.model import Cell  # noqa: E402

# (rule expected to fire, section, row_key, col_key) altered by +1
TAMPER = [
    ("requests_balance", "requests", "carried_forward", "natural_person"),
    ("requests_total_column", "requests", "granted", "total"),
    ("requests_handled_sum", "requests", "total_handled", "commercial"),
    ("appeals_totals", "appeals", "review", "upheld"),
    ("appeals_totals", "appeals", "litigation_after_review", "total"),
]


def measure() -> dict:
    cells = defaultdict(lambda: [0, 0, 0])  # form -> right, expected, invented
    stats = [0, 0, 0]  # right, expected, invented (narrative fixtures)
    caught = [0, 0]
    for path in fixtures():
        exp = expected(path)
        meta = meta_for(exp)
        figures = extract_figures(load_document(path), meta, None)
        got = {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells}
        kind = form(path)
        tally = cells[kind]
        tally[0] += sum(1 for k, v in exp["cells"].items() if got.get(k) == v)
        tally[1] += len(exp["cells"])
        tally[2] += sum(1 for k in got if k not in exp["cells"])
        if kind == "narrative":
            values = {s.key: s.value for s in figures.stats}
            stats[0] += sum(1 for k, v in exp["stats"].items() if values.get(k) == v)
            stats[1] += len(exp["stats"])
            stats[2] += sum(1 for k in values if k not in exp["stats"])
        if figures.cells:
            for rule, section, row, col in TAMPER:
                altered = copy.deepcopy(figures.cells)
                target = [
                    c for c in altered if (c.section, c.row_key, c.col_key) == (section, row, col)
                ]
                if not target:
                    continue
                target[0].value += 1
                caught[1] += 1
                caught[0] += _fails(altered, figures.format, meta, rule)
    return {"cells": dict(cells), "stats": stats, "caught": caught}


def _fails(cells: list[Cell], fmt: str, meta, rule: str) -> bool:
    return any(c.rule == rule and not c.ok for c in run_checks(cells, fmt, "", meta, None))


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "0/0"


def main() -> None:
    result = measure()
    print("cell accuracy per form (right / expected; invented)")
    total = [0, 0, 0]
    for kind, (right, want, invented) in sorted(result["cells"].items()):
        print(f"  {kind:<10} {_pct(right, want):>22}   invented {invented}")
        total = [total[0] + right, total[1] + want, total[2] + invented]
    print(f"  {'all':<10} {_pct(total[0], total[1]):>22}   invented {total[2]}")
    right, want, invented = result["stats"]
    print(f"summary keys on narrative fixtures: {_pct(right, want)}   invented {invented}")
    print(f"inconsistencies caught by checks:   {_pct(*result['caught'])}")


if __name__ == "__main__":
    main()
