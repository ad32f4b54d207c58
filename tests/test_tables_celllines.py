"""Tables flattened one cell per line (report pages converted to text): rows rebuilt from the
cells, short rows placed only where the report's sums decide (fixtures: tests/fixtures/forms,
PROVENANCE.md)."""

from __future__ import annotations

import re
from pathlib import Path

from postprocess.extract.documents import read_document
from postprocess.extract.figures import extract_figures
from postprocess.extract.grids import text_tables
from postprocess.extract.model import ReportMeta

HERE = Path(__file__).parent / "fixtures" / "forms"
HULAN = ReportMeta(
    "呼兰区2019年政府信息公开工作年度报告", "哈尔滨市呼兰区人民政府", 2019, None, "annual_report"
)


def _figures(body: bytes, meta: ReportMeta = HULAN):
    doc = read_document(body, "file:///report.txt", "text/plain; charset=utf-8")
    assert doc.parse_status == "ok", doc.parse_error
    return extract_figures(doc, meta, None)


def test_celllines_rows_rebuilt():
    text = (HERE / "huaian-2024.celllines.txt").read_text("utf-8")
    tables = [t for t in text_tables(text) if t.source == "celllines"]
    assert len(tables) == 3  # 二, 三, 四
    rows = [row for t in tables for row in t.rows]
    # the label wrapped inside its cell is joined; the row keeps its seven figures
    assert [
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        *"447 7 0 0 0 0 454".split(),
    ] in rows
    # a group label and its first item printed on one line are two rows
    assert ["（三）不予公开"] in rows
    assert ["1.属于国家秘密", *"2 0 0 0 0 0 2".split()] in rows
    # the page number between two rows is no cell
    assert not any("- 4 -" in c for row in rows for c in row)
    # 四's figures follow the header rows without a label
    assert tables[2].rows[-1] == "72 64 178 37 351 13 4 8 1 26 12 1 1 6 20".split()
    # 二: each 信息内容 header its own row, figures with their row label
    assert ["行政事业性收费", "96171.6"] in tables[0].rows


def test_celllines_short_rows_placed_by_the_sums():
    figures = _figures((HERE / "hulan-2019.celllines-gapped.txt").read_bytes())
    cells = {(c.section, c.row_key, c.col_key): c for c in figures.cells}
    # （二）部分公开 printed `5 |` `5 |`: （七）总计 has 0 in every column but 自然人 and 总计
    for row, value in (("partial", 5), ("denied_internal_affairs", 2), ("unable_not_held", 6)):
        for col in ("natural_person", "total"):
            assert cells["requests", row, col].value == value
            assert cells["requests", row, col].method == "arithmetic"
        assert ("requests", row, "commercial") not in cells  # left blank: not invented
    assert cells["requests", "new", "commercial"].method == "header"
    assert not [k for k in cells if k[1] == "granted"]  # a row of blanks gives no cells


def test_celllines_short_rows_left_out_when_the_sums_cannot_tell():
    """Every blank cell of 三 left out, 总计 rows included: each short row fits under any
    applicant column alike (the sums hold for every choice), so none is placed; all are
    reported in the ambiguity check."""
    text = (HERE / "hulan-2019.celllines-gapped.txt").read_text("utf-8")
    start = text.index("(本列数据")
    end = text.index("四、政府信息公开行政复议")
    body = text[start:end]
    body = re.sub(r"(?m)^0 \|$\n", "", body)
    body = re.sub(r"(?m)^0 \| (\|+)$", r"\1", body)
    figures = _figures((text[:start] + body + text[end:]).encode("utf-8"))
    assert not [c for c in figures.cells if c.section == "requests"]
    flags = [c for c in figures.checks if c.rule == "cells_split_ambiguous"]
    assert len(flags) == 1 and not flags[0].ok
    for label in ("一、本年新收", "(二)部分公开", "5.属于三类内部事务信息", "(七)总计"):
        assert label in flags[0].detail


def test_pipe_rows_are_not_cell_lines():
    """Seed 002's `a | b | c` rows stay the text reader's."""
    seed = Path(__file__).parent / "fixtures" / "figures" / "seeds" / "002_462e7e068fd78f13.txt"
    tables = text_tables(seed.read_text("utf-8"))
    assert tables and all(t.source == "text" for t in tables)


def test_column_bounds_settle_rows_beyond_the_joint_search():
    """Twenty open rows are too many to try together; a column whose total is 0 still rules
    out every reading with a figure in it, since counts are never negative."""
    from postprocess.extract import split as S

    rows = {f"r{i}": [[1, 0, 1], [0, 1, 1]] for i in range(20)}
    assert 2**20 > S.MAX_COMBINATIONS
    settled = S.narrow({**rows, "t": [[20, 0, 20]]}, [(list(rows), ["t"])])
    assert all(settled[r] == [[1, 0, 1]] for r in rows)
    # when the totals leave room in both columns, nothing is settled (nor guessed)
    open_ = S.narrow({**rows, "t": [[10, 10, 20]]}, [(list(rows), ["t"])])
    assert all(open_[r] == rows[r] for r in rows)
