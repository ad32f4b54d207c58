"""The one HTML decoder (postprocess.storage.decode), as the crawler and the build use it.

GBK/GB18030 pages are read from their fixture bytes (never re-encoded); each is served here as
`utf-8` (wrong), with no charset, with no Content-Type at all, as `gb2312` and as Tomcat's
ISO-8859-1. Without its <meta> (an ASCII tag cut out of the bytes) a page leaves detection alone
to find the charset.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import pytest

from crawler.parsing import parse_detail, parse_list
from postprocess.extract import clean, documents
from postprocess.storage.decode import codec_name, decode_html, decode_html_bytes

FIXTURES = Path(__file__).parent / "fixtures"
GBK_LIST = FIXTURES / "lists/trs/gbk_index.html"  # GBK bytes, <meta> gb2312
GB18030_LIST = FIXTURES / "lists/generic/gb18030_list.html"  # GB18030 4-byte chars, <meta> gb2312
GBK_REPORT = FIXTURES / "pages/trs_gbk.html"  # GBK report page, <meta> gb2312
SERVED_AS = (
    "text/html; charset=utf-8",
    "text/html",
    None,
    "text/html; charset=gb2312",
    "text/html;charset=ISO-8859-1",  # Tomcat's default on GBK pages
)


def _meta(page: Path) -> dict:
    return json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))


def _expected(page: Path) -> dict:
    return json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))


def _without_meta_charset(raw: bytes) -> bytes:
    """The same bytes with the ASCII <meta> charset tag cut out."""
    start = raw.index(b'<meta http-equiv="Content-Type"')
    end = raw.index(b">", start) + 1
    cut = raw[:start] + raw[end:]
    assert b"charset" not in cut.lower()
    return cut


def _bodies(page: Path) -> list[tuple[str, bytes]]:
    raw = page.read_bytes()
    return [("with meta", raw), ("no meta", _without_meta_charset(raw))]


@pytest.mark.parametrize("content_type", SERVED_AS)
@pytest.mark.parametrize("page", [GBK_LIST, GB18030_LIST], ids=["gbk-trs", "gb18030-generic"])
def test_crawler_finds_report_links_however_the_gbk_list_is_served(
    page: Path, content_type: str | None
) -> None:
    expected = _expected(page)["reports"]
    assert len(expected) >= 5
    with pytest.raises(UnicodeDecodeError):
        page.read_bytes().decode("utf-8")
    for label, body in _bodies(page):
        result = parse_list(body, _meta(page)["url"], page.parent.name, content_type=content_type)
        assert [asdict(link) for link in result.reports] == expected, label


def test_gb18030_list_keeps_four_byte_and_gbk_only_characters() -> None:
    raw = GB18030_LIST.read_bytes()
    assert "•".encode("gb18030") in raw and "〇".encode("gb18030") in raw
    for content_type in SERVED_AS:
        decoded = decode_html_bytes(raw, content_type)
        assert decoded.encoding == "gb18030"
        assert "• " in decoded.text and "二〇二二年" in decoded.text
        assert "\ufffd" not in decoded.text


@pytest.mark.parametrize(
    ("content_type", "how", "refused"),
    [
        ("text/html; charset=utf-8", "meta", ("header:utf-8",)),
        ("text/html", "meta", ()),
        (None, "meta", ()),
        ("text/html; charset=gb2312", "header", ()),
        ("text/html;charset=ISO-8859-1", "meta", ("header:cp1252",)),
    ],
)
def test_declared_charset_the_bytes_contradict_is_refused(
    content_type: str | None, how: str, refused: tuple[str, ...]
) -> None:
    decoded = decode_html_bytes(GBK_LIST.read_bytes(), content_type)
    assert (decoded.encoding, decoded.how, decoded.refused) == ("gb18030", how, refused)
    no_meta = decode_html_bytes(_without_meta_charset(GBK_LIST.read_bytes()), content_type)
    assert no_meta.encoding == "gb18030"
    assert no_meta.how == ("header" if how == "header" else "detected")
    assert no_meta.text == decoded.text.replace(
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />', ""
    )


def test_utf8_bytes_labelled_gb2312_are_read_as_utf8() -> None:
    body = "<html><head><title>和平区2022年政府信息公开工作年度报告</title></head></html>".encode()
    decoded = decode_html_bytes(body, "text/html; charset=gb2312")
    assert (decoded.encoding, decoded.refused) == ("utf-8", ("header:gb18030",))
    assert "和平区2022年政府信息公开工作年度报告" in decoded.text


def test_bom_beats_a_meta_that_lies() -> None:
    body = b"\xef\xbb\xbf" + '<meta charset="gbk"><p>政府信息公开</p>'.encode()
    decoded = decode_html_bytes(body, "text/html")
    assert (decoded.how, decoded.text) == ("bom", '<meta charset="gbk"><p>政府信息公开</p>')


def test_a_few_bad_bytes_do_not_unseat_the_declared_charset() -> None:
    # A GBK page cut in the middle of a character: still GBK, one replacement at the end.
    raw = GBK_REPORT.read_bytes()
    cut = raw[: raw.index("下一步".encode("gbk")) + 1]
    decoded = decode_html_bytes(cut, "text/html; charset=gbk")
    assert (decoded.encoding, decoded.how) == ("gb18030", "header")
    assert decoded.text.endswith("\ufffd") and decoded.text.count("\ufffd") == 1


def test_forced_source_encoding_wins_over_header_and_meta() -> None:
    raw = "<meta charset=utf-8><p>政府信息公开年报</p>".encode("gbk")
    decoded = decode_html_bytes(raw, "text/html; charset=utf-8", encoding="gbk")
    assert (decoded.encoding, decoded.how) == ("gb18030", "forced")
    assert "政府信息公开年报" in decoded.text
    with pytest.raises(LookupError, match="rot13"):
        decode_html_bytes(raw, None, encoding="rot13")


def test_gb2312_label_reads_gbk_only_characters() -> None:
    # 镕 is outside GB2312 but inside GBK/GB18030: a page labelled gb2312 still decodes it.
    raw = "<meta charset=gb2312><p>朱镕基</p>".encode("gb18030")
    assert "朱镕基" in decode_html(raw, "text/html; charset=gb2312")


def test_codec_names() -> None:
    assert [codec_name(n) for n in ("GB2312", "gbk", "x-gbk", "cp936", "UTF8", "latin1")] == [
        "gb18030",
        "gb18030",
        "gb18030",
        "gb18030",
        "utf-8",
        "cp1252",
    ]
    assert codec_name("rot13") is None and codec_name("no-such-charset") is None


def test_plain_ascii_and_latin_pages_are_left_alone() -> None:
    assert decode_html_bytes(b"<p>hello</p>").encoding == "utf-8"
    latin = "<p>détail café naïve résumé</p>".encode("cp1252")
    assert decode_html_bytes(latin, "text/html; charset=iso-8859-1").text == (
        "<p>détail café naïve résumé</p>"
    )


@pytest.mark.parametrize("content_type", SERVED_AS)
def test_crawler_and_build_read_the_gbk_report_the_same(content_type: str | None) -> None:
    url = _meta(GBK_REPORT)["url"]
    reference = documents.read_document(GBK_REPORT.read_bytes(), url, "text/html; charset=gbk")
    assert "东城区全年主动公开政府信息3303条" in reference.text.replace(" ", "")
    assert clean.decode_html is decode_html  # the build's decoder is this one
    for label, body in _bodies(GBK_REPORT):
        doc = documents.read_document(body, url, content_type)
        assert (doc.title, doc.text) == (reference.title, reference.text), label
        detail = parse_detail(body, url, content_type=content_type)
        assert detail.title == "东城区2017年政府信息公开工作年度报告", label


def test_refused_declaration_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="postprocess.storage.decode"):
        decode_html(_without_meta_charset(GBK_LIST.read_bytes()), "text/html; charset=utf-8")
    assert "refused by the bytes; read as gb18030" in caplog.text
