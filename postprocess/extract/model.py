"""Plain data passed between the postprocess stages (no I/O here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The values the extraction can give these fields; metadata.yml documents exactly these
# (tests/test_docs.py).
KINDS = ("annual_report", "work_summary", "other")
FORMATS = ("2019", "2021", "narrative")
PARSE_STATUSES = ("ok", "not_parsed_yet", "error")


@dataclass
class Table:
    """A table as a rectangular grid of cell texts; merged cells are repeated in every slot."""

    rows: list[list[str]]
    source: str  # html | docx | pdf | pdfwords (unruled PDF) | markdown | text (`|`) | plain
    page: int | None = None  # first PDF page the table sits on


@dataclass
class Document:
    """One fetched document made readable: clean text plus the tables found in it."""

    url: str
    media: str  # html | pdf | docx | txt | doc | wps | xls | other
    text: str  # clean text, one paragraph a line; tables rendered as `|` rows
    tables: list[Table] = field(default_factory=list)
    title: str | None = None  # title as the page states it (<meta ArticleTitle>, <h1>, ...)
    published_raw: str | None = None  # date string found in page chrome or metadata
    published_from: str | None = None  # meta (a <meta> tag) | label (发布时间：… in the page)
    parse_status: str = "ok"  # ok | not_parsed_yet | error
    parse_error: str | None = None


@dataclass
class ReportMeta:
    """What postprocess/metadata.py reads off a document."""

    title: str | None
    agency: str | None
    year: int | None  # the year the report covers
    published: str | None  # YYYY-MM-DD
    kind: str  # annual_report | work_summary | other
    kind_reason: str = ""  # why the kind was chosen (e.g. 'content farm preface')
    published_source: str | None = None  # meta | label | list | signature


@dataclass
class Cell:
    section: str  # proactive | requests | appeals
    row_key: str  # canonical key, or 'unknown:<label>' when the label is not known
    col_key: str
    value: float | None
    raw: str
    unit: str | None = None
    row_label: str = ""  # the labels as printed, kept for tracing
    col_label: str = ""
    known: bool = True  # False when a row or column label was not recognised
    # how the column was assigned: header (by header text), arithmetic (the template's sums
    # chose among candidate column assignments), split (a run of digits cut into cells)
    method: str = "header"


@dataclass
class Stat:
    key: str
    value: float
    raw: str
    approx: bool = False
    origin: str = "cell"  # cell | sentence
    evidence: str = ""  # the cell reference (section.row_key.col_key) or the sentence


@dataclass
class Check:
    rule: str
    ok: bool
    detail: str


@dataclass
class Figures:
    format: str  # 2019 | 2021 | narrative
    cells: list[Cell] = field(default_factory=list)
    stats: list[Stat] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def rows(self) -> tuple[list[dict], list[dict], list[dict]]:
        """Cells, stats and checks as the storage layer takes them."""
        return (
            [asdict(c) for c in self.cells],
            [asdict(s) for s in self.stats],
            [asdict(c) for c in self.checks],
        )
