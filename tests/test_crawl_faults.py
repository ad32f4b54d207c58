"""Faults met by the capture middleware and the WARC store, without a reactor: a full disk, a full
database, redirect loops, decompression bombs, revalidation and `nianbao verify`."""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import sqlite3
import zlib
from pathlib import Path

import brotli
import pytest
from click.testing import CliRunner
from conftest import capture_middleware, db_rows
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import (
    BodyTooLarge,
    CaptureMiddleware,
    CrawlStopped,
    decode_content,
)
from crawler.sources import Source
from crawler.spiders.generic import GenericSpider
from postprocess.cli import main as cli
from postprocess.storage import warc as warc_module
from postprocess.storage.verify import verify_archive
from postprocess.storage.warc import WarcStore, WarcWriteError, read_record, scan_warc

SOURCE = Source(
    id="hulan",
    agency="哈尔滨市呼兰区人民政府",
    division_code="230111",
    level="county",
    cms="generic",
    start_urls=("http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=1",),
)
PAGE = "<html><body><p>呼兰区2019年政府信息公开工作年度报告</p></body></html>".encode()
URL = "http://www.hrbhl.gov.cn/zwgk/gknb/article_view.aspx?aid=1"


def _middleware(root: Path, settings: dict | None = None) -> CaptureMiddleware:
    return capture_middleware(root, [SOURCE], settings)


@pytest.fixture
def capture(tmp_path: Path):
    middleware = _middleware(tmp_path)
    yield middleware, tmp_path
    middleware.spider_closed(middleware.crawler.spider, "finished")


def _respond(middleware, url: str, status: int = 200, body: bytes = PAGE, **headers):
    request = Request(url, meta={"role": "report", "source_id": "hulan"})
    response = HtmlResponse(url, status=status, body=body, request=request, headers=headers)
    return request, middleware.process_response(request, response)


# --- disk full -----------------------------------------------------------------------------


def _failing_write(budget: list[int]):
    """os.write that accepts `budget[0]` more bytes, then writes part and fails with ENOSPC."""
    real_write = os.write

    def write(fd: int, data) -> int:
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data[: budget[0]]))
        budget[0] -= n
        return n

    return write


def test_warc_store_cuts_a_torn_record_back_on_enospc(tmp_path: Path, monkeypatch) -> None:
    store = WarcStore(tmp_path, "t")
    first = store.write_response(URL, 200, "OK", [], PAGE, request_headers=[])
    path = tmp_path / first.warc_file
    size = path.stat().st_size
    monkeypatch.setattr(warc_module.os, "write", _failing_write([100]))
    with pytest.raises(WarcWriteError, match="No space left on device"):
        store.write_response(URL + "2", 200, "OK", [], PAGE * 50, request_headers=[])
    assert path.stat().st_size == size  # the 100 bytes of the torn record are gone
    monkeypatch.undo()  # space freed: the next record lands cleanly after the first
    second = store.write_response(URL + "3", 200, "OK", [], b"after", request_headers=[])
    store.close()
    assert second.offset == size
    scanned = [r for r in scan_warc(tmp_path) if getattr(r, "rec_type", "") == "response"]
    assert [(r.url, r.offset) for r in scanned] == [(URL, first.offset), (URL + "3", size)]
    assert read_record(tmp_path, second.warc_file, second.offset).body == b"after"


def test_disk_full_stops_the_crawl_without_a_row_or_a_torn_record(capture, monkeypatch) -> None:
    middleware, root = capture
    _respond(middleware, URL)
    monkeypatch.setattr(warc_module.os, "write", _failing_write([50]))
    with pytest.raises(CrawlStopped, match="No space left on device"):
        _respond(middleware, URL + "2")
    monkeypatch.undo()
    assert middleware.fatal and "No space left on device" in middleware.fatal
    stats = middleware.crawler.stats
    assert "No space left on device" in stats.get_value("nianbao/fatal")
    # everything after the failure is dropped, not recorded against a broken store
    with pytest.raises(CrawlStopped):
        middleware.process_request(Request(URL + "3", meta={"role": "report"}))
    middleware.store.close()
    assert db_rows(root / "archive.db", "SELECT url FROM captures") == [(URL,)]
    result = verify_archive(root / "archive.db", root / "data")
    assert result.ok and (result.records, result.captures) == (1, 1)


@pytest.mark.parametrize("batch", [1, 100])
def test_database_full_cuts_the_warc_record_and_stops(tmp_path: Path, batch: int) -> None:
    middleware = _middleware(tmp_path, {"NIANBAO_CAPTURE_BATCH": batch})
    root = tmp_path
    _respond(middleware, URL)
    middleware.flush()
    # the real SQLite error: no page may be added to the file any more
    pages = middleware.db.execute("PRAGMA page_count").fetchone()[0]
    middleware.db.execute(f"PRAGMA max_page_count = {pages}")
    stored = 1
    with pytest.raises(CrawlStopped, match="database or disk is full"):
        for n in range(2000):  # rows fill the last free page
            _respond(middleware, f"{URL}&n={n}", body=os.urandom(200))
            stored += 1
    middleware.store.close()
    assert "database or disk is full" in middleware.fatal
    result = verify_archive(root / "archive.db", root / "data")
    assert result.ok, result.lines()
    assert 1 < stored < 2000
    if batch == 1:
        assert (result.records, result.captures) == (stored, stored)
    else:
        # the batch being written when the database filled up is cut off with its rows (SQLite
        # rolls the transaction back): only committed captures keep their records
        assert 1 <= result.records == result.captures <= stored
    middleware.spider_closed(middleware.crawler.spider, "failed")


# --- redirects and refusals ------------------------------------------------------------------


def test_redirect_loop_and_max_redirections_recorded(capture) -> None:
    middleware, root = capture
    a, b = URL, URL + "&b"
    request = Request(
        b,
        meta={"role": "report", "source_id": "hulan", "redirect_urls": [a], "redirect_times": 1},
    )
    middleware.process_response(
        request, Response(b, status=302, headers={"Location": a}, request=request)
    )
    far = Request(
        a, meta={"role": "report", "source_id": "hulan", "redirect_times": 20, "redirect_ttl": 0}
    )
    middleware.process_response(
        far, Response(a, status=301, headers={"Location": "/next"}, request=far)
    )
    rows = db_rows(root / "archive.db", "SELECT url, error, message, status FROM fetch_errors")
    assert rows == [
        (b, "redirect_loop", f"redirect loop: {a} -> {b} -> {a}", 302),
        (
            a,
            "max_redirections",
            f"max redirections (20) reached at {a} -> http://www.hrbhl.gov.cn/next",
            301,
        ),
    ]


def test_refused_request_has_a_fetch_error_row(capture) -> None:
    middleware, root = capture
    request = Request("http://10.0.0.1/x", meta={"role": "attachment", "source_id": "hulan"})
    middleware.process_exception(request, IgnoreRequest("private address 10.0.0.1 refused"))
    rows = db_rows(root / "archive.db", "SELECT role, error, message FROM fetch_errors")
    assert rows == [("attachment", "refused", "private address 10.0.0.1 refused")]


# --- bounded decompression -------------------------------------------------------------------


def test_decode_content_public_codecs_round_trip() -> None:
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = raw_deflate.compress(PAGE) + raw_deflate.flush()
    assert decode_content(gzip.compress(PAGE), "gzip", 10**6) == PAGE
    assert decode_content(gzip.compress(PAGE[:9]) + gzip.compress(PAGE[9:]), "gzip", 10**6) == PAGE
    assert decode_content(zlib.compress(PAGE), "deflate", 10**6) == PAGE
    assert decode_content(raw, "deflate", 10**6) == PAGE
    assert decode_content(brotli.compress(PAGE), "br", 10**6) == PAGE
    assert decode_content(gzip.compress(brotli.compress(PAGE)), "br, gzip", 10**6) == PAGE
    with pytest.raises(ValueError, match="unsupported coding 'zstd'"):
        decode_content(PAGE, "zstd", 10**6)


def test_gzip_bomb_is_refused_while_inflating() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge, match="inflates past 1048576 bytes"):
        decode_content(bomb, "gzip", 1024 * 1024)
    with pytest.raises(BodyTooLarge):
        decode_content(brotli.compress(b"\0" * (8 * 1024 * 1024)), "br", 1024 * 1024)


def test_bomb_kept_encoded_recorded_and_never_inflated_whole_by_readers(
    tmp_path: Path, monkeypatch
) -> None:
    middleware = _middleware(tmp_path, {"DOWNLOAD_MAXSIZE": 1024 * 1024})
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
    request, _ = _respond(middleware, URL, body=bomb, **{"Content-Encoding": "gzip"})
    middleware.store.close()
    row = db_rows(
        tmp_path / "archive.db", "SELECT size, sha256, note, warc_file, warc_offset FROM captures"
    )[0]
    assert row[:2] == (len(bomb), hashlib.sha256(bomb).hexdigest())
    assert row[2] == "content-encoding 'gzip' kept: inflates past 1048576 bytes"
    errors = db_rows(tmp_path / "archive.db", "SELECT error, message FROM fetch_errors")
    assert errors == [("too_large", row[2])]
    # a later build reads it through read_record, which stops at its own ceiling
    monkeypatch.setattr(warc_module, "MAX_PAYLOAD_BYTES", 2 * 1024 * 1024)
    with pytest.raises(ValueError, match="payload larger than 2097152 bytes once decoded"):
        read_record(tmp_path / "data", row[3], row[4])


# --- revalidation ----------------------------------------------------------------------------


def test_recrawl_sends_validators_and_answers_304_from_the_archive(capture) -> None:
    middleware, root = capture
    request, _ = _respond(
        middleware, URL, ETag='"v1"', **{"Last-Modified": "Mon, 04 Mar 2024 08:00:00 GMT"}
    )
    first = request.meta["capture_id"]
    again = Request(URL, meta={"role": "report", "source_id": "hulan"})
    assert middleware.process_request(again) is None
    assert again.headers["If-None-Match"] == b'"v1"'
    assert again.headers["If-Modified-Since"] == b"Mon, 04 Mar 2024 08:00:00 GMT"
    answer = middleware.process_response(
        again, Response(URL, status=304, headers={"ETag": '"v1"'}, request=again)
    )
    assert (answer.status, answer.body, again.meta["capture_id"]) == (200, PAGE, first)
    rows = db_rows(root / "archive.db", "SELECT id, status, revisit_of, note FROM captures")
    assert rows[1][1:] == (304, first, f"not modified since capture {first}")
    stats = middleware.crawler.stats
    assert stats.get_value("nianbao/source/hulan/unchanged") == 1
    assert stats.get_value("nianbao/source/hulan/reports") == 2


def test_recrawl_without_validators_compares_content_hash(capture) -> None:
    middleware, root = capture
    first, _ = _respond(middleware, URL)
    same = Request(URL, meta={"role": "report", "source_id": "hulan"})
    middleware.process_request(same)
    assert b"If-None-Match" not in same.headers
    middleware.process_response(same, HtmlResponse(URL, status=200, body=PAGE, request=same))
    changed = Request(URL, meta={"role": "report", "source_id": "hulan"})
    middleware.process_request(changed)
    middleware.process_response(
        changed, HtmlResponse(URL, status=200, body=PAGE + b"<p>edit</p>", request=changed)
    )
    gone = Request(URL, meta={"role": "report", "source_id": "hulan"})
    middleware.process_request(gone)
    middleware.process_response(gone, HtmlResponse(URL, status=404, body=b"", request=gone))
    rows = db_rows(root / "archive.db", "SELECT status, revisit_of FROM captures ORDER BY id")
    fid = first.meta["capture_id"]
    assert rows == [(200, None), (200, fid), (200, None), (404, None)]
    stats = middleware.crawler.stats
    counts = {
        k: stats.get_value(f"nianbao/source/hulan/{k}")
        for k in ("new", "unchanged", "changed", "deleted")
    }
    assert counts == {"new": 1, "unchanged": 1, "changed": 1, "deleted": 1}
    versions = db_rows(
        root / "archive.db",
        "SELECT version, versions, previous_capture_id FROM document_versions ORDER BY version",
    )
    assert versions == [(1, 2, None), (2, 2, fid)]
    changes = db_rows(
        root / "archive.db",
        "SELECT url, versions, last_status, deleted_at IS NOT NULL FROM document_changes",
    )
    assert changes == [(URL, 2, 404, 1)]


def test_resumed_crawl_replays_its_captures_without_fetching(tmp_path: Path) -> None:
    first = _middleware(tmp_path)
    request, _ = _respond(first, URL)
    first.spider_closed(first.crawler.spider, "finished")
    crawl_id = db_rows(tmp_path / "archive.db", "SELECT crawl_id FROM captures")[0][0]
    second = _middleware(tmp_path, {"NIANBAO_RESUME_CRAWLS": [crawl_id]})
    again = Request(URL, meta={"role": "report", "source_id": "hulan"})
    replay = second.process_request(again)
    assert isinstance(replay, HtmlResponse) and replay.body == PAGE
    assert again.meta["capture_id"] == request.meta["capture_id"]
    assert second.process_response(again, replay) is replay  # not archived twice
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) FROM captures") == [(1,)]
    second.spider_closed(second.crawler.spider, "finished")


# --- nianbao verify --------------------------------------------------------------------------


def test_verify_reports_orphans_dangling_rows_and_torn_tails(capture) -> None:
    middleware, root = capture
    _respond(middleware, URL)
    _respond(middleware, URL + "2")
    middleware.store.write_response(URL + "3", 200, "OK", [], b"no row", request_headers=[])
    middleware.store.close()
    con = sqlite3.connect(root / "archive.db")
    with con:
        con.execute("UPDATE captures SET warc_offset = warc_offset + 7 WHERE url = ?", [URL + "2"])
    con.close()
    warc_file = db_rows(root / "archive.db", "SELECT warc_file FROM captures")[0][0]
    end = (root / "data" / warc_file).stat().st_size
    with open(root / "data" / warc_file, "ab") as fh:
        fh.write(gzip.compress(b"WARC/1.1\r\n")[:12])
    runner = CliRunner()
    result = runner.invoke(
        cli, ["verify", "--db", str(root / "archive.db"), "--data-dir", str(root / "data")]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "verify: 3 WARC response records, 2 captures: 1 records without a capture, 1 captures "
        "without a readable record, 1 damaged WARC files"
    )
    assert lines[1].startswith("  orphan: ") and lines[1].endswith(f" {URL}3")
    assert lines[2].startswith("  dangling: capture 2 -> ") and "no readable record" in lines[2]
    assert lines[3] == (
        f"  unreadable: {warc_file}@{end}: unreadable from byte {end}: "
        "Invalid WARC record, first line: W"
    )


def test_verify_clean_archive_exits_zero(capture) -> None:
    middleware, root = capture
    _respond(middleware, URL)
    middleware.store.close()
    result = CliRunner().invoke(
        cli, ["verify", "--db", str(root / "archive.db"), "--data-dir", str(root / "data")]
    )
    assert (result.exit_code, result.output) == (
        0,
        "verify: 1 WARC response records, 1 captures: 0 records without a capture, 0 captures "
        "without a readable record, 0 damaged WARC files\n",
    )


# --- monitoring ------------------------------------------------------------------------------


def test_source_warnings_zero_reports_error_spike_layout_and_caps() -> None:
    from crawler.run import source_warnings
    from postprocess.storage import db as archive

    db = archive.memory_db()
    archive.upsert_sources(db, [SOURCE.as_row()])
    first = archive.start_crawl(db, ["hulan"])
    healthy = {"pages": 2, "reports": 9, "errors": 1, "fetched": 20}
    assert source_warnings(db, first, "hulan", healthy, {"http://x/list": 9}) == []
    row = {"crawl_id": first, "source_id": "hulan", "status": "finished", "errors": 1}
    archive.record_crawl_runs(
        db, [row], [{"crawl_id": first, "source_id": "hulan", "url": "http://x/list", "links": 9}]
    )
    second = archive.start_crawl(db, ["hulan"])
    broken = {"pages": 1, "reports": 0, "errors": 3, "fetched": 30, "capped_attachments": 2950}
    assert source_warnings(db, second, "hulan", broken, {"http://x/list": 0}) == [
        "no reports found on 1 list pages",
        "error spike: 3 errors (previous run 1)",
        "list page no longer parses: http://x/list had 9 report links, now 0",
        "attachment cap reached: 2950 attachment links not followed",
    ]
    # a first run has no history: a spike is most requests failing
    other = archive.start_crawl(db, ["other"])
    assert source_warnings(db, other, "other", {"pages": 0, "errors": 4, "fetched": 5}, {}) == [
        "no list page could be fetched",
        "error spike: 4 errors in 5 requests",
    ]


def test_attachment_cap_per_page(tmp_path: Path) -> None:
    crawler = get_crawler(GenericSpider, {"NIANBAO_MAX_ATTACHMENTS": 3})
    spider = GenericSpider.from_crawler(crawler, sources=[SOURCE])
    crawler.stats.open_spider()
    links = "".join(f'<a href="/files/{n}.pdf">附件{n}</a>' for n in range(40))
    body = f"<html><body><h1>呼兰区2019年年报</h1><p>正文</p>{links}</body></html>".encode()
    request = Request(URL, meta={"role": "report", "source_id": "hulan", "capture_id": 7})
    response = HtmlResponse(URL, body=body, request=request, headers={"Content-Type": "text/html"})
    follow = list(spider.parse_report(response))
    assert [r.url for r in follow] == [f"http://www.hrbhl.gov.cn/files/{n}.pdf" for n in range(3)]
    assert crawler.stats.get_value("nianbao/source/hulan/capped_attachments") == 37


def test_oversized_html_refused_before_parsing() -> None:
    from postprocess.extract.documents import MAX_HTML_BYTES, read_document

    body = b"<html><body><p>" + b"a" * MAX_HTML_BYTES + b"</p></body></html>"
    doc = read_document(body, URL, "text/html; charset=utf-8")
    assert (doc.parse_status, doc.parse_error) == (
        "error",
        f"html of {len(body)} bytes (limit {MAX_HTML_BYTES})",
    )


def test_304_for_an_unreadable_capture_fetches_it_again_unconditionally(capture) -> None:
    middleware, root = capture
    _respond(middleware, URL, ETag='"v1"')
    middleware.store.close()
    for path in (root / "data" / "warc").glob("*.warc.gz"):
        path.unlink()  # our copy is gone
    again = Request(URL, meta={"role": "report", "source_id": "hulan"})
    middleware.process_request(again)
    assert again.headers["If-None-Match"] == b'"v1"'
    retry = middleware.process_response(
        again, Response(URL, status=304, headers={"ETag": '"v1"'}, request=again)
    )
    assert isinstance(retry, Request) and retry.meta["nianbao_fresh"]
    assert middleware.process_request(retry) is None
    assert b"If-None-Match" not in retry.headers and "nianbao_prior" not in retry.meta


def test_redirect_drops_validators_of_the_old_url(capture) -> None:
    middleware, _ = capture
    _respond(middleware, URL, ETag='"v1"')
    first = Request(URL, meta={"role": "report", "source_id": "hulan"})
    middleware.process_request(first)
    moved = first.replace(url=URL + "&moved=1")  # what RedirectMiddleware builds
    assert middleware.process_request(moved) is None
    assert b"If-None-Match" not in moved.headers and "nianbao_prior" not in moved.meta


def test_replayed_file_is_not_read_back_from_warc(tmp_path: Path, monkeypatch) -> None:
    first = _middleware(tmp_path)
    url = "http://www.hrbhl.gov.cn/files/2019.pdf"
    request = Request(url, meta={"role": "attachment", "source_id": "hulan"})
    first.process_response(
        request,
        Response(
            url,
            status=200,
            body=b"%PDF-1.7 ...",
            headers={"Content-Type": "application/pdf"},
            request=request,
        ),
    )
    first.spider_closed(first.crawler.spider, "finished")
    second = _middleware(tmp_path, {"NIANBAO_RESUME_CRAWLS": [1]})
    monkeypatch.setattr("crawler.middlewares.read_record", None)  # would fail if called
    again = Request(url, meta={"role": "attachment", "source_id": "hulan"})
    replay = second.process_request(again)
    assert (replay.status, replay.body, replay.headers["Content-Type"]) == (
        200,
        b"",
        b"application/pdf",
    )
    assert again.meta["capture_id"] == request.meta["capture_id"]
    second.spider_closed(second.crawler.spider, "finished")


# --- batched commits -------------------------------------------------------------------------


def test_capture_batch_syncs_warc_records_before_committing_their_rows(
    tmp_path: Path, monkeypatch
) -> None:
    middleware = _middleware(tmp_path, {"NIANBAO_CAPTURE_BATCH": 3})
    visible_at_sync = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        # what another connection sees while the batch's records are being synced
        visible_at_sync.append(db_rows(tmp_path / "archive.db", "SELECT count(*) FROM captures")[0])

        real_fsync(fd)

    _respond(middleware, f"{URL}&n=0")  # opens the WARC file (its warcinfo record is synced)
    monkeypatch.setattr(warc_module.os, "fsync", fsync)
    _respond(middleware, f"{URL}&n=1")
    assert visible_at_sync == []  # nothing synced, nothing committed yet
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) FROM captures") == [(0,)]
    _respond(middleware, f"{URL}&n=2")  # the third row ends the batch
    assert visible_at_sync == [(0,)]  # one fsync for three records, before the commit
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) FROM captures") == [(3,)]
    _respond(middleware, f"{URL}&n=3")
    middleware.spider_closed(middleware.crawler.spider, "finished")  # commits the tail
    assert visible_at_sync == [(0,), (3,)]
    result = verify_archive(tmp_path / "archive.db", tmp_path / "data")
    assert result.ok and (result.records, result.captures) == (4, 4)


def test_capture_batch_that_cannot_be_synced_is_cut_off_and_stops_the_crawl(
    tmp_path: Path, monkeypatch
) -> None:
    middleware = _middleware(tmp_path, {"NIANBAO_CAPTURE_BATCH": 3})
    for n in range(3):
        _respond(middleware, f"{URL}&n={n}")  # a committed batch

    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(warc_module.os, "fsync", fsync)
    _respond(middleware, f"{URL}&n=3")
    _respond(middleware, f"{URL}&n=4")
    with pytest.raises(CrawlStopped, match="Input/output error"):
        _respond(middleware, f"{URL}&n=5")  # ends the batch: its sync fails
    monkeypatch.undo()
    assert "cannot sync WARC records" in middleware.fatal
    with pytest.raises(CrawlStopped):
        middleware.process_request(Request(URL + "&n=6", meta={"role": "report"}))
    middleware.spider_closed(middleware.crawler.spider, "finished")
    # the batch's rows are rolled back and its records cut off: resuming fetches them again
    result = verify_archive(tmp_path / "archive.db", tmp_path / "data")
    assert result.ok, result.lines()
    assert (result.records, result.captures) == (3, 3)
