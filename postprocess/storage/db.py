"""archive.db: the one module that talks to SQLite (through sqlite-utils).

Captures are append-only: a re-crawl adds rows, never rewrites them. Everything
derived from captures (reports, attachments, cells, stats, checks) is rebuilt by
`nianbao build` with ids taken from captures, so a rebuild is deterministic.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import Table
from sqlite_utils.migrations import Migrations

log = logging.getLogger(__name__)
migrations = Migrations("nianbao")

# Children first, so foreign keys hold while rows are deleted. The `cells` and `stats` of the
# public API are views over cell_values (m003_h3_scale) and stat_values (m_stats_compact).
DERIVED_TABLES = ("checks", "stat_values", "cell_values", "attachments", "reports")
# Dictionaries of the derived tables: kept across builds (ids stay), filled as new strings come.
DERIVED_DICTIONARIES = ("cell_keys", "cell_labels", "cell_prints", "stat_keys", "stat_evidence")


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
            _migrate(db)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _migrate(db: Database) -> None:
    """A new (empty) archive is made from SCHEMA_FILE, an existing one is migrated; then the
    migrations newer than the file, if any, are applied."""
    if not db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        create_from_schema(db)
    migrations.apply(db)


# The schema the migrations below leave a new archive with, as the script `schema_script` writes
# from a database they were applied to (tests/test_migrations_schema.py checks the file against
# them): a new archive runs it in one transaction instead of replaying every migration (5 ms of
# CPU instead of 50-60 at the start of a crawl into a new archive).
SCHEMA_FILE = Path(__file__).with_name("schema.sql")
_SCHEMA_MIGRATION = re.compile(r"^-- migration: (\S+)$", re.M)


def create_from_schema(db: Database, script: str | None = None) -> None:
    """Make an empty database the archive SCHEMA_FILE describes and record the migrations it
    includes as applied (the rows `Migrations.apply` writes)."""
    script = SCHEMA_FILE.read_text("utf-8") if script is None else script
    applied_at = str(datetime.now(UTC))
    rows = [(migrations.name, name, applied_at) for name in _SCHEMA_MIGRATION.findall(script)]
    conn = db.conn
    try:
        conn.executescript("BEGIN;\n" + script)
        conn.executemany(
            f"INSERT INTO [{migrations.migrations_table}] (migration_set, name, applied_at) "
            "VALUES (?, ?, ?)",
            rows,
        )
        conn.commit()
    except sqlite3.Error:
        if conn.in_transaction:
            conn.rollback()
        raise


def schema_script(conn: sqlite3.Connection) -> str:
    """The schema of a database as the script `create_from_schema` runs: the migrations applied
    to it, then every CREATE statement as SQLite keeps it (in the order it keeps them; tables
    an FTS5 table makes for itself and indexes of UNIQUE constraints left out), then the FTS5
    tables' configuration (rank ...)."""
    shadow = {r[1] for r in conn.execute("PRAGMA table_list") if r[2] == "shadow"}
    lines = [
        "-- archive.db as a new archive starts: written by postprocess.storage.db.schema_script",
        "-- from a database the migrations were applied to; do not edit (tests/",
        "-- test_migrations_schema.py says how to write it again after adding a migration).",
    ]
    lines += [
        f"-- migration: {name}"
        for (name,) in conn.execute(
            f"SELECT name FROM [{migrations.migrations_table}] WHERE migration_set = ? "
            "ORDER BY rowid",
            [migrations.name],
        )
    ]
    fts = []
    for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ):
        if name in shadow or name.startswith("sqlite_"):
            continue
        lines.append(f"{sql};")
        if kind == "table" and re.match(r"CREATE VIRTUAL TABLE .* USING fts5\b", sql, re.I):
            fts.append(name)
    for name in fts:
        for key, value in conn.execute(f"SELECT k, v FROM [{name}_config] WHERE k != 'version'"):
            lines.append(
                f"INSERT INTO [{name}] ([{name}], [{key}]) VALUES ({_literal(key)}, "
                f"{_literal(value)});"
            )
    return "\n".join(lines) + "\n"


def _literal(value: str | int | float) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


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
    _migrate(db)
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


def link_parents_by_record(db: Database) -> int:
    """Give each capture whose parent page is named only by its WARC record id (written by
    another worker, whose row was not committed or not merged yet) the id of that parent where
    the archive now has it; returns the rows linked. In the caller's transaction."""
    return db.execute(
        "UPDATE captures SET parent_capture_id = (SELECT p.id FROM captures p "
        "WHERE p.warc_record_id = captures.parent_record_id) "
        "WHERE parent_record_id IS NOT NULL AND parent_capture_id IS NULL"
    ).rowcount


def insert_row(db: Database, table: str, row: dict) -> int:
    """Insert one captures or fetch_errors row in the open transaction, without committing: the
    crawler commits a batch once the WARC records it points at are synced. Returns its id."""
    if table not in ("captures", "fetch_errors"):
        raise ValueError(f"insert_row: not a crawl table: {table}")
    names = ", ".join(f"[{k}]" for k in row)
    marks = ", ".join("?" for _ in row)
    sql = f"INSERT INTO [{table}] ({names}) VALUES ({marks})"
    cursor = db.conn.execute(sql, list(row.values()))
    return int(cursor.lastrowid or 0)


def revalidated_urls(db: Database) -> Iterator[tuple[str, str]]:
    """(method, url) of every URL with a capture `last_capture` would return."""
    yield from db.conn.execute(
        "SELECT DISTINCT method, url FROM captures WHERE status = 200 AND NOT blocked"
    )


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


@contextmanager
def derived_indexes_deferred(db: Database) -> Iterator[None]:
    """Drop the secondary indexes of the derived tables while they are refilled, and create them
    again after: built from the finished rows they come out packed, where rows inserted in report
    order split pages of an index sorted otherwise (15% larger indexes at 1,000 reports). A
    UNIQUE index still refuses duplicates: creating it fails. On an error the indexes stay
    dropped, so only a file that is thrown away on failure (the build's copy) may use this."""
    tables = json.dumps(list(DERIVED_TABLES))
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN (SELECT value FROM json_each(?)) ORDER BY name",
        [tables],
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX [{name}]")
    yield
    for _, sql in indexes:
        db.execute(sql)


@dataclass
class DerivedRows:
    """One report with everything derived from it, as the build hands it to the writer.

    cells, stats and checks are the extraction model's records as dicts (dataclasses.asdict)."""

    report: dict
    attachments: list[dict] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)
    stats: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    # the report's full-text index terms (search.index_terms), inserted with it when given
    index_terms: tuple[str, ...] | None = None


class DerivedWriter:
    """Writes reports and their derived rows in bulk (one executemany per table and batch).

    Cell keys and printed labels go to the small dictionaries cell_keys / cell_labels, cached
    here; cell ids are assigned here so stats can point at their cell in the same batch."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn
        self.keys: dict[tuple[str, str, str], int] = {
            (r[1], r[2], r[3]): r[0]
            for r in self.conn.execute("SELECT id, section, row_key, col_key FROM cell_keys")
        }
        self.labels: dict[str, int] = {
            r[1]: r[0] for r in self.conn.execute("SELECT id, label FROM cell_labels")
        }
        top = self.conn.execute("SELECT max(id) FROM cell_values").fetchone()[0]
        self.next_cell = (top or 0) + 1
        self.prints: dict[tuple[int | None, ...], int] = {
            (r[1], r[2], r[3]): r[0]
            for r in self.conn.execute(
                "SELECT id, unit_id, row_label_id, col_label_id FROM cell_prints"
            )
        }
        # the same by the printed texts (filled as they are met): one lookup a cell
        self.print_of: dict[tuple[str | None, ...], int] = {}
        self.stat_keys: dict[str, int] = {
            r[1]: r[0] for r in self.conn.execute("SELECT id, key FROM stat_keys")
        }
        self.evidence: dict[str, int] = {
            r[1]: r[0] for r in self.conn.execute("SELECT id, text FROM stat_evidence")
        }

    def _key(self, section: str, row_key: str, col_key: str) -> int:
        key = (section, row_key, col_key)
        kid = self.keys.get(key)
        if kid is None:
            cursor = self.conn.execute(
                "INSERT INTO cell_keys (section, row_key, col_key) VALUES (?, ?, ?)", key
            )
            kid = self.keys[key] = int(cursor.lastrowid or 0)
        return kid

    def _label(self, text: str | None) -> int | None:
        if text is None:
            return None
        lid = self.labels.get(text)
        if lid is None:
            cursor = self.conn.execute("INSERT INTO cell_labels (label) VALUES (?)", [text])
            lid = self.labels[text] = int(cursor.lastrowid or 0)
        return lid

    def _dictionary(self, table: str, column: str, cache: dict[str, int], text: str) -> int:
        sid = cache.get(text)
        if sid is None:
            cursor = self.conn.execute(f"INSERT INTO {table} ({column}) VALUES (?)", [text])
            sid = cache[text] = int(cursor.lastrowid or 0)
        return sid

    def _stat_evidence(
        self, evidence: str | None, text: str | None, cell_ref: tuple[str, ...] | None
    ) -> tuple[int | None, int | None, int | None]:
        """(evidence_id, evidence_start, evidence_length) of a figure; see STATS_VIEW."""
        if evidence is None:
            return None, None, None
        if cell_ref is not None and evidence == ".".join(cell_ref):
            return None, None, None
        at = _evidence_place(text, evidence)
        if at is not None:
            return None, at, len(evidence)
        return self._dictionary("stat_evidence", "text", self.evidence, evidence), None, None

    def _print(self, unit: str | None, row_label: str | None, col_label: str | None) -> int:
        ids = (self._label(unit), self._label(row_label), self._label(col_label))
        pid = self.prints.get(ids)
        if pid is None:
            cursor = self.conn.execute(
                "INSERT INTO cell_prints (unit_id, row_label_id, col_label_id) VALUES (?, ?, ?)",
                ids,
            )
            pid = self.prints[ids] = int(cursor.lastrowid or 0)
        self.print_of[(unit, row_label, col_label)] = pid
        return pid

    def write(self, items: Iterable[DerivedRows]) -> None:
        """Insert the rows of `items` (inside the caller's transaction)."""
        reports: list[dict] = []
        attachments: list[dict] = []
        cells: list[tuple] = []
        stats: list[tuple] = []
        checks: list[tuple] = []
        indexed: list[tuple] = []
        # the dictionaries' hits inline (a few lookups per cell, a hundred cells per report)
        known_keys, known_prints = self.keys, self.print_of
        for item in items:
            rid = item.report["id"]
            reports.append(item.report)
            if item.index_terms is not None:
                indexed.append((rid, *item.index_terms))
            attachments.extend({**att, "report_id": rid} for att in item.attachments)
            cell_ids: dict[tuple[str, str, str], int] = {}
            for cell in item.cells:
                ref = (cell["section"], cell["row_key"], cell["col_key"])
                cid = self.next_cell
                self.next_cell += 1
                cell_ids[ref] = cid
                texts = (cell["unit"], cell["row_label"], cell["col_label"])
                cells.append(
                    (
                        cid,
                        rid,
                        known_keys.get(ref) or self._key(*ref),
                        cell["value"],
                        _stored_raw(cell["value"], cell["raw"]),
                        known_prints.get(texts) or self._print(*texts),
                        int(cell["known"]),
                        *_method_columns(cell.get("method")),
                    )
                )
            text = item.report.get("text")
            for stat in item.stats:
                cell_id = None
                cell_ref: tuple[str, ...] | None = None
                if stat["origin"] == "cell" and stat["evidence"] is not None:
                    cell_ref = tuple(stat["evidence"].split(".", 2))
                    cell_id = cell_ids.get(cell_ref) if len(cell_ref) == 3 else None
                stats.append(
                    (
                        rid,
                        self._dictionary("stat_keys", "key", self.stat_keys, stat["key"]),
                        stat["value"],
                        stat["raw"],
                        int(stat["approx"]),
                        *_origin_columns(stat["origin"]),
                        cell_id,
                        *self._stat_evidence(
                            stat["evidence"], text, cell_ref if cell_id is not None else None
                        ),
                    )
                )
            checks.extend((rid, c["rule"], int(c["ok"]), c["detail"]) for c in item.checks)
        _insert_dicts(self.conn, "reports", reports)
        _insert_dicts(self.conn, "attachments", attachments)
        self.conn.executemany(
            "INSERT INTO cell_values (id, report_id, key_id, value, raw, print_id, known, "
            "method_code, method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            cells,
        )
        self.conn.executemany(
            "INSERT INTO stat_values (report_id, key_id, value, raw, approx, origin_code, origin, "
            "cell_id, evidence_id, evidence_start, evidence_length) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stats,
        )
        self.conn.executemany(
            "INSERT INTO checks (report_id, rule, ok, detail) VALUES (?, ?, ?, ?)", checks
        )
        if indexed:
            from postprocess.storage import search

            search.add_to_index(self.conn, indexed)


# cell_values stores the method a cell's column was read by as its index here (method_code; 0,
# the usual header, takes no bytes), a method not listed as text (method); the view `cells` shows
# the name either way. 6 bytes a cell, 3% of archive.db at 1,000 reports.
CELL_METHODS = ("header", "arithmetic", "split")
CELL_METHOD_SQL = (
    "coalesce(v.method, CASE v.method_code "
    + " ".join(f"WHEN {i} THEN '{m}'" for i, m in enumerate(CELL_METHODS))
    + " END) AS method"
)


def _method_columns(method: str | None) -> tuple[int | None, str | None]:
    if method in CELL_METHODS:
        return CELL_METHODS.index(method), None
    return None, method


def _insert_dicts(conn: Any, table: str, rows: list[dict]) -> None:
    """executemany over dict rows that may carry different keys (missing ones are NULL)."""
    if not rows:
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    names = ", ".join(f"[{c}]" for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.executemany(
        f"INSERT INTO [{table}] ({names}) VALUES ({marks})",
        [tuple(row.get(c) for c in columns) for row in rows],
    )


def write_report(
    db: Database,
    report: dict,
    attachments: list[dict],
    cells: list[dict],
    stats: list[dict],
    checks: list[dict],
) -> None:
    """Insert one report with everything derived from it (a batch of one; see DerivedWriter)."""
    DerivedWriter(db).write([DerivedRows(report, attachments, cells, stats, checks)])


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


# --- h3: schema that scales (issue 8 §5, issue 11 §9) --------------------------------------------


def _drop_duplicates(db: Database, table: str, key: str) -> None:
    """Keep the first row of each key before a UNIQUE index goes on; the build recomputes them."""
    dropped = db.execute(
        f"DELETE FROM [{table}] WHERE id NOT IN (SELECT min(id) FROM [{table}] GROUP BY {key})"
    ).rowcount
    if dropped:
        log.warning(
            "migration: %d duplicate %s rows removed (same %s); run `nianbao build` to recompute",
            dropped,
            table,
            key,
        )


def _create_search_schema(db: Database) -> None:
    """reports_fts (contentless n-gram FTS5, rowid = reports.id) and the ranked view over it."""
    # imported here: a crawl opens archive.db without ever searching it
    from postprocess.storage import search

    fts = search.FTS_TABLE
    db.execute(search.FTS_DDL.replace("CREATE VIRTUAL TABLE", "CREATE VIRTUAL TABLE IF NOT EXISTS"))
    db.execute(f"INSERT INTO [{fts}] ([{fts}], rank) VALUES ('rank', ?)", [search.RANK])
    shown = ", ".join(f"r.[{c}]" for c in search.SEARCH_VIEW_COLUMNS)
    db.execute(f"DROP VIEW IF EXISTS [{search.SEARCH_VIEW}]")
    # No ORDER BY here: it would stop SQLite flattening the view for count(*) and facets. The id
    # is the index's rowid, so ORDER BY id DESC (newest first, search.ranked_order) reaches FTS5.
    db.execute(
        f"CREATE VIEW [{search.SEARCH_VIEW}] AS SELECT f.rowid AS id, f.rank AS rank, {shown}, "
        f"f.[{fts}] AS [{search.MATCH_COLUMN}] "
        f"FROM [{fts}] f JOIN reports r ON r.id = f.rowid"
    )


CELLS_VIEW = """
CREATE VIEW cells AS
SELECT v.id, v.report_id, k.section, k.row_key, k.col_key, v.value, v.raw, u.label AS unit,
       rl.label AS row_label, cl.label AS col_label, v.known
FROM cell_values v
JOIN cell_keys k ON k.id = v.key_id
LEFT JOIN cell_labels u ON u.id = v.unit_id
LEFT JOIN cell_labels rl ON rl.id = v.row_label_id
LEFT JOIN cell_labels cl ON cl.id = v.col_label_id
"""


@migrations()
def m003_h3_scale(db: Database) -> None:
    """Indexes for the canned queries and facets, UNIQUE keys, compact cells, search DDL.

    `cells` spent 60% of archive.db repeating its key and label strings: the values now sit in
    cell_values with ids into two small dictionaries (cell_keys: section, row_key, col_key;
    cell_labels: row and column labels and units as printed), and the view `cells` shows the
    same columns as before, so queries and the JSON API read it unchanged. Cell ids are kept,
    so stats.cell_id still points at its cell.
    """
    db.execute(
        "CREATE TABLE cell_keys (id INTEGER PRIMARY KEY, section TEXT NOT NULL, "
        "row_key TEXT NOT NULL, col_key TEXT NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX idx_cell_keys_key ON cell_keys (section, row_key, col_key)")
    db.execute("CREATE TABLE cell_labels (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE)")
    db.execute(
        "CREATE TABLE cell_values (id INTEGER PRIMARY KEY, "
        "report_id INTEGER NOT NULL REFERENCES reports(id), "
        "key_id INTEGER NOT NULL REFERENCES cell_keys(id), value FLOAT, raw TEXT, "
        "unit_id INTEGER REFERENCES cell_labels(id), "
        "row_label_id INTEGER REFERENCES cell_labels(id), "
        "col_label_id INTEGER REFERENCES cell_labels(id), known INTEGER)"
    )
    _drop_duplicates(db, "cells", "report_id, section, row_key, col_key")
    db.execute(
        "INSERT INTO cell_keys (section, row_key, col_key) "
        "SELECT DISTINCT section, row_key, col_key FROM cells ORDER BY 1, 2, 3"
    )
    db.execute(
        "INSERT INTO cell_labels (label) SELECT label FROM (SELECT unit AS label FROM cells "
        "UNION SELECT row_label FROM cells UNION SELECT col_label FROM cells) "
        "WHERE label IS NOT NULL ORDER BY label"
    )
    db.execute(
        """INSERT INTO cell_values (id, report_id, key_id, value, raw, unit_id, row_label_id,
                                    col_label_id, known)
        SELECT c.id, c.report_id, k.id, c.value, c.raw,
               (SELECT id FROM cell_labels WHERE label = c.unit),
               (SELECT id FROM cell_labels WHERE label = c.row_label),
               (SELECT id FROM cell_labels WHERE label = c.col_label), c.known
        FROM cells c JOIN cell_keys k
          ON k.section = c.section AND k.row_key = c.row_key AND k.col_key = c.col_key"""
    )
    db.table("stats").transform(
        drop_foreign_keys=["cell_id"], add_foreign_keys=[("cell_id", "cell_values", "id")]
    )
    db.execute("DROP TABLE cells")
    db.execute(CELLS_VIEW)
    # One value per report and key; the key index serves the canned queries' cell lookups.
    db.execute("CREATE UNIQUE INDEX idx_cell_values_report_key ON cell_values (report_id, key_id)")
    db.execute("CREATE INDEX idx_cell_values_key ON cell_values (key_id)")
    _drop_duplicates(db, "checks", "report_id, rule")
    db.execute("DROP INDEX IF EXISTS idx_checks_report_id")  # the UNIQUE index leads with it
    db.execute("CREATE UNIQUE INDEX idx_checks_report_rule ON checks (report_id, rule)")
    db.execute("CREATE INDEX idx_checks_rule_ok ON checks (rule, ok)")
    # Failures only: the failed_check facet, failing_reports and failed_checks read just these.
    db.execute("CREATE INDEX idx_checks_failed ON checks (rule, report_id) WHERE ok = 0")
    db.execute("CREATE INDEX idx_reports_kind_year ON reports (kind, year)")
    # The facets of the reports pages count over these columns: an index is a far smaller scan.
    for columns in (("province", "city"), ("level",), ("year",), ("format",)):
        db.execute(
            f"CREATE INDEX idx_reports_{'_'.join(columns)} ON reports ({', '.join(columns)})"
        )
    _create_search_schema(db)


@migrations()
def m_cells_method(db: Database) -> None:
    """cells.method: how a cell's column was read (header | arithmetic | split)."""
    values = db.table("cell_values")
    if "method" not in values.columns_dict:
        values.add_column("method", str)
    db.execute("DROP VIEW IF EXISTS cells")
    db.execute(CELLS_VIEW.replace("v.known\n", "v.known, v.method\n", 1))


@migrations()
def m_search_view_rowid(db: Database) -> None:
    """report_search.id is the index's rowid (was reports.id, the same value), so a search too
    common to rank can be served newest first by FTS5 itself (search.ranked_order)."""
    _create_search_schema(db)


@migrations()
def m_search_body_first(db: Database) -> None:
    """reports_fts with the body as its first column (a quarter smaller, see search.FTS_COLUMNS):
    an index of the former order is made again from the reports table, once (the build
    rebuilds it anyway; on an archive of 100,000 reports this takes minutes)."""
    from postprocess.storage import search

    if search.index_columns(db.conn) != search.FTS_COLUMNS:
        search.fill_index(db.conn)  # made anew with the current columns


@migrations()
def m_cells_method_code(db: Database) -> None:
    """cell_values.method_code: the method as its index in CELL_METHODS (see there); the view
    `cells` shows the same names as before."""
    values = db.table("cell_values")
    if "method_code" not in values.columns_dict:
        values.add_column("method_code", int)
    cases = " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(CELL_METHODS))
    db.execute(
        f"UPDATE cell_values SET method_code = CASE method {cases} END, method = NULL "
        "WHERE method IN (SELECT value FROM json_each(?))",
        [json.dumps(CELL_METHODS)],
    )
    db.execute("DROP VIEW IF EXISTS cells")
    db.execute(CELLS_VIEW.replace("v.known\n", f"v.known, {CELL_METHOD_SQL}\n", 1))


# stats is a view over stat_values (m_stats_compact): a figure's key is an id into stat_keys, its
# origin a code (STAT_ORIGINS), and its evidence is stored once, not copied: a sentence quoted
# from the report text as its place in reports.text (evidence_start, 0-based characters, and
# evidence_length), the reference of the one cell it was read from as cell_id, any other text
# (sums of several cells, a sentence not found verbatim) as an id into stat_evidence. Evidence
# was 0.6 KB of a narrative report's 16 KB.
STAT_ORIGINS = ("cell", "sentence")
STATS_VIEW = f"""
CREATE VIEW stats AS
SELECT s.id, s.report_id, k.key, s.value, s.raw, s.approx,
       coalesce(s.origin, CASE s.origin_code
           {" ".join(f"WHEN {i} THEN '{o}'" for i, o in enumerate(STAT_ORIGINS))} END) AS origin,
       s.cell_id,
       CASE
           WHEN s.evidence_id IS NOT NULL THEN
               (SELECT e.text FROM stat_evidence e WHERE e.id = s.evidence_id)
           -- a start without a length: the figure has no evidence (substr gives NULL)
           WHEN s.evidence_start IS NOT NULL THEN
               (SELECT substr(r.text, s.evidence_start + 1, s.evidence_length) FROM reports r
                WHERE r.id = s.report_id)
           WHEN s.cell_id IS NOT NULL THEN
               (SELECT ck.section || '.' || ck.row_key || '.' || ck.col_key
                FROM cell_values cv JOIN cell_keys ck ON ck.id = cv.key_id WHERE cv.id = s.cell_id)
       END AS evidence
FROM stat_values s
JOIN stat_keys k ON k.id = s.key_id
"""


def _origin_columns(origin: str | None) -> tuple[int | None, str | None]:
    if origin in STAT_ORIGINS:
        return STAT_ORIGINS.index(origin), None
    return None, origin


def _evidence_place(text: str | None, evidence: str) -> int | None:
    """Where evidence stands verbatim in text (characters), when substr() gives it back: SQLite
    stops counting characters at a NUL, so a text holding one before it is not used."""
    if not evidence or not isinstance(text, str):
        return None
    at = text.find(evidence)
    if at < 0 or "\x00" in text[: at + len(evidence)]:
        return None
    return at


@migrations()
def m_stats_compact(db: Database) -> None:
    """stats becomes a view over stat_values (see STATS_VIEW): same ids, columns and values; an
    older archive's rows are converted in place, each evidence kept exactly (stored as text in
    stat_evidence where it cannot be derived)."""
    db.execute("CREATE TABLE stat_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)")
    db.execute("CREATE TABLE stat_evidence (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    db.execute(
        "CREATE TABLE stat_values (id INTEGER PRIMARY KEY, "
        "report_id INTEGER NOT NULL REFERENCES reports(id), "
        "key_id INTEGER NOT NULL REFERENCES stat_keys(id), value FLOAT, raw TEXT, "
        "approx INTEGER, origin_code INTEGER, origin TEXT, "
        "cell_id INTEGER REFERENCES cell_values(id), "
        "evidence_id INTEGER REFERENCES stat_evidence(id), evidence_start INTEGER, "
        "evidence_length INTEGER)"
    )
    db.execute("INSERT INTO stat_keys (key) SELECT DISTINCT key FROM stats ORDER BY key")
    # How each row's evidence is kept: its place in the report text, its cell, or as text.
    db.execute(
        """CREATE TEMP TABLE stat_evidence_place AS
        SELECT s.id, CASE
            WHEN s.evidence IS NULL THEN CASE WHEN s.cell_id IS NOT NULL THEN 'none' END
            WHEN s.cell_id IS NOT NULL AND s.evidence = (
                SELECT ck.section || '.' || ck.row_key || '.' || ck.col_key
                FROM cell_values cv JOIN cell_keys ck ON ck.id = cv.key_id
                WHERE cv.id = s.cell_id) THEN 'cell'
            WHEN s.evidence != '' AND instr(r.text, s.evidence) > 0 AND substr(r.text,
                instr(r.text, s.evidence), length(s.evidence)) = s.evidence THEN 'text'
            ELSE 'stored' END AS how,
            instr(r.text, s.evidence) - 1 AS at
        FROM stats s LEFT JOIN reports r ON r.id = s.report_id"""
    )
    db.execute(
        "INSERT INTO stat_evidence (text) SELECT DISTINCT s.evidence FROM stats s "
        "JOIN stat_evidence_place p ON p.id = s.id WHERE p.how = 'stored' ORDER BY 1"
    )
    cases = " ".join(f"WHEN '{o}' THEN {i}" for i, o in enumerate(STAT_ORIGINS))
    db.execute(
        f"""INSERT INTO stat_values (id, report_id, key_id, value, raw, approx, origin_code,
                                     origin, cell_id, evidence_id, evidence_start,
                                     evidence_length)
        SELECT s.id, s.report_id, k.id, s.value, s.raw, s.approx, CASE s.origin {cases} END,
               CASE WHEN s.origin IN (SELECT value FROM json_each(?)) THEN NULL
                    ELSE s.origin END,
               s.cell_id,
               CASE p.how WHEN 'stored' THEN
                   (SELECT e.id FROM stat_evidence e WHERE e.text = s.evidence) END,
               CASE p.how WHEN 'text' THEN p.at WHEN 'none' THEN 0 END,
               CASE p.how WHEN 'text' THEN length(s.evidence) END
        FROM stats s JOIN stat_keys k ON k.key = s.key
        JOIN stat_evidence_place p ON p.id = s.id""",
        [json.dumps(STAT_ORIGINS)],
    )
    db.execute("DROP TABLE temp.stat_evidence_place")
    db.execute("DROP TABLE stats")
    db.execute(STATS_VIEW)
    db.execute("CREATE INDEX idx_stat_values_report_id ON stat_values (report_id)")
    db.execute("CREATE INDEX idx_stat_values_key_id ON stat_values (key_id)")


# cell_values (m_cells_compact): the three printed labels of a cell (unit, row and column label)
# as one id into cell_prints, which holds each combination once; and raw NULL where it is the
# value's own print (an integer below 10^15 printed plainly: '12' for 12.0). The view gives raw
# back; a raw printed otherwise ('+12', '12件', '—', '9139.2') is stored as it is. 3.5 bytes of a
# cell's 24. (A NULL raw reads as the value's print: the writer never stores one, Cell.raw is
# a str.)
PRINTED_INTEGER_MAX = 10**15
CELL_RAW_SQL = (
    "coalesce(v.raw, CASE WHEN v.value = CAST(v.value AS INTEGER) "
    f"AND abs(v.value) < {PRINTED_INTEGER_MAX} THEN CAST(CAST(v.value AS INTEGER) AS TEXT) END)"
)
CELLS_COMPACT_VIEW = f"""
CREATE VIEW cells AS
SELECT v.id, v.report_id, k.section, k.row_key, k.col_key, v.value, {CELL_RAW_SQL} AS raw,
       u.label AS unit, rl.label AS row_label, cl.label AS col_label, v.known,
       {CELL_METHOD_SQL}
FROM cell_values v
JOIN cell_keys k ON k.id = v.key_id
LEFT JOIN cell_prints p ON p.id = v.print_id
LEFT JOIN cell_labels u ON u.id = p.unit_id
LEFT JOIN cell_labels rl ON rl.id = p.row_label_id
LEFT JOIN cell_labels cl ON cl.id = p.col_label_id
"""


def _stored_raw(value: Any, raw: str | None) -> str | None:
    """raw as cell_values keeps it: None when CELL_RAW_SQL gives it back from the value."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return raw
    number = float(value)
    if not number.is_integer() or abs(number) >= PRINTED_INTEGER_MAX:
        return raw
    return None if raw == str(int(number)) else raw


@migrations()
def m_cells_compact(db: Database) -> None:
    """cell_values.print_id (cell_prints) for the three label ids, raw NULL where the view prints
    it from the value (see CELLS_COMPACT_VIEW); the view `cells` shows the same rows. Rewrites
    cell_values once (a few minutes on an archive of 100,000 reports)."""
    db.execute(
        "CREATE TABLE cell_prints (id INTEGER PRIMARY KEY, "
        "unit_id INTEGER REFERENCES cell_labels(id), "
        "row_label_id INTEGER REFERENCES cell_labels(id), "
        "col_label_id INTEGER REFERENCES cell_labels(id))"
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_cell_prints_labels "
        "ON cell_prints (unit_id, row_label_id, col_label_id)"
    )
    db.execute(
        "INSERT INTO cell_prints (unit_id, row_label_id, col_label_id) "
        "SELECT DISTINCT unit_id, row_label_id, col_label_id FROM cell_values ORDER BY 1, 2, 3"
    )
    db.execute("DROP VIEW IF EXISTS cells")
    db.execute("ALTER TABLE cell_values ADD COLUMN print_id INTEGER REFERENCES cell_prints(id)")
    db.execute(
        f"""UPDATE cell_values AS v SET
            print_id = (SELECT p.id FROM cell_prints p WHERE p.unit_id IS v.unit_id
                        AND p.row_label_id IS v.row_label_id AND p.col_label_id IS v.col_label_id),
            raw = CASE WHEN v.raw = {CELL_RAW_SQL.replace("coalesce(v.raw, ", "(", 1)}
                       THEN NULL ELSE v.raw END"""
    )
    db.table("cell_values").transform(
        drop={"unit_id", "row_label_id", "col_label_id"},
        column_order=[
            "id", "report_id", "key_id", "value", "raw", "print_id", "known", "method_code",
            "method",
        ],
    )  # fmt: skip
    db.execute(CELLS_COMPACT_VIEW)
