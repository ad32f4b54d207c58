"""Every figure of one report: table cells, summary stats and consistency checks."""

from __future__ import annotations

from postprocess.extract import checks, labels, narrative, stats
from postprocess.extract.grids import text_tables
from postprocess.extract.model import Cell, Check, Document, Figures, ReportMeta
from postprocess.extract.tables import read_tables


def extract_figures(doc: Document, meta: ReportMeta, level: str | None = None) -> Figures:
    """Cells, stats and checks of a document; `level` is 'department' or 'government'."""
    read = read_tables(doc.tables) if doc.tables else None
    if read is None or not (read.cells or read.ambiguous):
        read = read_tables(text_tables(doc.text))
    cells = read.cells
    fmt = detect_format(cells, meta.year)
    summary = stats.from_cells(cells)
    have = {s.key for s in summary}
    summary += [s for s in narrative.narrative_stats(doc.text) if s.key not in have]
    return Figures(
        format=fmt,
        cells=cells,
        stats=summary,
        checks=checks.run_checks(cells, fmt, doc.text, meta, level) + _ambiguous(read.ambiguous),
    )


def _ambiguous(rows: list[str]) -> list[Check]:
    """Rows whose run-together digits allow more than one reading: flagged, not guessed."""
    if not rows:
        return []
    return [Check("cells_split_ambiguous", False, "; ".join(rows)[:2000])]


def detect_format(cells: list[Cell], year: int | None) -> str:
    """2019 vs 2021 from the labels the tables use; the year only breaks a tie."""
    cols = {c.col_key for c in cells if c.section == "proactive"}
    rows = {c.row_key for c in cells if c.section == "requests"}
    if cols & labels.FORMAT_2021_COLS or rows & labels.FORMAT_2021_ROWS:
        return "2021"
    if cols & labels.FORMAT_2019_COLS or "procurement" in {c.row_key for c in cells}:
        return "2019"
    if not any(c.known for c in cells):
        return "narrative"
    if year is not None and year >= 2021:
        return "2021"
    return "2019"
