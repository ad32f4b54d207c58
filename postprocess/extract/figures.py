"""Every figure of one report: table cells, summary stats and consistency checks."""

from __future__ import annotations

from postprocess.extract import checks, labels, narrative, stats
from postprocess.extract.grids import text_tables
from postprocess.extract.model import Cell, Check, Document, Figures, ReportMeta
from postprocess.extract.tables import read_tables

CONFLICT_RULE = "cell_conflict"


def extract_figures(doc: Document, meta: ReportMeta, level: str | None = None) -> Figures:
    """Cells, stats and checks of a document; `level` is 'department' or 'government'."""
    read = read_tables(doc.tables) if doc.tables else None
    if read is None or not (read.cells or read.ambiguous):
        read = read_tables(text_tables(doc.text))
    cells, conflict = one_cell_per_key(read.cells)
    fmt = detect_format(cells, meta.year)
    summary = stats.from_cells(cells)
    have = {s.key for s in summary}
    summary += [s for s in narrative.narrative_stats(doc.text) if s.key not in have]
    found = checks.run_checks(cells, fmt, doc.text, meta, level)
    return Figures(
        format=fmt,
        cells=cells,
        stats=summary,
        checks=found + _ambiguous(read.ambiguous) + ([conflict] if conflict else []),
    )


def one_cell_per_key(cells: list[Cell]) -> tuple[list[Cell], Check | None]:
    """The first cell of each (section, row_key, col_key); a later one with another value (a
    table printed twice with different figures, two labels read as one key) is not stored as a
    second cell but reported as a failed check naming both values."""
    kept: dict[tuple[str, str, str], Cell] = {}
    clashes: list[str] = []
    for cell in cells:
        key = (cell.section, cell.row_key, cell.col_key)
        first = kept.setdefault(key, cell)
        if first is not cell:
            clashes.append(f"{'.'.join(key)}: {first.raw!r} kept, {cell.raw!r} also printed")
    if not clashes:
        return cells, None
    return list(kept.values()), Check("cell_conflict", False, "; ".join(clashes))


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
