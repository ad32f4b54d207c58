"""metadata.py rules: dates, year covered, agency and kind from titles."""

from __future__ import annotations

import pytest

from postprocess.extract.metadata import agency_of, kind_of, parse_date, read_metadata, year_covered
from postprocess.extract.model import Document


@pytest.mark.parametrize(
    "raw, iso",
    [
        ("2015年02月10日", "2015-02-10"),
        ("2016-12-16", "2016-12-16"),
        ("发布时间：2023-01-18 10:21", "2023-01-18"),
        ("日期:2020/1/5", "2020-01-05"),
        ("２０１９年３月１日", "2019-03-01"),
        ("2019年13月1日", None),
        ("无", None),
        (None, None),
    ],
)
def test_metadata_parse_date(raw, iso):
    assert parse_date(raw) == iso


def test_metadata_year_from_statistics_period_when_title_has_none():
    text = "本报告所列数据统计期限自2019年1月1日起至2019年12月31日止。"
    assert year_covered("政府信息公开工作年度报告", text) == 2019


def test_metadata_year_never_from_publication_date():
    doc = Document(
        url="u",
        media="html",
        text="本机关全年主动公开信息100条。",
        title="政府信息公开工作年度报告",
        published_raw="2020-03-01",
    )
    meta = read_metadata(doc)
    assert (meta.year, meta.published) == (None, "2020-03-01")


def test_metadata_chinese_numeral_year():
    doc = Document(url="u", media="html", text="", title="二〇一九年某县政府信息公开工作年度报告")
    assert (read_metadata(doc).year, read_metadata(doc).agency) == (2019, "某县")


@pytest.mark.parametrize(
    "title, agency",
    [
        ("哈尔滨市呼兰区人民政府2019年政府信息公开工作年度报告", "哈尔滨市呼兰区人民政府"),
        ("《榆次区2014年政府信息公开年度报告》", "榆次区"),
        ("2020年某市教育局政府信息公开工作年度报告", "某市教育局"),
        ("关于2019年政府信息公开工作年度报告", None),
    ],
)
def test_metadata_agency_from_title(title, agency):
    assert agency_of(title) == agency


@pytest.mark.parametrize(
    "title, kind",
    [
        ("某市2021年政府信息公开工作年度报告", "annual_report"),
        ("某区2019年度政务公开工作报告", "annual_report"),
        ("图解：某市2021年政府信息公开工作年度报告", "other"),
        ("关于做好2022年政府信息公开工作年度报告编制工作的通知", "other"),
        ("某市2016年政务公开工作“成绩单”", "work_summary"),
        ("某市召开全市经济工作会议", "other"),
    ],
)
def test_metadata_kind_from_title(title, kind):
    assert kind_of(title, "")[0] == kind


def test_kind_of_soft_404_page_is_other():
    from postprocess.extract.metadata import kind_of

    text = "榆次区人民政府\n首页\n您访问的页面不存在或已被删除！\n请检查您输入的网址是否正确，"
    kind, reason = kind_of("提示信息", text)
    assert (kind, reason.split(":")[0]) == ("other", "soft 404")


def test_kind_of_report_mentioning_deleted_pages_is_not_soft_404():
    from postprocess.extract.metadata import kind_of

    text = (
        "本年度报告中所列数据的统计期限自2019年1月1日起至12月31日止。"
        + "清理已删除的过期信息。" * 80
    )
    assert kind_of("呼兰区2019年政府信息公开工作年度报告", text)[0] == "annual_report"


def test_kind_of_short_report_saying_information_does_not_exist_is_a_report():
    from postprocess.extract.metadata import kind_of

    text = "本年度共收到申请3件，其中信息不存在1件。统计期限自2017年1月1日起至12月31日止。"
    assert kind_of("东城区2017年政府信息公开工作年度报告", text)[0] == "annual_report"


# --- issue 9 §4: metadata that does not depend on the source's line breaks -----------------


@pytest.mark.parametrize(
    "title, agency",
    [
        ("标题: 平潭综合实验区", "平潭综合实验区"),
        ("标题：平潭综合实验区2022年政府信息公开工作年度报告", "平潭综合实验区"),
        ("# 沐阳县人民政府", "沐阳县人民政府"),
        ("**沭阳县人民政府2023年政府信息公开工作年度报告**", "沭阳县人民政府"),
        ("政府信息公开工作年度报告", None),
    ],
)
def test_metadata_agency_without_labels_or_markup(title, agency):
    assert agency_of(title) == agency


def _doc(text: str, title: str | None = None, raw: str | None = None, source: str | None = None):
    return Document(
        url="u", media="html", text=text, title=title, published_raw=raw, published_from=source
    )


REPORT_TEXT = (
    "本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。\n"
    "一、总体情况\n"
    "全年主动公开政府信息120条。\n"
    "某县人民政府办公室\n"
    "2024年1月25日"
)


def test_metadata_published_sources_in_order():
    title = "某县2023年政府信息公开工作年度报告"
    meta = read_metadata(_doc(REPORT_TEXT, title, "2024-01-26 09:00", "meta"), None, "2024-01-27")
    assert (meta.published, meta.published_source) == ("2024-01-26", "meta")
    meta = read_metadata(_doc(REPORT_TEXT, title, "2024年01月26日", "label"), None, "2024-01-27")
    assert (meta.published, meta.published_source) == ("2024-01-26", "label")
    meta = read_metadata(_doc(REPORT_TEXT, title), None, "2024-01-27")
    assert (meta.published, meta.published_source) == ("2024-01-27", "list")
    meta = read_metadata(_doc(REPORT_TEXT, title))
    assert (meta.published, meta.published_source) == ("2024-01-25", "signature")
    meta = read_metadata(_doc("全年主动公开政府信息120条。", title))
    assert (meta.published, meta.published_source) == (None, None)


@pytest.mark.parametrize(
    "closing, iso",
    [
        ("某县人民政府办公室\n2024年1月25日", "2024-01-25"),
        ("某县人民政府办公室 2024年1月25日", "2024-01-25"),
        ("某县人民政府办公室\n二〇二四年一月二十五日", "2024-01-25"),
        ("某县人民政府办公室\n二〇二四年十二月三十一日", "2024-12-31"),
        ("下一步，我县将于2024年3月1日前完成整改。", None),
    ],
)
def test_metadata_signature_date(closing, iso):
    from postprocess.extract.metadata import signature_date

    assert signature_date("一、总体情况\n全年主动公开政府信息120条。\n" + closing) == iso


def test_metadata_list_title_stands_in_for_a_missing_title():
    meta = read_metadata(_doc(REPORT_TEXT), "某县2023年政府信息公开工作年度报告", "2024-01-27")
    assert (meta.title, meta.agency, meta.year, meta.kind) == (
        "某县2023年政府信息公开工作年度报告",
        "某县",
        2023,
        "annual_report",
    )


def test_metadata_agency_from_signature_when_the_title_names_none():
    meta = read_metadata(_doc(REPORT_TEXT, "2023年政府信息公开工作年度报告"))
    assert meta.agency == "某县人民政府办公室"


@pytest.mark.parametrize(
    "text, year",
    [
        ("本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。", 2023),
        ("报告所列数据统计时间为2021年度。", 2021),
        ("一、总体情况\n2022年，我区坚持以公开为常态、不公开为例外。", 2022),
        ("一、总体情况\n我区坚持以公开为常态。2020年3月召开会议。", None),
    ],
)
def test_metadata_year_from_statistics_period_or_body(text, year):
    assert year_covered("政府信息公开工作年度报告", text) == year


def test_metadata_list_title_replaces_a_site_name_title():
    meta = read_metadata(_doc(REPORT_TEXT, "某县人民政府"), "某县2023年政府信息公开工作年度报告")
    assert (meta.title, meta.kind) == ("某县2023年政府信息公开工作年度报告", "annual_report")
    meta = read_metadata(_doc(REPORT_TEXT, "某县2023年政务公开工作总结"), "某县2023年年报")
    assert meta.title == "某县2023年政务公开工作总结"


def test_metadata_list_title_never_turns_a_soft_404_into_a_report():
    doc = _doc("您访问的页面不存在或已被删除！", "提示信息")
    meta = read_metadata(doc, "关于更正某县2011年政府信息公开年度报告有关数据的说明", "2012-03-30")
    assert (meta.title, meta.kind) == ("提示信息", "other")
