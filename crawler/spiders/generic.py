"""Any other CMS: ?page=N, pageNum=N, index_N.html, /N.html lists and 下一页/尾页 links."""

from crawler.spiders.base import PortalSpider


class GenericSpider(PortalSpider):
    name = "generic"
    cms = "generic"
