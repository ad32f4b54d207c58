"""Scope (issue 11 §2): a source fetches only from its own hosts, redirects included, and a real
source never from a private or loopback address.

A local portal on 127.0.0.1 links and redirects to a stand-in internal service on 127.0.0.8;
the crawl must not send the service a single request, must not archive or parse anything from
it, and must record every refused URL in fetch_errors with the reason.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import db_rows, run_crawler
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.scope import (
    OFFSITE,
    PRIVATE,
    PrivateAddressMiddleware,
    ScopeRefused,
    SourceOffsiteMiddleware,
)
from crawler.sources import Source
from crawler.spiders.generic import GenericSpider
from crawler.urls import address_problem

PORTAL, INTERNAL = "127.0.0.1", "127.0.0.8"
PDF = (Path(__file__).parent / "fixtures/documents/hongze-2024.pdf").read_bytes()


def _page(title: str, body: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{body}</body></html>"
    ).encode()


def _portal_pages(internal: str) -> dict[str, tuple[int, dict[str, str], bytes]]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    return {
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n"),
        "/gknb/index.html": (
            200,
            html,
            _page(
                "政府信息公开年报",
                '<ul><li><a href="/gknb/2023/1.html">测试县2022年政府信息公开工作年度报告</a></li>'
                '<li><a href="/gknb/2022/2.html">测试县2021年政府信息公开工作年度报告</a></li>'
                f'<li><a href="{internal}/internal/2021/report.html">'
                "测试县2020年政府信息公开工作年度报告</a></li></ul>",
            ),
        ),
        "/gknb/2023/1.html": (
            200,
            html,
            _page(
                "测试县2022年政府信息公开工作年度报告",
                "<p>正文</p>"
                '<p><a href="/files/2023/report.pdf">附件：年度报告.pdf</a></p>'
                f'<p><a href="{internal}/internal/secret.pdf">附件：内部文件.pdf</a></p>'
                '<p><a href="/files/2023/moved.pdf">附件：统计表.pdf</a></p>',
            ),
        ),
        # a report that redirects to the internal service
        "/gknb/2022/2.html": (302, {"Location": f"{internal}/internal/2022.html"}, b""),
        # an attachment that redirects to the internal service
        "/files/2023/moved.pdf": (302, {"Location": f"{internal}/internal/moved.pdf"}, b""),
        "/files/2023/report.pdf": (200, {"Content-Type": "application/pdf"}, PDF),
    }


class _Recorder(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.path)
        status, headers, body = self.pages.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


def _serve(host: str, pages: dict, seen: list[str]) -> ThreadingHTTPServer:
    handler = type("Handler", (_Recorder,), {"pages": pages, "seen": seen})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    return server


@pytest.fixture(scope="module")
def scope_crawl(tmp_path_factory) -> Iterator[tuple[Path, str, str, list[str], list[str]]]:
    """Crawl the local portal (allow_private) and a 'real' source that resolves to loopback."""
    portal_seen: list[str] = []
    internal_seen: list[str] = []
    internal = _serve(INTERNAL, {}, internal_seen)
    internal_base = f"http://{INTERNAL}:{internal.server_address[1]}"
    portal = _serve(PORTAL, _portal_pages(internal_base), portal_seen)
    port = portal.server_address[1]
    base = f"http://{PORTAL}:{port}"
    root = tmp_path_factory.mktemp("scope_crawl")
    common = {"agency": "测试县人民政府", "division_code": "640302", "level": "county"}
    sources = [
        {**common, "id": "local-portal", "cms": "generic", "allow_private": True,
         "start_urls": [f"{base}/gknb/index.html"]},
        # a real source (no allow_private) whose host name resolves to loopback
        {**common, "id": "looks-real", "cms": "generic",
         "start_urls": [f"http://localhost:{port}/gknb/index.html"]},
    ]  # fmt: skip
    path = root / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    try:
        proc = run_crawler(["--sources", str(path)], root)
        assert proc.returncode == 0, proc.stderr[-3000:]
        from postprocess.build import build_archive

        build_archive(root / "archive.db", root / "data", echo=lambda _line: None)
        yield root / "archive.db", base, internal_base, portal_seen, internal_seen
    finally:
        for server in (portal, internal):
            server.shutdown()
            server.server_close()


def test_internal_service_gets_no_request(scope_crawl) -> None:
    db, base, internal, portal_seen, internal_seen = scope_crawl
    assert internal_seen == []
    hosts = {u.split("/")[2] for (u,) in db_rows(db, "SELECT url FROM captures")}
    assert hosts == {base.split("/")[2]}
    # the loopback 'real' source was refused before anything was sent, robots.txt included
    assert portal_seen.count("/robots.txt") == 1
    assert "/gknb/index.html" in portal_seen and portal_seen.count("/gknb/index.html") == 1


def test_nothing_from_the_internal_service_becomes_an_attachment(scope_crawl) -> None:
    db, base, _, _, _ = scope_crawl
    rows = db_rows(db, "SELECT url, parse_status, parse_error FROM attachments ORDER BY url")
    # the refused redirect stays an unparsed link of the portal's own page
    assert rows == [
        (f"{base}/files/2023/moved.pdf", "error", "HTTP 302"),
        (f"{base}/files/2023/report.pdf", "parsed", None),
    ]
    assert not db_rows(db, f"SELECT 1 FROM captures WHERE url LIKE '%{INTERNAL}%'")
    assert not db_rows(db, f"SELECT 1 FROM reports WHERE text LIKE '%{INTERNAL}%'")


def test_every_refused_url_has_a_fetch_error_with_its_reason(scope_crawl) -> None:
    db, base, internal, _, _ = scope_crawl
    rows = db_rows(
        db, "SELECT source_id, role, error, url, message FROM fetch_errors ORDER BY role, url"
    )
    host = f"{INTERNAL} is not a host of source local-portal (127.0.0.1"
    assert [r[:4] for r in rows] == [
        ("local-portal", "attachment", OFFSITE, f"{internal}/internal/moved.pdf"),
        ("local-portal", "attachment", OFFSITE, f"{internal}/internal/secret.pdf"),
        ("looks-real", "list", PRIVATE, base.replace(PORTAL, "localhost") + "/gknb/index.html"),
        ("local-portal", "report", OFFSITE, f"{internal}/internal/2021/report.html"),
        ("local-portal", "report", OFFSITE, f"{internal}/internal/2022.html"),
    ]
    messages = {r[3]: r[4] for r in rows}
    assert messages[f"{internal}/internal/moved.pdf"] == (
        f"redirect from {base}/files/2023/moved.pdf refused: {host})"
    )
    assert messages[f"{internal}/internal/2022.html"] == (
        f"redirect from {base}/gknb/2022/2.html refused: {host})"
    )
    assert messages[f"{internal}/internal/secret.pdf"] == f"{host})"
    private = messages[base.replace(PORTAL, "localhost") + "/gknb/index.html"]
    assert private.startswith("localhost resolves to loopback address ")
    assert private.endswith("; source looks-real is not marked allow_private")


def test_refusals_counted_in_the_progress_summary(scope_crawl) -> None:
    db, _, _, _, _ = scope_crawl
    log = (db.parent / "crawl.log").read_text(encoding="utf-8")
    assert "5 refused (out of scope)" in log
    assert "  looks-real: offsite 1" in log


def test_redirect_responses_themselves_are_archived(scope_crawl) -> None:
    db, base, internal, _, _ = scope_crawl
    rows = db_rows(
        db, "SELECT url, role, status, note FROM captures WHERE status = 302 ORDER BY url"
    )
    assert rows == [
        (
            f"{base}/files/2023/moved.pdf",
            "attachment",
            302,
            f"redirect to {internal}/internal/moved.pdf",
        ),
        (f"{base}/gknb/2022/2.html", "report", 302, f"redirect to {internal}/internal/2022.html"),
    ]


# --- the middleware alone ----------------------------------------------------------------------

SOURCE = Source(
    id="hulan",
    agency="哈尔滨市呼兰区人民政府",
    division_code="230111",
    level="county",
    cms="generic",
    start_urls=("http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=1",),
    attachment_domains=("files.hrbhl.gov.cn",),
)
LOCAL = Source(
    id="local",
    agency="测试",
    division_code="230111",
    level="county",
    cms="generic",
    start_urls=("http://127.0.0.9/gknb/",),
    allow_private=True,
)


DNS = {"www.hrbhl.gov.cn": ["221.207.4.10"], "files.hrbhl.gov.cn": ["10.8.0.3", "221.207.4.11"]}


class _Scope:
    """Both scope middlewares in settings order, with a fixed DNS (no network in tests)."""

    def __init__(self, *sources: Source) -> None:
        crawler = get_crawler(GenericSpider)
        crawler.spider = GenericSpider(sources=list(sources))
        self.crawler = crawler
        self.offsite = SourceOffsiteMiddleware.from_crawler(crawler)
        self.private = PrivateAddressMiddleware.from_crawler(crawler)

        async def lookup(host: str) -> list[str]:
            return DNS.get(host, [])

        self.private.lookup = lookup  # type: ignore[method-assign]


def _middleware(*sources: Source) -> _Scope:
    return _Scope(*sources)


def _check(mw: _Scope, url: str, **meta: object) -> None:
    request = Request(url, meta=meta)
    mw.offsite.process_request(request)
    asyncio.run(mw.private.process_request(request))


def test_lists_stay_on_the_portal_reports_and_attachments_may_use_attachment_hosts() -> None:
    mw = _middleware(Source(**{**SOURCE.__dict__, "allow_private": True}))
    _check(mw, "http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=2", role="list", source_id="hulan")
    _check(mw, "http://files.hrbhl.gov.cn/a.pdf", role="attachment", source_id="hulan")
    _check(mw, "http://files.hrbhl.gov.cn/a.pdf", role="report", source_id="hulan")
    with pytest.raises(ScopeRefused) as refused:
        _check(mw, "http://files.hrbhl.gov.cn/list.html", role="list", source_id="hulan")
    assert refused.value.kind == OFFSITE
    assert str(refused.value) == (
        "files.hrbhl.gov.cn is not a host of source hulan (www.hrbhl.gov.cn)"
    )
    for role in ("report", "attachment"):
        with pytest.raises(ScopeRefused, match="cdn.example.com is not a host of source hulan"):
            _check(mw, "http://cdn.example.com/r.pdf", role=role, source_id="hulan")
    with pytest.raises(ScopeRefused, match="belongs to no source"):
        _check(mw, "http://www.hrbhl.gov.cn/x.html", role="report", source_id="nobody")


def test_robots_txt_goes_only_to_hosts_of_a_source() -> None:
    mw = _middleware(SOURCE)
    _check(mw, "http://www.hrbhl.gov.cn/robots.txt", dont_obey_robotstxt=True)
    with pytest.raises(ScopeRefused):
        _check(mw, "http://www.gov.cn/robots.txt", dont_obey_robotstxt=True)


def test_private_address_literals_refused_unless_the_source_allows_them() -> None:
    real = Source(**{**SOURCE.__dict__, "start_urls": ("http://10.0.0.7/gknb/",)})
    mw = _middleware(real, LOCAL)
    with pytest.raises(ScopeRefused) as refused:
        _check(mw, "http://10.0.0.7/gknb/", role="list", source_id="hulan")
    assert refused.value.kind == PRIVATE
    assert str(refused.value) == (
        "private address 10.0.0.7; source hulan is not marked allow_private"
    )
    _check(mw, "http://127.0.0.9/gknb/", role="list", source_id="local")
    assert mw.crawler.stats.get_value("offsite/private_address") == 1


def test_host_name_resolving_to_any_private_address_is_refused_once_looked_up() -> None:
    mw = _middleware(SOURCE)
    _check(mw, "http://www.hrbhl.gov.cn/zwgk/gknb/list.aspx?page=2", role="list", source_id="hulan")
    for url in ("http://files.hrbhl.gov.cn/a.pdf", "http://files.hrbhl.gov.cn/b.pdf"):
        with pytest.raises(ScopeRefused) as refused:
            _check(mw, url, role="attachment", source_id="hulan")
        assert str(refused.value) == (
            "files.hrbhl.gov.cn resolves to private address 10.8.0.3; "
            "source hulan is not marked allow_private"
        )
    assert mw.private.addresses == {
        "www.hrbhl.gov.cn": None,
        "files.hrbhl.gov.cn": "files.hrbhl.gov.cn resolves to private address 10.8.0.3",
    }


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback address 127.0.0.1"),
        ("::1", "loopback address ::1"),
        ("169.254.169.254", "link-local address 169.254.169.254"),
        ("10.2.3.4", "private address 10.2.3.4"),
        ("172.16.0.1", "private address 172.16.0.1"),
        ("192.168.0.1", "private address 192.168.0.1"),
        ("::ffff:192.168.0.1", "private address 192.168.0.1"),
        ("fe80::1", "link-local address fe80::1"),
        ("100.64.0.1", "not globally routable address 100.64.0.1"),
        ("202.108.22.5", None),
        ("www.gov.cn", None),
    ],
)
def test_address_problem(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem
