"""`nianbao extract PATH_OR_URL [--json]`: the extraction of one document, printed."""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path

from postprocess.extract.figures import extract_figures

# media types by file extension, for local files
EXTENSION_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".shtml": "text/html",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FETCH_TIMEOUT = 30
USER_AGENT = "nianbao (archive of government information-disclosure annual reports)"


def load_target(target: str) -> tuple[bytes, str, str]:
    """(body, url, content type) of a local path or an http(s) URL; OSError when unreadable."""
    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(target, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                return response.read(), response.geturl(), response.headers.get("Content-Type", "")
        except urllib.error.URLError as exc:
            raise OSError(f"cannot fetch {target}: {exc}") from exc
    if "://" in target:
        raise ValueError(f"unsupported URL scheme in {target!r} (use http, https or a path)")
    path = Path(target)
    if not path.is_file():
        raise OSError(f"no such file: {target}")
    suffix = path.suffix.lower()
    ctype = EXTENSION_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
    if ctype is None:
        raise ValueError(
            f"unsupported file type {suffix or '(none)'} for {target}: "
            "expected .html, .txt, .md, .pdf or .docx"
        )
    return path.read_bytes(), path.resolve().as_uri(), ctype


# Share of U+FFFD and control characters above which decoded "text" is binary junk.
JUNK_SHARE = 0.05


def junk_reason(text: str) -> str | None:
    """Why a document's text is not text at all (empty, or binary bytes), else None."""
    if not text.strip():
        return "no readable text in it"
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f"))
    if bad > JUNK_SHARE * len(text):
        return f"not text: {bad} of {len(text)} characters are undecodable or control characters"
    return None


def found_nothing(result: dict) -> bool:
    """No title, year, table cell or figure: not a report."""
    return not (result["title"] or result["year"] or result["cells"] or result["stats"])


def extract(target: str) -> dict:
    """Everything extracted from one document, as a JSON-ready dict."""
    body, url, ctype = load_target(target)
    from postprocess.extract.documents import read_document
    from postprocess.extract.metadata import read_metadata

    doc = read_document(body, url, ctype)
    if doc.parse_status == "error":
        raise ValueError(f"cannot read {target}: {doc.parse_error}")
    if doc.parse_status != "ok":
        raise ValueError(f"cannot read {target}: {doc.media} documents are not read yet")
    problem = junk_reason(doc.text)
    if problem:
        raise ValueError(f"cannot read {target}: {problem}")
    meta = read_metadata(doc)
    figures = extract_figures(doc, meta, None)
    return {
        "url": url,
        "title": meta.title,
        "agency": meta.agency,
        "year": meta.year,
        "published": meta.published,
        "published_source": meta.published_source,
        "kind": meta.kind,
        "format": figures.format,
        "cells": [
            {
                k: v
                for k, v in asdict(c).items()
                if k in ("section", "row_key", "col_key", "value", "raw", "unit", "known", "method")
            }
            for c in figures.cells
        ],
        "stats": {s.key: s.value for s in figures.stats},
        "stat_sources": [asdict(s) for s in figures.stats],
        "checks": [{"rule": c.rule, "ok": c.ok, "detail": c.detail} for c in figures.checks],
    }


def render_text(result: dict) -> str:
    """A short human-readable report of one extraction."""
    lines = [
        f"title:     {result['title']}",
        f"agency:    {result['agency']}",
        f"year:      {result['year']}   published: {result['published']}",
        f"kind:      {result['kind']}   format: {result['format']}",
        f"cells:     {len(result['cells'])}"
        f" ({sum(1 for c in result['cells'] if not c['known'])} unknown; read by "
        + ", ".join(
            f"{m} {sum(1 for c in result['cells'] if c['method'] == m)}"
            for m in sorted({c["method"] for c in result["cells"]})
        )
        + ")",
        "stats:",
    ]
    for stat in result["stat_sources"]:
        approx = " (approx.)" if stat["approx"] else ""
        lines.append(
            f"  {stat['key']:<26} {stat['value']:g}{approx}  [{stat['origin']}: "
            f"{stat['evidence'][:60]}]"
        )
    lines.append("checks:")
    for check in result["checks"]:
        lines.append(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['rule']}: {check['detail']}")
    return "\n".join(lines)


def run_extract(target: str, as_json: bool = False) -> str:
    """What `nianbao extract` prints."""
    result = extract(target)
    if as_json:
        return json.dumps(result, ensure_ascii=False, indent=2)
    return render_text(result)


def run_extract_checked(target: str, as_json: bool = False) -> tuple[str, bool]:
    """What `nianbao extract` prints, and whether it found anything of a report at all."""
    result = extract(target)
    output = json.dumps(result, ensure_ascii=False, indent=2) if as_json else render_text(result)
    return output, not found_nothing(result)
