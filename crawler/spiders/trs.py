"""TRS WCM portals: index.html, index_1.html ... lists, t<date>_<id>.html articles."""

from crawler.spiders.base import PortalSpider


class TrsSpider(PortalSpider):
    name = "trs"
    cms = "trs"
