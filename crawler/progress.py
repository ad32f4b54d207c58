"""Per-source counters (kept in Scrapy's stats) and a one-line progress report every few seconds."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)

PREFIX = "nianbao/"
TOTAL = "total"
# The counters the summary reports; `captures` counts every archived response.
KEYS = (
    "captures",
    "pages",
    "reports",
    "attachments",
    "errors",
    "blocked",
    "offsite",
    "robots_forbidden",
)


# (total key, source key) per (source, counter): counted several times per response
_KEYS: dict[tuple[str | None, str], tuple[str, str]] = {}


def count(stats: StatsCollector, source_id: str | None, key: str, n: int = 1) -> None:
    """Add n to a source's counter and to the crawl total."""
    keys = _KEYS.get((source_id, key))
    if keys is None:
        keys = _KEYS[source_id, key] = (
            f"{PREFIX}{TOTAL}/{key}",
            f"{PREFIX}source/{source_id or '-'}/{key}",
        )
    inc = stats.inc_value
    inc(keys[0], n)
    inc(keys[1], n)


def counts_from_stats(stats: dict) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(totals, per-source counters) read back from a stats dict."""
    totals = {k: 0 for k in KEYS}
    per_source: dict[str, dict[str, int]] = {}
    for name, value in stats.items():
        if not name.startswith(PREFIX):
            continue
        parts = name[len(PREFIX) :].split("/")
        if parts[0] == TOTAL and len(parts) == 2:
            totals[parts[1]] = totals.get(parts[1], 0) + value
        elif parts[0] == "source" and len(parts) == 3:
            per_source.setdefault(parts[1], {k: 0 for k in KEYS})[parts[2]] = value
    return totals, per_source


def progress_line(name: str, totals: dict[str, int]) -> str:
    line = (
        f"{name}: {totals.get('pages', 0)} list pages, {totals.get('reports', 0)} reports, "
        f"{totals.get('attachments', 0)} attachments, {totals.get('errors', 0)} errors, "
        f"{totals.get('captures', 0)} captures"
    )
    if totals.get("offsite"):
        line += f", {totals['offsite']} refused (out of scope)"
    return line


class CrawlProgress:
    """LogStats for our counters: one progress line per spider every NIANBAO_PROGRESS_INTERVAL
    seconds and a per-source summary at the end; off (NotConfigured) when the interval is 0."""

    def __init__(self, crawler: Crawler, interval: float):
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.interval = interval
        self.task: Any = None
        self.previous = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        interval = crawler.settings.getfloat("NIANBAO_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("NIANBAO_PROGRESS_INTERVAL is 0")
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.task = create_looping_call(self.report, spider)
        self.task.start(self.interval, now=False)

    def report(self, spider: Spider) -> None:
        totals, _ = counts_from_stats(self.stats.get_stats())
        captures = totals.get("captures", 0)
        rate = (captures - self.previous) * 60.0 / self.interval
        self.previous = captures
        logger.info("progress %s (%d/min)", progress_line(spider.name, totals), rate)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        totals, per_source = counts_from_stats(self.stats.get_stats())
        logger.info("done %s (%s)", progress_line(spider.name, totals), reason)
        for source_id, values in sorted(per_source.items()):
            logger.info(
                "  %s: %s", source_id, ", ".join(f"{k} {v}" for k, v in values.items() if v)
            )
