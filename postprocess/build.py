"""`nianbao build`: derive reports, attachments, cells, stats and checks from the captures.

Everything is recomputed from the WARC records the captures point to; ids come from capture
ids, so a second build yields the same rows. All derived rows are replaced in one transaction:
a build that crashes leaves the previous build in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from postprocess.extract.agency import agency_identity
from postprocess.extract.checks import body_level
from postprocess.extract.documents import read_document
from postprocess.extract.figures import extract_figures
from postprocess.extract.metadata import read_metadata
from postprocess.extract.model import Document, Figures
from postprocess.storage import db as archive_db
from postprocess.storage.warc import read_record

log = logging.getLogger(__name__)

PROGRESS_EVERY = 50  # echo a progress line every N report pages
# A page with less text than this that links a readable attachment is a stub for that file.
STUB_CHARS = 400
DOCUMENT_ROLES = ("report", "attachment")
# reports.text_source: the report page's own text, or its PDF/DOCX attachment's.
TEXT_SOURCES = ("page", "attachment")
# attachments.parse_status, from the document's parse status (ok | not_parsed_yet | error).
ATTACHMENT_PARSE_STATUS = {"ok": "parsed", "not_parsed_yet": "not_parsed_yet", "error": "error"}


@dataclass
class BuildResult:
    captures: int = 0
    reports: int = 0
    annual_reports: int = 0
    attachments: int = 0
    not_parsed: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"build: {self.captures} captures read, {self.reports} reports "
            f"({self.annual_reports} annual reports), {self.attachments} attachments "
            f"({self.not_parsed} not parsed yet), {self.errors} errors"
        )


@dataclass
class _Pending:
    report: dict
    attachments: list[dict]
    figures: Figures


def _content_type(headers: dict[str, str], row: dict) -> str | None:
    return headers.get("content-type") or row.get("content_type")


def _read(data_dir: str | Path, row: dict) -> Document:
    """The capture's record read back and made readable; a missing record is a parse error."""
    try:
        replayed = read_record(data_dir, row["warc_file"], row["warc_offset"])
    except (OSError, ValueError, EOFError) as exc:
        return Document(
            url=row["url"],
            media="other",
            text="",
            parse_status="error",
            parse_error=f"cannot read WARC record: {type(exc).__name__}: {exc}",
        )
    return read_document(replayed.body, row["url"], _content_type(replayed.headers, row))


def _usable(row: dict) -> bool:
    return row["status"] == 200 and not row.get("blocked")


def _choose(page: Document, files: list[tuple[dict, Document]]) -> tuple[Document, dict | None]:
    """The document holding the report: the page, or an attachment when the page is a stub
    (little text) or has no tables while an attachment has them. Among attachments the one
    with tables, then the longest text, wins; the page wins ties."""
    readable = [(row, doc) for row, doc in files if doc.parse_status == "ok" and doc.text]
    if not readable:
        return page, None
    page_ok = page.parse_status == "ok"
    if (
        page_ok
        and len(page.text) >= STUB_CHARS
        and (page.tables or not any(doc.tables for _, doc in readable))
    ):
        return page, None
    row, best = max(readable, key=lambda item: (bool(item[1].tables), len(item[1].text)))
    if page_ok and (bool(page.tables), len(page.text)) >= (bool(best.tables), len(best.text)):
        return page, None
    return best, row


def _attachment_row(row: dict, doc: Document | None) -> dict:
    if doc is None:  # not fetched successfully: nothing to read
        status = "error"
        error = "blocked by the site" if row.get("blocked") else f"HTTP {row['status']}"
        return {
            "id": row["id"],
            "capture_id": row["id"],
            "url": row["url"],
            "media": None,
            "parse_status": status,
            "parse_error": error,
            "text_chars": 0,
        }
    return {
        "id": row["id"],
        "capture_id": row["id"],
        "url": row["url"],
        "media": doc.media,
        "parse_status": ATTACHMENT_PARSE_STATUS[doc.parse_status],
        "parse_error": doc.parse_error,
        "text_chars": len(doc.text),
    }


def build_archive(
    db_path: str | Path, data_dir: str | Path, echo: Callable[[str], object] = print
) -> BuildResult:
    """Rebuild every derived table of archive.db from its captures (idempotent)."""
    db = archive_db.open_db(db_path)
    try:
        return _build(db, data_dir, echo)
    finally:
        db.close()


def _build(db, data_dir: str | Path, echo: Callable[[str], object]) -> BuildResult:
    result = BuildResult()
    sources = {row["id"]: row for row in db.query("SELECT * FROM sources")}
    rows = list(archive_db.iter_captures(db, "role IN (?, ?)", DOCUMENT_ROLES))
    result.captures = len(rows)

    # a report is the first 200 capture of each (url, sha256); re-fetches map onto it
    report_of: dict[int, int] = {}  # capture id -> report id
    first: dict[tuple[str, str], int] = {}
    pages: list[dict] = []
    continued: dict[int, list[dict]] = {}  # report id -> its continuation pages (t..._1.html)
    report_rows = [r for r in rows if r["role"] == "report" and _usable(r)]
    # A continuation may have a lower id than its first page (merged worker archives); one whose
    # first page is not readable stands as a report of its own.
    firsts = {r["id"] for r in report_rows if r["parent_capture_id"] is None}
    for row in report_rows:
        if row["parent_capture_id"] is None or row["parent_capture_id"] not in firsts:
            key = (row["url"], row["sha256"])
            if key not in first:
                first[key] = row["id"]
                pages.append(row)
            report_of[row["id"]] = first[key]
    for row in report_rows:
        if row["parent_capture_id"] in report_of:
            continued.setdefault(report_of[row["parent_capture_id"]], []).append(row)
    for parts in continued.values():
        parts.sort(key=lambda r: (len(r["url"]), r["url"], r["id"]))  # t1_2.html before t1_10
    files: dict[int, list[dict]] = {}
    for row in rows:
        if row["role"] == "attachment":
            parent = report_of.get(row["parent_capture_id"])
            if parent is None:
                log.info(
                    "attachment capture %s has no report page (parent %s)",
                    row["id"],
                    row["parent_capture_id"],
                )
                continue
            files.setdefault(parent, []).append(row)

    pending: list[_Pending] = []
    for n, row in enumerate(pages, start=1):
        pending.append(
            _build_one(
                row,
                continued.get(row["id"], []),
                files.get(row["id"], []),
                sources,
                data_dir,
                result,
            )
        )
        if n % PROGRESS_EVERY == 0:
            echo(f"build: {n}/{len(pages)} report pages read")

    with db.atomic():
        archive_db.clear_derived(db)
        for item in pending:
            archive_db.write_report(db, item.report, item.attachments, *item.figures.rows())
    _index(db, echo)
    return result


def _latest_per_url(rows: list[dict]) -> list[dict]:
    """One capture per attachment URL: the latest good one. A re-crawl adds captures (304s,
    re-fetches), never attachments; a replaced file wins over the old one."""
    best: dict[str, dict] = {}
    for row in rows:  # capture order
        kept = best.get(row["url"])
        if kept is None or _usable(row) or not _usable(kept):
            best[row["url"]] = row
    return list(best.values())


def _build_one(
    row: dict,
    continuation_rows: list[dict],
    attachment_rows: list[dict],
    sources: dict[str, dict],
    data_dir: str | Path,
    result: BuildResult,
) -> _Pending:
    page = _read(data_dir, row)
    seen_parts: set[str] = set()
    for part_row in continuation_rows:
        if part_row["url"] in seen_parts:
            continue  # a re-fetch of the same continuation page
        seen_parts.add(part_row["url"])
        part = _read(data_dir, part_row)
        if part.parse_status == "ok":
            page.text = page.text.rstrip("\n") + "\n" + part.text
            page.tables.extend(part.tables)
    files: list[tuple[dict, Document]] = []
    attachments: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for att in _latest_per_url(attachment_rows):
        doc = _read(data_dir, att) if _usable(att) else None
        attachments.append(_attachment_row(att, doc))
        result.attachments += 1
        if doc is not None and doc.parse_status == "not_parsed_yet":
            result.not_parsed += 1
        if doc is None or doc.parse_status == "error":
            result.errors += 1
            result.error_messages.append(f"{att['url']}: {attachments[-1]['parse_error']}")
        if doc is not None and (att["url"], att["sha256"]) not in seen:
            seen.add((att["url"], att["sha256"]))
            files.append((att, doc))
    if page.parse_status == "error":
        result.errors += 1
        result.error_messages.append(f"{row['url']}: {page.parse_error}")

    chosen, file_row = _choose(page, files)
    # the page's own title and date describe the report even when the text is the attachment's
    described = Document(
        url=chosen.url,
        media=chosen.media,
        text=chosen.text,
        tables=chosen.tables,
        title=page.title or chosen.title,
        published_raw=page.published_raw or chosen.published_raw,
        published_from=page.published_from if page.published_raw else chosen.published_from,
    )
    meta = read_metadata(described, row.get("list_title"), row.get("list_date"))
    source = sources.get(row["source_id"]) or {}
    agency = meta.agency or source.get("agency")
    meta.agency = agency
    if chosen.parse_status == "ok":
        figures = extract_figures(chosen, meta, body_level(source.get("level"), agency))
    else:
        figures = Figures(format=None)
    result.reports += 1
    if meta.kind == "annual_report":
        result.annual_reports += 1
    report = {
        "id": row["id"],
        "source_id": row["source_id"],
        "capture_id": row["id"],
        "document_capture_id": file_row["id"] if file_row else row["id"],
        "url": row["url"],
        "document_url": chosen.url,
        "title": meta.title,
        "agency": agency,
        "year": meta.year,
        "published": meta.published,
        "published_source": meta.published_source,
        "kind": meta.kind,
        "kind_reason": meta.kind_reason,
        "format": figures.format,
        "text": chosen.text,
        "text_source": "attachment" if file_row else "page",
        "parse_status": chosen.parse_status,
        "parse_error": chosen.parse_error,
        "province": source.get("province"),
        "city": source.get("city"),
        "level": source.get("level"),
        "division_code": source.get("division_code"),
        **agency_identity(agency, source),
        "sha256": row["sha256"],
        "fetched_at": row["fetched_at"],
    }
    return _Pending(report, attachments, figures)


def _index(db, echo: Callable[[str], object]) -> None:
    """Full-text index of the reports (postprocess.storage.search)."""
    from postprocess.storage.search import index_reports

    count = index_reports(db)
    echo(f"build: full-text index rebuilt ({count} reports)")
