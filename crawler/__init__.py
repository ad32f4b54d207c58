"""Scrapy project of nianbao: crawls the annual-report columns of government portals."""
