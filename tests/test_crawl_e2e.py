"""End to end: the real crawler with project settings against the offline demo portals.

What the portals serve is declared by crawler/demo (catalog.yml for documents, site.HAZARD_LINKS
for the traps); the page-level facts (list pages, robots.txt, errors) are written out here.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import run_crawler

from crawler.demo import site
from postprocess.storage.warc import read_record

PORTAL_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7")
LIST_PAGES = (
    "http://127.0.0.2:{port}/zwgk/zfxxgknb/index.html",
    "http://127.0.0.2:{port}/zwgk/zfxxgknb/index_1.html",
    "http://127.0.0.2:{port}/zwgk/zfxxgknb/index_2.html",
    "http://127.0.0.3:{port}/col/col1234/index.html",
    "http://127.0.0.3:{port}/col/col1240/index.html",
    "http://127.0.0.3:{port}/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=17&perpage=15",
    "http://127.0.0.4:{port}/zwgk/gknb/list.aspx?page=1",
    "http://127.0.0.4:{port}/zwgk/gknb/list.aspx?page=2",
    "http://127.0.0.6:{port}/xxgk/gknb/index.html",
    "http://127.0.0.6:{port}/xxgk/gknb/index_2.html",
    "http://127.0.0.7:{port}/zwgk/zfxxgknb/index.html",
    "http://127.0.0.7:{port}/zwgk/zfxxgknb/index_1.html",
)
# (role, error, status, url): one row per failed attempt (the 500 is retried twice).
FETCH_ERRORS = sorted(
    [
        (
            "report",
            "blocked",
            412,
            "http://127.0.0.7:{port}/zwgk/zfxxgknb/202303/t20230328_777412.html",
        ),
        (
            "report",
            "http",
            404,
            "http://127.0.0.2:{port}/zwgk/zfxxgknb/201104/t20110412_100404.html",
        ),
        ("report", "http", 500, "http://127.0.0.4:{port}/zwgk/gknb/article_view.aspx?aid=10500"),
        ("report", "http", 500, "http://127.0.0.4:{port}/zwgk/gknb/article_view.aspx?aid=10500"),
        ("report", "http", 500, "http://127.0.0.4:{port}/zwgk/gknb/article_view.aspx?aid=10500"),
    ]
)


def _rows(db_path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _url(host: str, path: str, port: int) -> str:
    return f"http://{host}:{port}{path}"


def _expected_reports(port: int) -> set[str]:
    """Every document page the columns link to: catalog entries, continuations and hazards."""
    urls = set()
    for entry in site.catalog():
        urls.add(_url(entry["host"], entry["path"], port))
        stem, ext = entry["path"].rsplit(".", 1)
        for n in range(1, entry.get("pages", 1)):
            urls.add(_url(entry["host"], f"{stem}_{n}.{ext}", port))
    for portal, hazards in site.HAZARD_LINKS.items():
        host = site.PORTAL_HOSTS["hanweb" if portal in site.HANWEB_COLUMNS else portal]
        urls |= {_url(host, h["path"], port) for h in hazards}
    return urls


def _expected_attachments(port: int) -> tuple[set[str], set[str]]:
    """(URLs linked from report pages, redirect targets on the attachment host)."""
    linked, targets = set(), set()
    for entry in site.catalog():
        for att in entry.get("attachments", []):
            linked.add(_url(att["host"], att["path"], port))
            if att.get("redirect"):
                parts = urlsplit(att["redirect"])
                targets.add(_url(parts.hostname, parts.path, port))
    return linked, targets


def test_demo_crawl_finishes_with_one_crawl_row(demo_crawl) -> None:
    db_path, _, _ = demo_crawl
    crawls = _rows(db_path, "SELECT * FROM crawls")
    assert len(crawls) == 1
    assert crawls[0]["status"] == "finished" and crawls[0]["finished_at"]
    sources = {r["id"] for r in _rows(db_path, "SELECT id FROM sources")}
    assert sources == {
        "demo-yuci",
        "demo-hongze",
        "demo-huaian",
        "demo-hulan",
        "demo-litong",
        "demo-jiuquan",
    }


def test_demo_crawl_report_pages_exactly(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    got = {r["url"] for r in _rows(db_path, "SELECT url FROM captures WHERE role = 'report'")}
    assert got == _expected_reports(port)


def test_demo_crawl_report_captures_keep_their_list_entry(demo_crawl) -> None:
    # the title and date printed beside each link on the list page travel with the capture
    db_path, _, port = demo_crawl
    rows = _rows(
        db_path,
        "SELECT url, list_title, list_date FROM captures WHERE role = 'report' AND status = 200",
    )
    got = {r["url"]: (r["list_title"], r["list_date"]) for r in rows}
    expected = {
        _url(e["host"], e["path"], port): (e["title"], e["uploaded"])
        for e in site.catalog()
        if _url(e["host"], e["path"], port) in got
    }
    assert expected and {url: got[url] for url in expected} == expected
    continuations = [r for r in rows if r["url"] not in expected and "_1." in r["url"]]
    assert continuations and all(r["list_date"] is None for r in continuations)


def test_demo_crawl_attachments_exactly(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    rows = _rows(db_path, "SELECT url, status FROM captures WHERE role = 'attachment'")
    linked, targets = _expected_attachments(port)
    assert sorted(r["url"] for r in rows) == sorted(linked | targets)
    redirected = {r["url"] for r in rows if r["status"] == 302}
    assert redirected == {u for u in linked if "downfile.jsp" in u}
    assert {r["url"] for r in rows if r["status"] == 200} == (linked - redirected) | targets


def test_demo_crawl_attachments_hang_off_their_report_page(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    rows = _rows(
        db_path,
        """SELECT a.url AS url, p.url AS parent, p.role AS parent_role
                              FROM captures a JOIN captures p ON p.id = a.parent_capture_id
                              WHERE a.role = 'attachment'""",
    )
    parents = {}
    for entry in site.catalog():
        for att in entry.get("attachments", []):
            parents[_url(att["host"], att["path"], port)] = _url(entry["host"], entry["path"], port)
            if att.get("redirect"):
                parts = urlsplit(att["redirect"])
                parents[_url(parts.hostname, parts.path, port)] = parents[
                    _url(att["host"], att["path"], port)
                ]
    assert {r["url"]: r["parent"] for r in rows} == parents
    assert {r["parent_role"] for r in rows} == {"report"}


def test_demo_crawl_list_pages_stop_at_the_last_page(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    rows = _rows(db_path, "SELECT url, method FROM captures WHERE role = 'list' ORDER BY url")
    assert sorted(r["url"] for r in rows) == sorted(u.format(port=port) for u in LIST_PAGES)
    assert {r["url"] for r in rows if r["method"] == "POST"} == {LIST_PAGES[5].format(port=port)}


def test_demo_crawl_robots_txt_fetched_once_per_host_and_obeyed(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    robots = _rows(db_path, "SELECT url, status FROM captures WHERE role = 'robots'")
    assert sorted(r["url"] for r in robots) == [
        f"http://{h}:{port}/robots.txt" for h in PORTAL_HOSTS
    ]
    assert {r["status"] for r in robots} == {200}
    paths = [urlsplit(r["url"]).path for r in _rows(db_path, "SELECT url FROM captures")]
    assert not [p for p in paths if p.startswith(("/search/", "/admin/"))]


def test_demo_crawl_stays_off_other_sites_and_out_of_traps(demo_crawl) -> None:
    db_path, _, _ = demo_crawl
    urls = [r["url"] for r in _rows(db_path, "SELECT url FROM captures")]
    assert {urlsplit(u).hostname for u in urls} == set(PORTAL_HOSTS)
    assert not [u for u in urls if "rili.aspx" in u or "jsessionid" in u.lower()]
    assert len(urls) == len(set(urls)) + 2  # only the retried 500 repeats


def test_demo_crawl_errors_and_blocks_recorded(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    rows = _rows(db_path, "SELECT role, error, status, url FROM fetch_errors")
    assert sorted(tuple(r) for r in rows) == sorted(
        (role, err, status, url.format(port=port)) for role, err, status, url in FETCH_ERRORS
    )
    blocked = _rows(db_path, "SELECT url, status, note FROM captures WHERE blocked = 1")
    assert [(r["url"], r["status"]) for r in blocked] == [
        (FETCH_ERRORS[0][3].format(port=port), 412)
    ]
    assert "瑞数" in blocked[0]["note"]


def test_demo_crawl_every_capture_reads_back_from_warc(demo_crawl) -> None:
    db_path, data_dir, _ = demo_crawl
    rows = _rows(db_path, "SELECT * FROM captures")
    assert len(rows) > 90
    for row in rows:
        record = read_record(data_dir, row["warc_file"], row["warc_offset"])
        assert record.url == row["url"]
        assert record.status == row["status"]
        assert hashlib.sha256(record.body).hexdigest() == row["sha256"]
        assert len(record.body) == row["size"]
        assert row["crawl_id"] == 1 and row["source_id"]
    warcs = {Path(r["warc_file"]).name.split("-0")[0] for r in rows}
    assert warcs == {"crawl00001-trs", "crawl00001-hanweb", "crawl00001-generic"}


def test_demo_crawl_gbk_page_archived_as_served(demo_crawl) -> None:
    db_path, data_dir, port = demo_crawl
    row = _rows(
        db_path,
        "SELECT * FROM captures WHERE url = ?",
        (f"http://127.0.0.2:{port}/zwgk/zfxxgknb/index.html",),
    )[0]
    record = read_record(data_dir, row["warc_file"], row["warc_offset"])
    assert row["content_type"] == "text/html; charset=GBK"
    assert "政府信息公开年报".encode("gbk") in record.body


def test_demo_crawl_prints_progress_and_summary(demo_crawl) -> None:
    db_path, _, port = demo_crawl
    log = (db_path.parent / "crawl.log").read_text(encoding="utf-8")
    reports = len(_rows(db_path, "SELECT 1 FROM captures WHERE role = 'report' AND status = 200"))
    files = len(_rows(db_path, "SELECT 1 FROM captures WHERE role = 'attachment' AND status = 200"))
    assert (reports, files) == (len(_expected_reports(port)) - 3, 9)  # 404, 500, 412 excluded
    assert (
        f"crawl 1: 6 sources, 12 pages, {reports} reports, {files} attachments, 5 errors "
        "(1 blocked)"
    ) in log
    assert "done trs: " in log and "done hanweb: " in log and "done generic: " in log


@pytest.fixture(scope="module")
def hazard_crawl(demo_crawl, tmp_path_factory) -> Path:
    """A second small crawl: a robots-disallowed start URL, a closed port, a short timeout."""
    _, _, port = demo_crawl
    root = tmp_path_factory.mktemp("hazard_crawl")
    base = {
        "agency": "吴忠市利通区人民政府",
        "division_code": "640302",
        "level": "county",
        "cms": "generic",
        "demo": True,
    }
    sources = [
        {**base, "id": "probe-robots", "start_urls": [f"http://127.0.0.6:{port}/search/?q=年报"]},
        {**base, "id": "probe-refused", "start_urls": ["http://127.0.0.6:9/xxgk/gknb/index.html"]},
        {
            **base,
            "id": "probe-slow",
            "start_urls": [f"http://127.0.0.6:{port}/xxgk/gknb/index.html"],
            "report_url_pattern": r"/xxgk/gknb/\d{4}-\d{2}-\d{2}/\d+\.html$",
        },
    ]
    path = root / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    proc = run_crawler(
        ["--sources", str(path)], root, {"DOWNLOAD_TIMEOUT": "0.5", "RETRY_TIMES": "1"}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "archive.db"


def test_hazard_crawl_robots_disallowed_url_not_fetched(hazard_crawl) -> None:
    rows = _rows(
        hazard_crawl, "SELECT source_id, error FROM fetch_errors WHERE url LIKE '%/search/%'"
    )
    assert [tuple(r) for r in rows] == [("probe-robots", "robots_disallowed")]
    assert not _rows(hazard_crawl, "SELECT 1 FROM captures WHERE url LIKE '%/search/%'")


def test_hazard_crawl_timeout_recorded_per_attempt(hazard_crawl) -> None:
    slow = [e["path"] for e in site.catalog() if e["id"] == site.SLOW_REPORT][0]
    rows = _rows(
        hazard_crawl,
        "SELECT role, error, message FROM fetch_errors WHERE url LIKE ?",
        (f"%{slow}",),
    )
    assert [(r["role"], r["error"]) for r in rows] == [("report", "timeout")] * 2
    assert "(retry 1)" in rows[1]["message"]
    assert not _rows(hazard_crawl, "SELECT 1 FROM captures WHERE url LIKE ?", (f"%{slow}",))


def test_hazard_crawl_refused_connection_recorded(hazard_crawl) -> None:
    rows = _rows(
        hazard_crawl, "SELECT role, error FROM fetch_errors WHERE source_id = 'probe-refused'"
    )
    assert ("list", "refused") in {tuple(r) for r in rows}
    crawl = _rows(hazard_crawl, "SELECT status, stats FROM crawls")[0]
    assert crawl["status"] == "finished"
    assert '"failed_sources": ["probe-robots", "probe-refused"]' in crawl["stats"]
