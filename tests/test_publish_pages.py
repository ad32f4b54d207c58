"""Pages a journalist reads: the report page, the archived original, feeds (on the demo archive)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from postprocess.publish import labels, original, report_page
from postprocess.publish.serve import make_datasette

REPO = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"


# --- pure builders ------------------------------------------------------------------------


def test_num_shows_integers_without_decimals():
    assert [report_page.num(v) for v in (15.0, 396.25, 0, None, -5.0)] == [
        "15",
        "396.25",
        "0",
        "—",
        "-5",
    ]


def test_header_rows_merge_appeals_like_the_form():
    paths = [
        labels.APPEAL_ROWS[r] + (labels.APPEAL_COLS[c],)
        for r in labels.APPEAL_ROWS
        for c in ("upheld", "total")
    ]
    rows = report_page.header_rows(paths)
    simple = [[(h["text"], h["colspan"], h["rowspan"]) for h in row] for row in rows]
    assert simple == [
        [("行政复议", 2, 1), ("行政诉讼", 4, 1)],
        [("结果维持", 1, 2), ("总计", 1, 2), ("未经复议直接起诉", 2, 1), ("复议后起诉", 2, 1)],
        [("结果维持", 1, 1), ("总计", 1, 1), ("结果维持", 1, 1), ("总计", 1, 1)],
    ]


def test_label_cells_merge_shared_row_groups():
    keys = ["new", "granted", "denied_state_secret", "denied_process_info", "total_handled"]
    cells = report_page.label_cells([labels.REQUEST_ROWS[k] for k in keys])
    simple = [[(c["text"], c["rowspan"], c["colspan"]) for c in row] for row in cells]
    assert simple == [
        [("一、本年新收政府信息公开申请数量", 1, 3)],
        [("三、本年度办理结果", 4, 1), ("（一）予以公开", 1, 2)],
        [("（三）不予公开", 2, 1), ("1.属于国家秘密", 1, 1)],
        [("6.属于四类过程性信息", 1, 1)],
        [("（七）总计", 1, 2)],
    ]


def test_check_lines_say_which_number_is_printed():
    lines = report_page.check_lines(
        "requests_handled_sum", "total: 11 vs 0; natural_person: 3 vs 3"
    )
    assert [line["text"] for line in lines] == [
        "（七）总计（总计）填写 0，各项办理结果相加为 11",
        "（七）总计（自然人）填写 3，各项办理结果相加为 3",
    ]
    assert lines[0]["where"] == ("requests", [], ["total"])
    appeals = report_page.check_lines("appeals_totals", "review: 11 vs 0")
    assert appeals[0]["text"] == "行政复议：总计填写 0，维持＋纠正＋其他＋尚未审结相加为 11"
    late = report_page.check_lines(
        "published_on_time", "published 2018-04-16, deadline 2018-03-31 (2008 条例: 31 March)"
    )
    assert late[0]["text"] == (
        "发布日期 2018-04-16，法定期限 2018-03-31（2008年条例第三十一条：次年3月31日前）"
    )
    assert report_page.check_lines("requests_total_column", "25 rows add up")[0]["text"] == (
        "全部 25 行：总计列等于各类申请人之和"
    )
    period = report_page.check_lines(
        "title_year_matches_period", "title year 2022, statistics period 2022-01-01..2022-12-31"
    )
    assert period[0]["text"] == "标题年度 2022，正文统计期限 2022-01-01 至 2022-12-31"
    # A detail we cannot read is shown as it is, never dropped.
    assert report_page.check_lines("new_rule", "x vs y")[0]["text"] == "x vs y"


def test_text_blocks_paragraphs_tables_and_hits():
    text = "一、总体情况\n全年收到行政复议2件。\n| 行政复议 | 2 |\n| 行政诉讼 | 0 |\n<b>结束</b>"
    blocks = report_page.text_blocks(text, '复议 -诉讼 OR "结束"')
    assert [b["kind"] for b in blocks] == ["p", "p", "table", "p"]
    assert str(blocks[1]["lines"][0]) == "全年收到行政<mark>复议</mark>2件。"
    assert len(blocks[2]["lines"]) == 2 and blocks[2]["hits"]
    assert str(blocks[3]["lines"][0]) == "&lt;b&gt;<mark>结束</mark>&lt;/b&gt;"


def test_download_names_and_base_for_the_view():
    assert (
        original.filename_for(
            "http://x/module/download/downfile.jsp?filename=a1.pdf", 7, "application/pdf"
        )
        == "nianbao-7-a1.pdf"
    )
    assert original.filename_for("http://x/a/report.jsp?id=1", 8, "text/html") == (
        "nianbao-8-report.jsp.html"
    )
    assert original.filename_for("http://x/", 9, "text/html") == "nianbao-9-capture-9.html"
    page = b'<html><head><meta charset="gbk"><title>t</title></head>'
    based = original.with_base(page, "http://gov.cn/a/b.html")
    assert based.startswith(b'<html><head><meta charset="gbk"><base href="http://gov.cn/a/b.html"')
    assert based.endswith(b"<title>t</title></head>")


# --- the demo archive served ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_crawl, demo_archive_path):
    _db, data_dir, _port = demo_crawl
    ds = make_datasette(demo_archive_path, data_dir=data_dir)
    loop = asyncio.new_event_loop()

    def get(path: str):
        return loop.run_until_complete(ds.client.get(path))

    yield get, demo_archive_path
    loop.close()


def _one(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchone()


def test_report_page_reads_like_the_report(demo):
    get, db_path = demo
    rid, title = _one(
        db_path, "select id, title from reports where source_id = 'demo-hongze' and year = 2023"
    )
    html = get(f"/archive/reports/{rid}").text
    assert f"<h1>{title}</h1>" in html
    assert "按期发布（法定期限 2024-03-31）" in html
    assert "2021年版表格（国办公开办函〔2021〕30号）" in html
    for section in labels.SECTIONS.values():
        assert f"<h3>{section}</h3>" in html
    # the failed appeals check as a sentence linked to the cells
    assert "行政复议：总计填写 0，维持＋纠正＋其他＋尚未审结相加为 11" in html
    assert f"/archive/cells?report_id={rid}&amp;section=appeals&amp;row_key__in=review" in html
    # the cells that check compares are marked in the drawn table: 行政复议 and 复议后起诉, 5 each
    assert html.count('<td class="num check-failed">') == 10
    # summary figures as integers with Chinese labels, linked to their cell
    new_cell, new_value = _one(
        db_path,
        "select cell_id, value from stats where report_id = ? and key = 'requests_new'",
        [rid],
    )
    assert f'<a href="/archive/cells/{new_cell}">{int(new_value)}</a>' in html
    assert "本年新收申请" in html and "· None" not in html and ".0<" not in html
    # other years of the same source link to their pages
    others = _one(
        db_path,
        "select count(*) from reports where source_id = 'demo-hongze' and id != ?",
        [rid],
    )[0]
    assert html.count('<li><a href="/archive/reports/') == others


def test_rows_of_the_cells_and_stats_views_have_pages(demo):
    """The report page links /archive/cells/ID and /archive/stats/ID: views, which Datasette
    gives no row pages; publish/view_rows answers them."""
    get, db_path = demo
    stat_id, cell_id = _one(
        db_path, "select id, cell_id from stats where cell_id is not null order by id limit 1"
    )
    sentence_id = _one(db_path, "select id from stats where origin = 'sentence' limit 1")[0]
    for view, row_id in (("stats", stat_id), ("stats", sentence_id), ("cells", cell_id)):
        with sqlite3.connect(db_path) as conn:
            cursor = conn.execute(f"select * from {view} where id = ?", [row_id])
            columns = [d[0] for d in cursor.description]
            row = list(cursor.fetchone())
        data = get(f"/archive/{view}/{row_id}.json").json()
        assert (data["table"], data["columns"], data["rows"]) == (view, columns, [row])
        assert data["primary_keys"] == ["id"] and data["primary_key_values"] == [str(row_id)]
        objects = get(f"/archive/{view}/{row_id}.json?_shape=array").json()
        assert objects == [dict(zip(columns, row, strict=True))]
        page = get(f"/archive/{view}/{row_id}")
        assert page.status_code == 302
        assert page.headers["location"] == f"/archive/{view}?id={row_id}"
        assert f"1 row where id = {row_id}" in get(page.headers["location"]).text
    # the view's page links what the table's foreign keys linked: row, report, cell
    report_id, title = _one(
        db_path,
        "select r.id, r.title from stats s join reports r on r.id = s.report_id where s.id = ?",
        [stat_id],
    )
    html = get(f"/archive/stats?id={stat_id}").text
    assert f'<a href="/archive/stats/{stat_id}">{stat_id}</a>' in html
    assert f'<a href="/archive/cells/{cell_id}">{cell_id}</a>' in html
    assert f'<a href="/archive/reports/{report_id}">{title}</a>&nbsp;<em>{report_id}</em>' in html
    missing = get("/archive/stats/999999999.json")
    assert missing.status_code == 404 and missing.json()["error"] == "Record not found"
    # a table keeps Datasette's own row page
    assert get("/archive/checks/1.json").json()["primary_keys"] == ["id"]


def test_report_page_marks_search_hits(demo):
    get, db_path = demo
    rid = _one(db_path, "select id from reports where instr(text, '行政复议') > 0 limit 1")[0]
    html = get(f"/archive/reports/{rid}?q=行政复议").text
    assert 'id="first-hit"' in html
    assert "<mark>行政复议</mark>" in html
    # a searched row of the drawn table is marked too
    table_rid = _one(
        db_path,
        "select report_id from cells where row_key = 'denied_process_info' limit 1",
    )[0]
    drawn = get(f"/archive/reports/{table_rid}?q=过程性信息").text
    assert '<th class="rowlabel hit">6.属于四类过程性信息</th>' in drawn


def test_original_document_download_is_the_exact_file(demo):
    get, db_path = demo
    rid, doc = _one(
        db_path,
        "select id, document_capture_id from reports where source_id = 'demo-hongze' "
        "and year = 2023",
    )
    html = get(f"/archive/reports/{rid}").text
    assert f'href="/-/nianbao/original/archive/{doc}"' in html
    r = get(f"/-/nianbao/original/archive/{doc}")
    assert r.status_code == 200
    want = (REPO / "crawler/demo/files/hongze-2023.pdf").read_bytes()
    assert r.content == want
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-nianbao-sha256"] == hashlib.sha256(want).hexdigest()
    assert r.headers["content-disposition"].startswith('attachment; filename="nianbao-')
    assert r.headers["content-security-policy"].startswith("sandbox")


def test_archived_page_view_is_sandboxed(demo):
    get, db_path = demo
    cap, url, sha = _one(
        db_path,
        "select c.id, c.url, c.sha256 from reports r join captures c on c.id = r.capture_id "
        "where r.source_id = 'demo-yuci' and r.year = 2014",
    )
    view = get(f"/-/nianbao/view/archive/{cap}").text
    assert (
        f'sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
        f'src="/-/nianbao/original/archive/{cap}?inline=1"' in view
    )
    raw = get(f"/-/nianbao/original/archive/{cap}")
    assert hashlib.sha256(raw.content).hexdigest() == sha
    inline = get(f"/-/nianbao/original/archive/{cap}?inline=1")
    csp = inline.headers["content-security-policy"]
    assert (
        csp.startswith("sandbox ") and "allow-scripts" not in csp and "allow-same-origin" not in csp
    )
    assert f'<base href="{url}" target="_blank">'.encode() in inline.content
    assert get("/-/nianbao/original/archive/999999").status_code == 404


def _feed(get, query: str) -> ET.Element:
    r = get(f"/archive/new_reports.atom?{query}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    return ET.fromstring(r.content)


def test_feed_valid_when_empty_and_links_our_pages(demo):
    get, db_path = demo
    empty = _feed(get, "province=nowhere")
    assert empty.find(f"{ATOM}author/{ATOM}name").text == "nianbao 年报存档"
    assert empty.find(f"{ATOM}updated").text and not empty.findall(f"{ATOM}entry")
    with sqlite3.connect(db_path) as conn:
        want = {
            r[0]
            for r in conn.execute(
                "select id from reports where kind = 'annual_report' and instr(text, '过程性信息')"
            )
        }
        everything = conn.execute("select count(*) from reports").fetchone()[0]
    feed = _feed(get, "q=过程性信息")
    links = [e.find(f"{ATOM}link[@rel='alternate']").get("href") for e in feed.iter(f"{ATOM}entry")]
    assert {int(h.rsplit("/", 1)[1]) for h in links} == want
    assert all(h.startswith("http://localhost/archive/reports/") for h in links)
    assert len(_feed(get, "kind=all").findall(f"{ATOM}entry")) == everything


def test_empty_search_box_keeps_the_filters(demo):
    get, db_path = demo
    rows = get("/archive/reports.json?_search=&province=江苏省&_shape=array&_size=max").json()
    want = _one(db_path, "select count(*) from reports where province = '江苏省'")[0]
    assert len(rows) == want > 0


# --- agencies -------------------------------------------------------------------------------


def test_agency_identity_one_agency_one_id():
    from postprocess.extract.agency import agency_identity

    litong = {
        "agency": "吴忠市利通区人民政府",
        "division_code": "640302",
        "level": "county",
        "province": "宁夏回族自治区",
        "city": "吴忠市",
    }
    ids = {agency_identity(n, litong)["agency_id"] for n in ("利通区", "吴忠市利通区", None)}
    assert ids == {"640302:利通区人民政府"}
    jiuquan = {
        "agency": "酒泉市人民政府",
        "division_code": "620900",
        "level": "city",
        "province": "甘肃省",
        "city": "酒泉市",
    }
    assert agency_identity("图解:《酒泉市", jiuquan) == {
        "agency_id": "620900:酒泉市人民政府",
        "agency_name": "酒泉市人民政府",
    }
    assert agency_identity("酒泉市教育局", jiuquan)["agency_id"] == "620900:教育局"


def test_year_from_url_reads_the_publication_date():
    from postprocess.publish.agency import year_from_url

    assert year_from_url("http://x/zwgk/zfxxgknb/202303/t20230328_777412.html") == 2022
    assert year_from_url("http://x/art/2024/1/19/art_1234_135365.html") == 2023
    assert year_from_url("http://x/zwgk/gknb/article_view.aspx?aid=10500") is None


def test_demo_agencies_are_normalised(demo):
    _get, db_path = demo
    with sqlite3.connect(db_path) as conn:
        names = dict(
            conn.execute(
                "select source_id, group_concat(distinct agency_name) from reports "
                "group by source_id"
            )
        )
    assert names["demo-litong"] == "吴忠市利通区人民政府"
    assert names["demo-hongze"] == "淮安市洪泽区人民政府"
    assert names["demo-jiuquan"] == "酒泉市人民政府"


def test_agency_page_tells_years_apart(demo):
    get, db_path = demo
    page = get(
        "/-/nianbao/agency/archive/620900%3A%E9%85%92%E6%B3%89%E5%B8%82%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C"
    )
    assert page.status_code == 200
    html = page.text
    assert "<h1>酒泉市人民政府</h1>" in html
    assert 'class="nianbao-chart"' in html
    series = get(
        "/-/nianbao/agency/archive/620900%3A%E9%85%92%E6%B3%89%E5%B8%82%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C.json"
    ).json()["series"]
    status = {row["year"]: row["status"] for row in series}
    # 2017's report came out 2018-04-16, after 31 March; 2022's page answered HTTP 412
    assert status[2016] == "on_time" and status[2017] == "late" and status[2022] == "blocked"
    new = {row["year"]: row["requests_new"] for row in series}
    with sqlite3.connect(db_path) as conn:
        want = dict(
            conn.execute(
                "select r.year, s.value from reports r join stats s on s.report_id = r.id "
                "and s.key = 'requests_new' where r.source_id = 'demo-jiuquan' "
                "and r.kind = 'annual_report'"
            )
        )
    assert {y: v for y, v in new.items() if v is not None} == want
    csv_text = get(
        "/-/nianbao/agency/archive/620900%3A%E9%85%92%E6%B3%89%E5%B8%82%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C.csv"
    ).text
    assert csv_text.splitlines()[0].startswith("agency_id,agency_name,year,status,report_id")
    index = get("/-/nianbao/agencies/archive").text
    assert "图解" not in index and index.count('href="/-/nianbao/agency/archive/') == 6


# --- honest totals and Chinese parameters -----------------------------------------------------


def test_missing_reports_tells_blocked_from_not_published(demo):
    get, _db = demo
    rows = get("/archive/missing_reports.json?_shape=array&_size=max").json()
    jiuquan = {r["missing_year"]: r["status"] for r in rows if r["agency"] == "酒泉市人民政府"}
    assert jiuquan[2022] == "blocked"
    assert jiuquan[2023] == "not_published"
    blocked = get("/archive/missing_reports.json?_shape=array&status=抓取被拦截").json()
    assert [(r["agency"], r["missing_year"], r["fetch_error"]) for r in blocked] == [
        ("酒泉市人民政府", 2022, "412")
    ]


def test_refusal_reasons_count_reports_with_a_nonzero_value(demo):
    get, db_path = demo
    rows = get("/archive/refusal_reasons.json?_shape=array").json()
    by_key = {r["row_key"]: r for r in rows}
    with sqlite3.connect(db_path) as conn:
        nonzero = conn.execute(
            "select count(distinct report_id) from cells where section = 'requests' "
            "and col_key = 'total' and row_key = 'denied_admin_inquiry' and value > 0"
        ).fetchone()[0]
    assert by_key["denied_admin_inquiry"]["reports_with_reason"] == nonzero
    assert nonzero < by_key["denied_admin_inquiry"]["reports_with_table"]


def test_refused_for_reason_accepts_chinese_wording(demo):
    get, _db = demo
    english = get(
        "/archive/refused_for_reason.json?_shape=array&reason=denied_process_info&level=county"
    ).json()
    chinese = get("/archive/refused_for_reason.json?_shape=array&reason=过程性信息&level=县").json()
    assert english and chinese == english
    assert {r["reason"] for r in chinese} == {"不予公开 属于四类过程性信息"}


def test_totals_say_what_they_cover(demo):
    get, db_path = demo
    rows = get("/archive/requests_per_year.json?_shape=array").json()
    with sqlite3.connect(db_path) as conn:
        want = conn.execute(
            "select r.year, count(distinct r.id), count(distinct r.agency_id), "
            "count(distinct r.province) from reports r join stats s on s.report_id = r.id "
            "and s.key = 'requests_new' where r.kind = 'annual_report' group by r.year"
        ).fetchall()
    assert [(r["year"], r["reports"], r["agencies"], r["provinces"]) for r in rows] == [
        tuple(w) for w in want
    ]
    from postprocess.publish.serve import load_metadata

    for name, query in load_metadata()["databases"]["archive"]["queries"].items():
        text = (query["title"] + query["description"]).lower()
        assert "national" not in text.replace("not a national", "") and "全国" not in text.replace(
            "不代表全国", ""
        ), name


# --- Chinese first --------------------------------------------------------------------------


def test_canned_query_page_offers_chinese_choices_and_links_reports(demo):
    get, _db = demo
    html = get("/archive/refused_for_reason?level=县&reason=过程性信息").text
    assert '<form class="nianbao-params"' in html
    assert '<option value="county">县级</option>' in html
    assert '<option value="县" selected>县</option>' in html
    assert html.count('<select name="level">') == 1
    assert 'class="report-link" href="/archive/reports/' in html
    assert "<summary>查询语句 SQL</summary>" in html  # the SQL is there, folded away
    assert '<span class="coded" title="county">县级</span>' in html


def test_database_page_opens_on_search_and_questions(demo):
    get, _db = demo
    html = get("/archive").text
    search = html.index('<form class="nianbao-search"')
    questions = html.index('<h2 id="queries">常用问题')
    editor = html.index('<details class="nianbao-sql-editor">')
    assert search < questions < editor


def test_table_and_facets_in_chinese_with_keys_kept(demo):
    get, _db = demo
    html = get("/archive/reports?_facet=level").text
    assert '年度 <small class="col-key">year</small>' in html
    assert 'title="county">县级</a>' in html
    data = get("/archive/reports.json?_shape=array&_size=1&_col=level").json()
    assert set(data[0]) == {"id", "level"}  # the API keeps the English keys and codes
    assert data[0]["level"] in {"county", "city"}


def test_capture_page_links_the_archived_bytes(demo):
    get, db_path = demo
    cap = _one(db_path, "select capture_id from reports where source_id = 'demo-yuci' limit 1")[0]
    html = get(f"/archive/captures/{cap}").text
    assert f'href="/-/nianbao/original/archive/{cap}"' in html
    assert f'href="/-/nianbao/view/archive/{cap}"' in html


def test_check_details_read_as_sentences_in_tables_and_queries(demo):
    get, _db = demo
    html = get("/archive/failing_reports").text
    assert "行政复议：总计填写 0，维持＋纠正＋其他＋尚未审结相加为 11" in html
    assert 'title="review: 11 vs 0; litigation_after_review: 5 vs 0"' in html
    rows = get("/archive/checks.json?ok=0&rule=appeals_totals&_shape=array").json()
    assert {r["detail"] for r in rows} == {
        "review: 2 vs 0",
        "review: 11 vs 0; litigation_after_review: 5 vs 0",
    }


def test_download_name_is_ascii_for_chinese_file_names():
    name = original.filename_for("http://x/files/2023年报告.pdf", 5, "application/pdf")
    assert name == "nianbao-5-2023_.pdf"
    name.encode("latin-1")


def test_reports_list_links_agency_pages(demo):
    get, _db = demo
    html = get("/archive/reports?agency_name=吴忠市利通区人民政府").text
    href = "/-/nianbao/agency/archive/" + urllib.parse.quote("640302:利通区人民政府", safe="")
    assert f'<a class="agency-link" href="{href}">吴忠市利通区人民政府</a>' in html
    assert get(href).status_code == 200


def test_province_parameter_accepts_the_short_name(demo):
    get, _db = demo
    full = get("/archive/new_reports.json?_shape=array&province=江苏省").json()
    short = get("/archive/new_reports.json?_shape=array&province=江苏").json()
    assert full and short == full
