"""Accuracy of extraction, measured in two separate parts.

    .venv/bin/python benchmarks/accuracy.py            # both parts
    .venv/bin/python benchmarks/accuracy.py --heldout  # held-out part only
    .venv/bin/python benchmarks/accuracy.py --json OUT # also write every figure as JSON

1. "regression: fixtures the tests pin" -- tests/fixtures/figures. The unit tests assert these
   exact values, and half of them were produced with the extractor's help, so a score here says
   only that nothing regressed; it is not an accuracy.
2. "accuracy: held-out real documents" -- benchmarks/heldout/*/ (real reports found in public
   archives, expected values typed by reading each document; see benchmarks/heldout/README.md).
   Each document goes through the real pipeline a user gets: read_document (bytes, URL and
   content type as found) -> read_metadata -> extract_figures. Nothing here pins these figures:
   they measure the extractor and are expected to move.

Checks are measured by tampering: on a document whose extracted cells satisfy a template
equation, one cell that the equation uses is changed by +1 (never a cell the rule leaves out,
such as a （六） sub-row when the single （六） row is present); the rule counts as catching it
when it then fails. False alarms are failing checks on documents whose printed arithmetic is
consistent for that rule.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "benchmarks" / "heldout"
FIXTURES = ROOT / "tests" / "fixtures" / "figures"
sys.path.insert(0, str(ROOT))

from postprocess.extract.checks import run_checks  # noqa: E402
from postprocess.extract.documents import read_document  # noqa: E402
from postprocess.extract.figures import extract_figures  # noqa: E402
from postprocess.extract.metadata import read_metadata  # noqa: E402
from postprocess.extract.model import Cell, ReportMeta  # noqa: E402

APPLICANTS = [
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
]
APPEAL_GROUPS = ["review", "litigation_direct", "litigation_after_review"]
APPEAL_PARTS = ["upheld", "corrected", "other", "pending"]
RESULT_PREFIXES = ("granted", "partial", "denied_", "unable_", "rejected_")
ARITHMETIC_RULES = (
    "requests_balance",
    "requests_total_column",
    "requests_handled_sum",
    "appeals_totals",
)
FALSE_ALARM_RULES = ARITHMETIC_RULES + ("proactive_new_within_total", "title_year_matches_period")
# cells tampered per rule, in order of preference (each must take part in an equation that held)
TAMPER_TARGETS = {
    "requests_balance": [("new", "natural_person"), ("carried_forward", "total")],
    "requests_total_column": [("granted", "commercial"), ("partial", "total")],
    "requests_handled_sum": [("unable_not_held", "natural_person"), ("total_handled", "total")],
    "appeals_totals": [("review", "total"), ("litigation_direct", "upheld")],
}


# --- reference arithmetic (formats.md), independent of postprocess.extract.checks ----------


def _grid(cells: dict[str, float], section: str) -> dict[tuple[str, str], float]:
    out = {}
    for key, value in cells.items():
        sec, row, col = key.split(".", 2)
        if sec == section and value is not None:
            out[(row, col)] = value
    return out


def _result_rows(rows: set[str]) -> list[str]:
    picked = [r for r in rows if r.startswith(RESULT_PREFIXES)]
    if "other" in rows:
        picked.append("other")  # the single （六） row; sub-rows, if also present, are its parts
    else:
        picked += [r for r in rows if r.startswith("other_")]
    return picked


def equations(cells: dict[str, float]) -> dict[str, list[tuple[frozenset[str], bool]]]:
    """Each template equation that can be evaluated: (cells it uses, holds?) grouped by rule."""
    req = _grid(cells, "requests")
    app = _grid(cells, "appeals")
    out: dict[str, list[tuple[frozenset[str], bool]]] = defaultdict(list)
    for col in APPLICANTS + ["total"]:
        keys = [(r, col) for r in ("new", "carried_over", "total_handled", "carried_forward")]
        if all(k in req for k in keys):
            a, b, c, d = (req[k] for k in keys)
            used = frozenset(f"requests.{r}.{col}" for r, _ in keys)
            out["requests_balance"].append((used, a + b == c + d))
    for row in {r for r, _ in req}:
        keys = [(row, c) for c in APPLICANTS + ["total"]]
        if all(k in req for k in keys):
            used = frozenset(f"requests.{row}.{c}" for _, c in keys)
            out["requests_total_column"].append(
                (used, sum(req[k] for k in keys[:-1]) == req[keys[-1]])
            )
    rows = {r for r, _ in req}
    for col in APPLICANTS + ["total"]:
        parts = [r for r in _result_rows(rows) if (r, col) in req]
        if ("total_handled", col) in req and parts:
            used = frozenset(f"requests.{r}.{col}" for r in parts + ["total_handled"])
            out["requests_handled_sum"].append(
                (used, sum(req[(r, col)] for r in parts) == req[("total_handled", col)])
            )
    for group in APPEAL_GROUPS:
        keys = [(group, p) for p in APPEAL_PARTS + ["total"]]
        if all(k in app for k in keys):
            used = frozenset(f"appeals.{group}.{p}" for _, p in keys)
            out["appeals_totals"].append((used, sum(app[k] for k in keys[:-1]) == app[keys[-1]]))
    return out


def consistent_rules(cells: dict[str, float]) -> set[str]:
    """Rules whose every evaluable equation holds on these (printed) cells."""
    return {rule for rule, eqs in equations(cells).items() if eqs and all(ok for _, ok in eqs)}


# --- running the extractor ------------------------------------------------------------------


def _key(c: Cell) -> str:
    return f"{c.section}.{c.row_key}.{c.col_key}"


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6


def _fails(cells: list[Cell], fmt: str, text: str, meta: ReportMeta, rule: str) -> bool | None:
    """False/True when the rule ran and passed/failed; None when it did not run."""
    found = [c for c in run_checks(cells, fmt, text, meta, None) if c.rule == rule]
    return None if not found else not found[0].ok


def tamper_trials(cells: list[Cell], fmt: str, meta: ReportMeta) -> list[tuple[str, str, bool]]:
    """(rule, tampered cell, caught) for every valid tamper of these extracted cells."""
    values = {_key(c): c.value for c in cells if c.known and c.value is not None}
    before = equations(values)
    trials = []
    for rule, targets in TAMPER_TARGETS.items():
        if _fails(cells, fmt, "", meta, rule) is not False:
            continue  # only where the rule ran and passed before the tamper
        for row, col in targets:
            section = "appeals" if rule == "appeals_totals" else "requests"
            key = f"{section}.{row}.{col}"
            held = [used for used, ok in before.get(rule, []) if ok and key in used]
            if key not in values or not held:
                continue
            altered = copy.deepcopy(cells)
            target = next(c for c in altered if _key(c) == key and c.known)
            target.value += 1
            after = equations(
                {_key(c): c.value for c in altered if c.known and c.value is not None}
            )
            if all(ok for used, ok in after.get(rule, []) if used in held):
                continue  # the reference arithmetic does not see the change: not a valid tamper
            trials.append((rule, key, _fails(altered, fmt, "", meta, rule) is True))
    return trials


def _check_measures(
    cells: list[Cell],
    fmt: str,
    text: str,
    meta: ReportMeta,
    printed_ok: set[str],
    inconsistent: list[str],
) -> dict:
    """False alarms, printed inconsistencies flagged and tamper trials for one set of cells."""
    found = run_checks(cells, fmt, text, meta, None)
    alarms = [
        f"{c.rule}: {c.detail}"
        for c in found
        if not c.ok
        and c.rule in FALSE_ALARM_RULES
        and c.rule not in inconsistent
        and (c.rule not in ARITHMETIC_RULES or c.rule in printed_ok)
    ]
    return {
        "false_alarms": alarms,
        "evaluated": sum(c.rule in FALSE_ALARM_RULES for c in found),
        "flagged": {rule: _fails(cells, fmt, text, meta, rule) is True for rule in inconsistent},
        "tamper": tamper_trials(cells, fmt, meta) if cells else [],
    }


# --- held-out set ---------------------------------------------------------------------------


def heldout_documents() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted(HELDOUT.glob("*/expected.json")):
        docs.append((path.parent, json.loads(path.read_text(encoding="utf-8"))))
    return docs


def _kinds(exp: dict) -> list[str]:
    """The kinds a document may be typed as (a list where the reading allows two)."""
    kind = exp.get("kind", "annual_report")
    return kind if isinstance(kind, list) else [kind]


def _norm(text: str | None) -> str:
    return "".join((text or "").split())


def measure_heldout() -> dict:
    per_doc = []
    for folder, exp in heldout_documents():
        body = (folder / exp["document"]).read_bytes()
        url = exp.get("url") or exp["provenance"].get("original_url") or exp["document"]
        doc = read_document(body, url, exp.get("content_type"))
        meta = read_metadata(doc)
        figures = extract_figures(doc, meta, None)
        got = {_key(c): c.value for c in figures.cells if c.known}
        skip = set(exp.get("ambiguous", []))
        want = {k: v for k, v in exp["cells"].items() if k not in skip}
        wrong = {k: (v, got.get(k)) for k, v in want.items() if not _same(got.get(k), v)}
        stats = {s.key: s.value for s in figures.stats}
        stats_wrong = {
            k: (v, stats.get(k)) for k, v in exp["stats"].items() if not _same(stats.get(k), v)
        }
        m = exp["metadata"]
        # a field the document does not state (an excerpt without its title line) is null
        # in expected.json and not scored
        metadata = {}
        if m.get("title"):
            metadata["title"] = _norm(meta.title) == _norm(m["title"])
        if m.get("agency"):
            metadata["agency"] = (meta.agency or "") == m["agency"]
        metadata["year"] = meta.year == m["year"]
        metadata["kind"] = meta.kind in _kinds(exp)
        if m.get("published"):
            metadata["published"] = (meta.published or "")[:10] == m["published"]
        printed_ok = consistent_rules(exp["cells"]) if exp["cells"] else set()
        inconsistent = exp.get("inconsistent_rules", [])
        extracted = _check_measures(
            figures.cells, figures.format, doc.text, meta, printed_ok, inconsistent
        )
        typed_cells = [
            Cell(*key.split(".", 2), value=value, raw=str(value)) for key, value in want.items()
        ]
        typed_meta = ReportMeta(
            m["title"], m["agency"], m["year"], m.get("published"), "annual_report"
        )
        typed = _check_measures(
            typed_cells, exp["format"], doc.text, typed_meta, printed_ok, inconsistent
        )
        per_doc.append(
            {
                "id": exp["id"],
                "form": exp["form"],
                "format": exp["format"],
                "format_got": figures.format,
                # False for an excerpt that holds none of its report's table labels
                "format_scored": exp.get("format_in_document", True),
                "coverage": exp.get("coverage", "whole"),
                "parse_status": doc.parse_status,
                "cells_right": len(want) - len(wrong),
                "cells_expected": len(want),
                "cells_invented": sorted(k for k in got if k not in exp["cells"]),
                "cells_wrong": wrong,
                "stats_right": len(exp["stats"]) - len(stats_wrong),
                "stats_expected": len(exp["stats"]),
                "stats_wrong": stats_wrong,
                "metadata": metadata,
                "metadata_got": {
                    "title": meta.title,
                    "agency": meta.agency,
                    "year": meta.year,
                    "published": meta.published,
                    "kind": meta.kind,
                },
                "checks_extracted": extracted,
                "checks_typed": typed,
            }
        )
    return {"documents": per_doc}


# --- regression fixtures --------------------------------------------------------------------


def measure_regression() -> dict:
    sys.path.insert(0, str(FIXTURES))
    from loader import expected, fixtures, form, load_document, meta_for

    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    stats = [0, 0]
    trials: list[tuple[str, str, bool]] = []
    for path in fixtures():
        exp = expected(path)
        meta = meta_for(exp)
        figures = extract_figures(load_document(path), meta, None)
        got = {_key(c): c.value for c in figures.cells}
        tally = cells[form(path)]
        tally[0] += sum(1 for k, v in exp["cells"].items() if _same(got.get(k), v))
        tally[1] += len(exp["cells"])
        tally[2] += sum(1 for k in got if k not in exp["cells"])
        values = {s.key: s.value for s in figures.stats}
        stats[0] += sum(1 for k, v in exp.get("stats", {}).items() if _same(values.get(k), v))
        stats[1] += len(exp.get("stats", {}))
        if figures.cells:
            trials += tamper_trials(figures.cells, figures.format, meta)
    return {"cells": dict(cells), "stats": stats, "tamper": trials}


# --- report ---------------------------------------------------------------------------------


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "0/0"


def _tamper_lines(trials: list[tuple[str, str, bool]]) -> list[str]:
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rule, _, caught in trials:
        by_rule[rule][0] += caught
        by_rule[rule][1] += 1
    total = [sum(v[0] for v in by_rule.values()), sum(v[1] for v in by_rule.values())]
    lines = [f"  inconsistencies caught (tamper +1 where the rule passed): {_pct(*total)}"]
    lines += [f"    {rule:<24} {_pct(*v)}" for rule, v in sorted(by_rule.items())]
    return lines


def report_regression(result: dict) -> list[str]:
    lines = ["regression: fixtures the tests pin (tests/fixtures/figures; not an accuracy)"]
    total = [0, 0, 0]
    for kind, (right, want, invented) in sorted(result["cells"].items()):
        lines.append(f"  cells {kind:<10} {_pct(right, want):>20}   invented {invented}")
        total = [total[0] + right, total[1] + want, total[2] + invented]
    lines.append(f"  cells {'all':<10} {_pct(total[0], total[1]):>20}   invented {total[2]}")
    lines.append(f"  summary figures       {_pct(*result['stats'])}")
    return lines + _tamper_lines(result["tamper"])


def report_heldout(result: dict) -> list[str]:
    docs = result["documents"]
    lines = [f"accuracy: held-out real documents (benchmarks/heldout, {len(docs)} documents)"]
    by_form: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for d in docs:
        t = by_form[d["form"]]
        t[0] += 1
        t[1] += d["cells_right"]
        t[2] += d["cells_expected"]
        t[3] += d["stats_right"]
        t[4] += d["stats_expected"]
    lines.append("  per form               docs  cells right             summary figures right")
    all_ = [0, 0, 0, 0, 0]
    for form, t in sorted(by_form.items()):
        lines.append(f"  {form:<22} {t[0]:>4}  {_pct(t[1], t[2]):<22}  {_pct(t[3], t[4])}")
        all_ = [a + b for a, b in zip(all_, t, strict=True)]
    lines.append(
        f"  {'all':<22} {all_[0]:>4}  {_pct(all_[1], all_[2]):<22}  {_pct(all_[3], all_[4])}"
    )
    by_coverage: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for d in docs:
        t = by_coverage[d["coverage"]]
        for i, v in enumerate(
            (1, d["cells_right"], d["cells_expected"], d["stats_right"], d["stats_expected"])
        ):
            t[i] += v
    lines.append("  per coverage (whole document / page-text excerpt)")
    for cov, t in sorted(by_coverage.items()):
        lines.append(f"  {cov:<22} {t[0]:>4}  {_pct(t[1], t[2]):<22}  {_pct(t[3], t[4])}")
    lines.append("  per document (format expected/got, cells right, invented, summary, metadata)")
    for d in docs:
        meta_bad = [k for k, ok in d["metadata"].items() if not ok]
        fmt = d["format"] if d["format_scored"] else "(" + d["format"] + ")"
        lines.append(
            f"    {d['id']:<24} {d['form']:<20} {fmt:>9}/{d['format_got']:<9}"
            f" {_pct(d['cells_right'], d['cells_expected']):<18}"
            f" +{len(d['cells_invented']):<3} {_pct(d['stats_right'], d['stats_expected']):<16}"
            f" {'metadata ok' if not meta_bad else 'metadata wrong: ' + ','.join(meta_bad)}"
        )
    fields: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        for field, ok in d["metadata"].items():
            fields[field][0] += ok
            fields[field][1] += 1
    lines.append(
        "  metadata right: "
        + "   ".join(
            f"{f} {_pct(*fields[f])}" for f in ("title", "agency", "year", "published", "kind")
        )
    )
    scored = [d for d in docs if d["format_scored"]]
    fmt_right = sum(d["format"] == d["format_got"] for d in scored)
    lines.append(
        f"  format (2019/2021/narrative) right: {_pct(fmt_right, len(scored))}"
        f"  (not scored on {len(docs) - len(scored)} excerpts without table labels)"
    )
    for key, label in (
        ("checks_extracted", "checks on the extracted cells"),
        ("checks_typed", "checks on the typed cells (the rules alone, on real tables)"),
    ):
        lines.append(f"  {label}")
        lines += ["  " + x for x in _tamper_lines([t for d in docs for t in d[key]["tamper"]])]
        alarms = [(d["id"], a) for d in docs for a in d[key]["false_alarms"]]
        evaluated = sum(d[key]["evaluated"] for d in docs)
        lines.append(
            f"    false alarms (failing checks on consistent printed figures): {len(alarms)}"
            f" of {evaluated} checks run"
        )
        lines += [f"      {doc}: {a[:140]}" for doc, a in alarms]
        flagged = [(d["id"], r, ok) for d in docs for r, ok in d[key]["flagged"].items()]
        if flagged:
            caught = sum(ok for _, _, ok in flagged)
            lines.append(f"    printed inconsistencies flagged: {caught}/{len(flagged)}")
            lines += [
                f"      {doc}: {rule} {'flagged' if ok else 'missed'}" for doc, rule, ok in flagged
            ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true", help="held-out part only")
    parser.add_argument("--json", type=Path, help="write every measured figure to this file")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"$ {' '.join(['benchmarks/accuracy.py', *sys.argv[1:]])}   ({stamp})")
    out: dict = {"date": stamp}
    if not args.heldout:
        out["regression"] = measure_regression()
        print("\n".join(report_regression(out["regression"])))
        print()
    out["heldout"] = measure_heldout()
    print("\n".join(report_heldout(out["heldout"])))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
