"""The progress extension: Scrapy stats read back per source, LogStats-style lines, off at 0."""

from __future__ import annotations

import logging

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.progress import CrawlProgress, count, counts_from_stats
from crawler.spiders.trs import TrsSpider


def test_progress_off_when_interval_is_zero() -> None:
    with pytest.raises(NotConfigured):
        CrawlProgress.from_crawler(get_crawler(TrsSpider, {"NIANBAO_PROGRESS_INTERVAL": 0}))


def test_progress_lines_from_scrapy_stats(caplog: pytest.LogCaptureFixture) -> None:
    crawler = get_crawler(TrsSpider, {"NIANBAO_PROGRESS_INTERVAL": 30})
    crawler.stats.open_spider()
    extension = CrawlProgress.from_crawler(crawler)
    spider = TrsSpider(sources=[])
    count(crawler.stats, "yuci", "pages", 3)
    count(crawler.stats, "yuci", "captures", 10)
    count(crawler.stats, "jiuquan", "reports", 2)
    count(crawler.stats, "jiuquan", "captures", 5)
    totals, per_source = counts_from_stats(crawler.stats.get_stats())
    assert (totals["captures"], totals["pages"], totals["reports"]) == (15, 3, 2)
    assert per_source["yuci"]["captures"] == 10 and per_source["jiuquan"]["reports"] == 2
    with caplog.at_level(logging.INFO, logger="crawler.progress"):
        extension.report(spider)
        extension.spider_closed(spider, "finished")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "progress trs: 3 list pages, 2 reports, 0 attachments, 0 errors, 15 captures (30/min)",
        "done trs: 3 list pages, 2 reports, 0 attachments, 0 errors, 15 captures (finished)",
        "  jiuquan: captures 5, reports 2",
        "  yuci: captures 10, pages 3",
    ]
