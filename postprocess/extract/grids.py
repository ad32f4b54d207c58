"""Tables as grids: HTML (rowspan/colspan expanded), DOCX and text-layer PDF.

Every reader returns `Table`s whose merged cells are repeated in each slot they
cover, so later stages can read labels by position whatever the layout.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from postprocess.extract import labels as L
from postprocess.extract.model import Table
from postprocess.extract.values import parse_value

MAX_SPAN = 100  # guards against colspan="100000" in broken pages


# lxml.html's text_content() is this XPath; called as a function it also serves the plain
# etree elements clean.py parses into (no per-element Python class lookup: a third faster walks)
string_of = etree.XPath("string()", smart_strings=False)


def cell_text(text: str) -> str:
    """Collapse whitespace inside a cell (full-width spaces and nbsp included)."""
    # str.split() splits on every Unicode space (\s, \u3000, \xa0): a third of a regex's time
    return " ".join(text.split())


def _span(value: str | None) -> int:
    if value is None:  # most cells
        return 1
    try:
        return max(1, min(int(str(value).strip() or 1), MAX_SPAN))
    except ValueError:
        return 1


def expand_html_table(table: Any) -> list[list[str]]:
    """Expand one lxml <table> element into a rectangular grid."""
    grid: list[list[str | None]] = []
    pending: dict[tuple[int, int], str] = {}  # (row, col) -> text carried down by rowspan
    rows = [
        tr for tr in table.iter("tr") if tr.getparent() is not None and _owner_table(tr) is table
    ]
    for r, tr in enumerate(rows):
        line: list[str | None] = []
        c = 0
        cells = [td for td in tr if isinstance(td.tag, str) and td.tag.lower() in ("td", "th")]
        for td in cells:
            while pending and (r, c) in pending:
                line.append(pending.pop((r, c)))
                c += 1
            text = cell_text(string_of(td))
            rs, cs = _span(td.get("rowspan")), _span(td.get("colspan"))
            if rs == 1 and cs == 1:  # most cells
                line.append(text)
                c += 1
                continue
            for dc in range(cs):
                line.append(text)
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = text
            c += cs
        while (r, c) in pending:
            line.append(pending.pop((r, c)))
            c += 1
        grid.append(line)
    width = max((len(row) for row in grid), default=0)
    return [[cell or "" for cell in row] + [""] * (width - len(row)) for row in grid]


def _owner_table(tr):
    node = tr.getparent()
    while node is not None and node.tag != "table":
        node = node.getparent()
    return node


def html_tables(html: str) -> list[Table]:
    """Every innermost data table of an HTML page, as grids (layout tables are skipped)."""
    if not html.strip():
        return []
    root = lxml_html.fromstring(html)
    result = []
    for table in root.iter("table"):
        if table.find(".//table") is not None:
            continue  # a layout table wrapping the real one
        rows = expand_html_table(table)
        if rows and any(any(c for c in row) for row in rows):
            result.append(Table(rows=rows, source="html"))
    return result


# --- DOCX and PDF -----------------------------------------------------------------

_NUMERIC_WRAP = re.compile(r"^[+\-－]?[\d０-９][\d０-９,，.．\s]*(?:万元|亿元|元|%)?$")
_CJK_BREAK = re.compile(r"(?<=[^\x00-\x7f])\s*\n\s*|\s*\n\s*(?=[^\x00-\x7f])")


def unwrap(text: str | None) -> str:
    """Undo line wraps inside a narrow cell: "1\\n7" -> "17", "商业\\n企业" -> "商业企业"."""
    if not text:
        return ""
    if "\n" in text:
        joined = re.sub(r"\s*\n\s*", "", text.strip())
        if _NUMERIC_WRAP.match(joined):
            return joined
        text = _CJK_BREAK.sub("", text)
    return cell_text(text)


def docx_tables(data: bytes) -> list[Table]:
    """Every table of a DOCX file as a grid; horizontal and vertical merges repeated."""
    import io

    import docx

    document = docx.Document(io.BytesIO(data))
    result = []
    for table in _iter_docx_tables(document):
        rows = []
        for row in table.rows:
            before = [""] * (row.grid_cols_before or 0)
            after = [""] * (row.grid_cols_after or 0)
            rows.append(before + [unwrap(cell.text) for cell in row.cells] + after)
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]
        if rows and any(any(c for c in r) for r in rows):
            result.append(Table(rows=rows, source="docx"))
    return result


def _iter_docx_tables(document):
    """Tables in document order, innermost ones for tables nested in layout tables."""
    stack = list(reversed(document.tables))
    while stack:
        table = stack.pop()
        nested = [t for row in table.rows for cell in row.cells for t in cell.tables]
        if nested:
            stack.extend(reversed(list(dict.fromkeys(nested))))
        else:
            yield table


def _pdf_grid(table) -> list[list[str]]:
    """Expand a pdfplumber table: a slot covered by a merged cell gets that cell's text."""
    texts = table.extract()
    boxes: list[tuple[tuple[float, float, float, float], str]] = []
    for r, row in enumerate(table.rows):
        for c, bbox in enumerate(row.cells):
            if bbox is not None:
                boxes.append((bbox, texts[r][c] or ""))
    # pdfplumber keys rows by each distinct cell top and columns by each distinct x0
    xs = sorted({cell[0] for cell in table.cells})
    tops = sorted({cell[1] for cell in table.cells})
    eps = 0.5
    grid = []
    for r in range(len(texts)):
        line = []
        for c in range(len(texts[r])):
            if texts[r][c] is not None:
                line.append(unwrap(texts[r][c]))
                continue
            x, y = xs[c] + eps, tops[r] + eps
            cover = next(
                (t for (x0, top, x1, bottom), t in boxes if x0 <= x < x1 and top <= y < bottom), ""
            )
            line.append(unwrap(cover))
        grid.append(line)
    return grid


def _is_value(text: str) -> bool:
    return bool(_NUMERIC_WRAP.match(text)) or text in ("", "—", "-", "/", "无", "－", "——")


def _header_rows(rows: list[list[str]]) -> int:
    """How many leading rows hold no figures (a header repeated on a new page)."""
    n = 0
    for row in rows:
        if any(c and _is_value(c) for c in row):
            break
        n += 1
    return n


def pdf_tables(data: Any) -> list[Table]:
    """Tables of a text-layer PDF: its bytes, or a pdfplumber PDF already open (the document
    reader passes the one it read the text from, so each page is parsed once)."""
    import io

    import pdfplumber

    if isinstance(data, bytes | bytearray):
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return pdf_tables_of(pdf)
    return pdf_tables_of(data)


def pdf_tables_of(pdf: Any) -> list[Table]:
    """Tables of an opened pdfplumber PDF: ruled tables by their lines, pages without ruled
    tables by word positions; a table continued on the next page is merged into one, its
    repeated header rows dropped."""
    # page, top, bottom gap, rows, source (pdf: ruled grid; pdfwords: from word positions)
    found: list[tuple[int, float, float, list[list[str]], str]] = []
    for number, page in enumerate(pdf.pages, start=1):
        ruled = []
        for table in page.find_tables():
            rows = _pdf_grid(table)
            if rows and any(any(c for c in r) for r in rows):
                ruled.append((number, table.bbox[1], page.height - table.bbox[3], rows, "pdf"))
        if ruled:
            found.extend(ruled)
            continue
        for rows in page_word_tables(page):
            found.append((number, 0.0, 0.0, rows, "pdfwords"))
    result: list[Table] = []
    last: tuple[int, float] | None = None  # page and bottom gap of the previous table
    for number, top, bottom_gap, rows, source in found:
        prev = result[-1] if result else None
        continues = (
            prev is not None
            and last is not None
            and number == last[0] + 1
            and len(prev.rows[0]) == len(rows[0])
            and _first_on_page(found, number, top)
        )
        if continues and prev is not None:
            k = _header_rows(prev.rows)
            if k and rows[:k] == prev.rows[:k]:
                rows = rows[k:]
            prev.rows.extend(rows)
        else:
            result.append(Table(rows=rows, source=source, page=number))
        last = (number, bottom_gap)
    return result


# --- PDF tables without rules: rows and columns from word positions --------------------

LINE_TOLERANCE = 2.5  # points: words whose tops differ less sit on one line
COLUMN_GAP = 12.0  # points between figure centres that start a new column
WRAP_GAP = 1.6  # a label line this many line heights from its figures belongs to them
_WORD_FIGURE = re.compile(
    r"^(?:[+\-－]?[\d０-９][\d０-９,，.．]*(?:万元|亿元|元)?|[—－/／]|——|无)$"
)
_PAGE_NO = re.compile(r"^(?:[-—–－]\s*\d+\s*[-—–－]|第\s*\d+\s*页.*|\d+\s*/\s*\d+)$")


def _lines(page) -> list[list[dict]]:
    words = page.extract_words(x_tolerance=1.5, y_tolerance=2)
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(word["top"] - lines[-1][0]["top"]) <= LINE_TOLERANCE:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _columns(lines: list[list[dict]]) -> list[float]:
    """Centres of the figure columns of a block of lines, clustered."""
    xs = sorted(
        (w["x0"] + w["x1"]) / 2 for line in lines for w in line if _WORD_FIGURE.match(w["text"])
    )
    clusters: list[list[float]] = []
    for x in xs:
        if clusters and x - clusters[-1][-1] <= COLUMN_GAP:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    return [sum(c) / len(c) for c in clusters]


def _has_figure(line: list[dict]) -> bool:
    return any(_WORD_FIGURE.match(w["text"]) for w in line)


def page_word_tables(page: Any) -> list[list[list[str]]]:
    """The tables of a page without ruling lines, from word positions.

    Lines are blocks of rows: a header (lines without figures) and the rows under it. Each
    block's columns are the clusters of its figures; a row is its label (words left of the
    first column) and one cell per column; header words go to every column they span. Prose
    is left out; a label wrapped around its figures is re-joined."""
    blocks: list[list[list[dict]]] = []
    previous_had_figures = False
    for line in _lines(page):
        text = "".join(w["text"] for w in line)
        if _PAGE_NO.match(" ".join(w["text"] for w in line)):
            continue
        words = "".join(w["text"] for w in line if not _WORD_FIGURE.match(w["text"]))
        if len(words) > MAX_ROW_LABEL or _SENTENCE.search(text):
            previous_had_figures = False
            blocks.append([])  # prose ends a table
            continue
        figures = _has_figure(line)
        if not blocks or (not figures and previous_had_figures):
            blocks.append([])
        blocks[-1].append(line)
        previous_had_figures = figures
    tables = []
    for block in blocks:
        if any(_has_figure(line) for line in block):
            tables.append(_block_rows(block))
    return tables


def _block_rows(block: list[list[dict]]) -> list[list[str]]:
    centres = _columns(block)
    gaps = [b - a for a, b in zip(centres, centres[1:], strict=False)]
    half = min(gaps, default=40.0) / 2
    left_edge = centres[0] - half
    rows: list[tuple[float, float, list[str], bool]] = []  # top, bottom, cells, has figures
    for line in block:
        label_words = [w["text"] for w in line if w["x1"] <= left_edge + 2]
        cells = [""] * len(centres)
        figures = False
        for w in line:
            if w["x1"] <= left_edge + 2:
                continue
            spanned = [i for i, c in enumerate(centres) if w["x0"] - 2 <= c <= w["x1"] + 2]
            if not spanned:
                centre = (w["x0"] + w["x1"]) / 2
                spanned = [min(range(len(centres)), key=lambda i: abs(centres[i] - centre))]
            if _WORD_FIGURE.match(w["text"]):
                figures = True
                spanned = spanned[:1]
            for i in spanned:
                cells[i] = (cells[i] + w["text"]) if cells[i] else w["text"]
        rows.append(
            (
                line[0]["top"],
                max(w["bottom"] for w in line),
                ["".join(label_words), *cells],
                figures,
            )
        )
    return _rejoin_wrapped_labels(rows)


def _rejoin_wrapped_labels(rows: list[tuple[float, float, list[str], bool]]) -> list[list[str]]:
    """A figures row printed without a label between the two halves of its wrapped label."""
    out: list[list[str]] = []
    used: set[int] = set()
    for i, (top, bottom, cells, figures) in enumerate(rows):
        if i in used:
            continue
        if figures and not cells[0]:
            height = bottom - top
            parts = []
            prev = rows[i - 1] if i > 0 else None
            if prev and not prev[3] and not any(prev[2][1:]) and top - prev[1] < WRAP_GAP * height:
                if out and out[-1] is prev[2]:
                    out.pop()
                    parts.append(rows[i - 1][2][0])
            if (
                i + 1 < len(rows)
                and not rows[i + 1][3]
                and rows[i + 1][0] - bottom < WRAP_GAP * height
            ):
                if not any(rows[i + 1][2][1:]):
                    parts.append(rows[i + 1][2][0])
                    used.add(i + 1)
            cells = ["".join(parts), *cells[1:]]
        out.append(cells)
    return out


def _first_on_page(found, number: int, top: float) -> bool:
    return min(t for n, t, *_ in found if n == number) == top


# --- tables already flattened to text ---------------------------------------------

# a Markdown table's delimiter row: | --- | :---: |
_MD_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_GAP = re.compile(r"\t|[ \u3000]{2,}")
# a figure as text captures print it; OCR's O/o and l/I inside digits are read by the values
_FIGURE = r"[+\-－]?[\d０-９OolI][\d０-９OolI,，.．]*(?:万元|亿元|元)?"
_TRAILING_FIGURES = re.compile(
    rf"^(?P<label>.*?[^\d０-９\s+\-－.,，])\s*(?P<nums>{_FIGURE}(?:\s+{_FIGURE})*)\s*$"
)
_SENTENCE = re.compile(r"[。；;]|，.*，")
_LABEL_START = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|\d+[.、．])"
)
MAX_ROW_LABEL = 60  # longer lines are prose, not a table row's label
MAX_HEADING = 120


def text_row(line: str) -> list[str] | None:
    """One line of text as table cells, or None when it is prose.

    Cells are separated by `|` (also Markdown pipe tables), tabs or runs of spaces; a label
    followed by figures separated by single spaces, or by nothing at all (`规章000`), gives
    the label and its figures; a short line without figures (a header or a section title)
    is one cell."""
    text = line.strip()
    if not text or _MD_RULE.match(text) or _PAGE_NO.match(text):
        return None  # a Markdown delimiter row or a page number (- 3 -)
    if "|" in text:
        if text.startswith("|") and text.endswith("|") and len(text) > 1:
            text = text[1:-1]  # a Markdown row's outer pipes
        return [cell_text(c) for c in text.split("|")]
    if re.search(r"[。；;]", text):
        return None  # a sentence
    if _GAP.search(text):
        return [cell_text(c) for c in _GAP.split(text)]
    if re.fullmatch(rf"{_FIGURE}(?:\s+{_FIGURE})*", text):
        return text.split()  # a row of figures only (section 四 has no row label)
    m = _TRAILING_FIGURES.match(text)
    if m and len(m["label"]) <= MAX_ROW_LABEL:
        return [cell_text(m["label"]), *m["nums"].split()]
    if _SENTENCE.search(text) and not ("勾稽关系" in text or _LABEL_START.match(text)):
        return None  # prose; 三's header note and its labels (（二）部分公开（…，…）) have commas
    words = text.split()
    if len(words) > 1 and all(len(w) >= 2 for w in words):
        return words  # header cells parted by single spaces (自然人 法人或其他组织 总计)
    if len(text) <= MAX_HEADING:
        return [cell_text(text)]
    return None


def text_tables(text: str) -> list[Table]:
    """Runs of consecutive table-like lines of clean text, one table per run (seed 002's `|`
    rows, Markdown tables and their fragments, tab- or space-separated captures, rows whose
    figures run together, tables flattened one cell per line). Runs without a figure are
    dropped."""
    tables: list[Table] = []
    rows: list[list[str]] = []
    markdown = piped = 0  # |a|b| rows keep their empty cells, so positions hold
    for line in _with_cell_line_tables(text or ""):
        if isinstance(line, Table):
            _flush_text(rows, tables, markdown, piped)
            rows, markdown, piped = [], 0, 0
            tables.append(line)
            continue
        cells = text_row(line)
        if cells is not None:
            rows.append(cells)
            stripped = line.strip()
            markdown += stripped.startswith("|") and stripped.endswith("|")
            piped += "|" in stripped
            continue
        if _MD_RULE.match(line.strip()) and line.strip():
            continue
        _flush_text(rows, tables, markdown, piped)
        rows, markdown, piped = [], 0, 0
    _flush_text(rows, tables, markdown, piped)
    return tables


def _flush_text(rows: list[list[str]], tables: list[Table], markdown: int, piped: int) -> None:
    """markdown: positions hold; text: `a | b` rows whose blank cells stay but leading blanks
    may be lost; plain: cells parted by tabs or spaces, where a blank cell leaves no trace."""
    if rows and any(len(r) > 1 for r in rows):
        source = "markdown" if markdown * 2 > len(rows) else "text" if piped else "plain"
        tables.append(Table(rows=_pad(rows), source=source))


def _pad(rows: list[list[str]]) -> list[list[str]]:
    width = max(len(r) for r in rows)
    return [r + [""] * (width - len(r)) for r in rows]


# --- one-line captures --------------------------------------------------------------------------

# A crawler's text capture may hold the whole report on one line, every table row's cells run
# together: each row label must start a line again before the rows can be read.
ONE_LINE = 150  # shorter lines are rows or paragraphs as they are
_CJK = "\u4e00-\u9fff"
_NUMBER_AHEAD = rf"(?=[{_CJK}]{{0,4}}?\s*[+\-－]?[\d０-９])"
_HEADING_BREAK = re.compile(r"(?<![第])[一二三四五六七八九十]、")
_PROACTIVE_OPEN = re.compile(r"第二十条|信息内容")
_REQUEST_OPEN = re.compile(r"收到和处理政府信息公开申请|申请人情况|本年新收")
_APPEAL_OPEN = re.compile(r"行政复议")
_AFTER_APPEALS = re.compile(r"(?<![第])[五六七八九]、")
_PROACTIVE_BREAK = re.compile(
    r"第二十条|信息内容|(?:行政|政府)?(?:"
    + "|".join(re.escape(fragment) for fragment, _ in L.PROACTIVE_ROWS)
    + ")"
    + _NUMBER_AHEAD
)
# （一）… groups (not 第（一）项) and 1.… items; an item's ordinal glued to the figures before
# it (00000002.其他…) is the next label's: the template numbers its items with one digit
_REQUEST_BREAK = re.compile(rf"(?<!第)[（(][一二三四五六七][）)]|\d[.．、](?=[{_CJK}])")
_TRAILING_RUN = re.compile(rf"(?<=[{_CJK}）)])\s*(?=[\d０-９][\d０-９\s]{{3,}}$)")
_TABLE_MARKS = ("本年新收", "上年结转", "结转下年", "予以公开", "第二十条", "尚未审结")


def break_run_on(text: str) -> str:
    """Every long line that holds the report tables (two or more of their marks) broken
    into the template's lines: section headings, 二's row labels, 三's groups and items,
    四's figures; lines that hold no table are left as they are."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if len(line) < ONE_LINE or sum(m in line for m in _TABLE_MARKS) < 2:
            out.append(line)
            continue
        cuts = {m.start() for m in _HEADING_BREAK.finditer(line)}
        zones = _zones(line)
        for (start, end), pattern in zip(zones, (_PROACTIVE_BREAK, _REQUEST_BREAK), strict=False):
            cuts |= {start + m.start() for m in pattern.finditer(line[start:end])}
        start, end = zones[2]
        appeals = line[start:end]
        run = _TRAILING_RUN.search(appeals)
        if run and sum(c.isdigit() for c in appeals[run.start() :]) >= 5:
            cuts.add(start + run.start())
        bounds = [0, *sorted(c for c in cuts if c > 0), len(line)]
        out.extend(
            line[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False) if line[a:b].strip()
        )
    return "\n".join(out)


def _zones(line: str) -> list[tuple[int, int]]:
    """(start, end) of the 二, 三 and 四 tables in a one-line capture; empty when missing."""
    n = len(line)
    m2 = _PROACTIVE_OPEN.search(line)
    p2 = m2.start() if m2 else n
    m3 = _REQUEST_OPEN.search(line, p2 if m2 else 0)
    p3 = m3.start() if m3 else n
    m4 = _APPEAL_OPEN.search(line, p3) if m3 else None
    p4 = m4.start() if m4 else n
    m5 = _AFTER_APPEALS.search(line, p4)
    p5 = m5.start() if m5 else n
    return [(p2, p3), (p3, p4), (p4, p5)]


# --- tables flattened one cell per line --------------------------------------------------

# one cell and the pipes that close it (`8 |`, `总计 | ||||||`), or pipes alone (`|`, `|||`)
_CELL_LINE = re.compile(r"^\s*(?P<cell>[^|]*?)\s*(?P<pipes>\|[\s|]*)$")
MIN_CELL_LINE_FIGURES = 4  # figure lines a run needs before it is read as a table


def _is_figure_cell(text: str) -> bool:
    return bool(text) and parse_value(text).value is not None


def _row_label(text: str) -> bool:
    """A template row label (三's 一、本年新收 / （三）不予公开 / 1.属于国家秘密, 二's 规章)."""
    if _LABEL_START.match(text) or L.match(text, L.PROACTIVE_ROWS):
        return True
    if _column_label(text):
        return False  # 总计 heads a column; the row is （七）总计
    key, group = L.request_row(text, None)
    return key is not None or group is not None


def _opens_part(text: str) -> bool:
    """A cell that opens a part of a table (第二十条第（一）项, 信息内容, 行政复议)."""
    return any(m in L.norm_label(text) for m in (*L.PROACTIVE_MARKERS, *L.APPEAL_MARKERS))


def _column_label(text: str) -> bool:
    """A header cell naming a column (自然人, 本年制发件数, 结果维持, 总计); 二's row labels
    are not, though some hold a column's word (其他对外管理服务事项)."""
    if L.match(text, L.PROACTIVE_ROWS):
        return False
    norm = L.norm_label(text)
    for table in (L.REQUEST_COLS, L.PROACTIVE_COLS, L.APPEAL_COLS):
        # the column's words make up a good part of the cell (not 不计其他情形)
        if 3 * sum(len(f) for _, f in L.match_all(norm, table)) >= len(norm):
            return True
    return False


def _line_cells(line: str) -> tuple[list[str], int] | None:
    """A line of a one-cell-per-line table: (its cells, closing pipes), or None. A line holds
    one cell closed by pipes (`8 |`, `总计 | ||||`), pipes alone (`|`), or several label
    cells without a figure (`（三）不予公开 | 1.属于国家秘密 |`: a group label and its first
    item); a line that does not end in a pipe is no cell line."""
    m = _CELL_LINE.match(line)
    if m is not None:
        cell = cell_text(m["cell"])
        return ([cell] if cell else []), m["pipes"].count("|")
    text = line.strip()
    if not text.endswith("|") or text.startswith("|"):
        return None
    cells = [cell_text(c) for c in text.split("|")]
    trailing = 0
    while cells and not cells[-1]:
        cells.pop()
        trailing += 1
    if any(not c or _is_figure_cell(c) or len(c) > MAX_ROW_LABEL for c in cells):
        return None  # a `a | b | 3` row: the text reader's
    return cells, trailing


def _bare_cells(line: str) -> tuple[list[str], int] | None:
    """A line of a table flattened one cell per line without pipes (text taken out of the
    cells with a line break each): one figure, or label text without a figure (cells parted
    by tabs or runs of spaces kept apart); None for prose, blank lines and `|` lines."""
    text = line.strip()
    if not text or "|" in text or _PAGE_NO.match(text):
        return None
    if _is_figure_cell(text):
        return [cell_text(text)], 0
    cells = text_row(text)
    if cells is None or any(_is_figure_cell(c) for c in cells):
        return None
    if len(text) > MAX_ROW_LABEL and "勾稽关系" not in text:
        return None
    return [cell_text(c) for c in _GAP.split(text) if c.strip()], 0


MIN_BARE_FIGURES = 8  # without pipes, only a long run of lone figures is a table


def _with_cell_line_tables(text: str) -> list[str | Table]:
    """The lines of `text`, each run of one-cell-per-line lines replaced by the table its
    cells rebuild (`_cell_line_rows`). Inside a run, blank lines and page numbers are
    skipped and a short line without pipes is the first part of the next cell (a label
    wrapped inside its cell)."""
    lines = text.splitlines()
    out: list[str | Table] = []
    i = 0
    while i < len(lines):
        piped = "|" in lines[i]
        cells_of = _line_cells if piped else _bare_cells
        j, figures, cells, end = i, 0, 0, i
        while j < len(lines):
            found = cells_of(lines[j])
            stripped = lines[j].strip()
            if found is None and stripped and not _PAGE_NO.match(stripped):
                if not piped or not cells or not _wrapped_part(lines, j):
                    break
            if found is not None:
                cells += 1
                figures += sum(_is_figure_cell(c) for c in found[0])
                end = j + 1
            j += 1
        j = max(end, i)
        least = MIN_CELL_LINE_FIGURES if piped else MIN_BARE_FIGURES
        if figures >= least and cells >= 2 * least:
            rows = _cell_line_rows(lines[i:j], cells_of)
            if _table_like(rows, piped):
                # not padded: a short row's missing cells are unknown, not blank
                out.append(Table(rows=rows, source="celllines"))
                i = j
                continue
        if j == i:
            out.append(lines[i])
            j = i + 1
        else:
            out.extend(lines[i:j])
        i = j
    return out


def _wrapped_part(lines: list[str], j: int) -> bool:
    """Line j is the first part of a cell wrapped over lines: short, no figure, no sentence
    end, and the next line closes a cell with text."""
    text = lines[j].strip()
    if len(text) > MAX_ROW_LABEL or _is_figure_cell(text) or re.search(r"[。；;]$", text):
        return False
    following = _line_cells(lines[j + 1]) if j + 1 < len(lines) else None
    return following is not None and bool(following[0])


def _table_like(rows: list[list[str]], piped: bool) -> bool:
    """Rebuilt rows that make a table: some row has a label and figures; without pipes, two
    rows of three figures or more and a label of the template (not a list of numbers)."""
    with_figures = [r for r in rows if sum(_is_figure_cell(c) for c in r) >= (1 if piped else 3)]
    if piped:
        return any(len(r) > 1 for r in with_figures)
    labelled = any(_row_label(c) or _column_label(c) for r in rows for c in r)
    return len(with_figures) >= 2 and labelled


def _cell_line_rows(lines: list[str], cells_of=_line_cells) -> list[list[str]]:
    """Rows rebuilt from cells printed one per line: a row starts at a row label (or at a
    text after figures), takes the figure lines that follow, and ends at a pipes-only line
    or a cell closed by several pipes (the converter's padding of the row). Figures after a
    header row start a row of their own (section 四 prints its figures without a label).
    Cells left out by the converter leave no trace; tables.py places such short rows only
    where the report's sums decide."""
    rows: list[list[str]] = []
    row: list[str] = []
    wrapped = ""  # the first part of a cell wrapped over lines

    def end() -> None:
        nonlocal row
        if row:
            rows.append(row)
        row = []

    for line in lines:
        found = cells_of(line)
        if found is None:
            text = line.strip()
            if text and not _PAGE_NO.match(text):
                wrapped += text
            continue
        cells, closing = found
        if not cells:
            end()
            continue
        cells[0], wrapped = cell_text(wrapped + cells[0]), ""
        for cell in cells:
            has_figures = any(_is_figure_cell(c) for c in row)
            if _is_figure_cell(cell):
                if row and not has_figures and _column_label(row[-1]) and not _row_label(row[-1]):
                    end()  # figures under a header row, without a label of their own
            elif has_figures or (row and (_row_label(cell) or _opens_part(cell))):
                end()
            row.append(cell)
        if closing > 1:
            end()
    end()
    return rows
