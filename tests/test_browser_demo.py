"""Headless Chromium over the demo archive built by the real crawl (see conftest.demo_archive_path).

Screenshots go to tests/artifacts/demo-*.png. Without Chromium: see conftest.chromium.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_browser_datasette import page, shot, start_datasette  # noqa: F401


@pytest.fixture(scope="module")
def demo_url(demo_archive_path):
    with start_datasette(demo_archive_path) as url:
        yield url


def _ids_containing(db: Path, term: str) -> set[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id FROM reports WHERE instr(text, ?) OR instr(title, ?) OR instr(agency, ?)",
            [term, term, term],
        ).fetchall()
    return {r[0] for r in rows}


def test_browser_demo_search_two_characters_finds_exactly_the_reports(
    page,  # noqa: F811
    demo_url,
    demo_archive_path,
):
    expected = _ids_containing(demo_archive_path, "复议")
    assert expected
    page.goto(f"{demo_url}/archive/reports?_search=复议&_size=max&_col=id")
    ids = {int(t) for t in page.locator("table.rows-and-columns tbody td.col-id").all_inner_texts()}
    assert ids == expected
    shot(page, "demo-01-search-fuyi")


def test_browser_demo_report_links_source_and_capture(page, demo_url, demo_archive_path):  # noqa: F811
    with sqlite3.connect(demo_archive_path) as conn:
        rid, url = conn.execute(
            "SELECT id, url FROM reports WHERE source_id = 'demo-yuci' AND year = 2014"
        ).fetchone()
    page.goto(f"{demo_url}/archive/reports/{rid}")
    assert page.locator("#report-card a.source-url").get_attribute("href") == url
    page.click("#report-card a.capture-link")
    page.wait_for_load_state()
    assert page.url.endswith(f"/archive/captures/{rid}")
    shot(page, "demo-02-report-capture")


def test_browser_demo_facet_chart_and_feed(page, demo_url):  # noqa: F811
    page.goto(f"{demo_url}/archive/reports")
    page.click("#facet-province a:has-text('江苏省')")
    page.wait_for_load_state()
    assert "province=" in page.url
    shot(page, "demo-03-facet-province")
    page.goto(f"{demo_url}/archive/requests_per_year")
    assert page.locator("#chart svg.nianbao-chart").count() == 1
    shot(page, "demo-04-chart")
    response = page.goto(f"{demo_url}/archive/new_reports.atom?province=江苏省")
    assert response.status == 200
    assert response.text().count("<entry>") > 0
