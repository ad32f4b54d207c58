"""Row pages of the views that stand in for tables: `cells` and `stats` (storage/db.py keeps
their rows compact in cell_values and stat_values), and the links a table page would draw.

Datasette 0.65 serves /DB/TABLE/ID for tables only: a view has no primary key, so /archive/stats/7
was "Record not found". These views have an `id` column, unique as their stored table's key;
their row URLs are answered here: the page redirects to the view filtered to that id (one row,
same columns), the JSON has the shape of Datasette's row JSON (`?_shape=objects|array` too).
In their table pages the id links its row page and report_id / cell_id link the report and the
cell, as the foreign keys of a table did.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from typing import Any

from markupsafe import Markup, escape

ID_VIEWS = ("cells", "stats")
ROW_PATH = re.compile(
    rf"^/(?P<database>[^/.]+)/(?P<view>{'|'.join(ID_VIEWS)})/(?P<id>-?\d+)"
    r"(?:\.(?P<format>json))?$"
)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def answer(datasette: Any, path: str, args: dict[str, str]) -> Answer | None:
    """(status, headers, body) for a row URL of an id view; None when path is not one (or names
    a table of that name, in an archive from before the view: Datasette's own row page)."""
    m = ROW_PATH.match(path)
    if m is None or m.group("database") not in datasette.databases:
        return None
    database, view, row_id = m.group("database"), m.group("view"), int(m.group("id"))
    db = datasette.get_database(database)
    if view not in await db.view_names():
        return None
    if m.group("format") != "json":
        location = f"/{urllib.parse.quote(database)}/{view}?id={row_id}"
        return 302, [(b"location", location.encode()), (b"content-length", b"0")], b""
    started = time.perf_counter()
    result = await db.execute(f"select * from [{view}] where id = ?", [row_id])
    columns = [d[0] for d in result.description]
    rows = [list(r) for r in result.rows]
    body: Any
    if not rows:
        status = 404
        body = {"ok": False, "error": "Record not found", "status": 404, "title": None}
    else:
        status = 200
        shape = args.get("_shape")
        objects = [dict(zip(columns, row, strict=True)) for row in rows]
        if shape == "array":
            body = objects
        else:
            body = {
                "database": database,
                "table": view,
                "rows": objects if shape == "objects" else rows,
                "columns": columns,
                "primary_keys": ["id"],
                "primary_key_values": [str(row_id)],
                "units": datasette.table_metadata(database, view).get("units", {}),
                "query_ms": (time.perf_counter() - started) * 1000,
            }
    data = json.dumps(body, default=repr).encode()
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(data)).encode()),
    ]
    return status, headers, data


def link(datasette: Any, database: str, view: str, column: str, value: int) -> Any:
    """The link a table page draws for an id or foreign-key column of an id view: Markup, an
    awaitable of it (a report's title is looked up), or None for other columns."""
    if column == "id":
        href = datasette.urls.row(database, view, str(value))
    elif column == "cell_id" and view == "stats":
        href = datasette.urls.row(database, "cells", str(value))
    elif column == "report_id":
        return _report_link(datasette, database, value)
    else:
        return None
    return Markup(f'<a href="{escape(href)}">{value}</a>')


async def _report_link(datasette: Any, database: str, report_id: int) -> Markup:
    """Like Datasette's foreign-key cell: the report's title (its label column), then the id."""
    href = escape(datasette.urls.row(database, "reports", str(report_id)))
    rows = (
        await datasette.get_database(database).execute(
            "select title from reports where id = ?", [report_id]
        )
    ).rows
    if rows and rows[0][0]:
        return Markup(f'<a href="{href}">{escape(rows[0][0])}</a>&nbsp;<em>{report_id}</em>')
    return Markup(f'<a href="{href}">{report_id}</a>')
