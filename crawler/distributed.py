"""Distributed crawls: several worker processes share one frontier and dedup filter in Redis.

scrapy-redis provides the shared priority queue and request-fingerprint set. What it lacks for
us is a clean end: a worker whose queue is momentarily empty would close while a peer is still
parsing a list page that will enqueue more reports. `PeerScheduler` keeps a worker open while
the shared queue has requests or any peer is busy (a heartbeat key with a short TTL, so a
crashed peer stops counting after `NIANBAO_PEER_TTL` seconds).

Every worker records its own `crawls` row and writes its own WARC files (named by crawl id), so
captures from all workers land in one archive without two processes sharing a file.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import UTC, datetime

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

KEY_PREFIX = "nianbao"
DEFAULT_PEER_TTL = 60
POLL_SECONDS = 0.5
# Finished runs leave their queue and fingerprints for a late worker to see, then expire.
KEEP_FINISHED_SECONDS = 7 * 24 * 3600
RUN_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class DistributedError(ValueError):
    """A bad --redis URL or run name."""


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def default_run_name() -> str:
    """Workers started for the same scheduled crawl agree on the day by default."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def redis_settings(redis_url: str, run: str, worker: str) -> dict[str, object]:
    """Scrapy settings that put this process's scheduler and dedup filter in Redis."""
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise DistributedError(f"--redis must be a redis:// URL, got {redis_url!r}")
    if not RUN_NAME.match(run):
        raise DistributedError(f"run name must be 1-64 of A-Z a-z 0-9 _ . : -, got {run!r}")
    namespace = f"{KEY_PREFIX}:{run}:%(spider)s"
    return {
        "SCHEDULER": "crawler.distributed.PeerScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{namespace}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{namespace}:dupefilter",
        # The first worker to finish must not flush the frontier its peers still use.
        "SCHEDULER_PERSIST": True,
        # A blocking pop would stall Twisted's reactor.
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "REDIS_URL": redis_url,
        "NIANBAO_RUN": run,
        "NIANBAO_WORKER": worker,
        # JOBDIR keeps a local queue on disk: the frontier lives in Redis instead.
        "JOBDIR": None,
    }


class _Stats:
    """Crawler stats for scrapy-redis, which still passes the deprecated `spider` argument."""

    def __init__(self, stats):
        self._stats = stats

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: object = None) -> None:
        self._stats.inc_value(key, count, start)


class PeerScheduler(Scheduler):
    """scrapy-redis scheduler that closes only when the shared frontier is drained."""

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PeerScheduler:
        instance = super().from_crawler(crawler)
        instance.stats = _Stats(crawler.stats)
        instance.crawler = crawler
        instance.worker = crawler.settings.get("NIANBAO_WORKER") or default_worker_name()
        instance.peer_ttl = crawler.settings.getint("NIANBAO_PEER_TTL", DEFAULT_PEER_TTL)
        instance._poll = None
        crawler.signals.connect(instance._on_idle, signal=signals.spider_idle)
        return instance

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.busy_prefix = self.queue.key.rsplit(":", 1)[0] + ":busy:"
        self._mark_busy()

    def _busy_key(self) -> str:
        return self.busy_prefix + self.worker

    def _mark_busy(self) -> None:
        self.server.set(self._busy_key(), "1", ex=self.peer_ttl)

    def next_request(self):
        # Busy before the pop: a peer that checks in between must not see us idle.
        self._mark_busy()
        request = super().next_request()
        if request is None:
            self.server.delete(self._busy_key())
        return request

    def _busy_peers(self) -> list[str]:
        mine = self._busy_key()
        keys = self.server.keys(self.busy_prefix + "*")
        return [k for k in keys if (k.decode() if isinstance(k, bytes) else k) != mine]

    def _on_idle(self, spider: Spider) -> None:
        self.server.delete(self._busy_key())
        if len(self.queue):
            raise DontCloseSpider
        if self._busy_peers():
            self.crawler.stats.inc_value("nianbao/distributed/waited_for_peers")
            self._watch_queue()
            raise DontCloseSpider

    def _watch_queue(self) -> None:
        """While peers are busy, look at the shared queue every POLL_SECONDS: the engine itself
        would only look again at its next heartbeat (seconds later)."""
        if self._poll is None or not self._poll.running:
            self._poll = task.LoopingCall(self._wake_if_queued)
            self._poll.start(POLL_SECONDS, now=False)

    def _wake_if_queued(self) -> None:
        if not len(self.queue):
            if not self._busy_peers() and self._poll is not None:
                self._poll.stop()  # the next idle check closes the spider
            return
        request = self.queue.pop()
        if self._poll is not None:
            self._poll.stop()
        if request is not None:
            # Handing it back through the engine wakes it; the request passed the shared dedup
            # filter when a peer first queued it.
            request.dont_filter = True
            self.crawler.engine.crawl(request)

    def close(self, reason: str) -> None:
        if self._poll is not None and self._poll.running:
            self._poll.stop()
        self.server.delete(self._busy_key())
        for key in (self.queue.key, self.df.key):
            self.server.expire(key, KEEP_FINISHED_SECONDS)
        super().close(reason)
