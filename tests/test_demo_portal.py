"""The offline demo portals: pages, CMS conventions, hazards and the catalog behind them."""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request
from collections import Counter

import docx
import pytest
import yaml

from crawler.demo import catalog_gen, render, site
from crawler.demo.server import (
    DEMO_SOURCES,
    HOSTS,
    demo_sources,
    portal_lines,
    route,
    running_portal,
)
from crawler.sources import load_sources

CATALOG = site.catalog()
BY_ID = {r["id"]: r for r in CATALOG}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@pytest.fixture(scope="module")
def port():
    with running_portal(0) as bound:
        yield bound


def fetch(port: int, host: str, path: str, data: bytes | None = None):
    """(status, headers, body) of one request, redirects not followed."""
    try:
        with _OPENER.open(f"http://{host}:{port}{path}", data=data, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# ---------------------------------------------------------------- TRS (GBK)
def test_trs_gbk_list_declares_gbk_and_page_count(port):
    status, headers, body = fetch(port, "127.0.0.2", "/zwgk/zfxxgknb/index.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=GBK"
    text = body.decode("gbk")
    assert '<meta charset="gbk">' in text
    assert 'createPageHTML(3, 0, "index", "html");' in text
    assert BY_ID["yuci-2024"]["title"] in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_trs_gbk_article_meta_and_body(port):
    entry = BY_ID["yuci-2014"]
    status, _, body = fetch(port, "127.0.0.2", entry["path"])
    text = body.decode("gbk")
    assert status == 200
    assert f'<meta name="ArticleTitle" content="{entry["title"]}">' in text
    assert '<meta name="PubDate" content="2015-02-10 09:30">' in text
    assert '<meta name="ColumnName" content="政府信息公开年报">' in text
    assert '<div class="TRS_Editor">' in text and "全区共公开区级信息数为3303条" in text
    assert "日期:2015年02月10日" in text
    stem = entry["path"].rsplit("/", 1)[1].removesuffix(".html")
    assert f'createPageHTML(2, 0, "{stem}", "html");' in text


def test_trs_long_article_continues_on_second_page(port):
    path = BY_ID["yuci-2014"]["path"].replace(".html", "_1.html")
    status, _, body = fetch(port, "127.0.0.2", path)
    text = body.decode("gbk")
    assert status == 200
    assert "共接受人民群众咨询7100余人次" in text and "全区共公开区级信息数" not in text


def test_trs_word_tables_in_table_format_reports(port):
    status, _, body = fetch(port, "127.0.0.2", BY_ID["yuci-2021"]["path"])
    text = body.decode("gbk")
    assert status == 200
    assert 'class="MsoNormalTable"' in text
    assert 'rowspan="22"' in text  # 三、本年度办理结果 spans every 2021-format result row


def test_trs_past_last_page_refreshes_to_column(port):
    status, _, body = fetch(port, "127.0.0.2", "/zwgk/zfxxgknb/index_3.html")
    assert status == 200
    assert b'<meta http-equiv="refresh" content="0; url=./">' in body


def test_trs_utf8_list_uses_countpage_variant(port):
    status, headers, body = fetch(port, "127.0.0.7", "/zwgk/zfxxgknb/index_1.html")
    text = body.decode("utf-8")
    assert status == 200 and "charset=UTF-8" in headers["Content-Type"]
    assert "var countPage = 2//共多少页" in text
    assert 'createPageHTML(countPage, currentPage, "index", "html");' in text


# ---------------------------------------------------------------- Hanweb
def test_hanweb_column_holds_first_fifteen_records(port):
    status, _, body = fetch(port, "127.0.0.3", "/col/col1234/index.html")
    text = body.decode("utf-8")
    assert status == 200
    assert '<script type="text/xml">' in text and "<datastore>" in text
    assert text.count("<record><![CDATA[") == 15
    assert "totalRecord:17" in text


def test_hanweb_dataproxy_post_answers_remaining_records(port):
    form = b"col=1&appid=1&webid=1&path=/&columnid=1234&unitid=5678&permissiontype=0"
    status, headers, body = fetch(
        port,
        "127.0.0.3",
        "/module/web/jpage/dataproxy.jsp?startrecord=16&endrecord=30&perpage=15",
        data=form,
    )
    text = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    assert "<totalrecord>17</totalrecord>" in text
    hrefs = re.findall(r'href="([^"]+)"', text)
    assert hrefs == [BY_ID["hongze-2010"]["path"], BY_ID["hongze-2009"]["path"]]


def test_hanweb_downfile_redirects_to_attachment_host(port):
    att = BY_ID["hongze-2024"]["attachments"][0]
    status, headers, _ = fetch(port, "127.0.0.3", att["path"])
    assert status == 302
    location = headers["Location"]
    assert location.startswith(f"http://127.0.0.5:{port}/attach/0/") and location.endswith(".pdf")
    status, headers, body = fetch(port, "127.0.0.5", location.split(str(port), 1)[1])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body == (site.FILES / "hongze-2024.pdf").read_bytes()


def test_hanweb_truncated_pdf_is_cut_short(port):
    att = BY_ID["hongze-2023"]["attachments"][1]
    assert att.get("truncated") is True
    body = route("127.0.0.5", port, att["redirect"].split("127.0.0.5", 1)[1]).body
    full = (site.FILES / "hongze-2023.pdf").read_bytes()
    assert body.startswith(b"%PDF") and len(body) == len(full) * 2 // 5
    assert b"%%EOF" not in body[-1024:]


def test_hanweb_article_has_metadata_table(port):
    status, _, body = fetch(port, "127.0.0.3", BY_ID["hongze-2018"]["path"])
    text = body.decode("utf-8")
    assert status == 200
    for label in ("索引号：", "发布机构：", "成文日期：", "组配分类："):
        assert label in text
    assert '<div id="zoom">' in text


def test_hanweb_annual_report_module_page(port):
    status, _, body = fetch(
        port, "127.0.0.3", "/module/xxgk/xxgkAnnualReport.jsp?area=320813&fbtime=2022"
    )
    assert status == 200 and BY_ID["hongze-2022"]["title"] in body.decode("utf-8")


def test_hanweb_jsessionid_link_serves_the_column(port):
    _, _, column = fetch(port, "127.0.0.3", "/col/col1234/index.html")
    assert site.JSESSIONID in column.decode("utf-8")
    status, _, body = fetch(port, "127.0.0.3", "/col/col1234/index.html" + site.JSESSIONID)
    assert status == 200 and body == column


# ---------------------------------------------------------------- ASP.NET and generic
def test_aspnet_list_pages_and_empty_page_past_the_end(port):
    first = fetch(port, "127.0.0.4", "/zwgk/gknb/list.aspx?page=1")[2].decode("utf-8")
    second = fetch(port, "127.0.0.4", "/zwgk/gknb/list.aspx?page=2")[2].decode("utf-8")
    status, _, past = fetch(port, "127.0.0.4", "/zwgk/gknb/list.aspx?page=9")
    assert '<a href="list.aspx?page=2">下一页</a>' in first
    assert BY_ID["hulan-2016"]["title"] in second
    assert status == 200 and "article_view.aspx" not in past.decode("utf-8")


def test_aspnet_seed_report_tables_keep_the_real_numbers(port):
    text = fetch(port, "127.0.0.4", BY_ID["hulan-2019"]["path"])[2].decode("utf-8")
    for printed in ("13214", "21552.9万元", "+2", "-30", "1898"):
        assert f">{printed}</td>" in text
    assert 'rowspan="20"' in text  # 三、本年度办理结果 over the 2019-format result rows
    assert '<td valign="center" rowspan="3" colspan="3">（本列数据的勾稽关系为' in text


def test_generic_list_pagination(port):
    text = fetch(port, "127.0.0.6", "/xxgk/gknb/index.html")[2].decode("utf-8")
    assert '<a href="index_2.html">下一页</a>' in text
    status, _, past = fetch(port, "127.0.0.6", "/xxgk/gknb/index_3.html")
    assert status == 200 and "暂无信息" in past.decode("utf-8")


def test_docx_attachments_hold_word_tables(port):
    entry = BY_ID["hulan-2021"]
    att = entry["attachments"][0]
    status, headers, body = fetch(port, "127.0.0.4", att["path"])
    assert status == 200 and headers["Content-Type"] == site.CONTENT_TYPES["docx"]
    document = docx.Document(io.BytesIO(body))
    assert len(document.tables) == 3
    total_row = [c.text for c in document.tables[1].rows[-2].cells]
    assert total_row[1] == "（七）总计"
    assert total_row[-1] == str(entry["figures"]["requests"]["total_handled"][-1])


def test_seed_docx_keeps_the_real_text(port):
    att = BY_ID["litong-2015"]["attachments"][0]
    body = fetch(port, "127.0.0.6", att["path"])[2]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(body)).paragraphs)
    assert "主动公开政府信息9267条" in text and "[image" not in text


def test_docx_bytes_are_reproducible():
    entry = BY_ID["hulan-2020"]
    blocks = render.body_for(entry, "呼兰区", "全区")
    first = render.blocks_docx(entry["title"], blocks, entry["published"])
    assert first == render.blocks_docx(entry["title"], blocks, entry["published"])


def test_legacy_office_attachments_have_ole2_headers(port):
    for rid, host in (("yuci-2012", "127.0.0.2"), ("hulan-2018", "127.0.0.4")):
        att = BY_ID[rid]["attachments"][0]
        status, headers, body = fetch(port, host, att["path"])
        assert status == 200 and headers["Content-Type"] == site.CONTENT_TYPES[att["type"]]
        assert body.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))


# ---------------------------------------------------------------- hazards
def test_robots_txt_on_every_host(port):
    for host in HOSTS:
        status, _, body = fetch(port, host, "/robots.txt")
        assert status == 200 and body == b"User-agent: *\nDisallow: /search/\nDisallow: /admin/\n"


def test_disallowed_paths_are_linked(port):
    text = fetch(port, "127.0.0.7", "/zwgk/zfxxgknb/index.html")[2].decode("utf-8")
    assert 'href="/search/?q=年报"' in text and 'href="/admin/login.html"' in text
    assert f'href="{site.OFFSITE_URL}"' in text


@pytest.mark.parametrize(
    "portal,status,marker",
    [
        ("yuci", 404, b"404 Not Found"),
        ("hulan", 500, b"Server Error"),
        ("jiuquan", 412, b"$_ts"),
    ],
)
def test_hazard_links_answer_errors(port, portal, status, marker):
    hazard = next(h for h in site.HAZARD_LINKS[portal] if h["status"] == status)
    got, _, body = fetch(port, site.PORTAL_HOSTS[portal], hazard["path"])
    assert got == status and marker in body


def test_soft_404_answers_200(port):
    hazard = site.HAZARD_LINKS["yuci"][1]
    status, _, body = fetch(port, "127.0.0.2", hazard["path"])
    assert status == 200 and "您访问的页面不存在" in body.decode("gbk")
    listed = fetch(port, "127.0.0.2", "/zwgk/zfxxgknb/index_1.html")[2].decode("gbk")
    assert hazard["path"].removeprefix("/zwgk/zfxxgknb") in listed


def test_calendar_trap_links_the_next_day_forever(port):
    status, _, body = fetch(port, "127.0.0.4", "/zwgk/rili.aspx?date=2999-12-31")
    text = body.decode("utf-8")
    assert status == 200
    assert "?date=3000-01-01" in text and "?date=2999-12-30" in text


# ---------------------------------------------------------------- catalog and sources
def test_every_catalog_page_and_attachment_answers_200():
    for entry in CATALOG:
        assert route(entry["host"], 8631, entry["path"]).status == 200, entry["id"]
        for att in entry.get("attachments", []):
            page = route(entry["host"], 8631, att["path"])
            if "redirect" in att:
                assert page.status == 302 and page.headers["Location"].endswith(
                    att["redirect"].rsplit("/", 1)[1]
                )
            else:
                assert page.status == 200 and page.body, att["path"]


def test_catalog_counts():
    reports = [r for r in CATALOG if r["kind"] == "annual_report"]
    assert len(reports) >= 25
    assert {r["year"] for r in reports} == set(range(2008, 2025))
    types = Counter(a["type"] for r in reports for a in r.get("attachments", []))
    assert types["pdf"] >= 3 and types["docx"] >= 3 and types["doc"] == 1 and types["xls"] == 1
    assert Counter(r["format"] for r in reports).keys() == {"narrative", "2019", "2021"}
    assert [r["id"] for r in CATALOG if r.get("slip")] == [catalog_gen.SLIP_REPORT]
    assert [r["id"] for r in CATALOG if r.get("late")] == [catalog_gen.LATE_REPORT]
    assert {r["kind"] for r in CATALOG} == {"annual_report", "work_summary", "other"}


def test_committed_catalog_matches_the_generator():
    committed = yaml.safe_load(catalog_gen.CATALOG.read_text(encoding="utf-8"))
    assert committed == catalog_gen.build_catalog()


def _requests_consistent(req: dict) -> bool:
    results = [
        k for k in req if k not in ("new", "carried_over", "total_handled", "carried_forward")
    ]
    for col in range(7):
        handled = sum(req[k][col] for k in results)
        if handled != req["total_handled"][col]:
            return False
        if req["new"][col] + req["carried_over"][col] != handled + req["carried_forward"][col]:
            return False
    return all(sum(row[:6]) == row[6] for row in req.values())


def test_table_reports_are_consistent_except_the_deliberate_slip():
    for entry in CATALOG:
        figures = entry["figures"]
        if "requests" not in figures:
            continue
        assert _requests_consistent(figures["requests"]), entry["id"]
        appeals_ok = all(sum(row[:4]) == row[4] for row in figures["appeals"].values())
        assert appeals_ok == (entry["id"] != catalog_gen.SLIP_REPORT), entry["id"]


def test_carried_forward_becomes_next_years_carried_over():
    tables = sorted(
        (r for r in CATALOG if "requests" in r["figures"]), key=lambda r: (r["portal"], r["year"])
    )
    pairs = [
        (a, b)
        for a, b in zip(tables, tables[1:], strict=False)
        if a["portal"] == b["portal"] and b["year"] == a["year"] + 1
    ]
    assert pairs
    for a, b in pairs:
        assert (
            b["figures"]["requests"]["carried_over"] == a["figures"]["requests"]["carried_forward"]
        )


PROACTIVE_WORDING = {
    "plain": "共主动公开政府信息{n}条",
    "level": "级信息数为{n}条",
    "approx": "累计主动公开各类政府信息{n}余条",
}


def test_generated_narratives_state_their_figures():
    generated = [r for r in CATALOG if r["origin"] == "generated" and r["format"] == "narrative"]
    assert {r["figures"]["phrasing"] for r in generated} == set(PROACTIVE_WORDING)
    for entry in generated:
        body = route(entry["host"], 8631, entry["path"]).body
        text = body.decode("gbk" if entry["portal"] == "yuci" else "utf-8")
        f = entry["figures"]
        assert PROACTIVE_WORDING[f["phrasing"]].format(n=f["proactive_total"]) in text, entry["id"]
        assert f"共接受人民群众咨询{f['consultations']}余人次" in text
        if f["requests_new"]:
            assert f"共受理各类政府信息公开申请{f['requests_new']}件" in text
        assert f["proactive_approx"] == (f["phrasing"] == "approx")


def test_zero_printed_as_dash_where_the_catalog_says():
    entry = next(r for r in CATALOG if r.get("zero_printed_as"))
    text = route(entry["host"], 8631, entry["path"]).body.decode("utf-8")
    assert f'<td valign="center">{entry["zero_printed_as"]}</td>' in text
    assert entry["figures"]["requests"]["carried_over"][3] == 0


def test_demo_sources_validate_and_use_the_port():
    raw = load_sources(DEMO_SOURCES)
    assert all(s.demo for s in raw) and all(":8631/" in s.start_urls[0] for s in raw)
    moved = demo_sources(18631)
    assert {s.id for s in moved} == {s.id for s in raw}
    assert all(
        u.startswith("http://127.0.0.") and ":18631/" in u for s in moved for u in s.start_urls
    )
    portals = {s.start_urls[0].split("//")[1].split(":")[0] for s in moved}
    assert portals == set(site.PORTAL_HOSTS.values())


def test_portal_lines_name_every_host_with_its_port():
    lines = portal_lines(18631)
    assert len(lines) == len(HOSTS) == 6
    assert lines[0] == "http://127.0.0.2:18631/zwgk/zfxxgknb/index.html  trs (GBK): 榆次区人民政府"


def test_late_report_shows_its_late_date():
    entry = BY_ID[catalog_gen.LATE_REPORT]
    text = route(entry["host"], 8631, entry["path"]).body.decode("utf-8")
    assert "日期:2018-04-16" in text and "2018年4月16日" in text


def test_slow_page_is_delayed_and_others_are_not():
    slow = BY_ID[site.SLOW_REPORT]
    assert route(slow["host"], 8631, slow["path"]).delay == 1.0
    other = BY_ID["litong-2016"]
    assert route(other["host"], 8631, other["path"]).delay == 0.0


def test_busy_port_fails_with_the_host_named(port):
    with pytest.raises(OSError, match=f"demo portal: cannot listen on 127.0.0.2:{port}"):
        with running_portal(port):
            pass
