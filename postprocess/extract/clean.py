"""Readable text of a report page: decode the bytes, find the body, strip the portal chrome.

Known CMS body containers (portals.md) are serialised by our own walker so that every paragraph
and every table (rowspan/colspan expanded, one `a | b | c` line per row) survives; pages without
one fall back to trafilatura's extraction. Chrome strings are module-level data below.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import charset_normalizer
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode, resolve_encoding

from postprocess.extract.grids import cell_text, expand_html_table
from postprocess.extract.model import Table

log = logging.getLogger(__name__)

# --- decoding -----------------------------------------------------------------------------------

# The GBK family is decoded as its superset gb18030 (as w3lib and browsers do).
GB_FAMILY = {"gbk", "gb2312", "gb_2312-80", "gb18030", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}
MAX_REPLACEMENTS = 3  # more U+FFFD than this after a declared charset: the declaration lies


def _sniff(body: bytes) -> str | None:
    """Charset guessed from the bytes alone (charset-normalizer), GBK family as gb18030."""
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is None:
        return None
    return _python_encoding(best.encoding)


def _python_encoding(name: str | None) -> str | None:
    if not name:
        return None
    if name.lower().replace("_", "-") in GB_FAMILY or name.lower() in GB_FAMILY:
        return "gb18030"
    return resolve_encoding(name) or name


def decode_html(body: bytes, content_type: str | None) -> str:
    """Text of an HTML (or plain-text) body: header charset, BOM, <meta>, then sniffing."""
    _enc, text = html_to_unicode(content_type, body, auto_detect_fun=_sniff)
    if text.count("\ufffd") > MAX_REPLACEMENTS:
        # a wrong declaration (utf-8 header on a GBK page is common): trust the bytes instead
        guess = _sniff(body)
        if guess:
            alt = body.decode(guess, errors="replace")
            if alt.count("\ufffd") < text.count("\ufffd"):
                log.info("charset declaration contradicted by the bytes; decoded as %s", guess)
                text = alt
    return text.lstrip("\ufeff")


# --- chrome -------------------------------------------------------------------------------------

# Removed wherever they occur inside a line.
INLINE_CHROME = [
    re.compile(r"扫一扫在手机(?:上)?打开(?:当前)?页面?"),
    re.compile(
        r"[【\[]\s*(?:打印(?:本页|此页)?|关闭(?:窗口|本页)?|收藏(?:本页)?|返回顶部)\s*[】\]]"
    ),
    re.compile(r"字[号体](?:大小)?\s*[:：]?\s*(?:[【\[]?\s*(?:特大|大|中|小)\s*[】\]]?\s*){2,}"),
    re.compile(r"字体大小\s*[:：]?\s*A\+\s*A\s*A-|A\+\s*A\s*A-"),
    re.compile(r"分享到\s*[:：]?"),
    re.compile(r"听全文"),
    re.compile(r"[（(【\[]?\s*责任编辑\s*[:：]\s*[^\s）)】\]]{0,20}\s*[）)】\]]?"),
    re.compile(
        r"(?:点击数|点击量|点击率|访问量|访问次数|浏览次数|浏览量|阅读次数|阅读数)\s*[:：]\s*\d*\s*次?"
    ),
]
# A line holding one of these (and no sentence) is page metadata: dropped, date kept aside.
META_LABEL = re.compile(
    r"(?:信息来源|来源|发布时间|发布日期|发文日期|更新时间|日期|时间|作者|发布机构|点击|浏览|访问)"
    r"\s*[:：]"
)
COUNTER_LABEL = re.compile(
    r"(?:点击数|点击量|点击|访问量|访问次数|浏览次数|浏览量|阅读次数)\s*[:：]\s*$"
)
BREADCRUMB = re.compile(r"^\s*(?:您(?:当前|现在)?(?:所在)?的?位置|当前位置)\s*[:：]?")
FOOTER = re.compile(
    r"主办单位|承办单位|网站标识码|ICP备|ICP证|公网安备|版权所有|技术支持|Copyright|©"
)
# Everything from such a line on is links to other pages.
TAIL_MARKER = re.compile(
    r"^\s*(?:关联稿件|相关链接|相关文章|相关阅读|相关稿件|相关新闻|相关附件|相关信息)\s*[:：]?"
)
# A line made only of these tokens is a toolbar.
CHROME_TOKENS = {
    "打印",
    "关闭",
    "打印本页",
    "关闭窗口",
    "关闭本页",
    "收藏",
    "收藏本页",
    "返回顶部",
    "返回",
    "特大",
    "大",
    "中",
    "小",
    "字号",
    "字体",
    "字号：",
    "字体：",
    "A+",
    "A",
    "A-",
    "默认",
    "颜色",
    "长者模式",
    "关怀版",
    "无障碍",
    "无障碍阅读",
    "无障碍浏览",
    "简体",
    "繁体",
    "简体版",
    "繁体版",
    "分享到",
    "分享",
    "听全文",
    "微信",
    "微博",
    "QQ空间",
    "扫一扫",
    "-",
    "—",
    "【",
    "】",
}
TOKEN_SPLIT = re.compile(r"[\s|｜/【】\[\]：:、·]+")
# Word/DOCX conversion artefacts seen in captured texts (seed 003).
ARTEFACTS = re.compile(r"\[(?:image|bookmark)\s*:[^\]]*\]")
SENTENCE_END = re.compile(r"[。！？；]")

DATE = (
    r"(?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}(?:\s*日)?"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
)
LABELLED_DATE = re.compile(
    r"(?:发布时间|发布日期|发文日期|成文日期|日期|时间)\s*[:：]\s*(" + DATE + ")"
)
ANY_DATE = re.compile(DATE)
WS = re.compile(r"[ \t\u3000\xa0\u2002\u2003\u200b]+")


def _is_meta_line(line: str) -> bool:
    return bool(META_LABEL.search(line)) and len(line) <= 150 and not SENTENCE_END.search(line)


def _is_footer(line: str) -> bool:
    return bool(FOOTER.search(line)) and (len(line) < 60 or not SENTENCE_END.search(line))


def _is_toolbar(line: str) -> bool:
    tokens = [t for t in TOKEN_SPLIT.split(line) if t]
    return bool(tokens) and all(t in CHROME_TOKENS for t in tokens)


def strip_chrome(text: str) -> tuple[str, str | None]:
    """Clean text (one paragraph a line) and the first date found in a dropped metadata line."""
    kept: list[str] = []
    found_date: str | None = None
    after_counter = False
    for raw in text.splitlines():
        line = WS.sub(" ", ARTEFACTS.sub("", raw)).strip()
        if not line:
            continue
        if after_counter and line.isdigit():
            after_counter = False
            continue  # the bare number a script wrote after 点击数：
        after_counter = False
        if TAIL_MARKER.match(line) and len(line) < 80:
            break
        if BREADCRUMB.match(line) or _is_footer(line):
            continue
        if _is_meta_line(line):
            if found_date is None:
                m = LABELLED_DATE.search(line) or ANY_DATE.search(line)
                found_date = m.group(1) if m and m.groups() else (m.group(0) if m else None)
            after_counter = bool(COUNTER_LABEL.search(line))
            continue
        for pattern in INLINE_CHROME:
            line = pattern.sub("", line)
        line = WS.sub(" ", line).strip()
        if not line or _is_toolbar(line) or not re.search(r"\w", line):
            continue
        kept.append(line)
    return "\n".join(kept), found_date


# --- body containers ----------------------------------------------------------------------------

# Known body containers, most specific first (portals.md); Kaipu ucap uses its own tag.
BODY_CONTAINERS = [
    "//ucapcontent",
    "//*[@id='zoom']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')]",
    "//*[@id='ivs_content']",
    "//*[@id='webeditorview']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' Custom_UnionStyle ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' xxgk_content ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' article-content ')]",
]
MIN_BODY_CHARS = 20  # a container with less text than this is a placeholder
SKIP_TAGS = {"script", "style", "noscript", "template", "select", "button", "input", "textarea"}
BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "center",
    "tr",
    "dd",
    "dt",
    "dl",
    "hr",
    "header",
    "footer",
    "ucapcontent",
    "caption",
    "figure",
    "figcaption",
    "form",
    "nav",
    "main",
    "aside",
}

TITLE_META = ("ArticleTitle", "articletitle", "title", "Title", "og:title")
DATE_META = (
    "PubDate",
    "pubdate",
    "publishdate",
    "PublishDate",
    "firstpublishedtime",
    "article:published_time",
    "dc.date",
    "DC.Date",
)
TITLE_SUFFIX = re.compile(r"\s*(?:[_|｜]|--|—|\s-\s).*$")
# A Hanweb/gkml metadata table: label cells followed by their value.
INDEX_TABLE_DATE_LABELS = ("发布日期", "成文日期", "生成日期", "公开日期", "发文日期")


@dataclass
class CleanPage:
    text: str
    title: str | None
    published_raw: str | None
    tables: list[Table] = field(default_factory=list)
    container: str | None = None  # the XPath of the body container used, None for trafilatura


def _parse(html: str):
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str with an XML declaration
    if not html.strip():
        return None
    try:
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _is_data_table(el) -> bool:
    return el.find(".//table") is None


def _serialise(el, out: list[str], tables: list[Table]) -> None:
    """Text of an element, a newline around each block, data tables as `|` rows."""
    tag = el.tag.lower() if isinstance(el.tag, str) else None
    if tag is None:  # comment or processing instruction
        if el.tail:
            out.append(el.tail)
        return
    if tag in SKIP_TAGS:
        if el.tail:
            out.append(el.tail)
        return
    if tag == "table" and _is_data_table(el):
        rows = expand_html_table(el)
        if rows and any(any(c for c in row) for row in rows):
            tables.append(Table(rows=rows, source="html"))
            out.append("\n")
            out.extend(" | ".join(row) + "\n" for row in rows)
        if el.tail:
            out.append(el.tail)
        return
    block = tag in BLOCK_TAGS or tag in ("table", "td", "th")
    if block:
        out.append("\n")
    if el.text:
        out.append(el.text)
    for child in el:
        _serialise(child, out, tables)
    if block:
        out.append("\n")
    if el.tail:
        out.append(el.tail)


def _containers(doc) -> tuple[str, list] | None:
    for xpath in BODY_CONTAINERS:
        found = [
            el for el in doc.xpath(xpath) if len(cell_text(el.text_content())) >= MIN_BODY_CHARS
        ]
        # keep only outermost matches (a #zoom inside a #zoom, TRS_Editor split in parts)
        outer = [
            el for el in found if not any(o is not el and el in o.iterdescendants() for o in found)
        ]
        if outer:
            return xpath, outer
    return None


def _title(doc) -> str | None:
    for name in TITLE_META:
        for value in doc.xpath(f"//meta[@name='{name}' or @property='{name}']/@content"):
            if cell_text(value):
                return cell_text(value)
    for xpath in ("//ucaptitle", "//h1"):
        for el in doc.xpath(xpath):
            text = cell_text(el.text_content())
            if text:
                return text
    for el in doc.iter("title"):
        text = TITLE_SUFFIX.sub("", cell_text(el.text_content()))
        if text:
            return text
    return fragment_title(doc)


MAX_FRAGMENT_TITLE = 100
_CENTRED = re.compile(r"text-align\s*:\s*center", re.I)


def fragment_title(doc) -> str | None:
    """A bare HTML fragment's title: its first centred or bold paragraph."""
    for el in doc.iter("p", "div", "h2", "h3", "center"):
        text = cell_text(el.text_content())
        if not text or len(text) > MAX_FRAGMENT_TITLE:
            continue
        centred = (
            el.tag == "center"
            or (el.get("align") or "").lower() == "center"
            or bool(_CENTRED.search(el.get("style") or ""))
        )
        bold = "".join(cell_text(b.text_content()) for b in el.iter("b", "strong")) == text.replace(
            " ", ""
        ) or any(
            "bold" in (b.get("style") or "") and cell_text(b.text_content()) == text
            for b in el.iter("span")
        )
        if centred or bold:
            return text
        if len(text) > 20 and el.tag == "p":
            return None  # body text came first: no title paragraph
    return None


def _published(doc) -> str | None:
    for name in DATE_META:
        for value in doc.xpath(f"//meta[@name='{name}' or @property='{name}']/@content"):
            m = ANY_DATE.search(value)
            if m:
                return m.group(0)
    for td in doc.xpath("//td|//th|//span|//li|//dt|//label|//strong|//b"):
        label = cell_text(td.text_content())
        label_key = label.rstrip("：: ")
        if label_key in INDEX_TABLE_DATE_LABELS:
            sibling = td.getnext()
            if sibling is not None:
                m = ANY_DATE.search(cell_text(sibling.text_content()))
                if m:
                    return m.group(0)
        elif any(label.startswith(lab) for lab in INDEX_TABLE_DATE_LABELS) and len(label) < 40:
            m = ANY_DATE.search(label)
            if m:
                return m.group(0)
    # a "发布日期：…" line outside the body (trafilatura drops such lines)
    for line in doc.text_content().splitlines():
        if _is_meta_line(line.strip()):
            m = LABELLED_DATE.search(line)
            if m:
                return m.group(1)
    return None


def _lines_of(rows: list[list[str]]) -> list[str]:
    return [" | ".join(row) for row in rows]


def _trafilatura_text(html: str, doc) -> tuple[str, list[Table]]:
    """trafilatura's main text; each table it kept is replaced by our expanded grid of it."""
    extracted = (
        trafilatura.extract(
            html,
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            output_format="txt",
            favor_recall=True,
            deduplicate=False,
        )
        or ""
    )
    grids = [expand_html_table(t) for t in doc.iter("table") if _is_data_table(t)]
    grids = [g for g in grids if g and any(any(c for c in r) for r in g)]
    used: set[int] = set()
    out: list[str] = []
    tables: list[Table] = []
    run: list[list[str]] = []

    def flush() -> None:
        if not run:
            return
        first = {c for c in run[0] if c}
        match = next(
            (i for i, g in enumerate(grids) if i not in used and {c for c in g[0] if c} == first),
            None,
        )
        rows = run[:]
        if match is not None:
            used.add(match)
            rows = grids[match]
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        tables.append(Table(rows=rows, source="html"))
        out.extend(_lines_of(rows))
        run.clear()

    for line in extracted.splitlines():
        if line.startswith("|"):
            run.append([cell_text(c) for c in line.strip().strip("|").split("|")])
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out), tables


def clean_html(html: str, url: str) -> CleanPage:
    """Body text (chrome stripped), title and raw publication date of a decoded HTML page."""
    doc = _parse(html)
    if doc is None:
        return CleanPage(text="", title=None, published_raw=None)
    title = _title(doc)
    published = _published(doc)
    found = _containers(doc)
    if found is not None:
        xpath, elements = found
        out: list[str] = []
        tables: list[Table] = []
        for el in elements:
            _serialise(el, out, tables)
            out.append("\n")
        raw_text = "".join(out)
    else:
        xpath = None
        raw_text, tables = _trafilatura_text(html, doc)
        log.debug("%s: no known body container, used trafilatura", url)
    text, chrome_date = strip_chrome(raw_text)
    return CleanPage(
        text=text,
        title=title,
        published_raw=published or chrome_date,
        tables=tables,
        container=xpath,
    )


# --- plain text ---------------------------------------------------------------------------------

TITLE_WORDS = re.compile(r"报告|年报|成绩单|总结|公开工作|解读|通知|公告")
MAX_TITLE_LINE = 60


def text_title(text: str) -> str | None:
    """Title of a plain-text document: its leading short lines up to one naming the document."""
    lines = [ln.strip() for ln in text.splitlines()[:4] if ln.strip()]
    taken: list[str] = []
    for line in lines[:3]:
        if len(line) > MAX_TITLE_LINE or SENTENCE_END.search(line):
            break
        taken.append(line)
        if TITLE_WORDS.search(line):
            return "".join(taken)
    return None


def clean_text(text: str) -> CleanPage:
    """A captured plain-text page (chrome and all): chrome stripped, title from its first lines."""
    cleaned, chrome_date = strip_chrome(text)
    return CleanPage(text=cleaned, title=text_title(cleaned), published_raw=chrome_date)
