"""Chinese n-gram search: index form, query form, snippets, and exact matching on an archive."""

from __future__ import annotations

import sqlite3
import unicodedata

import pytest
from archive_fixture import SCRIPT_TEXT, archive_path  # noqa: F401

from postprocess.storage import search


def test_ngram_text_bigrams_with_closing_unigram():
    assert search.ngram_text("行政复议，2022年度") == "行政 政复 复议 议 2022 年度 度"


def test_ngram_text_folds_fullwidth_and_case():
    assert search.ngram_text("２０２２年 ABC") == "2022 年 abc"


def test_fts_query_two_character_term_is_one_bigram():
    assert search.fts_query("复议") == '"复议"'


def test_fts_query_phrase_drops_closing_unigram_of_last_run():
    assert search.fts_query("过程性信息") == '"过程 程性 性信 信息"'


def test_fts_query_terms_are_anded_and_quotes_keep_phrases():
    assert search.fts_query('复议 "行政 诉讼"') == '"复议" AND "行政 政 诉讼"'


def test_fts_query_trailing_single_han_char_is_prefix():
    assert search.fts_query("2022年") == '"2022 年" *'


def test_fts_query_empty_matches_nothing():
    assert search.fts_query("  ，。 ") == '""'


def test_snippet_marks_every_term():
    text = "今年行政复议案件3件，行政诉讼2件。"
    assert (
        search.snippet(text, "复议 诉讼")
        == "今年行政<mark>复议</mark>案件3件，行政<mark>诉讼</mark>2件。"
    )


def test_snippet_cuts_context_around_first_hit():
    text = "甲" * 200 + "收费" + "乙" * 200
    out = search.snippet(text, "收费", width=5)
    assert out == "…甲甲甲甲甲<mark>收费</mark>乙乙乙乙乙乙乙…"


@pytest.fixture(scope="module")
def conn(archive_path):  # noqa: F811
    c = sqlite3.connect(archive_path)
    search.register_functions(c)
    yield c
    c.close()


def _matches(conn, term: str) -> set[int]:
    sql = "select rowid from reports_fts where reports_fts match nianbao_match(?)"
    return {r[0] for r in conn.execute(sql, [term])}


def _containing(conn, term: str) -> set[int]:
    rows = conn.execute("select id, title, agency, text from reports").fetchall()
    folded = search.fold(term)
    return {r[0] for r in rows if any(folded in search.fold(v or "") for v in r[1:])}


@pytest.mark.parametrize(
    "term",
    [
        "复议",
        "诉讼",
        "收费",
        "过程性信息",
        "榆次区",
        "电子政务外网",
        "成绩单",
        "国家秘密",
        "专题培训",
        "复制费用",
        "酒泉市人民政府",
    ],
)
def test_search_returns_exactly_the_reports_containing_the_term(conn, term):
    expected = _containing(conn, term)
    assert expected, f"fixture has no report containing {term}"
    assert _matches(conn, term) == expected


def test_search_two_character_term_in_one_report(conn):
    # 外网 is only in 利通区 2015 (id 9); 专题 only in 榆次区 2014 (id 2).
    assert _matches(conn, "外网") == {9}
    assert _matches(conn, "专题") == {2}


def test_search_term_absent_everywhere_matches_nothing(conn):
    assert _matches(conn, "核电站") == set()


def test_search_does_not_join_runs_across_punctuation(conn):
    # 复议，议题 must not match 复议题: the index closes each run with a unigram.
    assert search.fts_query("复议题") == '"复议 议题"'
    assert _matches(conn, "复议题") == _containing(conn, "复议题") == set()


def test_search_reports_ranks_title_hits_first(conn):
    hits = search.search_reports(conn, "酒泉市人民政府")
    assert [h["id"] for h in hits][:3] == [12, 13, 14]
    assert "<mark>酒泉市人民政府</mark>" in hits[0]["snippet"]


def test_search_view_ranks_and_aggregates(conn):
    # No ORDER BY inside the view: counts and group-bys (Datasette's count and facets) must work.
    where = "from report_search where search_index match nianbao_match(?)"
    assert conn.execute(f"select count(*) {where}", ["复议"]).fetchone()[0] == len(
        _containing(conn, "复议")
    )
    years = conn.execute(f"select year, count(*) {where} group by year", ["复议"]).fetchall()
    assert sum(n for _, n in years) == len(_containing(conn, "复议"))
    ranked = [r[0] for r in conn.execute(f"select id {where} order by rank", ["酒泉市人民政府"])]
    assert ranked == [h["id"] for h in search.search_reports(conn, "酒泉市人民政府")]
    assert ranked[:3] == [12, 13, 14]


def test_index_reports_is_idempotent(archive_path, tmp_path):  # noqa: F811
    import shutil

    copy = tmp_path / "archive.db"
    shutil.copy(archive_path, copy)
    c = sqlite3.connect(copy)
    assert search.index_reports(c) == 23
    assert search.index_reports(c) == 23
    search.register_functions(c)
    assert _matches(c, "成绩单") == {12}
    c.close()


def test_script_report_is_indexed_as_text(conn):
    assert SCRIPT_TEXT in conn.execute("select text from reports where id = 23").fetchone()[0]
    assert _matches(conn, "请勿执行") == {23}


def test_fold_is_nfkc_lowercase():
    assert search.fold("ＡＢ２０") == unicodedata.normalize("NFKC", "ab20")


# --- query syntax: OR, exclusions, single characters, traditional characters -----------------


def test_fts_query_or_and_exclusions():
    assert search.fts_query("复议 OR 诉讼") == '("复议") OR ("诉讼")'
    assert search.fts_query("复议 -诉讼") == '"复议" NOT "诉讼"'
    assert search.fts_query("复议 NOT 诉讼") == '"复议" NOT "诉讼"'
    assert search.fts_query('收费 -"行政 诉讼" | 咨询') == '("收费" NOT "行政 政 诉讼") OR ("咨询")'
    # exclusions alone cannot be matched by FTS5: nothing, not everything
    assert search.fts_query("-诉讼") == '""'


def test_fts_query_single_character_is_a_prefix():
    assert search.fts_query("复") == '"复" *'


def test_fold_traditional_to_simplified():
    assert search.fold("復議 訴訟 政府資訊公開") == "复议 诉讼 政府资讯公开"
    assert search.fts_query("復議") == search.fts_query("复议")
    # the aligned fold keeps offsets, so hits are marked in the original characters
    assert search.snippet("今年行政復議3件。", "复议") == "今年行政<mark>復議</mark>3件。"


def test_snippet_prefers_prose_to_table_lines():
    text = "| 行政复议 | 行政复议 | 行政复议 |\n" * 3 + "全年收到行政复议申请2件。"
    assert search.snippet(text, "复议") == "…全年收到行政<mark>复议</mark>申请2件。"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("复议 OR 诉讼", lambda has: has("复议") | has("诉讼")),
        ("复议 -诉讼", lambda has: has("复议") - has("诉讼")),
        ("复", lambda has: has("复")),
        ("復議", lambda has: has("复议")),
    ],
)
def test_search_syntax_matches_exactly(conn, query, expected):
    def has(term):
        rows = conn.execute("select id, title, agency, text from reports").fetchall()
        return {r[0] for r in rows if any(term in search.fold(v or "") for v in r[1:])}

    got = {r["id"] for r in search.search_reports(conn, query, limit=1000)}
    assert got == expected(has)


def test_snippet_skips_number_rows_read_from_pdfs():
    text = "6.属于四类过程性信息 1 0 0 0 0 0 1\n本年度因过程性信息不予公开1件。"
    assert search.snippet(text, "过程性信息") == "…本年度因<mark>过程性信息</mark>不予公开1件。"


def test_search_matching_more_than_rank_max_is_newest_first(conn, monkeypatch):
    everywhere = _containing(conn, "报告")
    assert len(everywhere) > 3
    assert search.ranked_order(conn, search.fts_query("报告")) == search.ORDER_RELEVANCE
    ranked = search.search_reports(conn, "报告")
    assert all(h["rank"] is not None for h in ranked)
    monkeypatch.setattr(search, "RANK_MAX", 3)
    assert search.ranked_order(conn, search.fts_query("报告")) == search.ORDER_NEWEST
    hits = search.search_reports(conn, "报告", limit=100)
    assert [h["id"] for h in hits] == sorted(everywhere, reverse=True)
    assert {h["rank"] for h in hits} == {None}
    assert all("<mark>" in h["snippet"] for h in hits)
    # a search of few matches is still ranked by bm25
    assert search.ranked_order(conn, search.fts_query("酒泉市人民政府")) == search.ORDER_RELEVANCE
    assert [h["id"] for h in search.search_reports(conn, "酒泉市人民政府")][:3] == [12, 13, 14]


def test_canned_search_query_bounds_ranking_too(conn, monkeypatch):
    import yaml

    from postprocess.publish.serve import METADATA

    sql = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["archive"]["queries"][
        "search"
    ]["sql"]
    ranked = conn.execute(sql, {"q": "酒泉市人民政府"}).fetchall()
    assert [r[0] for r in ranked] == [
        h["id"] for h in search.search_reports(conn, "酒泉市人民政府")
    ]
    assert all(r[-1] is not None for r in ranked)
    monkeypatch.setattr(search, "RANK_MAX", 3)
    newest = conn.execute(sql, {"q": "报告"}).fetchall()
    assert [r[0] for r in newest] == sorted(_containing(conn, "报告"), reverse=True)
    assert {r[-1] for r in newest} == {None}
