"""One fetched body made readable: HTML, PDF, DOCX or plain text -> `Document`.

The media type is decided from the bytes first (servers send PDFs as application/octet-stream
and Word files as text/html), then the Content-Type, then the URL's extension. Legacy binary
formats (DOC, WPS, XLS) are kept in the archive but not read yet.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections import Counter
from urllib.parse import urlsplit

from postprocess.extract import clean
from postprocess.extract.grids import (
    break_run_on,
    cell_text,
    docx_tables,
    pdf_tables,
    text_tables,
    unwrap,
)
from postprocess.extract.model import Document, Table

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 100 * 1024 * 1024
MAX_PDF_PAGES = 300
# HTML/text are parsed into trees and strings several times their size: a 50 MB page cost 2 GB
MAX_HTML_BYTES = 20 * 1024 * 1024
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024  # zip bombs: refuse before python-docx inflates it
MAX_DOCX_MEMBERS = 5000

# content type (main part, lower case) -> media
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "txt",
    "text/markdown": "txt",
    "text/x-markdown": "txt",
    "application/msword": "doc",
    "application/vnd.ms-works": "wps",
    "application/kswps": "wps",
    "application/wps-office.wps": "wps",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xls",
}
EXTENSIONS = {
    "html": "html",
    "htm": "html",
    "shtml": "html",
    "jsp": "html",
    "aspx": "html",
    "asp": "html",
    "php": "html",
    "pdf": "pdf",
    "docx": "docx",
    "txt": "txt",
    "md": "txt",
    "markdown": "txt",
    "doc": "doc",
    "wps": "wps",
    "xls": "xls",
    "xlsx": "xls",
    "et": "xls",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # DOC, XLS, WPS and old PPT share this container
HTML_SNIFF = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)", re.I | re.S
)
NOT_READ_YET = {"doc", "wps", "xls", "other"}
PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－]\s*\d+\s*[-—–－]|第\s*\d+\s*页(?:\s*[,，/共]\s*共?\s*\d+\s*页)?|"
    r"\d+\s*/\s*\d+)\s*$"
)
HEADING_START = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+[.、．])"
)
SENTENCE_CLOSE = "。！？；：:;!?”」"
WRAP_TOLERANCE = 6  # points; justified lines end within this of the margin


class ParseError(Exception):
    """A document that cannot be read (corrupt, truncated, or over a size limit)."""


def _extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    # Hanweb download URLs carry the file name in the query (downfile.jsp?filename=x.pdf)
    query = urlsplit(url).query.lower()
    m = re.search(r"\.([a-z0-9]{2,5})$", path) or re.search(r"\.([a-z0-9]{2,5})(?:&|$)", query)
    return m.group(1) if m else ""


def sniff_media(body: bytes, url: str, content_type: str | None) -> str:
    """html | pdf | docx | txt | doc | wps | xls | other, bytes first."""
    head = body[:2048]
    ext = EXTENSIONS.get(_extension(url))
    if head.lstrip()[:5] == b"%PDF-" or body[:1024].find(b"%PDF-") != -1:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        except zipfile.BadZipFile:
            return ext if ext in ("docx", "xls") else "other"
        if "word/document.xml" in names:
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xls"
        return "other"
    if head.startswith(OLE_MAGIC):
        return ext if ext in ("doc", "wps", "xls") else "doc"
    declared = CONTENT_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if HTML_SNIFF.match(head):
        return "html"
    if declared in ("html", "txt"):
        return declared
    if declared in ("docx", "pdf"):
        return declared  # declared but not matching the magic bytes: parsed, and fails loudly
    if declared:
        return declared
    if ext:
        return ext
    return "other"


# --- HTML ---------------------------------------------------------------------------------------


def _read_html(body: bytes, url: str, content_type: str | None) -> Document:
    text = clean.decode_html(body, content_type)
    page = clean.clean_html(text, url)
    return Document(
        url=url,
        media="html",
        text=page.text,
        tables=page.tables,
        title=page.title,
        published_raw=page.published_raw,
        published_from=page.published_from,
    )


def _read_txt(body: bytes, url: str, content_type: str | None) -> Document:
    # a capture holding the report on one long line gets its template's lines back first
    decoded = break_run_on(clean.decode_html(body, content_type))
    page = clean.clean_text(decoded)
    return Document(
        url=url,
        media="txt",
        text=page.text,
        tables=text_tables(decoded),  # before cleaning: tabs and runs of spaces part cells
        title=page.title,
        published_raw=page.published_raw,
        published_from=page.published_from,
    )


# --- PDF ----------------------------------------------------------------------------------------


def _join_wrapped(lines: list[tuple[float, float, str]]) -> list[str]:
    """Re-join the lines a PDF wrapped at the right margin: one paragraph a line.

    A line continues the previous one when the previous reached the right margin (the most
    common right edge of long lines) without closing punctuation and this one starts at the
    left margin (paragraph starts are indented, titles centred, table rows narrower)."""
    long_lines = [(round(x0), round(x1)) for x0, x1, text in lines if len(text) > 10]
    if not long_lines:
        return [text for _, _, text in lines if text.strip()]
    right = Counter(x1 for _, x1 in long_lines).most_common(1)[0][0]
    left = Counter(x0 for x0, _ in long_lines).most_common(1)[0][0]
    out: list[str] = []
    wrapped = False
    for x0, x1, text in lines:
        text = text.strip()
        if not text or PAGE_NUMBER.match(text):
            continue
        if wrapped and out and x0 <= left + WRAP_TOLERANCE and not HEADING_START.match(text):
            out[-1] += text
        else:
            out.append(text)
        wrapped = x1 >= right - WRAP_TOLERANCE and not text.endswith(tuple(SENTENCE_CLOSE))
    return out


def _read_pdf(body: bytes, url: str) -> Document:
    import pdfplumber

    paragraphs: list[str] = []
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        if len(pdf.pages) > MAX_PDF_PAGES:
            raise ParseError(f"PDF has {len(pdf.pages)} pages (limit {MAX_PDF_PAGES})")
        lines = [
            (ln["x0"], ln["x1"], ln["text"])
            for page in pdf.pages
            for ln in page.extract_text_lines()
        ]
        paragraphs = _join_wrapped(lines)
        # the same open PDF: its pages' parsed layout serves the tables too
        tables = pdf_tables(pdf)
    text = "\n".join(paragraphs)
    if not text.strip():
        raise ParseError("PDF has no text layer (scanned images?)")
    return Document(url=url, media="pdf", text=text, tables=tables, title=clean.text_title(text))


# --- DOCX ---------------------------------------------------------------------------------------


def _check_zip(body: bytes) -> None:
    try:
        members = zipfile.ZipFile(io.BytesIO(body)).infolist()
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not a valid DOCX (zip) file: {exc}") from exc
    if len(members) > MAX_DOCX_MEMBERS:
        raise ParseError(f"DOCX has {len(members)} parts (limit {MAX_DOCX_MEMBERS})")
    size = sum(m.file_size for m in members)
    if size > MAX_DOCX_UNCOMPRESSED:
        raise ParseError(f"DOCX inflates to {size} bytes (limit {MAX_DOCX_UNCOMPRESSED})")


def _read_docx(body: bytes, url: str) -> Document:
    import docx
    from docx.table import Table as DocxTable

    _check_zip(body)
    document = docx.Document(io.BytesIO(body))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, DocxTable):
            for row in block.rows:
                cells = [unwrap(cell.text) for cell in row.cells]
                if any(cells):
                    lines.append(" | ".join(cells))
        else:
            text = cell_text(block.text)
            if text:
                lines.append(text)
    text, _date = clean.strip_chrome("\n".join(lines))
    tables: list[Table] = docx_tables(body)
    return Document(url=url, media="docx", text=text, tables=tables, title=clean.text_title(text))


# --- entry point --------------------------------------------------------------------------------


def read_document(body: bytes, url: str, content_type: str | None) -> Document:
    """Readable text, tables, title and attachments of one body; failures are recorded on the
    returned Document (parse_status 'error'), never raised."""
    media = sniff_media(body, url, content_type)
    if media in NOT_READ_YET:
        return Document(url=url, media=media, text="", parse_status="not_parsed_yet")
    if len(body) > MAX_BODY_BYTES:
        return _failed(url, media, f"body of {len(body)} bytes (limit {MAX_BODY_BYTES})")
    if media in ("html", "txt") and len(body) > MAX_HTML_BYTES:
        return _failed(url, media, f"{media} of {len(body)} bytes (limit {MAX_HTML_BYTES})")
    try:
        if media == "html":
            return _read_html(body, url, content_type)
        if media == "txt":
            return _read_txt(body, url, content_type)
        if media == "pdf":
            return _read_pdf(body, url)
        return _read_docx(body, url)
    except ParseError as exc:
        return _failed(url, media, str(exc))
    except Exception as exc:  # noqa: BLE001 - pdfminer/python-docx raise anything on bad files
        return _failed(url, media, f"{type(exc).__name__}: {exc}")


def _failed(url: str, media: str, message: str) -> Document:
    log.warning("cannot read %s (%s): %s", url, media, message)
    return Document(url=url, media=media, text="", parse_status="error", parse_error=message[:500])
