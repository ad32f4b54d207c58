"""Atom feeds of query results (`.atom` on any query returning atom_id, atom_updated, atom_title).

Replaces datasette-atom's renderer, which fails on an empty result (max() of nothing) and writes
no feed <author> (required by RFC 4287 when entries have none). Entries link to our report page
when the row has a report_id; the page the report was found on is a `related` link.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from datasette.utils.asgi import Response

REQUIRED_COLUMNS = {"atom_id", "atom_updated", "atom_title"}
AUTHOR = "nianbao 年报存档"
ATOM_NS = "http://www.w3.org/2005/Atom"


def can_render(columns: Any) -> bool:
    return REQUIRED_COLUMNS.issubset(columns)


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


async def _archive_updated(datasette, database: str) -> datetime:
    """When the archive last changed: the newest capture (a feed with no entries needs a date)."""
    try:
        row = (
            await datasette.get_database(database).execute("select max(fetched_at) from captures")
        ).rows[0]
        return _timestamp(row[0]) or datetime(1970, 1, 1, tzinfo=UTC)
    except Exception:  # an archive without captures still gets a valid feed
        return datetime(1970, 1, 1, tzinfo=UTC)


async def render_atom(
    datasette: Any,
    request: Any,
    sql: Any,
    columns: Any,
    rows: Any,
    database: Any,
    table: Any,
    query_name: Any,
    data: Any,
) -> Any:
    from datasette.views.base import DatasetteError

    if not can_render(columns):
        raise DatasetteError(
            "the query must return the columns " + ", ".join(sorted(REQUIRED_COLUMNS)), status=400
        )
    feed = ET.Element("feed", xmlns=ATOM_NS)
    title = request.args.get("_feed_title") or ""
    if not title and query_name:
        query = (datasette.metadata(database=database) or {}).get("queries", {}).get(query_name)
        title = (query or {}).get("title", query_name) if isinstance(query, dict) else query_name
    filters = [
        f"{k}={request.args.get(k)}"
        for k in request.args
        if request.args.get(k) and not k.startswith("_")
    ]
    _text(feed, "id", request.url)
    _text(feed, "title", (title or table or "nianbao") + "".join(f" · {f}" for f in filters))
    stamps = [s for s in (_timestamp(r["atom_updated"]) for r in rows) if s]
    archive_updated = await _archive_updated(datasette, database)
    _text(feed, "updated", (max(stamps) if stamps else archive_updated).isoformat())
    author = ET.SubElement(feed, "author")
    _text(author, "name", AUTHOR)
    _text(author, "uri", datasette.absolute_url(request, "/"))
    ET.SubElement(feed, "link", href=request.url, rel="self")
    home = datasette.absolute_url(request, datasette.urls.database(database))
    ET.SubElement(feed, "link", href=home, rel="alternate", type="text/html")
    _text(feed, "generator", "nianbao")
    for row in rows:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", str(row["atom_id"]))
        _text(entry, "title", str(row["atom_title"] or "（无标题）"))
        _text(entry, "updated", (_timestamp(row["atom_updated"]) or archive_updated).isoformat())
        if "report_id" in columns and row["report_id"] is not None:
            page = datasette.urls.row(database, "reports", str(row["report_id"]))
            ET.SubElement(
                entry,
                "link",
                href=datasette.absolute_url(request, page),
                rel="alternate",
                type="text/html",
            )
            if "atom_link" in columns and row["atom_link"]:
                ET.SubElement(entry, "link", href=row["atom_link"], rel="related")
        elif "atom_link" in columns and row["atom_link"]:
            ET.SubElement(entry, "link", href=row["atom_link"], rel="alternate")
        if "atom_content" in columns and row["atom_content"]:
            _text(entry, "content", str(row["atom_content"]), type="text")
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8", status=200)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def install(datasette: Any) -> None:
    """Make `.atom` ours (called at startup, after every plugin registered its renderers)."""
    datasette.renderers["atom"] = (render_atom, can_render)
