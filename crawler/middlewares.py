"""Downloader middleware: keep every response (WARC + captures row); scope is crawler/scope.py.

The capture middleware also makes re-crawls incremental (conditional requests from the last
capture of a URL, 304 answered from our own WARC), resumes an interrupted crawl from its captures,
and stops the crawl loudly when the disk or the database refuses a write.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sqlite3
import zlib
from http import HTTPStatus
from typing import NoReturn
from urllib.parse import urljoin, urlsplit

import brotli
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
from scrapy.responsetypes import responsetypes
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from crawler.parsing import detect_block
from crawler.progress import count
from crawler.scope import ScopeRefused
from crawler.sources import Source
from crawler.urls import host_allowed
from postprocess.storage import db as archive
from postprocess.storage.warc import Stored, WarcStore, read_record, safe_worker_name

logger = logging.getLogger(__name__)

ROBOTS_ROLE = "robots"
ROBOTS_FORBIDDEN = "Forbidden by robots.txt"
# robots.txt answering these means "no rules", not a failure.
ROBOTS_ABSENT = (404, 410)
# Content-Encoding is inflated in steps of this size, never past DOWNLOAD_MAXSIZE.
DECODE_STEP = 1024 * 1024
# roles whose URLs are revalidated on a re-crawl (robots.txt is always fetched afresh)
REVALIDATED_ROLES = ("list", "report", "attachment")
REPLAY_FLAG = "nianbao-replay"
# bodies the spiders parse for links (what PortalSpider reads; anything else is a file)
MARKUP = ("text/html", "application/xhtml", "text/xml", "application/xml", "text/plain")
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


class BodyTooLarge(ValueError):
    """A Content-Encoded body inflates past the size limit."""


class CrawlStopped(IgnoreRequest):
    """The crawl is stopping after a fatal storage error: drop the request unrecorded."""


def _inflate_zlib(body: bytes, wbits: int, limit: int) -> bytes:
    """zlib/gzip/raw deflate, gzip members concatenated, stopped as soon as `limit` is passed."""
    parts: list[bytes] = []
    size = 0
    data = body
    while data:
        decoder = zlib.decompressobj(wbits)
        while data:
            chunk = decoder.decompress(data, DECODE_STEP)
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"inflates past {limit} bytes")
            parts.append(chunk)
            data = decoder.unconsumed_tail
            if decoder.eof:
                break
        parts.append(decoder.flush())
        data = decoder.unused_data if decoder.eof and wbits > 15 else b""
    return b"".join(parts)


def _inflate_brotli(body: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    parts = [decoder.process(body, output_buffer_limit=DECODE_STEP)]
    size = len(parts[0])
    while not decoder.is_finished() and not decoder.can_accept_more_data():
        parts.append(decoder.process(b"", output_buffer_limit=DECODE_STEP))
        size += len(parts[-1])
        if size > limit:
            raise BodyTooLarge(f"inflates past {limit} bytes")
    if size > limit:
        raise BodyTooLarge(f"inflates past {limit} bytes")
    return b"".join(parts)


def decode_content(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo a Content-Encoding header (codings applied in order) without passing `limit` bytes.

    Raises BodyTooLarge past the limit, ValueError for an unknown or broken coding."""
    for name in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        try:
            if name in ("gzip", "x-gzip"):
                body = _inflate_zlib(body, 16 + zlib.MAX_WBITS, limit)
            elif name == "deflate":
                try:
                    body = _inflate_zlib(body, zlib.MAX_WBITS, limit)
                except zlib.error:  # servers send raw deflate as often as zlib-wrapped
                    body = _inflate_zlib(body, -zlib.MAX_WBITS, limit)
            elif name == "br":
                body = _inflate_brotli(body, limit)
            elif name != "identity":
                raise ValueError(f"unsupported coding {name!r}")
        except (zlib.error, brotli.error) as exc:
            raise ValueError(f"broken {name} data: {exc}") from exc
    return body


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


class BatchLost(Exception):
    """A batch of captures could not be made durable; its WARC records were cut off again."""


class CaptureWriter:
    """The archive.db connection of one process, shared by the spiders' capture middlewares, and
    the batch of rows written through it but not yet committed.

    Durability: a capture row is inserted in the open transaction right after its WARC record is
    written (not yet fsync'd). A batch ends after `max_rows` rows or `max_seconds`: every WARC
    file with records in it is fsync'd first, then the transaction is committed, so a committed
    row always points at bytes on disk. A killed crawl loses at most the uncommitted batch: its
    records have no row, are cut off by `cut_unrecorded_tail` and fetched again on resume. When
    the sync or a commit fails, the batch is rolled back and its records are cut off; the crawl
    stops. One shared connection: a second one would wait on this one's open transaction.
    """

    _open: dict[str, CaptureWriter] = {}

    def __init__(self, path: str, max_rows: int, max_seconds: float, migrate: bool = True):
        self.path = path
        self.db = archive.open_db(path, migrate=migrate)
        self.max_rows = max(1, max_rows)
        self.max_seconds = max_seconds
        self.users: list[CaptureMiddleware] = []
        self.rows = 0
        # where the batch starts in each WARC file it wrote to
        self.starts: dict[WarcStore, tuple[str, int]] = {}
        self.timer: CallLaterResult | None = None
        self.failed: str | None = None
        # (method, url) hashes with a capture to revalidate against: most requests of a crawl are
        # new URLs, which need no query then (a false hit only costs the query)
        self.known: set[int] = {hash(key) for key in archive.revalidated_urls(self.db)}

    @classmethod
    def acquire(
        cls, user: CaptureMiddleware, path: str, rows: int, seconds: float, migrate: bool = True
    ) -> CaptureWriter:
        writer = cls._open.get(path)
        if writer is None:
            writer = cls._open[path] = cls(path, rows, seconds, migrate)
        writer.users.append(user)
        return writer

    def release(self, user: CaptureMiddleware) -> None:
        """Commit what is pending; the last user closes the connection."""
        try:
            self.flush()
        finally:
            self.users.remove(user)
            if not self.users:
                self._open.pop(self.path, None)
                self.db.close()

    def add_capture(self, store: WarcStore, stored: Stored, row: dict) -> int:
        """Insert the row of a record just written (sync=False) to `store`; BatchLost when the
        database refuses (the record is cut off, and the batch unless it still commits)."""
        if self.failed:  # callers check before writing the record (CaptureMiddleware._store)
            raise BatchLost(self.failed)
        self.starts.setdefault(store, (stored.warc_file, stored.offset))
        try:
            capture_id = archive.insert_row(self.db, "captures", row)
        except sqlite3.Error as exc:
            message = f"cannot record a capture in {self.path}: {exc}"
            try:
                store.cut_back(stored.warc_file, stored.offset)
                if self.starts[store] == (stored.warc_file, stored.offset):
                    del self.starts[store]
            except (OSError, ValueError) as cut:
                message += f"; WARC record {stored.record_id} left without a row: {cut}"
            self._fail(message)
        if row["status"] == 200 and not row["blocked"]:
            self.known.add(hash((row["method"], row["url"])))
        self._added()
        return capture_id

    def add_fetch_error(self, row: dict) -> None:
        if self.failed:
            return
        try:
            archive.insert_row(self.db, "fetch_errors", {"at": archive.now(), **row})
        except sqlite3.Error as exc:
            self._fail(f"cannot record a fetch error in {self.path}: {exc}")
        self._added()

    def _added(self) -> None:
        self.rows += 1
        if self.rows >= self.max_rows:
            self.flush()
        elif self.timer is None and any(user.crawler.crawling for user in self.users):
            self.timer = call_later(self.max_seconds, self._timed_flush)

    def _timed_flush(self) -> None:
        self.timer = None
        try:
            self.flush()
        except BatchLost as exc:
            for user in list(self.users):
                user._stop(str(exc))

    def _fail(self, message: str) -> NoReturn:
        """Keep what of the batch still commits, else cut it off; then refuse further writes."""
        if self.db.conn.in_transaction:
            try:
                self.flush()
            except BatchLost as lost:
                message += f"; {lost}"
        else:
            message += self._drop()  # SQLite rolled the transaction back itself
        self.failed = message
        raise BatchLost(message)

    def flush(self) -> None:
        """Sync the batch's WARC records, then commit its rows (BatchLost when either fails)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.rows and not self.db.conn.in_transaction:
            return
        try:
            for store in self.starts:
                store.sync()
            self.db.conn.commit()
        except (OSError, sqlite3.Error) as exc:
            self.failed = f"cannot commit {self.rows} captures to {self.path}: {exc}" + self._drop()
            raise BatchLost(self.failed) from exc
        self.starts.clear()
        self.rows = 0

    def _drop(self) -> str:
        """Roll the batch back and cut its WARC records off; what could not be cut, as text."""
        problems = ""
        try:
            self.db.conn.rollback()
        except sqlite3.Error as exc:
            problems += f"; rollback failed: {exc}"
        for store, (warc_file, offset) in self.starts.items():
            try:
                store.cut_back(warc_file, offset)
            except (OSError, ValueError) as exc:
                problems += f"; records of {warc_file} from byte {offset} left without rows: {exc}"
        self.starts.clear()
        self.rows = 0
        return problems


class CaptureMiddleware:
    """Write every response that reaches the downloader to WARC and to the captures table.

    Write order: the WARC record is written, then its captures row is inserted; rows are
    committed in batches after their records are fsync'd (CaptureWriter). When a row cannot be
    inserted the record is cut off again. A write the disk or the database refuses stops the
    crawl (finish reason `nianbao_fatal`, message in stats `nianbao/fatal`).
    """

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.db_path: str = settings.get("NIANBAO_DB")
        self.data_dir: str = settings.get("NIANBAO_DATA_DIR")
        self.crawl_id: int | None = settings.getint("NIANBAO_CRAWL_ID") or None
        self.max_size: int = settings.getint("DOWNLOAD_MAXSIZE")
        self.max_redirects: int = settings.getint("REDIRECT_MAX_TIMES")
        # interrupted crawls this one completes: their 200 captures are replayed, not refetched
        self.resume: set[int] = set(settings.getlist("NIANBAO_RESUME_CRAWLS") or ())
        self.revalidate: bool = settings.getbool("NIANBAO_REVALIDATE", True)
        self.batch_rows: int = settings.getint("NIANBAO_CAPTURE_BATCH", 100)
        self.batch_seconds: float = settings.getfloat("NIANBAO_CAPTURE_BATCH_SECONDS", 1.0)
        self.own_crawl = False
        self.writer: CaptureWriter | None = None
        self.db = None
        self.store: WarcStore | None = None
        self.fatal: str | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        return cls(crawler)

    # --- lifecycle -----------------------------------------------------------------------

    def spider_opened(self, spider) -> None:
        # crawler.run has brought the schema up to date when it names the crawl
        migrate = self.crawl_id is None
        self.writer = CaptureWriter.acquire(
            self, self.db_path, self.batch_rows, self.batch_seconds, migrate
        )
        self.db = self.writer.db
        if self.crawl_id is None:
            # A bare `scrapy crawl`: register the sources and open a crawl row ourselves.
            sources = list(sources_of(spider).values())
            archive.upsert_sources(self.db, [s.as_row() for s in sources])
            self.crawl_id = archive.start_crawl(self.db, [s.id for s in sources])
            archive.register_crawl(self.db, self.crawl_id, os.getpid(), socket.gethostname())
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
        if self.writer is not None:
            try:
                self.writer.flush()
            except BatchLost as exc:
                self._stop(str(exc))
        if self.store is not None:
            try:
                self.store.close()
            except OSError as exc:
                self._stop(str(exc))
        if self.db is not None and not self.fatal:
            # a page whose parent another worker of a shared archive fetched, its row not yet
            # committed when this one was written (the build links what is still left)
            try:
                with self.db.conn:
                    archive.link_parents_by_record(self.db)
            except sqlite3.Error as exc:
                logger.warning("parent pages not linked by record id: %s", exc)
        if self.own_crawl and self.db is not None:
            stats = self.crawler.stats.get_stats()
            totals = {
                k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("nianbao/total/")
            }
            status = "finished" if reason == "finished" and not self.fatal else "failed"
            archive.finish_crawl(self.db, self.crawl_id, status, totals)
        if self.writer is not None:
            try:
                self.writer.release(self)
            except BatchLost as exc:
                self._stop(str(exc))
            self.writer = None

    def _stop(self, message: str) -> None:
        """Stop the crawl on a storage failure: one ERROR line, the reason kept in stats."""
        if self.fatal is not None:
            return
        self.fatal = message
        logger.error("crawl stopped: %s", message)
        self.crawler.stats.set_value("nianbao/fatal", message)
        if self.crawler.crawling and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="nianbao_fatal"))

    # --- requests: resume and revalidate -------------------------------------------------

    def process_request(self, request: Request) -> Response | None:
        if self.fatal:
            raise CrawlStopped(f"crawl stopped: {self.fatal}")
        assert self.writer is not None
        if self.writer.failed:
            self._stop(self.writer.failed)
            raise CrawlStopped(f"crawl stopped: {self.fatal}")
        if request.meta.pop("nianbao_prior", None) is not None:
            # a redirect or retry copies meta and headers: validators belong to the old URL
            for name in ("If-None-Match", "If-Modified-Since"):
                request.headers.pop(name, None)
        if request.meta.get("role") not in REVALIDATED_ROLES or request.meta.get("nianbao_fresh"):
            return None
        if hash((request.method, request.url)) not in self.writer.known:
            return None  # never captured: nothing to revalidate or resume
        try:
            prior = archive.last_capture(self.db, request.url, request.method)
        except sqlite3.Error as exc:
            self._stop(f"cannot read {self.db_path}: {exc}")
            raise CrawlStopped(str(exc)) from exc
        if prior is None:
            return None
        if request.method != "GET":
            # a form post (Hanweb's dataproxy): compared by content hash only, never replayed
            request.meta["nianbao_prior"] = prior
            return None
        if prior["crawl_id"] in self.resume:
            replay = self._replay(request, prior, "resumed")
            if replay is not None:
                return replay
        request.meta["nianbao_prior"] = prior
        if self.revalidate:
            if prior["etag"] and b"If-None-Match" not in request.headers:
                request.headers["If-None-Match"] = prior["etag"]
            if prior["last_modified"] and b"If-Modified-Since" not in request.headers:
                request.headers["If-Modified-Since"] = prior["last_modified"]
        return None

    def _replay(self, request: Request, prior: dict, why: str) -> Response | None:
        """The body of an earlier capture as a 200 response (None when it cannot be read)."""
        ctype = (prior["content_type"] or "").lower()
        if request.meta.get("role") == "attachment" or (ctype and not ctype.startswith(MARKUP)):
            # the spiders follow nothing in a file: do not inflate a large PDF to drop it
            headers = {"Content-Type": prior["content_type"] or "application/octet-stream"}
            request.meta["capture_id"] = prior["id"]
            request.meta["record_id"] = prior["warc_record_id"]
            request.meta["nianbao_replay"] = why
            return Response(
                request.url, status=200, headers=headers, request=request, flags=[REPLAY_FLAG]
            )
        try:
            record = read_record(self.data_dir, prior["warc_file"], prior["warc_offset"])
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("capture %s unreadable, fetching again: %s", prior["id"], exc)
            return None
        # the body comes back decoded: no length or coding of the bytes once on the wire
        headers = {
            k: v
            for k, v in record.headers.items()
            if k not in ("content-length", "content-encoding", "transfer-encoding")
        }
        cls = responsetypes.from_args(headers=headers, url=request.url, body=record.body)
        request.meta["capture_id"] = prior["id"]
        request.meta["record_id"] = prior["warc_record_id"]
        request.meta["nianbao_replay"] = why
        return cls(
            url=request.url,
            status=200,
            headers=headers,
            body=record.body,
            request=request,
            flags=[REPLAY_FLAG],
        )

    # --- responses -----------------------------------------------------------------------

    def _decoded(self, response: Response) -> tuple[bytes, list[tuple[str, str]], str | None, bool]:
        """Body without Content-Encoding (so its sha256 is what a reader gets back).

        The last item says the body was too large once inflated (kept encoded)."""
        headers = _headers(response.headers)
        encoding = (_header(response, "Content-Encoding") or "").strip().lower()
        if not encoding or encoding == "identity":
            return response.body, headers, None, False
        try:
            body = decode_content(response.body, encoding, self.max_size)
        except BodyTooLarge as exc:
            return response.body, headers, f"content-encoding {encoding!r} kept: {exc}", True
        except ValueError as exc:
            # Keep the bytes as received and say why they are still encoded.
            return response.body, headers, f"content-encoding {encoding!r} kept: {exc}", False
        kept = [
            (k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")
        ]
        kept.append(("X-Archive-Orig-Content-Encoding", encoding))
        return body, kept, None, False

    def _store(self, request: Request, response: Response, body: bytes, headers, row: dict) -> int:
        """WARC record first, then its row in the batch (CaptureWriter); either failing stops
        the crawl."""
        reason = _phrase(response.status)
        assert self.store is not None and self.writer is not None
        if self.writer.failed:  # the archive refused a write: nothing more is written
            self._stop(self.writer.failed)
            raise CrawlStopped(self.writer.failed)
        if self.store.rolls_over:
            self._flush()  # a batch stays within one file of each store
        try:
            stored: Stored = self.store.write_response(
                response.url,
                response.status,
                reason,
                headers,
                body,
                request_headers=_headers(request.headers),
                method=request.method,
                request_body=request.body or b"",
                sync=False,
            )
        except OSError as exc:
            # the torn record is cut off; the batch before it is kept if it still syncs
            message = str(exc)
            try:
                self.writer.flush()
            except BatchLost as lost:
                message += f"; {lost}"
            self._stop(message)
            raise CrawlStopped(message) from exc
        row.update(stored.capture_fields())
        # parents are named by record id too: unique across distributed workers
        request.meta["record_id"] = stored.record_id
        try:
            return self.writer.add_capture(self.store, stored, row)
        except BatchLost as exc:
            self._stop(str(exc))
            raise CrawlStopped(str(exc)) from exc

    def _flush(self) -> None:
        assert self.writer is not None
        try:
            self.writer.flush()
        except BatchLost as exc:
            self._stop(str(exc))
            raise CrawlStopped(str(exc)) from exc

    def flush(self) -> None:
        """Commit the pending batch now (its WARC records synced first)."""
        self._flush()

    def process_response(self, request: Request, response: Response) -> Response:
        spider = self.crawler.spider
        meta = request.meta
        role = meta.get("role")
        source_id = meta.get("source_id") or source_for_host(sources_of(spider), request.url)
        stats = self.crawler.stats
        if REPLAY_FLAG in response.flags:
            count(stats, source_id, "resumed")
            self._count_ok(source_id, role)
            return response
        if self.fatal:
            raise CrawlStopped(f"crawl stopped: {self.fatal}")
        if (
            role is None
            and meta.get("dont_obey_robotstxt")
            and urlsplit(request.url).path == "/robots.txt"
        ):
            role = ROBOTS_ROLE
        count(stats, source_id, "fetched")
        count(stats, source_id, "bytes", len(response.body))
        body, headers, note, too_large = self._decoded(response)
        prior = meta.get("nianbao_prior")
        blocked = detect_block(response.status, body)
        notes = [n for n in (note, blocked) if n]
        revisit_of = None
        if prior is not None and response.status == 304:
            revisit_of = prior["id"]
            notes.append(f"not modified since capture {prior['id']}")
        elif prior is not None and response.status == 200 and not blocked:
            if prior["sha256"] == hashlib.sha256(body).hexdigest():
                revisit_of = prior["id"]
                notes.append(f"unchanged: same sha256 as capture {prior['id']}")
        redirect = None
        if 300 <= response.status < 400 and response.headers.get("Location"):
            notes.append(f"redirect to {_header(response, 'Location')}")
            redirect = self._redirect_problem(request, response)
        if meta.get("retry_times"):
            notes.append(f"retry {meta['retry_times']}")
        if meta.get("continuation_of"):
            notes.append(f"continuation of {meta['continuation_of']}")
        capture_id = self._store(
            request,
            response,
            body,
            headers,
            {
                "crawl_id": self.crawl_id,
                "source_id": source_id,
                "url": response.url,
                "method": request.method,
                "fetched_at": archive.now(),
                "status": response.status,
                "content_type": _header(response, "Content-Type"),
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
                "revisit_of": revisit_of,
            },
        )
        meta["capture_id"] = capture_id
        count(stats, source_id, "captures")
        if too_large:
            count(stats, source_id, "errors")
            self._fetch_error(request, source_id, role, "too_large", note or "", response.status)
        if redirect:
            count(stats, source_id, "errors")
            self._fetch_error(request, source_id, role, redirect[0], redirect[1], response.status)
        if blocked:
            meta["blocked"] = blocked
            count(stats, source_id, "blocked")
            count(stats, source_id, "errors")
            logger.warning("blocked (%s) at %s: recorded, not circumvented", blocked, response.url)
            self._fetch_error(request, source_id, role, "blocked", blocked, response.status)
        elif response.status == 304 and prior is not None:
            replay = self._replay(request, prior, "not modified")
            if replay is not None:
                count(stats, source_id, "unchanged")
                self._count_ok(source_id, role)
                return replay
            # our copy is unreadable: fetch it again without validators
            retry = request.replace(dont_filter=True)
            retry.meta["nianbao_fresh"] = True
            return retry
        elif response.status >= 400 and not (
            role == ROBOTS_ROLE and response.status in ROBOTS_ABSENT
        ):
            count(stats, source_id, "errors")
            if prior is not None and response.status in (404, 410) and role != ROBOTS_ROLE:
                count(stats, source_id, "deleted")
            self._fetch_error(
                request,
                source_id,
                role,
                "http",
                f"HTTP {response.status} {_phrase(response.status)}".strip(),
                response.status,
            )
        elif 200 <= response.status < 300 and role in REVALIDATED_ROLES:
            if prior is None:
                count(stats, source_id, "new")
            elif revisit_of is None:
                count(stats, source_id, "changed")
            else:
                count(stats, source_id, "unchanged")
            self._count_ok(source_id, role)
        return response

    def _count_ok(self, source_id: str | None, role: str | None) -> None:
        if role in REVALIDATED_ROLES:
            key = {"list": "pages", "report": "reports", "attachment": "attachments"}[role]
            count(self.crawler.stats, source_id, key)

    def _redirect_problem(self, request: Request, response: Response) -> tuple[str, str] | None:
        """A redirect Scrapy will drop: back to a URL of its own chain, or one too many."""
        target = urljoin(response.url, _header(response, "Location") or "")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            return "redirect_loop", f"redirect loop: {' -> '.join([*chain, target])}"
        times = request.meta.get("redirect_times", 0) + 1
        if not request.meta.get("redirect_ttl", self.max_redirects) or times > self.max_redirects:
            return (
                "max_redirections",
                f"max redirections ({self.max_redirects}) reached at {request.url} -> {target}",
            )
        return None

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if isinstance(exception, CrawlStopped):
            return None
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
            else:
                self._fetch_error(
                    request, source_id, role, "refused", str(exception) or "refused", None
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
        if self.fatal or self.writer is None:
            return
        try:
            self.writer.add_fetch_error(
                {
                    "crawl_id": self.crawl_id,
                    "source_id": source_id,
                    "url": request.url,
                    "role": role,
                    "error": kind,
                    "message": message,
                    "status": status,
                }
            )
        except BatchLost as exc:
            self._stop(str(exc))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
