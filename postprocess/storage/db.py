"""archive.db: the one module that talks to SQLite (through sqlite-utils).

Captures are append-only: a re-crawl adds rows, never rewrites them. Everything
derived from captures (reports, attachments, cells, stats, checks) is rebuilt by
`nianbao build` with ids taken from captures, so a rebuild is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("nianbao")

DERIVED_TABLES = ("checks", "stats", "cells", "attachments", "reports")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@migrations()
def m001_core(db: Database) -> None:
    db["sources"].create(
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
    db["crawls"].create(
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
    db["captures"].create(
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
    db["captures"].create_index(["warc_record_id"], unique=True)
    db["captures"].create_index(["url"])
    db["captures"].create_index(["source_id", "role"])
    db["fetch_errors"].create(
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
    db["reports"].create(
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
    db["attachments"].create(
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
    db["cells"].create(
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
    db["stats"].create(
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
    db["checks"].create(
        {"id": int, "report_id": int, "rule": str, "ok": int, "detail": str},
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    for table in ("cells", "stats", "checks", "attachments"):
        db[table].create_index(["report_id"])
    db["stats"].create_index(["key"])
    db["reports"].create_index(["source_id", "year"])


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open archive.db (creating it) in WAL mode and bring its schema up to date."""
    db = Database(str(path))
    db.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    if migrate:
        migrations.apply(db)
    return db


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
            db["sources"].upsert(row, pk="id")


def start_crawl(db: Database, source_ids: list[str]) -> int:
    with db.conn:
        table = db["crawls"].insert(
            {"started_at": now(), "sources": json.dumps(source_ids), "status": "running"}
        )
    return table.last_pk


def finish_crawl(db: Database, crawl_id: int, status: str, counts: dict) -> None:
    with db.conn:
        db["crawls"].update(
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
        return db["captures"].insert(row).last_pk


def record_fetch_error(db: Database, row: dict) -> None:
    row = {"at": now(), **row}
    with db.conn:
        db["fetch_errors"].insert(row)


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
    db["reports"].insert(report, pk="id", replace=True)
    rid = report["id"]
    for att in attachments:
        db["attachments"].insert({**att, "report_id": rid}, pk="id", replace=True)
    cell_ids: dict[tuple[str, str, str], int] = {}
    for cell in cells:
        row = dict(cell)
        row["known"] = int(row["known"])
        row["report_id"] = rid
        cid = db["cells"].insert(row).last_pk
        cell_ids[(cell["section"], cell["row_key"], cell["col_key"])] = cid
    for stat in stats:
        row = dict(stat)
        row["approx"] = int(row["approx"])
        row["report_id"] = rid
        row["cell_id"] = None
        if stat["origin"] == "cell":
            ref = tuple(stat["evidence"].split(".", 2))
            row["cell_id"] = cell_ids.get(ref) if len(ref) == 3 else None
        db["stats"].insert(row)
    for check in checks:
        db["checks"].insert(
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
    columns = [c.name for c in db["reports"].columns]
    db["reports"].transform(
        column_order=[c for c in columns if c not in long_columns] + list(long_columns)
    )


@migrations()
def m003_cells_method(db: Database) -> None:
    """cells.method: how a cell's column was read (header | arithmetic | split)."""
    cells = db.table("cells")
    if "method" not in cells.columns_dict:
        cells.add_column("method", str)
