"""The offline demo portals: one HTTP server per 127.0.0.x host, all on the same port.

`python -m crawler.demo.server [--port N]` (or `nianbao serve-portal`) serves them until Ctrl-C;
`running_portal()` runs them in background threads for the demo and the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from crawler.demo import site
from crawler.sources import Source, load_sources, with_port

DEMO_SOURCES = Path(__file__).with_name("sources.yml")
DEFAULT_PORT = 8631
HOSTS = (*site.PORTAL_HOSTS.values(), site.ATTACH_HOST)
HOST_LABELS = {
    "127.0.0.2": "trs (GBK): 榆次区人民政府",
    "127.0.0.3": "hanweb: 淮安市洪泽区人民政府, 淮安市人民政府",
    "127.0.0.4": "generic (ASP.NET): 哈尔滨市呼兰区人民政府",
    "127.0.0.5": "attachment host of the hanweb portal",
    "127.0.0.6": "generic (index_N.html): 吴忠市利通区人民政府",
    "127.0.0.7": "trs (UTF-8): 酒泉市人民政府",
}
START_PATHS = {
    "127.0.0.2": "/zwgk/zfxxgknb/index.html",
    "127.0.0.3": "/col/col1234/index.html",
    "127.0.0.4": "/zwgk/gknb/list.aspx?page=1",
    "127.0.0.5": "/robots.txt",
    "127.0.0.6": "/xxgk/gknb/index.html",
    "127.0.0.7": "/zwgk/zfxxgknb/index.html",
}
_SESSION = re.compile(r";jsessionid=[0-9A-Za-z]+", re.I)
_TRS_LIST = re.compile(r"^/zwgk/zfxxgknb/index_\d+\.html$")
_GENERIC_LIST = re.compile(r"^/xxgk/gknb/index_\d+\.html$")
_DATAPROXY = ("/module/web/jpage/dataproxy.jsp", "/module/jpage/dataproxy.jsp")
# Every static 200 page says when it changed, as a real CMS behind nginx does; one date for all
# (the demo's pages are generated at start), the ETag from the bytes so an edit changes it.
LAST_MODIFIED = "Mon, 04 Mar 2024 08:00:00 GMT"
NOT_FOUND = (
    b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1>"
    b"</center><hr><center>nginx</center></body></html>"
)


class PortalHandler(BaseHTTPRequestHandler):
    """Answers from the prebuilt site map, plus the few pages that depend on the request."""

    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # quiet: the crawler logs what it fetched

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self._answer(form=form)

    def _answer(self, form: str = "", head: bool = False) -> None:
        host = self.server.server_address[0]
        port = self.server.server_address[1]
        page = route(host, port, self.path, form)
        if page.delay:
            time.sleep(page.delay)
        validators = {}
        if page.status == 200 and self.command in ("GET", "HEAD"):
            validators = {
                "ETag": f'"{hashlib.sha256(page.body).hexdigest()[:16]}"',
                "Last-Modified": LAST_MODIFIED,
            }
            if _not_modified(self.headers, validators):
                self.send_response(304)
                for name, value in validators.items():
                    self.send_header(name, value)
                self.end_headers()
                return
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in {**validators, **page.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(page.body)


def _not_modified(headers, validators: dict[str, str]) -> bool:
    """RFC 9110 13.1: If-None-Match wins over If-Modified-Since."""
    etags = headers.get("If-None-Match")
    if etags is not None:
        return validators["ETag"] in [t.strip() for t in etags.split(",")] or etags.strip() == "*"
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(LAST_MODIFIED) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def route(host: str, port: int, raw_path: str, form: str = "") -> site.Page:
    """The page a host answers for a request path (with query) and an optional POST form."""
    pages = site.build_site()[host]
    path = _SESSION.sub("", raw_path)
    parts = urlsplit(path)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.path in _DATAPROXY and host == site.PORTAL_HOSTS["hanweb"]:
        query.update({k: v[-1] for k, v in parse_qs(form).items()})
        return _dataproxy(query)
    if parts.path == "/module/download/downfile.jsp" and host == site.PORTAL_HOSTS["hanweb"]:
        return _downfile(path, port)
    if (
        parts.path == "/module/xxgk/xxgkAnnualReport.jsp"
        and path not in pages
        and host == site.PORTAL_HOSTS["hanweb"]
    ):
        return site.Page(
            200, site.simple_page("hanweb", "政府信息公开年报", "暂无该年度报告。").encode()
        )
    if parts.path == site.CALENDAR_PATH and host == site.PORTAL_HOSTS["hulan"]:
        return _calendar(query.get("date", ""))
    if path in pages:
        return pages[path]
    if parts.path in pages and not parts.query:
        return pages[parts.path]
    if (
        host in (site.PORTAL_HOSTS["yuci"], site.PORTAL_HOSTS["jiuquan"])
        and _TRS_LIST.match(parts.path)
        or host == site.PORTAL_HOSTS["litong"]
        and _GENERIC_LIST.match(parts.path)
        or host == site.PORTAL_HOSTS["hulan"]
        and parts.path == site.HULAN_LIST
    ):
        return pages[site.FALLBACK_LIST]  # past the last list page: 200, empty or a refresh to ./
    return site.Page(404, NOT_FOUND)


def _dataproxy(query: dict[str, str]) -> site.Page:
    """Hanweb's jpage proxy: records startrecord..endrecord of a column as an XML datastore."""
    columns = {str(col): portal for portal, (col, _) in site.HANWEB_COLUMNS.items()}
    portal = columns.get(query.get("columnid", ""))
    items = site.column_items(portal) if portal else []
    try:
        start = int(query.get("startrecord", 1))
        per = int(query.get("perpage", site.HANWEB_PER_PAGE))
        end = int(query.get("endrecord", start + per - 1))
    except ValueError:
        return site.Page(400, b"bad paging parameters", "text/plain; charset=UTF-8")
    body = site.hanweb_datastore(items, start, end, per)
    return site.Page(200, body.encode(), "text/xml; charset=UTF-8")


def _downfile(path: str, port: int) -> site.Page:
    """Hanweb's download servlet: 302 to the attachment host."""
    for entry in site.catalog():
        for att in entry.get("attachments", []):
            if att["path"] == path and "redirect" in att:
                target = att["redirect"].replace(
                    f"http://{site.ATTACH_HOST}/", f"http://{site.ATTACH_HOST}:{port}/"
                )
                return site.Page(302, b"", "text/html; charset=UTF-8", {"Location": target})
    return site.Page(404, NOT_FOUND)


def _calendar(value: str) -> site.Page:
    """A spider trap: every day links to the day before and the day after, forever."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = date(2024, 3, 31)
    return site.Page(200, site.calendar_page(day).encode())


# ---------------------------------------------------------------- running it
def _bind_all(port: int) -> list[ThreadingHTTPServer]:
    servers: list[ThreadingHTTPServer] = []
    host = HOSTS[0]
    try:
        for host in HOSTS:
            server = ThreadingHTTPServer((host, port), PortalHandler)
            server.daemon_threads = True
            servers.append(server)
            port = server.server_address[1]  # port 0: the first bind picks, the others follow
    except OSError as exc:
        for server in servers:
            server.server_close()
        raise OSError(
            exc.errno, f"demo portal: cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc
    return servers


@contextlib.contextmanager
def running_portal(port: int = 0) -> Iterator[int]:
    """Serve every demo host in background threads; yields the port they share."""
    site.build_site()  # build before binding so the first request is fast
    attempts = 20 if port == 0 else 1
    for attempt in range(attempts):
        try:
            servers = _bind_all(port)
            break
        except OSError:
            if attempt == attempts - 1:
                raise
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield servers[0].server_address[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def portal_lines(port: int) -> list[str]:
    return [f"http://{h}:{port}{START_PATHS[h]}  {HOST_LABELS[h]}" for h in HOSTS]


def serve_forever(port: int = DEFAULT_PORT) -> None:
    """Serve the demo portals until Ctrl-C, printing one line per host."""
    with running_portal(port) as bound:
        for line in portal_lines(bound):
            print(line, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping demo portals", flush=True)


def demo_sources(port: int) -> list[Source]:
    """The demo sources (crawler/demo/sources.yml) pointed at the port the portals listen on."""
    return [with_port(s, port) for s in load_sources(DEMO_SOURCES)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the offline nianbao demo portals.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve_forever(parser.parse_args(argv).port)


if __name__ == "__main__":
    main()
