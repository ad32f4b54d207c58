"""The one-walk body-container finder selects exactly what each container's XPath selects."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from postprocess.extract import clean
from postprocess.storage.decode import decode_html

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted(FIXTURES.glob("pages/*.html")) + sorted(FIXTURES.glob("details/*/*.html"))

EDGE_CASES = [
    # class tokens separated by tabs and newlines, a token that only starts with the name
    '<div class="a\tTRS_Editor\nb"><p>x</p></div><div class="TRS_Editor2">y</div>',
    # a full-width space does not separate class tokens for XPath's normalize-space()
    '<div class="TRS_Editor\u3000x">x</div><div class=" xxgk_content ">y</div>',
    # ids are matched whole and case-sensitively; comments and nested matches
    '<div id="Zoom">a</div><!-- c --><div id="zoom"><div id="zoom">b</div></div>',
    "<UCAPCONTENT>x</UCAPCONTENT><ucapcontent>y</ucapcontent>",
    '<div class="article-content Custom_UnionStyle" id="ivs_content">x</div>',
    '<span id="webeditorview" class="">x</span><p class>y</p>',
]


def _xpath_matches(doc) -> list[list]:
    return [doc.xpath(clean._container_xpath(kind, value)) for kind, value in clean.BODY_CONTAINERS]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_container_matches_equal_the_xpaths_on_fixture_pages(path):
    doc = clean._parse(decode_html(path.read_bytes(), "text/html"))
    assert clean._container_matches(doc) == _xpath_matches(doc)


@pytest.mark.parametrize("body", EDGE_CASES)
def test_container_matches_equal_the_xpaths_on_edge_cases(body):
    doc = clean._parse(f"<html><body>{body}</body></html>")
    matches = clean._container_matches(doc)
    assert matches == _xpath_matches(doc)
    assert any(matches)  # each case selects something


def test_container_xpaths_are_the_documented_ones():
    assert clean._container_xpath("id", "zoom") == "//*[@id='zoom']"
    assert clean._container_xpath("class", "TRS_Editor") == (
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')]"
    )


def test_plain_parser_reads_the_same_text_as_lxml_html():
    for path in PAGES:
        text = decode_html(path.read_bytes(), "text/html")
        ours = clean._parse(text)
        theirs = lxml_html.document_fromstring(clean._XML_DECLARATION.sub("", text))
        assert [clean.string_of(e) for e in ours.iter()] == [
            e.text_content() if isinstance(e.tag, str) else clean.string_of(e)
            for e in theirs.iter()
        ]


TITLE_CASES = [
    '<h2>a</h2><div class="TiTLe">b</div><span id="subTITLEx">c</span><h3 class="title">d</h3>',
    '<div class="Title">x</div><p id="titles">e</p><h4>f</h4><div class="tit le">g</div>',
]


@pytest.mark.parametrize("body", TITLE_CASES)
def test_title_classed_equals_the_xpath(body):
    doc = clean._parse(f"<html><body>{body}</body></html>")
    assert clean._title_classed(doc) == doc.xpath(clean.TITLE_CLASS)
    assert clean._title_classed(doc)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_title_classed_equals_the_xpath_on_fixture_pages(path):
    doc = clean._parse(decode_html(path.read_bytes(), "text/html"))
    assert clean._title_classed(doc) == doc.xpath(clean.TITLE_CLASS)
