"""Every figure fixture (seeds, HTML, DOCX, PDF) extracts exactly its expected JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "figures"))

from loader import expected, fixtures, load_document, meta_for  # noqa: E402

from postprocess.extract.figures import extract_figures  # noqa: E402

FIXTURES = fixtures()


def _extract(path: Path):
    return extract_figures(load_document(path), meta_for(expected(path)), None)


def test_fixture_set_covers_every_form():
    forms = {p.suffix for p in FIXTURES}
    assert forms == {".html", ".docx", ".pdf", ".txt"}
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_figures_cells_exact(path):
    exp = expected(path)
    figures = _extract(path)
    got = {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells}
    assert figures.format == exp["format"]
    assert got == exp["cells"]
    assert all(c.known for c in figures.cells)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_figures_stats_exact(path):
    exp = expected(path)
    figures = _extract(path)
    assert {s.key: s.value for s in figures.stats} == exp["stats"]
    if "approx" in exp:
        assert sorted(s.key for s in figures.stats if s.approx) == exp["approx"]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_figures_checks_exact(path):
    exp = expected(path)
    figures = _extract(path)
    assert {c.rule: c.ok for c in figures.checks} == exp["checks"]


# Only fixtures that list raw texts: an empty "raw" would make a case that asserts nothing.
RAW_FIXTURES = [p for p in FIXTURES if expected(p).get("raw")]
TABLE_FIXTURES = [p for p in FIXTURES if expected(p)["cells"]]


def test_figures_raw_fixtures_exist():
    assert RAW_FIXTURES and TABLE_FIXTURES


@pytest.mark.parametrize("path", RAW_FIXTURES, ids=lambda p: p.name)
def test_figures_raw_kept(path):
    got = {f"{c.section}.{c.row_key}.{c.col_key}": c.raw for c in _extract(path).cells}
    want = expected(path)["raw"]
    assert {key: got.get(key) for key in want} == want


@pytest.mark.parametrize("path", TABLE_FIXTURES, ids=lambda p: p.name)
def test_figures_raw_reads_back_as_the_value(path):
    # Every cell keeps the text as printed; a plain number printed reads back as its value.
    cells = _extract(path).cells
    assert all(isinstance(c.raw, str) for c in cells)
    plain = [c for c in cells if c.raw.isascii() and c.raw.isdigit()]
    assert len(plain) >= len(cells) // 2
    assert [(c.row_key, c.col_key, float(c.raw)) for c in plain] == [
        (c.row_key, c.col_key, c.value) for c in plain
    ]


def test_figures_stats_link_to_cells():
    path = next(p for p in FIXTURES if p.name.startswith("002_"))
    stats = {s.key: s for s in _extract(path).stats}
    assert stats["requests_new"].origin == "cell"
    assert stats["requests_new"].evidence == "requests.new.total"
    assert stats["proactive_total"].origin == "sentence"
    assert "3880条" in stats["proactive_total"].evidence


def test_figures_html_zero_markers_keep_raw():
    path = next(p for p in FIXTURES if p.name == "county-2019.html")
    cells = {(c.row_key, c.col_key): c for c in _extract(path).cells}
    assert (
        cells[("rejected_repeat", "commercial")].value,
        cells[("rejected_repeat", "commercial")].raw,
    ) == (0, "—")
    assert (
        cells[("rejected_repeat", "research")].value,
        cells[("rejected_repeat", "research")].raw,
    ) == (0, "")
    procurement = cells[("procurement", "amount_10k_yuan")]
    assert (procurement.value, procurement.raw, procurement.unit) == (12000, "1.2亿元", "亿元")
