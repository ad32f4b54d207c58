"""`nianbao build`: derive reports, attachments, cells, stats and checks from the captures.

Everything is recomputed from the WARC records the captures point to; ids come from capture
ids, so a second build yields the same rows.

The build never writes into the archive it reads. It copies archive.db (VACUUM INTO: a compact,
consistent snapshot even while a crawl writes) to `archive.db.building`, rebuilds the derived
tables there in batches (one transaction per batch, memory flat whatever the archive's size),
indexes it, and then swaps it in with os.replace. A build killed at any point leaves archive.db
as it was (the next build starts a fresh copy); a server reading archive.db keeps answering from
the old file until it reopens the new one (postprocess/publish/swap.py).

Documents are parsed in a process pool (one worker per core) feeding this process, the one
writer; results come back in capture order, at most a few batches ahead of the writer.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from postprocess.extract.agency import agency_identity
from postprocess.extract.checks import body_level
from postprocess.extract.documents import read_document
from postprocess.extract.figures import extract_figures
from postprocess.extract.metadata import read_metadata
from postprocess.extract.model import Document, Figures
from postprocess.storage import db as archive_db
from postprocess.storage import search
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

    def merge(self, other: BuildResult) -> None:
        for name in ("captures", "reports", "annual_reports", "attachments", "not_parsed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        self.error_messages.extend(other.error_messages)

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


def _usable(row) -> bool:
    return row["status"] == 200 and not row["blocked"]


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


class BuildError(Exception):
    """A build that must not touch the archive (unreadable data directory, archive changed)."""


BATCH_REPORTS = 200  # reports written per transaction
PAGE_SIZE = 8192  # of the built archive.db
# Below this many report pages the pool's start-up costs more than it saves.
POOL_MIN_PAGES = 40
# The columns of captures the build needs (not the whole row: memory stays small at 100k).
CAPTURE_COLUMNS = (
    "id, source_id, url, fetched_at, status, content_type, sha256, warc_file, warc_offset, "
    "role, parent_capture_id, blocked, list_title, list_date"
)


def building_path(db_path: str | Path) -> Path:
    """Where the next archive.db is built before it is swapped in."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".building")


def build_archive(
    db_path: str | Path,
    data_dir: str | Path,
    echo: Callable[[str], object] = print,
    *,
    jobs: int | None = None,
    batch_size: int = BATCH_REPORTS,
) -> BuildResult:
    """Rebuild every derived table of archive.db from its captures (idempotent).

    jobs: parser processes (default: one per core; 1 parses in this process)."""
    db_path = Path(db_path)
    new_path = building_path(db_path)
    with _build_lock(db_path):
        _check_data_dir(db_path, data_dir)
        _remove_db_files(new_path)
        fingerprint = _snapshot(db_path, new_path)
        db = archive_db.open_db(new_path)
        try:
            _private_copy(db)
            # pages of a shared distributed crawl whose parent was committed after them
            with db.conn:
                archive_db.link_parents_by_record(db)
            result = _build(db, data_dir, echo, jobs=jobs, batch_size=batch_size)
            _index(db, echo)
            # executescript: a plain execute() steps this pragma once, freeing one page
            db.conn.executescript("PRAGMA incremental_vacuum;")
        finally:
            db.close()
        _swap(new_path, db_path, fingerprint)
    return result


def _private_copy(db) -> None:
    """Settings for the copy the build writes: no reader sees it, and any failure throws it
    away, so no write-ahead log (it wrote every page twice) and no syncs until it is done
    (_swap syncs the file before the rename). The rollback journal stays on disk: it holds
    every page the final incremental vacuum moves (in memory: 360 MB at 100,000 reports). The
    sorts that make the indexes at the end may use every core."""
    mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    if mode != "delete":  # _swap relies on it: see there
        raise BuildError(f"the build's copy stayed in journal mode {mode!r}")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(f"PRAGMA threads = {os.cpu_count() or 1}")


@contextmanager
def _build_lock(db_path: Path) -> Iterator[None]:
    """One build per archive at a time (a second one fails at once instead of racing)."""
    lock_path = db_path.with_name(db_path.name + ".build-lock")
    with open(lock_path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildError(f"another build of {db_path} is running") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _check_data_dir(db_path: Path, data_dir: str | Path) -> None:
    """Refuse a data directory the captures' WARC files are not in: building from it would
    replace every report with an empty one."""
    data = Path(data_dir)
    if not data.is_dir():
        raise BuildError(f"data directory {data} does not exist or is not a directory")
    if not os.access(data, os.R_OK | os.X_OK):
        raise BuildError(f"data directory {data} is not readable")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        files = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT warc_file FROM captures WHERE role IN (?, ?) "
                "AND warc_file IS NOT NULL",
                DOCUMENT_ROLES,
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise BuildError(f"{db_path} is not a readable archive: {exc}") from exc
    finally:
        conn.close()
    if files and not any(os.access(data / name, os.R_OK) for name in files):
        raise BuildError(
            f"none of the {len(files)} WARC files the captures point to is readable under {data} "
            f"(e.g. {files[0]}): wrong --data-dir?"
        )


def _remove_db_files(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        name.unlink(missing_ok=True)


def _fingerprint(conn: sqlite3.Connection) -> str:
    """What the build copied besides its own tables: a changed value means a writer (a crawl)
    added rows during the build, and swapping would lose them."""
    derived = {*archive_db.DERIVED_TABLES, *archive_db.DERIVED_DICTIONARIES, "_sqlite_migrations"}
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
            "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts%' "
            "AND name NOT IN (SELECT value FROM json_each(?)) ORDER BY name",
            [json.dumps(sorted(derived))],
        )
    ]
    digest = hashlib.sha256()
    for table in tables:
        count, top = conn.execute(f"SELECT count(*), max(rowid) FROM [{table}]").fetchone()
        digest.update(f"{table}:{count}:{top};".encode())
        if count <= 5000:  # small tables (sources, crawls) are updated in place: hash the rows
            for row in conn.execute(f"SELECT * FROM [{table}] ORDER BY rowid"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _snapshot(db_path: Path, new_path: Path) -> str:
    """Copy archive.db to new_path in one consistent read; returns the copy's fingerprint.

    VACUUM INTO writes a compact copy: no free pages, and no WAL to carry along. The copy
    gets incremental auto-vacuum, so the pages the rebuild frees (old derived rows, the search
    index's merged segments: a fifth of the file) can be given back at the end."""
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        if src.execute("PRAGMA auto_vacuum").fetchone()[0] == 0:
            # applied by the VACUUM INTO below (set on a file that has it, it would write)
            src.execute("PRAGMA auto_vacuum = INCREMENTAL")
        # A report row (text ~6 KB) fits one 8 KB page; in 4 KB pages it leaves a part-empty
        # page per pair of rows plus an overflow page (3% of the file at 1,000 reports).
        src.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        src.execute("VACUUM INTO ?", [str(new_path)])
    except sqlite3.DatabaseError as exc:
        raise BuildError(f"{db_path} is not a readable archive: {exc}") from exc
    finally:
        src.close()
    dst = sqlite3.connect(new_path)
    try:
        return _fingerprint(dst)
    finally:
        dst.close()


def _swap(new_path: Path, db_path: Path, fingerprint: str) -> None:
    """Put the new archive in place of the old one, atomically (rename within a directory).

    The old file's write-ahead log is checkpointed and truncated first: its -wal and -shm keep
    their names across the rename, and the new file must not see frames of the old one."""
    live = sqlite3.connect(db_path)
    try:
        live.execute("PRAGMA busy_timeout = 30000")
        if _fingerprint(live) != fingerprint:
            raise BuildError(
                f"{db_path} changed during the build (a crawl writing to it?); "
                f"run the build again when it is done"
            )
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        live.close()
    # The old file's -shm is memory-mapped by every reader of it (a server). Were the new file
    # opened in WAL mode under the same -shm name, the first connection of a process would
    # truncate that mapped file under the old readers: SIGBUS. So the new file goes in with a
    # rollback journal (readers need no -shm; _private_copy wrote it so), and the old -shm
    # leaves the name before and after the rename (unlinking never truncates a mapping); a
    # crawl that turns WAL on later creates a fresh one.
    with open(new_path, "rb") as fh:  # written without syncs: on disk before it is in place
        os.fsync(fh.fileno())
    shared = (Path(f"{db_path}-shm"), Path(f"{db_path}-wal"))
    for name in shared:
        name.unlink(missing_ok=True)
    os.replace(new_path, db_path)
    _sync_directory(db_path.parent)
    for leftover in (*shared, Path(f"{new_path}-wal"), Path(f"{new_path}-shm")):
        leftover.unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _build(
    db,
    data_dir: str | Path,
    echo: Callable[[str], object],
    *,
    jobs: int | None = None,
    batch_size: int = BATCH_REPORTS,
) -> BuildResult:
    result = BuildResult()
    sources = {row["id"]: row for row in db.query("SELECT * FROM sources")}
    # sqlite3.Row, not dicts, while all captures are in memory (a third of the size); a task
    # gets dicts for the rows it carries.
    cursor = db.conn.execute(
        f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE role IN (?, ?) ORDER BY id",
        DOCUMENT_ROLES,
    )
    cursor.row_factory = sqlite3.Row
    rows = cursor.fetchall()
    result.captures = len(rows)

    # a report is the first 200 capture of each (url, sha256); re-fetches map onto it
    report_of: dict[int, int] = {}  # capture id -> report id
    first: dict[tuple[str, str], int] = {}
    pages: list[sqlite3.Row] = []
    # report id -> its continuation pages (t..._1.html)
    continued: dict[int, list[sqlite3.Row]] = {}
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
    files: dict[int, list[sqlite3.Row]] = {}
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
    del rows, report_of, first

    tasks = (
        _Task(
            dict(row),
            [dict(r) for r in continued.pop(row["id"], [])],
            [dict(r) for r in files.pop(row["id"], [])],
            sources.get(row["source_id"]) or {},
            str(data_dir),
        )
        for row in pages
    )
    jobs = jobs or os.cpu_count() or 1
    if len(pages) < POOL_MIN_PAGES:
        jobs = 1
    # Foreign keys off while clearing: SQLite then truncates each table instead of checking
    # every deleted row (children go first, so nothing dangles).
    db.execute("PRAGMA foreign_keys = OFF")
    with db.atomic():
        archive_db.clear_derived(db)
        search.start_index(db.conn)
    db.execute("PRAGMA foreign_keys = ON")
    with archive_db.derived_indexes_deferred(db):  # this copy is discarded on any error
        writer = archive_db.DerivedWriter(db)
        batch: list[archive_db.DerivedRows] = []
        for n, done in enumerate(_parse_all(tasks, jobs, window=2 * batch_size), start=1):
            result.merge(done.result)
            batch.append(done.rows)
            if len(batch) >= batch_size:
                _write_batch(db, writer, batch)
                batch = []
            if n % PROGRESS_EVERY == 0:
                echo(f"build: {n}/{len(pages)} report pages read")
        _write_batch(db, writer, batch)
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


def _write_batch(db, writer: archive_db.DerivedWriter, batch: list[archive_db.DerivedRows]) -> None:
    if batch:
        with db.atomic():
            writer.write(batch)


@dataclass
class _Task:
    row: dict
    continuation_rows: list[dict]
    attachment_rows: list[dict]
    source: dict
    data_dir: str


@dataclass
class _Done:
    rows: archive_db.DerivedRows
    result: BuildResult


def _run_task(task: _Task) -> _Done:
    """One report page with its continuations and attachments, parsed (runs in a worker)."""
    result = BuildResult()
    pending = _build_one(
        task.row,
        task.continuation_rows,
        task.attachment_rows,
        task.source,
        task.data_dir,
        result,
    )
    figures = pending.figures
    # vars(), not Figures.rows()' dataclasses.asdict: the records are flat, and asdict's deep
    # copy cost a fifth of the build's time.
    cells, stats, checks = (
        [dict(vars(r)) for r in records]
        for records in (figures.cells, figures.stats, figures.checks)
    )
    rows = archive_db.DerivedRows(
        pending.report,
        pending.attachments,
        cells,
        stats,
        checks,
        index_terms=search.index_terms(pending.report),  # n-grams made here, in parallel
    )
    return _Done(rows, result)


def _parse_all(tasks: Iterator[_Task], jobs: int, window: int) -> Iterator[_Done]:
    """Parse tasks in order; with jobs > 1 in a process pool, at most `window` in flight."""
    if jobs <= 1:
        yield from map(_run_task, tasks)
        return
    # spawn, not fork: the parent may run threads (a server in tests), which fork would copy
    # in whatever state they are.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        queue: deque[Future[_Done]] = deque()
        for task in tasks:
            queue.append(pool.submit(_run_task, task))
            if len(queue) >= window:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()


def _build_one(
    row: dict,
    continuation_rows: list[dict],
    attachment_rows: list[dict],
    source: dict,
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
    """Full-text index of the reports: filled batch by batch with the reports (in this copy of
    the archive), merged into one segment here."""
    with db.atomic():
        count = search.finish_index(db.conn)
    echo(f"build: full-text index rebuilt ({count} reports)")
