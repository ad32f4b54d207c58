"""Reports captured as one long line (web archive / copy-paste text): the chrome prefix is cut
off, not the report; the template's lines come back; run-together rows are cut by the report's
arithmetic or flagged. Fixtures: tests/fixtures/forms/*.oneline.txt (PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

from postprocess.extract import split as S
from postprocess.extract.clean import clean_text, strip_chrome
from postprocess.extract.documents import read_document
from postprocess.extract.figures import extract_figures
from postprocess.extract.grids import break_run_on
from postprocess.extract.model import ReportMeta

FORMS = Path(__file__).parent / "fixtures" / "forms"


def _read(name: str):
    path = FORMS / f"{name}.oneline.txt"
    exp = json.loads((FORMS / f"{name}.oneline.expected.json").read_text("utf-8"))
    doc = read_document(path.read_bytes(), f"file:///{path.name}", exp["content_type"])
    meta = ReportMeta(exp["title"], exp["agency"], exp["year"], None, "annual_report")
    return exp, doc, extract_figures(doc, meta, None)


def test_oneline_fixtures_are_one_line():
    for name in ("hulan-2019", "huaian-2024"):
        text = (FORMS / f"{name}.oneline.txt").read_text("utf-8")
        assert text.count("\n") == 1 and text.startswith(("当前位置", "您当前的位置"))


def test_oneline_report_text_kept_and_titled():
    for name, heading in (
        ("hulan-2019", "一、总体情况"),
        ("huaian-2024", "二、主动公开政府信息情况"),
    ):
        exp, doc, figures = _read(name)
        assert doc.title == exp["title"]
        assert len(doc.text) > 1000
        assert doc.text.splitlines()[0] == f"标题：{exp['title']}"  # breadcrumb and toolbar cut
        assert "当前位置" not in doc.text and " > " not in doc.text and "来源：" not in doc.text
        assert any(line.startswith(heading) for line in doc.text.splitlines())
        assert figures.format == exp["format"]
    # the related-links list the one line runs on into is not report text
    assert doc.text.endswith("五、存在的主要问题及改进情况")
    _, doc, _ = _read("hulan-2019")
    assert doc.text.endswith("六、其他需要报告的事项无")


def test_oneline_cells_exact_and_ambiguous_flagged():
    for name in ("hulan-2019", "huaian-2024"):
        exp, _, figures = _read(name)
        got = {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells}
        assert got == exp["cells"]
        flags = [c for c in figures.checks if c.rule == "cells_split_ambiguous"]
        assert len(flags) == 1 and not flags[0].ok
        for raw in exp["ambiguous"]:
            assert raw in flags[0].detail


def test_oneline_cells_read_after_stray_spaces_and_glued_ordinals():
    _, _, figures = _read("huaian-2024")
    cells = {(c.row_key, c.col_key): c.value for c in figures.cells}
    # 44 77000 0454: spaces inside the run; 1288 21 00 503 1362: spaces at some cuts
    partial = [cells["partial", k] for k in ("natural_person", "commercial", "total")]
    assert partial == [447, 7, 454]
    assert cells["granted", "legal_service"] == 50 and cells["granted", "other_org"] == 3
    # 2.其他法律…31 follows 1.属于国家秘密2000002: the 2 of 2. is the label's, not a cell's
    assert cells["denied_state_secret", "total"] == 2
    assert cells["denied_prohibited_by_law", "natural_person"] == 30


def test_break_run_on_restores_template_lines():
    line = (
        "三、收到和处理政府信息公开申请情况申请人情况自然人总计"
        "一、本年新收政府信息公开申请数量71300007 4二、上年结转政府信息公开申请数量0000000"
        "三、本年度办理结果（一）予以公开640020470（三）不予公开1.属于国家秘密0000000"
        "2.其他法律行政法规禁止公开0000000（七）总计713000074四、结转下年度继续办理0000000"
        "四、政府信息公开行政复议、行政诉讼情况行政复议结果维持总计000000000000000"
        "五、存在的主要问题"
    )
    assert break_run_on(line).splitlines() == [
        "三、收到和处理政府信息公开申请情况申请人情况自然人总计",
        "一、本年新收政府信息公开申请数量71300007 4",
        "二、上年结转政府信息公开申请数量0000000",
        "三、本年度办理结果",
        "（一）予以公开640020470",
        "（三）不予公开",
        "1.属于国家秘密0000000",
        "2.其他法律行政法规禁止公开0000000",
        "（七）总计713000074",
        "四、结转下年度继续办理0000000",
        "四、政府信息公开行政复议、行政诉讼情况行政复议结果维持总计",
        "000000000000000",
        "五、存在的主要问题",
    ]


def test_break_run_on_leaves_prose_and_short_lines():
    prose = "2023年，我县本年新收政府信息公开申请12件，上年结转2件，办理结果予以公开9件。" * 4
    assert break_run_on(prose) == prose
    assert break_run_on("一、本年新收政府信息公开申请数量713000074") == (
        "一、本年新收政府信息公开申请数量713000074"
    )


def test_splits_nonzero_later_columns_and_fifteen_cells():
    # 64 0 0 2 0 4 70: the only cut whose 总计 adds up
    assert S.splits(["640020470"], 7, S.last_is_sum) == [["64", "0", "0", "2", "0", "4", "70"]]
    # 四's fifteen cells as one number, cut group by group (fast: pruned while cutting)
    found = S.splits(["72641783735113481261211620"], 15, S.groups_sum(5))
    assert len(found) == 3  # every reading adds up: the caller flags the row


def test_chrome_line_with_report_is_cut_not_dropped():
    body = "一、总体情况" + "本年度我县认真贯彻落实新《条例》，推进政务公开。" * 20
    line = (
        "当前位置：首页>政务公开>年度报告标题：某县2020年政府信息公开工作年度报告"
        "发布时间：2021-01-20 10:30来源：县政府办公室" + body + "主办单位：某县人民政府 版权所有"
    )
    text, date = strip_chrome(line)
    assert date == "2021-01-20 10:30"
    assert text.splitlines() == ["标题：某县2020年政府信息公开工作年度报告", body]
    assert clean_text(line).title == "某县2020年政府信息公开工作年度报告"


def test_short_chrome_lines_still_dropped():
    text, date = strip_chrome("当前位置：首页 > 政务公开 > 年度报告\n发布时间：2021-01-20\n正文。")
    assert text == "正文。" and date == "2021-01-20"


def test_links_tail_cut_from_a_line_only():
    text, _ = strip_chrome("六、其他需要报告的事项无关联稿件：某县2019年报告\n下一段。")
    assert text.splitlines() == ["六、其他需要报告的事项无", "下一段。"]
