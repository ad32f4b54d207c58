"""Pure units of figure extraction: values, labels, grids, narrative rules, checks."""

from __future__ import annotations

import io

import pytest

from postprocess.extract import labels
from postprocess.extract.checks import run_checks
from postprocess.extract.figures import detect_format, extract_figures
from postprocess.extract.grids import docx_tables, text_tables, unwrap
from postprocess.extract.model import Cell, Document, ReportMeta, Table
from postprocess.extract.narrative import narrative_stats
from postprocess.extract.tables import table_cells
from postprocess.extract.values import cn2num, parse_value

META = ReportMeta(
    title="某区2020年政府信息公开工作年度报告",
    agency="某区人民政府",
    year=2020,
    published="2021-03-01",
    kind="annual_report",
)


@pytest.mark.parametrize(
    "raw,value,unit",
    [
        ("0", 0, None),
        ("—", 0, None),
        ("-", 0, None),
        ("/", 0, None),
        ("无", 0, None),
        ("", 0, None),
        ("+2", 2, None),
        ("-5", -5, None),
        ("１２３", 123, None),
        ("13,214", 13214, None),
        ("21552.9万元", 21552.9, "万元"),
        ("1.2亿元", 12000, "亿元"),
        ("3500元", 0.35, "元"),
        ("见附件", None, None),
    ],
)
def test_parse_value_forms(raw, value, unit):
    parsed = parse_value(raw)
    assert parsed.value == pytest.approx(value) if value is not None else parsed.value is None
    assert parsed.unit == unit


@pytest.mark.parametrize(
    "text,value",
    [("十四", 14), ("两", 2), ("一百零五", 105), ("二十", 20), ("三千二百", 3200), ("件", None)],
)
def test_cn2num(text, value):
    assert cn2num(text) == value


def test_unwrap_joins_numbers_and_cjk_but_not_words():
    assert unwrap("1\n7") == "17"
    assert unwrap("商业\n企业") == "商业企业"
    assert unwrap("结果\n维持") == "结果维持"


@pytest.mark.parametrize(
    "label,group,key",
    [
        ("（一）予以公开", None, "granted"),
        ("(一)予以公开", None, "granted"),
        ("（ 三 ）不予公开 1．属于国家秘密", None, "denied_state_secret"),
        ("2、其他法律行政法规禁止公开", "denied", "denied_prohibited_by_law"),
        ("3.补正后申请内容仍不明确", "unable", "unable_unclear"),
        ("（六）其他处理", None, "other"),
        ("3.其他", "other", "other_other"),
        ("（七）总 计", None, "total_handled"),
        ("9.属于其他情形", "denied", None),
    ],
)
def test_request_row_labels(label, group, key):
    assert labels.request_row(label, group)[0] == key


def _text_table(text: str) -> list[Cell]:
    return table_cells(text_tables(text))


REQUESTS_HEAD = (
    "(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和) | 申请人情况 | ||\n"
    "自然人 | 法人或其他组织 | 总计 |\n"
    "商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 |\n"
)


def test_unknown_row_is_kept_and_flagged():
    text = (
        REQUESTS_HEAD + "一、本年新收政府信息公开申请数量 | 1 | 0 | 0 | 0 | 0 | 0 | 1 |\n"
        "五、群众满意度 | 9 | 0 | 0 | 0 | 0 | 0 | 9 |\n"
    )
    cells = _text_table(text)
    unknown = [c for c in cells if not c.known]
    assert len(unknown) == 7
    assert unknown[0].row_key == "unknown:五.群众满意度" and unknown[0].value == 9


def test_missing_total_column_gives_no_total_cells():
    text = """(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和) | 申请人情况 |
自然人 | 法人或其他组织 |
商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 |
一、本年新收政府信息公开申请数量 | 4 | 1 | 0 | 0 | 0 | 0 |
"""
    cells = _text_table(text)
    assert {c.col_key for c in cells} == {
        "natural_person",
        "commercial",
        "research",
        "public_interest",
        "legal_service",
        "other_org",
    }
    assert all(c.known for c in cells)


def test_labels_with_spaces_and_fullwidth_map_to_same_cells():
    a = _text_table(REQUESTS_HEAD + "（二）部分公开 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |\n")
    b = _text_table(REQUESTS_HEAD + "(二) 部 分 公 开 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |\n")
    assert [(c.row_key, c.col_key, c.value) for c in a] == [
        (c.row_key, c.col_key, c.value) for c in b
    ]
    assert a[0].row_key == "partial"


def test_docx_merged_cells_are_expanded():
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.rows[0].cells[0].merge(table.rows[1].cells[0]).text = "三、本年度办理结果"
    table.rows[0].cells[1].merge(table.rows[0].cells[2]).text = "申请人情况"
    buf = io.BytesIO()
    document.save(buf)
    (grid,) = docx_tables(buf.getvalue())
    assert grid.rows[0] == ["三、本年度办理结果", "申请人情况", "申请人情况"]
    assert grid.rows[1][0] == "三、本年度办理结果"


def test_narrative_ignores_non_foi_numbers():
    text = (
        "网站日均访问量600余人次。政务微博发布信息1200条。为群众提供代办服务243909件。"
        "全年共受理政府信息公开申请十四件，其中同意公开两件。"
    )
    stats = {s.key: s for s in narrative_stats(text)}
    assert set(stats) == {"requests_new", "requests_granted"}
    assert stats["requests_new"].value == 14
    assert stats["requests_granted"].value == 2


def test_narrative_none_statements_are_zero():
    text = "本年度未发生因政府信息公开申请提起的行政复议和行政诉讼。依申请公开信息均未收费。"
    stats = {s.key: s.value for s in narrative_stats(text)}
    assert stats == {"reviews": 0, "lawsuits": 0, "fees_yuan": 0}


def test_narrative_report_without_figures_gets_none():
    doc = Document(url="x", media="txt", text="加强组织领导，完善工作机制，提升公开质量。")
    figures = extract_figures(doc, META, None)
    assert (figures.format, figures.cells, figures.stats) == ("narrative", [], [])


def _cells(rows: dict[str, list[float]], appeals: list[float] | None = None) -> list[Cell]:
    cols = [
        "natural_person",
        "commercial",
        "research",
        "public_interest",
        "legal_service",
        "other_org",
        "total",
    ]
    out = [
        Cell("requests", r, c, v, str(v))
        for r, vals in rows.items()
        for c, v in zip(cols, vals, strict=True)
    ]
    if appeals:
        for gi, g in enumerate(["review", "litigation_direct", "litigation_after_review"]):
            for ci, c in enumerate(["upheld", "corrected", "other", "pending", "total"]):
                out.append(Cell("appeals", g, c, appeals[gi * 5 + ci], ""))
    return out


CONSISTENT = {
    "new": [5, 1, 0, 0, 0, 0, 6],
    "carried_over": [1, 0, 0, 0, 0, 0, 1],
    "granted": [3, 1, 0, 0, 0, 0, 4],
    "unable_not_held": [2, 0, 0, 0, 0, 0, 2],
    "other": [0, 0, 0, 0, 0, 0, 0],
    "total_handled": [5, 1, 0, 0, 0, 0, 6],
    "carried_forward": [1, 0, 0, 0, 0, 0, 1],
}
APPEALS_OK = [1, 0, 0, 0, 1] + [0] * 5 + [0, 1, 0, 1, 2]


def _failed(
    cells: list[Cell], meta: ReportMeta = META, text: str = "", level: str | None = None
) -> set[str]:
    return {c.rule for c in run_checks(cells, "2019", text, meta, level) if not c.ok}


def test_checks_pass_on_consistent_tables():
    assert _failed(_cells(CONSISTENT, APPEALS_OK)) == set()


def test_checks_catch_unbalanced_column():
    rows = dict(CONSISTENT, carried_forward=[0, 0, 0, 0, 0, 0, 1])  # natural_person 5+1 != 5+0
    assert "requests_balance" in _failed(_cells(rows))


def test_checks_catch_wrong_total_column():
    rows = dict(CONSISTENT, granted=[3, 1, 0, 0, 0, 0, 5])
    assert "requests_total_column" in _failed(_cells(rows))


def test_checks_catch_wrong_handled_total():
    rows = dict(
        CONSISTENT,
        unable_not_held=[3, 0, 0, 0, 0, 0, 3],
        carried_forward=[0, 0, 0, 0, 0, 0, 0],
        total_handled=[5, 1, 0, 0, 0, 0, 6],
    )
    failed = _failed(_cells(rows))
    assert "requests_handled_sum" in failed


def test_checks_catch_appeal_totals():
    bad = list(APPEALS_OK)
    bad[14] = 0  # 复议后起诉 总计 printed 0 beside 1 + 1 (as 洪泽区 2023 prints it)
    assert _failed(_cells(CONSISTENT, bad)) == {"appeals_totals"}


def test_checks_catch_late_department_report():
    meta = ReportMeta(
        "某局2020年政府信息公开工作年度报告", "某区教育局", 2020, "2021-02-10", "annual_report"
    )
    assert "published_on_time" in _failed([], meta)
    gov = ReportMeta(
        "某区2020年政府信息公开工作年度报告", "某区人民政府", 2020, "2021-02-10", "annual_report"
    )
    assert "published_on_time" not in _failed([], gov)


def test_checks_old_reports_use_31_march():
    meta = ReportMeta("某局2015年报告", "某县教育局", 2015, "2016-03-30", "annual_report")
    assert "published_on_time" not in _failed([], meta, level="department")


def test_checks_catch_title_year_mismatch():
    text = "本报告所列数据统计期限自2019年1月1日起至2019年12月31日止。"
    assert "title_year_matches_period" in _failed([], META, text)


def test_detect_format_from_labels_not_year():
    cells_2021 = [Cell("proactive", "regulations", "issued", 1, "1")]
    assert detect_format(cells_2021, 2020) == "2021"
    cells_2019 = [Cell("proactive", "regulations", "new_made", 1, "1")]
    assert detect_format(cells_2019, 2022) == "2019"
    assert detect_format([], 2022) == "narrative"


def test_html_table_with_blank_leading_value_cells():
    table = Table(
        rows=[
            ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
            ["规章", "", "", "3"],
        ],
        source="html",
    )
    cells = table_cells([Table(rows=[["第二十条第（一）项", "", "", ""]], source="html"), table])
    assert [(c.col_key, c.value, c.raw) for c in cells] == [
        ("new_made", 0, ""),
        ("new_published", 0, ""),
        ("total_published", 3, "3"),
    ]


# --- issue 9 §5: narrative figures -----------------------------------------------------------


def _narrative(text: str) -> dict[str, float]:
    return {s.key: s.value for s in narrative_stats(text)}


@pytest.mark.parametrize(
    "text, total",
    [
        ("2022年，实验区全年主动公开政府信息3460条，其中政府采购信息189条。", 3460),
        ("全年共公开政府信息3460条，其中主动公开政府采购信息189条。", 3460),
        ("主动公开政府采购信息189条。全年共主动公开政府信息3460条。", 3460),
        ("全年主动公开各类信息3460条（其中公开政府采购信息189条）。", 3460),
    ],
)
def test_narrative_total_is_not_a_sub_count(text, total):
    assert _narrative(text)["proactive_total"] == total


def test_narrative_combined_results_fill_neither_part():
    stats = _narrative("全年共受理政府信息公开申请45件，其中予以公开及部分公开42件，不予公开3件。")
    assert stats == {"requests_new": 45, "requests_denied": 3}


def test_narrative_combined_results_split_where_the_text_gives_a_part():
    text = "全年共受理政府信息公开申请45件，予以公开及部分公开共42件，其中部分公开2件。"
    stats = {s.key: s for s in narrative_stats(text)}
    assert (stats["requests_granted"].value, stats["requests_partial"].value) == (40, 2)
    assert stats["requests_granted"].raw == "予以公开及部分公开共42件 - 2件"


@pytest.mark.parametrize(
    "text",
    [
        "三、政府信息公开的收费及减免情况\n本机关提供政府信息，均为免费提供。",
        "全年共收到政府信息公开申请12件，均已按时答复，均为免费提供。",
        "本年度办理政府信息公开申请未收取任何费用。",
    ],
)
def test_narrative_free_of_charge_is_fees_zero(text):
    assert _narrative(text)["fees_yuan"] == 0


def test_narrative_free_service_outside_disclosure_is_not_fees():
    assert "fees_yuan" not in _narrative("为群众免费提供无线网络服务。")


@pytest.mark.parametrize(
    "text, new",
    [
        ("全年共办理政府信息公开申请15件，其中本年新收12件，上年结转3件。", 12),
        ("全年共受理政府信息公开申请15件（含上年结转3件），均已按期答复。", 12),
        ("本年度新收政府信息公开申请20件，加上年结转2件，共受理申请22件。", 20),
        ("全年共受理政府信息公开申请9件。", 9),
    ],
)
def test_narrative_requests_received_are_only_new(text, new):
    assert _narrative(text)["requests_new"] == new


def test_narrative_of_a_department_yields_its_figures():
    text = (
        "一、概述\n2017年，我局通过门户网站、政务微博、微信公众号等渠道共主动公开政府信息256条，"
        "其中规范性文件4条。\n"
        "二、依申请公开情况\n本局全年共收到政府信息公开申请3件，其中同意公开2件，"
        "信息不存在1件。\n"
        "三、收费及减免情况\n均为免费提供。\n"
        "四、行政复议和行政诉讼情况\n全年未发生针对本局政府信息公开事务的行政复议和行政诉讼。"
    )
    assert _narrative(text) == {
        "proactive_total": 256,
        "requests_new": 3,
        "requests_granted": 2,
        "requests_unable": 1,
        "fees_yuan": 0,
        "reviews": 0,
        "lawsuits": 0,
    }


@pytest.mark.parametrize(
    "text, new",
    [
        ("本年度依申请公开信息0件。", 0),
        ("全年无依申请公开事项。", 0),
        ("本局未发生依申请公开情况。", 0),
        ("全年共办理依申请公开5件，均按时答复。", 5),
    ],
)
def test_narrative_department_request_wording(text, new):
    assert _narrative(text) == {"requests_new": new}


def test_narrative_no_review_about_requests_is_not_zero_requests():
    assert _narrative("无依申请公开信息的行政复议案件。") == {"reviews": 0}
