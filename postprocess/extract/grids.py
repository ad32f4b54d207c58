"""Tables as grids: HTML (rowspan/colspan expanded), DOCX and text-layer PDF.

Every reader returns `Table`s whose merged cells are repeated in each slot they
cover, so later stages can read labels by position whatever the layout.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from postprocess.extract.model import Table

_WS = re.compile(r"[\s\u3000\xa0]+")
MAX_SPAN = 100  # guards against colspan="100000" in broken pages


def cell_text(text: str) -> str:
    """Collapse whitespace inside a cell (full-width spaces and nbsp included)."""
    return _WS.sub(" ", text).strip()


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value).strip() or 1), MAX_SPAN))
    except ValueError:
        return 1


def expand_html_table(table) -> list[list[str]]:
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
            while (r, c) in pending:
                line.append(pending.pop((r, c)))
                c += 1
            text = cell_text(td.text_content())
            rs, cs = _span(td.get("rowspan")), _span(td.get("colspan"))
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


def pdf_tables(data: bytes) -> list[Table]:
    """Tables of a text-layer PDF; a table continued on the next page is merged into one,
    its repeated header rows dropped."""
    import io

    import pdfplumber

    found: list[tuple[int, float, float, list[list[str]]]] = []  # page, top, bottom, rows
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            for table in page.find_tables():
                rows = _pdf_grid(table)
                if rows and any(any(c for c in r) for r in rows):
                    found.append((number, table.bbox[1], page.height - table.bbox[3], rows))
    result: list[Table] = []
    last: tuple[int, float] | None = None  # page and bottom gap of the previous table
    for number, top, bottom_gap, rows in found:
        prev = result[-1] if result else None
        continues = (
            prev is not None
            and last is not None
            and number == last[0] + 1
            and len(prev.rows[0]) == len(rows[0])
            and _first_on_page(found, number, top)
        )
        if continues:
            k = _header_rows(prev.rows)
            if k and rows[:k] == prev.rows[:k]:
                rows = rows[k:]
            prev.rows.extend(rows)
        else:
            result.append(Table(rows=rows, source="pdf", page=number))
        last = (number, bottom_gap)
    return result


def _first_on_page(found, number: int, top: float) -> bool:
    return min(t for n, t, _, _ in found if n == number) == top


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
MAX_ROW_LABEL = 60  # longer lines are prose, not a table row's label
MAX_HEADING = 80


def text_row(line: str) -> list[str] | None:
    """One line of text as table cells, or None when it is prose.

    Cells are separated by `|` (also Markdown pipe tables), tabs or runs of spaces; a label
    followed by figures separated by single spaces, or by nothing at all (`规章000`), gives
    the label and its figures; a short line without figures (a header or a section title)
    is one cell."""
    text = line.strip()
    if not text or _MD_RULE.match(text):
        return None
    if "|" in text:
        if text.startswith("|") and text.endswith("|") and len(text) > 1:
            text = text[1:-1]  # a Markdown row's outer pipes
        return [cell_text(c) for c in text.split("|")]
    if _SENTENCE.search(text):
        return None
    if _GAP.search(text):
        return [cell_text(c) for c in _GAP.split(text)]
    m = _TRAILING_FIGURES.match(text)
    if m and len(m["label"]) <= MAX_ROW_LABEL:
        return [cell_text(m["label"]), *m["nums"].split()]
    if re.fullmatch(rf"{_FIGURE}(?:\s+{_FIGURE})*", text):
        return text.split()  # a row of figures only (section 四 has no row label)
    if len(text) <= MAX_HEADING:
        return [cell_text(text)]
    return None


def text_tables(text: str) -> list[Table]:
    """Runs of consecutive table-like lines of clean text, one table per run (seed 002's `|`
    rows, Markdown tables and their fragments, tab- or space-separated captures, rows whose
    figures run together). Runs without a figure are dropped."""
    tables: list[Table] = []
    rows: list[list[str]] = []
    for line in (text or "").splitlines():
        cells = text_row(line)
        if cells is not None:
            rows.append(cells)
            continue
        if _MD_RULE.match(line.strip()) and line.strip():
            continue
        _flush_text(rows, tables)
        rows = []
    _flush_text(rows, tables)
    return tables


def _flush_text(rows: list[list[str]], tables: list[Table]) -> None:
    if rows and any(len(r) > 1 for r in rows):
        tables.append(Table(rows=_pad(rows), source="text"))


def _pad(rows: list[list[str]]) -> list[list[str]]:
    width = max(len(r) for r in rows)
    return [r + [""] * (width - len(r)) for r in rows]
