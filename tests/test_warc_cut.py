"""A crawl killed between a WARC record and its captures row: the next run cuts the record."""

from __future__ import annotations

from pathlib import Path

from postprocess.storage.warc import ScannedRecord, WarcStore, cut_unrecorded_tail, scan_warc


def _write(tmp_path: Path, n: int) -> tuple[Path, list[str]]:
    store = WarcStore(tmp_path, "crawl00001-test")
    ids = []
    for i in range(n):
        stored = store.write_response(
            f"http://example.gov.cn/{i}.html",
            200,
            "OK",
            [("Content-Type", "text/html")],
            f"<p>报告 {i}</p>".encode(),
            request_headers=[("User-Agent", "nianbao")],
        )
        ids.append(stored.record_id)
    store.close()
    return next((tmp_path / "warc").glob("*.warc.gz")), ids


def _responses(tmp_path: Path) -> list[str]:
    return [
        r.record_id
        for r in scan_warc(tmp_path)
        if isinstance(r, ScannedRecord) and r.rec_type == "response"
    ]


def test_warc_cut_removes_records_without_a_row(tmp_path):
    path, ids = _write(tmp_path, 3)
    cut = cut_unrecorded_tail(path, set(ids[:1]))  # the kill came before rows 2 and 3
    assert cut > 0
    assert _responses(tmp_path) == ids[:1]
    assert [r for r in scan_warc(tmp_path) if not isinstance(r, ScannedRecord)] == []


def test_warc_cut_keeps_a_fully_recorded_file(tmp_path):
    path, ids = _write(tmp_path, 2)
    size = path.stat().st_size
    assert cut_unrecorded_tail(path, set(ids)) == 0
    assert path.stat().st_size == size


def test_warc_cut_removes_a_torn_tail(tmp_path):
    path, ids = _write(tmp_path, 2)
    whole = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(b"\x1f\x8b\x08 torn")
    assert cut_unrecorded_tail(path, set(ids)) == len(b"\x1f\x8b\x08 torn")
    assert path.stat().st_size == whole
