"""Body containers found by content and chrome captions matched as families (issue 9 §6)."""

from __future__ import annotations

import pytest

from postprocess.extract.clean import clean_html, strip_chrome
from postprocess.extract.metadata import parse_date

REPORT = (
    "<p>本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。</p>"
    "<p>一、总体情况</p><p>2023年，本局全年主动公开政府信息256条，公开质量稳步提升。</p>"
    "<p>二、主动公开政府信息情况</p><p>本局通过门户网站公开规范性文件、财政预决算等信息。</p>"
    "<p>五、存在的主要问题及改进情况</p><p>下一步将加强政策解读，提高公开的及时性和准确性。</p>"
)
NAV = "".join(f'<li><a href="/c{i}/">栏目名称第{i}个政务公开栏目</a></li>' for i in range(40))
RELATED = (
    '<div class="related"><h3>相关新闻</h3><p>本局召开全体干部职工大会，传达学习有关会议精神，'
    "部署下一阶段重点工作任务。</p></div>"
)


@pytest.mark.parametrize("cls", ["article_content", "detail-body", "zw_text", "con"])
def test_body_found_by_content_whatever_its_class(cls):
    html = (
        "<html><head><title>某局2023年政府信息公开工作年度报告</title></head><body>"
        f'<ul class="nav">{NAV}</ul><div class="main"><h1>某局2023年政府信息公开工作年度报告</h1>'
        f'<div class="info">发布时间：2024-01-20</div><div class="{cls}">{REPORT}</div>'
        f'</div>{RELATED}<div class="foot">主办单位：某局 版权所有</div></body></html>'
    )
    page = clean_html(html, "http://www.a.gov.cn/x.html")
    lines = page.text.splitlines()
    assert lines[0] == "本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。"
    assert lines[-1] == "下一步将加强政策解读，提高公开的及时性和准确性。"
    assert len(lines) == 7 and page.container and page.container.endswith("div[1]/div[2]")
    assert page.published_raw == "2024-01-20"


def test_known_container_beside_the_body_loses_to_the_body_found_by_content():
    # an .xxgk_content holding only the index table, the report in an unknown container
    html = (
        '<html><body><div class="xxgk_content"><table><tr><td>索引号</td><td>001/2024-00012</td>'
        "</tr><tr><td>发布机构</td><td>某局</td></tr></table></div>"
        f'<div class="wrap"><div class="txt">{REPORT}</div></div></body></html>'
    )
    page = clean_html(html, "http://www.a.gov.cn/x.html")
    assert page.text.splitlines()[1] == "一、总体情况"
    assert "索引号" not in page.text


@pytest.mark.parametrize(
    "caption",
    [
        "扫一扫在手机打开当前页",
        "扫一扫在手机打开当前页面",
        "扫一扫在手机上打开页面",
        "扫一扫在手机上查看当前页面",
        "扫一扫 手机浏览",
        "扫一扫，在手机上阅读本文",
        "扫描二维码在手机上打开",
        "用手机扫一扫打开",
    ],
)
def test_qr_caption_family_is_chrome(caption):
    text, _ = strip_chrome(f"一、总体情况\n全年主动公开政府信息256条。{caption}\n{caption}")
    assert text == "一、总体情况\n全年主动公开政府信息256条。"


def test_qr_family_keeps_sentences_about_phones():
    line = "市民可通过手机打开“政务服务”小程序查看办事指南。"
    assert strip_chrome(line)[0] == line


def test_title_naming_the_report_beats_box_headings_and_site_names():
    html = (
        "<html><head><title>某县2023年政府信息公开工作年度报告_某县人民政府</title></head><body>"
        '<h1 class="logo">某县人民政府</h1><div class="box"><div class="box-title">通知公告</div>'
        '<ul><li><a href="/a/">关于春节放假的通知</a></li></ul></div>'
        f'<div class="zw">{REPORT}</div>'
        "</body></html>"
    )
    assert clean_html(html, "http://www.a.gov.cn/x.html").title == (
        "某县2023年政府信息公开工作年度报告"
    )


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="PubDate" content="2024-01-20 09:30">',
        '<meta name="firstpublishedtime" content="2024-01-20-09:30:00">',
        '<meta name="FirstPublishedTime" content="2024-01-20-09:30:00">',
        '<meta property="article:published_time" content="2024-01-20T09:30:00+08:00">',
        '<meta itemprop="datePublished" content="2024/1/20">',
    ],
)
def test_published_date_from_meta_tags_in_any_case(meta):
    html = (
        f"<html><head>{meta}<meta name='lastmodifiedtime' content='2024-03-01'></head><body>"
        f"<div>发布时间：2024-01-22</div><div class='zw'>{REPORT}</div></body></html>"
    )
    page = clean_html(html, "http://www.a.gov.cn/x.html")
    assert (parse_date(page.published_raw), page.published_from) == ("2024-01-20", "meta")


def test_published_label_and_date_in_sibling_cells():
    html = (
        "<html><body><ul class='meta'><li>发布时间：</li><li>2024-01-23</li><li>来源：</li>"
        f"<li>某局</li></ul><div class='zw'>{REPORT}</div><div>【我要纠错】 加入收藏 返回列表</div>"
        "</body></html>"
    )
    page = clean_html(html, "http://www.a.gov.cn/x.html")
    assert (page.published_raw, page.published_from) == ("2024-01-23", "label")
