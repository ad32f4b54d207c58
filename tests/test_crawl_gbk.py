"""End to end: the real crawler on a GB18030 list page served with a wrong `utf-8` header.

Before the one decoder, this page yielded 0 report links in the crawler (its titles decoded to
replacement characters) while the build read the same bytes correctly.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import run_crawler

from postprocess.storage.warc import read_record

FIXTURE = Path(__file__).parent / "fixtures/lists/generic/gb18030_list.html"
REPORT_IDS = ("3216", "2987", "2745", "1870")


def _pages() -> dict[str, tuple[str, bytes]]:
    wrong = "text/html; charset=utf-8"
    pages = {
        "/robots.txt": ("text/plain", b""),
        "/gk/nb/list.jsp?page=1": (wrong, FIXTURE.read_bytes()),
        "/gk/nb/list.jsp?page=2": (wrong, b"<html><body></body></html>"),
        "/gk/nb/upload/2020/mtg2019nb.pdf": ("application/pdf", b"%PDF-1.4\n%%EOF\n"),
    }
    for report_id in REPORT_IDS:
        body = f"<html><body><h1>报告 {report_id}</h1></body></html>".encode("gb18030")
        pages[f"/gk/nb/show.jsp?id={report_id}"] = ("text/html", body)
    return pages


class _Handler(BaseHTTPRequestHandler):
    pages = _pages()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        content_type, body = self.pages.get(self.path, ("text/plain", b"not here"))
        self.send_response(200 if self.path in self.pages else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


@pytest.fixture(scope="module")
def gbk_crawl(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    root = tmp_path_factory.mktemp("gbk_crawl")
    source = {
        "id": "mentougou",
        "agency": "北京市门头沟区人民政府",
        "division_code": "110109",
        "level": "county",
        "cms": "generic",
        "allow_private": True,
        "start_urls": [f"{base}/gk/nb/list.jsp?page=1"],
    }
    path = root / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": [source]}, allow_unicode=True), encoding="utf-8")
    try:
        proc = run_crawler(["--sources", str(path)], root)
        assert proc.returncode == 0, proc.stderr[-3000:]
        yield root, base
    finally:
        server.shutdown()
        server.server_close()


def test_crawler_follows_every_report_of_the_mislabelled_list(gbk_crawl) -> None:
    root, base = gbk_crawl
    con = sqlite3.connect(root / "archive.db")
    rows = con.execute("SELECT url, status FROM captures WHERE role = 'report'").fetchall()
    con.close()
    assert sorted(rows) == sorted(
        [(f"{base}/gk/nb/show.jsp?id={i}", 200) for i in REPORT_IDS]
        + [(f"{base}/gk/nb/upload/2020/mtg2019nb.pdf", 200)]
    )


def test_list_page_archived_as_served(gbk_crawl) -> None:
    root, base = gbk_crawl
    con = sqlite3.connect(root / "archive.db")
    warc_file, offset, content_type = con.execute(
        "SELECT warc_file, warc_offset, content_type FROM captures WHERE url = ?",
        (f"{base}/gk/nb/list.jsp?page=1",),
    ).fetchone()
    con.close()
    assert content_type == "text/html; charset=utf-8"
    assert read_record(root / "data", warc_file, offset).body == FIXTURE.read_bytes()
