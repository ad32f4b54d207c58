"""Readable text of a report page: decode the bytes, find the body, strip the portal chrome.

Known CMS body containers (portals.md) are serialised by our own walker so that every paragraph
and every table (rowspan/colspan expanded, one `a | b | c` line per row) survives; pages without
one fall back to trafilatura's extraction. Chrome strings are module-level data below.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from postprocess.extract.grids import cell_text, expand_html_table, string_of
from postprocess.extract.metadata import TITLE_LABEL, agency_of, bare_title
from postprocess.extract.model import Table

# The one decoder for HTML bytes (crawler and build alike) is the storage layer's; re-exported.
from postprocess.storage.decode import decode_html as decode_html

log = logging.getLogger(__name__)

# --- chrome -------------------------------------------------------------------------------------

# Removed wherever they occur inside a line.
INLINE_CHROME = [
    # the QR caption family: 扫一扫在手机打开当前页 / 扫一扫在手机上查看当前页面 / 扫一扫 手机浏览
    re.compile(
        r"(?:扫一扫|扫描二维码|扫码)\s*[:：]?[^。！？\n]{0,10}?(?:手机|移动端|微信)[^。！？\n]{0,8}?"
        r"(?:打开|查看|浏览|阅读|访问|分享)(?:当前|本|此|该)?(?:页面?|文章?|网页|内容|全文)?"
    ),
    re.compile(r"(?:用|使用)?(?:手机|微信)扫(?:一扫|描)?(?:二维码)?(?:打开|查看|浏览|阅读|分享)"),
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
# Every match of an INLINE_CHROME pattern holds one of these characters (tests check it): a line
# without any is left alone without trying the patterns one by one.
INLINE_CHROME_CHARS = "扫手微【[字A分听责点访浏阅"
_INLINE_CHROME_HINT = re.compile("[" + re.escape(INLINE_CHROME_CHARS) + "]")
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
_TAIL_INLINE = re.compile(
    r"(?:关联稿件|相关链接|相关文章|相关阅读|相关稿件|相关新闻)\s*[:：](?=.{0,200}$)"
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
    "我要纠错",
    "纠错",
    "加入收藏",
    "返回列表",
    "登录",
    "注册",
    "-",
    "—",
    "【",
    "】",
}
TOKEN_SPLIT = re.compile(r"[\s|｜/【】\[\]：:、·]+")
# Word/DOCX conversion artefacts seen in captured texts (seed 003).
ARTEFACTS = re.compile(r"\[(?:image|bookmark)\s*:[^\]]*\]")
SENTENCE_END = re.compile(r"[。！？；]")
_WORD = re.compile(r"\w")

DATE = (
    r"(?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}(?:\s*日)?"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
)
LABELLED_DATE = re.compile(
    r"(?:发布时间|发布日期|发文日期|成文日期|日期|时间)\s*[:：]\s*(" + DATE + ")"
)
# labels that name the publication outright: trusted anywhere on the page, beside other fields
PUBLISHED_LABEL = re.compile(
    r"(?:发布时间|发布日期|发表时间|发表日期|公开日期|公开时间|发文日期|成文日期|上传时间)"
    r"\s*[:：]?\s*[\[【(（]?\s*(" + DATE + ")"
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


# Chrome rules drop whole lines; a line longer than this is never dropped whole: a capture may
# hold the breadcrumb, the page fields and the whole report on one line (its chrome is cut off)
MAX_CHROME_LINE = 300
_FIELD_AT_START = re.compile(
    r"^\s*(?:(?:文章|信息|文件)?(?:标题|题目|名称)|信息来源|来源|发布时间|发布日期|发文日期|更新时间"
    r"|日期|时间|作者|发布机构|点击数|点击量|点击|浏览次数|浏览量|浏览|访问量|访问)\s*[:：]"
)
_FIELD_ANYWHERE = re.compile(
    r"(?:(?:文章|信息|文件)?(?:标题|题目)|信息来源|来源|发布时间|发布日期|发文日期|更新时间|发布机构"
    r"|点击数|浏览次数)\s*[:：]"
)
_BODY_START = re.compile(r"[一二三四五六七八九十]、|[（(][一二三四五六七八九十][）)]|根据《")
_CRUMBS = re.compile(r"\s*[^\s>»＞]+(?:\s*[>»＞]\s*[^\s>»＞]+)*")
_FIELD_VALUE = re.compile(r"\s*(?:" + DATE + r"|\S+)")
_TITLE_PIECE = re.compile(r"\S{1,80}?(?:报告|年报)(?=\s|[一二三四五六七八九十]、|根据)")


def _chrome_pieces(line: str) -> list[str]:
    """A long line that opens with chrome (breadcrumb, 标题：/发布时间：/来源： fields) cut
    into its chrome pieces and the rest, so the chrome rules drop only the chrome: each
    piece ends at the next field label or the report's first heading."""
    pieces: list[str] = []
    rest = line
    while rest:
        toolbar = _leading_toolbar(rest)
        if toolbar:
            pieces.append(rest[:toolbar])
            rest = rest[toolbar:].lstrip()
            continue
        crumb = BREADCRUMB.match(rest)
        field = None if crumb else _FIELD_AT_START.match(rest)
        if not (crumb or field):
            break
        start = (crumb or field).end()  # type: ignore[union-attr]
        value = (_CRUMBS if crumb else _FIELD_VALUE).match(rest, start)
        end = value.end() if value else start
        for stop in (_FIELD_ANYWHERE.search(rest, start), _BODY_START.search(rest, start)):
            if stop and stop.start() < end:
                end = max(stop.start(), start)
        pieces.append(rest[:end])
        rest = rest[end:].lstrip()
    for pattern in INLINE_CHROME:
        rest = pattern.sub("", rest).strip()
    # the title printed again above the body, as its own line
    head = _TITLE_PIECE.match(rest)
    if pieces and head:
        pieces.append(head.group(0))
        rest = rest[head.end() :].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _leading_toolbar(text: str) -> int:
    """Length of the toolbar words (字号：大 中 小 打印 关闭, a QR caption) opening `text`."""
    end = 0
    while True:
        rest = text[end:]
        skip = len(rest) - len(rest.lstrip())
        m = next((m for p in INLINE_CHROME if (m := p.match(rest, skip))), None)
        if m and m.end() > skip:
            end += m.end()
            continue
        word = re.match(r"\s*([^\s:：]+[:：]?)", rest)
        if word and TOKEN_SPLIT.sub("", word.group(1)) in CHROME_TOKENS | {""}:
            end += word.end()
            continue
        return end


def _lines_of_capture(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        line = WS.sub(" ", ARTEFACTS.sub("", raw) if "[" in raw else raw).strip()
        if BREADCRUMB.match(line) or _FIELD_AT_START.match(line) or _is_footer(line):
            lines.extend(_cut_footer(p) for p in _chrome_pieces(line))
        else:
            lines.append(line)
    return lines


def _cut_footer(line: str) -> str:
    """A long line ending in the site footer (主办单位… after the last sentence) loses it."""
    if len(line) <= MAX_CHROME_LINE:
        return line
    m = FOOTER.search(line)
    if m and not SENTENCE_END.search(line, m.start()):
        return line[: m.start()].strip()
    return line


def strip_chrome(text: str) -> tuple[str, str | None]:
    """Clean text (one paragraph a line) and the first date found in a dropped metadata line."""
    kept: list[str] = []
    found_date: str | None = None
    after_counter = False
    for line in _lines_of_capture(text):
        if not line:
            continue
        if after_counter and line.isdigit():
            after_counter = False
            continue  # the bare number a script wrote after 点击数：
        after_counter = False
        if TAIL_MARKER.match(line) and len(line) < 80:
            break
        tail = _TAIL_INLINE.search(line)
        if tail and tail.start() and not SENTENCE_END.search(line, tail.start()):
            line = line[: tail.start()].strip()  # a one-line capture ran on into the links list
        if BREADCRUMB.match(line) or _is_footer(line):
            continue
        if _is_meta_line(line):
            if found_date is None:
                m = LABELLED_DATE.search(line) or ANY_DATE.search(line)
                found_date = m.group(1) if m and m.groups() else (m.group(0) if m else None)
            after_counter = bool(COUNTER_LABEL.search(line))
            continue
        if _INLINE_CHROME_HINT.search(line):
            for pattern in INLINE_CHROME:
                line = pattern.sub("", line)
        line = WS.sub(" ", line).strip()
        if not line or _is_toolbar(line) or not _WORD.search(line):
            continue
        kept.append(line)
    return "\n".join(kept), found_date


# --- body containers ----------------------------------------------------------------------------

# Known body containers, most specific first (portals.md); Kaipu ucap uses its own tag. All are
# found in one walk over the page (by tag, id or class token), not by one XPath query each (a
# tenth of a page's build); CleanPage.container names the one used by its XPath.
BODY_CONTAINERS: list[tuple[str, str]] = [
    ("tag", "ucapcontent"),
    ("id", "zoom"),
    ("class", "TRS_Editor"),
    ("id", "ivs_content"),
    ("id", "webeditorview"),
    ("class", "Custom_UnionStyle"),
    ("class", "xxgk_content"),
    ("class", "article-content"),
]


def _container_xpath(kind: str, value: str) -> str:
    if kind == "tag":
        return f"//{value}"
    if kind == "id":
        return f"//*[@id='{value}']"
    return f"//*[contains(concat(' ', normalize-space(@class), ' '), ' {value} ')]"


_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() collapses
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
# <meta> names (name, property or itemprop; any case) holding the publication date, in order
DATE_META = (
    "pubdate",
    "publishdate",
    "firstpublishedtime",
    "article:published_time",
    "datepublished",
    "publishtime",
    "releasedate",
    "dc.date.issued",
    "dc.date",
)
TITLE_SUFFIX = re.compile(r"\s*(?:[_|｜]|--|—|\s-\s).*$")
# A Hanweb/gkml metadata table: label cells followed by their value.
INDEX_TABLE_DATE_LABELS = (
    "发布日期",
    "成文日期",
    "生成日期",
    "公开日期",
    "发文日期",
    "发布时间",
    "公开时间",
)


@dataclass
class CleanPage:
    text: str
    title: str | None
    published_raw: str | None
    tables: list[Table] = field(default_factory=list)
    container: str | None = None  # the XPath of the body container used, None for trafilatura
    published_from: str | None = None  # meta | label


# The parser lxml.html uses, without its per-element Python class lookup (lxml.html's
# HtmlElement only adds methods; text_content() is grids.string_of): every walk over the tree
# below creates one Python object per element, and the lookup made that several times dearer.
_HTML_PARSER = etree.HTMLParser()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _parse(html: str):
    html = _XML_DECLARATION.sub("", html)  # lxml refuses str with an XML declaration
    if not html.strip():
        return None
    try:
        # as lxml.html.document_fromstring, which raises on an empty result
        return etree.fromstring(html, _HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None


def _is_data_table(el) -> bool:
    return el.find(".//table") is None


def _serialise(
    el, out: list[str], tables: list[Table] | None, skip: frozenset | set = frozenset()
) -> None:
    """Text of an element, a newline around each block; data tables as `|` rows (collected in
    `tables`) unless tables is None; elements in `skip` give only their tail."""
    tag = el.tag.lower() if isinstance(el.tag, str) else None
    # comments and processing instructions have no tag
    if tag is None or tag in SKIP_TAGS or el in skip:
        if el.tail:
            out.append(el.tail)
        return
    if tables is not None and tag == "table" and _is_data_table(el):
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
        _serialise(child, out, tables, skip)
    if block:
        out.append("\n")
    if el.tail:
        out.append(el.tail)


# What the report template prints: headings and phrases that mark the report's own text.
# (the report's name, 政府信息公开工作年度报告, also sits in the title above the body: not counted)
REPORT_MARKERS = re.compile(
    r"[一二三四五六]、\s*(?:总体情况|概述|主动公开政府信息|收到和处理政府信息公开申请|"
    r"政府信息公开行政复议|存在的主要问题|其他需要报告)|统计期限|主动公开政府信息|依申请公开"
)
CONTENT_SHARE = 0.5  # a child holding more than this share of its parent's text is the body
MIN_CONTENT_CHARS = 100  # less text than this found by content: leave it to trafilatura
CONTENT_TAGS = {"div", "td", "article", "section", "main", "ucapcontent", "font", "span", "form"}


def _visible(text: str) -> int:
    """Characters of text outside WS: in ASCII text (most of a page's markup) WS is only the
    space and the tab, counted without a regex."""
    if text.isascii():
        return len(text) - text.count(" ") - text.count("\t")
    return len(WS.sub("", text))


def _text_chars(root) -> dict:
    """Characters of text outside links and scripts held by each element (one pass). Elements
    inside a link or a script hold none and are left out."""
    chars: dict = {}

    def walk(el) -> int:
        tag = el.tag
        if not isinstance(tag, str):
            return 0
        tag = tag.lower()
        if tag in SKIP_TAGS or tag == "a":
            return 0
        text = el.text
        n = _visible(text) if text else 0
        for child in el:
            n += walk(child)
            tail = child.tail
            if tail:
                n += _visible(tail)
        chars[el] = n
        return n

    walk(root)
    return chars


def _chars_of(el, chars: dict) -> int:
    """_text_chars(el)[el]: the page's count where it has one (the walk from el would count
    the same), a walk of its own for an element inside a link or a script."""
    if el in chars:
        return chars[el]
    return _text_chars(el).get(el, 0)


def _markers(el) -> int:
    return len(REPORT_MARKERS.findall(string_of(el)))


def _content_container(doc, chars: dict) -> tuple[Any, int] | None:
    """The body found by content: from <body> down, step into the child that holds more than
    half of the text outside links and every report marker, while there is one. `chars` are
    the _text_chars of doc.find('.//body'), else of doc."""
    body = doc.find(".//body")
    current = body if body is not None else doc
    markers = _markers(current)
    while True:
        step = None
        for child in current:
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag not in CONTENT_TAGS or chars.get(child, 0) <= CONTENT_SHARE * chars[current]:
                continue
            child_markers = _markers(child)
            if child_markers >= markers:
                step = (child, child_markers)
            break  # at most one child holds more than half
        if step is None:
            break
        current, markers = step
    if current is body or chars[current] < MIN_CONTENT_CHARS:
        return None
    return current, chars[current]


def _marked(doc) -> list[tuple[Any, str, str | None, str | None]]:
    """(element, tag, id, class) of the elements a body container or a title heading may be:
    those with an id or a class, and <ucapcontent>, <h2>, <h3>; in document order."""
    out = []
    for el in doc.iter(etree.Element):
        tag, eid, cls = el.tag, el.get("id"), el.get("class")
        if eid is not None or cls is not None or tag in ("ucapcontent", "h2", "h3"):
            out.append((el, tag, eid, cls))
    return out


def _container_matches(doc, marked: list | None = None) -> list[list]:
    """The elements each of BODY_CONTAINERS' XPaths selects, in document order."""
    matches: list[list] = [[] for _ in BODY_CONTAINERS]
    for el, tag, eid, cls in _marked(doc) if marked is None else marked:
        if tag != "ucapcontent" and eid is None and cls is None:
            continue  # an <h2>, <h3>
        tokens = _XML_SPACE.split(cls) if cls else ()
        for i, (kind, value) in enumerate(BODY_CONTAINERS):
            if (
                (kind == "tag" and tag == value)
                or (kind == "id" and eid == value)
                or (kind == "class" and value in tokens)
            ):
                matches[i].append(el)
    return matches


def _known_containers(doc, marked: list) -> tuple[str, list] | None:
    """The first of BODY_CONTAINERS with text, as its XPath and its outermost elements."""
    matches = _container_matches(doc, marked)
    for (kind, value), candidates in zip(BODY_CONTAINERS, matches, strict=True):
        found = [el for el in candidates if len(cell_text(string_of(el))) >= MIN_BODY_CHARS]
        # keep only outermost matches (a #zoom inside a #zoom, TRS_Editor split in parts)
        inside = set(found)
        outer = [el for el in found if not any(a in inside for a in el.iterancestors())]
        if outer:
            return _container_xpath(kind, value), outer
    return None


def _containers(doc, marked: list | None = None) -> tuple[str, list] | None:
    known = _known_containers(doc, _marked(doc) if marked is None else marked)
    body = doc.find(".//body")
    chars = _text_chars(body if body is not None else doc)
    by_content = _content_container(doc, chars)
    if by_content is None:
        return known
    element, count = by_content
    if known is not None:
        # a known class that holds the body (or most of it) wins; one beside the body does not
        held = sum(_chars_of(el, chars) for el in known[1])
        if held >= CONTENT_SHARE * count or any(
            element is el or el in element.iterancestors() for el in known[1]
        ):
            return known
    return doc.getroottree().getpath(element), [element]


CENTRED = re.compile(r"text-align\s*:\s*center", re.I)
BOLD = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.I)
FRAGMENT_TITLE_LINES = 3
MAX_FRAGMENT_TITLE = 80


def _is_heading_paragraph(el) -> bool:
    """A centred or bold paragraph: <center>, align=center, text-align:center, or text that is
    entirely inside <b>/<strong> (or font-weight:bold)."""
    if el.tag == "center" or (el.get("align") or "").lower() == "center":
        return True
    if CENTRED.search(el.get("style") or "") or BOLD.search(el.get("style") or ""):
        return True
    text = cell_text(string_of(el))
    bold = "".join(cell_text(string_of(b)) for b in el.iter("b", "strong"))
    styled = "".join(
        cell_text(string_of(x))
        for x in el.iterdescendants()
        if isinstance(x.tag, str)
        and (CENTRED.search(x.get("style") or "") or BOLD.search(x.get("style") or ""))
    )
    return bool(text) and (bold == text or styled == text)


def _fragment_title(doc) -> str | None:
    """Title of a page without <title>/<h1> (an HTML fragment, a Word export): its first centred
    or bold paragraphs, joined up to the one naming the document."""
    taken: list[str] = []
    for el in doc.iter("p", "div", "center", "td"):
        text = cell_text(string_of(el))
        if not text or (el.tag in ("div", "td") and el.find(".//p") is not None):
            continue
        if not _is_heading_paragraph(el) or len(text) > MAX_FRAGMENT_TITLE:
            break
        taken.append(text)
        if TITLE_WORDS.search(text):
            return "".join(taken)
        if len(taken) >= FRAGMENT_TITLE_LINES:
            break
    return taken[0] if len(taken) == 1 and TITLE_WORDS.search(taken[0]) else None


TITLE_CLASS = (
    "//*[contains(translate(@class, 'TITLE', 'title'), 'title') or "
    "contains(translate(@id, 'TITLE', 'title'), 'title')]|//h2|//h3"
)
_TITLE_FOLD = str.maketrans("TITLE", "title")  # XPath's translate(@class, 'TITLE', 'title')
MAX_TITLE_CHARS = 100


def _title_classed(doc, marked: list | None = None) -> list:
    """What the XPath TITLE_CLASS selects, found in one walk (the XPath costs several)."""
    return [
        el
        for el, tag, eid, cls in (_marked(doc) if marked is None else marked)
        if tag in ("h2", "h3")
        or (cls is not None and "title" in cls.translate(_TITLE_FOLD))
        or (eid is not None and "title" in eid.translate(_TITLE_FOLD))
    ]


def _title(doc, marked: list | None = None) -> str | None:
    """The page's title: <meta> ArticleTitle, <ucaptitle>/<h1>, a title-classed heading, <title>,
    else the first centred or bold paragraph. The first that names a document wins (a <title>
    holding only the site's name loses to the heading above the body)."""
    found: list[str] = []
    metas = list(doc.iter("meta"))
    for name in TITLE_META:  # //meta[@name=name or @property=name]/@content, name by name
        for meta in metas:
            value = meta.get("content")
            if value is not None and name in (meta.get("name"), meta.get("property")):
                if cell_text(value):
                    found.append(cell_text(value))
    for elements in (doc.iter("ucaptitle"), doc.iter("h1"), _title_classed(doc, marked)):
        for el in elements:
            if not isinstance(el.tag, str) or el.tag.lower() in ("title", "meta"):
                continue
            text = cell_text(string_of(el))
            if text and len(text) <= MAX_TITLE_CHARS:
                found.append(text)
    for el in doc.iter("title"):
        text = TITLE_SUFFIX.sub("", cell_text(string_of(el)))
        if text:
            found.append(text)
    fragment = _fragment_title(doc)
    if fragment:
        found.append(fragment)
    if not found:
        return None
    # a title naming the report beats one naming any document (a 通知公告 box heading), which
    # beats a bare name (the site's name in <title>, a logo in <h1>)
    return min(found, key=_title_rank)


REPORT_TITLE = re.compile(r"年度报告|年报|工作报告|成绩单|总结")
MIN_DOCUMENT_TITLE = 8


def _title_rank(title: str) -> int:
    if len(title) >= MIN_DOCUMENT_TITLE and REPORT_TITLE.search(title):
        return 0
    if len(title) >= MIN_DOCUMENT_TITLE and TITLE_WORDS.search(title):
        return 1
    return 2


def _page_lines(doc, body: list) -> list[str]:
    """The page outside the body, one block a line (independent of the source's line breaks)."""
    root = doc.find(".//body")
    if root is None:
        root = doc
    out: list[str] = []
    _serialise(root, out, None, set(body))
    return [WS.sub(" ", ln).strip() for ln in "".join(out).splitlines() if ln.strip()]


def _published(doc, body: list) -> tuple[str | None, str | None]:
    """(raw date, meta | label): <meta> tags, a metadata table, then a labelled date anywhere
    outside the body, whatever else shares its element or source line."""
    metas: dict[str, str] = {}
    for meta in doc.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").lower()
        m = ANY_DATE.search(meta.get("content") or "")
        if key in DATE_META and m and key not in metas:
            metas[key] = m.group(0)
    for name in DATE_META:
        if name in metas:
            return metas[name], "meta"
    for td in doc.xpath("//td|//th|//span|//li|//dt|//label|//strong|//b"):
        label = cell_text(string_of(td))
        label_key = label.rstrip("：: ")
        if label_key in INDEX_TABLE_DATE_LABELS:
            sibling = td.getnext()
            if sibling is not None:
                m = ANY_DATE.search(cell_text(string_of(sibling)))
                if m:
                    return m.group(0), "label"
        elif label.startswith(INDEX_TABLE_DATE_LABELS) and len(label) < 40:
            m = ANY_DATE.search(label)
            if m:
                return m.group(0), "label"
    lines = _page_lines(doc, body)
    for line in lines:
        m = PUBLISHED_LABEL.search(line)
        if m:
            return m.group(1), "label"
    # weaker labels (日期：/时间：) only on a line that is page metadata, not a sentence
    for line in lines:
        if _is_meta_line(line):
            m = LABELLED_DATE.search(line)
            if m:
                return m.group(1), "label"
    return None, None


def _lines_of(rows: list[list[str]]) -> list[str]:
    return [" | ".join(row) for row in rows]


def _trafilatura_text(html: str, doc) -> tuple[str, list[Table]]:
    """trafilatura's main text; each table it kept is replaced by our expanded grid of it."""
    # imported here: a third of a parser process's start-up, and most pages never need it
    import trafilatura

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
    marked = _marked(doc)  # one walk serves the title and the body container
    title = _title(doc, marked)
    found = _containers(doc, marked)
    published, published_from = _published(doc, found[1] if found else [])
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
        published_from=published_from or ("label" if chrome_date else None),
    )


# --- plain text ---------------------------------------------------------------------------------

TITLE_WORDS = re.compile(r"报告|年报|成绩单|总结|公开工作|解读|通知|公告")
MAX_TITLE_LINE = 60


def text_title(text: str) -> str | None:
    """Title of a plain-text document: its leading short lines up to one naming the document."""
    # labels and Markdown markup are not part of the title ("标题: X", "# X")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if TITLE_LABEL.match(first) and bare_title(first):
        return bare_title(first)  # a capture that labels its title says which line it is
    lines = [bare_title(ln) for ln in text.splitlines()[:4] if bare_title(ln)]
    taken: list[str] = []
    for line in lines[:3]:
        if len(line) > MAX_TITLE_LINE or SENTENCE_END.search(line):
            break
        if TITLE_WORDS.search(line):
            return "".join(taken) + line
        # a line above the title joins it only when it names the body (沭阳县人民政府 /
        # 2023年…报告); a column name or a login link above it does not
        taken = taken + [line] if agency_of(line) else []
    return None


def clean_text(text: str) -> CleanPage:
    """A captured plain-text page (chrome and all): chrome stripped, title from its first lines."""
    cleaned, chrome_date = strip_chrome(text)
    return CleanPage(
        text=cleaned,
        title=text_title(cleaned),
        published_raw=chrome_date,
        published_from="label" if chrome_date else None,
    )
