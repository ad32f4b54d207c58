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
