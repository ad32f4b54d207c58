"""read_document on PDF, DOCX, legacy and broken files: never raises, records the failure."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from postprocess.extract.documents import MAX_DOCX_UNCOMPRESSED, MAX_PDF_PAGES, read_document
from postprocess.extract.metadata import read_metadata

DOCS = Path(__file__).parent / "fixtures" / "documents"
PDF = (DOCS / "hongze-2024.pdf").read_bytes()
DOCX = (DOCS / "report.docx").read_bytes()
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_documents_pdf_text_and_metadata():
    doc = read_document(PDF, "http://www.hongze.gov.cn/P0.pdf", "application/octet-stream")
    assert (doc.media, doc.parse_status) == ("pdf", "ok")
    lines = doc.text.splitlines()
    assert lines[:2] == ["淮安市洪泽区人民政府", "2024 年政府信息公开工作年度报告"]
    # lines wrapped at the right margin are joined into one paragraph a line
    assert lines[3] == "一、总体情况"
    assert lines[2].startswith(
        "本报告由淮安市洪泽区人民政府办公室根据《中华人民共和国政府信息公开条例》"
    )
    assert lines[2].endswith("电话：0517-87290606）。")
    assert (
        lines[-1]
        == "2024 年，区政府严格落实《政府信息公开信息处理费管理办法》，全年收取政府信息公开"
        "信息处理费 0 元。"
    )
    assert not any(ln.strip() in ("- 1 -", "- 5 -") for ln in lines)
    meta = read_metadata(doc)
    assert (meta.title, meta.agency, meta.year, meta.kind) == (
        "淮安市洪泽区人民政府2024年政府信息公开工作年度报告",
        "淮安市洪泽区人民政府",
        2024,
        "annual_report",
    )


def test_documents_pdf_tables_come_from_grids():
    doc = read_document(PDF, "http://x/a.pdf", "application/pdf")
    assert doc.tables and all(t.source == "pdf" for t in doc.tables)
    assert any(["规章", "0", "0", "0"] == row for t in doc.tables for row in t.rows)


def test_documents_docx_in_body_order_with_tables():
    doc = read_document(DOCX, "http://x/report.docx", DOCX_TYPE)
    assert (doc.media, doc.parse_status) == ("docx", "ok")
    assert doc.text.splitlines() == [
        "某市生态环境局2022年政府信息公开工作年度报告",
        "本报告根据《中华人民共和国政府信息公开条例》编制，所列数据统计期限自2022年1月1日起至2022年12月31日止。",
        "一、总体情况",
        "2022年，我局认真落实政务公开各项要求，主动公开政府信息456条。",
        "二、主动公开政府信息情况",
        " | ".join(["第二十条第（一）项"] * 4),
        "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数",
        "规章 | 0 | 0 | 0",
        "行政规范性文件 | 3 | 1 | 17",
        "六、其他需要报告的事项",
        "本年度未收取信息处理费。",
    ]
    assert doc.tables[0].rows[-1] == ["行政规范性文件", "3", "1", "17"]
    meta = read_metadata(doc)
    assert (meta.agency, meta.year, meta.kind) == ("某市生态环境局", 2022, "annual_report")


def test_documents_truncated_pdf_is_an_error():
    doc = read_document(PDF[:5000], "http://x/cut.pdf", "application/pdf")
    assert doc.parse_status == "error" and doc.parse_error and doc.text == ""


def test_documents_truncated_docx_is_an_error():
    doc = read_document(DOCX[:1500], "http://x/cut.docx", DOCX_TYPE)
    assert doc.parse_status == "error"
    assert doc.parse_error


def test_documents_zip_bomb_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<" + b" " * (MAX_DOCX_UNCOMPRESSED + 10))
    doc = read_document(buf.getvalue(), "http://x/bomb.docx", DOCX_TYPE)
    assert doc.parse_status == "error"
    assert "limit" in doc.parse_error


def test_documents_legacy_doc_is_kept_not_parsed():
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    for url, media in (
        ("http://x/P0.doc", "doc"),
        ("http://x/a.wps", "wps"),
        ("http://x/a.xls", "xls"),
    ):
        doc = read_document(body, url, "application/octet-stream")
        assert (doc.media, doc.parse_status, doc.text) == (media, "not_parsed_yet", "")


def test_documents_pdf_sent_as_html_is_read_as_pdf():
    doc = read_document(PDF, "http://x/download.jsp?id=1", "text/html")
    assert doc.media == "pdf" and doc.parse_status == "ok"


def test_documents_empty_html_is_empty_not_error():
    doc = read_document(b"", "http://x/a.html", "text/html")
    assert (doc.media, doc.parse_status, doc.text) == ("html", "ok", "")


def _blank_pdf(pages: int) -> bytes:
    """A well-formed PDF of blank pages (catalog, page tree, xref), written out by hand."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ] + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_documents_pdf_past_the_page_limit_is_refused():
    doc = read_document(_blank_pdf(MAX_PDF_PAGES + 1), "http://x/long.pdf", "application/pdf")
    assert doc.parse_status == "error"
    assert doc.parse_error == f"PDF has {MAX_PDF_PAGES + 1} pages (limit {MAX_PDF_PAGES})"
    # within the limit the pages are read (blank ones have no text to give)
    within = read_document(_blank_pdf(2), "http://x/short.pdf", "application/pdf")
    assert within.parse_error == "PDF has no text layer (scanned images?)"
