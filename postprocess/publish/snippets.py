"""Search highlighting for the web server, kept off the event loop.

The snippet itself (storage.search.snippet) is bounded: it looks at a fixed window around the first
hits, whatever the length of the text or the number of hits. What is left here is where that work
runs: every snippet and every re-encoding of a JSON page runs in a worker thread, so one reader's
search never holds up the requests of others.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from markupsafe import Markup

from postprocess.storage import search

ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


def marked(value: str) -> Markup:
    """Escape a snippet and restore only the <mark> tags search.snippet() put in."""
    safe = str(escape(value))
    return Markup(safe.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


def marked_snippet(text: str, query: str) -> Markup:
    """The highlighted, escaped excerpt of text for query."""
    return marked(search.snippet(text, query))


async def marked_snippet_async(text: str, query: str) -> Markup:
    """marked_snippet() in a worker thread."""
    return await asyncio.to_thread(marked_snippet, text, query)


def add_snippets(data: Any, query: str) -> Any:
    """Add snippets to a Datasette table JSON payload of any _shape (rows need the text column)."""
    if isinstance(data, dict) and isinstance(data.get("rows"), list) and "columns" in data:
        cols = data["columns"]
        if "text" in cols:
            i = cols.index("text")
            for row in data["rows"]:
                if isinstance(row, list):
                    row.append(search.snippet(row[i], query))
                elif isinstance(row, dict):
                    row["snippet"] = search.snippet(row.get("text"), query)
            data["columns"] = [*cols, "snippet"]
        return data
    rows = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
    for row in rows:
        if isinstance(row, dict) and "text" in row:
            row["snippet"] = search.snippet(row["text"], query)
    return data


def rewrite_json(body: bytes, query: str, order: str | None = None) -> bytes:
    """A JSON body with snippets added (decode, add, encode: all of it off the event loop); with
    `order` (search.ORDER_NEWEST), an object payload also says how its rows are ordered."""
    data = add_snippets(json.loads(body), query)
    if order and isinstance(data, dict) and "rows" in data:
        data["search_order"] = order
        data["search_rank_max"] = search.RANK_MAX
    return json.dumps(data, ensure_ascii=False).encode()


async def json_with_snippets(
    app: ASGIApp, scope: dict, receive: Any, send: ASGISend, query: str, order: str | None = None
) -> None:
    """Run the table JSON view and add a highlighted `snippet` beside each row's text; `order`
    (search.ORDER_NEWEST: too many matches to rank) goes into the payload and a header."""
    start: dict = {}
    chunks: list[bytes] = []

    async def capture(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await _send_rewritten(send, start, b"".join(chunks), query, order)

    await app(scope, receive, capture)


async def _send_rewritten(
    send: ASGISend, start: dict, body: bytes, query: str, order: str | None
) -> None:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    content_type = dict(start.get("headers", [])).get(b"content-type", b"")
    if start.get("status") == 200 and content_type.startswith(b"application/json"):
        body = await asyncio.to_thread(rewrite_json, body, query, order)
    headers.append((b"content-length", str(len(body)).encode()))
    if order:
        headers.append((b"x-nianbao-search-order", order.encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
