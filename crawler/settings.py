"""Scrapy settings of the nianbao crawler (scrapy.cfg points here).

Configuration flows one way: these polite defaults -> per-source fields of sources.yml
(max_pages, encoding, report_url_pattern, allowed/attachment domains) -> a few environment
variables (NIANBAO_*) -> settings passed by `crawler.run.run_crawl`.
"""

from __future__ import annotations

import os


def _env_number(name: str, default, cast=int, what: str = "a whole number"):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be {what}, got {value!r}") from exc


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- where the archive goes ------------------------------------------------------------------
NIANBAO_DB = os.environ.get("NIANBAO_DB", "archive.db")
NIANBAO_DATA_DIR = os.environ.get("NIANBAO_DATA_DIR", "data")
NIANBAO_CRAWL_ID = None  # set by crawler.run; a bare `scrapy crawl` opens its own crawl row
# Caps every source's max_pages when set (e.g. for a quick look at a new source).
NIANBAO_MAX_PAGES = _env_int("NIANBAO_MAX_PAGES", 0) or None
NIANBAO_PROGRESS_INTERVAL = _env_float("NIANBAO_PROGRESS_INTERVAL", 10.0)
# Bounded work: attachment links followed per report page, report pages per source.
NIANBAO_MAX_ATTACHMENTS = _env_int("NIANBAO_MAX_ATTACHMENTS", 50)
NIANBAO_MAX_REPORTS = _env_int("NIANBAO_MAX_REPORTS", 5000)
# Re-crawls send If-None-Match / If-Modified-Since from the last capture (false: fetch every body).
NIANBAO_REVALIDATE = True
# Captures rows are committed in batches, after one fsync of the batch's WARC records: a kill
# loses (and the resumed crawl fetches again) at most this many rows or seconds of captures.
NIANBAO_CAPTURE_BATCH = _env_int("NIANBAO_CAPTURE_BATCH", 100)
NIANBAO_CAPTURE_BATCH_SECONDS = _env_float("NIANBAO_CAPTURE_BATCH_SECONDS", 1.0)

# --- politeness ------------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = (
    "nianbao/0.1 (+https://github.com/nianbao/nianbao; archive of government disclosure reports)"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9",
}
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = _env_float("NIANBAO_DOWNLOAD_DELAY", 1.0)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = _env_float("NIANBAO_AUTOTHROTTLE_START_DELAY", 2.0)
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = True  # some portals need the session cookie of the list for its dataproxy

# --- robustness ------------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = _env_int("NIANBAO_DOWNLOAD_TIMEOUT", 60)
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_MAXSIZE = 200 * 1024 * 1024  # also caps decompressed size (zip bombs)
DOWNLOAD_WARNSIZE = 32 * 1024 * 1024
# List pages chain (dataproxy groups, 下一页); the per-source max_pages cap bites first.
DEPTH_LIMIT = _env_int("NIANBAO_DEPTH_LIMIT", 60)
DEPTH_PRIORITY = 0
REDIRECT_MAX_TIMES = 10
METAREFRESH_IGNORE_TAGS = ["noscript"]
HTTPERROR_ALLOW_ALL = False
DUPEFILTER_CLASS = "scrapy.dupefilters.RFPDupeFilter"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = os.environ.get("NIANBAO_LOG_LEVEL", "INFO")

# --- components ------------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's OffsiteMiddleware with per-source hosts (crawler/scope.py); before robots.txt
    # (100), so off-scope hosts are not even asked for their robots.txt
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.scope.SourceOffsiteMiddleware": 50,
    "crawler.scope.PrivateAddressMiddleware": 55,
    # closest to the downloader: sees robots.txt, 3xx before redirects, 5xx before retries
    "crawler.middlewares.CaptureMiddleware": 950,
}
EXTENSIONS = {
    "crawler.progress.CrawlProgress": 500,
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Scrapy starts this many asyncio tasks for every response to work through what its callback
# returned, however little that is (Scrapy's default 100 cost a tenth of a crawl's CPU,
# benchmarks/crawl_overhead.py). Our callbacks return a few requests and no items (no item
# pipeline): 4 workers take them as fast as 100.
CONCURRENT_ITEMS = 4
FEED_EXPORT_ENCODING = "utf-8"
