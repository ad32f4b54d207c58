"""A reporter's walk in headless Chromium over the demo archive built by the real crawl:
search -> report page -> archived original (download and safe view) -> agency page -> a canned
question with Chinese choices -> keyword feed. Screenshots go to tests/artifacts/journalist-*.png.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import server_process
from test_browser_datasette import _free_port, page, shot  # noqa: F401

ATOM = "{http://www.w3.org/2005/Atom}"


@contextlib.contextmanager
def serve(db: Path, data_dir: Path):
    """`nianbao serve --data-dir` in a subprocess on a free port; yields its base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "postprocess.cli",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, url + "/-/versions.json", timeout=30):
        yield url


@pytest.fixture(scope="module")
def site(demo_crawl, demo_archive_path):
    _db, data_dir, _port = demo_crawl
    with serve(demo_archive_path, data_dir) as url:
        yield url, demo_archive_path


def _ids_containing(db: Path, term: str) -> set[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id FROM reports WHERE instr(coalesce(text, '') || title || agency, ?)", [term]
        ).fetchall()
    return {r[0] for r in rows}


def test_browser_reporter_walk(page, site, tmp_path):  # noqa: F811
    url, db = site
    # 1. the database page opens on the search box; search a refusal reason
    page.goto(f"{url}/archive")
    page.fill("#nianbao-q", "过程性信息")
    page.press("#nianbao-q", "Enter")
    page.wait_for_load_state()
    assert "/archive/report_search" in page.url
    ids = page.locator("table.rows-and-columns tbody td.col-id").all_inner_texts()
    assert {int(i) for i in ids} == _ids_containing(db, "过程性信息")
    shot(page, "journalist-01-search")

    # 2. the first result opens its report page with the hits marked
    page.locator("table.rows-and-columns tbody td.col-id a").first.click()
    page.wait_for_load_state()
    rid = int(page.url.split("/reports/")[1].split("?")[0])
    with sqlite3.connect(db) as conn:
        title, capture_id, doc_id, sha = conn.execute(
            "select r.title, r.capture_id, r.document_capture_id, c.sha256 from reports r "
            "join captures c on c.id = r.capture_id where r.id = ?",
            [rid],
        ).fetchone()
    assert page.locator("h1").first.inner_text() == title
    assert page.locator(".report-text mark").count() >= 1
    assert page.locator("#tables table.report-table").count() >= 1
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(Path(__file__).parent / "artifacts" / "journalist-02-report.png"))
    shot(page, "journalist-02-report-full")

    # 3. the archived original: the exact bytes as a download, and the page in a sandbox
    with page.expect_download() as info:
        page.click("a.download-original")
    saved = tmp_path / "original"
    info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha
    page.click("a.view-original")
    page.wait_for_load_state()
    frame = page.locator("iframe.archived-frame")
    assert frame.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
    inner = page.frame_locator("iframe.archived-frame")
    assert title in inner.locator("body").inner_text()
    shot(page, "journalist-03-archived-original")

    # 4. the agency page: every year side by side
    page.go_back()
    page.wait_for_load_state()
    page.click("dd.agency a")
    page.wait_for_load_state()
    assert "/-/nianbao/agency/archive/" in page.url
    assert page.locator("svg.nianbao-chart").count() == 1
    assert page.locator("table.agency-years tbody tr").count() >= 2
    page.screenshot(path=str(Path(__file__).parent / "artifacts" / "journalist-04-agency.png"))
    shot(page, "journalist-04-agency-full")

    # 5. a question with Chinese choices: counties refusing as 过程性信息
    page.goto(f"{url}/archive")
    page.click("a[href='/archive/refused_for_reason']")
    page.wait_for_load_state()
    page.select_option("select[name=level]", "county")
    page.click("form.nianbao-params input[type=submit]")
    page.wait_for_load_state()
    assert "level=county" in page.url
    links = page.locator("a.report-link")
    assert links.count() >= 1
    shot(page, "journalist-05-question")
    links.first.click()
    page.wait_for_load_state()
    assert "/archive/reports/" in page.url

    # 6. a keyword feed a reporter can subscribe to
    response = page.goto(f"{url}/archive/new_reports.atom?q=过程性信息")
    assert response.status == 200
    feed = ET.fromstring(response.body())
    entries = feed.findall(f"{ATOM}entry")
    with sqlite3.connect(db) as conn:
        annual = {r[0] for r in conn.execute("select id from reports where kind = 'annual_report'")}
    assert len(entries) == len(_ids_containing(db, "过程性信息") & annual)
    assert feed.find(f"{ATOM}author/{ATOM}name").text
