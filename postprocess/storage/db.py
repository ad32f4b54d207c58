"""archive.db: the one module that talks to SQLite (through sqlite-utils).

Captures are append-only: a re-crawl adds rows, never rewrites them. Everything
derived from captures (reports, attachments, cells, stats, checks) is rebuilt by
`nianbao build` with ids taken from captures, so a rebuild is deterministic.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.db import Table
from sqlite_utils.migrations import Migrations

migrations = Migrations("nianbao")

DERIVED_TABLES = ("checks", "stats", "cells", "attachments", "reports")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@migrations()
def m001_core(db: Database) -> None:
    db.table("sources").create(
        {
            "id": str,
            "agency": str,
            "division_code": str,
            "level": str,
            "cms": str,
            "province": str,
            "city": str,
            "start_urls": str,
            "verified": int,
            "example_url": str,
            "notes": str,
            "demo": int,
        },
        pk="id",
    )
    db.table("crawls").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "sources": str,
            "status": str,
            "pages": int,
            "reports": int,
            "errors": int,
            "stats": str,
        },
        pk="id",
    )
    db.table("captures").create(
        {
            "id": int,
            "crawl_id": int,
            "source_id": str,
            "url": str,
            "method": str,
            "fetched_at": str,
            "status": int,
            "content_type": str,
            "sha256": str,
            "size": int,
            "warc_file": str,
            "warc_record_id": str,
            "warc_offset": int,
            "role": str,
            "parent_capture_id": int,
            "referer": str,
            "etag": str,
            "last_modified": str,
            "blocked": int,
            "note": str,
        },
        pk="id",
        foreign_keys=[
            ("crawl_id", "crawls", "id"),
            ("source_id", "sources", "id"),
            ("parent_capture_id", "captures", "id"),
        ],
    )
    db.table("captures").create_index(["warc_record_id"], unique=True)
    db.table("captures").create_index(["url"])
    db.table("captures").create_index(["source_id", "role"])
    db.table("fetch_errors").create(
        {
            "id": int,
            "crawl_id": int,
            "source_id": str,
            "url": str,
            "at": str,
            "role": str,
            "error": str,
            "message": str,
            "status": int,
        },
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id"), ("source_id", "sources", "id")],
    )
    db.table("reports").create(
        {
            "id": int,
            "source_id": str,
            "capture_id": int,
            "document_capture_id": int,
            "url": str,
            "document_url": str,
            "title": str,
            "agency": str,
            "year": int,
            "published": str,
            "kind": str,
            "kind_reason": str,
            "format": str,
            "text": str,
            "text_source": str,
            "parse_status": str,
            "parse_error": str,
            "province": str,
            "city": str,
            "level": str,
            "division_code": str,
            "sha256": str,
            "fetched_at": str,
        },
        pk="id",
        foreign_keys=[
            ("source_id", "sources", "id"),
            ("capture_id", "captures", "id"),
            ("document_capture_id", "captures", "id"),
        ],
    )
    db.table("attachments").create(
        {
            "id": int,
            "report_id": int,
            "capture_id": int,
            "url": str,
            "media": str,
            "parse_status": str,
            "parse_error": str,
            "text_chars": int,
        },
        pk="id",
        foreign_keys=[("report_id", "reports", "id"), ("capture_id", "captures", "id")],
    )
    db.table("cells").create(
        {
            "id": int,
            "report_id": int,
            "section": str,
            "row_key": str,
            "col_key": str,
            "value": float,
            "raw": str,
            "unit": str,
            "row_label": str,
            "col_label": str,
            "known": int,
        },
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    db.table("stats").create(
        {
            "id": int,
            "report_id": int,
            "key": str,
            "value": float,
            "raw": str,
            "approx": int,
            "origin": str,
            "cell_id": int,
            "evidence": str,
        },
        pk="id",
        foreign_keys=[("report_id", "reports", "id"), ("cell_id", "cells", "id")],
    )
    db.table("checks").create(
        {"id": int, "report_id": int, "rule": str, "ok": int, "detail": str},
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    for table in ("cells", "stats", "checks", "attachments"):
        db.table(table).create_index(["report_id"])
    db.table("stats").create_index(["key"])
    db.table("reports").create_index(["source_id", "year"])


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open archive.db (creating it) in WAL mode and bring its schema up to date."""
    db = Database(str(path))
    db.execute("PRAGMA busy_timeout = 30000")
    # Workers of a distributed crawl may open a new archive at the same moment: one migrates.
    with _schema_lock(path):
        db.enable_wal()
        if migrate:
            migrations.apply(db)
    db.execute("PRAGMA foreign_keys = ON")
    return db


@contextmanager
def _schema_lock(path: str | Path) -> Iterator[None]:
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def memory_db() -> Database:
    db = Database(memory=True)
    db.execute("PRAGMA foreign_keys = ON")
    migrations.apply(db)
    return db


# --- sources and crawls -------------------------------------------------------


def upsert_sources(db: Database, rows: Iterable[dict]) -> None:
    with db.conn:
        for row in rows:
            row = dict(row)
            row["start_urls"] = json.dumps(row["start_urls"], ensure_ascii=False)
            db.table("sources").upsert(row, pk="id")


def inserted_id(table: Table) -> int:
    """The rowid SQLite gave the row just inserted through table."""
    if table.last_pk is None:
        raise RuntimeError(f"{table.name}: no row id after insert")
    return int(table.last_pk)


def start_crawl(db: Database, source_ids: list[str]) -> int:
    with db.conn:
        table = db.table("crawls").insert(
            {"started_at": now(), "sources": json.dumps(source_ids), "status": "running"}
        )
    return inserted_id(table)


def finish_crawl(db: Database, crawl_id: int, status: str, counts: dict) -> None:
    with db.conn:
        db.table("crawls").update(
            crawl_id,
            {
                "finished_at": now(),
                "status": status,
                "pages": counts.get("pages", 0),
                "reports": counts.get("reports", 0),
                "errors": counts.get("errors", 0),
                "stats": json.dumps(counts, ensure_ascii=False, default=str),
            },
        )


def record_capture(db: Database, row: dict) -> int:
    """Append one capture row (the WARC record is already written) and return its id."""
    with db.conn:
        return inserted_id(db.table("captures").insert(row))


def capture_of_record(db: Database, record_id: str) -> int | None:
    """Id of the capture of a WARC record here, None when another worker's archive holds it."""
    row = db.execute("SELECT id FROM captures WHERE warc_record_id = ?", [record_id]).fetchone()
    return row[0] if row else None


def record_fetch_error(db: Database, row: dict) -> None:
    row = {"at": now(), **row}
    with db.conn:
        db.table("fetch_errors").insert(row)


# --- derived tables -------------------------------------------------------------


def clear_derived(db: Database) -> None:
    """Drop the rows `nianbao build` recomputes (captures and sources stay)."""
    for table in DERIVED_TABLES:
        db.execute(f"DELETE FROM [{table}]")


def write_report(
    db: Database,
    report: dict,
    attachments: list[dict],
    cells: list[dict],
    stats: list[dict],
    checks: list[dict],
) -> None:
    """Insert one report with everything derived from it; ids of cells are kept for stats.

    cells, stats and checks are the extraction model's records as dicts (dataclasses.asdict)."""
    db.table("reports").insert(report, pk="id", replace=True)
    rid = report["id"]
    for att in attachments:
        db.table("attachments").insert({**att, "report_id": rid}, pk="id", replace=True)
    cell_ids: dict[tuple[str, str, str], int] = {}
    for cell in cells:
        row = dict(cell)
        row["known"] = int(row["known"])
        row["report_id"] = rid
        cid = inserted_id(db.table("cells").insert(row))
        cell_ids[(cell["section"], cell["row_key"], cell["col_key"])] = cid
    for stat in stats:
        row = dict(stat)
        row["approx"] = int(row["approx"])
        row["report_id"] = rid
        row["cell_id"] = None
        if stat["origin"] == "cell":
            ref = tuple(stat["evidence"].split(".", 2))
            row["cell_id"] = cell_ids.get(ref) if len(ref) == 3 else None
        db.table("stats").insert(row)
    for check in checks:
        db.table("checks").insert(
            {
                "report_id": rid,
                "rule": check["rule"],
                "ok": int(check["ok"]),
                "detail": check["detail"],
            }
        )


def iter_captures(db: Database, where: str = "1", params: Iterable = ()) -> Iterator[dict]:
    yield from db.query(f"SELECT * FROM captures WHERE {where} ORDER BY id", list(params))


@migrations()
def m_failed_checks_view(db: Database) -> None:
    """Reports failing a consistency rule, with the numbers involved (one row per failure)."""
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS failed_checks AS
        SELECT checks.report_id, reports.agency, reports.year, reports.title, reports.format,
               checks.rule, checks.detail, reports.url
        FROM checks JOIN reports ON reports.id = checks.report_id
        WHERE checks.ok = 0
        """
    )


@migrations()
def m002_reports_long_columns_last(db: Database) -> None:
    """Put the long text columns of reports last.

    SQLite walks a row's overflow pages to reach columns stored after a long value, so facets and
    filters on province, city or level paid for reading every report's text.
    """
    long_columns = ("kind_reason", "parse_error", "text")
    columns = [c.name for c in db.table("reports").columns]
    db.table("reports").transform(
        column_order=[c for c in columns if c not in long_columns] + list(long_columns)
    )


@migrations()
def m003_captures_parent_record(db: Database) -> None:
    """The parent page's WARC record id: unique across workers, unlike a capture id."""
    db.table("captures").add_column("parent_record_id", str)


@migrations()
def m_list_entry_and_published_source(db: Database) -> None:
    """The list entry a report was found under (captures.list_title, list_date: the link text
    and the date printed beside it) and which source gave a report's publication date
    (reports.published_source: meta | label | list | signature)."""
    captures, reports = db.table("captures"), db.table("reports")
    for column in ("list_title", "list_date"):
        if column not in captures.columns_dict:
            captures.add_column(column, str)
    if "published_source" not in reports.columns_dict:
        reports.add_column("published_source", str)
        long_columns = ("kind_reason", "parse_error", "text")  # kept last, as m002 does
        columns = [c.name for c in reports.columns]
        reports.transform(
            column_order=[c for c in columns if c not in long_columns] + list(long_columns)
        )


# --- crawl history, revalidation, versions, monitoring (issue 11 §3 §5 §7) --------------------

RUNNING = "running"
INTERRUPTED = "interrupted"  # the process died (SIGKILL, power loss) without closing its row
FAILED = "failed"  # stopped on a fatal error (disk or database full ...)
RESUMABLE = (INTERRUPTED, FAILED)


@migrations()
def m003_crawl_history(db: Database) -> None:
    """Who runs a crawl (to tell a dead one), per-source run counts, list links, versions."""
    db.table("crawls").add_column("pid", int)
    db.table("crawls").add_column("host", str)
    db.table("crawls").add_column("resumes", str)  # JSON list of interrupted crawl ids it completed
    db.table("crawls").add_column("warnings", str)  # JSON list of monitoring warnings
    # a 304 or an identical body: the capture whose bytes this one confirms
    db.execute("ALTER TABLE captures ADD COLUMN revisit_of INTEGER REFERENCES captures(id)")
    db.table("crawl_runs").create(
        {
            "id": int,
            "crawl_id": int,
            "source_id": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "captures": int,
            "pages": int,
            "reports": int,
            "attachments": int,
            "new": int,
            "changed": int,
            "unchanged": int,
            "deleted": int,
            "errors": int,
            "blocked": int,
            "capped": int,
            "warnings": str,
        },
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id"), ("source_id", "sources", "id")],
    )
    db.table("crawl_runs").create_index(["source_id", "crawl_id"])
    db.table("list_links").create(
        {"id": int, "crawl_id": int, "source_id": str, "url": str, "links": int},
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id"), ("source_id", "sources", "id")],
    )
    db.table("list_links").create_index(["url", "crawl_id"])
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS document_versions AS
        WITH bodies AS (
            SELECT url, role, source_id, sha256, MIN(id) AS capture_id,
                   MIN(fetched_at) AS first_seen, size
            FROM captures
            WHERE status = 200 AND role IN ('report', 'attachment') AND NOT blocked
            GROUP BY url, sha256
        )
        SELECT url, role, source_id,
               ROW_NUMBER() OVER (PARTITION BY url ORDER BY capture_id) AS version,
               COUNT(*) OVER (PARTITION BY url) AS versions,
               capture_id,
               LAG(capture_id) OVER (PARTITION BY url ORDER BY capture_id) AS previous_capture_id,
               first_seen, sha256, size
        FROM bodies
        """
    )
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS document_changes AS
        WITH latest AS (
            SELECT url, MAX(id) AS capture_id FROM captures
            WHERE role IN ('report', 'attachment') GROUP BY url
        ),
        seen AS (
            SELECT url, MAX(fetched_at) AS last_seen FROM captures
            WHERE role IN ('report', 'attachment') AND status IN (200, 304) GROUP BY url
        ),
        versions AS (
            SELECT url, role, source_id, MAX(versions) AS versions, MAX(first_seen) AS changed_at,
                   MAX(capture_id) AS latest_version_capture_id
            FROM document_versions GROUP BY url
        )
        SELECT versions.url, versions.role, versions.source_id, versions.versions,
               CASE WHEN versions.versions > 1 THEN versions.changed_at END AS changed_at,
               CASE WHEN c.status IN (404, 410) THEN c.fetched_at END AS deleted_at,
               c.status AS last_status, seen.last_seen, versions.latest_version_capture_id
        FROM versions
        JOIN latest ON latest.url = versions.url
        JOIN captures c ON c.id = latest.capture_id
        LEFT JOIN seen ON seen.url = versions.url
        WHERE versions.versions > 1 OR c.status IN (404, 410)
        """
    )
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS sources_attention AS
        SELECT crawl_runs.source_id, sources.agency, crawl_runs.crawl_id,
               crawl_runs.finished_at, crawl_runs.status, crawl_runs.reports,
               crawl_runs.errors, crawl_runs.warnings
        FROM crawl_runs JOIN sources ON sources.id = crawl_runs.source_id
        WHERE crawl_runs.id IN (SELECT MAX(id) FROM crawl_runs GROUP BY source_id)
          AND crawl_runs.warnings IS NOT NULL AND crawl_runs.warnings != ''
        """
    )


def register_crawl(db: Database, crawl_id: int, pid: int, host: str) -> None:
    with db.conn:
        db.table("crawls").update(crawl_id, {"pid": pid, "host": host})


def mark_interrupted(db: Database, host: str, alive: Callable[[int], bool]) -> list[int]:
    """Crawls left `running` by a process of this host that no longer exists: `interrupted`."""
    dead = [
        row["id"]
        for row in db.query(
            "SELECT id, pid, host FROM crawls WHERE status = ? ORDER BY id", [RUNNING]
        )
        if row["pid"] is None or (row["host"] == host and not alive(row["pid"]))
    ]
    if dead:
        with db.conn:
            for crawl_id in dead:
                db.table("crawls").update(crawl_id, {"status": INTERRUPTED, "finished_at": now()})
                db.execute(
                    "UPDATE crawl_runs SET status = ? WHERE crawl_id = ?", [INTERRUPTED, crawl_id]
                )
    return dead


def resumable_crawls(db: Database, source_ids: Iterable[str], before: int) -> list[int]:
    """The crawls a new crawl of these sources completes: the unbroken run of interrupted or
    failed crawls sharing a source, newest first, back to the last crawl that finished."""
    wanted = set(source_ids)
    found = []
    for row in db.query(
        "SELECT id, status, sources FROM crawls WHERE id < ? ORDER BY id DESC", [before]
    ):
        if not wanted & set(json.loads(row["sources"] or "[]")):
            continue
        if row["status"] not in RESUMABLE:
            break
        found.append(row["id"])
    return found


def last_capture(db: Database, url: str, method: str = "GET") -> dict | None:
    """The latest 200 capture of a URL (what a re-crawl revalidates against)."""
    rows = list(
        db.query(
            "SELECT id, crawl_id, etag, last_modified, sha256, warc_file, warc_offset, "
            "warc_record_id, content_type FROM captures "
            "WHERE url = ? AND method = ? AND status = 200 AND NOT blocked "
            "ORDER BY id DESC LIMIT 1",
            [url, method],
        )
    )
    return rows[0] if rows else None


def seen_before(db: Database, url: str, before_crawl: int) -> bool:
    """Whether an earlier crawl captured this URL at all (new vs revisited)."""
    rows = db.execute(
        "SELECT 1 FROM captures WHERE url = ? AND crawl_id < ? LIMIT 1", [url, before_crawl]
    ).fetchall()
    return bool(rows)


def record_crawl_runs(db: Database, rows: list[dict], links: list[dict]) -> None:
    with db.conn:
        if rows:
            db.table("crawl_runs").insert_all(rows)
        if links:
            db.table("list_links").insert_all(links)


def previous_run(db: Database, source_id: str, before_crawl: int) -> dict | None:
    rows = list(
        db.query(
            "SELECT * FROM crawl_runs WHERE source_id = ? AND crawl_id < ? "
            "AND status = 'finished' ORDER BY crawl_id DESC LIMIT 1",
            [source_id, before_crawl],
        )
    )
    return rows[0] if rows else None


def previous_links(db: Database, url: str, before_crawl: int) -> int | None:
    rows = db.execute(
        "SELECT links FROM list_links WHERE url = ? AND crawl_id < ? ORDER BY crawl_id DESC "
        "LIMIT 1",
        [url, before_crawl],
    ).fetchall()
    return rows[0][0] if rows else None


def set_crawl_fields(db: Database, crawl_id: int, fields: dict) -> None:
    with db.conn:
        db.table("crawls").update(crawl_id, fields)


@migrations()
def m004_report_versions(db: Database) -> None:
    """Report rows of one page URL as numbered versions, and the figures that changed between
    consecutive versions (an edited report keeps its old row: both versions stay)."""
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS report_versions AS
        SELECT id AS report_id, url, fetched_at,
               ROW_NUMBER() OVER (PARTITION BY url ORDER BY id) AS version,
               COUNT(*) OVER (PARTITION BY url) AS versions,
               LAG(id) OVER (PARTITION BY url ORDER BY id) AS previous_report_id,
               LEAD(id) OVER (PARTITION BY url ORDER BY id) AS next_report_id
        FROM reports
        """
    )
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS report_figure_changes AS
        WITH pairs AS (
            SELECT report_id, previous_report_id, url, fetched_at FROM report_versions
            WHERE previous_report_id IS NOT NULL
        ),
        keys AS (
            SELECT p.report_id, p.previous_report_id, p.url, p.fetched_at, s.key
            FROM pairs p JOIN stats s ON s.report_id IN (p.report_id, p.previous_report_id)
            GROUP BY p.report_id, s.key
        )
        SELECT k.url, k.previous_report_id, k.report_id, k.fetched_at AS changed_at, k.key,
               (SELECT MAX(value) FROM stats WHERE report_id = k.previous_report_id
                  AND key = k.key) AS previous_value,
               (SELECT MAX(value) FROM stats WHERE report_id = k.report_id
                  AND key = k.key) AS value
        FROM keys k
        WHERE previous_value IS NOT value
        """
    )


@migrations()
def m_reports_agency_identity(db: Database) -> None:
    """reports.agency_id (division code + normalised name) and agency_name (display), so one
    agency has one identity however its reports spell it; text columns stay last (m002)."""
    columns = {c.name for c in db.table("reports").columns}
    for name in ("agency_id", "agency_name"):
        if name not in columns:
            db.table("reports").add_column(name, str)
    long_columns = ("kind_reason", "parse_error", "text")
    order = [c.name for c in db.table("reports").columns]
    db.table("reports").transform(
        column_order=[c for c in order if c not in long_columns] + list(long_columns)
    )
    db.table("reports").create_index(["agency_id", "year"], if_not_exists=True)
