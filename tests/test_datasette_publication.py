"""The Datasette publication of archive.db: search, facets, report pages, queries, feeds, safety."""

from __future__ import annotations

import asyncio
import sqlite3
from html import escape

import pytest
from archive_fixture import SCRIPT_TEXT, archive_path  # noqa: F401

from postprocess.publish.serve import SETTINGS, load_metadata, make_datasette


@pytest.fixture(scope="module")
def ds(archive_path):  # noqa: F811
    return make_datasette(archive_path)


@pytest.fixture(scope="module")
def get(ds):
    loop = asyncio.new_event_loop()

    def fetch(path: str, method: str = "GET"):
        if method == "POST":
            return loop.run_until_complete(
                ds.client.post(path, data={"sql": "delete from reports"})
            )
        return loop.run_until_complete(ds.client.get(path))

    yield fetch
    loop.close()


def _ids_containing(archive_path, term):  # noqa: F811
    c = sqlite3.connect(archive_path)
    rows = c.execute(
        "select id from reports where instr(title || agency || text, ?) > 0", [term]
    ).fetchall()
    c.close()
    return {r[0] for r in rows}


@pytest.mark.parametrize("term", ["外网", "成绩单", "过程性信息", "复制费用"])
def test_datasette_table_search_matches_exactly(get, archive_path, term):  # noqa: F811
    r = get(f"/archive/reports.json?_search={term}&_shape=array&_col=title&_size=max")
    assert r.status_code == 200
    assert {row["id"] for row in r.json()} == _ids_containing(archive_path, term)


def _ids_by_bm25(archive_path, term):  # noqa: F811
    """Best-first order computed straight from the index with explicit weights, not the view."""
    from postprocess.storage import search

    c = sqlite3.connect(archive_path)
    search.register_functions(c)
    rows = c.execute(
        "select rowid from reports_fts where reports_fts match nianbao_match(?) "
        "order by bm25(reports_fts, 1.0, 10.0, 5.0), rowid",  # body, title, agency
        [term],
    ).fetchall()
    c.close()
    return [r[0] for r in rows]


@pytest.mark.parametrize("term", ["复议", "酒泉市人民政府", "过程性信息"])
def test_datasette_table_search_is_ranked(get, archive_path, term):  # noqa: F811
    rows = get(f"/archive/reports.json?_search={term}&_shape=array&_size=max").json()
    assert [row["id"] for row in rows] == _ids_by_bm25(archive_path, term)
    ranks = [row["rank"] for row in rows]
    assert ranks == sorted(ranks)
    assert "search_index" not in rows[0]


def test_datasette_table_search_ranking_is_not_table_order(get, archive_path):  # noqa: F811
    rows = get("/archive/reports.json?_search=复议&_shape=array&_size=max").json()
    ids, years = [r["id"] for r in rows], [r["year"] for r in rows]
    assert ids != sorted(ids) and years != sorted(years, reverse=True)
    assert ids[:3] == [7, 6, 13]


def test_datasette_table_search_json_has_snippets(get):
    rows = get("/archive/reports.json?_search=外网&_shape=array").json()
    assert [row["id"] for row in rows] == [9]
    assert "电子政务<mark>外网</mark>建设完成" in rows[0]["snippet"]


def test_datasette_table_search_json_pages_through_ranked_results(get, archive_path):  # noqa: F811
    url, ids = "/archive/reports.json?_search=复议&_size=5&_col=title", []
    while url:
        data = get(url).json()
        assert data["filtered_table_rows_count"] == 23
        ids += [row[0] for row in data["rows"]]
        url = data["next_url"] and data["next_url"].replace("http://localhost", "")
    assert ids == _ids_by_bm25(archive_path, "复议")


def test_datasette_table_search_with_explicit_sort_stays_on_table(get, archive_path):  # noqa: F811
    rows = get("/archive/reports.json?_search=复议&_sort=id&_shape=array&_size=max").json()
    assert [r["id"] for r in rows] == sorted(_ids_containing(archive_path, "复议"))
    rows = get("/archive/reports.json?_search=复议&_sort=year&_shape=array&_size=max").json()
    assert [r["year"] for r in rows] == sorted(r["year"] for r in rows)
    assert "rank" not in rows[0]
    html = get("/archive/reports?_search=复议&_sort=id").text
    assert 'href="/archive/report_search?_search=%E5%A4%8D%E8%AE%AE"' in html


def test_datasette_table_search_html_redirects_to_ranked_view(get):
    r = get("/archive/reports?_search=成绩单&province=甘肃省&_next=abc")
    assert r.status_code == 302
    assert r.headers["location"] == (
        "/archive/report_search?_search=%E6%88%90%E7%BB%A9%E5%8D%95"
        "&province=%E7%94%98%E8%82%83%E7%9C%81&_nocol=search_index"
    )
    html = get(r.headers["location"]).text
    assert "<mark>成绩单</mark>" in html
    assert 'href="/archive/reports/12?q=%E6%88%90%E7%BB%A9%E5%8D%95">12</a>' in html
    assert 'id="_search" type="search" name="_search" value="成绩单"' in html
    assert 'id="facet-year"' in html and "col-search_index" not in html


@pytest.mark.parametrize("sort", ["_sort_desc=year", "_sort=year&_sort_by_desc=on"])
def test_datasette_search_box_with_default_sort_is_ranked(get, sort):
    # The table's filter form sends its default order (sort_desc: year) with every search.
    r = get(f"/archive/reports?_search=复议&{sort}")
    assert r.status_code == 302
    assert r.headers["location"] == (
        "/archive/report_search?_search=%E5%A4%8D%E8%AE%AE&_nocol=search_index"
    )


def test_datasette_archive_without_search_view_keeps_table_search(archive_path, tmp_path):  # noqa: F811
    import shutil

    old = tmp_path / "archive.db"
    shutil.copy(archive_path, old)
    with sqlite3.connect(old) as c:
        c.execute("drop view report_search")
    ds = make_datasette(old)
    r = asyncio.run(ds.client.get("/archive/reports.json?_search=复议&_shape=array&_size=max"))
    assert r.status_code == 200
    assert {row["id"] for row in r.json()} == _ids_containing(archive_path, "复议")


def test_datasette_ranked_view_filters_and_failed_check(get):
    data = get("/archive/reports.json?_search=复议&_failed_check=requests_balance&_col=year").json()
    assert data["table"] == "report_search"
    assert data["rows"] == [[6, 2019]]
    assert data["human_description_en"] == (
        'where fails check "requests_balance" and search matches "复议" sorted by rank'
    )


def test_datasette_ranked_search_csv(get):
    r = get("/archive/reports.csv?_search=外网")
    lines = r.text.splitlines()
    assert lines[0].startswith("id,rank,title,agency,agency_name,province,")
    assert "search_index" not in lines[0]
    assert lines[1].startswith("9,")


def test_datasette_ranked_search_query(get):
    rows = get("/archive/search.json?q=酒泉市人民政府&_shape=array").json()
    assert [r["id"] for r in rows] == [12, 13, 14]
    assert rows[0]["rank"] <= rows[1]["rank"] <= rows[2]["rank"]
    assert "<mark>酒泉市人民政府</mark>" in rows[0]["snippet"]


def test_datasette_search_snippet_is_escaped(get):
    html = get("/archive/search?q=请勿执行").text
    assert "&lt;script&gt;alert" in html
    assert SCRIPT_TEXT not in html
    assert "<mark>请勿执行</mark>" in html


def test_datasette_report_page_escapes_script(get):
    html = get("/archive/reports/23").text
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in html
    assert SCRIPT_TEXT not in html


def test_datasette_report_page_links(get, archive_path):  # noqa: F811
    with sqlite3.connect(archive_path) as conn:
        record_id = conn.execute("SELECT warc_record_id FROM captures WHERE id = 8").fetchone()[0]
    conn.close()
    html = get("/archive/reports/8").text
    assert 'href="http://www.hrbhl.gov.cn/zwgk/ndbg/2022/t000008.html"' in html
    assert 'href="/archive/captures/8"' in html
    assert record_id.startswith("<urn:uuid:") and escape(record_id) in html
    assert 'href="/archive/cells?report_id=8"' in html
    assert 'href="/archive/stats?report_id=8"' in html
    assert 'href="/archive/checks?report_id=8"' in html
    # 呼兰区 has reports for 2018, 2019, 2020 (ids 5-7) besides this 2022 one.
    for other in (5, 6, 7):
        assert f'href="/archive/reports/{other}"' in html


def test_datasette_facets_on_reports(get):
    data = get("/archive/reports.json").json()
    facets = data["facet_results"]
    assert set(facets) >= {"province", "city", "level", "year", "kind", "format", "failed_check"}
    failed = {v["value"]: v["count"] for v in facets["failed_check"]["results"]}
    assert failed == {
        "requests_balance": 1,
        "requests_total_column": 1,
        "appeals_totals": 1,
        "published_on_time": 4,
    }
    provinces = {v["value"]: v["count"] for v in facets["province"]["results"]}
    assert provinces["江苏省"] == 5


def test_datasette_failed_check_filter(get):
    rows = get("/archive/reports.json?_failed_check=requests_total_column&_shape=array").json()
    assert [r["id"] for r in rows] == [11]


def test_datasette_refused_for_process_info_in_2022_counties(get):
    rows = get("/archive/refused_for_reason.json?year=2022&level=county&_shape=array").json()
    assert sorted((r["agency"], r["requests"]) for r in rows) == [
        ("吴忠市利通区人民政府", 1.0),
        ("哈尔滨市呼兰区人民政府", 4.0),
        ("淮安市洪泽区人民政府", 2.0),
    ]


def test_datasette_late_reports(get):
    rows = get("/archive/late_reports.json?_shape=array").json()
    assert {(r["report_id"], r["deadline"]) for r in rows} == {
        (3, "2016-03-31"),
        (17, "2025-03-31"),
        (22, "2022-01-31"),
        (23, "2023-01-31"),
    }


def test_datasette_missing_reports(get):
    rows = get("/archive/missing_reports.json?_shape=array&_size=max").json()
    yuci = [r["missing_year"] for r in rows if r["agency"] == "晋中市榆次区人民政府"]
    assert yuci == [*range(2009, 2014), *range(2017, 2025)]


def test_datasette_requests_per_year_matches_stats(get, archive_path):  # noqa: F811
    rows = get("/archive/requests_per_year.json?_shape=array").json()
    c = sqlite3.connect(archive_path)
    want = c.execute(
        "select r.year, sum(s.value) from stats s join reports r on r.id = s.report_id"
        " where s.key = 'requests_new' group by r.year order by r.year"
    ).fetchall()
    assert [(r["year"], r["requests_new"]) for r in rows] == want


@pytest.mark.parametrize(
    "query",
    [
        "requests_per_province",
        "outcome_shares",
        "refusal_reasons",
        "top_agencies",
        "failing_reports",
        "yoy_change",
        "new_reports",
    ],
)
def test_datasette_canned_query_runs(get, query):
    r = get(f"/archive/{query}.json?_shape=array")
    assert r.status_code == 200 and r.json()


def test_datasette_canned_queries_have_bilingual_titles():
    queries = load_metadata()["databases"]["archive"]["queries"]
    for name, q in queries.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in q["title"]), name
        assert any(ch.isascii() and ch.isalpha() for ch in q["title"]), name
        assert q["description"], name


def test_datasette_chart_on_canned_query(get):
    html = get("/archive/requests_per_year").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="nianbao-chart"' in html
    svg = get("/-/nianbao/chart/archive/requests_per_province.svg?year=2022")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    # Five provinces have 2022 reports (山西 has none).
    assert svg.text.count('class="bar"') == 5


def test_datasette_atom_feed_filtered_by_province(get):
    r = get("/archive/new_reports.atom?province=江苏省")
    assert r.status_code == 200
    assert r.text.count("<entry>") == 5
    assert "淮安市洪泽区人民政府2024年政府信息公开工作年度报告" in r.text
    assert "广东省" not in r.text.split("<entry>", 1)[1]


def test_datasette_csv_export(get):
    r = get("/archive/reports.csv?_col=title&year=2016&_sort=id")
    assert r.status_code == 200
    assert r.text.splitlines()[1:] == [
        "4,晋中市榆次区人民政府2016年政府信息公开工作年度报告",
        "12,酒泉市人民政府2016年政府信息公开工作年度报告",
    ]


def test_datasette_is_read_only(get):
    # Not immutable (a build swaps the file, a crawl appends), but opened with mode=ro and
    # without a write connection: see tests/test_build_swap.py.
    r = get("/archive.json?sql=delete+from+reports")
    assert r.status_code == 400
    assert get("/archive/reports.json?_size=1").json()["filtered_table_rows_count"] == 23


def test_datasette_sql_time_limit_set(get):
    assert get("/-/settings.json").json()["sql_time_limit_ms"] == SETTINGS["sql_time_limit_ms"]


def test_datasette_metadata_documents_every_column(archive_path):  # noqa: F811
    tables = load_metadata()["databases"]["archive"]["tables"]
    c = sqlite3.connect(archive_path)
    names = [
        r[0]
        for r in c.execute(
            "select name from sqlite_master where type in ('table', 'view') "
            "and name not like 'reports_fts_%'"
        )
    ]
    missing = []
    for name in names:
        cols = [r[1] for r in c.execute(f"pragma table_info([{name}])")]
        documented = tables.get(name, {}).get("columns", {})
        missing += [f"{name}.{col}" for col in cols if not documented.get(col)]
        missing += [name] if not tables.get(name, {}).get("description") else []
    assert missing == []


def test_datasette_column_notes_fold_away(get):
    html = get("/archive/reports").text
    notes = html.split('<details class="nianbao-columns">', 1)[1].split("</details>", 1)[0]
    assert "<dt>year</dt><dd>Year covered by the report (统计期限)" in notes
    assert "dl.column-descriptions { display: none; }" in html


def test_datasette_search_of_too_many_matches_is_newest_first(get, archive_path, monkeypatch):  # noqa: F811
    from postprocess.storage import search

    everywhere = sorted(_ids_containing(archive_path, "报告"), reverse=True)
    ranked = get("/archive/reports.json?_search=报告&_size=max").json()
    assert "search_order" not in ranked and ranked["rows"][0][1] is not None  # rank
    monkeypatch.setattr(search, "RANK_MAX", 3)
    r = get("/archive/reports.json?_search=报告&_size=5")
    data = r.json()
    assert r.headers["x-nianbao-search-order"] == "newest"
    assert (data["search_order"], data["search_rank_max"]) == ("newest", 3)
    assert "rank" not in data["columns"] and "snippet" in data["columns"]
    assert data["filtered_table_rows_count"] == len(everywhere)  # the count covers every match
    # the default facets would count every match again, one query each: not on this page
    assert data["facet_results"] == {} and ranked["facet_results"]["province"]["results"]
    asked = get("/archive/reports.json?_search=报告&_size=5&_facet=year").json()
    assert asked["search_order"] == "newest" and asked["facet_results"]["year"]["results"]
    ids = [row[0] for row in data["rows"]]
    while data["next_url"]:
        data = get(data["next_url"].replace("http://localhost", "")).json()
        ids += [row[0] for row in data["rows"]]
    assert ids == everywhere
    # a search of few matches stays ranked; the page says when it is not
    assert "search_order" not in get("/archive/reports.json?_search=酒泉市人民政府").json()
    html = get("/archive/report_search?_search=报告").text
    assert "too many to rank by relevance" in html and 'class="search-order-note"' in html
    assert "too many to rank" not in get("/archive/report_search?_search=成绩单").text
    rows = get("/archive/reports.json?_search=报告&_shape=array&_col=title&_size=max").json()
    assert [row["id"] for row in rows] == everywhere and "rank" not in rows[0]


def test_datasette_newest_first_is_decided_again_for_the_next_search(
    get,
    archive_path,  # noqa: F811
    monkeypatch,
):
    from postprocess.storage import search

    monkeypatch.setattr(search, "RANK_MAX", 3)
    # what the page's search form and paging links send on after a newest-first page
    carried = "&_sort=id&_sort_by_desc=on&_nocol=rank"
    narrow = get(f"/archive/report_search.json?_search=酒泉市人民政府{carried}").json()
    assert "search_order" not in narrow and "rank" in narrow["columns"]
    # the form carries _nofacet=newest on too: a ranked search has its facets again
    faceted = get(f"/archive/report_search.json?_search=酒泉市人民政府{carried}&_nofacet=newest")
    assert faceted.json()["facet_results"]["province"]["results"]
    best = search.search_reports(sqlite3.connect(archive_path), "酒泉市人民政府")
    assert [row[0] for row in narrow["rows"]] == [h["id"] for h in best]
    again = get(f"/archive/report_search.json?_search=报告&_next=5{carried}").json()
    assert again["search_order"] == "newest" and "rank" not in again["columns"]
    # an order the reader chose is kept
    by_year = get("/archive/report_search.json?_search=报告&_sort=year&_col=year").json()
    assert "search_order" not in by_year
    years = [row[-1] for row in by_year["rows"]]
    assert years == sorted(years)
