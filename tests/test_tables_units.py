"""Tables read by meaning: digit runs cut by the template's sums, header readings checked by
the arithmetic, OCR noise in figures and labels, unreadable input is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from postprocess.extract import labels
from postprocess.extract import split as S
from postprocess.extract.figures import extract_figures
from postprocess.extract.grids import text_row, text_tables
from postprocess.extract.model import Document, ReportMeta, Table
from postprocess.extract.tables import read_tables
from postprocess.extract.values import parse_value

FORMS = Path(__file__).parent / "fixtures" / "forms"
META = ReportMeta("某县2021年政府信息公开工作年度报告", "某县人民政府", 2021, None, "annual_report")
HEAD = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）申请人情况\n"


def _cells(read) -> dict[str, float | None]:
    return {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in read.cells}


def test_split_cuts_run_by_row_total():
    assert S.splits(["713000074"], 7, S.last_is_sum) == [["71", "3", "0", "0", "0", "0", "74"]]


def test_split_keeps_token_boundaries_and_refuses_leading_zeros():
    assert S.splits(["12", "05"], 2) == []  # 05 is no figure
    assert S.splits(["12", "05"], 3) == [["12", "0", "5"]]
    assert S.splits(["12", "5"], 3) == [["1", "2", "5"]]


def test_split_run_ambiguous_by_row_is_settled_by_column_sums():
    text = (
        HEAD + "一、本年新收政府信息公开申请数量101000011\n"
        "二、上年结转政府信息公开申请数量0000000\n"
        "（七）总计 10 1 0 0 0 0 11\n"
        "四、结转下年度继续办理0000000\n"
    )
    assert len(S.splits(["101000011"], 7, S.last_is_sum)) > 1  # the row alone cannot tell
    read = read_tables(text_tables(text))
    new = {c.col_key: c.value for c in read.cells if c.row_key == "new"}
    assert new == {
        "natural_person": 10,
        "commercial": 1,
        "research": 0,
        "public_interest": 0,
        "legal_service": 0,
        "other_org": 0,
        "total": 11,
    }
    assert {c.method for c in read.cells if c.row_key == "new"} == {"split"}
    assert read.ambiguous == []


def test_split_ambiguous_row_is_left_out_and_flagged():
    text = (
        "第二十条第（一）项\n信息内容 本年制发件数 本年废止件数 现行有效件数\n"
        "规章000\n行政规范性文件3108\n"
    )
    read = read_tables(text_tables(text))
    assert _cells(read) == {
        "proactive.regulations.issued": 0,
        "proactive.regulations.repealed": 0,
        "proactive.regulations.in_force": 0,
    }
    assert read.ambiguous == ["proactive 行政规范性文件: 3108"]
    figures = extract_figures(Document("x", "txt", text, text_tables(text)), META)
    flag = [c for c in figures.checks if c.rule == "cells_split_ambiguous"]
    assert flag and not flag[0].ok and "3108" in flag[0].detail


def _requests_grid(note_span: int) -> list[Table]:
    """三 as an HTML grid whose note cell spans `note_span` columns; labels span three."""
    orgs = ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
    pad = [""] * (3 - note_span)
    note = ["勾稽关系"] * note_span
    header = [
        note + ["申请人情况"] * 7 + pad,
        note + ["自然人", "法人或其他组织", "", "", "", "", "总计"] + pad,
        note + ["自然人", *orgs, "总计"] + pad,
    ]
    rows = [
        ["一、本年新收政府信息公开申请数量"] * 3 + ["5", "2", "0", "0", "1", "0", "8"],
        ["二、上年结转政府信息公开申请数量"] * 3 + ["1", "0", "0", "0", "0", "0", "1"],
        [
            "三、本年度办理结果",
            "（一）予以公开",
            "（一）予以公开",
            "4",
            "2",
            "0",
            "0",
            "1",
            "0",
            "7",
        ],
        ["三、本年度办理结果", "（七）总计", "（七）总计", "4", "2", "0", "0", "1", "0", "7"],
        ["四、结转下年度继续办理"] * 3 + ["2", "0", "0", "0", "0", "0", "2"],
    ]
    width = max(len(r) for r in header + rows)
    return [Table(rows=[r + [""] * (width - len(r)) for r in header + rows], source="html")]


def test_header_one_column_off_is_read_by_arithmetic():
    right = read_tables(_requests_grid(3))
    shifted = read_tables(_requests_grid(2))
    assert _cells(shifted) == _cells(right)
    assert _cells(right)["requests.new.natural_person"] == 5
    assert {c.method for c in right.cells} == {"header"}
    assert {c.method for c in shifted.cells} == {"arithmetic"}


def test_real_inconsistency_is_not_hidden_by_another_column_reading():
    header = [
        ["行政复议"] * 5 + ["行政诉讼"] * 10,
        ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
        + ["未经复议直接起诉"] * 5
        + ["复议后起诉"] * 5,
        ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 3,
    ]
    values = ["3", "0", "1", "0", "0"] + ["0"] * 10  # 总计 printed 0 beside 4 (a real error)
    read = read_tables([Table(rows=[*header, values], source="html")])
    assert {c.method for c in read.cells} == {"header"}
    got = _cells(read)
    assert got["appeals.review.upheld"] == 3 and got["appeals.review.total"] == 0


def test_generic_headers_are_read_by_order_and_vouched_by_arithmetic():
    text = (
        "三、收到和处理政府信息公开申请情况\n"
        "项目  数据1  数据2  数据3  数据4  数据5  数据6  数据7\n"
        "一、本年新收政府信息公开申请数量  3  1  0  0  0  0  4\n"
        "（七）总计  3  1  0  0  0  0  4\n"
    )
    read = read_tables(text_tables(text))
    assert _cells(read)["requests.new.commercial"] == 1
    assert all(c.known for c in read.cells)


def test_ocr_figures():
    assert parse_value("1O5").value == 105
    assert parse_value("l2").value == 12
    assert parse_value("O").value == 0
    assert parse_value("l").value == 1
    assert parse_value("见附件").value is None


def test_ocr_labels_one_misread_character():
    assert labels.request_row("（一）子以公开", None)[0] == "granted"
    assert labels.request_row("（七）总汁", None)[0] == "total_handled"
    assert labels.request_row("l.属于国家秘蜜", "denied")[0] == "denied_state_secret"
    assert labels.match("行政处蜀", labels.PROACTIVE_ROWS) == "penalty"
    assert labels.match("行攻处蜀", labels.PROACTIVE_ROWS) is None  # two misreads: not matched


def test_text_rows_by_separator():
    assert text_row("| 规章 | 0 | 1 |") == ["规章", "0", "1"]
    assert text_row("|---|:---:|") is None
    assert text_row("规章\t0\t1") == ["规章", "0", "1"]
    assert text_row("规章    0   1") == ["规章", "0", "1"]
    assert text_row("行政许可 9487") == ["行政许可", "9487"]
    assert text_row("规章000") == ["规章", "000"]
    assert text_row("全区共受理依申请公开14件，办结率100%。") is None


def test_extract_reads_markdown_file():
    from postprocess.cli import main

    result = CliRunner().invoke(main, ["extract", str(FORMS / "hongze-2024.md"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"requests_new": 95' in result.output


def test_extract_unreadable_input_exits_nonzero(tmp_path):
    from postprocess.cli import main

    legacy = tmp_path / "report.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    result = CliRunner().invoke(main, ["extract", str(legacy)])
    assert result.exit_code != 0
    assert "cannot read" in result.output
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"  \n")
    result = CliRunner().invoke(main, ["extract", str(empty)])
    assert result.exit_code != 0
    assert "no readable text" in result.output


def _forms():
    import sys

    sys.path.insert(0, str(FORMS))
    import build_forms
    import readings

    return build_forms, readings


def _html_cells(page: str) -> dict[str, float | None]:
    from postprocess.extract.documents import read_document

    doc = read_document(page.encode(), "http://example.test/r.html", "text/html; charset=utf-8")
    return {
        f"{c.section}.{c.row_key}.{c.col_key}": c.value
        for c in extract_figures(doc, META).cells
        if c.known
    }


def test_header_shifted_the_other_way_is_read_by_arithmetic():
    build, readings = _forms()
    r = readings.HUAIAN_2024
    table = build.requests_header_html(4) + build.requests_rows_html(r, 3)
    page = f"<html><body><div class='TRS_Editor'><table>{table}</table></div></body></html>"
    assert _html_cells(page) == readings.expected_cells(r, ("requests",))


def test_table_without_total_column_keeps_its_six_columns():
    import re

    build, readings = _forms()
    r = readings.HUAIAN_2024
    header = build.requests_header_html(3).replace('<td rowspan="2">总计</td>', "")
    rows = re.sub(r"<td>\d+</td></tr>", "</tr>", build.requests_rows_html(r, 3))
    page = f"<html><body><div class='TRS_Editor'><table>{header}{rows}</table></div></body></html>"
    expected = {
        k: v
        for k, v in readings.expected_cells(r, ("requests",)).items()
        if not k.endswith(".total")
    }
    assert _html_cells(page) == expected


def test_split_gives_up_on_a_run_with_too_many_cuts():
    # 60 digits into 20 cells: millions of cuts; bounded search, never a guess
    from postprocess.extract import split

    with pytest.raises(split.TooManyCuts):
        split.splits(["1" * 60], 20, split.last_is_sum)


def test_split_prunes_groups_that_do_not_add_up():
    # section 四: three groups of five, each ending in its 总计 (1+2+0+0=3, 0+0+0+0=0, 4+0+0+1=5)
    from postprocess.extract import split

    found = split.splits(["120030000040015"], 15, split.groups_sum(5))
    assert found == [["1", "2", "0", "0", "3", "0", "0", "0", "0", "0", "4", "0", "0", "1", "5"]]
