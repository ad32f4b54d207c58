"""Headless Chromium drives the published archive: search, report, facet, chart, feed.

Needs Debian's chromium (`./dev test` installs it; see conftest.chromium: without it these
tests fail when CI is set, skip otherwise); screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from archive_fixture import archive_path  # noqa: F401
from conftest import free_port, server_process

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


_free_port = free_port  # other browser modules import it from here


@contextlib.contextmanager
def start_datasette(archive: Path):
    """Run `serve_archive` in a subprocess on a free port; yield its base URL."""
    port = _free_port()
    code = (
        "import sys; from postprocess.publish.serve import serve_archive; "
        "serve_archive(sys.argv[1], port=int(sys.argv[2]))"
    )
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", code, str(archive), str(port)]
    with server_process(command, url + "/-/versions.json", timeout=30):
        yield url


@pytest.fixture(scope="module")
def base_url(archive_path):  # noqa: F811
    with start_datasette(archive_path) as url:
        yield url


@pytest.fixture(scope="module")
def page(chromium, tmp_path_factory):
    from playwright import sync_api  # present: the chromium fixture checked

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        pg = browser.new_page()
        yield pg
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def search_reports_box(page, base_url: str, term: str) -> None:
    """Type term into the reports table's search box and submit, as a reader would."""
    page.goto(f"{base_url}/archive/reports")
    page.fill("input#_search", term)
    page.press("input#_search", "Enter")
    page.wait_for_load_state()


def test_browser_search_two_character_term(page, base_url):
    search_reports_box(page, base_url, "外网")
    assert page.locator("table.rows-and-columns tbody tr").count() == 1
    assert page.locator("td.col-text mark").first.inner_text() == "外网"
    shot(page, "01-search-two-characters")


def test_browser_search_box_ranks_best_match_first(page, base_url):
    search_reports_box(page, base_url, "复议")
    assert "/archive/report_search?" in page.url
    ids = page.locator("table.rows-and-columns tbody td.col-id").all_inner_texts()
    assert ids[:3] == ["7", "6", "13"]
    page.click("table.rows-and-columns tbody td.col-id a >> nth=0")
    page.wait_for_load_state()
    assert page.url.endswith("/archive/reports/7?q=%E5%A4%8D%E8%AE%AE")  # hits marked there
    shot(page, "01b-search-ranked")


def test_browser_ranked_search_page(page, base_url):
    page.goto(f"{base_url}/archive/search?q=酒泉市人民政府")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("td.col-id").inner_text() == "12"
    assert page.locator("td.col-snippet mark").count() >= 3
    shot(page, "02-ranked-search")


def test_browser_open_report_escapes_script(page, base_url):
    page.goto(f"{base_url}/archive/reports/23")
    text = page.locator(".report-text").inner_text()
    assert '<script>alert("xss")</script>' in text
    assert (
        page.locator("#report-card a.source-url")
        .get_attribute("href")
        .startswith("http://edu.gd.gov.cn/")
    )
    page.click("#report-card a.capture-link")
    page.wait_for_load_state()
    assert page.url.endswith("/archive/captures/23")
    shot(page, "03-report-capture")


def test_browser_follow_facet(page, base_url):
    page.goto(f"{base_url}/archive/reports")
    page.click("#facet-province a:has-text('江苏省')")
    page.wait_for_load_state()
    assert "province=" in page.url
    assert page.locator("table.rows-and-columns tbody tr").count() == 5
    page.click("#facet-failed_check a[title='appeals_totals']:has-text('未通过：')")
    page.wait_for_load_state()
    assert page.locator("table.rows-and-columns tbody tr").count() == 1
    shot(page, "04-facets")


def test_browser_canned_query_chart(page, base_url):
    page.goto(f"{base_url}/archive")
    page.click("a[href='/archive/requests_per_year']")
    page.wait_for_load_state()
    chart = page.locator("#chart svg.nianbao-chart")
    assert chart.count() == 1
    assert chart.locator("circle").count() == 11  # 11 distinct years in the fixture
    shot(page, "05-chart-requests-per-year")
    page.goto(f"{base_url}/archive/outcome_shares")
    assert page.locator("#chart svg rect").count() > 10
    shot(page, "06-chart-outcome-shares")


def test_browser_atom_feed(page, base_url):
    response = page.goto(f"{base_url}/archive/new_reports.atom?agency=洪泽")
    assert response.status == 200
    body = response.text()
    assert body.count("<entry>") == 3
    assert "淮安市洪泽区人民政府2022年政府信息公开工作年度报告" in body
