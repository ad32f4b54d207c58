"""The archived original: the exact captured bytes out of the WARC, and a safe view of a page.

- /-/nianbao/original/DB/CAPTURE_ID          the bytes as captured, as a download, with the
  content type as served and the sha256 the crawler recorded (checked before sending);
- /-/nianbao/original/DB/CAPTURE_ID?inline=1 an archived HTML page for the viewer frame: served
  under `Content-Security-Policy: sandbox` (no scripts, no same-origin, nothing fetched), with a
  <base> pointing at the original URL so every link leads to the original site, in a new tab;
- /-/nianbao/view/DB/CAPTURE_ID              our page: what this capture is, and the archived page
  in a sandboxed iframe.

The WARC files live under the data directory: plugin config `data_dir` (metadata.yml
plugins.nianbao.data_dir, set by `nianbao serve --data-dir`), else $NIANBAO_DATA_DIR, else `data/`
beside the database file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import urllib.parse
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

from datasette.utils.asgi import Response

from postprocess.storage import warc

log = logging.getLogger(__name__)

ENV_DATA_DIR = "NIANBAO_DATA_DIR"
# No scripts, no plugins, no network: the archived page may only show itself and open links in a
# new tab outside the sandbox.
VIEW_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)
DOWNLOAD_CSP = "sandbox; default-src 'none'"
HEAD_TAG = re.compile(rb"<head\b[^>]*>", re.IGNORECASE)
META_CHARSET = re.compile(rb"<meta[^>]+charset[^>]*>", re.IGNORECASE)
HTML_TYPES = ("text/html", "application/xhtml+xml")
EXTENSIONS = {
    "text/html": ".html",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "text/plain": ".txt",
}


def data_dir(datasette: Any, database: str) -> Path:
    config = datasette.plugin_config("nianbao") or {}
    if config.get("data_dir"):
        return Path(config["data_dir"])
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR])
    db_path = datasette.get_database(database).path
    return Path(db_path).resolve().parent / "data" if db_path else Path("data")


def filename_for(url: str, capture_id: int, content_type: str) -> str:
    """A safe download name: the URL's last path part (or the capture id) with an extension."""
    name = PurePosixPath(urllib.parse.urlsplit(url or "").path).name
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url or "").query)
    for key in ("filename", "file", "name"):
        # download scripts (downfile.jsp?filename=x.pdf) name the real file in the query
        if query.get(key) and Path(query[key][0]).suffix:
            name = PurePosixPath(query[key][0]).name
            break
    # ASCII only: the header is latin-1 (a Chinese file name becomes underscores, the id stays)
    name = re.sub(r"[^A-Za-z0-9.\-]+", "_", name).strip("._") or f"capture-{capture_id}"
    mime = content_type.split(";")[0].strip().lower()
    same = {".htm": ".html", ".jpeg": ".jpg"}
    suffix = Path(name).suffix.lower()
    if mime in EXTENSIONS and same.get(suffix, suffix) != EXTENSIONS[mime]:
        name += EXTENSIONS[mime]  # the saved file opens as what it is (.jsp -> .jsp.html)
    return f"nianbao-{capture_id}-{name}"


def with_base(body: bytes, url: str) -> bytes:
    """The page with a <base> to its original URL (links open the original, in a new tab) and
    a note marking them; inserted after the charset declaration so decoding is unchanged."""
    base = (
        f'<base href="{escape(url, quote=True)}" target="_blank">'
        '<style>a[href]::after{content:" \\2197";font-size:80%;color:#a40}</style>'
    ).encode("ascii", "xmlcharrefreplace")
    m = META_CHARSET.search(body, 0, 2048) or HEAD_TAG.search(body, 0, 4096)
    if m:
        return body[: m.end()] + base + body[m.end() :]
    return base + body


async def _capture(datasette, database: str, capture_id: str) -> dict | None:
    if database not in datasette.databases or not capture_id.isdigit():
        return None
    rows = (
        await datasette.get_database(database).execute(
            "select id, url, fetched_at, status, content_type, sha256, size, warc_file, "
            "warc_offset, warc_record_id, role from captures where id = ?",
            [int(capture_id)],
        )
    ).rows
    return dict(rows[0]) if rows else None


def _error(status: int, message: str) -> Response:
    return Response.text(message + "\n", status=status)


async def original_route(datasette: Any, request: Any) -> Any:
    database, capture_id = request.url_vars["database"], request.url_vars["capture_id"]
    cap = await _capture(datasette, database, capture_id)
    if cap is None:
        return _error(404, f"no capture {capture_id} in {database}")
    if not cap.get("warc_file") or cap.get("warc_offset") is None:
        return _error(404, f"capture {capture_id} has no WARC record")
    root = data_dir(datasette, database)
    try:
        record = warc.read_record(root, cap["warc_file"], int(cap["warc_offset"]))
    except (OSError, ValueError) as e:
        log.error("capture %s: cannot read %s: %s", capture_id, cap["warc_file"], e)
        return _error(404, f"capture {capture_id}: WARC file {cap['warc_file']} not readable here")
    body = record.body
    digest = hashlib.sha256(body).hexdigest()
    if cap.get("sha256") and digest != cap["sha256"]:
        log.error(
            "capture %s: sha256 %s does not match recorded %s", capture_id, digest, cap["sha256"]
        )
        return _error(500, f"capture {capture_id}: archived bytes do not match the recorded sha256")
    content_type = (
        record.headers.get("content-type")
        or cap.get("content_type")
        or ("application/octet-stream")
    )
    is_html = content_type.split(";")[0].strip().lower() in HTML_TYPES
    inline = request.args.get("inline") == "1" and is_html
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Nianbao-Sha256": digest,
        "X-Nianbao-Original-Url": urllib.parse.quote(cap["url"] or "", safe=":/?&=%#"),
        "Cache-Control": "public, max-age=86400, immutable",
    }
    if inline:
        headers["Content-Security-Policy"] = VIEW_CSP
        # framed by our own view page only (the server denies framing elsewhere)
        headers["X-Frame-Options"] = "SAMEORIGIN"
        headers["Content-Disposition"] = "inline"
        body = with_base(body, cap["url"])
    else:
        headers["Content-Security-Policy"] = DOWNLOAD_CSP
        name = filename_for(cap["url"], cap["id"], content_type)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, status=200, headers=headers, content_type=content_type)


async def view_route(datasette: Any, request: Any) -> Any:
    database, capture_id = request.url_vars["database"], request.url_vars["capture_id"]
    cap = await _capture(datasette, database, capture_id)
    if cap is None:
        return _error(404, f"no capture {capture_id} in {database}")
    rows = (
        await datasette.get_database(database).execute(
            "select id, title from reports where capture_id = ? or document_capture_id = ? "
            "order by id limit 1",
            [cap["id"], cap["id"]],
        )
    ).rows
    mime = (cap.get("content_type") or "").split(";")[0].strip().lower()
    html = await datasette.render_template(
        "nianbao_view.html",
        {
            "database": database,
            "capture": cap,
            "is_html": mime in HTML_TYPES,
            "report": dict(rows[0]) if rows else None,
            "raw_url": datasette.urls.path(f"/-/nianbao/original/{database}/{cap['id']}"),
        },
        request=request,
    )
    return Response.html(html)


async def capture_links(datasette: Any, database: str, capture_id: str) -> dict | None:
    """Links of a capture's row page to its archived bytes (and safe view for a page)."""
    cap = await _capture(datasette, database, capture_id)
    if cap is None or not cap.get("warc_file"):
        return None
    mime = (cap.get("content_type") or "").split(";")[0].strip().lower()
    base = f"/-/nianbao/original/{database}/{cap['id']}"
    return {
        "download_url": datasette.urls.path(base),
        "view_url": datasette.urls.path(f"/-/nianbao/view/{database}/{cap['id']}")
        if mime in HTML_TYPES
        else None,
        "content_type": cap.get("content_type"),
        "size": cap.get("size"),
    }


ROUTES = [
    (r"^/-/nianbao/original/(?P<database>[^/]+)/(?P<capture_id>[0-9]+)$", original_route),
    (r"^/-/nianbao/view/(?P<database>[^/]+)/(?P<capture_id>[0-9]+)$", view_route),
]
