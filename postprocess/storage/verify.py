"""`nianbao verify`: every WARC record has its captures row and every row a readable record."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from postprocess.storage.warc import ScannedRecord, ScanProblem, scan_warc


@dataclass
class Verification:
    records: int = 0  # response records found in WARC files
    captures: int = 0  # captures rows checked
    orphans: list[str] = field(default_factory=list)  # records without a captures row
    dangling: list[str] = field(default_factory=list)  # rows whose record is missing or wrong
    unreadable: list[str] = field(default_factory=list)  # damaged WARC files

    @property
    def ok(self) -> bool:
        return not (self.orphans or self.dangling or self.unreadable)

    def lines(self, limit: int = 20) -> list[str]:
        out = [
            f"verify: {self.records} WARC response records, {self.captures} captures: "
            f"{len(self.orphans)} records without a capture, {len(self.dangling)} captures "
            f"without a readable record, {len(self.unreadable)} damaged WARC files"
        ]
        for label, items in (
            ("orphan", self.orphans),
            ("dangling", self.dangling),
            ("unreadable", self.unreadable),
        ):
            out += [f"  {label}: {item}" for item in items[:limit]]
            if len(items) > limit:
                out.append(f"  ... {len(items) - limit} more {label}")
        return out


def verify_archive(db_path: str | Path, data_dir: str | Path) -> Verification:
    """Scan every WARC file under data_dir against the captures of db_path (read-only)."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"{db_path} does not exist")
    if not (Path(data_dir) / "warc").is_dir():
        raise FileNotFoundError(f"{data_dir} has no warc/ directory")
    con = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT id, warc_file, warc_offset, warc_record_id, sha256, url FROM captures"
        ).fetchall()
    finally:
        con.close()
    result = Verification(captures=len(rows))
    by_place = {(r[1], r[2]): r for r in rows}
    by_record = {r[3]: r for r in rows}
    found: dict[tuple[str, int], ScannedRecord] = {}
    for item in scan_warc(data_dir):
        if isinstance(item, ScanProblem):
            result.unreadable.append(f"{item.warc_file}@{item.offset}: {item.problem}")
            continue
        if item.rec_type != "response":
            continue
        result.records += 1
        found[(item.warc_file, item.offset)] = item
        if item.record_id not in by_record:
            result.orphans.append(f"{item.warc_file}@{item.offset} {item.record_id} {item.url}")
    for place, (cid, _, _, record_id, sha256, url) in by_place.items():
        record = found.get(place)
        where = f"capture {cid} -> {place[0]}@{place[1]}"
        if record is None:
            result.dangling.append(f"{where}: no readable record there ({url})")
        elif record.record_id != record_id:
            result.dangling.append(f"{where}: record {record.record_id}, expected {record_id}")
        elif sha256 and record.sha256 != sha256:
            result.dangling.append(f"{where}: payload sha256 differs from the captures row")
    return result
