"""Merge a worker's archive into this one: sources, crawls, captures, fetch errors, WARC files.

Workers on several hosts each write their own archive.db and WARC files. Capture ids are local
to an archive, so captures are matched by their WARC record id (a UUID) and a child's parent is
found by the parent's record id, whichever worker fetched it. Merging twice adds nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from postprocess.storage import db as archive


class MergeError(ValueError):
    """The worker archive cannot be merged (not an archive, missing WARC file ...)."""


@dataclass
class MergeResult:
    captures: int = 0
    already: int = 0
    fetch_errors: int = 0
    crawls: int = 0
    warc_files: int = 0

    def line(self) -> str:
        return (
            f"merge: {self.captures} captures added ({self.already} already here), "
            f"{self.fetch_errors} fetch errors, {self.crawls} crawls, "
            f"{self.warc_files} WARC files copied"
        )


def _open_worker(path: str | Path) -> Database:
    if not Path(path).is_file():
        raise MergeError(f"{path} does not exist")
    try:
        worker = Database(sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True))
        tables = set(worker.table_names())
    except sqlite3.DatabaseError as exc:
        raise MergeError(f"{path} is not an SQLite archive: {exc}") from exc
    missing = {"sources", "crawls", "captures", "fetch_errors"} - tables
    if missing:
        raise MergeError(f"{path} is not a nianbao archive (no {', '.join(sorted(missing))})")
    return worker


def _copy_warc(name: str, src_root: Path, dst_root: Path) -> bool:
    """Copy one WARC file; True when bytes were copied. Files only grow, so a longer source
    file replaces a shorter copy of itself."""
    src, dst = src_root / name, dst_root / name
    if not src.is_file():
        raise MergeError(f"WARC file {src} is missing")
    if dst.exists() and dst.stat().st_size >= src.stat().st_size:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.merging")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def merge_archive(
    db: Database, data_dir: str | Path, worker_db: str | Path, worker_data_dir: str | Path
) -> MergeResult:
    """Add what the worker archive holds and this one lacks; WARC files first, then rows."""
    worker = _open_worker(worker_db)
    result = MergeResult()
    known = {r[0] for r in db.execute("SELECT warc_record_id FROM captures").fetchall()}
    new = [c for c in worker.query("SELECT * FROM captures ORDER BY id")]
    result.already = sum(1 for c in new if c["warc_record_id"] in known)
    new = [c for c in new if c["warc_record_id"] not in known]
    for name in sorted({c["warc_file"] for c in new}):
        result.warc_files += _copy_warc(name, Path(worker_data_dir), Path(data_dir))

    crawl_map = _crawl_map(db, worker)
    local_ids: dict[int, int] = {}  # worker capture id -> ours, for parents without record id
    with db.conn:
        archive_sources = list(worker.query("SELECT * FROM sources"))
        for row in archive_sources:
            db.table("sources").upsert(row, pk="id")
        for crawl in worker.query("SELECT * FROM crawls ORDER BY id"):
            if crawl["id"] not in crawl_map:
                row = {k: v for k, v in crawl.items() if k != "id"}
                crawl_map[crawl["id"]] = archive.inserted_id(db.table("crawls").insert(row))
                result.crawls += 1
        for capture in new:
            row = {k: v for k, v in capture.items() if k != "id"}
            row["crawl_id"] = crawl_map.get(capture["crawl_id"])
            parent_record = capture.get("parent_record_id")
            if parent_record:
                row["parent_capture_id"] = archive.capture_of_record(db, parent_record)
            elif capture["parent_capture_id"] is not None:
                row["parent_capture_id"] = local_ids.get(capture["parent_capture_id"])
            local_ids[capture["id"]] = archive.inserted_id(db.table("captures").insert(row))
            result.captures += 1
        result.fetch_errors = _merge_fetch_errors(db, worker, crawl_map)
        # Children merged before a parent that another worker fetched find it now.
        archive.link_parents_by_record(db)
    return result


def _crawl_map(db: Database, worker: Database) -> dict[int, int]:
    """Worker crawl id -> ours, for crawls merged before (found by a capture, or for a crawl
    that captured nothing, by its start time and sources)."""
    mapping: dict[int, int] = {}
    for crawl in worker.query("SELECT id, started_at, sources FROM crawls"):
        same = db.execute(
            "SELECT id FROM crawls WHERE started_at = ? AND sources IS ?",
            [crawl["started_at"], crawl["sources"]],
        ).fetchone()
        if same:
            mapping[crawl["id"]] = same[0]
    for crawl_id, record_id in worker.execute(
        "SELECT crawl_id, min(warc_record_id) FROM captures GROUP BY crawl_id"
    ).fetchall():
        ours = db.execute(
            "SELECT crawl_id FROM captures WHERE warc_record_id = ?", [record_id]
        ).fetchone()
        if ours:
            mapping[crawl_id] = ours[0]
    return mapping


def _merge_fetch_errors(db: Database, worker: Database, crawl_map: dict[int, int]) -> int:
    columns = [c.name for c in worker["fetch_errors"].columns if c.name != "id"]
    ours = {
        tuple(r)
        for r in db.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM fetch_errors")
    }
    added = 0
    for error in worker.query("SELECT * FROM fetch_errors ORDER BY id"):
        row = {c: error[c] for c in columns}
        row["crawl_id"] = crawl_map.get(error["crawl_id"])
        if tuple(row[c] for c in columns) in ours:
            continue
        db.table("fetch_errors").insert(row)
        added += 1
    return added
