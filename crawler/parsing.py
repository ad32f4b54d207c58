"""Pure parsers for list pages and report pages of the CMS families in spec/portals.md.

`parse_list(body, url, cms)` finds report links and further list pages; `parse_detail(body, url)`
finds attachments and continuation pages. Bytes are decoded by postprocess.storage.decode, the
decoder the build uses too. No I/O here: the spiders only route.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
from parsel import Selector

from crawler.urls import canonical_url, url_key
from postprocess.storage.decode import decode_html

# --- what a report link looks like ------------------------------------------------------------

# Title words of an annual report (simplified and traditional forms).
REPORT_WORDS = re.compile(
    r"年度报告|年报|年度報告|年報|工作报告|工作報告|信息公开.{0,6}(?:统计|情况)"
)
YEAR_IN_TITLE = re.compile(r"(?:19|20)\d{2}|[〇零一二][〇零一二三四五六七八九]{3}")
# Article URLs of the CMS families (spec/portals.md, "CMS families").
ARTICLE_PATTERNS = {
    "trs": re.compile(r"/t(?:19|20)\d{6}_\d+(?:_\d+)?(?:_wap)?\.s?html?$"),
    "hanweb": re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+(?:\.html)?$"),
    "hanweb_col": re.compile(r"/col/[\d_]+/art/\d{6}/\w+\.html$"),
    "gkmlpt": re.compile(r"/content/(?:\d+/\d+/)?post_\d+\.html$"),
    "kaipu": re.compile(r"/\d{6}/[0-9a-f]{32}\.s?html$"),
    "vsb": re.compile(r"/info/\d+/\d+\.htm$"),
    "aspnet": re.compile(r"/(?:article_view\.aspx\?aid|PublicDetail\.aspx\?id)=\d+", re.I),
    "cms_html": re.compile(r"/cms/html/[^/]+/\d{4}-\d{2}-\d{2}/\d+\.html$"),
    "snowflake": re.compile(r"/\d{17,20}\.html$"),
    "shanghai": re.compile(r"/nw\d+/\d{8}/[0-9a-f]{32}\.html$"),
}
# Modules that only ever serve annual reports (Zhejiang's Hanweb module).
REPORT_MODULES = re.compile(r"/module/xxgk/xxgkAnnualReport\.jsp\?", re.I)
# Link texts naming an annual-report column (a start URL may be a portal's home or 政务公开
# page when the column itself is not known yet).
COLUMN_TEXT = re.compile(
    r"^(?:[政政务府]{2,4})?(?:信息公开)?(?:工作)?(?:年度报告|年报|年度報告|年報)(?:专栏|栏目)?$"
)
# Links to columns (list pages), never reports themselves.
COLUMN_URL = re.compile(r"(?:/|/index(?:_\d+)?\.s?html?|/col/col\d+/(?:index\.html)?)$", re.I)

# --- attachments -----------------------------------------------------------------------------

ATTACHMENT_EXTS = ("pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "ofd", "zip")
_EXT = re.compile(r"\.(" + "|".join(ATTACHMENT_EXTS) + r")$", re.I)
# Download scripts whose URL does not end in the file's extension.
ATTACHMENT_URLS = re.compile(
    r"/module/download/downfile\.jsp|/attachment/0/|/download\.(?:jsp|aspx?|php)\?", re.I
)
# pdf.js viewers and download scripts name the file in a query parameter.
FILE_PARAMS = ("file", "filename", "fileurl", "path", "url")

# --- pagination ------------------------------------------------------------------------------

NAV_TEXT = re.compile(
    r"^(?:下一页|下页|后页|下一頁|尾页|末页|最后一页|尾頁|上一页|上页|前页|第\s*\d+\s*页|\d{1,4}"
    r"|[>»›]+|[<«‹]+|next|last|prev(?:ious)?)$",
    re.I,
)
PAGE_PARAMS = (
    "page",
    "pagenum",
    "pageindex",
    "pageno",
    "currpage",
    "curpage",
    "pn",
    "p",
    "pagenumber",
    "page_no",
    "cpage",
)
# index_3.html, list_3.shtml, column-index-3.shtml (the number is the page, the stem the list).
PAGE_FILE = re.compile(
    r"^(?P<stem>(?:index|list|default|more|column-index|lm|lb)[\w-]*?)[_-]"
    r"(?P<n>\d{1,4})\.(?P<ext>s?html?|jsp|aspx?|php)$",
    re.I,
)
# /2.html, /14.htm (VSB list pages count in their own directory).
NUMBER_FILE = re.compile(r"^(?P<n>\d{1,4})\.(?P<ext>s?html?)$", re.I)
PAGE_FILL_LIMIT = 500

# TRS page-foot script: createPageHTML(countPage, currentPage, "index", "html"); newer templates
# put a container id first: createPageHTML('page_div', 17, 0, 'index', 'html', 385).
TRS_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?(\d+)\s*,\s*(\d+)\s*,\s*['\"]([^'\"]+)['\"]"
    r"\s*,\s*['\"]([^'\"]+)['\"]"
)
TRS_COUNT_PAGE = re.compile(r"\bvar\s+countPage\s*=\s*['\"]?(\d+)")
TRS_PAGE_NAME = re.compile(r"\bvar\s+(?:pageName|sPageName)\s*=\s*['\"]([^'\"]+)['\"]")
TRS_PAGE_EXT = re.compile(r"\bvar\s+(?:pageExt|sPageExt)\s*=\s*['\"]\.?([^'\"]+)['\"]")

# TRS "动静结合" lists: the first pages are static, the rest come from a JSON API that the page's
# script loads through the list2.trsapi module, e.g.
#   require(['list2.trsapi'], function (listModel) { listModel({ maxStaticIndex: 0,
#     url: '/…/api', params: {…}, pagebar: { prepage: 10, recordCount: '20' } }) })
TRSAPI_MARK = re.compile(r"list2\.trsapi", re.I)
TRSAPI_NUMBER = {
    "total": re.compile(r"\b(?:recordCount|totalRecord|totalCount|total)\s*:\s*['\"]?(\d+)"),
    "size": re.compile(r"\b(?:prepage|pageSize|perPage|pagesize)\s*:\s*['\"]?(\d+)"),
    "static": re.compile(r"\bmaxStaticIndex\s*:\s*['\"]?(\d+)"),
}
TRSAPI_URL = re.compile(
    r"\b(?:url|apiUrl|api|dataUrl|searchUrl|ajaxUrl|action|source)\s*:\s*['\"]([^'\"]+)['\"]"
)
TRSAPI_PARAMS = re.compile(r"\b(?:params|param|data|ajaxParam|query)\s*:\s*\{([^{}]*)\}", re.S)
TRSAPI_METHOD = re.compile(r"\b(?:type|method)\s*:\s*['\"](post|get)['\"]", re.I)
TRSAPI_PAGE_KEY = re.compile(r"\b(?:pageKey|pageParam|pageName)\s*:\s*['\"](\w+)['\"]")
TRSAPI_PAGE_DEFAULT = "page"
TRSAPI_SIZE_DEFAULT = 10
# Field names of the items a list API answers with (TRS WCM/hybase names and common ones).
JSON_URL_KEYS = ("url", "docpuburl", "docurl", "link", "href", "puburl", "linkurl")
JSON_TITLE_KEYS = ("title", "doctitle", "name", "docname", "topic", "subject")
JSON_DATE_KEYS = (
    "pubtime",
    "pubdate",
    "docreltime",
    "publishdate",
    "publishtime",
    "releasetime",
    "date",
    "time",
    "crtime",
)
JSON_TOTAL_KEYS = ("total", "totalcount", "recordcount", "totalrecord", "totalelements")
JSON_PAGES_KEYS = ("pagecount", "totalpage", "totalpages", "pages")
JSON_MAX_ITEMS = 10_000
SIZE_PARAMS = ("prepage", "pagesize", "perpage", "size", "rows", "limit")

# Hanweb jpage: records inside <script type="text/xml"><datastore>, more via dataproxy.jsp. The
# XML is read with parsel; the jpage options below are JavaScript, which no parser here reads.
HANWEB_OPTION = {
    "proxy": re.compile(r"proxyUrl\s*:\s*['\"]([^'\"]+)['\"]"),
    "perpage": re.compile(r"perPage\s*:\s*['\"]?(\d+)"),
    "total": re.compile(r"totalRecord\s*:\s*['\"]?(\d+)"),
    "group": re.compile(r"groupSize\s*:\s*['\"]?(\d+)"),
}
HANWEB_AJAX_PARAM = re.compile(r"ajaxParam\s*:\s*\{([^}]*)\}", re.S)
HANWEB_JS_PAIR = re.compile(r"(\w+)\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([^,\s}]+))")
HANWEB_PROXY_DEFAULT = "/module/web/jpage/dataproxy.jsp"
HANWEB_PROXY_PATH = re.compile(r"/module/(?:web/)?jpage/dataproxy\.jsp", re.I)
# The form the dataproxy expects, in the order the jpage script sends it.
HANWEB_FORM_KEYS = (
    "col",
    "appid",
    "webid",
    "path",
    "columnid",
    "sourceContentType",
    "unitid",
    "webname",
    "permissiontype",
)
HANWEB_FORM_DEFAULTS = {"col": "1", "appid": "1", "path": "/", "permissiontype": "0"}
HANWEB_PERPAGE = 15
HANWEB_GROUP = 3

# --- anti-bot challenge pages ----------------------------------------------------------------

BLOCK_STATUSES = {412: "HTTP 412 (瑞数-style bot protection)", 521: "HTTP 521 (加速乐 challenge)"}
# (pattern, reason, words one of which the pattern needs, lower-case): the words are looked
# up first, so a page with none of them costs no regex scan.
BLOCK_MARKERS = (
    (
        re.compile(rb"wzwsrel|wzws_cid|WZWSREL|wzwschallenge", re.I),
        "WZWS JavaScript challenge",
        (b"wzws",),
    ),
    (re.compile(rb"__jsl_clearance"), "加速乐 challenge", (b"__jsl_clearance",)),
    (re.compile(rb"\$_ts\s*=\s*window\["), "瑞数 challenge", (b"$_ts",)),
    (
        re.compile(rb"EdgeOne[^<]{0,80}(?:bot|captcha|verify|challenge)|eo_captcha", re.I),
        "TencentEdgeOne bot check",
        (b"edgeone", b"eo_captcha"),
    ),
)
BLOCK_SNIFF_BYTES = 64 * 1024
# The head lower-cased and without its non-ASCII bytes (the words are ASCII), in one pass: a
# Chinese page shrinks to its markup, which the words are looked up in. Dropping bytes can only
# join text into a word, never split one: a false hit costs the regex scan, no more.
_ASCII_LOWER = bytes(range(256)).lower()
_NON_ASCII = bytes(range(0x80, 0x100))


@dataclass(frozen=True)
class ListRequest:
    """A further list page; `inherit_form` resends the current request's POST form."""

    url: str
    method: str = "GET"
    form: tuple[tuple[str, str], ...] = ()
    inherit_form: bool = False


@dataclass(frozen=True)
class Link:
    url: str
    text: str = ""
    date: str = ""  # YYYY-MM-DD printed beside the link on its list page, "" when none


@dataclass
class ListPage:
    reports: list[Link] = field(default_factory=list)
    pages: list[ListRequest] = field(default_factory=list)
    columns: list[Link] = field(default_factory=list)  # annual-report columns linked from here


@dataclass
class DetailPage:
    title: str | None = None
    attachments: list[Link] = field(default_factory=list)
    continuations: list[str] = field(default_factory=list)


_HTML_PARSER = lxml.etree.HTMLParser()
_STRING = lxml.etree.XPath("string()")  # what lxml.html's text_content() evaluates
# compiled once: Element.xpath() compiles its expression on every call (every report page)
_ARTICLE_TITLE = lxml.etree.XPath("//meta[@name='ArticleTitle']/@content")
XML_DECLARATION_START = re.compile(r"^<\?xml[^>]*\?>")


def _html_doc(text: str, url: str) -> lxml.html.HtmlElement | None:
    """The page as lxml.html reads it, every link made absolute by lxml."""
    text = text.strip()
    if not text:
        return None
    # lxml refuses str input that carries an XML encoding declaration.
    text = XML_DECLARATION_START.sub("", text)
    try:
        doc = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return None
    doc.make_links_absolute(_base_url(doc, url), resolve_base_href=False, handle_failures="discard")
    return doc


def _doc(text: str, url: str) -> lxml.etree._Element | None:
    """A list page's tree with its <a href> made absolute, as `_html_doc` would make them.

    A plain lxml tree resolving only the links read (the href of <a>) costs a fraction of
    lxml.html's make_links_absolute, which visits every attribute of every element. Where
    make_links_absolute changes more than that (a <base href>, which lxml applies a second time
    and removes; CSS urls in a <style> inside a link, whose text is the link's), the page is
    read by `_html_doc` itself."""
    doc = _plain_doc(text)
    if doc is None:
        return None
    for el in doc.iter("base", "style"):
        if el.tag == "base":
            if el.get("href") is not None:
                return _html_doc(text, url)
        elif el.text and any(up.tag == "a" for up in el.iterancestors()):
            return _html_doc(text, url)
    for a in doc.iter("a"):
        href = a.get("href")
        if href is None:
            continue
        absolute = _absolute(url, href)
        if absolute is None:
            del a.attrib["href"]  # make_links_absolute's "discard"
        elif absolute != href:
            a.set("href", absolute)
    return doc


# A report page is read for a few links only: a plain lxml tree (no HtmlElement class lookup per
# element) with just those links resolved, as make_links_absolute(handle_failures="discard")
# would resolve them, costs a third of `_html_doc`.
LINK_TAGS = ("a", "iframe", "embed", "object", "area")


def _plain_doc(text: str) -> lxml.etree._Element | None:
    text = XML_DECLARATION_START.sub("", text.strip())
    if not text:
        return None
    try:
        return lxml.etree.fromstring(text, _HTML_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None


def _absolute(base: str, link: str) -> str | None:
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return None  # make_links_absolute's "discard": the attribute goes


def _link_of(el: lxml.etree._Element, base: str) -> str:
    """href, else src, else data of a link element, made absolute as lxml.html would."""
    for name in ("href", "src", "data"):
        value = el.get(name)
        if value is None:
            continue
        if el.tag == "object":
            if name != "data":
                if value:
                    return value  # lxml resolves only data (and codebase) of an <object>
                continue
            if el.get("codebase") is not None:
                value = urljoin(el.get("codebase") or "", value)  # joined to codebase first
        absolute = _absolute(base, value)
        if absolute:
            return absolute
    return ""


def _base_url(doc: lxml.etree._Element, url: str) -> str:
    # the first <base> with an href (//base/@href[1]), without compiling an XPath per page
    base = next((b.get("href") for b in doc.iter("base") if b.get("href") is not None), None)
    return urljoin(url, base.strip()) if base and base.strip() else url


SPACES = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    return SPACES.sub(" ", text or "").strip()


def _anchors(doc: lxml.etree._Element | None) -> list[Link]:
    """Every followable <a href> with its visible text (or its title when that says more) and
    the date its list entry prints beside it."""
    if doc is None:
        return []
    found: list[Link] = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href.startswith(("http://", "https://")):
            continue
        text = _clean(_STRING(a))
        date = ""
        inside = ENTRY_DATE.search(text)
        at_edge = inside and (inside.start() == 0 or inside.end() == len(text))
        if inside and at_edge and len(text) - len(inside.group(0)) >= MIN_TITLE_CHARS:
            # a date printed inside the link, before or after its title
            # (<a>title<span>2023-01-18</span></a>); a date within a title stays in it
            date = _iso_date(inside)
            text = _clean(text[: inside.start()] + text[inside.end() :]).strip("[]【】()（） ")
        title = _clean(a.get("title"))
        if title and (len(title) > len(text) or text.endswith(("...", "…", ".."))):
            text = title
        found.append(Link(canonical_url(href), text, date or _entry_date(a)))
    return found


# --- list entries ----------------------------------------------------------------------------

# A date as list pages print it: 2023-01-18, 2023/1/18, 2023.01.18, 2023年1月18日, [2023-01-18].
ENTRY_DATE = re.compile(
    r"[\[【(（]?\s*((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[\]】)）]?"
)
MIN_TITLE_CHARS = 4
ENTRY_LEVELS = 3  # how far up from the link an entry (<li>, <tr>, <div>) may sit


def _iso_date(m: re.Match) -> str:
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def _entry_date(a: lxml.etree._Element) -> str:
    """The date of the list entry holding a link: the nearest ancestor that holds no other
    link, searched outside the link's own text."""
    node = a
    for _ in range(ENTRY_LEVELS):
        parent = node.getparent()
        if parent is None:
            return ""
        if any(other is not a and other.get("href") for other in parent.iter("a")):
            return ""  # the parent is the whole list, not this entry
        node = parent
        text = _clean(" ".join(_outside(node, a)))
        m = ENTRY_DATE.search(text)
        if m:
            return _iso_date(m)
    return ""


def _outside(root: lxml.etree._Element, skip: lxml.etree._Element) -> list[str]:
    """Text pieces of root, without the text inside `skip` (its tail is kept)."""
    pieces: list[str] = []
    _walk(root, skip, pieces, True)
    return pieces


def _walk(
    el: lxml.etree._Element, skip: lxml.etree._Element, pieces: list[str], root=False
) -> None:
    tag = el.tag
    if el is skip or (isinstance(tag, str) and tag.lower() in ("script", "style")):
        pieces.append(el.tail or "")
        return
    pieces.append(el.text or "")  # a comment's text too
    for child in el:
        _walk(child, skip, pieces)
    if not root:
        pieces.append(el.tail or "")


# --- report links ----------------------------------------------------------------------------


def _article_kind(url: str) -> str | None:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for kind, pattern in ARTICLE_PATTERNS.items():
        if pattern.search(target if kind == "aspnet" else parts.path):
            return kind
    return None


def _in_column(link: str, list_url: str, kind: str) -> bool:
    """True when an article URL sits in the column the list page belongs to."""
    lpath, apath = urlsplit(list_url).path, urlsplit(link).path
    if urlsplit(link).hostname != urlsplit(list_url).hostname:
        return False
    if kind == "hanweb":
        col = re.search(r"/col/col(\d+)/", lpath)
        art = re.search(r"/art_(\d+)_\d+", apath)
        return bool(col and art and col.group(1) == art.group(1))
    column_dir = lpath.rsplit("/", 1)[0] + "/"
    return column_dir != "/" and apath.startswith(column_dir)


# An entry titled only by its year (some 年报 columns list "2022年度"): a report by its column.
YEAR_ONLY = re.compile(
    r"^[（(]?\s*(?:(?:19|20)\d{2}|[〇零一二][〇零一二三四五六七八九]{3})\s*年?度?\s*[）)]?$"
)
TRUNCATED = ("...", "…", "..", "。。。")
DISCLOSURE_WORDS = re.compile(r"政务公开|信息公开|政府公开|政務公開|信息公開")
SUMMARY_WORDS = re.compile(r"成绩单|总结|工作情况|综述|回顾|盘点|成效|亮点")
NEWS_TITLE_CHARS = 6  # a headline is longer than this; shorter texts are labels (详情, 查看)


def is_news_title(text: str) -> bool:
    """True when a link's title says it is something other than a report: a full title (not
    cut short, not just a year, not a two-word label such as 详情) that names no
    年度报告/年报/工作报告 (nor a year of 政务公开/信息公开 work). News items share 年报 columns
    with the reports."""
    text = re.sub(r"\s+", "", text)
    if len(text) < NEWS_TITLE_CHARS or text.endswith(TRUNCATED) or YEAR_ONLY.match(text):
        return False
    if REPORT_WORDS.search(text):
        return False
    # a year's disclosure work summed up under another name (2016年政务公开工作“成绩单”) is
    # archived and typed by the build (work_summary); other titles are the column's news
    return not (
        YEAR_IN_TITLE.search(text) and DISCLOSURE_WORDS.search(text) and SUMMARY_WORDS.search(text)
    )


def is_report_link(link: Link, list_url: str, pattern: str | None = None) -> bool:
    """Decide whether a link on a list page points at a report (page or document)."""
    url, text = link.url, link.text
    if pattern:
        return re.search(pattern, url) is not None
    if NAV_TEXT.match(text):
        return False
    if REPORT_MODULES.search(url):
        return True
    titled = bool(REPORT_WORDS.search(text))
    kind = _article_kind(url)
    if kind:
        # in the column, an article is a report unless its own title says it is not
        return titled or (_in_column(url, list_url, kind) and not is_news_title(text))
    if is_attachment_url(url):
        return titled
    path = urlsplit(url).path
    # A titled link with a year that is not a column link: report on an unknown CMS.
    return titled and bool(YEAR_IN_TITLE.search(text)) and not COLUMN_URL.search(path)


# --- pagination ------------------------------------------------------------------------------


def _page_template(url: str) -> tuple[str, int] | None:
    """(template with {n}, n) when the URL looks like page n of a paginated list."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for i, (name, value) in enumerate(pairs):
        if name.lower() in PAGE_PARAMS and value.isdigit():
            templ = [
                (k, "{n}" if j == i else v.replace("{", "{{").replace("}", "}}"))
                for j, (k, v) in enumerate(pairs)
            ]
            query = urlencode(templ, safe="{}/:,")
            base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            return base.replace("{", "{{").replace("}", "}}") + "?" + query, int(value)
    head, _, last = parts.path.rpartition("/")
    match = PAGE_FILE.match(last) or NUMBER_FILE.match(last)
    if match and not parts.query:
        stem = match.groupdict().get("stem")
        name = f"{stem}_{{n}}.{match['ext']}" if stem else f"{{n}}.{match['ext']}"
        if stem and f"{stem}-{match['n']}" in last:
            name = f"{stem}-{{n}}.{match['ext']}"
        base = urlunsplit((parts.scheme, parts.netloc, head + "/", "", ""))
        return base.replace("{", "{{").replace("}", "}}") + name, int(match["n"])
    return None


def _generic_pages(links: list[Link], url: str) -> list[str]:
    """Page links of a generic list: nav anchors, with gaps between numbered pages filled."""
    host = urlsplit(url).hostname
    pages: list[str] = []
    numbers: dict[str, set[int]] = {}
    for link in links:
        if urlsplit(link.url).hostname != host or not NAV_TEXT.match(link.text):
            continue
        if _article_kind(link.url) or is_attachment_url(link.url):
            continue
        pages.append(link.url)
        found = _page_template(link.url)
        if found:
            numbers.setdefault(found[0], set()).add(found[1])
    for template, seen in numbers.items():
        low, high = min(seen), max(seen)
        for n in range(low, min(high, low + PAGE_FILL_LIMIT) + 1):
            pages.append(template.format(n=n))
    return pages


def _trs_pages(text: str, url: str) -> list[str]:
    """All pages named by the TRS page-foot script: index.html, index_1.html, ..."""
    match = TRS_CREATE_PAGE.search(text)
    if match:
        count, name, ext = int(match[1]), match[3], match[4].lstrip(".")
    else:
        count_match = TRS_COUNT_PAGE.search(text)
        if not count_match:
            return []
        count = int(count_match[1])
        name_match, ext_match = TRS_PAGE_NAME.search(text), TRS_PAGE_EXT.search(text)
        name = name_match[1] if name_match else "index"
        path_ext = urlsplit(url).path.rsplit(".", 1)
        ext = (
            ext_match[1]
            if ext_match
            else (path_ext[1] if len(path_ext) == 2 and "/" not in path_ext[1] else "html")
        )
    count = min(count, PAGE_FILL_LIMIT)
    return _join_files(
        url, [f"{name}.{ext}" if i == 0 else f"{name}_{i}.{ext}" for i in range(count)]
    )


# A file name that urljoin appends to the base's directory as it is (no /, ?, #, ;, :, % and not
# starting with a dot, so never "." or ".."): the joined URLs differ only in that name.
PLAIN_FILE = re.compile(r"[\w-][\w.-]*\Z", re.ASCII)


def _join_files(url: str, names: list[str]) -> list[str]:
    """[urljoin(url, name) for name in names], joining once when the names are plain files
    (a TRS list names all 50 pages of its column on every page)."""
    if not names or not all(PLAIN_FILE.match(n) for n in names):
        return [urljoin(url, n) for n in names]
    first = urljoin(url, names[0])
    if not first.endswith(names[0]):
        return [urljoin(url, n) for n in names]
    directory = first[: len(first) - len(names[0])]
    return [directory + n for n in names]


@dataclass(frozen=True)
class Datastore:
    """What a Hanweb jpage <datastore> holds: record fragments, the nextgroup link, the total."""

    records: tuple[str, ...] = ()
    nextgroup: str | None = None
    total: int | None = None
    is_answer: bool = False  # the whole body is a dataproxy.jsp answer, not a page


XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def hanweb_datastore(text: str, doc: lxml.etree._Element | None = None) -> Datastore:
    """Read the datastore XML of a dataproxy answer, or of a column page's
    <script type="text/xml"> (pass the parsed page as `doc`), with parsel."""
    body = XML_DECLARATION.sub("", text, count=1)  # lxml refuses str with an encoding declaration
    is_answer = body.lstrip()[:10].lower() == "<datastore"
    if is_answer:
        parts = [body]
    elif doc is not None and "datastore" in text:
        parts = [t for t in doc.xpath("//script/text()") if "<datastore" in t]
    else:
        parts = []
    records: list[str] = []
    nextgroup: str | None = None
    total: int | None = None
    for part in parts:
        xml = Selector(text=part, type="xml")
        records += [r.strip() for r in xml.xpath("//record/text()").getall()]
        nextgroup = nextgroup or xml.xpath("//nextgroup/text()").get()
        count = (xml.xpath("//totalrecord/text()").get() or "").strip()
        if total is None and count.isdigit():
            total = int(count)
    return Datastore(tuple(records), nextgroup, total, is_answer)


def _hanweb_form(text: str, store: Datastore) -> tuple[str, dict[str, str]] | None:
    """The dataproxy path and form read from a Hanweb page's jpage script or nextgroup link."""
    params: dict[str, str] = {}
    proxy = None
    match = HANWEB_AJAX_PARAM.search(text)
    if match:
        for key, q1, q2, bare in HANWEB_JS_PAIR.findall(match[1]):
            params[key] = q1 or q2 or bare
    href = Selector(text=store.nextgroup).xpath("//a/@href").get() if store.nextgroup else None
    if href:
        parts = urlsplit(href)
        if HANWEB_PROXY_PATH.search(parts.path):
            proxy = parts.path
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            params.setdefault(key, value)
    option = HANWEB_OPTION["proxy"].search(text)
    if option:
        proxy = option[1]
    if "columnid" not in params or "unitid" not in params:
        return None
    form = {k: params.get(k, HANWEB_FORM_DEFAULTS.get(k)) for k in HANWEB_FORM_KEYS}
    return proxy or HANWEB_PROXY_DEFAULT, {k: v for k, v in form.items() if v is not None}


def _int_option(name: str, text: str, default: int | None) -> int | None:
    match = HANWEB_OPTION[name].search(text)
    return int(match[1]) if match else default


def _proxy_url(base: str, proxy: str, start: int, end: int, perpage: int) -> str:
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": perpage})
    return urljoin(base, proxy) + "?" + query


def _hanweb_pages(text: str, url: str, store: Datastore) -> list[ListRequest]:
    """POST dataproxy requests for the records a Hanweb column does not show statically."""
    records = len(store.records)
    parts = urlsplit(url)
    if HANWEB_PROXY_PATH.search(parts.path):
        # A dataproxy answer: ask for the next group until the announced total is reached.
        query = dict(parse_qsl(parts.query))
        try:
            start, end = int(query["startrecord"]), int(query["endrecord"])
            perpage = int(query.get("perpage", HANWEB_PERPAGE))
        except (KeyError, ValueError):
            return []
        total = store.total
        size = end - start + 1
        if (total is not None and end >= total) or (total is None and records < size):
            return []
        new_end = end + size if total is None else min(end + size, total)
        return [
            ListRequest(
                _proxy_url(url, parts.path, end + 1, new_end, perpage), "POST", inherit_form=True
            )
        ]
    found = _hanweb_form(text, store)
    if not found:
        return []
    proxy, form = found
    perpage = _int_option("perpage", text, HANWEB_PERPAGE) or HANWEB_PERPAGE
    group = _int_option("group", text, HANWEB_GROUP) or HANWEB_GROUP
    total = _int_option("total", text, None)
    step = perpage * group
    form_pairs = tuple(form.items())
    if total is None:
        # Unknown size: ask for the group after the static records; answers chain on.
        return [
            ListRequest(
                _proxy_url(url, proxy, records + 1, records + step, perpage), "POST", form_pairs
            )
        ]
    pages = []
    for start in range(1, min(total, step * PAGE_FILL_LIMIT) + 1, step):
        end = min(start + step - 1, total)
        if end > records:
            pages.append(
                ListRequest(_proxy_url(url, proxy, start, end, perpage), "POST", form_pairs)
            )
    return pages


def _js_pairs(body: str) -> list[tuple[str, str]]:
    return [(k, q1 or q2 or bare) for k, q1, q2, bare in HANWEB_JS_PAIR.findall(body)]


def _trsapi_pages(text: str, url: str) -> list[ListRequest]:
    """Requests for the pages a TRS "动静结合" list loads from its JSON API (list2.trsapi):
    static pages 0..maxStaticIndex are index.html, index_1.html…, the later ones are asked of
    the API with the page number, the page size and the config's own parameters."""
    if not TRSAPI_MARK.search(text):
        return []
    numbers = {k: (int(m[1]) if (m := p.search(text)) else None) for k, p in TRSAPI_NUMBER.items()}
    api = TRSAPI_URL.search(text[TRSAPI_MARK.search(text).start() :]) or TRSAPI_URL.search(text)
    if api is None or numbers["total"] is None:
        return []
    size = numbers["size"] or TRSAPI_SIZE_DEFAULT
    static = (numbers["static"] or 0) + 1  # maxStaticIndex counts from 0 (index.html)
    last = min(math.ceil(numbers["total"] / size), PAGE_FILL_LIMIT)
    params_match = TRSAPI_PARAMS.search(text)
    params = _js_pairs(params_match[1]) if params_match else []
    page_key_match = TRSAPI_PAGE_KEY.search(text)
    page_key = page_key_match[1] if page_key_match else TRSAPI_PAGE_DEFAULT
    method = (TRSAPI_METHOD.search(text)[1] if TRSAPI_METHOD.search(text) else "get").upper()
    base = urljoin(url, api[1])
    pages: list[ListRequest] = []
    sized = any(k.lower() in SIZE_PARAMS for k, _ in params)
    for n in range(static + 1, last + 1):
        pairs = [(k, v) for k, v in params if k != page_key] + [(page_key, str(n))]
        if not sized:
            pairs.append(("prepage", str(size)))
        if method == "POST":
            pages.append(ListRequest(base, "POST", tuple(pairs)))
        else:
            query = urlencode(pairs)
            sep = "&" if urlsplit(base).query else "?"
            pages.append(ListRequest(f"{base}{sep}{query}"))
    # the static pages after the first, named as TRS names them
    if static > 1 and not TRS_CREATE_PAGE.search(text):
        name = urlsplit(url).path.rsplit("/", 1)[-1] or "index.html"
        stem, _, ext = name.rpartition(".")
        stem = re.sub(r"_\d+$", "", stem) or "index"
        pages += [ListRequest(urljoin(url, f"{stem}_{i}.{ext}")) for i in range(1, static)]
    return pages


def _json_items(data: object) -> list[dict]:
    """Every object in a JSON answer that names a link (a URL field beside a title field)."""
    found: list[dict] = []
    stack = [data]
    while stack and len(found) < JSON_MAX_ITEMS:
        node = stack.pop()
        if isinstance(node, dict):
            lower = {str(k).lower(): v for k, v in node.items()}
            if any(isinstance(lower.get(k), str) for k in JSON_URL_KEYS) and any(
                isinstance(lower.get(k), str) for k in JSON_TITLE_KEYS
            ):
                found.append(lower)
                continue
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def _json_number(data: object, keys: tuple[str, ...]) -> int | None:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if str(k).lower() in keys and str(v).isdigit():
                    return int(v)
            stack.extend(v for v in node.values() if isinstance(v, dict))
    return None


def _first(item: dict, keys: tuple[str, ...]) -> str:
    return next((item[k] for k in keys if isinstance(item.get(k), str) and item[k].strip()), "")


def parse_json_list(text: str, url: str, pattern: str | None = None) -> ListPage | None:
    """Items and further pages of a list API's JSON answer; None when the body is not JSON."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    result = ListPage()
    for item in _json_items(data):
        href = urljoin(url, _first(item, JSON_URL_KEYS).strip())
        if not href.startswith(("http://", "https://")):
            continue
        title = _clean(re.sub(r"<[^>]+>", "", _first(item, JSON_TITLE_KEYS)))
        m = ENTRY_DATE.search(_first(item, JSON_DATE_KEYS))
        link = Link(canonical_url(href), title, _iso_date(m) if m else "")
        # the answer is the column's own list: its items are reports unless titled as news
        if pattern:
            if re.search(pattern, link.url):
                result.reports.append(link)
        elif is_report_link(link, url) or not is_news_title(link.text):
            if not NAV_TEXT.match(link.text):
                result.reports.append(link)
    # later pages when the answer says how many there are and this one is not the last
    found = _page_template(url)
    if found and result.reports:
        template, n = found
        pages = _json_number(data, JSON_PAGES_KEYS)
        total = _json_number(data, JSON_TOTAL_KEYS)
        size = len(_json_items(data))
        if pages is None and total is not None and size:
            pages = math.ceil(total / size)
        asked = next(
            (
                int(v)
                for k, v in parse_qsl(urlsplit(url).query)
                if k.lower() in SIZE_PARAMS and v.isdigit()
            ),
            None,
        )
        if pages is None and asked and size >= asked:
            pages = n + 1  # no count given: a full page asks for the next (trap guard ends it)
        if pages is not None:
            result.pages += [
                ListRequest(template.format(n=k))
                for k in range(n + 1, min(pages, n + PAGE_FILL_LIMIT) + 1)
            ]
    return result


# --- entry points ----------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _get_page(url: str) -> ListRequest:
    """The GET request of a list page, shared (it is frozen): each page of a TRS column names
    every other page of it."""
    return ListRequest(url)


def parse_list(
    body: bytes | str,
    url: str,
    cms: str,
    *,
    content_type: str | None = None,
    encoding: str | None = None,
    report_url_pattern: str | None = None,
) -> ListPage:
    """Report links and further list pages of one list page (or Hanweb dataproxy answer)."""
    if cms not in ("trs", "hanweb", "generic"):
        raise ValueError(f"parse_list: unknown CMS family {cms!r} for {url}")
    text = decode_html(body, content_type, encoding)
    if "json" in (content_type or "").lower() or text.lstrip().startswith(("{", "[")):
        answer = parse_json_list(text, url, report_url_pattern)
        if answer is not None:
            return answer
    result = ListPage()
    seen: set[str] = set()
    here = url_key(url)

    def add_report(link: Link) -> None:
        key = url_key(link.url)
        if key not in seen and key != here:
            seen.add(key)
            result.reports.append(link)

    doc = _doc(text, url)
    store = hanweb_datastore(text, doc)
    records = len(store.records)
    # jpage records are the column's own list: every link in them is an item of the column.
    for fragment in store.records:
        for link in _anchors(_doc(f"<div>{fragment}</div>", url)):
            if is_report_link(link, url, report_url_pattern) or (
                not report_url_pattern
                and not NAV_TEXT.match(link.text)
                and not COLUMN_URL.search(urlsplit(link.url).path)
                and not is_news_title(link.text)
            ):
                add_report(link)
    # A dataproxy answer is XML, not a page; a column page's datastore sits in a <script>,
    # which the HTML parser keeps as text (its records are not read twice).
    links = [] if store.is_answer else _anchors(doc)
    for link in links:
        if is_report_link(link, url, report_url_pattern):
            add_report(link)
        elif COLUMN_TEXT.match(re.sub(r"\s+", "", link.text)) and url_key(link.url) != here:
            result.columns.append(link)
    page_urls: list[ListRequest] = []
    if cms == "trs" or TRS_CREATE_PAGE.search(text):
        page_urls += [_get_page(u) for u in _trs_pages(text, url)]
    page_urls += _trsapi_pages(text, url)
    if cms == "hanweb" or records:
        page_urls += _hanweb_pages(text, url, store)
    page_urls += [_get_page(u) for u in _generic_pages(links, url)]
    known: set[tuple[str, str]] = set()
    for page in page_urls:
        canonical = canonical_url(page.url)
        if canonical != page.url:
            page = ListRequest(canonical, page.method, page.form, page.inherit_form)
        page_key = url_key(page.url)
        key = (page.method, page_key)
        if key in known or (page.method == "GET" and page_key == here) or page_key in seen:
            continue
        known.add(key)
        result.pages.append(page)
    return result


def is_attachment_url(url: str) -> bool:
    """True for links to documents (by extension, download script or file parameter)."""
    parts = urlsplit(url)
    if _EXT.search(parts.path) or ATTACHMENT_URLS.search(parts.path + "?" + parts.query):
        return True
    return any(
        k.lower() in FILE_PARAMS and _EXT.search(urlsplit(v).path)
        for k, v in parse_qsl(parts.query)
    )


def _file_param(url: str) -> str | None:
    """The document a pdf.js viewer URL shows (viewer.html?file=/upload/x.pdf)."""
    parts = urlsplit(url)
    if _EXT.search(parts.path) or ATTACHMENT_URLS.search(parts.path + "?" + parts.query):
        return None
    for key, value in parse_qsl(parts.query):
        if key.lower() in FILE_PARAMS and _EXT.search(urlsplit(value).path):
            return urljoin(url, value)
    return None


def parse_detail(
    body: bytes | str, url: str, *, content_type: str | None = None, encoding: str | None = None
) -> DetailPage:
    """Title, attachment links and continuation pages (TRS t..._1.html) of a report page."""
    text = decode_html(body, content_type, encoding)
    doc = _plain_doc(text)
    page = DetailPage()
    if doc is None:
        return page
    base = _base_url(doc, url)
    meta_title = _ARTICLE_TITLE(doc)
    h1 = [_clean(_STRING(h)) for h in doc.iter("h1")]
    titles = (
        [_clean(t) for t in meta_title]
        + [t for t in h1 if t]
        + [_clean(_STRING(t)) for t in doc.iter("title")]
    )
    page.title = next((t for t in titles if t), None)
    seen: set[str] = set()
    candidates: list[Link] = []
    for el in doc.iter(*LINK_TAGS):
        raw = _link_of(el, base)
        if not raw.startswith(("http://", "https://")):
            continue
        # embed/object/iframe content is fallback markup, not a label
        label = _clean(_STRING(el)) if el.tag in ("a", "area") else ""
        text_ = label or _clean(el.get("title"))
        candidates.append(Link(raw, text_))
    for link in candidates:
        target = _file_param(link.url) or link.url
        if not is_attachment_url(target):
            continue
        target = canonical_url(target)
        key = url_key(target)
        if key not in seen and key != url_key(url):
            seen.add(key)
            page.attachments.append(Link(target, link.text))
    page.continuations = _continuations(text, candidates, url)
    return page


def _continuations(text: str, links: list[Link], url: str) -> list[str]:
    """Further pages of a long TRS article: t20230118_123_1.html, _2 ... in the same directory."""
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    match = re.match(r"^(t\d{8}_\d+)(?:_\d+)?\.(s?html?)$", last)
    if not match:
        return []
    stem, ext = match[1], match[2]
    found: list[str] = []
    script = TRS_CREATE_PAGE.search(text)
    if script and script[3] == stem:
        found += [
            urljoin(url, f"{stem}_{i}.{ext}")
            for i in range(1, min(int(script[1]), PAGE_FILL_LIMIT))
        ]
    same_dir = urljoin(url, "./")
    for link in links:
        name = link.url[len(same_dir) :] if link.url.startswith(same_dir) else ""
        if re.fullmatch(rf"{stem}_\d+\.{ext}", name):
            found.append(link.url)
    here = canonical_url(url)
    return [u for u in dict.fromkeys(canonical_url(u) for u in found) if u != here]


def detect_block(status: int, body: bytes) -> str | None:
    """Why a response is an anti-bot block or challenge page, or None when it is not one."""
    if status in BLOCK_STATUSES:
        return BLOCK_STATUSES[status]
    head = body[:BLOCK_SNIFF_BYTES]
    ascii_lowered = head.translate(_ASCII_LOWER, _NON_ASCII)
    for pattern, reason, words in BLOCK_MARKERS:
        if any(word in ascii_lowered for word in words) and pattern.search(head):
            return reason
    return None


__all__ = [
    "DetailPage",
    "ListPage",
    "ListRequest",
    "detect_block",
    "is_attachment_url",
    "is_news_title",
    "is_report_link",
    "parse_detail",
    "parse_json_list",
    "parse_list",
]
