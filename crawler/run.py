"""Run one crawl: every CMS family's spider in one CrawlerProcess, recorded as one crawls row.

`run_crawl` starts the Twisted reactor, which cannot be restarted: call it once per process
(the `nianbao` CLI does). `python -m crawler.run` runs it in a fresh process, e.g. from tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.internet.error import ReactorNotRestartable

from crawler.progress import KEYS, counts_from_stats
from crawler.sources import Source, SourceError, load_sources
from crawler.spiders.base import PortalSpider
from crawler.spiders.generic import GenericSpider
from crawler.spiders.hanweb import HanwebSpider
from crawler.spiders.trs import TrsSpider
from postprocess.storage import db as archive

SPIDERS: dict[str, type[PortalSpider]] = {
    "trs": TrsSpider,
    "hanweb": HanwebSpider,
    "generic": GenericSpider,
}


@dataclass
class CrawlSummary:
    crawl_id: int | None
    sources: int
    totals: dict[str, int] = field(default_factory=dict)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_sources: list[str] = field(default_factory=list)
    fatal: str | None = None

    def line(self) -> str:
        t = self.totals
        text = (
            f"crawl {self.crawl_id if self.crawl_id is not None else '-'}: "
            f"{self.sources} sources, {t.get('pages', 0)} pages, {t.get('reports', 0)} "
            f"reports, {t.get('attachments', 0)} attachments, {t.get('errors', 0)} errors"
        )
        if t.get("blocked"):
            text += f" ({t['blocked']} blocked)"
        if self.failed_sources:
            text += f"; no list page from {', '.join(self.failed_sources)}"
        return text


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
    if not sources:
        return CrawlSummary(None, 0, fatal="no sources to crawl")
    problem = _check_data_dir(data_dir)
    if problem:
        return CrawlSummary(None, len(sources), fatal=problem)
    try:
        db = archive.open_db(db_path)
        archive.upsert_sources(db, [s.as_row() for s in sources])
        crawl_id = archive.start_crawl(db, [s.id for s in sources])
    except (sqlite3.Error, OSError) as exc:
        return CrawlSummary(None, len(sources), fatal=f"cannot open {db_path}: {exc}")

    crawl_conf = crawl_settings(db_path, data_dir, crawl_id, settings)
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
    for cms, spider_cls in SPIDERS.items():
        family = [s for s in sources if s.cms == cms]
        if family:
            crawler = process.create_crawler(spider_cls)
            crawlers.append(crawler)
            process.crawl(crawler, sources=family)
    try:
        process.start()
    except ReactorNotRestartable as exc:
        raise RuntimeError(
            "run_crawl runs once per process (Twisted's reactor cannot restart); "
            "use `python -m crawler.run` for another crawl"
        ) from exc

    totals = {k: 0 for k in KEYS}
    per_source: dict[str, dict[str, int]] = {s.id: {k: 0 for k in KEYS} for s in sources}
    reasons = []
    for crawler in crawlers:
        stats = crawler.stats.get_stats()
        reasons.append(stats.get("finish_reason", "unknown"))
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
    )
    if failed and len(failed) == len(sources):
        summary.fatal = (
            f"all {len(sources)} sources failed: no list page could be fetched "
            f"({totals.get('errors', 0)} errors, {totals.get('blocked', 0)} blocked)"
        )
    status = (
        "failed"
        if summary.fatal
        else ("finished" if all(r == "finished" for r in reasons) else ",".join(reasons))
    )
    archive.finish_crawl(
        db, crawl_id, status, {**totals, "sources": per_source, "failed_sources": failed}
    )
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
    print(summary.line())
    if summary.fatal:
        print(f"crawler.run: error: {summary.fatal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
