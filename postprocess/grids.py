"""Tables as grids: HTML (rowspan/colspan expanded), DOCX and text-layer PDF.

Every reader returns `Table`s whose merged cells are repeated in each slot they
cover, so later stages can read labels by position whatever the layout.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from postprocess.model import Table

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
    rows = [tr for tr in table.iter("tr") if tr.getparent() is not None
            and _owner_table(tr) is table]
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
