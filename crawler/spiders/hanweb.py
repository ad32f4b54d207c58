"""Hanweb (大汉) portals: /col/col<id>/ lists with jpage records and POST dataproxy.jsp pages."""

from crawler.spiders.base import PortalSpider


class HanwebSpider(PortalSpider):
    name = "hanweb"
    cms = "hanweb"
