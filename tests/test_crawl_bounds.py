"""Bounded work in a real crawl of a hostile portal: an endless list, more report links than the
cap, a report page with 3,000 attachment links, a page past the download size limit, a redirect
loop and an endless chain of redirects. Each bound holds, and each is recorded (fetch_errors,
crawl_runs caps and warnings)."""

from __future__ import annotations

import pytest
from conftest import db_rows, run_crawler
from recrawl_portal import Portal, running, write_sources

LISTS = 30  # list pages chained by 下一页, far past the source's max_pages
PER_LIST = 4
MAX_PAGES = 3
MAX_REPORTS = 10
MAX_ATTACHMENTS = 4
ATTACHMENT_LINKS = 3000
MAX_SIZE = 200_000
REDIRECT_MAX_TIMES = 5


def _list_path(n: int) -> str:
    return "/nb/index.html" if n == 0 else f"/nb/index_{n}.html"


def _report_path(n: int, i: int) -> str:
    return f"/nb/{n}/{i}.html"


def _title(n: int, i: int) -> str:
    return f"某局{2000 + n * PER_LIST + i}年政府信息公开工作年度报告"


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    root = tmp_path_factory.mktemp("bounds")
    portal = Portal()
    with running(portal):
        for n in range(LISTS):
            items = "".join(
                f'<li><a href="{_report_path(n, i)}">{_title(n, i)}</a><span>2024-01-2{i}</span>'
                "</li>"
                for i in range(PER_LIST)
            )
            more = f'<a href="{_list_path(n + 1)}">下一页</a>' if n + 1 < LISTS else ""
            portal.put(_list_path(n), f"<html><body><ul>{items}</ul>{more}</body></html>".encode())
            for i in range(PER_LIST):
                body = "本机关共收到政府信息公开申请3件。"
                if (n, i) == (0, 0):  # 3,000 attachment links
                    body += "".join(
                        f'<a href="/files/{k}.pdf">附件{k}</a>' for k in range(ATTACHMENT_LINKS)
                    )
                if (n, i) == (0, 1):  # a page past the download size limit
                    body += "<p>" + "长" * MAX_SIZE + "</p>"
                if (n, i) == (0, 2):  # files behind a redirect loop and an endless chain
                    body += '<a href="/files/loop.pdf">附件</a>'
                    body += '<a href="/files/chain/0.pdf">附件</a>'
                portal.put(
                    _report_path(n, i),
                    f"<html><head><title>{_title(n, i)}</title></head><body>"
                    f"<h1>{_title(n, i)}</h1><div class='content'><p>{body}</p></div>"
                    "</body></html>".encode(),
                )
        portal.redirect("/files/loop.pdf", "/files/loop2.pdf")
        portal.redirect("/files/loop2.pdf", "/files/loop.pdf")
        for k in range(100):
            portal.redirect(f"/files/chain/{k}.pdf", f"/files/chain/{k + 1}.pdf", 301)
        sources = write_sources(
            root, "endless", "某局", portal.url(_list_path(0)), max_pages=MAX_PAGES
        )
        settings = {
            "NIANBAO_MAX_REPORTS": str(MAX_REPORTS),
            "NIANBAO_MAX_ATTACHMENTS": str(MAX_ATTACHMENTS),
            "DOWNLOAD_MAXSIZE": str(MAX_SIZE),
            "REDIRECT_MAX_TIMES": str(REDIRECT_MAX_TIMES),
        }
        proc = run_crawler(["--sources", str(sources)], root, settings)
        requested = [path for path, _, _ in portal.log]
    yield root / "archive.db", portal, proc, requested


def test_crawl_ends_normally(bounded) -> None:
    _, _, proc, _ = bounded
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_list_pages_stop_at_max_pages(bounded) -> None:
    db, _, _, requested = bounded
    lists = [p for p in requested if p.startswith("/nb/index")]
    assert lists == [_list_path(n) for n in range(MAX_PAGES)]
    warnings = db_rows(db, "SELECT warnings FROM crawl_runs WHERE source_id = 'endless'")[0][0]
    assert "max_pages reached: list pages left unread" in warnings


def test_report_pages_stop_at_the_cap(bounded) -> None:
    db, _, _, requested = bounded
    reports = {p for p in requested if p.startswith("/nb/") and not p.startswith("/nb/index")}
    assert len(reports) == MAX_REPORTS
    assert reports == {_report_path(n, i) for n in range(MAX_PAGES) for i in range(PER_LIST)} - {
        _report_path(2, 2),
        _report_path(2, 3),
    }
    warnings = db_rows(db, "SELECT warnings FROM crawl_runs WHERE source_id = 'endless'")[0][0]
    assert "report cap reached:" in warnings


def test_attachment_links_stop_at_the_cap(bounded) -> None:
    db, _, _, requested = bounded
    files = [p for p in requested if p.startswith("/files/") and p[7].isdigit()]
    assert sorted(files) == sorted(f"/files/{k}.pdf" for k in range(MAX_ATTACHMENTS))
    warnings = db_rows(db, "SELECT warnings FROM crawl_runs WHERE source_id = 'endless'")[0][0]
    assert f"attachment cap reached: {ATTACHMENT_LINKS - MAX_ATTACHMENTS} attachment links" in (
        warnings
    )


def test_page_past_the_size_limit_is_a_recorded_error(bounded) -> None:
    db, portal, _, _ = bounded
    big = portal.url(_report_path(0, 1))
    errors = db_rows(db, "SELECT role, error, message FROM fetch_errors WHERE url = ?", (big,))
    assert len(errors) == 1, errors
    role, error, message = errors[0]
    assert role == "report"
    assert error and message and str(MAX_SIZE) in message
    assert db_rows(db, "SELECT count(*) FROM captures WHERE url = ? AND status = 200", (big,)) == [
        (0,)
    ]


def test_redirect_loop_and_endless_chain_are_recorded_errors(bounded) -> None:
    db, portal, _, requested = bounded
    assert requested.count("/files/loop.pdf") == 1 and requested.count("/files/loop2.pdf") == 1
    chain = [p for p in requested if p.startswith("/files/chain/")]
    assert chain == [f"/files/chain/{k}.pdf" for k in range(REDIRECT_MAX_TIMES + 1)]
    errors = db_rows(
        db,
        "SELECT error, message, status FROM fetch_errors "
        "WHERE error IN ('redirect_loop', 'max_redirections') ORDER BY error",
    )
    loop, loop2 = portal.url("/files/loop.pdf"), portal.url("/files/loop2.pdf")
    last = portal.url(f"/files/chain/{REDIRECT_MAX_TIMES}.pdf")
    after = portal.url(f"/files/chain/{REDIRECT_MAX_TIMES + 1}.pdf")
    assert errors == [
        (
            "max_redirections",
            f"max redirections ({REDIRECT_MAX_TIMES}) reached at {last} -> {after}",
            301,
        ),
        ("redirect_loop", f"redirect loop: {loop} -> {loop2} -> {loop}", 302),
    ]
