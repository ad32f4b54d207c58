"""What every family spider shares: list -> report -> attachments, with spider-trap guards.

The spiders only route: parsing lives in crawler/parsing.py. Each request carries
meta role (list | report | attachment), source_id and, below a report page, parent_capture;
a report request followed from a list also carries that entry's list_title and list_date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import parsing
from crawler.scope import source_hosts
from crawler.sources import DEFAULT_SOURCES, Source, load_sources
from crawler.urls import canonical_url, host_allowed, url_key

HTML_TYPES = (
    b"text/html",
    b"application/xhtml",
    b"text/xml",
    b"application/xml",
    b"text/plain",
    b"application/json",  # list APIs (TRS list2.trsapi) answer JSON
    b"text/json",
)


def select_sources(
    cms: str,
    sources: Iterable[Source] | None,
    sources_file: str | None,
    ids: str | Iterable[str] | None,
) -> dict[str, Source]:
    """The sources of one CMS family, from objects or a sources file, optionally by id."""
    if sources is None:
        sources = load_sources(sources_file or DEFAULT_SOURCES)
    chosen = [s for s in sources if s.cms == cms]
    if ids:
        wanted = set(ids.split(",")) if isinstance(ids, str) else set(ids)
        chosen = [s for s in chosen if s.id in wanted]
    return {s.id: s for s in chosen}


class PortalSpider(scrapy.Spider):
    """Base spider; subclasses set `name` and `cms`."""

    cms = ""

    def __init__(
        self,
        sources: Iterable[Source] | None = None,
        sources_file: str | None = None,
        ids: str | Iterable[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sources: dict[str, Source] = select_sources(self.cms, sources, sources_file, ids)
        self.page_cap: int | None = None
        self.attachment_cap = 50  # NIANBAO_MAX_ATTACHMENTS: links followed per report page
        self.report_cap = 5000  # NIANBAO_MAX_REPORTS: report pages per source
        self.list_budget: Counter[str] = Counter()  # list requests scheduled per source
        self.queued: Counter[str] = Counter()  # report requests scheduled per source
        self.seen: dict[str, set[str]] = {sid: set() for sid in self.sources}
        self.capped: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.page_cap = crawler.settings.getint("NIANBAO_MAX_PAGES") or None
        spider.attachment_cap = crawler.settings.getint("NIANBAO_MAX_ATTACHMENTS", 50)
        spider.report_cap = crawler.settings.getint("NIANBAO_MAX_REPORTS", 5000)
        return spider

    def max_pages(self, source: Source) -> int:
        """Per-source max_pages, capped by NIANBAO_MAX_PAGES when set."""
        return min(source.max_pages, self.page_cap) if self.page_cap else source.max_pages

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources.values():
            for url in source.start_urls:
                request = self._list_request(
                    source, parsing.ListRequest(canonical_url(url)), None, start=True
                )
                if request is not None:
                    yield request

    # --- requests ------------------------------------------------------------------------

    def _list_request(
        self,
        source: Source,
        page: parsing.ListRequest,
        inherited_form: tuple | None,
        start: bool = False,
    ) -> scrapy.Request | None:
        form = inherited_form if page.inherit_form else page.form
        key = f"{page.method} {url_key(page.url)} {form or ''}"
        if key in self.seen[source.id]:
            return None
        if self.list_budget[source.id] >= self.max_pages(source):
            if source.id not in self.capped:
                self.capped.add(source.id)
                self.logger.warning(
                    "%s: max_pages (%d) reached, not following %s",
                    source.id,
                    self.max_pages(source),
                    page.url,
                )
            self.crawler.stats.inc_value(f"nianbao/source/{source.id}/capped")
            return None
        self.seen[source.id].add(key)
        self.list_budget[source.id] += 1
        meta = {"role": "list", "source_id": source.id, "list_form": form, "start": start}
        if page.method == "POST":
            return scrapy.FormRequest(
                page.url,
                formdata=dict(form or ()),
                meta=meta,
                callback=self.parse_list,
                errback=self.failed,
            )
        return scrapy.Request(page.url, meta=meta, callback=self.parse_list, errback=self.failed)

    def _report_request(
        self,
        source: Source,
        url: str,
        parent: int | None = None,
        continuation_of: str | None = None,
        parent_record: str | None = None,
        entry: parsing.Link | None = None,
    ) -> scrapy.Request | None:
        key = url_key(url)
        if key in self.seen[source.id]:
            return None
        self.seen[source.id].add(key)
        if self.queued[source.id] >= self.report_cap:
            self.logger.warning(
                "%s: report cap (%d) reached, not following %s", source.id, self.report_cap, url
            )
            self.crawler.stats.inc_value(f"nianbao/source/{source.id}/capped_reports")
            return None
        self.queued[source.id] += 1
        self.crawler.stats.inc_value(f"nianbao/source/{source.id}/queued_reports")
        meta = {"role": "report", "source_id": source.id}
        if entry is not None:
            # the list entry's title and date, stored with the capture (captures.list_title/date)
            meta["list_title"] = entry.text or None
            meta["list_date"] = entry.date or None
        if parent is not None:
            meta["parent_capture"] = parent
            meta["parent_record"] = parent_record
            meta["continuation_of"] = continuation_of
        return scrapy.Request(url, meta=meta, callback=self.parse_report, errback=self.failed)

    # --- callbacks -----------------------------------------------------------------------

    def _usable(self, response: Response) -> bool:
        if response.meta.get("blocked"):
            # Recorded as blocked by the capture middleware; never read as "no report".
            return False
        ctype = response.headers.get("Content-Type", b"").lower()
        return not ctype or ctype.startswith(HTML_TYPES)

    # Callbacks return lists, not generators: Scrapy re-reads a generator callback's source
    # (inspect + ast) for every response to warn about `return value`.
    def parse_list(self, response: Response) -> list[scrapy.Request]:
        source = self.sources[response.meta["source_id"]]
        if not self._usable(response):
            return []
        out: list[scrapy.Request] = []
        result = parsing.parse_list(
            response.body,
            response.url,
            self.cms,
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            encoding=source.encoding,
            report_url_pattern=source.report_url_pattern,
        )
        # links per list page, for the monitoring (a layout that stops parsing: 0 after some)
        links = self.crawler.stats.get_value("nianbao/list_links") or {}
        links[response.url] = (source.id, len(result.reports))
        self.crawler.stats.set_value("nianbao/list_links", links)
        # Scope is decided by crawler.scope.SourceOffsiteMiddleware, which records refusals.
        in_scope = 0
        hosts = source_hosts(source, "report")
        for link in result.reports:
            request = self._report_request(source, link.url, entry=link)
            if request is not None:
                in_scope += host_allowed(link.url, hosts)
                out.append(request)
        # A column found on a start page (e.g. the portal's 政务公开 page) is crawled as a start.
        if response.meta.get("start"):
            for link in result.columns:
                request = self._list_request(
                    source, parsing.ListRequest(link.url), None, start=True
                )
                if request is not None:
                    out.append(request)
        # Trap guard: a page that adds no report on the source's hosts ends pagination here.
        if not in_scope and not response.meta.get("start"):
            self.logger.debug(
                "%s: no new reports on %s, not paginating further", source.id, response.url
            )
            return out
        for page in result.pages:
            request = self._list_request(source, page, response.meta.get("list_form"))
            if request is not None:
                out.append(request)
        return out

    def parse_report(self, response: Response) -> list[scrapy.Request]:
        source = self.sources[response.meta["source_id"]]
        if not self._usable(response):
            # a document (PDF ...) linked as the report itself: archived, nothing to follow
            return []
        detail = parsing.parse_detail(
            response.body,
            response.url,
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            encoding=source.encoding,
        )
        capture = response.meta.get("capture_id")
        record = response.meta.get("record_id")
        if len(detail.attachments) > self.attachment_cap:
            self.logger.warning(
                "%s: %d attachment links on %s, following the first %d",
                source.id,
                len(detail.attachments),
                response.url,
                self.attachment_cap,
            )
            self.crawler.stats.inc_value(
                f"nianbao/source/{source.id}/capped_attachments",
                len(detail.attachments) - self.attachment_cap,
            )
        out = [
            scrapy.Request(
                link.url,
                callback=self.parse_attachment,
                errback=self.failed,
                meta={
                    "role": "attachment",
                    "source_id": source.id,
                    "parent_capture": capture,
                    "parent_record": record,
                },
            )
            for link in detail.attachments[: self.attachment_cap]
        ]
        # Continuations hang off the first page of the article, whichever page names them.
        first_url = response.meta.get("continuation_of") or response.url
        continued = bool(response.meta.get("continuation_of"))
        first_capture = response.meta.get("parent_capture") if continued else capture
        first_record = response.meta.get("parent_record") if continued else record
        for url in detail.continuations:
            request = self._report_request(source, url, first_capture, first_url, first_record)
            if request is not None:
                out.append(request)
        return out

    def parse_attachment(self, response: Response):
        """Attachments are archived by the capture middleware; nothing to follow."""
        return None

    def failed(self, failure: Failure):
        """Failures are recorded by the capture middleware; keep the log short here."""
        request = failure.request
        self.logger.info(
            "%s %s failed: %s",
            request.meta.get("role"),
            request.url,
            failure.getErrorMessage() or failure.type.__name__,
        )
