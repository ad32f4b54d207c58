"""Re-crawls of a portal that changes between runs (the real crawler, in fresh processes):
conditional requests, 304s answered from the archive, versions kept and linked, deleted reports
marked, crawl_runs counts and monitoring warnings."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from conftest import db_rows, run_crawler
from recrawl_portal import Portal, running, write_sources

from postprocess.build import build_archive
from postprocess.publish.serve import make_datasette

LIST = "/gknb/index.html"
R1 = "/gknb/2023/1.html"
R2 = "/gknb/2022/2.html"
ATT = "/files/2023.pdf"


def _page(title: str, body: str, extra: str = "") -> bytes:
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<div class='content'><p>{body}</p>{extra}</div></body></html>"
    ).encode()


def _list(links: list[tuple[str, str]]) -> bytes:
    items = "".join(f'<li><a href="{u}">{t}</a><span>2024-01-20</span></li>' for u, t in links)
    return f"<html><head><title>年报</title></head><body><ul>{items}</ul></body></html>".encode()


FIRST = "2023年，本机关共收到政府信息公开申请12件，全部按时办结。"
SECOND = "2023年，本机关共收到政府信息公开申请15件，全部按时办结（更正）。"
LINKS = [
    (R1, "某区2023年政府信息公开工作年度报告"),
    (R2, "某区2022年政府信息公开工作年度报告"),
]


@pytest.fixture(scope="module")
def recrawls(tmp_path_factory):
    """Four crawls: first, unchanged, edited (report 1 edited, report 2 deleted, PDF replaced),
    and one after the list page's layout changed. Yields (root, portal, request logs)."""
    root = tmp_path_factory.mktemp("recrawl")
    portal = Portal()
    with running(portal):
        portal.put(LIST, _list(LINKS))
        portal.put(R1, _page(LINKS[0][1], FIRST, f'<a href="{ATT}">附件：2023年报.pdf</a>'))
        portal.put(R2, _page(LINKS[1][1], "二〇二二年正文。"), validators=False)
        portal.put(ATT, b"%PDF-1.4 first version", "application/pdf", validators=False)
        sources = write_sources(root, "edit-portal", "某区人民政府", portal.url(LIST))
        logs = []

        def crawl() -> None:
            start = len(portal.log)
            proc = run_crawler(["--sources", str(sources)], root)
            assert proc.returncode == 0, proc.stderr[-3000:]
            logs.append((portal.log[start:], proc.stdout))

        crawl()
        crawl()
        portal.put(R1, _page(LINKS[0][1], SECOND, f'<a href="{ATT}">附件</a>'))
        portal.put(R2, b"gone", "text/html", status=404)
        portal.put(ATT, b"%PDF-1.4 second version", "application/pdf", validators=False)
        crawl()
        portal.put(LIST, b"<html><body><div id='app'></div><script>load()</script></body></html>")
        crawl()
    yield root, portal, logs


def test_recrawl_sends_validators_and_gets_304s(recrawls) -> None:
    _, _, logs = recrawls
    first = {path: (inm, status) for path, inm, status in logs[0][0]}
    second = {path: (inm, status) for path, inm, status in logs[1][0]}
    assert first == {
        "/robots.txt": (None, 404),
        LIST: (None, 200),
        R1: (None, 200),
        R2: (None, 200),
        ATT: (None, 200),
    }
    assert second[LIST][1] == 304 and second[R1][1] == 304
    assert second[LIST][0] and second[R1][0]  # If-None-Match sent from the last capture
    assert second[R2] == (None, 200) and second[ATT] == (None, 200)  # no validators to send


def test_crawl_runs_count_new_changed_unchanged_deleted(recrawls) -> None:
    root, _, _ = recrawls
    rows = db_rows(
        root / "archive.db",
        "SELECT crawl_id, status, pages, reports, attachments, new, changed, unchanged, deleted, "
        "errors FROM crawl_runs ORDER BY crawl_id",
    )
    assert rows == [
        (1, "finished", 1, 2, 1, 4, 0, 0, 0, 0),
        (2, "finished", 1, 2, 1, 0, 0, 4, 0, 0),
        (3, "finished", 1, 1, 1, 0, 2, 1, 1, 1),
        (4, "finished", 1, 0, 0, 0, 1, 0, 0, 0),
    ]
    summary = recrawls[2][1][1]
    assert "0 new, 0 changed, 4 unchanged, 0 gone" in summary


def test_recrawl_stores_304s_as_revisits_of_the_capture(recrawls) -> None:
    root, portal, _ = recrawls
    rows = db_rows(
        root / "archive.db",
        "SELECT c.url, c.status, p.crawl_id FROM captures c JOIN captures p ON p.id = c.revisit_of "
        "WHERE c.crawl_id = 2 ORDER BY c.url",
    )
    assert rows == [
        (portal.url(ATT), 200, 1),
        (portal.url(R2), 200, 1),
        (portal.url(R1), 304, 1),
        (portal.url(LIST), 304, 1),
    ]


def test_edited_and_deleted_documents_listed_with_versions(recrawls) -> None:
    root, portal, _ = recrawls
    changes = db_rows(
        root / "archive.db",
        "SELECT url, role, versions, changed_at IS NOT NULL, deleted_at IS NOT NULL, last_status "
        "FROM document_changes ORDER BY url",
    )
    assert changes == [
        (portal.url(ATT), "attachment", 2, 1, 0, 200),
        (portal.url(R2), "report", 1, 0, 1, 404),
        (portal.url(R1), "report", 2, 1, 0, 200),
    ]
    versions = db_rows(
        root / "archive.db",
        "SELECT v.version, c.crawl_id, p.crawl_id FROM document_versions v "
        "JOIN captures c ON c.id = v.capture_id "
        "LEFT JOIN captures p ON p.id = v.previous_capture_id "
        "WHERE v.url = ? ORDER BY v.version",
        (portal.url(R1),),
    )
    assert versions == [(1, 1, None), (2, 3, 1)]


@pytest.fixture(scope="module")
def built(recrawls, tmp_path_factory) -> Path:
    """The re-crawled archive built (a copy; the crawl's db stays raw)."""
    root, _, _ = recrawls
    db = tmp_path_factory.mktemp("recrawl_built") / "archive.db"
    shutil.copy(root / "archive.db", db)
    build_archive(db, root / "data", echo=lambda _line: None)
    return db


def test_build_after_recrawls_has_no_duplicate_attachments(recrawls, built) -> None:
    root, portal, _ = recrawls
    root = built.parent  # the built copy
    reports = db_rows(
        root / "archive.db",
        "SELECT r.url, c.crawl_id FROM reports r JOIN captures c ON c.id = r.capture_id "
        "ORDER BY r.url, c.crawl_id",
    )
    # both versions of report 1 are kept; the deleted report 2 is kept too
    assert reports == [(portal.url(R2), 1), (portal.url(R1), 1), (portal.url(R1), 3)]
    attachments = db_rows(
        root / "archive.db",
        "SELECT c.crawl_id, r.capture_id, a.url FROM attachments a "
        "JOIN captures c ON c.id = a.capture_id JOIN reports r ON r.id = a.report_id "
        "ORDER BY a.id",
    )
    first_r1 = db_rows(
        root / "archive.db", "SELECT MIN(id) FROM captures WHERE url = ?", (portal.url(R1),)
    )[0][0]
    later_r1 = db_rows(
        root / "archive.db",
        "SELECT id FROM captures WHERE url = ? AND crawl_id = 3",
        (portal.url(R1),),
    )[0][0]
    # one row per report version and file: the old page keeps its latest unchanged copy
    assert attachments == [(2, first_r1, portal.url(ATT)), (3, later_r1, portal.url(ATT))]


def test_layout_change_and_zero_reports_are_warnings(recrawls) -> None:
    root, portal, logs = recrawls
    warnings = (
        f"no reports found on 1 list pages; list page no longer parses: {portal.url(LIST)} "
        "had 2 report links, now 0"
    )
    assert db_rows(
        root / "archive.db", "SELECT source_id, crawl_id, warnings FROM sources_attention"
    ) == [("edit-portal", 4, warnings)]
    assert json.loads(
        db_rows(root / "archive.db", "SELECT warnings FROM crawls WHERE id = 4")[0][0]
    ) == [f"edit-portal: {w}" for w in warnings.split("; ")]
    assert f"warning: edit-portal: list page no longer parses: {portal.url(LIST)}" in logs[3][1]
    assert db_rows(root / "archive.db", "SELECT url, links FROM list_links ORDER BY crawl_id") == [
        (portal.url(LIST), 2)
    ] * 3 + [(portal.url(LIST), 0)]


def test_canned_queries_list_edited_deleted_reports_and_sources_needing_attention(
    recrawls, built
) -> None:
    _, portal, _ = recrawls
    ds = make_datasette(built)
    loop = asyncio.new_event_loop()
    try:
        changes = loop.run_until_complete(
            ds.client.get("/archive/edited_and_deleted_reports.json?_shape=array")
        ).json()
        feed = loop.run_until_complete(ds.client.get("/archive/sources_needing_attention.atom"))
    finally:
        loop.close()
    assert sorted(
        (c["change"], c["url"], c["versions"], c["title"], c["figures_changed"]) for c in changes
    ) == [
        ("deleted 已删除", portal.url(R2), 1, LINKS[1][1], None),
        ("edited 已修改", portal.url(R1), 2, LINKS[0][1], "requests_new 12.0 → 15.0"),
    ]
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "<title>某区人民政府: no reports found on 1 list pages; list page no longer parses" in (
        feed.text
    )
    assert "<id>tag:nianbao,2025:attention:edit-portal:4</id>" in feed.text


def test_report_versions_linked_with_changed_figures(recrawls, built) -> None:
    _, portal, _ = recrawls
    versions = db_rows(
        built,
        "SELECT v.version, v.versions, v.previous_report_id IS NULL, v.next_report_id IS NULL "
        "FROM report_versions v WHERE url = ? ORDER BY version",
        (portal.url(R1),),
    )
    assert versions == [(1, 2, 1, 0), (2, 2, 0, 1)]
    changes = db_rows(
        built,
        "SELECT url, key, previous_value, value FROM report_figure_changes ORDER BY key",
    )
    assert changes == [(portal.url(R1), "requests_new", 12.0, 15.0)]


def test_report_page_says_it_changed_when_and_which_figures(recrawls, built) -> None:
    _, portal, _ = recrawls
    (first, first_at), (second, second_at) = db_rows(
        built, "SELECT id, fetched_at FROM reports WHERE url = ? ORDER BY id", (portal.url(R1),)
    )
    deleted_id = db_rows(built, "SELECT id FROM reports WHERE url = ?", (portal.url(R2),))[0][0]
    deleted_at = db_rows(
        built,
        "SELECT fetched_at FROM captures WHERE url = ? AND status = 404",
        (portal.url(R2),),
    )[0][0]
    ds = make_datasette(built)
    loop = asyncio.new_event_loop()
    try:
        pages = {
            rid: loop.run_until_complete(ds.client.get(f"/archive/reports/{rid}")).text
            for rid in (first, second, deleted_id)
        }
    finally:
        loop.close()
    newer = pages[second]
    assert f"本报告网页共存档 2 个不同版本，本页为第 2 版（抓取于 {second_at}）" in newer
    assert f'<a class="previous-version" href="/archive/reports/{first}">上一版</a>' in newer
    assert f"（抓取于 {first_at}），以下汇总指标有变化" in newer
    assert (
        '<tr class="change-requests_new"><th title="requests_new">本年新收申请</th>'
        '<td class="num">12</td><td class="num">15</td>'
    ) in newer
    assert "有更新的版本" not in newer
    older = pages[first]
    assert "本页为第 1 版" in older
    assert f'有更新的版本：<a href="/archive/reports/{second}">第 2 版</a>' in older
    assert "上一版" not in older
    gone = pages[deleted_id]
    assert f"原网页已删除：{deleted_at} 抓取时返回 404" in gone
    assert "本报告网页共存档" not in gone
    # the other version is a version, not another year of the agency; other years show their
    # latest version
    assert f'class="other-years"><li><a href="/archive/reports/{deleted_id}">' in newer
    other_years = gone[gone.index('class="other-years"') :]
    other_years = other_years[: other_years.index("</ul>")]
    assert other_years.count("<li>") == 1
    assert f'<li><a href="/archive/reports/{second}">' in other_years
