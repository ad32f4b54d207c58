"""Run one crawl: every CMS family's spider in one CrawlerProcess, recorded as one crawls row.

`run_crawl` starts the Twisted reactor, which cannot be restarted: call it once per process
(the `nianbao` CLI does). `python -m crawler.run` runs it in a fresh process, e.g. from tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Loaded here, on a short stack: importing it runs Scrapy's create_deprecated_class, whose
# inspect.stack() reads the source of every frame on the stack; loaded by the crawl itself (deep
# in Twisted's frames) it took 0.2 s of every crawl's start-up (benchmarks/crawl_overhead.py).
import scrapy.core.downloader.handlers.http11  # noqa: F401
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro
from sqlite_utils import Database
from twisted.internet.error import ReactorNotRestartable

from crawler.progress import KEYS, counts_from_stats
from crawler.sources import Source, SourceError, load_sources
from crawler.spiders.base import PortalSpider
from crawler.spiders.generic import GenericSpider
from crawler.spiders.hanweb import HanwebSpider
from crawler.spiders.trs import TrsSpider
from postprocess.storage import db as archive
from postprocess.storage.warc import cut_unrecorded_tail

SPIDERS: dict[str, type[PortalSpider]] = {
    "trs": TrsSpider,
    "hanweb": HanwebSpider,
    "generic": GenericSpider,
}


# allocations between two collections of the youngest generation during a crawl (see run_crawl)
CRAWL_GC_THRESHOLD = 10_000


@dataclass
class CrawlSummary:
    crawl_id: int | None
    sources: int
    totals: dict[str, int] = field(default_factory=dict)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_sources: list[str] = field(default_factory=list)
    fatal: str | None = None
    warnings: list[str] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)

    def line(self) -> str:
        t = self.totals
        text = (
            f"crawl {self.crawl_id if self.crawl_id is not None else '-'}: "
            f"{self.sources} sources, {t.get('pages', 0)} pages, {t.get('reports', 0)} "
            f"reports, {t.get('attachments', 0)} attachments, {t.get('errors', 0)} errors"
        )
        if t.get("blocked"):
            text += f" ({t['blocked']} blocked)"
        if t.get("unchanged") or t.get("changed"):
            text += (
                f"; {t.get('new', 0)} new, {t.get('changed', 0)} changed, "
                f"{t.get('unchanged', 0)} unchanged, {t.get('deleted', 0)} gone"
            )
        if self.resumed:
            text += (
                f"; resumed crawl {', '.join(map(str, self.resumed))} "
                f"({t.get('resumed', 0)} captures reused)"
            )
        if self.failed_sources:
            text += f"; no list page from {', '.join(self.failed_sources)}"
        if self.warnings:
            text += f"; {len(self.warnings)} warnings"
        return text

    def lines(self) -> list[str]:
        """The summary line, then one line per monitoring warning."""
        return [self.line(), *(f"warning: {w}" for w in self.warnings)]


def crawl_settings(
    db_path: str, data_dir: str, crawl_id: int | None, overrides: dict | None = None
) -> Settings:
    """Project settings (crawler/settings.py) plus where this crawl writes."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NIANBAO_DB", str(db_path), priority="cmdline")
    settings.set("NIANBAO_DATA_DIR", str(data_dir), priority="cmdline")
    settings.set("NIANBAO_CRAWL_ID", crawl_id, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def _check_data_dir(data_dir: str) -> str | None:
    """None when WARC files can be written under data_dir, else the reason."""
    try:
        warc = Path(data_dir) / "warc"
        warc.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=warc, prefix=".probe-"):
            pass
    except OSError as exc:
        return f"cannot write data directory {data_dir}: {exc.strerror or exc}"
    return None


def run_crawl(
    sources: list[Source], db_path: str, data_dir: str, settings: dict | None = None
) -> CrawlSummary:
    """Crawl `sources` into archive.db and WARC files; one process, one call."""
    # The youngest generation is collected every CRAWL_GC_THRESHOLD allocations rather than
    # every 700 (Python's default): each collection walks every young object still alive
    # (Scrapy's components as they load, then requests waiting in the scheduler, Deferreds):
    # about 0.1 ms of CPU per response for little garbage (benchmarks/crawl_overhead.py).
    thresholds = gc.get_threshold()
    gc.set_threshold(CRAWL_GC_THRESHOLD, *thresholds[1:])
    try:
        return _run_crawl(sources, db_path, data_dir, settings)
    finally:
        gc.set_threshold(*thresholds)


def _run_crawl(
    sources: list[Source], db_path: str, data_dir: str, settings: dict | None
) -> CrawlSummary:
    if not sources:
        return CrawlSummary(None, 0, fatal="no sources to crawl")
    problem = _check_data_dir(data_dir)
    if problem:
        return CrawlSummary(None, len(sources), fatal=problem)
    host = socket.gethostname()
    try:
        db = archive.open_db(db_path)
        archive.upsert_sources(db, [s.as_row() for s in sources])
        for dead in archive.mark_interrupted(db, host, _alive):
            print(f"crawl {dead} was interrupted (its process is gone): marked interrupted")
            _cut_unrecorded(db, data_dir, dead)
        crawl_id = archive.start_crawl(db, [s.id for s in sources])
        archive.register_crawl(db, crawl_id, os.getpid(), host)
        resumed = archive.resumable_crawls(db, [s.id for s in sources], crawl_id)
        if resumed:
            archive.set_crawl_fields(db, crawl_id, {"resumes": json.dumps(resumed)})
    except (sqlite3.Error, OSError) as exc:
        return CrawlSummary(None, len(sources), fatal=f"cannot use {db_path}: {_reason(exc)}")

    crawl_conf = crawl_settings(
        db_path, data_dir, crawl_id, {"NIANBAO_RESUME_CRAWLS": resumed, **(settings or {})}
    )
    quiet = os.environ.get("NIANBAO_LOG_LEVEL") is None
    if quiet:
        # Scrapy's own INFO lines (versions, component lists, stats dumps) drown our progress
        # lines; its warnings and errors still show. NIANBAO_LOG_LEVEL=INFO shows everything.
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s", "%H:%M:%S")
        )
        handler.addFilter(lambda r: r.levelno >= logging.WARNING or not r.name.startswith("scrapy"))
        handler.setLevel(logging.INFO)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        crawl_conf.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(crawl_conf)
    crawlers = []

    def stop_all_on_fatal(spider, reason: str) -> None:
        # one family's storage failure is every family's: stop them all
        if reason == "nianbao_fatal":
            for other in crawlers:
                if other.crawling:
                    deferred_from_coro(other.stop_async())

    for cms, spider_cls in SPIDERS.items():
        family = [s for s in sources if s.cms == cms]
        if family:
            crawler = process.create_crawler(spider_cls)
            crawler.signals.connect(stop_all_on_fatal, signal=signals.spider_closed)
            crawlers.append(crawler)
            process.crawl(crawler, sources=family)
    # What start-up left (modules, classes, settings: some 80k objects) lives as long as the
    # process: frozen, it is no longer walked by every full collection during the crawl (a tenth
    # of the crawl's CPU). Objects the crawl makes are collected as before (see run_crawl).
    gc.freeze()
    try:
        process.start()
    except ReactorNotRestartable as exc:
        raise RuntimeError(
            "run_crawl runs once per process (Twisted's reactor cannot restart); "
            "use `python -m crawler.run` for another crawl"
        ) from exc
    finally:
        gc.unfreeze()

    totals = {k: 0 for k in KEYS}
    per_source: dict[str, dict[str, int]] = {s.id: {k: 0 for k in KEYS} for s in sources}
    reasons = []
    fatal = None
    list_links: dict[str, tuple[str, int]] = {}
    for crawler in crawlers:
        stats = crawler.stats.get_stats()
        reasons.append(stats.get("finish_reason", "unknown"))
        fatal = fatal or stats.get("nianbao/fatal")
        list_links.update(stats.get("nianbao/list_links") or {})
        crawler_totals, crawler_sources = counts_from_stats(stats)
        for key, value in crawler_totals.items():
            totals[key] = totals.get(key, 0) + value
        for sid, values in crawler_sources.items():
            per_source.setdefault(sid, {k: 0 for k in KEYS}).update(values)
    # A distributed worker sees only its share: a source another worker listed is no failure.
    distributed = bool(crawl_conf.get("NIANBAO_RUN"))
    failed = [] if distributed else [s.id for s in sources if not per_source[s.id].get("pages")]
    summary = CrawlSummary(
        crawl_id,
        len(sources),
        totals,
        {k: v for k, v in per_source.items() if k in {s.id for s in sources}},
        failed,
        resumed=resumed,
    )
    if fatal:
        summary.fatal = fatal
    elif failed and len(failed) == len(sources):
        summary.fatal = (
            f"all {len(sources)} sources failed: no list page could be fetched "
            f"({totals.get('errors', 0)} errors, {totals.get('blocked', 0)} blocked)"
        )
    if summary.fatal:
        status = archive.FAILED
    elif all(r == "finished" for r in reasons):
        status = "finished"
    elif "shutdown" in reasons:
        status = archive.INTERRUPTED  # Ctrl-C / SIGTERM: the next run resumes it
    else:
        status = ",".join(reasons)
    try:
        _record_runs(db, summary, sources, status, list_links, monitor=not distributed)
        archive.finish_crawl(
            db,
            crawl_id,
            status,
            {**totals, "sources": per_source, "failed_sources": failed, "fatal": summary.fatal},
        )
        archive.set_crawl_fields(db, crawl_id, {"warnings": json.dumps(summary.warnings)})
    except sqlite3.Error as exc:
        # the row stays `running`; the next run marks it interrupted and resumes it
        summary.fatal = summary.fatal or f"cannot record the crawl in {db_path}: {exc}"
    return summary


def worker_settings(
    redis_url: str | None, run_name: str | None = None, worker: str | None = None
) -> dict:
    """Settings of a distributed worker (empty without a Redis URL); ValueError when bad."""
    if not redis_url:
        if run_name or worker:
            raise ValueError("--run-name and --worker go with --redis")
        return {}
    from crawler import distributed

    settings = distributed.redis_settings(
        redis_url,
        run_name or distributed.default_run_name(),
        worker or distributed.default_worker_name(),
    )
    _check_redis(redis_url)
    return settings


def _check_redis(redis_url: str) -> None:
    """Fail before the crawl starts when Redis does not answer."""
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        raise ValueError(f"cannot reach Redis at {redis_url}: {exc}") from exc


def _cut_unrecorded(db: Database, data_dir: str, crawl_id: int) -> None:
    """Records a killed crawl wrote without their captures row go; resuming fetches them."""
    root = Path(data_dir)
    for path in sorted((root / "warc").glob(f"crawl{crawl_id:05d}-*.warc.gz")):
        name = path.relative_to(root).as_posix()
        recorded = {
            r[0]
            for r in db.execute(
                "SELECT warc_record_id FROM captures WHERE warc_file = ?", [name]
            ).fetchall()
        }
        cut = cut_unrecorded_tail(path, recorded)
        if cut:
            print(f"crawl {crawl_id}: {cut} bytes of records without a capture row cut from {name}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


# monitoring thresholds: an error spike is at least this many errors and more than twice the
# previous run's (or, on a first run, more than half of the requests)
SPIKE_MIN_ERRORS = 3


def source_warnings(
    db: Database, crawl_id: int, source_id: str, counts: dict[str, int], links: dict[str, int]
) -> list[str]:
    """Why a source needs attention after this run (empty when it looks healthy)."""
    warnings = []
    if not counts.get("pages"):
        warnings.append("no list page could be fetched")
    elif not counts.get("reports"):
        warnings.append(f"no reports found on {counts.get('pages', 0)} list pages")
    errors = counts.get("errors", 0)
    previous = archive.previous_run(db, source_id, crawl_id)
    if errors >= SPIKE_MIN_ERRORS:
        if previous is not None and errors > 2 * (previous["errors"] or 0):
            warnings.append(f"error spike: {errors} errors (previous run {previous['errors']})")
        elif previous is None and 2 * errors > counts.get("fetched", 0):
            warnings.append(f"error spike: {errors} errors in {counts.get('fetched', 0)} requests")
    for url, n in sorted(links.items()):
        before = archive.previous_links(db, url, crawl_id)
        if n == 0 and before:
            warnings.append(f"list page no longer parses: {url} had {before} report links, now 0")
    if counts.get("capped"):
        warnings.append("max_pages reached: list pages left unread")
    if counts.get("capped_reports"):
        warnings.append(f"report cap reached: {counts['capped_reports']} report links not followed")
    if counts.get("capped_attachments"):
        warnings.append(
            f"attachment cap reached: {counts['capped_attachments']} attachment links not followed"
        )
    return warnings


def _record_runs(
    db,
    summary: CrawlSummary,
    sources: list[Source],
    status: str,
    list_links: dict,
    monitor: bool = True,
) -> None:
    """One crawl_runs row per source with its counts and warnings, and the list-page links.

    A distributed worker (monitor False) sees only its share of each source: no warnings."""
    crawl_id = summary.crawl_id
    started = next(iter(db.query("SELECT started_at FROM crawls WHERE id = ?", [crawl_id])))
    rows, link_rows = [], []
    for source in sources:
        counts = summary.per_source.get(source.id, {})
        links = {url: n for url, (sid, n) in list_links.items() if sid == source.id}
        warnings = source_warnings(db, crawl_id, source.id, counts, links) if monitor else []
        summary.warnings.extend(f"{source.id}: {w}" for w in warnings)
        rows.append(
            {
                "crawl_id": crawl_id,
                "source_id": source.id,
                "started_at": started["started_at"],
                "finished_at": archive.now(),
                "status": status,
                **{
                    key: counts.get(key, 0)
                    for key in (
                        "captures",
                        "pages",
                        "reports",
                        "attachments",
                        "new",
                        "changed",
                        "unchanged",
                        "deleted",
                        "errors",
                        "blocked",
                    )
                },
                "capped": counts.get("capped", 0)
                + counts.get("capped_reports", 0)
                + counts.get("capped_attachments", 0),
                "warnings": "; ".join(warnings) or None,
            }
        )
        link_rows += [
            {"crawl_id": crawl_id, "source_id": source.id, "url": url, "links": n}
            for url, n in links.items()
        ]
    archive.record_crawl_runs(db, rows, link_rows)


def _parse_set(values: Iterable[str]) -> dict:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans)."""
    result = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs KEY=VALUE, got {item!r}")
        try:
            result[key] = json.loads(value)
        except json.JSONDecodeError:
            result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("--sources", help="sources file (default crawler/sources.yml)")
    parser.add_argument("--only", action="append", default=[], help="source id (repeatable)")
    parser.add_argument("--demo-port", type=int, help="crawl the demo sources moved to this port")
    parser.add_argument("--db", default=os.environ.get("NIANBAO_DB", "archive.db"))
    parser.add_argument("--data-dir", default=os.environ.get("NIANBAO_DATA_DIR", "data"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a Scrapy setting for this crawl",
    )
    parser.add_argument("--redis", help="share the frontier with other workers (redis:// URL)")
    parser.add_argument("--run-name", help="with --redis: the crawl the workers share")
    parser.add_argument("--worker", help="with --redis: this worker's name")
    args = parser.parse_args(argv)
    try:
        overrides = worker_settings(args.redis, args.run_name, args.worker)
    except ValueError as exc:
        print(f"crawler.run: error: {exc}", file=sys.stderr)
        return 1
    try:
        if args.demo_port is not None:
            from crawler.demo.server import demo_sources

            sources = demo_sources(args.demo_port)
        else:
            sources = load_sources(args.sources) if args.sources else load_sources()
    except SourceError as exc:
        print(f"crawler.run: error: {exc}", file=sys.stderr)
        return 1
    if args.only:
        sources = [s for s in sources if s.id in set(args.only)]
    summary = run_crawl(sources, args.db, args.data_dir, {**overrides, **_parse_set(args.set)})
    print("\n".join(summary.lines()))
    if summary.fatal:
        print(f"crawler.run: error: {summary.fatal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
