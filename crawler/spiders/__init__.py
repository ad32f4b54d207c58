"""One spider per CMS family; all share crawler.spiders.base.PortalSpider."""
