"""The whole pipeline on the demo portals: crawl (real Scrapy) -> WARC -> build -> archive.db.

The expected reports are the demo catalog (crawler/demo/catalog.yml), written independently of
the extraction code: every catalogued document lands once, with the metadata the page states.
"""

from __future__ import annotations

import sqlite3
import unicodedata

import pytest

from crawler.demo.site import HAZARD_LINKS, catalog


@pytest.fixture(scope="module")
def demo_archive(demo_archive_path, demo_crawl):
    conn = sqlite3.connect(demo_archive_path)
    conn.row_factory = sqlite3.Row
    yield conn, demo_crawl[2]
    conn.close()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_demo_archive_has_exactly_the_catalogued_documents(demo_archive):
    conn, _port = demo_archive
    rows = conn.execute("SELECT * FROM reports WHERE kind_reason NOT LIKE 'soft 404%'").fetchall()
    got = {(r["url"].split("//")[1].split(":")[0], _path(r["url"])): r for r in rows}
    expected = {(e["host"], e["path"]): e for e in catalog()}
    assert sorted(got) == sorted(expected)
    for key, entry in expected.items():
        row = got[key]
        # titles are stored with full-width punctuation and digits folded (NFKC)
        assert (row["year"], row["kind"], row["title"]) == (
            entry["year"],
            entry["kind"],
            unicodedata.normalize("NFKC", entry["title"]),
        ), key
        if entry["kind"] == "annual_report":
            assert row["format"] == entry["format"], key
            assert row["published"] == entry["published"], key


def test_demo_archive_soft_404_is_not_a_report(demo_archive):
    conn, _port = demo_archive
    soft = HAZARD_LINKS["yuci"][1]["path"]
    rows = conn.execute(
        "SELECT kind, kind_reason FROM reports WHERE url LIKE ?", [f"%{soft}"]
    ).fetchall()
    assert [(r["kind"], r["kind_reason"].split(":")[0]) for r in rows] == [("other", "soft 404")]


def test_demo_archive_joins_continued_trs_article(demo_archive):
    conn, _port = demo_archive
    rows = conn.execute(
        "SELECT url, text FROM reports WHERE source_id = 'demo-yuci' AND year = 2014"
    ).fetchall()
    assert len(rows) == 1
    text = rows[0]["text"]
    # first paragraph of seed 000 and a sentence from its last section (on the _1 page)
    assert text.startswith("根据《中华人民共和国政府信息公开条例》")
    assert "三是进一步拓展公开渠道" in text


def test_demo_archive_every_number_traces_to_a_warc_record(demo_archive):
    conn, _port = demo_archive
    untraced = conn.execute(
        """SELECT count(*) FROM cells
           JOIN reports ON reports.id = cells.report_id
           JOIN captures ON captures.id = reports.document_capture_id
           WHERE captures.warc_file IS NULL OR captures.warc_record_id IS NULL"""
    ).fetchone()[0]
    assert untraced == 0
    assert conn.execute("SELECT count(*) FROM cells").fetchone()[0] > 1000
    cells = {
        (r[0], f"{r[1]}.{r[2]}.{r[3]}")
        for r in conn.execute("SELECT report_id, section, row_key, col_key FROM cells")
    }
    stats = conn.execute(
        "SELECT report_id, key, evidence, cell_id FROM stats WHERE origin = 'cell'"
    ).fetchall()
    assert stats
    for stat in stats:
        refs = stat["evidence"].split(" + ")
        assert all((stat["report_id"], ref) in cells for ref in refs), tuple(stat)
        assert (stat["cell_id"] is not None) == (len(refs) == 1), tuple(stat)


def test_demo_archive_attachments_parsed_or_marked(demo_archive):
    conn, _port = demo_archive
    rows = conn.execute(
        "SELECT media, parse_status, count(*) n FROM attachments GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    by = {(r["media"], r["parse_status"]): r["n"] for r in rows}
    assert by.get(("pdf", "parsed"), 0) >= 3
    assert by.get(("docx", "parsed"), 0) >= 3
    assert by.get(("pdf", "error"), 0) == 1  # the truncated PDF
    assert {k for k in by if k[1] == "not_parsed_yet"} == {
        ("doc", "not_parsed_yet"),
        ("xls", "not_parsed_yet"),
    }
