"""Pure list/detail parsers against saved pages (bytes as served, with URL and Content-Type)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from crawler.parsing import (
    ListRequest,
    detect_block,
    is_attachment_url,
    parse_detail,
    parse_list,
)
from crawler.urls import canonical_url, host_allowed, url_key

FIXTURES = Path(__file__).parent / "fixtures"


def _cases(kind: str) -> list[Path]:
    return sorted(
        p
        for p in (FIXTURES / kind).glob("*/*")
        if p.suffix in (".html", ".xml", ".json")
        and not p.name.endswith((".meta.json", ".expected.json"))
        and (p.with_suffix(".meta.json")).exists()
    )


def _meta(page: Path) -> dict:
    return json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))


def _expected(page: Path) -> dict:
    return json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))


def list_result(page: Path) -> dict:
    meta = _meta(page)
    result = parse_list(
        page.read_bytes(), meta["url"], page.parent.name, content_type=meta["content_type"]
    )
    return {
        "reports": [asdict(link) for link in result.reports],
        "pages": [
            {
                "url": p.url,
                "method": p.method,
                "form": [list(f) for f in p.form],
                "inherit_form": p.inherit_form,
            }
            for p in result.pages
        ],
    }


def detail_result(page: Path) -> dict:
    meta = _meta(page)
    result = parse_detail(page.read_bytes(), meta["url"], content_type=meta["content_type"])
    return {
        "title": result.title,
        # attachments carry no list date: a report page is not a list entry
        "attachments": [{"url": a.url, "text": a.text} for a in result.attachments],
        "continuations": result.continuations,
    }


@pytest.mark.parametrize("page", _cases("lists"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_parse_list_matches_expected(page: Path) -> None:
    assert list_result(page) == _expected(page)


@pytest.mark.parametrize("page", _cases("details"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_parse_detail_matches_expected(page: Path) -> None:
    assert detail_result(page) == _expected(page)


def test_fixture_folders_are_not_empty() -> None:
    families = {p.parent.name for p in _cases("lists")}
    assert families == {"trs", "hanweb", "generic"}
    assert len(_cases("details")) >= 3


def test_parse_list_rejects_unknown_family() -> None:
    with pytest.raises(ValueError, match="unknown CMS family 'vsb'"):
        parse_list(b"<html></html>", "http://a.gov.cn/", "vsb")


def test_parse_list_report_url_pattern_overrides_title_rules() -> None:
    html = (
        '<a href="/gk/nb/2023/1.html">2022年度</a>'
        '<a href="/gk/tz/2023/2.html">2022年政府信息公开工作年度报告</a>'
    )
    result = parse_list(
        html, "http://x.gov.cn/gk/nb/", "generic", report_url_pattern=r"/gk/nb/\d{4}/\d+\.html$"
    )
    assert [r.url for r in result.reports] == ["http://x.gov.cn/gk/nb/2023/1.html"]


def test_parse_list_trs_newer_create_page_with_container_id() -> None:
    html = "<script>createPageHTML('page_div', 3, 1, 'index', 'shtml', 45);</script>"
    result = parse_list(html, "http://a.gov.cn/zfxxgk/gknb/index_1.shtml", "trs")
    assert result.pages == [
        ListRequest("http://a.gov.cn/zfxxgk/gknb/index.shtml"),
        ListRequest("http://a.gov.cn/zfxxgk/gknb/index_2.shtml"),
    ]


def test_parse_list_hanweb_dataproxy_without_total_chains_while_groups_are_full() -> None:
    records = "".join(
        f'<record><![CDATA[<li><a href="/art/2020/1/{i}/art_9_{i}.html">x{i}</a></li>]]></record>'
        for i in range(1, 4)
    )
    xml = f"<datastore><recordset>{records}</recordset></datastore>"
    url = "http://h.gov.cn/module/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=3"
    result = parse_list(xml, url, "hanweb")
    assert len(result.reports) == 3
    assert result.pages == [
        ListRequest(
            "http://h.gov.cn/module/jpage/dataproxy.jsp?startrecord=7&endrecord=9&perpage=3",
            "POST",
            inherit_form=True,
        )
    ]
    short = xml.replace(records, records.split("</record>")[0] + "</record>")
    assert parse_list(short, url, "hanweb").pages == []


def test_hanweb_records_read_as_xml_cdata_or_escaped() -> None:
    link = '<li><a href="/art/2020/1/2/art_9_2.html" title="x">2019年度报告</a></li>'
    escaped = link.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    url = "http://h.gov.cn/module/jpage/dataproxy.jsp?startrecord=1&endrecord=3&perpage=3"
    for record in (f"<![CDATA[{link}]]>", escaped):
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<datastore><totalrecord>1</totalrecord>'
            f"<recordset><record>{record}</record></recordset></datastore>"
        )
        result = parse_list(xml.encode(), url, "hanweb", content_type="text/xml;charset=UTF-8")
        assert [(r.url, r.text) for r in result.reports] == [
            ("http://h.gov.cn/art/2020/1/2/art_9_2.html", "2019年度报告")
        ]
        assert result.pages == []


def test_url_key_ignores_query_order_but_fetch_url_keeps_it() -> None:
    a = "http://h.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=17&perpage=15"
    b = "http://h.gov.cn/module/web/jpage/dataproxy.jsp?endrecord=17&startrecord=1&perpage=15"
    assert canonical_url(a) == a and url_key(a) == url_key(b)
    assert canonical_url("HTTP://WWW.A.gov.cn:80/x/年报.html#top") == (
        "http://www.a.gov.cn/x/%E5%B9%B4%E6%8A%A5.html"
    )


def test_canonical_url_strips_session_ids_and_calendar_params() -> None:
    assert (
        canonical_url(
            "HTTP://A.gov.cn:80/x/list.jsp;jsessionid=ABC?pageNum=2&PHPSESSID=9&date=2023-01-05#top"
        )
        == "http://a.gov.cn/x/list.jsp?pageNum=2"
    )
    assert canonical_url("http://a.gov.cn/c?year=2022&month=3&cat=1") == "http://a.gov.cn/c?cat=1"
    assert canonical_url("http://a.gov.cn/c?year=2022") == "http://a.gov.cn/c?year=2022"


def test_host_allowed_accepts_subdomains_only() -> None:
    assert host_allowed("http://xxgk.sxgp.gov.cn/a", ("sxgp.gov.cn",))
    assert not host_allowed("http://sxgp.gov.cn.evil.com/a", ("sxgp.gov.cn",))
    assert not host_allowed("http://bjmssf.com/zfxxgk/", ("sxgp.gov.cn",))


def test_is_attachment_url_by_extension_script_and_parameter() -> None:
    assert is_attachment_url("http://a.gov.cn/202301/P020230118573825014271.PDF")
    assert is_attachment_url(
        "http://a.gov.cn/module/download/downfile.jsp?classid=0&filename=ab.pdf"
    )
    assert is_attachment_url("http://a.gov.cn/viewer.html?file=/u/report.ofd")
    assert not is_attachment_url("http://a.gov.cn/202301/t20230118_1.html")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            412,
            b"<html><script>$_ts=window['$_ts'];</script></html>",
            "HTTP 412 (瑞数-style bot protection)",
        ),
        (
            521,
            b"<script>document.cookie='__jsl_clearance=1'</script>",
            "HTTP 521 (加速乐 challenge)",
        ),
        (200, b"<html><script>var wzwschallenge='x';</script></html>", "WZWS JavaScript challenge"),
        (200, b"<html><p>2022\xe5\xb9\xb4</p></html>", None),
    ],
)
def test_detect_block(status: int, body: bytes, reason: str | None) -> None:
    assert detect_block(status, body) == reason


def test_parse_list_finds_annual_report_columns_on_a_portal_page():
    html = (
        '<ul><li><a href="/zwgk/">政务公开</a></li>'
        '<li><a href="/zwgk/zfxxgknb/">政府信息公开年报</a></li>'
        '<li><a href="/zwgk/ndbg/index.html">政府信息公开 年度报告</a></li>'
        '<li><a href="/x/202001/t20200101_1.html">2019年政府信息公开工作年度报告</a></li></ul>'
    )
    result = parse_list(html.encode(), "http://www.yuci.gov.cn/", "generic")
    assert [c.url for c in result.columns] == [
        "http://www.yuci.gov.cn/zwgk/zfxxgknb/",
        "http://www.yuci.gov.cn/zwgk/ndbg/index.html",
    ]
    assert [r.url for r in result.reports] == ["http://www.yuci.gov.cn/x/202001/t20200101_1.html"]


TRSAPI_PAGE = """<html><body><ul class="list"><li>
<a href="./202401/t20240126_1.htm">某县2023年政府信息公开工作年度报告</a>
<span>2024-01-26</span></li></ul>
<script>require(['list2.trsapi'], function (listModel) { listModel({ maxStaticIndex: %d,
 url: '%s', type: '%s', params: { channelid: '88', page: '1' },
 pagebar: { prepage: 15, recordCount: '50' } }); });</script></body></html>"""


def test_parse_list_trsapi_asks_the_api_for_the_pages_after_the_static_ones() -> None:
    url = "http://www.a.gov.cn/zwgk/gknb/index.html"
    body = TRSAPI_PAGE % (1, "/trsapi/list.json", "get")
    result = parse_list(body, url, "trs")
    assert [r.date for r in result.reports] == ["2024-01-26"]
    assert result.pages == [
        ListRequest("http://www.a.gov.cn/trsapi/list.json?channelid=88&page=3&prepage=15"),
        ListRequest("http://www.a.gov.cn/trsapi/list.json?channelid=88&page=4&prepage=15"),
        ListRequest("http://www.a.gov.cn/zwgk/gknb/index_1.html"),
    ]
    post = parse_list(TRSAPI_PAGE % (2, "list2.trsapi", "post"), url, "trs")
    assert post.pages == [
        ListRequest(
            "http://www.a.gov.cn/zwgk/gknb/list2.trsapi",
            "POST",
            (("channelid", "88"), ("page", "4"), ("prepage", "15")),
        ),
        *[ListRequest(f"http://www.a.gov.cn/zwgk/gknb/index_{i}.html") for i in (1, 2)],
    ]


def test_parse_list_json_answer_without_a_count_asks_for_the_next_page_while_full() -> None:
    items = [
        {
            "DOCTITLE": f"某县{2000 + i}年政府信息公开工作年度报告",
            "DOCPUBURL": f"/nb/t2020_{i}.html",
        }
        for i in range(3)
    ]
    url = "http://www.a.gov.cn/api/list?page=2&prepage=3"
    full = parse_list(json.dumps({"docs": items}), url, "trs", content_type="application/json")
    assert [r.url for r in full.reports] == [
        f"http://www.a.gov.cn/nb/t2020_{i}.html" for i in range(3)
    ]
    assert full.pages == [ListRequest("http://www.a.gov.cn/api/list?page=3&prepage=3")]
    short = parse_list(json.dumps({"docs": items[:2]}), url, "trs", content_type="application/json")
    assert short.pages == []


def test_parse_list_column_news_are_not_reports() -> None:
    body = """<ul>
<li><a href="./202401/t20240126_1.htm">某县2023年政府信息公开工作年度报告</a></li>
<li><a href="./202401/t20240122_2.htm">县政府召开政务公开工作推进会</a></li>
<li><a href="./202312/t20231215_3.htm">关于开展2023年政务公开培训的通知</a></li>
<li><a href="./202303/t20230330_4.htm">某县2022年政务公开工作成绩单</a></li>
<li><a href="./202301/t20230130_5.htm">2022年度</a></li>
<li><a href="./202201/t20220128_6.htm">某县发展和改革局2021年政府信息公开工...</a></li>
</ul>"""
    result = parse_list(body, "http://www.a.gov.cn/zwgk/gknb/index.html", "trs")
    assert [r.url.rsplit("_", 1)[1] for r in result.reports] == ["1.htm", "4.htm", "5.htm", "6.htm"]


def test_parse_list_entry_dates_beside_inside_or_around_links() -> None:
    body = """<table>
<tr><td><a href="./202401/t20240126_1.htm">某县2023年政府信息公开工作年度报告</a></td>
<td>2024/1/26</td></tr>
<tr><td><a href="./202301/t20230120_2.htm">某县2022年政府信息公开工作年度报告
<span>[2023-01-20]</span></a></td></tr>
<tr><td><a href="./202201/t20220125_3.htm">某县2021年政府信息公开工作年度报告</a>
<span>2022年1月25日</span></td></tr>
</table><p><a href="./202101/t20210130_4.htm">某县2020年政府信息公开工作年度报告</a>
<a href="./202001/t20200130_5.htm">某县2019年政府信息公开工作年度报告</a> 2020-01-30</p>"""
    result = parse_list(body, "http://www.a.gov.cn/zwgk/gknb/index.html", "trs")
    assert [(r.text[2:6], r.date) for r in result.reports] == [
        ("2023", "2024-01-26"),
        ("2022", "2023-01-20"),
        ("2021", "2022-01-25"),
        ("2020", ""),  # two links share the paragraph: its date belongs to neither for sure
        ("2019", ""),
    ]


def test_parse_detail_resolves_links_like_lxml_and_skips_broken_ones() -> None:
    page = (
        '<html><head><base href="/files/2023/"></head><body><h1>年报</h1>'
        '<a href="report.pdf">附件一</a><a href="http://[broken/x.pdf">坏链接</a>'
        '<object codebase="/cb/" data="table.xls"></object>'
        '<iframe src="/viewer.html?file=/upload/b.pdf"></iframe></body></html>'
    )
    detail = parse_detail(page.encode(), "http://www.a.gov.cn/gknb/t20230118_1.html")
    assert detail.title == "年报"
    assert [(a.url, a.text) for a in detail.attachments] == [
        ("http://www.a.gov.cn/files/2023/report.pdf", "附件一"),
        ("http://www.a.gov.cn/cb/table.xls", ""),
        ("http://www.a.gov.cn/upload/b.pdf", ""),
    ]


@pytest.mark.parametrize(
    "page",
    [
        # an empty href next to an entry still counts as another link of that entry
        '<ul><li><a href="">更多</a><a href="./202301/t20230118_1.html">某县2022年政府信息公开'
        "工作年度报告</a> 2023-01-18</li><li><a href='http://[broken/t.html'>2021年年报</a>"
        "2022-01-10</li><li><a href=' ./202101/t20210110_3.html '>2020年年报<!-- 注释 --></a>"
        "<!-- 2021-01-10 --></li></ul>",
        # lxml applies <base href> a second time and removes it: read by lxml.html
        '<html><head><base href="/other/"><base href="http://b.gov.cn/x/"></head><body>'
        '<a href="t20230118_1.html">2022年年报</a><a href="../t20220118_2.html">2021年年报</a>',
        # CSS urls inside a link's text are made absolute too
        '<ul><li><a href="t20230118_1.html"><style>i{background:url(a.png)}</style>2022年年报'
        "</a>2023-01-18</li></ul>",
    ],
)
def test_list_pages_resolve_links_as_lxml_html_does(page: str) -> None:
    # The list parser reads a plain lxml tree with only the <a href> resolved; what it reads
    # must be what lxml.html's make_links_absolute leaves.
    from crawler.parsing import _STRING, _doc, _html_doc

    url = "http://www.a.gov.cn/zwgk/gknb/index.html"
    plain, html = _doc(page, url), _html_doc(page, url)
    assert plain is not None and html is not None
    assert [(a.get("href"), _STRING(a)) for a in plain.iter("a")] == [
        (a.get("href"), _STRING(a)) for a in html.iter("a")
    ]
    assert [(r.url, r.text, r.date) for r in parse_list(page, url, "trs").reports]
