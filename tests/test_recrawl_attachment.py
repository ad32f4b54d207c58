"""A report whose page stays the same while its attachment is replaced between crawls: the build
reads the new file, both files stay archived and linked, and the report page says so."""

from __future__ import annotations

import asyncio
import io
import shutil

import pytest
from conftest import db_rows, run_crawler
from docx import Document as DocxDocument
from recrawl_portal import Portal, running, write_sources

from postprocess.build import build_archive
from postprocess.publish.serve import make_datasette

LIST = "/xxgk/nb/index.html"
PAGE = "/xxgk/nb/2023.html"
FILE = "/xxgk/nb/2023nb.docx"
TITLE = "某县2023年政府信息公开工作年度报告"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx(requests: int) -> bytes:
    doc = DocxDocument()
    doc.add_paragraph(TITLE)
    doc.add_paragraph(f"2023年，本机关共收到政府信息公开申请{requests}件，全部按时办结。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def replaced(tmp_path_factory):
    """Two crawls: the page answers 304 the second time, the DOCX behind it was replaced."""
    root = tmp_path_factory.mktemp("replaced")
    portal = Portal()
    with running(portal):
        portal.put(
            LIST,
            f'<html><body><ul><li><a href="{PAGE}">{TITLE}</a><span>2024-01-25</span></li>'
            "</ul></body></html>".encode(),
        )
        portal.put(
            PAGE,
            f"<html><head><title>{TITLE}</title></head><body><h1>{TITLE}</h1>"
            f"<div class='content'><p>详见附件：<a href='{FILE}'>2023年报.docx</a></p></div>"
            "</body></html>".encode(),
        )
        portal.put(FILE, _docx(12), DOCX)
        sources = write_sources(root, "replaced-file", "某县人民政府", portal.url(LIST))
        statuses = []
        for requests in (12, 15):
            portal.put(FILE, _docx(requests), DOCX)
            start = len(portal.log)
            proc = run_crawler(["--sources", str(sources)], root)
            assert proc.returncode == 0, proc.stderr[-3000:]
            statuses.append({path: status for path, _, status in portal.log[start:]})
    db = root / "built.db"
    shutil.copy(root / "archive.db", db)
    build_archive(db, root / "data", echo=lambda _line: None)
    yield db, portal, statuses


def test_unchanged_page_revalidated_and_replaced_file_fetched(replaced) -> None:
    _, _, statuses = replaced
    assert statuses[1][PAGE] == 304
    assert statuses[1][FILE] == 200


def test_build_reads_the_replaced_file(replaced) -> None:
    db, portal, _ = replaced
    new_file = db_rows(db, "SELECT max(id) FROM captures WHERE url = ?", (portal.url(FILE),))[0][0]
    assert db_rows(
        db,
        "SELECT r.url, r.text_source, a.capture_id, s.value FROM reports r "
        "JOIN attachments a ON a.report_id = r.id "
        "JOIN stats s ON s.report_id = r.id AND s.key = 'requests_new'",
    ) == [(portal.url(PAGE), "attachment", new_file, 15.0)]


def test_both_files_kept_and_linked(replaced) -> None:
    db, portal, _ = replaced
    versions = db_rows(
        db,
        "SELECT version, versions, previous_capture_id IS NOT NULL FROM document_versions "
        "WHERE url = ? ORDER BY version",
        (portal.url(FILE),),
    )
    assert versions == [(1, 2, 0), (2, 2, 1)]


def test_report_page_says_the_file_was_replaced(replaced) -> None:
    db, portal, _ = replaced
    rid = db_rows(db, "SELECT id FROM reports")[0][0]
    old, new = (
        r[0]
        for r in db_rows(
            db,
            "SELECT id FROM captures WHERE url = ? AND status = 200 ORDER BY id",
            (portal.url(FILE),),
        )
    )
    ds = make_datasette(db)
    loop = asyncio.new_event_loop()
    try:
        page = loop.run_until_complete(ds.client.get(f"/built/reports/{rid}")).text
    finally:
        loop.close()
    assert "附件已更新" in page
    assert f"/-/nianbao/original/built/{old}" in page
    assert f"/-/nianbao/original/built/{new}" in page
