"""The pages of the demo portals, built once from catalog.yml: host -> path -> Page.

Each portal copies the conventions of its CMS family (spec/portals.md): TRS WCM (GBK and UTF-8),
Hanweb 大汉 (XML datastore lists, dataproxy, downfile redirects), an ASP.NET site and a generic CMS.
Pages that depend on the request (dataproxy, redirects, calendar) are answered in server.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from crawler.demo import render

HERE = Path(__file__).parent
FILES = HERE / "files"
CATALOG = HERE / "catalog.yml"

ATTACH_HOST = "127.0.0.5"
HTML_UTF8 = "text/html; charset=UTF-8"
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
}
ROBOTS = "User-agent: *\nDisallow: /search/\nDisallow: /admin/\n"
OFFSITE_URL = "http://www.gov.cn/"

# Chrome of each portal: header, footer and the strings around the body (portals.md "Chrome").
CHROME: dict[str, dict[str, str]] = {
    "yuci": {
        "site": "榆次区人民政府",
        "domain": "www.yuci.gov.cn",
        "icp": "晋ICP备05003461号",
        "gongan": "晋公网安备 14070202000116号",
        "code": "1407020001",
        "tech": "拓尔思信息技术股份有限公司",
        "office": "榆次区人民政府办公室",
    },
    "hanweb": {
        "site": "淮安市洪泽区人民政府",
        "domain": "www.hongze.gov.cn",
        "icp": "苏ICP备05009037号-1",
        "gongan": "苏公网安备 32081302000101号",
        "code": "3208130001",
        "tech": "南京大汉网络有限公司",
        "office": "淮安市洪泽区人民政府办公室",
    },
    "hulan": {
        "site": "哈尔滨市呼兰区人民政府",
        "domain": "www.hrbhl.gov.cn",
        "icp": "黑ICP备10200317号",
        "gongan": "黑公网安备 23011102000105号",
        "code": "2301110001",
        "tech": "哈尔滨开普云信息科技有限公司",
        "office": "哈尔滨市呼兰区人民政府办公室",
    },
    "litong": {
        "site": "吴忠市利通区人民政府",
        "domain": "www.ltq.gov.cn",
        "icp": "宁ICP备05001584号",
        "gongan": "宁公网安备 64030202000112号",
        "code": "6403020001",
        "tech": "宁夏电子政务服务中心",
        "office": "吴忠市利通区人民政府办公室",
    },
    "jiuquan": {
        "site": "酒泉市人民政府",
        "domain": "www.jiuquan.gov.cn",
        "icp": "陇ICP备05000672号",
        "gongan": "甘公网安备 62090202000103号",
        "code": "6209000001",
        "tech": "拓尔思信息技术股份有限公司",
        "office": "酒泉市人民政府办公室",
    },
}
PORTAL_HOSTS = {
    "yuci": "127.0.0.2",
    "hanweb": "127.0.0.3",
    "hulan": "127.0.0.4",
    "litong": "127.0.0.6",
    "jiuquan": "127.0.0.7",
}
COLUMN_NAME = "政府信息公开年报"

# Column list URLs (the sources' start URLs) and pages per list page.
TRS_COLUMN = "/zwgk/zfxxgknb/"
HANWEB_COLUMNS = {"hongze": (1234, 5678), "huaian": (1240, 5679)}  # columnid, unitid
HANWEB_PER_PAGE = 15
HULAN_LIST = "/zwgk/gknb/list.aspx"
LITONG_LIST = "/xxgk/gknb/"
PER_PAGE = {"yuci": 8, "jiuquan": 6, "hulan": 6, "litong": 5}

# Hazards: links in the lists that answer something other than a report (README lists them).
HAZARD_LINKS: dict[str, list[dict]] = {
    "yuci": [
        {
            "path": "/zwgk/zfxxgknb/201104/t20110412_100404.html",
            "date": "2011-04-12",
            "title": "榆次区2010年政府信息公开年度报告（修订稿）",
            "status": 404,
            "what": "404 Not Found",
        },
        {
            "path": "/zwgk/zfxxgknb/201203/t20120330_100200.html",
            "date": "2012-03-30",
            "title": "关于更正榆次区2011年政府信息公开年度报告有关数据的说明",
            "status": 200,
            "what": "soft 404: a 200 page saying 您访问的页面不存在",
        },
    ],
    "hulan": [
        {
            "path": "/zwgk/gknb/article_view.aspx?aid=10500",
            "date": "2016-03-30",
            "title": "呼兰区2015年政府信息公开工作年度报告",
            "status": 500,
            "what": "500 ASP.NET server error",
        },
    ],
    "jiuquan": [
        {
            "path": "/zwgk/zfxxgknb/202303/t20230328_777412.html",
            "date": "2023-03-28",
            "title": "酒泉市2022年政府信息公开工作年度报告",
            "status": 412,
            "what": "412 anti-bot challenge (瑞数-style JavaScript)",
        },
    ],
}
JSESSIONID = ";jsessionid=8F3A2B1C9D0E4F5A6B7C8D9E0F1A2B3C"
SLOW_REPORT = "litong-2017"  # answers after about one second
CALENDAR_PATH = "/zwgk/rili.aspx"
# key of the page answered for list pages past the last one (TRS: meta refresh; others: empty list)
FALLBACK_LIST = "#past-last-page"  # on the 呼兰 host: ?date=YYYY-MM-DD, prev/next day forever


@dataclass
class Page:
    status: int
    body: bytes
    content_type: str = HTML_UTF8
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@cache
def catalog() -> list[dict]:
    data = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    return data["reports"]


def portal_of(entry: dict) -> str:
    return "hanweb" if entry["portal"] in HANWEB_COLUMNS else entry["portal"]


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# ---------------------------------------------------------------- chrome
def _header(chrome: dict, crumbs: list[tuple[str, str]], crumb_label: str) -> str:
    trail = " &gt; ".join(
        f'<a href="{_e(href)}">{_e(t)}</a>' if href else _e(t) for t, href in crumbs
    )
    return (
        f'<div class="top"><span>{_e(chrome["site"])}</span> <span>{chrome["domain"]}</span>'
        ' <a href="javascript:;">无障碍</a> <a href="javascript:;">长者模式</a> 简体 | 繁体'
        ' <form action="/search/" method="get"><input name="q">'
        '<a href="/search/?q=年报">站内搜索</a>'
        '</form></div>\n<div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a>'
        ' <a href="/hdjl/">互动交流</a> <a href="/bsfw/">办事服务</a></div>\n'
        f'<div class="crumb">{crumb_label}{trail}</div>'
    )


def _footer(chrome: dict) -> str:
    return (
        f'<div class="footer"><p><a href="{OFFSITE_URL}" target="_blank">中国政府网</a> | '
        '<a href="/wzdt/">网站地图</a> | <a href="/admin/login.html">网站管理</a></p>'
        f"<p>主办单位：{_e(chrome['office'])}　版权所有：{_e(chrome['site'])}</p>"
        f"<p>网站标识码：{chrome['code']}　"
        f'<a href="https://beian.miit.gov.cn/">{chrome["icp"]}</a>　'
        f"{chrome['gongan']}</p><p>技术支持：{_e(chrome['tech'])}</p></div>"
    )


def _document(title: str, inner: str, charset: str = "utf-8", meta: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="{charset}">\n'
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n{meta}'
        f"<title>{_e(title)}</title>\n</head>\n<body>\n{inner}\n</body>\n</html>\n"
    )


_TOOLS = (
    '<div class="tools"><a href="javascript:window.print()">【打印本页】</a>'
    '<a href="javascript:window.close()">【关闭窗口】</a></div>\n'
    '<div class="share">分享到：<a href="javascript:;">微信</a> <a href="javascript:;">微博</a>'
    '</div>\n<div class="qr"><img src="/images/qrcode.png" alt="">扫一扫在手机打开当前页</div>'
)
_CLICKS = (
    '<span id="clicks"></span><script>document.getElementById("clicks").innerHTML="{n}";</script>'
)


def _related(entry: dict, links: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<li><a href="{_e(href)}" target="_blank">{_e(t)}</a></li>' for t, href in links
    )
    return f'<div class="related"><h4>关联稿件</h4><ul>{items}</ul></div>'


def _attachments_html(entry: dict) -> str:
    atts = entry.get("attachments", [])
    if not atts:
        return ""
    links = "".join(
        f'<p>附件{i + 1}：<a href="{_e(a["path"])}" target="_blank">{_e(a["title"])}</a></p>'
        for i, a in enumerate(atts)
    )
    return f'<div class="attachments">{links}</div>'


# ---------------------------------------------------------------- bodies
def body_html(entry: dict, word: bool) -> str:
    from crawler.demo.catalog_gen import PORTALS

    portal = PORTALS[entry["portal"]]
    info = {"short": portal["short"], "area": portal["area"]}
    if entry.get("body_in_attachment"):
        return (
            '<p style="text-indent:2em">根据《中华人民共和国政府信息公开条例》规定，'
            f"现将{_e(entry['title'])}"
            f"予以公布，全文详见附件。</p>\n{_attachments_html(entry)}"
        )
    report = None
    if entry["kind"] == "other":
        report = next(
            (
                r
                for r in catalog()
                if r["portal"] == entry["portal"]
                and r["year"] == entry["year"]
                and r["kind"] == "annual_report"
            ),
            None,
        )
    blocks = render.body_for(entry, info["short"], info["area"], report)
    return render.blocks_html(blocks, word=word)


@cache
def docx_bytes(report_id: str) -> bytes:
    from crawler.demo.catalog_gen import PORTALS

    entry = next(r for r in catalog() if r["id"] == report_id)
    portal = PORTALS[entry["portal"]]
    blocks = render.body_for(entry, portal["short"], portal["area"])
    title = entry["title"]
    if report_id == "litong-2015":  # the real DOCX spaces out the agency name on its own line
        blocks, title = blocks[2:], "吴 忠 市 利 通 区 2015年政府信息公开工作年度报告"
    return render.blocks_docx(title, blocks, entry["published"])


def attachment_bytes(source: str) -> bytes:
    kind, _, name = source.partition(":")
    if not name:
        return (FILES / source).read_bytes()
    if kind == "truncated":  # a broken upload: the first 40% of the file
        data = (FILES / name).read_bytes()
        return data[: len(data) * 2 // 5]
    if kind == "ole2":
        return render.ole2_stub(name)
    if kind == "docx":
        return docx_bytes(name)
    raise ValueError(f"demo catalog: unknown attachment source {source!r}")


def _related_links(entry: dict) -> list[tuple[str, str]]:
    same = [
        r
        for r in catalog()
        if r["portal"] == entry["portal"]
        and r["id"] != entry["id"]
        and r["kind"] == "annual_report"
    ]
    same.sort(key=lambda r: abs(r["year"] - entry["year"]))
    return [(r["title"], r["path"]) for r in same[:2]]


# ---------------------------------------------------------------- TRS WCM
def trs_article(entry: dict, part: int = 0, parts: int = 1, body: str | None = None) -> str:
    portal = entry["portal"]
    chrome = CHROME[portal]
    gbk = portal == "yuci"
    published = date.fromisoformat(entry["published"])
    meta = (
        f'<meta name="SiteName" content="{_e(chrome["site"])}">\n'
        f'<meta name="ColumnName" content="{COLUMN_NAME}">\n'
        f'<meta name="ArticleTitle" content="{_e(entry["title"])}">\n'
        f'<meta name="PubDate" content="{entry["published"]} 09:30">\n'
        f'<meta name="ContentSource" content="{"本站原创" if gbk else "市政府办公室"}">\n'
    )
    if gbk:
        info = (
            f'<div class="info">{_e(chrome["site"][:3])}政府 {chrome["domain"]}　　'
            f"日期:{published:%Y年%m月%d日}　　来源:本站原创　　点击数:{_CLICKS.format(n=1024)}"
            '　　字体：<a href="javascript:;">特大</a> <a href="javascript:;">大</a> '
            '<a href="javascript:;">中</a> <a href="javascript:;">小</a></div>'
        )
    else:
        info = (
            f'<div class="info">来源:市政府办公室 | 日期:{entry["published"]} | 作者: | '
            f'点击:{_CLICKS.format(n=356)} | 【字号：<a href="javascript:;">大</a> '
            '<a href="javascript:;">中</a> <a href="javascript:;">小</a>】</div>'
        )
    content = body if body is not None else body_html(entry, word=True)
    stem = entry["path"].rsplit("/", 1)[1].removesuffix(".html")
    pager = (
        f'<div class="page"><script>createPageHTML({parts}, {part}, "{stem}", "html");</script>'
        "</div>"
        if parts > 1
        else ""
    )
    crumbs = [("首页", "/"), ("政务公开", "/zwgk/"), (COLUMN_NAME, TRS_COLUMN + "index.html")]
    inner = (
        _header(chrome, crumbs, "您当前的位置：") + f"\n<h1>{_e(entry['title'])}</h1>\n{info}\n"
        f'<div class="TRS_Editor">\n{content}\n</div>\n{_attachments_html(entry)}{pager}\n'
        f"{_TOOLS}\n{_related(entry, _related_links(entry))}\n{_footer(chrome)}"
    )
    return _document(entry["title"], inner, "gbk" if gbk else "utf-8", meta)


def trs_list(portal: str, items: list[tuple[str, str, str]], page: int, count: int) -> str:
    chrome = CHROME[portal]
    lis = "\n".join(
        f'<li><a href="{_e(href)}" target="_blank" title="{_e(t)}">{_e(t)}</a><span>{d}</span></li>'
        for t, href, d in items
    )
    if portal == "yuci":
        script = f'createPageHTML({count}, {page}, "index", "html");'
    else:  # the variant that declares the page count first
        script = (
            f"var countPage = {count}//共多少页\nvar currentPage = {page};//所在页从0开始\n"
            'createPageHTML(countPage, currentPage, "index", "html");'
        )
    crumbs = [("首页", "/"), ("政务公开", "/zwgk/"), (COLUMN_NAME, "")]
    inner = (
        _header(chrome, crumbs, "您当前的位置：") + f'\n<div class="list"><h2>{COLUMN_NAME}</h2>\n'
        f'<ul>\n{lis}\n</ul>\n<div class="page"><script type="text/javascript">\n{script}\n'
        f"</script></div></div>\n{_footer(chrome)}"
    )
    return _document(
        f"{COLUMN_NAME}_{chrome['site']}", inner, "gbk" if portal == "yuci" else "utf-8"
    )


TRS_PAST_LAST = (
    '<html><head><meta http-equiv="refresh" content="0; url=./"></head><body></body></html>'
)


def soft_404(chrome: dict) -> str:
    inner = (
        _header(chrome, [("首页", "/")], "您当前的位置：")
        + '\n<div class="error"><h2>您访问的页面不存在或已被删除！</h2>'
        "<p>请检查您输入的网址是否正确，"
        '或<a href="/">返回首页</a>。</p></div>\n' + _footer(chrome)
    )
    return _document("提示信息", inner, "gbk" if chrome is CHROME["yuci"] else "utf-8")


RUISHU_412 = (
    '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; '
    'charset=utf-8"><meta http-equiv="Content-Language" content="zh-CN">'
    '<script type="text/javascript" r="m">$_ts=window[\'$_ts\'];if(!$_ts)$_ts={};'
    '$_ts.nsd=48125;$_ts.cd="qhfArrAlEqWmcGAlrqGmDaqkrqWqcOAlrqlEcsL1xGaqcaq";</script>'
    '<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.dfe1675.js"'
    ' r="m"></script></head><body></body></html>'
)


# ---------------------------------------------------------------- Hanweb 大汉
def hanweb_record(title: str, href: str, day: str) -> str:
    return (
        f'<record><![CDATA[\n<li><a href="{_e(href)}" target="_blank" title="{_e(title)}">'
        f'{_e(title)}</a><span class="bt_time">{day}</span></li>\n]]></record>'
    )


def hanweb_column(portal: str, items: list[tuple[str, str, str]]) -> str:
    chrome = CHROME["hanweb"]
    col, unit = HANWEB_COLUMNS[portal]
    records = "\n".join(hanweb_record(*i) for i in items[:HANWEB_PER_PAGE])
    more = (
        f'<p class="more"><a href="/col/col{col}/index.html{JSESSIONID}">更多&gt;&gt;</a></p>'
        if portal == "hongze"
        else ""
    )
    script = (
        f'<div id="{unit}">\n<script type="text/xml">\n<datastore>\n'
        f'<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&path=/'
        f'&columnid={col}&unitid={unit}&webname=&permissiontype=0"></a>]]></nextgroup>\n'
        f"<recordset>\n{records}\n</recordset>\n</datastore>\n</script>\n"
        '<script language="javascript" src="/module/web/jpage/jpage.js"></script>\n'
        f"<script>var jpage = new JPage({{totalRecord:{len(items)},perPage:{HANWEB_PER_PAGE},"
        "proxyUrl:'/module/web/jpage/dataproxy.jsp',params:{col:1,appid:1,webid:1,path:'/',"
        f"columnid:{col},sourceContentType:1,unitid:{unit},webname:'',permissiontype:0}}}});"
        "</script>\n</div>"
    )
    crumbs = [("首页", "/"), ("政务公开", "/col/col1200/index.html"), (COLUMN_NAME, "")]
    inner = (
        _header(chrome, crumbs, "当前位置：") + f'\n<div class="list"><h2>{COLUMN_NAME}</h2>\n'
        f"{script}\n{more}</div>\n{_footer(chrome)}"
    )
    return _document(f"{COLUMN_NAME} {chrome['site']}", inner)


def hanweb_datastore(items: list[tuple[str, str, str]], start: int, end: int, per: int) -> str:
    chosen = items[max(start - 1, 0) : max(end, 0)]
    pages = -(-len(items) // max(per, 1))
    records = "\n".join(hanweb_record(*i) for i in chosen)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
        f"<totalrecord>{len(items)}</totalrecord>\n"
        f"<totalpage>{pages}</totalpage>\n<recordset>\n{records}\n</recordset>\n</datastore>\n"
    )


def hanweb_article(entry: dict) -> str:
    chrome = dict(CHROME["hanweb"])
    if entry["portal"] == "huaian":
        chrome.update(office="淮安市人民政府办公室")
    year = entry["published"][:4]
    index_no = (
        f"{entry['division_code']}000/{year}-{int(entry['uploaded'].replace('-', '')) % 99991:05d}"
    )
    meta_table = (
        '<table class="xxgk_table" border="0"><tbody>'
        f"<tr><td>索引号：</td><td>{index_no}</td><td>分类：</td><td>{COLUMN_NAME}</td></tr>"
        f"<tr><td>发布机构：</td><td>{_e(entry['agency'])}办公室</td><td>成文日期：</td>"
        f"<td>{entry['published']}</td></tr>"
        f"<tr><td>组配分类：</td><td>{COLUMN_NAME}</td><td>公开方式：</td><td>主动公开</td></tr>"
        "<tr><td>文号：</td><td></td><td>有效性：</td><td>有效</td></tr></tbody></table>"
    )
    info = (
        f'<div class="info">发布日期：{entry["published"]}　访问次数：{_CLICKS.format(n=213)}　'
        '字号：[ <a href="javascript:;">大</a> <a href="javascript:;">中</a> '
        '<a href="javascript:;">小</a> ]</div>'
    )
    col = HANWEB_COLUMNS[entry["portal"]][0]
    crumbs = [
        ("首页", "/"),
        ("政务公开", "/col/col1200/index.html"),
        (COLUMN_NAME, f"/col/col{col}/index.html"),
    ]
    content = body_html(entry, word=False)
    if not entry.get("body_in_attachment"):
        content += _attachments_html(entry)
    inner = (
        _header(chrome, crumbs, "当前位置：") + f"\n{meta_table}\n<h1>{_e(entry['title'])}</h1>\n"
        f'{info}\n<div id="zoom">\n{content}\n</div>\n{_TOOLS}\n'
        f"{_related(entry, _related_links(entry))}\n{_footer(chrome)}"
    )
    return _document(entry["title"], inner)


# ---------------------------------------------------------------- ASP.NET (呼兰) and generic (利通)
def aspnet_article(entry: dict) -> str:
    chrome = CHROME["hulan"]
    info = (
        f'<div class="info">发布时间：{entry["published"]}　来源：区政府办公室　浏览次数：'
        f'<span id="hits"></span><script src="/Ajax/Hits.aspx?aid=1"></script>　'
        '字体：<a href="javascript:;">特大</a> <a href="javascript:;">大</a> '
        '<a href="javascript:;">中</a> <a href="javascript:;">小</a></div>'
    )
    content = body_html(entry, word=False)
    if not entry.get("body_in_attachment"):
        content += _attachments_html(entry)
    crumbs = [
        ("首页", "/"),
        ("政务公开", "/zwgk/"),
        (COLUMN_NAME, HULAN_LIST + "?page=1"),
        ("正文", ""),
    ]
    inner = (
        _header(chrome, crumbs, "当前位置：") + f'\n<form method="post" id="form1">'
        '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTM0NjI4OTk2OWRk">'
        f'\n<h1>{_e(entry["title"])}</h1>\n{info}\n<div class="article-content" id="ivs_content">\n'
        f"{content}\n</div>\n</form>\n{_TOOLS}\n{_related(entry, _related_links(entry))}\n"
        f"{_footer(chrome)}"
    )
    return _document(entry["title"], inner)


def aspnet_list(items: list[tuple[str, str, str]], page: int, pages: int, total: int) -> str:
    chrome = CHROME["hulan"]
    lis = "\n".join(
        f'<li><a href="{_e(href.rsplit("/", 1)[1])}" target="_blank">{_e(t)}</a>'
        f'<span class="date">{d}</span></li>'
        for t, href, d in items
    )
    if not items:
        lis = '<li class="empty">暂无信息</li>'
    nav = f"共 {total} 条记录 当前第{page}/{pages}页 " + _pager(
        page, pages, lambda n: f"list.aspx?page={n}"
    )
    calendar = (
        f'<div class="calendar"><h4>政务日历</h4><a href="{CALENDAR_PATH}?date=2024-03-31">'
        "2024-03-31</a></div>"
    )
    crumbs = [("首页", "/"), ("政务公开", "/zwgk/"), (COLUMN_NAME, "")]
    inner = (
        _header(chrome, crumbs, "当前位置：")
        + f'\n<div class="list"><ul class="list">\n{lis}\n</ul>\n'
        f'<div class="pager">{nav}</div></div>\n{calendar}\n{_footer(chrome)}'
    )
    return _document(f"{COLUMN_NAME}-{chrome['site']}", inner)


def _pager(page: int, pages: int, url: Callable[[int], str]) -> str:
    """首页 / 上一页 / 下一页 / 尾页 links, the pager every demo CMS list shares."""
    links = [f'<a href="{url(1)}">首页</a>']
    if page > 1:
        links.append(f'<a href="{url(page - 1)}">上一页</a>')
    if page < pages:
        links.append(f'<a href="{url(page + 1)}">下一页</a>')
    links.append(f'<a href="{url(pages)}">尾页</a>')
    return " ".join(links)


def calendar_page(day: date) -> str:
    prev_day, next_day = (
        date.fromordinal(day.toordinal() - 1),
        date.fromordinal(day.toordinal() + 1),
    )
    inner = (
        f"<h2>政务日历 {day.isoformat()}</h2><p>当日无政务活动。</p>"
        f'<a href="{CALENDAR_PATH}?date={prev_day.isoformat()}">前一天</a> '
        f'<a href="{CALENDAR_PATH}?date={next_day.isoformat()}">后一天</a>'
    )
    return _document("政务日历", inner)


ASPNET_500 = (
    "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' "
    "Application.</h1><h2><i>Runtime Error</i></h2><p>An application error occurred on the "
    "server.</p></body></html>"
)


def generic_article(entry: dict) -> str:
    chrome = CHROME["litong"]
    info = (
        f'<div class="info">发布日期：{entry["published"]}　信息来源：{chrome["office"]}　'
        '字号：[<a href="javascript:;">大</a> <a href="javascript:;">中</a> '
        f'<a href="javascript:;">小</a>]　访问量：{_CLICKS.format(n=98)}</div>'
    )
    content = body_html(entry, word=False)
    if not entry.get("body_in_attachment"):
        content += _attachments_html(entry)
    crumbs = [("首页", "/"), ("信息公开", "/xxgk/"), (COLUMN_NAME, LITONG_LIST + "index.html")]
    inner = (
        _header(chrome, crumbs, "您当前的位置：") + f"\n<h1>{_e(entry['title'])}</h1>\n{info}\n"
        f'<div class="xxgk_content">\n{content}\n</div>\n{_TOOLS}\n'
        f"{_related(entry, _related_links(entry))}\n{_footer(chrome)}"
    )
    return _document(entry["title"], inner)


def generic_list(items: list[tuple[str, str, str]], page: int, pages: int) -> str:
    chrome = CHROME["litong"]
    name = lambda n: "index.html" if n == 1 else f"index_{n}.html"  # noqa: E731
    lis = "\n".join(
        f'<li><a href="{_e(href)}">{_e(t)}</a><em>{d}</em></li>' for t, href, d in items
    )
    if not items:
        lis = "<li>暂无信息</li>"
    nav = _pager(page, pages, name) + f" 第{page}页/共{pages}页"
    crumbs = [("首页", "/"), ("信息公开", "/xxgk/"), (COLUMN_NAME, "")]
    inner = (
        _header(chrome, crumbs, "您当前的位置：") + f'\n<div class="list"><ul>\n{lis}\n</ul>\n'
        f'<div class="pages">{nav}</div></div>\n{_footer(chrome)}'
    )
    return _document(f"{COLUMN_NAME}-{chrome['site']}", inner)


def simple_page(chrome_key: str, title: str, text: str, links: list[tuple[str, str]] = ()) -> str:
    chrome = CHROME[chrome_key]
    lis = "".join(f'<li><a href="{_e(href)}">{_e(t)}</a></li>' for t, href in links)
    inner = (
        _header(chrome, [("首页", "/")], "当前位置：") + f"\n<h2>{_e(title)}</h2><p>{_e(text)}</p>"
        f"<ul>{lis}</ul>\n{_footer(chrome)}"
    )
    return _document(title, inner, "gbk" if chrome_key == "yuci" else "utf-8")


# ---------------------------------------------------------------- the whole site map
def _items(portal: str) -> list[tuple[str, str, str]]:
    """List entries of a column, newest first: (title, path, date)."""
    rows = [(r["title"], r["path"], r["uploaded"]) for r in catalog() if r["portal"] == portal]
    rows += [(h["title"], h["path"], h["date"]) for h in HAZARD_LINKS.get(portal, [])]
    return sorted(rows, key=lambda r: (r[2], r[1]), reverse=True)


def column_items(portal: str) -> list[tuple[str, str, str]]:
    return _items(portal)


def _html(text: str, status: int = 200, charset: str = "utf-8", delay: float = 0.0) -> Page:
    ctype = "text/html; charset=GBK" if charset == "gbk" else HTML_UTF8
    return Page(status, text.encode(charset), ctype, delay=delay)


@cache
def build_site() -> dict[str, dict[str, Page]]:
    """Every static page of every host, keyed by host and path (with its query string)."""
    site: dict[str, dict[str, Page]] = {h: {} for h in (*PORTAL_HOSTS.values(), ATTACH_HOST)}
    for host in site:
        site[host]["/robots.txt"] = Page(200, ROBOTS.encode(), "text/plain; charset=UTF-8")
    for key, host in PORTAL_HOSTS.items():
        charset = "gbk" if key == "yuci" else "utf-8"
        site[host]["/search/"] = _html(
            simple_page(key, "站内搜索", "请输入关键词。"), charset=charset
        )
        site[host]["/admin/login.html"] = _html(
            simple_page(key, "后台管理", "请登录。"), charset=charset
        )
    # TRS columns
    for portal in ("yuci", "jiuquan"):
        host, charset = PORTAL_HOSTS[portal], ("gbk" if portal == "yuci" else "utf-8")
        items = [(t, "." + p.removeprefix(TRS_COLUMN[:-1]), d) for t, p, d in _items(portal)]
        per = PER_PAGE[portal]
        count = -(-len(items) // per)
        for n in range(count):
            text = trs_list(portal, items[n * per : (n + 1) * per], n, count)
            site[host][TRS_COLUMN + ("index.html" if n == 0 else f"index_{n}.html")] = _html(
                text, charset=charset
            )
        site[host][TRS_COLUMN] = site[host][TRS_COLUMN + "index.html"]
        site[host]["/"] = _html(
            simple_page(
                portal,
                CHROME[portal]["site"],
                "欢迎访问。",
                [(COLUMN_NAME, TRS_COLUMN + "index.html")],
            ),
            charset=charset,
        )
        site[host][FALLBACK_LIST] = _html(TRS_PAST_LAST, charset=charset)
    # Hanweb columns
    host = PORTAL_HOSTS["hanweb"]
    for portal, (col, _) in HANWEB_COLUMNS.items():
        site[host][f"/col/col{col}/index.html"] = _html(hanweb_column(portal, _items(portal)))
    site[host]["/"] = _html(
        simple_page(
            "hanweb",
            CHROME["hanweb"]["site"],
            "欢迎访问。",
            [
                (COLUMN_NAME, "/col/col1234/index.html"),
                ("淮安市政府信息公开年报", "/col/col1240/index.html"),
            ],
        )
    )
    # ASP.NET list
    host, items, per = PORTAL_HOSTS["hulan"], _items("hulan"), PER_PAGE["hulan"]
    pages = -(-len(items) // per)
    for n in range(1, pages + 1):
        page = _html(aspnet_list(items[(n - 1) * per : n * per], n, pages, len(items)))
        site[host][f"{HULAN_LIST}?page={n}"] = page
    site[host][HULAN_LIST] = site[host][f"{HULAN_LIST}?page=1"]
    site[host][FALLBACK_LIST] = _html(aspnet_list([], 0, pages, len(items)))
    site[host]["/"] = _html(
        simple_page(
            "hulan", CHROME["hulan"]["site"], "欢迎访问。", [(COLUMN_NAME, HULAN_LIST + "?page=1")]
        )
    )
    # generic list
    host, items, per = PORTAL_HOSTS["litong"], _items("litong"), PER_PAGE["litong"]
    items = [(t, p, d) for t, p, d in items]
    pages = -(-len(items) // per)
    for n in range(1, pages + 1):
        name = "index.html" if n == 1 else f"index_{n}.html"
        site[host][LITONG_LIST + name] = _html(
            generic_list(items[(n - 1) * per : n * per], n, pages)
        )
    site[host][LITONG_LIST] = site[host][LITONG_LIST + "index.html"]
    site[host][FALLBACK_LIST] = _html(generic_list([], pages + 1, pages))
    site[host]["/"] = _html(
        simple_page(
            "litong",
            CHROME["litong"]["site"],
            "欢迎访问。",
            [(COLUMN_NAME, LITONG_LIST + "index.html")],
        )
    )
    # articles and attachments
    for entry in catalog():
        _add_article(site, entry)
    # hazards
    yuci, hulan, jq = PORTAL_HOSTS["yuci"], PORTAL_HOSTS["hulan"], PORTAL_HOSTS["jiuquan"]
    soft = HAZARD_LINKS["yuci"][1]["path"]
    site[yuci][soft] = _html(soft_404(CHROME["yuci"]), charset="gbk")
    site[hulan][HAZARD_LINKS["hulan"][0]["path"]] = Page(500, ASPNET_500.encode(), HTML_UTF8)
    site[jq][HAZARD_LINKS["jiuquan"][0]["path"]] = Page(412, RUISHU_412.encode(), HTML_UTF8)
    return site


def _add_article(site: dict[str, dict[str, Page]], entry: dict) -> None:
    host, portal = entry["host"], portal_of(entry)
    delay = 1.0 if entry["id"] == SLOW_REPORT else 0.0
    if portal in ("yuci", "jiuquan"):
        charset = "gbk" if portal == "yuci" else "utf-8"
        if entry.get("pages", 1) > 1:
            blocks = render.body_for(entry, "", "")
            half = next(
                i for i, (k, v) in enumerate(blocks) if k == "h" and str(v).startswith("五、")
            )
            first = trs_article(entry, 0, 2, render.blocks_html(blocks[:half], word=True))
            second = trs_article(entry, 1, 2, render.blocks_html(blocks[half:], word=True))
            site[host][entry["path"]] = _html(first, charset=charset)
            site[host][entry["path"].replace(".html", "_1.html")] = _html(second, charset=charset)
        else:
            site[host][entry["path"]] = _html(trs_article(entry), charset=charset)
    elif portal == "hanweb":
        site[host][entry["path"]] = _html(hanweb_article(entry))
    elif portal == "hulan":
        site[host][entry["path"]] = _html(aspnet_article(entry))
    else:
        site[host][entry["path"]] = _html(generic_article(entry), delay=delay)
    for att in entry.get("attachments", []):
        page = Page(200, attachment_bytes(att["source"]), CONTENT_TYPES[att["type"]])
        if "redirect" in att:
            site[ATTACH_HOST][re.sub(r"^http://[^/]+", "", att["redirect"])] = page
        else:
            site[host][att["path"]] = page


__all__ = ["Page", "build_site", "catalog", "column_items", "HAZARD_LINKS", "PORTAL_HOSTS"]
