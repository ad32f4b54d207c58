"""nianbao build on a small archive written with WarcStore + record_capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import db_rows

from postprocess.build import build_archive
from postprocess.storage import db as archive_db
from postprocess.storage.warc import WarcStore

FIXTURES = Path(__file__).parent / "fixtures"
PDF = (FIXTURES / "documents" / "hongze-2024.pdf").read_bytes()
PAGE = (FIXTURES / "pages" / "hanweb_index_table.html").read_bytes()
BASE = "http://www.hongze.gov.cn/hzqrmzf/gknb"
STUB = f"""<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="淮安市洪泽区人民政府2024年政府信息公开工作年度报告">
<meta name="PubDate" content="2025-01-20 10:00"></head><body>
<div id="zoom"><p>附件：<a href="{BASE}/202501/P020250120.pdf">年报.pdf</a></p>
<p><a href="{BASE}/202501/P020250120.doc">年报.doc</a></p></div>
扫一扫在手机打开当前页</body></html>""".encode()
SOURCE = {
    "id": "js-hongze",
    "agency": "淮安市洪泽区人民政府",
    "division_code": "320813",
    "level": "county",
    "cms": "generic",
    "province": "江苏省",
    "city": "淮安市",
    "start_urls": [f"{BASE}/index.html"],
    "verified": 1,
    "example_url": None,
    "notes": None,
    "demo": 1,
}


def _capture(
    db,
    store,
    crawl_id,
    url,
    body,
    *,
    status=200,
    ctype="text/html; charset=utf-8",
    role="report",
    parent=None,
) -> int:
    stored = store.write_response(url, status, "OK", [("Content-Type", ctype)], body)
    return archive_db.record_capture(
        db,
        {
            "crawl_id": crawl_id,
            "source_id": "js-hongze",
            "url": url,
            "method": "GET",
            "fetched_at": f"2025-02-01T00:00:{crawl_id:02d}Z",
            "status": status,
            "content_type": ctype,
            **stored.capture_fields(),
            "role": role,
            "parent_capture_id": parent,
            "blocked": 0,
        },
    )


@pytest.fixture
def archive(tmp_path):
    db_path, data = tmp_path / "archive.db", tmp_path / "data"
    db = archive_db.open_db(db_path)
    archive_db.upsert_sources(db, [SOURCE])
    crawl = archive_db.start_crawl(db, ["js-hongze"])
    store = WarcStore(data, "test")
    ids = {}
    ids["robots"] = _capture(
        db,
        store,
        crawl,
        "http://www.hongze.gov.cn/robots.txt",
        b"",
        ctype="text/plain",
        role="robots",
    )
    ids["page"] = _capture(db, store, crawl, f"{BASE}/202001/art_1.html", PAGE)
    ids["stub"] = _capture(db, store, crawl, f"{BASE}/202501/t20250120_2.html", STUB)
    ids["pdf"] = _capture(
        db,
        store,
        crawl,
        f"{BASE}/202501/P020250120.pdf",
        PDF,
        ctype="application/pdf",
        role="attachment",
        parent=ids["stub"],
    )
    ids["doc"] = _capture(
        db,
        store,
        crawl,
        f"{BASE}/202501/P020250120.doc",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500,
        ctype="application/msword",
        role="attachment",
        parent=ids["stub"],
    )
    ids["gone"] = _capture(db, store, crawl, f"{BASE}/202301/t3.html", b"<h1>404</h1>", status=404)
    ids["again"] = _capture(db, store, crawl, f"{BASE}/202001/art_1.html", PAGE)
    ids["edited"] = _capture(
        db,
        store,
        crawl,
        f"{BASE}/202001/art_1.html",
        PAGE.replace("无。".encode(), "本年度无其他需要报告的事项。".encode()),
    )
    store.close()
    db.close()
    return db_path, data, ids


def _rows(db_path):
    db = archive_db.open_db(db_path)
    reports = [
        {
            k: r[k]
            for k in (
                "id",
                "capture_id",
                "document_capture_id",
                "url",
                "document_url",
                "title",
                "agency",
                "year",
                "published",
                "kind",
                "format",
                "text_source",
                "parse_status",
                "province",
                "level",
                "division_code",
            )
        }
        for r in db.query("SELECT * FROM reports ORDER BY id")
    ]
    attachments = list(
        db.query(
            "SELECT id, report_id, capture_id, media, parse_status, parse_error, "
            "text_chars > 0 AS has_text "
            "FROM attachments ORDER BY id"
        )
    )
    counts = {t: db[t].count for t in ("cells", "stats", "checks")}
    full = [list(db.query(f"SELECT * FROM [{t}] ORDER BY id")) for t in archive_db.DERIVED_TABLES]
    db.close()
    return reports, attachments, counts, full


def test_build_archive_rows(archive):
    db_path, data, ids = archive
    lines: list[str] = []
    result = build_archive(db_path, data, echo=lines.append)
    assert result.line() == (
        "build: 7 captures read, 3 reports (3 annual reports), "
        "2 attachments (1 not parsed yet), 0 errors"
    )
    reports, attachments, counts, _ = _rows(db_path)
    common = {
        "province": "江苏省",
        "level": "county",
        "division_code": "320813",
        "parse_status": "ok",
        "kind": "annual_report",
    }
    assert reports == [
        {
            **common,
            "id": ids["page"],
            "capture_id": ids["page"],
            "document_capture_id": ids["page"],
            "url": f"{BASE}/202001/art_1.html",
            "document_url": f"{BASE}/202001/art_1.html",
            "title": "温州市鹿城区人民政府2019年政府信息公开工作年度报告",
            "agency": "温州市鹿城区人民政府",
            "year": 2019,
            "published": "2020-01-20",
            "format": "2019",
            "text_source": "page",
        },
        {
            **common,
            "id": ids["stub"],
            "capture_id": ids["stub"],
            "document_capture_id": ids["pdf"],
            "url": f"{BASE}/202501/t20250120_2.html",
            "document_url": f"{BASE}/202501/P020250120.pdf",
            "title": "淮安市洪泽区人民政府2024年政府信息公开工作年度报告",
            "agency": "淮安市洪泽区人民政府",
            "year": 2024,
            "published": "2025-01-20",
            "format": "2021",
            "text_source": "attachment",
        },
        {
            **common,
            "id": ids["edited"],
            "capture_id": ids["edited"],
            "document_capture_id": ids["edited"],
            "url": f"{BASE}/202001/art_1.html",
            "document_url": f"{BASE}/202001/art_1.html",
            "title": "温州市鹿城区人民政府2019年政府信息公开工作年度报告",
            "agency": "温州市鹿城区人民政府",
            "year": 2019,
            "published": "2020-01-20",
            "format": "2019",
            "text_source": "page",
        },
    ]
    assert attachments == [
        {
            "id": ids["pdf"],
            "report_id": ids["stub"],
            "capture_id": ids["pdf"],
            "media": "pdf",
            "parse_status": "parsed",
            "parse_error": None,
            "has_text": 1,
        },
        {
            "id": ids["doc"],
            "report_id": ids["stub"],
            "capture_id": ids["doc"],
            "media": "doc",
            "parse_status": "not_parsed_yet",
            "parse_error": None,
            "has_text": 0,
        },
    ]
    assert counts["cells"] > 0 and counts["stats"] > 0 and counts["checks"] > 0


def test_build_archive_is_idempotent(archive):
    db_path, data, _ = archive
    build_archive(db_path, data, echo=lambda _line: None)
    first = _rows(db_path)
    build_archive(db_path, data, echo=lambda _line: None)
    assert _rows(db_path) == first


def test_build_archive_records_a_broken_document(archive, tmp_path):
    db_path, data, ids = archive
    db = archive_db.open_db(db_path)
    store = WarcStore(data, "broken")
    crawl = archive_db.start_crawl(db, ["js-hongze"])
    bad = _capture(
        db,
        store,
        crawl,
        f"{BASE}/202501/P0broken.pdf",
        PDF[:4000],
        ctype="application/pdf",
        role="attachment",
        parent=ids["stub"],
    )
    store.close()
    db.close()
    result = build_archive(db_path, data, echo=lambda _line: None)
    assert result.errors == 1 and result.reports == 3
    _, attachments, _, _ = _rows(db_path)
    row = next(a for a in attachments if a["id"] == bad)
    assert (row["media"], row["parse_status"]) == ("pdf", "error") and row["parse_error"]


def test_build_links_a_page_whose_parent_is_named_by_record_only(archive):
    """A worker of a shared distributed crawl writes an attachment before the row of its report
    page (another worker's, uncommitted) exists: the row names its parent by WARC record id
    alone. The build gives it the parent's capture id and the attachment its report."""
    db_path, data, ids = archive
    db = archive_db.open_db(db_path)
    (stub_record,) = db.execute(
        "SELECT warc_record_id FROM captures WHERE id = ?", [ids["stub"]]
    ).fetchone()
    store = WarcStore(data, "worker2")
    crawl = archive_db.start_crawl(db, ["js-hongze"])
    url = f"{BASE}/202501/P020250121.pdf"
    stored = store.write_response(url, 200, "OK", [("Content-Type", "application/pdf")], PDF)
    late = archive_db.record_capture(
        db,
        {
            "crawl_id": crawl,
            "source_id": "js-hongze",
            "url": url,
            "method": "GET",
            "fetched_at": "2025-02-01T00:00:09Z",
            "status": 200,
            "content_type": "application/pdf",
            **stored.capture_fields(),
            "role": "attachment",
            "parent_capture_id": None,
            "parent_record_id": stub_record,
            "blocked": 0,
        },
    )
    store.close()
    db.close()
    build_archive(db_path, data, echo=lambda _line: None)
    reports, attachments, _, _ = _rows(db_path)
    stub_report = next(r["id"] for r in reports if r["capture_id"] == ids["stub"])
    assert next(a for a in attachments if a["capture_id"] == late)["report_id"] == stub_report
    parent = db_rows(db_path, "SELECT parent_capture_id FROM captures WHERE id = ?", (late,))
    assert parent == [(ids["stub"],)]


def test_build_archive_crash_keeps_previous_build(archive, monkeypatch):
    db_path, data, _ = archive
    build_archive(db_path, data, echo=lambda _line: None)
    before = _rows(db_path)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(archive_db.DerivedWriter, "write", boom)
    with pytest.raises(RuntimeError):
        build_archive(db_path, data, echo=lambda _line: None)
    assert _rows(db_path) == before


def test_reports_long_columns_are_last_and_old_archives_migrate(archive, tmp_path):
    db_path, data, _ = archive
    build_archive(db_path, data, echo=lambda _: None)
    db = archive_db.open_db(db_path)
    assert [c.name for c in db["reports"].columns][-3:] == ["kind_reason", "parse_error", "text"]
    before = list(db.query("SELECT * FROM reports ORDER BY id"))
    # An archive from before m002: text in the middle, m002 not applied yet.
    order = [c.name for c in db["reports"].columns]
    order.remove("text")
    db["reports"].transform(column_order=[*order[:13], "text", *order[13:]])
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_reports_long_columns_last'")
    db.conn.commit()
    assert [c.name for c in db["reports"].columns][13] == "text"
    db.close()
    db = archive_db.open_db(db_path)
    assert [c.name for c in db["reports"].columns][-1] == "text"
    assert list(db.query("SELECT * FROM reports ORDER BY id")) == before
    assert db.execute("SELECT count(*) FROM report_search").fetchone()[0] == len(before)


def _schema(path) -> list[tuple]:
    db = archive_db.open_db(path)
    rows = sorted(
        tuple(r)
        for r in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
    )
    db.close()
    return rows


def test_build_recreates_the_indexes_it_defers_and_writes_8k_pages(archive, tmp_path):
    db_path, data, _ = archive
    build_archive(db_path, data, echo=lambda _line: None)
    assert _schema(db_path) == _schema(tmp_path / "fresh.db")
    db = archive_db.open_db(db_path)
    assert db.execute("PRAGMA page_size").fetchone() == (8192,)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


def test_deferred_unique_index_still_refuses_duplicates(tmp_path):
    import sqlite3

    db = archive_db.open_db(tmp_path / "archive.db")
    check = {"rule": "requests_balance", "ok": True, "detail": ""}
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        with archive_db.derived_indexes_deferred(db):
            with db.atomic():
                archive_db.write_report(db, {"id": 1, "text": ""}, [], [], [], [check, check])
    db.close()


def test_index_made_by_the_parsers_equals_a_rebuild_from_the_reports(demo_archive_path, tmp_path):
    """The build's parser processes make each report's index terms and the writer inserts them
    with the report; the index equals one rebuilt from the reports table afterwards."""
    import shutil
    import sqlite3

    from postprocess.storage import search

    def index_of(path: Path) -> list[tuple]:
        """Every posting: (term, report, column, offset), whatever the segments' layout."""
        con = sqlite3.connect(path)
        try:
            con.execute(
                "CREATE VIRTUAL TABLE temp.postings USING fts5vocab(main, reports_fts, instance)"
            )
            return con.execute("SELECT * FROM temp.postings ORDER BY 1, 2, 3, 4").fetchall()
        finally:
            con.close()

    copy = tmp_path / "rebuilt.db"
    shutil.copy(demo_archive_path, copy)
    built = index_of(demo_archive_path)
    con = sqlite3.connect(copy)
    try:
        count = search.index_reports(con)
        assert count == con.execute("SELECT count(*) FROM reports").fetchone()[0] > 40
    finally:
        con.close()
    assert len({p[1] for p in built}) == count
    assert index_of(copy) == built
