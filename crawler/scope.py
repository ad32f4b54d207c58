"""Crawl scope: a source fetches only from the hosts it names, and never from private addresses.

Scrapy's OffsiteMiddleware does the host filtering; our `should_follow` asks the request's source
(its start-URL hosts and `allowed_domains`, plus `attachment_domains` below a list page).
PrivateAddressMiddleware resolves the hosts of sources without `allow_private` (or `demo`) and
refuses them when any address is loopback, private, link-local or otherwise not global (a portal
must not make us reach an internal service). Redirects are new requests and pass through both
again. Refusals raise `ScopeRefused`, which the capture middleware records in fetch_errors with
the reason.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.sources import Source
from crawler.urls import address_problem, host_allowed, host_of

logger = logging.getLogger(__name__)

OFFSITE = "offsite"
PRIVATE = "private_address"
ROBOTS_META = "dont_obey_robotstxt"  # set by Scrapy's RobotsTxtMiddleware on robots.txt requests


class ScopeRefused(IgnoreRequest):
    """A request outside its source's scope; `kind` is `offsite` or `private_address`."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def source_hosts(source: Source, role: str | None) -> tuple[str, ...]:
    """Hosts a request of `role` may go to: list pages stay on the portal's own hosts."""
    if role == "list":
        return source.domains
    return source.domains + source.attachment_domains


def _resolve(host: str) -> list[str]:
    """Every address the host name resolves to ([] when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # the download itself fails and records the DNS error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def source_of_request(spider: Spider | None, request: Request) -> Source | None:
    """The request's source (meta source_id), or for robots.txt the first source naming the host."""
    sources: dict[str, Source] = getattr(spider, "sources", None) or {}
    source_id = request.meta.get("source_id")
    if source_id:
        return sources.get(source_id)
    if request.meta.get(ROBOTS_META):
        for source in sources.values():
            if host_allowed(request.url, source_hosts(source, "robots")):
                return source
    return None


class SourceOffsiteMiddleware(OffsiteMiddleware):
    """OffsiteMiddleware whose allowed hosts are those of each request's source.

    Checked when the request is downloaded rather than when it is scheduled, so that a refusal
    goes through the downloader middlewares' process_exception and is recorded.
    """

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        return None

    def refusal(self, request: Request, spider: Spider | None) -> str | None:
        """Why the request's host is outside its source, or None when it is inside."""
        source = source_of_request(spider, request)
        host = host_of(request.url)
        if source is None:
            return f"{host or request.url} belongs to no source of this crawl"
        hosts = source_hosts(source, request.meta.get("role"))
        if host_allowed(request.url, hosts):
            return None
        return _via_redirect(
            request, f"{host} is not a host of source {source.id} ({', '.join(hosts)})"
        )

    def should_follow(self, request: Request, spider: Spider) -> bool:
        return self.refusal(request, spider) is None

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        try:
            super().process_request(request)
        except IgnoreRequest:
            why = self.refusal(request, self.crawler.spider) or "off-site"
            logger.info("refused (%s) %s", why, request.url)
            raise ScopeRefused(OFFSITE, why) from None


def _via_redirect(request: Request, why: str) -> str:
    redirects = request.meta.get("redirect_urls")
    return f"redirect from {redirects[-1]} refused: {why}" if redirects else why


class PrivateAddressMiddleware:
    """Refuse hosts that are or resolve to non-global addresses, unless the source allows them.

    Runs after SourceOffsiteMiddleware; each host is looked up once per crawl, off the reactor
    thread. (A host that changes its answer between this lookup and the download is not caught.)
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.addresses: dict[str, str | None] = {}  # host -> why refused (None: fine)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        source = source_of_request(self.crawler.spider, request)
        if source is None or source.private_ok:
            return None
        host = urlsplit(request.url).hostname or ""
        if host not in self.addresses:
            self.addresses[host] = await self._address_refusal(host)
        problem = self.addresses[host]
        if problem is None:
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("offsite/private_address")
        why = _via_redirect(request, problem) + f"; source {source.id} is not marked allow_private"
        logger.warning("refused (%s) %s", why, request.url)
        raise ScopeRefused(PRIVATE, why)

    async def lookup(self, host: str) -> list[str]:
        """The host's addresses, resolved off the reactor thread."""
        return await maybe_deferred_to_future(deferToThread(_resolve, host))

    async def _address_refusal(self, host: str) -> str | None:
        """Why the host's addresses are off limits for a real portal, or None."""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            pass
        else:
            return address_problem(host)
        for address in await self.lookup(host):
            problem = address_problem(address)
            if problem:
                return f"{host} resolves to {problem}"
        return None


__all__ = [
    "OFFSITE",
    "PRIVATE",
    "ScopeRefused",
    "PrivateAddressMiddleware",
    "SourceOffsiteMiddleware",
    "source_hosts",
    "source_of_request",
]
