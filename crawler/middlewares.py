"""Downloader middleware: keep every response (WARC + captures row); scope is crawler/scope.py."""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.utils._compression import _inflate, _unbrotli, _unzstd
from scrapy.utils.gz import gunzip
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.parsing import detect_block
from crawler.progress import count
from crawler.scope import ScopeRefused
from crawler.sources import Source
from crawler.urls import host_allowed
from postprocess.storage import db as archive
from postprocess.storage.warc import WarcStore, safe_worker_name

logger = logging.getLogger(__name__)

ROBOTS_ROLE = "robots"
ROBOTS_FORBIDDEN = "Forbidden by robots.txt"
# robots.txt answering these means "no rules", not a failure.
ROBOTS_ABSENT = (404, 410)
DECODERS = {"gzip": gunzip, "x-gzip": gunzip, "deflate": _inflate, "br": _unbrotli, "zstd": _unzstd}
# Failure classes named in fetch_errors.error, checked in order.
EXCEPTION_KINDS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((DownloadTimeoutError, TxTimeoutError, TCPTimedOutError, TimeoutError), "timeout"),
    ((CannotResolveHostError, DNSLookupError), "dns"),
    ((DownloadConnectionRefusedError, ConnectionRefusedError), "refused"),
    # cancelled: DOWNLOAD_MAXSIZE exceeded (or the crawl stopping)
    ((DownloadCancelledError,), "cancelled"),
    (
        (
            ResponseDataLossError,
            DownloadFailedError,
            ConnectError,
            ConnectionLost,
            ResponseFailed,
            ResponseNeverReceived,
        ),
        "connection",
    ),
)


def _headers(headers) -> list[tuple[str, str]]:
    """Scrapy's header mapping as (name, value) text pairs, one per value."""
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1")
        for value in values:
            pairs.append((key, value.decode("latin-1")))
    return pairs


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def error_kind(exc: BaseException) -> str:
    for classes, kind in EXCEPTION_KINDS:
        if isinstance(exc, classes):
            return kind
    return "other"


def sources_of(spider: object) -> dict[str, Source]:
    return getattr(spider, "sources", {}) or {}


def source_for_host(sources: dict[str, Source], url: str) -> str | None:
    """The source a host-level fetch (robots.txt) belongs to: first source listing the host."""
    for source in sources.values():
        if host_allowed(url, source.domains + source.attachment_domains):
            return source.id
    return None


class CaptureMiddleware:
    """Write every response that reaches the downloader to WARC and to the captures table."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.db_path: str = settings.get("NIANBAO_DB")
        self.data_dir: str = settings.get("NIANBAO_DATA_DIR")
        self.crawl_id: int | None = settings.getint("NIANBAO_CRAWL_ID") or None
        self.max_size: int = settings.getint("DOWNLOAD_MAXSIZE")
        self.own_crawl = False
        self.db = None
        self.store: WarcStore | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        return cls(crawler)

    # --- lifecycle -----------------------------------------------------------------------

    def spider_opened(self, spider) -> None:
        self.db = archive.open_db(self.db_path)
        if self.crawl_id is None:
            # A bare `scrapy crawl`: register the sources and open a crawl row ourselves.
            sources = list(sources_of(spider).values())
            archive.upsert_sources(self.db, [s.as_row() for s in sources])
            self.crawl_id = archive.start_crawl(self.db, [s.id for s in sources])
            self.own_crawl = True
        # A distributed worker names its files too: crawl ids of different hosts collide.
        worker = safe_worker_name(self.crawler.settings.get("NIANBAO_WORKER"))
        prefix = f"crawl{self.crawl_id:05d}-{worker + '-' if worker else ''}{spider.name}"
        self.store = WarcStore(self.data_dir, prefix)
        logger.info(
            "capturing into %s (crawl %s, WARC under %s/warc)",
            self.db_path,
            self.crawl_id,
            self.data_dir,
        )

    def spider_closed(self, spider, reason: str) -> None:
        if self.store is not None:
            self.store.close()
        if self.own_crawl and self.db is not None:
            stats = self.crawler.stats.get_stats()
            totals = {
                k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("nianbao/total/")
            }
            archive.finish_crawl(
                self.db, self.crawl_id, "finished" if reason == "finished" else reason, totals
            )

    # --- responses -----------------------------------------------------------------------

    def _decoded(self, response: Response) -> tuple[bytes, list[tuple[str, str]], str | None]:
        """Body without Content-Encoding (so its sha256 is what a reader gets back)."""
        headers = _headers(response.headers)
        encoding = (_header(response, "Content-Encoding") or "").strip().lower()
        if not encoding or encoding == "identity":
            return response.body, headers, None
        body = response.body
        try:
            for name in reversed([e.strip() for e in encoding.split(",") if e.strip()]):
                body = DECODERS[name](body, max_size=self.max_size)
        except (KeyError, OSError, ValueError) as exc:
            # Keep the bytes as received and say why they are still encoded.
            return response.body, headers, f"content-encoding {encoding!r} kept: {exc}"
        kept = [
            (k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")
        ]
        kept.append(("X-Archive-Orig-Content-Encoding", encoding))
        return body, kept, None

    def process_response(self, request: Request, response: Response) -> Response:
        spider = self.crawler.spider
        meta = request.meta
        role = meta.get("role")
        if (
            role is None
            and meta.get("dont_obey_robotstxt")
            and urlsplit(request.url).path == "/robots.txt"
        ):
            role = ROBOTS_ROLE
        source_id = meta.get("source_id") or source_for_host(sources_of(spider), request.url)
        body, headers, note = self._decoded(response)
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        stored = self.store.write_response(
            response.url,
            response.status,
            reason,
            headers,
            body,
            request_headers=_headers(request.headers),
            method=request.method,
            request_body=request.body or b"",
        )
        blocked = detect_block(response.status, body)
        notes = [n for n in (note, blocked) if n]
        if 300 <= response.status < 400 and response.headers.get("Location"):
            notes.append(f"redirect to {_header(response, 'Location')}")
        if meta.get("retry_times"):
            notes.append(f"retry {meta['retry_times']}")
        if meta.get("continuation_of"):
            notes.append(f"continuation of {meta['continuation_of']}")
        capture_id = archive.record_capture(
            self.db,
            {
                "crawl_id": self.crawl_id,
                "source_id": source_id,
                "url": response.url,
                "method": request.method,
                "fetched_at": archive.now(),
                "status": response.status,
                "content_type": _header(response, "Content-Type"),
                "sha256": stored.sha256,
                "size": stored.size,
                "warc_file": stored.warc_file,
                "warc_record_id": stored.record_id,
                "warc_offset": stored.offset,
                "role": role,
                "parent_capture_id": (
                    archive.capture_of_record(self.db, meta["parent_record"])
                    if meta.get("parent_record")
                    else meta.get("parent_capture")
                ),
                "parent_record_id": meta.get("parent_record"),
                "referer": request.headers.get("Referer", b"").decode("latin-1") or None,
                "etag": _header(response, "ETag"),
                "last_modified": _header(response, "Last-Modified"),
                "blocked": int(bool(blocked)),
                "note": "; ".join(notes) or None,
                "list_title": meta.get("list_title"),
                "list_date": meta.get("list_date"),
            },
        )
        meta["capture_id"] = capture_id
        meta["record_id"] = stored.record_id
        stats = self.crawler.stats
        count(stats, source_id, "captures")
        if blocked:
            meta["blocked"] = blocked
            count(stats, source_id, "blocked")
            count(stats, source_id, "errors")
            logger.warning("blocked (%s) at %s: recorded, not circumvented", blocked, response.url)
            self._fetch_error(request, source_id, role, "blocked", blocked, response.status)
        elif response.status >= 400 and not (
            role == ROBOTS_ROLE and response.status in ROBOTS_ABSENT
        ):
            count(stats, source_id, "errors")
            self._fetch_error(
                request,
                source_id,
                role,
                "http",
                f"HTTP {response.status} {reason}".strip(),
                response.status,
            )
        elif 200 <= response.status < 300 and role in ("list", "report", "attachment"):
            count(
                stats,
                source_id,
                {"list": "pages", "report": "reports", "attachment": "attachments"}[role],
            )
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        meta = request.meta
        source_id = meta.get("source_id") or source_for_host(
            sources_of(self.crawler.spider), request.url
        )
        role = meta.get("role") or (ROBOTS_ROLE if meta.get("dont_obey_robotstxt") else None)
        if isinstance(exception, ScopeRefused):
            # Not fetched: another host than the source names, or a private address.
            count(self.crawler.stats, source_id, "offsite")
            self._fetch_error(request, source_id, role, exception.kind, exception.reason, None)
            return None
        if isinstance(exception, IgnoreRequest):
            # Not a fetch: robots.txt said no.
            if str(exception) == ROBOTS_FORBIDDEN:
                count(self.crawler.stats, source_id, "robots_forbidden")
                self._fetch_error(
                    request, source_id, role, "robots_disallowed", ROBOTS_FORBIDDEN, None
                )
            return None
        kind = error_kind(exception)
        message = f"{type(exception).__name__}: {exception}".strip()
        if meta.get("retry_times"):
            message += f" (retry {meta['retry_times']})"
        count(self.crawler.stats, source_id, "errors")
        logger.warning("fetch failed (%s) %s: %s", kind, request.url, message)
        self._fetch_error(request, source_id, role, kind, message, None)
        return None

    def _fetch_error(
        self,
        request: Request,
        source_id: str | None,
        role: str | None,
        kind: str,
        message: str,
        status: int | None,
    ) -> None:
        archive.record_fetch_error(
            self.db,
            {
                "crawl_id": self.crawl_id,
                "source_id": source_id,
                "url": request.url,
                "role": role,
                "error": kind,
                "message": message,
                "status": status,
            },
        )
