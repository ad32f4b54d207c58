"""Every form a report reaches us in, read through `read_document` and `extract_figures`:
the cells equal the hand-typed reading of the real report the fixture lays out again
(tests/fixtures/forms/readings.py, PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postprocess.extract.documents import read_document
from postprocess.extract.figures import extract_figures
from postprocess.extract.model import ReportMeta

HERE = Path(__file__).parent / "fixtures" / "forms"
FIXTURES = sorted(
    p
    for p in HERE.iterdir()
    if not p.name.endswith((".json", ".py", ".md.txt"))
    and p.name != "PROVENANCE.md"
    and (HERE / (p.name.rsplit(".", 1)[0] + ".expected.json")).exists()
)


def _expected(path: Path) -> dict:
    return json.loads((HERE / (path.name.rsplit(".", 1)[0] + ".expected.json")).read_text("utf-8"))


def _figures(path: Path):
    exp = _expected(path)
    doc = read_document(path.read_bytes(), f"file:///{path.name}", exp["content_type"])
    meta = ReportMeta(exp["title"], exp["agency"], exp["year"], None, "annual_report")
    return doc, extract_figures(doc, meta, None)


def test_forms_cover_every_form():
    names = {p.name.split(".", 1)[1] for p in FIXTURES}
    assert {"fragment.html", "word.html", "unruled.pdf", "shifted.html"} <= names
    assert {"md", "docx", "ocr.txt", "runon.txt", "tabs.txt", "oneline.txt"} <= names
    assert {"celllines.txt", "celllines-gapped.txt", "celllines-bare.txt"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_forms_cells_exact(path):
    exp = _expected(path)
    doc, figures = _figures(path)
    assert doc.parse_status == "ok", doc.parse_error
    got = {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells}
    assert got == exp["cells"]
    assert all(c.known for c in figures.cells)
    assert figures.format == exp["format"]


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if "methods" in _expected(p)], ids=lambda p: p.name
)
def test_forms_cells_record_how_they_were_read(path):
    _, figures = _figures(path)
    for section, method in _expected(path)["methods"].items():
        assert {c.method for c in figures.cells if c.section == section} == {method}


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if "doc_title" in _expected(p)], ids=lambda p: p.name
)
def test_forms_fragment_title(path):
    doc, _ = _figures(path)
    assert doc.title == _expected(path)["doc_title"]


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if "ambiguous" in _expected(p)], ids=lambda p: p.name
)
def test_forms_ambiguous_runs_are_flagged_not_guessed(path):
    _, figures = _figures(path)
    flags = [c for c in figures.checks if c.rule == "cells_split_ambiguous"]
    assert len(flags) == 1 and not flags[0].ok
    for raw in _expected(path)["ambiguous"]:
        assert raw in flags[0].detail


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if "ambiguous" not in _expected(p)], ids=lambda p: p.name
)
def test_forms_no_false_ambiguity(path):
    _, figures = _figures(path)
    assert not [c for c in figures.checks if c.rule == "cells_split_ambiguous"]
