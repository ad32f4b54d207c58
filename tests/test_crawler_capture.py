"""CaptureMiddleware and run_crawl edges that need no reactor (and one tiny failing crawl)."""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
from pathlib import Path

import pytest
from conftest import capture_middleware
from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import HtmlResponse

from crawler.run import run_crawl
from crawler.sources import Source
from postprocess.storage.warc import read_record

SOURCE = Source(
    id="hulan",
    agency="哈尔滨市呼兰区人民政府",
    division_code="230111",
    level="county",
    cms="generic",
    start_urls=("http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=1",),
    attachment_domains=("files.hrbhl.gov.cn",),
)
PAGE = "<html><body><p>呼兰区2019年政府信息公开工作年度报告</p></body></html>".encode()


@pytest.fixture
def capture(tmp_path: Path):
    middleware = capture_middleware(tmp_path, [SOURCE])
    yield middleware, tmp_path
    middleware.spider_closed(middleware.crawler.spider, "finished")


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    return con.execute(sql).fetchall()


def test_capture_stores_decoded_body_with_matching_sha256(capture) -> None:
    middleware, root = capture
    url = "http://www.hrbhl.gov.cn/zwgk/gknb/article_view.aspx?aid=1"
    request = Request(url, meta={"role": "report", "source_id": "hulan"})
    response = HtmlResponse(
        url,
        status=200,
        body=gzip.compress(PAGE),
        request=request,
        headers={
            "Content-Encoding": "gzip",
            "Content-Type": "text/html; charset=utf-8",
            "ETag": '"a1"',
        },
    )
    middleware.process_response(request, response)
    row = _rows(root / "archive.db", "SELECT * FROM captures")[0]
    assert request.meta["capture_id"] == row["id"]
    assert (row["role"], row["source_id"], row["status"], row["etag"]) == (
        "report",
        "hulan",
        200,
        '"a1"',
    )
    assert row["sha256"] == hashlib.sha256(PAGE).hexdigest() and row["size"] == len(PAGE)
    record = read_record(root / "data", row["warc_file"], row["warc_offset"])
    assert record.body == PAGE
    assert record.headers["x-archive-orig-content-encoding"] == "gzip"
    assert "content-encoding" not in record.headers


def test_capture_marks_challenge_page_blocked(capture) -> None:
    middleware, root = capture
    url = "http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=1"
    request = Request(url, meta={"role": "list", "source_id": "hulan"})
    body = b"<html><script>var wzwschallenge='1';</script></html>"
    middleware.process_response(request, HtmlResponse(url, status=200, body=body, request=request))
    assert request.meta["blocked"] == "WZWS JavaScript challenge"
    row = _rows(root / "archive.db", "SELECT blocked, note FROM captures")[0]
    assert tuple(row) == (1, "WZWS JavaScript challenge")
    errors = _rows(root / "archive.db", "SELECT error, role FROM fetch_errors")
    assert [tuple(e) for e in errors] == [("blocked", "list")]


def test_capture_records_timeout_in_fetch_errors(capture) -> None:
    middleware, root = capture
    request = Request(
        "http://www.hrbhl.gov.cn/x.html", meta={"role": "report", "source_id": "hulan"}
    )
    assert middleware.process_exception(request, DownloadTimeoutError("took too long")) is None
    rows = _rows(root / "archive.db", "SELECT source_id, role, error FROM fetch_errors")
    assert [tuple(r) for r in rows] == [("hulan", "report", "timeout")]
    assert not _rows(root / "archive.db", "SELECT 1 FROM captures")


def test_run_crawl_fatal_when_data_dir_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    summary = run_crawl([SOURCE], str(tmp_path / "archive.db"), str(blocker / "data"))
    assert summary.fatal and summary.fatal.startswith(f"cannot write data directory {blocker}")
    assert not (tmp_path / "archive.db").exists()


def test_run_crawl_fatal_without_sources(tmp_path: Path) -> None:
    assert run_crawl([], str(tmp_path / "a.db"), str(tmp_path)).fatal == "no sources to crawl"


def test_run_crawl_gives_the_collector_thresholds_back(tmp_path: Path) -> None:
    """A crawl collects its young objects less often (crawler.run.CRAWL_GC_THRESHOLD); the
    process gets its own thresholds back whichever way run_crawl returns."""
    import gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(123, 4, 5)
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        assert run_crawl([SOURCE], str(tmp_path / "a.db"), str(blocker / "data")).fatal
        assert gc.get_threshold() == (123, 4, 5)
    finally:
        gc.set_threshold(*before)


def test_run_crawl_fatal_when_every_source_fails(tmp_path: Path) -> None:
    from conftest import run_crawler

    sources = tmp_path / "sources.yml"
    sources.write_text(
        "sources:\n- id: closed\n  agency: 测试\n  division_code: '230111'\n  level: county\n"
        "  cms: generic\n  allow_private: true\n"
        "  start_urls: ['http://127.0.0.6:9/xxgk/gknb/index.html']\n",
        encoding="utf-8",
    )
    proc = run_crawler(["--sources", str(sources)], tmp_path, {"RETRY_TIMES": "0"})
    assert proc.returncode == 1
    assert (
        "crawl 1: 1 sources, 0 pages, 0 reports, 0 attachments, 2 errors; no list page "
        "from closed" in proc.stdout
    )
    assert "all 1 sources failed" in proc.stderr
    con = sqlite3.connect(tmp_path / "archive.db")
    assert con.execute("SELECT status FROM crawls").fetchone() == ("failed",)
