"""Cells of the 2019/2021 table-format reports, from grids of any source (HTML, DOCX, PDF, text).

Rows are read in document order with a small state machine: rows whose labels name the
template's parts open a section (二 proactive, 三 requests, 四 appeals) and name its columns;
a data row is a label followed by values. Sections 三 and 四 are read whole: the column
assignment given by the header text (by grid position, or by the official order for tables
flattened to text) competes with shifted assignments, and the template's arithmetic (总计
column, （七）总计 row, 新收 + 上年结转 = 办理 + 结转) picks the one that satisfies the most
equations; rows whose digits ran together are cut by the same sums. Each cell records how
it was read (`method`). Unknown labels are kept and flagged; ambiguous rows are reported,
never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

from postprocess.extract import labels as L
from postprocess.extract import split as S
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
class _Row:
    """A data row of section 三 or 四, kept until the section is read whole."""

    row_key: str | None  # canonical row (三) or group (四, rows printed one per group)
    label: str
    row: list[str]
    first: int
    source: str
    table: int = 0  # index of the table (fragment) the row came from


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
    table: int = 0
    pending: list[_Row] = field(default_factory=list)
    dangling: str = ""  # label text waiting for its figures (a label wrapped around them)
    awaiting: _Row | None = None  # figures whose label may continue on the next line
    cells: list[Cell] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


@dataclass
class TableRead:
    """The cells of a report's tables, and the rows that could not be read unambiguously."""

    cells: list[Cell]
    ambiguous: list[str]  # '<section> <label>: <raw>' of rows left out


def read_tables(tables: list[Table]) -> TableRead:
    """Every cell of the report tables among `tables`, in reading order."""
    state = _State()
    for index, table in enumerate(tables):
        state.source, state.table = table.source, index
        for row in table.rows:
            state.cells.extend(_read_row(state, [c or "" for c in row]))
    _close(state)
    return TableRead(_dedupe(state.cells), state.ambiguous)


def table_cells(tables: list[Table]) -> list[Cell]:
    """Every cell of the report tables among `tables`, in reading order."""
    return read_tables(tables).cells


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


def _close(state: _State) -> None:
    """Read the buffered rows of the open section 三 or 四."""
    if state.pending:
        if state.section == "requests":
            state.cells.extend(_resolve_requests(state, state.pending))
        elif state.section == "appeals":
            state.cells.extend(_resolve_appeals(state, state.pending))
    state.pending = []


def _starts_requests(label: str) -> bool:
    """A data row of 三 met outside it (a table whose header was lost or never printed)."""
    key, _ = L.request_row(label, None)
    return key in ("new", "carried_over")


def _read_row(state: _State, row: list[str]) -> list[Cell]:
    label, values, first = split_row(row)
    joined = _joined(row)
    figures = _has_figures(values)
    if "第二十条" in joined and not figures:
        _close(state)
        state.section, state.proactive_cols = "proactive", []
        return []
    if "信息内容" in joined:
        _close(state)
        state.section = "proactive"
        state.proactive_cols = _proactive_cols(row)
        state.proactive_positions = _proactive_positions(row)
        return []
    # before its first data row, every row of 三 without figures is header (商业 / 企业)
    continues_header = state.section == "requests" and not state.request_started and bool(joined)
    if not figures and (
        any(m in joined for m in L.REQUEST_MARKERS) or "自然人" in joined or continues_header
    ):
        if state.section != "requests" or state.request_started:
            _close(state)
            state.request_header, state.request_started, state.group = [], False, None
        state.section = "requests"
        state.request_header.append(row)
        return []
    if not figures and (
        "行政复议" in joined
        or "行政诉讼" in joined
        or (state.section == "appeals" and ("结果维持" in joined or not state.pending))
    ):
        if state.section != "appeals":
            _close(state)
            state.appeal_header = []
        state.section = "appeals"
        state.appeal_header.append(row)
        return []
    if not figures and any(t in joined for t in L.REQUEST_TITLES):
        _close(state)  # the section title 三、收到和处理政府信息公开申请情况 on its own
        state.section, state.request_header, state.group = "requests", [], None
        state.request_started = False
        return []
    if figures and state.section != "requests" and _starts_requests(label):
        _close(state)
        state.section, state.request_header, state.group = "requests", [], None
        state.request_started = False
    if state.section == "proactive":
        return _proactive_row(state, row, label, values, first)
    if state.section == "requests" and state.source in WRAPPING_SOURCES:
        if _wrapped_label(state, label, row, first, figures):
            return []
    if state.section == "requests":
        state.request_started = True
        row_key, state.group = L.request_row(label, state.group)
        if row_key is None and not figures:
            return []  # a group label such as （三）不予公开 on a row of its own
        if row_key == "other" and not figures and state.source in ORDER_SOURCES:
            return []
        state.pending.append(_Row(row_key, label, row, first, state.source, state.table))
        return []
    if state.section == "appeals" and figures:
        group = L.match(label, L.APPEAL_GROUPS) if label else None
        state.pending.append(_Row(group, label, row, first, state.source, state.table))
    return []


# text and unruled PDFs print a long label on lines above and below its figures
WRAPPING_SOURCES = ("text", "plain", "pdfwords")
# tables flattened to text: columns follow the order of the figures, not grid positions
ORDER_SOURCES = ("text", "plain", "celllines")
# a row shorter than the columns left its blank cells out: where they were is unknown
GAPPED_SOURCES = ("plain", "celllines")


def _wrapped_label(state: _State, label: str, row: list[str], first: int, figures: bool) -> bool:
    """Re-join a label wrapped around its figures; True when the row was taken up here."""
    if not state.request_started:
        return False
    if figures:
        state.awaiting = None
        if label and (not state.dangling or L.request_row(label, state.group)[0]):
            state.dangling = ""
            return False
        # figures without a label, or with a label's second half: the label starts on the
        # line above and may continue below
        full = state.dangling + label
        state.dangling = ""
        key, state.group = L.request_row(full, state.group) if full else (None, state.group)
        r = _Row(key, full, row, first, state.source, state.table)
        state.pending.append(r)
        state.awaiting = r
        return True
    if state.awaiting is not None:
        r, state.awaiting = state.awaiting, None
        r.label = r.label + label
        r.row_key, state.group = L.request_row(r.label, state.group)
        return True
    key, group = L.request_row(label, state.group)
    if group is not None and group != state.group and key in (None, group):
        state.group, state.dangling = group, ""  # a group label on a line of its own
        return True
    state.dangling += label
    return True


# --- section 二 -----------------------------------------------------------------------


def _proactive_cols(row: list[str]) -> list[tuple[str, str]]:
    """Columns named after 信息内容, in order; a cell naming several (their labels ran
    together, 信息内容 included) gives each."""
    start = next(i for i, c in enumerate(row) if "信息内容" in L.norm_label(c))
    rest = L.norm_label(row[start]).split("信息内容", 1)[1]
    cols: list[tuple[str, str]] = []
    prev = None
    for cell in [rest, *row[start + 1 :]]:
        text = cell.strip()
        if not text or text == prev:
            continue
        prev = text
        found = L.match_all(text, L.PROACTIVE_COLS)
        if len(found) > 1:
            cols.extend(found)
            continue
        key = L.match(text, L.PROACTIVE_COLS)
        cols.append((key or f"unknown:{L.norm_label(text)}", text))
    if any(k.startswith("unknown:") for k, _ in cols):
        # labels cut at the wrong places (本年新 / 制作数量本年新 / 公开数量): read them joined
        joined = L.match_all("".join(t for _, t in cols), L.PROACTIVE_COLS)
        if len(joined) > sum(1 for k, _ in cols if not k.startswith("unknown:")):
            return joined
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


def _value_tokens(values: list[str]) -> list[str] | None:
    """The value cells of a row without its trailing blanks; None when a blank sits inside."""
    tokens = [v.strip() for v in values]
    while tokens and not tokens[-1]:
        tokens.pop()
    return None if any(not t for t in tokens) else tokens


_GLUED_FIGURES = re.compile(r"\d[\d+\-.,]*[+\-][\d+\-.,]*\d(?:万元|亿元|元)?$")


def _proactive_row(
    state: _State, row: list[str], label: str, values: list[str], first: int
) -> list[Cell]:
    if not label and not _has_figures(values):
        return []
    row_key = L.match(label, L.PROACTIVE_ROWS)
    known_row = row_key is not None
    if not _has_figures(values) and (not known_row or state.source in WRAPPING_SOURCES):
        # a title or note between the tables; in text, a label whose figures are not on its
        # line gives no zeros, and figures glued to it with signs (行政许可153+213214) that no
        # rule can cut are reported
        glued = _GLUED_FIGURES.search(L.norm_label(label))
        if known_row and glued:
            state.ambiguous.append(f"proactive {label}: {glued.group(0)}")
        return []
    row_key = row_key or f"unknown:{L.norm_label(label)}"
    cols = state.proactive_cols
    tokens = _value_tokens(values)
    known_cols = [c for c in cols if not c[0].startswith("unknown:")]
    if (
        state.source in GAPPED_SOURCES
        and tokens
        and len(tokens) < len(known_cols)
        and (state.source == "celllines" or not S.is_run(tokens, len(cols)))
    ):
        # fewer figures than columns where a blank cell leaves no trace: which is missing?
        state.ambiguous.append(f"proactive {label}: {' '.join(tokens)}")
        return []
    if cols and tokens and S.is_run(tokens, len(cols)):
        # no sums tie the cells of section 二 together: only a cut into single digits is sure
        try:
            found = S.splits(tokens, len(cols))
        except S.TooManyCuts:
            found = []
        if len(found) != 1:
            state.ambiguous.append(f"proactive {label}: {' '.join(tokens)}")
            return []
        return [
            _cell("proactive", row_key, key, raw, label, text, known_row, "split")
            for (key, text), raw in zip(cols, found[0], strict=True)
        ]
    cells: list[Cell] = []
    positions = state.proactive_positions
    if state.source not in ORDER_SOURCES and any(positions[first:]):
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
            cells.append(_cell("proactive", row_key, col[0], raw, label, col[1], known_row))
        return cells
    for col_key, col_label, raw in _by_position(values, cols):
        cells.append(_cell("proactive", row_key, col_key, raw, label, col_label, known_row))
    return cells


def _by_position(values: list[str], cols: list[tuple[str, str]]):
    """(col_key, col_label, raw) by column position; values past the known columns are kept
    as unknown columns unless blank (the extra empty columns of seed 002)."""
    for i, raw in enumerate(values):
        if i < len(cols):
            yield cols[i][0], cols[i][1], raw
        elif raw.strip():
            yield f"unknown:col{i + 1}", "", raw


# --- reading a whole section by its arithmetic -----------------------------------------

Mapping = list[tuple[str, str, str]]  # (col_key, col_label, raw) of one row


def _positional(cols: list[tuple[str, str] | None], shift: int, fallback):
    """A row read by grid position under header columns moved `shift` places right."""

    columns_at: dict[int, list[tuple[str, str] | None]] = {}  # by row width

    def read(r: _Row) -> Mapping:
        at = columns_at.get(len(r.row))
        if at is None:
            at = columns_at[len(r.row)] = [
                cols[j - shift] if 0 <= j - shift < len(cols) else None for j in range(len(r.row))
            ]
        if not any(at[r.first :]):
            return fallback(r)
        out: Mapping = []
        for j in range(r.first, len(r.row)):
            col, raw = at[j], r.row[j]
            if col is None:
                if raw.strip():
                    out.append((f"unknown:col{j + 1}", "", raw))
                continue
            out.append((col[0], col[1], raw))
        return out

    return read


def _ordered(cols: list[tuple[str, str]], skip_blank_lead: bool = False):
    """A row read by the order of its values (tables flattened to text); optionally
    without the blank cells before its first value (an empty label column)."""

    def read(r: _Row) -> Mapping:
        values = r.row[r.first :]
        if skip_blank_lead:
            while values and not values[0].strip():
                values = values[1:]
        return list(_by_position(values, cols))

    return read


def _known_values(r: _Row, mapping: Mapping) -> list[tuple[tuple[str, str], float]]:
    """((row_key, col_key), value) of the cells of a row that count in the section's sums."""
    row_key = r.row_key
    if row_key is None:
        return []
    out = []
    for col_key, _, raw in mapping:
        value = parse_value(raw).value
        if value is not None and not col_key.startswith("unknown:"):
            out.append(((row_key, col_key), value))
    return out


def _tally(equations: list[tuple[list[float], list[float]]]) -> int:
    """Equations that hold minus those that fail; all-zero equations say nothing."""
    score = 0
    for left, right in equations:
        if not any(left) and not any(right):
            continue
        score += 1 if sum(left) == sum(right) else -1
    return score


def _choose(rows: list[_Row], candidates: list[tuple[str, object]], score):
    """(method of each row, rows with their mapping, score).

    Each table (a fragment of the section, a page) is read by the header's reading unless
    another candidate makes the whole section satisfy more of the template's equations
    (or as many, reading more known cells) without reading fewer known cells in that table;
    tables are improved one at a time until nothing changes."""
    readings = [[read(r) for r in rows] for _, read in candidates]  # type: ignore[operator]
    # each row's known cells under each reading, parsed once (and once for readings that map
    # every row alike): the search below assembles the section's grid for every trial
    values: list[list[list[tuple[tuple[str, str], float]]]] = []
    for i, reading in enumerate(readings):
        same = next((j for j in range(i) if readings[j] == reading), None)
        values.append(
            values[same]
            if same is not None
            else [_known_values(r, m) for r, m in zip(rows, reading, strict=True)]
        )
    tables = list(dict.fromkeys(r.table for r in rows))
    rows_of = {t: [k for k, r in enumerate(rows) if r.table == t] for t in tables}

    def assemble(choice: dict[int, int]) -> list[tuple[_Row, Mapping]]:
        return [(r, readings[choice[r.table]][k]) for k, r in enumerate(rows)]

    def grid(choice: dict[int, int]) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for k, r in enumerate(rows):
            for key, value in values[choice[r.table]][k]:
                out.setdefault(key, value)
        return out

    counted: dict[tuple[int, int], int] = {}

    def known(table: int, i: int) -> int:
        if (table, i) not in counted:
            picked: dict[tuple[str, str], float] = {}
            for k in rows_of[table]:
                for key, value in values[i][k]:
                    picked.setdefault(key, value)
            counted[(table, i)] = len(picked)
        return counted[(table, i)]

    choice = dict.fromkeys(tables, 0)
    best = score(grid(choice))
    improved = True
    while improved:
        improved = False
        for table in tables:
            floor = known(table, 0)
            for i in range(len(candidates)):
                if i == choice[table] or known(table, i) < floor:
                    continue
                if all(values[i][k] == values[choice[table]][k] for k in rows_of[table]):
                    continue  # the same cells as the current reading: neither better nor fuller
                trial = {**choice, table: i}
                value = score(grid(trial))
                # equal sums (an all-zero table): the reading that leaves no cell unread
                if value > best or (
                    value == best and known(table, i) > known(table, choice[table])
                ):
                    best, choice, improved = value, trial, True
    methods = [candidates[0][0] if choice[r.table] == 0 else "arithmetic" for r in rows]
    return methods, assemble(choice), best


def _emit(section: str, mapped: list[tuple[_Row, Mapping]], method: str, known_cols: bool):
    cells = []
    for r, mapping in mapped:
        known_row = r.row_key is not None
        row_key = r.row_key or f"unknown:{L.norm_label(r.label)}"
        for col_key, col_label, raw in mapping:
            known = known_row and known_cols and not col_key.startswith("unknown:")
            cells.append(_cell(section, row_key, col_key, raw, r.label, col_label, known, method))
    return cells


# --- section 三 -----------------------------------------------------------------------

_GENERIC_HEADER = re.compile(r"^(?:数据|列|栏|项|col(?:umn)?|data)\s*\d+$", re.I)


def _stacked(header: list[list[str]], j: int, drop: tuple[str, ...] = ()) -> str:
    """The header texts of column j read top to bottom (a label wrapped over header rows)."""
    parts: list[str] = []
    for row in header:
        text = L.norm_label(row[j]) if j < len(row) else ""
        for d in drop:
            text = text.replace(d, "")
        if text and (not parts or parts[-1] != text):
            parts.append(text)
    return "".join(parts)


def _request_cols_positional(header: list[list[str]], width: int) -> list[tuple[str, str] | None]:
    """Column of each grid position: the lowest header cell naming one, else the column's
    header cells read top to bottom (商业 / 企业), else the last unknown header text."""
    cols: list[tuple[str, str] | None] = []
    for j in range(width):
        known: tuple[str, str] | None = None
        unknown: tuple[str, str] | None = None
        for row in header:
            text = row[j].strip() if j < len(row) else ""
            if (
                not text
                or _GENERIC_HEADER.match(text)
                or any(p in L.norm_label(text) for p in L.REQUEST_COL_PARENTS)
            ):
                continue
            key = L.match(text, L.REQUEST_COLS)
            if key:
                known = (key, text)
            else:
                unknown = (f"unknown:{L.norm_label(text)}", text)
        if known is None:
            stacked = _stacked(header, j, L.REQUEST_COL_PARENTS)
            key = L.match(stacked, L.REQUEST_COLS) if stacked else None
            known = (key, stacked) if key else None
        cols.append(known or unknown)
    return cols


def _request_cols_ordered(header: list[list[str]]) -> list[tuple[str, str]]:
    """Columns of a flattened header: known ones in the official order, unknown after."""
    known: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []
    for row in header:
        for cell in row:
            text = cell.strip()
            if not text or _GENERIC_HEADER.match(text):
                continue
            if any(p in L.norm_label(text) for p in L.REQUEST_COL_PARENTS):
                # a header whose cells ran together: 自然人法人或其他组织总计
                rest = L.norm_label(text)
                for parent in (*L.REQUEST_COL_PARENTS, "本列数据的勾稽关系为"):
                    rest = rest.replace(parent, "")
                for key, fragment in L.match_all(rest, L.REQUEST_COLS):
                    known.setdefault(key, fragment)
                continue
            found = L.match_all(text, L.REQUEST_COLS)
            if len(found) > 1:
                for key, fragment in found:
                    known.setdefault(key, fragment)
                continue
            matched = L.match(text, L.REQUEST_COLS)
            if matched:
                known.setdefault(matched, text)
            elif (f"unknown:{L.norm_label(text)}", text) not in unknown:
                unknown.append((f"unknown:{L.norm_label(text)}", text))
    return [(k, known[k]) for k in L.REQUEST_COL_ORDER if k in known] + unknown


APPLICANTS = L.REQUEST_COL_ORDER[:-1]
RESULT_PREFIXES = ("granted", "partial", "denied_", "unable_", "rejected_", "other")


def _result_rows(keys) -> list[str]:
    rows = [k for k in keys if k.startswith(RESULT_PREFIXES)]
    if "other" in rows:
        rows = [k for k in rows if not k.startswith("other_")]
    return rows


def _request_score(grid: dict[tuple[str, str], float]) -> int:
    equations: list[tuple[list[float], list[float]]] = []
    row_keys = list(dict.fromkeys(r for r, _ in grid))
    for row in row_keys:
        if all((row, c) in grid for c in L.REQUEST_COL_ORDER):
            equations.append(([grid[(row, c)] for c in APPLICANTS], [grid[(row, "total")]]))
    results = _result_rows(row_keys)
    for col in L.REQUEST_COL_ORDER:
        keys = [(r, col) for r in ("new", "carried_over", "total_handled", "carried_forward")]
        if all(k in grid for k in keys):
            a, b, c, d = (grid[k] for k in keys)
            equations.append(([a, b], [c, d]))
        parts = [grid[(r, col)] for r in results if (r, col) in grid]
        if ("total_handled", col) in grid and parts:
            equations.append((parts, [grid[("total_handled", col)]]))
    return _tally(equations)


def _column_readings(positional, ordered, template, header_known: bool) -> list[tuple[str, object]]:
    """The column readings a table section competes with (the report's sums choose): the
    header's positions and the same shifted by one or two, the header's order (also skipping
    a blank lead cell), and the template's order where the header came in fragments."""
    candidates: list[tuple[str, object]] = []
    if any(positional):
        fallback = _ordered(ordered)
        candidates.append(("header", _positional(positional, 0, fallback)))
        for shift in (-1, 1, -2, 2):
            candidates.append(("arithmetic", _positional(positional, shift, fallback)))
    candidates.append(("header" if header_known else "arithmetic", _ordered(ordered)))
    candidates.append(("arithmetic", _ordered(ordered, skip_blank_lead=True)))
    if [k for k, _ in ordered] != [k for k, _ in template]:
        candidates.append(("arithmetic", _ordered(template)))
        candidates.append(("arithmetic", _ordered(template, skip_blank_lead=True)))
    return candidates


def _resolve_requests(state: _State, rows: list[_Row]) -> list[Cell]:
    header = state.request_header
    ordered = _request_cols_ordered(header) if header else []
    header_known = any(not k.startswith("unknown:") for k, _ in ordered)
    if not header_known:
        ordered = [(k, "") for k in L.REQUEST_COL_ORDER]  # no header, or generic 数据1…数据6
    plain, split_mapped = _split_rows(state, "requests", rows, ordered, _request_equations)
    width = max(len(r.row) for r in rows)
    positional = (
        _request_cols_positional(header, width)
        if header and any(r.source not in ORDER_SOURCES for r in rows)
        else []
    )
    template = [(k, "") for k in L.REQUEST_COL_ORDER]
    candidates = _column_readings(positional, ordered, template, header_known)
    methods, mapped, score = _choose(plain, candidates, _request_score) if plain else ([], [], 0)
    # without a header naming the columns, only the arithmetic vouches for the order
    known_cols = header_known or score > 0
    by_row = {
        id(r): _emit("requests", [(r, m)], method, known_cols)
        for (r, m), method in zip(mapped, methods, strict=True)
    }
    out: list[Cell] = []
    for i, r in enumerate(rows):
        if i in split_mapped:
            out += _emit("requests", [(r, split_mapped[i])], _cut_method(r), True)
        else:
            out += by_row.get(id(r), [])
    return out


def _request_equations(keys: list[str]) -> list[tuple[list[str], list[str]]]:
    equations = [(["new", "carried_over"], ["total_handled", "carried_forward"])]
    results = _result_rows(keys)
    if results:
        equations.append((results, ["total_handled"]))
    return equations


def _split_rows(state: _State, section: str, rows: list[_Row], ordered, equations):
    """Rows whose digits ran together, cut by the row sums and then the column sums.

    Returns the other rows, and the mapping of each cut row by its index. A row with several
    readings left is recorded in `state.ambiguous` and left out."""
    cols = [(k, t) for k, t in ordered if not k.startswith("unknown:")]
    count = len(cols)
    keys = [k for k, _ in cols]
    ok: Callable[[list[int]], bool] | None
    if section == "requests":
        ok = S.last_is_sum if keys == L.REQUEST_COL_ORDER else None
    else:
        totals = [k.partition("/")[2] for k in keys[4::5]]  # appeals keys are 'group/col'
        ok = S.groups_sum(5) if count % 5 == 0 and totals == ["total"] * (count // 5) else None
    runs: dict[int, list[list[str]]] = {}
    for i, r in enumerate(rows):
        tokens = _value_tokens(r.row[r.first :])
        if r.source == "celllines":
            if tokens and len(tokens) < count:
                runs[i] = _placements(tokens, count, ok)  # cells left out: only sums place them
            continue
        if tokens and S.is_run(tokens, count):
            try:
                found = S.splits(tokens, count, ok)
                if not found and len(tokens) > 1:
                    # spaces a copy-paste left inside a number (44 77000 0454): the run as one
                    found = S.splits(["".join(tokens)], count, ok)
            except S.TooManyCuts:
                found = []  # too many readings to tell apart: left out and flagged below
            if found or len(tokens) == 1:
                runs[i] = found  # several figures that no cut makes add up: not a run

    if not runs:
        return rows, {}
    # column sums: every row of the section as a vector, the open ones with all their cuts
    vectors: dict[str, list[list[int]]] = {}
    for i, r in enumerate(rows):
        if r.row_key is None:
            continue
        if i in runs:
            vectors[r.row_key] = [_vector(cut) for cut in runs[i]]
            continue
        if r.source == "celllines" and not _value_tokens(r.row[r.first :]):
            vectors[r.row_key] = [[0] * count]  # every cell left blank: it adds nothing
            continue
        mapping = list(_by_position(r.row[r.first :], cols))
        values = [parse_value(raw).value for _, _, raw in mapping[:count]]
        if len(values) == count and all(v is not None and float(v).is_integer() for v in values):
            vectors[r.row_key] = [[int(v) for v in values]]  # type: ignore[arg-type]
    narrowed = S.narrow(vectors, equations(list(vectors)))
    plain: list[_Row] = []
    cells: dict[int, Mapping] = {}
    for i, r in enumerate(rows):
        if i not in runs:
            plain.append(r)
            continue
        left = narrowed.get(r.row_key or "", [_vector(c) for c in runs[i]])
        # placements of a short row that read the same (a 0 in either of two blank cells)
        # stay apart: each is a different claim about the printed table
        readings = [c for c in runs[i] if _vector(c) in left]
        raw = " ".join(_value_tokens(r.row[r.first :]) or [])
        if len(readings) != 1:
            why = f"{len(readings)} readings" if readings else "no reading adds up"
            state.ambiguous.append(f"{section} {r.label}: {raw} ({why})")
            continue
        cut, vector = readings[0], _vector(readings[0])
        cells[i] = [(k, t, str(n)) for (k, t), p, n in zip(cols, cut, vector, strict=True) if p]
    return plain, cells


def _cut_method(r: _Row) -> str:
    """A run cut into cells ('split'), or a short row placed by the sums ('arithmetic')."""
    return "arithmetic" if r.source == "celllines" else "split"


MAX_PLACEMENTS = 20000  # a short row of section 四 has at most C(15, 7) = 6435


def _placements(tokens: list[str], count: int, ok) -> list[list[str]]:
    """Every way to put a short row's figures, in order, into `count` columns ("" for a cell
    left out) whose row sum holds with the left-out cells read as 0."""
    values = [parse_value(t).value for t in tokens]
    if any(v is None or not float(v).is_integer() for v in values):
        return []
    if comb(count, len(tokens)) > MAX_PLACEMENTS:
        return []
    out = []
    for at in combinations(range(count), len(tokens)):
        cut = [""] * count
        for j, token in zip(at, tokens, strict=True):
            cut[j] = token
        if ok is None or ok(_vector(cut)):
            out.append(cut)
    return out


def _vector(cut: list[str]) -> list[int]:
    return [int(parse_value(p).value or 0) if p else 0 for p in cut]


# --- section 四 -----------------------------------------------------------------------


def _appeal_cols_positional(header: list[list[str]], width: int) -> list[tuple[str, str] | None]:
    cols: list[tuple[str, str] | None] = []
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
        if group and not col:
            stacked = _stacked(header, j)
            col = L.match(stacked, L.APPEAL_COLS)
            label = stacked
        cols.append((f"{group}/{col}", label) if group and col else None)
    return cols


def _appeal_cols_ordered(header: list[list[str]]) -> list[tuple[str, str]]:
    text = "".join(_joined(r) for r in header)
    groups = []
    if "行政复议" in text.replace("复议后", "").replace("未经复议", ""):
        groups.append("review")
    if "未经复议" in text or "直接起诉" in text:
        groups.append("litigation_direct")
    if "复议后" in text:
        groups.append("litigation_after_review")
    cols = [c for c in L.APPEAL_COL_ORDER if any(f in text for f, k in L.APPEAL_COLS if k == c)]
    if len(cols) < len(L.APPEAL_COL_ORDER) - 1:
        cols = L.APPEAL_COL_ORDER  # column labels wrapped out of reach: the template's five
    return [(f"{g}/{c}", "") for g in groups for c in cols]


def _appeal_score(grid: dict[tuple[str, str], float]) -> int:
    equations = []
    for group in L.APPEAL_ROW_ORDER:
        keys = [(group, c) for c in L.APPEAL_COL_ORDER]
        if all(k in grid for k in keys):
            *parts, total = (grid[k] for k in keys)
            equations.append((parts, [total]))
    return _tally(equations)


def _appeal_equations(keys: list[str]) -> list[tuple[list[str], list[str]]]:
    return []  # the three groups share no column sums


def _resolve_appeals(state: _State, rows: list[_Row]) -> list[Cell]:
    header = state.appeal_header
    ordered = _appeal_cols_ordered(header) if header else []
    header_known = bool(ordered)
    if not ordered:
        ordered = [(f"{g}/{c}", "") for g in L.APPEAL_ROW_ORDER for c in L.APPEAL_COL_ORDER]
    by_group = [r for r in rows if r.row_key]  # printed one row per group
    flat = [_Row(None, r.label, r.row, r.first, r.source, r.table) for r in rows if not r.row_key]
    cells: list[Cell] = []
    if flat:
        plain, split_mapped = _split_rows(state, "appeals", flat, ordered, _appeal_equations)
        width = max(len(r.row) for r in flat)
        positional = (
            _appeal_cols_positional(header, width)
            if header and any(r.source not in ORDER_SOURCES for r in flat)
            else []
        )
        template = [(f"{g}/{c}", "") for g in L.APPEAL_ROW_ORDER for c in L.APPEAL_COL_ORDER]
        candidates = _column_readings(positional, ordered, template, header_known)
        grouped = [_Row("appeals", r.label, r.row, r.first, r.source, r.table) for r in plain]
        methods, mapped, _ = (
            _choose(grouped, candidates, _appeal_grid_score) if grouped else ([], [], 0)
        )
        for pair, method in zip(mapped, methods, strict=True):
            cells += _appeal_cells([pair], method)
        for i in sorted(split_mapped):
            cells += _appeal_cells([(flat[i], split_mapped[i])], _cut_method(flat[i]))
    for r in by_group:
        group_cols = [(f"{r.row_key}/{c}", c) for c in L.APPEAL_COL_ORDER]
        tokens = _value_tokens(r.row[r.first :])
        if r.source == "celllines" and tokens and len(tokens) < 5:
            found = _placements(tokens, 5, S.last_is_sum)
            if len(found) != 1:
                state.ambiguous.append(f"appeals {r.label}: {' '.join(tokens)}")
                continue
            mapping = [(k, t, v) for (k, t), v in zip(group_cols, found[0], strict=True) if v]
            cells += _appeal_cells([(r, mapping)], "arithmetic")
            continue
        if tokens and S.is_run(tokens, 5):
            try:
                found = S.splits(tokens, 5, S.last_is_sum)
            except S.TooManyCuts:
                found = []
            if len(found) != 1:
                state.ambiguous.append(f"appeals {r.label}: {' '.join(tokens)}")
                continue
            cells += _appeal_cells(
                [(r, [(k, t, v) for (k, t), v in zip(group_cols, found[0], strict=True)])],
                "split",
            )
            continue
        cells += _appeal_cells([(r, list(_by_position(r.row[r.first :], group_cols)))], "header")
    return cells


def _appeal_grid_score(grid: dict[tuple[str, str], float]) -> int:
    regrouped = {}
    for (_, key), value in grid.items():
        group, _, col = key.partition("/")
        regrouped[(group, col)] = value
    return _appeal_score(regrouped)


def _appeal_cells(mapped: list[tuple[_Row, Mapping]], method: str) -> list[Cell]:
    cells = []
    for r, mapping in mapped:
        for key, label, raw in mapping:
            group, _, col = key.partition("/")
            if key.startswith("unknown:") or not col:
                cells.append(_cell("appeals", key, key, raw, r.label, label, False, method))
            else:
                cells.append(_cell("appeals", group, col, raw, group, label or col, True, method))
    return cells


# --- cells ----------------------------------------------------------------------------

_MONEY_IN_LABEL = re.compile(r"万元|亿元|\(元\)|（元）")


def _cell(
    section: str,
    row_key: str,
    col_key: str,
    raw: str,
    row_label: str,
    col_label: str,
    known: bool,
    method: str = "header",
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
        method=method,
    )
