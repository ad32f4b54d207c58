"""Cells of the 2019/2021 table-format reports, from grids of any source (HTML, DOCX, PDF, text).

Rows are read in document order with a small state machine: a header row opens a section
(二 proactive, 三 requests, 四 appeals) and names its columns; a data row is a label followed
by values. Grids from HTML/DOCX/PDF keep positions, so columns are matched by position;
tables flattened to `|` text lose leading blank cells, so their columns follow the official
order of the labels their header names. Unknown labels are kept and flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from postprocess.extract import labels as L
from postprocess.extract.model import Cell, Table
from postprocess.extract.values import parse_value


def split_row(row: list[str]) -> tuple[str, list[str], int]:
    """(label, values, index of the first value): the label is every text cell up to the
    last cell that is not a figure; merged-cell repeats are joined once."""
    last = -1
    for i, cell in enumerate(row):
        if cell.strip() and parse_value(cell).value is None:
            last = i
    parts: list[str] = []
    for cell in row[: last + 1]:
        text = cell.strip()
        if text and text not in parts:
            parts.append(text)
    return " ".join(parts), row[last + 1 :], last + 1


def _has_figures(values: list[str]) -> bool:
    return any(v.strip() for v in values)


def _joined(row: list[str]) -> str:
    return L.norm_label("".join(row))


@dataclass
class _State:
    section: str | None = None
    proactive_cols: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    request_header: list[list[str]] = field(default_factory=list)
    request_started: bool = False
    proactive_positions: list[tuple[str, str] | None] = field(default_factory=list)
    group: str | None = None
    appeal_header: list[list[str]] = field(default_factory=list)
    source: str = "html"


def table_cells(tables: list[Table]) -> list[Cell]:
    """Every cell of the report tables among `tables`, in reading order."""
    state = _State()
    cells: list[Cell] = []
    for table in tables:
        state.source = table.source
        for row in table.rows:
            cells.extend(_read_row(state, [c or "" for c in row]))
    return _dedupe(cells)


def _dedupe(cells: list[Cell]) -> list[Cell]:
    """Drop exact repeats (a table printed twice); conflicting repeats are both kept."""
    seen: set[tuple] = set()
    result = []
    for cell in cells:
        key = (cell.section, cell.row_key, cell.col_key, cell.value)
        if key in seen:
            continue
        seen.add(key)
        result.append(cell)
    return result


def _read_row(state: _State, row: list[str]) -> list[Cell]:
    label, values, first = split_row(row)
    joined = _joined(row)
    figures = _has_figures(values)
    if "第二十条" in joined and not figures:
        state.section, state.proactive_cols = "proactive", []
        return []
    if "信息内容" in joined:
        state.section = "proactive"
        state.proactive_cols = _proactive_cols(row)
        state.proactive_positions = _proactive_positions(row)
        return []
    continues_header = (
        state.section == "requests"
        and not state.request_started
        and L.match(joined, L.REQUEST_COLS) is not None
    )
    if not figures and (
        any(m in joined for m in L.REQUEST_MARKERS) or "自然人" in joined or continues_header
    ):
        if state.section != "requests" or state.request_started:
            state.request_header, state.request_started, state.group = [], False, None
        state.section = "requests"
        state.request_header.append(row)
        return []
    if not figures and (
        "行政复议" in joined
        or "行政诉讼" in joined
        or (state.section == "appeals" and "结果维持" in joined)
    ):
        if state.section != "appeals":
            state.appeal_header = []
        state.section = "appeals"
        state.appeal_header.append(row)
        return []
    if state.section == "proactive":
        return _proactive_row(state, row, label, values, first)
    if state.section == "requests":
        return _request_row(state, row, label, values, first)
    if state.section == "appeals" and figures:
        return _appeal_row(state, row, values, first)
    return []


# --- section 二 -----------------------------------------------------------------------


def _proactive_cols(row: list[str]) -> list[tuple[str, str]]:
    start = next(i for i, c in enumerate(row) if "信息内容" in L.norm_label(c)) + 1
    cols: list[tuple[str, str]] = []
    prev = None
    for cell in row[start:]:
        text = cell.strip()
        if not text or text == prev:
            continue
        prev = text
        key = L.match(text, L.PROACTIVE_COLS)
        cols.append((key or f"unknown:{L.norm_label(text)}", text))
    return cols


def _proactive_positions(row: list[str]) -> list[tuple[str, str] | None]:
    """Column key of each grid position of a 信息内容 header row (None: label or blank)."""
    start = next(i for i, c in enumerate(row) if "信息内容" in L.norm_label(c)) + 1
    out: list[tuple[str, str] | None] = [None] * start
    for cell in row[start:]:
        text = cell.strip()
        key = L.match(text, L.PROACTIVE_COLS) if text else None
        out.append((key or f"unknown:{L.norm_label(text)}", text) if text else None)
    return out


def _proactive_row(
    state: _State, row: list[str], label: str, values: list[str], first: int
) -> list[Cell]:
    if not label and not _has_figures(values):
        return []
    row_key = L.match(label, L.PROACTIVE_ROWS)
    known_row = row_key is not None
    row_key = row_key or f"unknown:{L.norm_label(label)}"
    cells: list[Cell] = []
    positions = state.proactive_positions
    if state.source != "text" and any(positions[first:]):
        used: set[str] = set()
        for j in range(first, len(row)):
            col = positions[j] if j < len(positions) else None
            raw = row[j]
            if col is None:
                if not raw.strip():
                    continue  # an extra blank column
                col = (f"unknown:col{j + 1}", "")
            if col[0] in used:
                continue  # a value cell merged across columns under one merged header
            used.add(col[0])
            cells.append(
                _cell(
                    "proactive",
                    row_key,
                    col[0],
                    raw,
                    label,
                    col[1],
                    known_row and not col[0].startswith("unknown:"),
                )
            )
        return cells
    for col_key, col_label, raw in _by_position(values, state.proactive_cols):
        cells.append(
            _cell(
                "proactive",
                row_key,
                col_key,
                raw,
                label,
                col_label,
                known_row and not col_key.startswith("unknown:"),
            )
        )
    return cells


def _by_position(values: list[str], cols: list[tuple[str, str]]):
    """(col_key, col_label, raw) by column position; values past the known columns are kept
    as unknown columns unless blank (the extra empty columns of seed 002)."""
    for i, raw in enumerate(values):
        if i < len(cols):
            yield cols[i][0], cols[i][1], raw
        elif raw.strip():
            yield f"unknown:col{i + 1}", "", raw


# --- section 三 -----------------------------------------------------------------------


def _request_cols_positional(header: list[list[str]], width: int) -> list[tuple[str, str] | None]:
    cols: list[tuple[str, str] | None] = []
    for j in range(width):
        found: tuple[str, str] | None = None
        for row in header:
            text = row[j].strip() if j < len(row) else ""
            if not text or any(p in L.norm_label(text) for p in L.REQUEST_COL_PARENTS):
                continue
            key = L.match(text, L.REQUEST_COLS)
            found = (key or f"unknown:{L.norm_label(text)}", text)
        cols.append(found)
    return cols


def _request_cols_ordered(header: list[list[str]]) -> list[tuple[str, str]]:
    """Columns of a flattened header: known ones in the official order, unknown after."""
    known: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []
    for row in header:
        for cell in row:
            text = cell.strip()
            if not text or any(p in L.norm_label(text) for p in L.REQUEST_COL_PARENTS):
                continue
            key = L.match(text, L.REQUEST_COLS)
            if key:
                known.setdefault(key, text)
            elif (f"unknown:{L.norm_label(text)}", text) not in unknown:
                unknown.append((f"unknown:{L.norm_label(text)}", text))
    return [(k, known[k]) for k in L.REQUEST_COL_ORDER if k in known] + unknown


def _request_row(
    state: _State, row: list[str], label: str, values: list[str], first: int
) -> list[Cell]:
    state.request_started = True
    row_key, state.group = L.request_row(label, state.group)
    figures = _has_figures(values)
    if row_key is None and not figures:
        return []  # a group label such as （三）不予公开 on a row of its own
    if row_key == "other" and not figures and state.source == "text":
        return []
    known_row = row_key is not None
    row_key = row_key or f"unknown:{L.norm_label(label)}"
    cells = []
    if state.source != "text" and state.request_header:
        cols = _request_cols_positional(state.request_header, len(row))
        if any(c for c in cols[first:]):
            for j in range(first, len(row)):
                col = cols[j] if j < len(cols) else None
                raw = row[j]
                if col is None:
                    if raw.strip():
                        col = (f"unknown:col{j + 1}", "")
                    else:
                        continue
                cells.append(
                    _cell(
                        "requests",
                        row_key,
                        col[0],
                        raw,
                        label,
                        col[1],
                        known_row and not col[0].startswith("unknown:"),
                    )
                )
            return cells
    ordered = (
        _request_cols_ordered(state.request_header)
        if state.request_header
        else [(k, "") for k in L.REQUEST_COL_ORDER]
    )
    for col_key, col_label, raw in _by_position(values, ordered):
        cells.append(
            _cell(
                "requests",
                row_key,
                col_key,
                raw,
                label,
                col_label,
                known_row and not col_key.startswith("unknown:") and bool(state.request_header),
            )
        )
    return cells


# --- section 四 -----------------------------------------------------------------------


def _appeal_cols_positional(header: list[list[str]], width: int) -> list[tuple[str, str, str]]:
    cols = []
    for j in range(width):
        group = col = None
        label = ""
        for row in header:
            text = row[j].strip() if j < len(row) else ""
            if not text:
                continue
            g = L.match(text, L.APPEAL_GROUPS)
            if g:
                group = g
            c = L.match(text, L.APPEAL_COLS)
            if c:
                col, label = c, text
        if group and col:
            cols.append((group, col, label))
        else:
            cols.append(("", "", ""))
    return cols


def _appeal_cols_ordered(header: list[list[str]]) -> list[tuple[str, str, str]]:
    text = "".join(_joined(r) for r in header)
    groups = []
    if "行政复议" in text.replace("复议后", "").replace("未经复议", ""):
        groups.append("review")
    if "未经复议" in text or "直接起诉" in text:
        groups.append("litigation_direct")
    if "复议后" in text:
        groups.append("litigation_after_review")
    cols = [c for c in L.APPEAL_COL_ORDER if any(f in text for f, k in L.APPEAL_COLS if k == c)]
    return [(g, c, "") for g in groups for c in cols]


def _appeal_row(state: _State, row: list[str], values: list[str], first: int) -> list[Cell]:
    cells = []
    header = state.appeal_header
    if state.source != "text" and header:
        cols = _appeal_cols_positional(header, len(row))
        mapped = [(j, cols[j]) for j in range(first, len(row)) if j < len(cols) and cols[j][0]]
        if len(mapped) >= len([v for v in values if v.strip()]):
            for j, (group, col, label) in mapped:
                cells.append(_cell("appeals", group, col, row[j], group, label, True))
            return cells
    ordered = _appeal_cols_ordered(header) if header else []
    for i, raw in enumerate(values):
        if i < len(ordered):
            group, col, _ = ordered[i]
            cells.append(_cell("appeals", group, col, raw, group, col, True))
        elif raw.strip():
            cells.append(
                _cell("appeals", f"unknown:col{i + 1}", f"unknown:col{i + 1}", raw, "", "", False)
            )
    return cells


# --- cells ----------------------------------------------------------------------------

_MONEY_IN_LABEL = re.compile(r"万元|亿元|\(元\)|（元）")


def _cell(
    section: str, row_key: str, col_key: str, raw: str, row_label: str, col_label: str, known: bool
) -> Cell:
    money = col_key in L.MONEY_COLS
    parsed = parse_value(raw, money=money)
    unit = parsed.unit
    if money and not re.search(r"[万亿]?元", raw):
        unit = "元" if "（元）" in col_label or "(元)" in col_label else "万元"
        if unit == "元" and parsed.value is not None:
            parsed = parse_value(raw + "元", money=True)
    return Cell(
        section=section,
        row_key=row_key,
        col_key=col_key,
        value=parsed.value,
        raw=raw.strip(),
        unit=unit,
        row_label=row_label,
        col_label=col_label,
        known=known and parsed.value is not None,
    )
