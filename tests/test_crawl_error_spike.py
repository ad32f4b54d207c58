"""An error spike in a real re-crawl: a portal whose report pages start failing is a warning in
the run summary, in crawl_runs and in the canned query of sources that need attention."""

from __future__ import annotations

import pytest
from conftest import db_rows, run_crawler
from recrawl_portal import Portal, running, write_sources

LIST = "/xxgk/index.html"
REPORTS = [f"/xxgk/{n}.html" for n in range(6)]
FAILING = REPORTS[:4]


def _page(n: int) -> bytes:
    title = f"某区{2015 + n}年政府信息公开工作年度报告"
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<div class='content'><p>本机关共收到政府信息公开申请{n}件。</p></div></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def spiked(tmp_path_factory):
    root = tmp_path_factory.mktemp("spike")
    portal = Portal()
    with running(portal):
        items = "".join(
            f'<li><a href="{path}">某区{2015 + n}年政府信息公开工作年度报告</a>'
            "<span>2024-01-20</span></li>"
            for n, path in enumerate(REPORTS)
        )
        portal.put(LIST, f"<html><body><ul>{items}</ul></body></html>".encode())
        for n, path in enumerate(REPORTS):
            portal.put(path, _page(n))
        sources = write_sources(root, "spike-portal", "某区人民政府", portal.url(LIST))
        runs = [run_crawler(["--sources", str(sources)], root, {"RETRY_TIMES": "0"})]
        for path in FAILING:  # the portal's back end breaks for most report pages
            portal.put(path, b"<h1>503 Service Unavailable</h1>", status=503)
        runs.append(run_crawler(["--sources", str(sources)], root, {"RETRY_TIMES": "0"}))
    yield root / "archive.db", portal, runs


def test_failing_report_pages_are_an_error_spike_warning(spiked) -> None:
    db, portal, runs = spiked
    assert [r.returncode for r in runs] == [0, 0]
    spike = "error spike: 4 errors (previous run 0)"
    assert db_rows(db, "SELECT crawl_id, errors, warnings FROM crawl_runs ORDER BY crawl_id") == [
        (1, 0, None),
        (2, 4, spike),
    ]
    assert f"warning: spike-portal: {spike}" in runs[1].stdout
    assert db_rows(db, "SELECT source_id, crawl_id, warnings FROM sources_attention") == [
        ("spike-portal", 2, spike)
    ]
    # each failure is recorded with its URL and status; the pages' first captures stay
    assert db_rows(db, "SELECT url, status FROM fetch_errors WHERE crawl_id = 2 ORDER BY url") == [
        (portal.url(path), 503) for path in sorted(FAILING)
    ]
    assert db_rows(db, "SELECT count(*) FROM captures WHERE role = 'report' AND status = 200") == [
        (6,)
    ]
