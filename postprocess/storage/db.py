"""archive.db: the one module that talks to SQLite (through sqlite-utils).

Captures are append-only: a re-crawl adds rows, never rewrites them. Everything
derived from captures (reports, attachments, cells, stats, checks) is rebuilt by
`nianbao build` with ids taken from captures, so a rebuild is deterministic.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable, Iterator
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
