"""URL canonicalisation and spider-trap rules (pure functions, no I/O).

w3lib does the escaping (`safe_url_string`, as Scrapy does for every request) and the dedup key
(`canonicalize_url`, as Scrapy's request fingerprints do). Session ids and calendar parameters
are ours: w3lib's `url_query_cleaner` only drops fixed names, these depend on case, prefixes
(ASPSESSIONIDxxxx) and values. The query order of a fetched URL is kept (portals may care).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

# Session ids some CMSs glue onto every link; they make one page look like many.
SESSION_PATH_PARAM = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.I)
SESSION_QUERY_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "sid",
        "sessionid",
        "session_id",
        "aspsessionid",
        "cfid",
        "cftoken",
    }
)
# Calendar widgets link every day/month of every year: drop those parameters so the links
# collapse onto the page they decorate.
CALENDAR_PARAMS = frozenset({"date", "day", "month", "calendar", "cal", "ym", "yearmonth", "rq"})
CALENDAR_VALUE = re.compile(r"^\d{4}(-\d{1,2}){0,2}$|^\d{6,8}$")
# `year` only counts as a calendar loop when it comes with month or day.
CALENDAR_COMPANIONS = frozenset({"month", "day", "date"})


def _is_session_param(name: str) -> bool:
    lower = name.lower()
    return lower in SESSION_QUERY_PARAMS or lower.startswith("aspsessionid")


def _is_calendar_param(name: str, value: str, names: set[str]) -> bool:
    lower = name.lower()
    if lower in CALENDAR_PARAMS and (CALENDAR_VALUE.match(value) or value.isdigit()):
        return True
    return lower == "year" and bool(names & CALENDAR_COMPANIONS) and value.isdigit()


# Pure and called several times per URL (list entry, request, dedup, parents): cached.
@lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """The URL to fetch: escaped by w3lib, without fragment, session ids, calendar parameters
    and default port; host lower-cased."""
    parts = urlsplit(safe_url_string(url.strip()))
    path = SESSION_PATH_PARAM.sub("", parts.path) or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = {k.lower() for k, _ in pairs}
    kept = [
        (k, v) for k, v in pairs if not _is_session_param(k) and not _is_calendar_param(k, v, names)
    ]
    query = urlencode(kept, safe="/:,") if kept != pairs else parts.query
    netloc = parts.netloc.lower()
    for scheme, port in (("http", ":80"), ("https", ":443")):
        if parts.scheme == scheme and netloc.endswith(port):
            netloc = netloc[: -len(port)]
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


@lru_cache(maxsize=65536)
def url_key(url: str) -> str:
    """Dedup key of a URL: w3lib's canonical form (sorted query, normalised escapes)."""
    return canonicalize_url(canonical_url(url))


@lru_cache(maxsize=65536)
def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_allowed(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """True when the URL's host is one of `domains` or a subdomain of one."""
    host = host_of(url)
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains if d)


def address_problem(address: str) -> str | None:
    """Why an IP address must not be fetched for a real portal, or None when it is global."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return f"{label} address {ip}"
    return None


__all__ = ["address_problem", "canonical_url", "host_allowed", "host_of", "url_key"]
