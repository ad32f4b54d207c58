"""A small generic-CMS portal whose pages the tests edit between crawls (tests only).

Pages answer ETag/Last-Modified and 304 unless registered without validators, the way many
portals serve generated pages; every request is logged with its conditional headers.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

LAST_MODIFIED = "Tue, 05 Mar 2024 08:00:00 GMT"


@dataclass
class Portal:
    port: int = 0
    pages: dict[str, tuple[int, bytes, str, bool]] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> status, Location
    log: list[tuple[str, str | None, int]] = field(default_factory=list)  # path, INM, status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(
        self,
        path: str,
        body: bytes,
        ctype: str = "text/html; charset=utf-8",
        validators: bool = True,
        status: int = 200,
    ) -> None:
        with self.lock:
            self.pages[path] = (status, body, ctype, validators)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        with self.lock:
            self.redirects[path] = (status, location)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(portal: Portal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            with portal.lock:
                moved = portal.redirects.get(self.path)
                if moved:
                    portal.log.append((self.path, None, moved[0]))
            if moved:
                self.send_response(moved[0])
                self.send_header("Location", moved[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with portal.lock:
                status, body, ctype, validators = portal.pages.get(
                    self.path, (404, b"not found", "text/plain", False)
                )
            etag = f'"{hashlib.sha256(body).hexdigest()[:12]}"'
            inm = self.headers.get("If-None-Match")
            answer = 304 if validators and status == 200 and inm == etag else status
            with portal.lock:
                portal.log.append((self.path, inm, answer))
            self.send_response(answer)
            if validators and status == 200:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
            if answer == 304:
                self.end_headers()
                return
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def write_sources(root: Path, source_id: str, agency: str, start: str, **fields) -> Path:
    """A sources file with one generic-CMS county source of the test portal (demo: local)."""
    entry = {
        "id": source_id,
        "agency": agency,
        "division_code": "230111",
        "level": "county",
        "cms": "generic",
        "start_urls": [start],
        "demo": True,
        **fields,
    }
    path = root / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), "utf-8")
    return path


@contextmanager
def running(portal: Portal) -> Iterator[Portal]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(portal))
    server.daemon_threads = True
    portal.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
