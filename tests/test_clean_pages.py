"""Report pages and seeds: exact clean text, title, date, tables; no chrome left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.parsing import parse_detail
from postprocess.extract import clean
from postprocess.extract.documents import read_document
from postprocess.extract.metadata import read_metadata

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted((FIXTURES / "pages").glob("*.html"))
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))

# Every chrome string of portals.md "Chrome" that our fixtures carry, as printed (counters with
# their colon: reports themselves speak of 访问量 of their portal).
CHROME = [
    "点击数",
    "访问量：",
    "访问量:",
    "浏览次数",
    "扫一扫",
    "打印本页",
    "关闭窗口",
    "【打印】",
    "【关闭】",
    "字号",
    "字体",
    "A+",
    "分享到",
    "听全文",
    "关联稿件",
    "相关链接",
    "责任编辑",
    "长者模式",
    "关怀版",
    "无障碍",
    "繁体",
    "当前位置",
    "您当前的位置",
    "主办单位",
    "网站标识码",
    "ICP备",
    "公网安备",
    "版权所有",
    "技术支持",
    "来源:",
    "来源：",
    "发布时间",
    "发布日期",
    "日期:",
    "点击:",
    "[image",
    "[bookmark",
    "索引号",
    "成文日期",
    "手机上查看",
    "打开当前页",
]


def _page(path: Path):
    meta = json.loads(path.with_suffix(".meta.json").read_text(encoding="utf-8"))
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    doc = read_document(path.read_bytes(), meta["url"], meta["content_type"])
    return doc, expected


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_clean_page_text_is_exact(path):
    doc, expected = _page(path)
    assert doc.parse_status == "ok"
    assert doc.text.splitlines() == expected["lines"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_clean_page_has_no_chrome(path):
    doc, _ = _page(path)
    assert [s for s in CHROME if s in doc.text] == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_clean_page_tables_are_grids(path):
    doc, expected = _page(path)
    assert [t.rows for t in doc.tables] == expected["tables"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_clean_page_metadata(path):
    doc, expected = _page(path)
    meta = read_metadata(doc)
    got = {
        "title": meta.title,
        "agency": meta.agency,
        "year": meta.year,
        "published": meta.published,
        "published_source": meta.published_source,
        "kind": meta.kind,
    }
    assert got == {k: expected[k] for k in got}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_page_attachment_links(path):
    # Finding links is the crawler's job; the build reads attachments from their captures.
    meta = json.loads(path.with_suffix(".meta.json").read_text(encoding="utf-8"))
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    detail = parse_detail(path.read_bytes(), meta["url"], content_type=meta["content_type"])
    assert [a.url for a in detail.attachments] == expected["attachments"]


def test_clean_gbk_page_is_not_reencoded():
    body = (FIXTURES / "pages" / "trs_gbk.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "东城区" in clean.decode_html(body, "text/html")


def _seed(path: Path):
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    doc = read_document(path.read_bytes(), f"file:///seeds/{path.name}", "text/plain")
    return doc, expected


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem[:3])
def test_clean_seed_has_no_chrome(path):
    doc, _ = _seed(path)
    assert doc.media == "txt" and doc.parse_status == "ok"
    assert [s for s in CHROME if s in doc.text] == []


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem[:3])
def test_clean_seed_keeps_first_and_last_paragraphs(path):
    doc, expected = _seed(path)
    lines = doc.text.splitlines()
    assert len(lines) == expected["lines"]
    for key, index in (("first", 0), ("second", 1), ("last", -1)):
        if key in expected:
            assert lines[index] == expected[key]
        if f"{key}_startswith" in expected:
            assert lines[index].startswith(expected[f"{key}_startswith"])


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem[:3])
def test_metadata_seed_fields(path):
    doc, expected = _seed(path)
    meta = read_metadata(doc)
    got = {
        "title": meta.title,
        "agency": meta.agency,
        "year": meta.year,
        "published": meta.published,
        "kind": meta.kind,
    }
    assert got == {k: expected[k] for k in got}
    assert meta.kind_reason


def test_clean_seed_002_keeps_every_table_row():
    path = FIXTURES / "seeds" / "002_462e7e068fd78f13.txt"
    source_rows = [ln.strip() for ln in path.read_text("utf-8").splitlines() if "|" in ln]
    doc, _ = _seed(path)
    kept = [ln for ln in doc.text.splitlines() if "|" in ln]
    assert kept == source_rows
    assert len(kept) == 48
