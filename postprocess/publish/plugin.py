"""Datasette plugin `nianbao`: Chinese search, failed-check facet, report pages, SVG charts.

- escape_fts() is replaced on every connection by postprocess.storage.search.fts_query, so
  Datasette's own
  `?_search=` (search box and JSON API) matches Chinese terms exactly through the n-gram index.
- a search of the reports table without an explicit sort is served ranked by the view
  report_search (best match first, same filters and facets): the HTML page redirects there, JSON and
  CSV are answered in place; `.json?_search=` responses gain a `snippet` per row. A search matching
  more than search.RANK_MAX reports is served newest first instead, without the default facets
  (each would count every match again: seconds at 100,000 reports), and says so (page notice,
  JSON `search_order`, header `x-nianbao-search-order`).
- report text and `snippet` columns render escaped; only our <mark> tags are restored.
- facet `failed_check` + filter `?_failed_check=RULE` over the checks table.
- row pages of the views cells and stats (publish/view_rows.py: Datasette has none for views);
- report row pages are the report page (publish/report_page.py); the archived original is served
  by publish/original.py; agency pages by publish/agency.py; Atom feeds by publish/feed.py.
- pages speak Chinese first (publish/labels.py): column, facet and coded-value labels, check
  details as sentences, canned-query parameters as choices (publish/queries.py); the data and
  the API keep the English keys. An empty `_search=` is no search.
- canned queries named under plugins.nianbao.charts in metadata.yml get an inline SVG chart,
  also served at /-/nianbao/chart/DATABASE/QUERY.svg (no JavaScript, works offline).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import urllib.parse
from contextvars import ContextVar
from html import escape
from pathlib import Path

from datasette import hookimpl
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args
from datasette.utils.asgi import Response
from markupsafe import Markup

from postprocess.publish import (
    agency,
    feed,
    labels,
    original,
    queries,
    report_page,
    view_rows,
)
from postprocess.publish.snippets import json_with_snippets, marked, marked_snippet_async
from postprocess.storage import search

TEMPLATES = Path(__file__).with_name("templates")
REPORTS = "reports"
SEARCH_VIEW = search.SEARCH_VIEW
SEARCHABLE = frozenset({REPORTS, SEARCH_VIEW})
# /DB/reports or /DB/reports.FORMAT
REPORTS_PATH = re.compile(rf"^/(?P<database>[^/]+)/{REPORTS}(?:\.(?P<format>\w+))?$")
SEARCH_PATH = re.compile(rf"^/(?P<database>[^/]+)/{SEARCH_VIEW}(?:\.(?P<format>\w+))?$")
FAILED_CHECK_ARG = "_failed_check"
TEXT_PREVIEW = 160  # characters of report text shown per row in table views
LINK_COLUMNS = frozenset({"url", "document_url", "example_url", "atom_link", "source_url"})
CODED_COLUMNS = frozenset(labels.VALUES) | {"row_key", "col_key"}
SERIES_COLORS = ["#2f6db5", "#d9534f", "#5cb85c", "#f0ad4e", "#8e6cc0", "#3bb3c3", "#999999"]

# The query string of the request being served, for render_cell (which gets no request in 0.65).
_current_args: ContextVar[dict[str, str] | None] = ContextVar("nianbao_args", default=None)
_current_path: ContextVar[str] = ContextVar("nianbao_path", default="")
# search.ORDER_NEWEST when the search being served matches too many reports to rank (see below).
_search_order: ContextVar[str | None] = ContextVar("nianbao_search_order", default=None)


# --- search ---------------------------------------------------------------------------------


@hookimpl(trylast=True)
def prepare_connection(conn):
    # trylast: runs after Datasette's own escape_fts registration, so ours wins.
    conn.create_function("escape_fts", 1, search.fts_query, deterministic=True)
    search.register_functions(conn)
    limit_connection(conn)
    conn.create_function("nianbao_url_year", 1, agency.year_from_url, deterministic=True)


# Whatever a visitor's SQL asks for, no value grows past this (zeroblob, printf('%.*c'),
# randomblob, replace...): SQLite refuses with "string or blob too big" instead of allocating.
SQL_MAX_LENGTH = 64 * 1024 * 1024
NGRAMS_MAX_CHARS = 1_000_000  # nianbao_ngrams() in served SQL (the build indexes in Python)


def bounded_ngrams(text: str | None) -> str:
    """nianbao_ngrams() for served SQL: refuses inputs past NGRAMS_MAX_CHARS."""
    if text is not None and len(text) > NGRAMS_MAX_CHARS:
        raise ValueError(f"nianbao_ngrams: input over {NGRAMS_MAX_CHARS} characters")
    return search.ngram_text(text)


# A printf/format conversion: flags, width, precision (digits or *), type.
PRINTF_SPEC = re.compile(r"%[-+ #0,!]*(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")
_builtin = threading.local()


def _builtin_printf() -> sqlite3.Connection:
    """A connection of this thread where printf is SQLite's own (the served ones have ours)."""
    conn = getattr(_builtin, "conn", None)
    if conn is None:
        conn = _builtin.conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQL_MAX_LENGTH)
    return conn


def _text(value: str | bytes) -> str:
    """A TEXT or BLOB argument as SQLite's printf reads it."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _as_int(value: object) -> int:
    """An argument as SQLite's printf reads a width or precision from it."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return int(value) if abs(value) < 2**63 else SQL_MAX_LENGTH + 1
    if isinstance(value, str | bytes):
        m = re.match(r"\s*([-+]?\d+)", _text(value))
        return int(m[1]) if m else 0
    return 0


def bounded_printf(fmt: object = None, *args: object) -> object:
    """printf()/format() for served SQL: widths and precisions past SQL_MAX_LENGTH are refused.

    SQLite (3.40 here) writes the character of %.Nc N times one append at a time, on past its
    length limit and inside one step, where the time limit cannot stop it: printf('%.*c', 1e9,
    'x') took 6 s. Other formats go to SQLite's own printf unchanged."""
    if isinstance(fmt, str | bytes):
        used = 0  # arguments consumed so far, by * and by conversions
        for m in PRINTF_SPEC.finditer(_text(fmt)):
            for part in (m[1], m[2]):
                if part == "*":
                    size = _as_int(args[used]) if used < len(args) else 0
                    used += 1
                else:
                    size = int(part) if part else 0
                if abs(size) > SQL_MAX_LENGTH:
                    raise ValueError(f"printf: width or precision {size} is over the limit")
            used += m[3] != "%"
    marks = ", ".join("?" * (1 + len(args)))
    return _builtin_printf().execute(f"SELECT printf({marks})", (fmt, *args)).fetchone()[0]


def limit_connection(conn: sqlite3.Connection) -> None:
    """Bound what one SQL statement of a visitor can allocate on this connection."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQL_MAX_LENGTH)
    conn.create_function("nianbao_ngrams", 1, bounded_ngrams, deterministic=True)
    for name in ("printf", "format"):
        conn.create_function(name, -1, bounded_printf, deterministic=True)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def wrapped(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            pairs = urllib.parse.parse_qsl(
                scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True
            )
            if any(k.startswith("_search") and not v.strip() for k, v in pairs):
                # An empty search box means no search, not "match nothing".
                pairs = [
                    (k, v) for k, v in pairs if not (k.startswith("_search") and not v.strip())
                ]
                scope = {**scope, "query_string": urllib.parse.urlencode(pairs).encode()}
            args = dict(pairs)
            path = scope.get("path", "")
            if (row := await view_rows.answer(datasette, path, args)) is not None:
                status, headers, body = row
                await send({"type": "http.response.start", "status": status, "headers": headers})
                return await send({"type": "http.response.body", "body": body})
            _current_args.set(args)
            _current_path.set(path)
            if args.get("_search") and (ranked := await _ranked_target(datasette, path, pairs)):
                new_path, query_string, is_html = ranked
                if is_html:
                    location = urllib.parse.quote(new_path) + "?" + query_string
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 302,
                            "headers": [
                                (b"location", location.encode("utf-8")),
                                (b"content-length", b"0"),
                            ],
                        }
                    )
                    return await send({"type": "http.response.body", "body": b""})
                scope = {
                    **scope,
                    "path": new_path,
                    "raw_path": urllib.parse.quote(new_path).encode(),
                    "query_string": query_string.encode("utf-8"),
                }
                _current_path.set(new_path)
                path = new_path
            _search_order.set(None)
            if args.get("_search") and (m := SEARCH_PATH.match(path)):
                bounded = await _bounded_order(datasette, m.group("database"), pairs_of(scope))
                if bounded is not None:
                    order_pairs, order = bounded
                    if order == search.ORDER_NEWEST:
                        _search_order.set(order)
                    scope = {**scope, "query_string": urllib.parse.urlencode(order_pairs).encode()}
            if args.get("_search") and _is_json(path, args):
                return await json_with_snippets(
                    app, scope, receive, send, args["_search"], _search_order.get()
                )
            return await app(scope, receive, send)

        return wrapped

    return wrap


SORT_ARGS = ("_sort", "_sort_desc", "_sort_by_desc")


def pairs_of(scope: dict) -> list[tuple[str, str]]:
    query_string = scope.get("query_string", b"").decode("utf-8", "replace")
    return urllib.parse.parse_qsl(query_string, keep_blank_values=True)


NO_RANK, NEWEST = ("_nocol", "rank"), ("_sort_desc", "id")
# Our own value, told apart from a reader's _nofacet when the next search is decided again.
NO_FACETS = ("_nofacet", "newest")


def newest_first(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A report_search request's arguments, ordered newest first, without the rank column
    (reading rank would run bm25 over every match, which is what this order avoids) and, unless
    the reader asked for facets, without the default ones: Datasette counts each facet over
    every match, one after another (8 queries of 0.1-0.3 s for a term in all of 100,000
    reports). The count of matches stays."""
    if any(k == "_col" for k, _ in pairs):
        pairs = [(k, v) for k, v in pairs if (k, v) != ("_col", "rank")]
    else:
        pairs = [*pairs, NO_RANK]
    if not any(k in ("_facet", "_nofacet") for k, _ in pairs):
        pairs = [*pairs, NO_FACETS]
    return [*pairs, NEWEST]


async def _bounded_order(
    datasette, database: str, pairs: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], str] | None:
    """(arguments, order) for a report_search request in the order its match count allows:
    ranked (search.ORDER_RELEVANCE) or, past search.RANK_MAX matches, newest first
    (ORDER_NEWEST, arguments rewritten by newest_first). None: the request keeps its own order.

    Decided again for every request that asks for no other order than the view's (rank) or the
    one newest_first gave: the search form and the paging links carry that order on, and the
    next search may be narrow enough to rank."""
    sort = requested_sort(pairs)
    ours = sort == (NEWEST[1], "desc") and NO_RANK in pairs
    if database not in datasette.databases or not (sort in (None, ("rank", "asc")) or ours):
        return None
    pairs = [
        (k, v)
        for k, v in pairs
        if k not in SORT_ARGS and (k, v) != NO_FACETS and (not ours or (k, v) != NO_RANK)
    ]
    args = dict(pairs)
    query = args.get("_search", "")
    match = query if args.get("_searchmode") == "raw" else search.fts_query(query)
    db = datasette.get_database(database)
    try:
        order = await db.execute_fn(lambda conn: search.ranked_order(conn, match))
    except sqlite3.Error:
        return None  # e.g. bad raw FTS5 syntax: the table view reports it
    if order == search.ORDER_NEWEST:
        return newest_first(pairs), order
    return pairs, order


def requested_sort(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The order a table request asks for as (column, 'asc'|'desc'), or None."""
    args = dict(pairs)
    if "_sort_by_desc" in args and args.get("_sort"):  # the filter form's "descending" box
        return args["_sort"], "desc"
    if args.get("_sort_desc"):
        return args["_sort_desc"], "desc"
    if args.get("_sort"):
        return args["_sort"], "asc"
    return None


def ranked_search_target(
    m: re.Match, pairs: list[tuple[str, str]], default_sort: tuple[str, str] | None = None
) -> tuple[str, str, bool] | None:
    """Where a reports-table search (m: REPORTS_PATH match) should be answered ranked:
    (path, query string, is_html).

    Searches that ask for no order, or only for the table's default order (the filter form sends
    it with every search), are ranked; another sort is honoured on the table. The table's paging
    token does not carry over.
    """
    if requested_sort(pairs) not in (None, default_sort):
        return None
    keys = {k for k, _ in pairs}
    pairs = [(k, v) for k, v in pairs if k not in ("_next", *SORT_ARGS)]
    if "_col" in keys:
        # The table always returns its primary key; the view has none, so ask for id.
        if ("_col", "id") not in pairs:
            pairs.insert(0, ("_col", "id"))
    elif ("_nocol", search.MATCH_COLUMN) not in pairs:
        pairs.append(("_nocol", search.MATCH_COLUMN))
    fmt = m.group("format") or dict(pairs).get("_format")
    new_path = f"/{m.group('database')}/{SEARCH_VIEW}" + (
        f".{m.group('format')}" if m.group("format") else ""
    )
    return new_path, urllib.parse.urlencode(pairs), fmt in (None, "html")


async def _ranked_target(
    datasette, path: str, pairs: list[tuple[str, str]]
) -> tuple[str, str, bool] | None:
    m = REPORTS_PATH.match(path)
    if not m or m.group("database") not in datasette.databases:
        return None
    # An archive built before the view existed keeps the unranked table search.
    if SEARCH_VIEW not in await datasette.get_database(m.group("database")).view_names():
        return None
    meta = datasette.table_metadata(m.group("database"), REPORTS)
    default = (
        (meta["sort_desc"], "desc")
        if meta.get("sort_desc")
        else (meta["sort"], "asc")
        if meta.get("sort")
        else None
    )
    return ranked_search_target(m, pairs, default)


def _is_json(path: str, args: dict) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in (f"{REPORTS}.json", f"{SEARCH_VIEW}.json") or (
        name in SEARCHABLE and args.get("_format") == "json"
    )


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if table == SEARCH_VIEW and column == "id" and isinstance(value, int):
        # The view has no row pages; link the report's own page, hits marked there.
        return Markup(f'<a href="{escape(_report_href(datasette, database, value))}">{value}</a>')
    if table == SEARCH_VIEW and column == "rank" and isinstance(value, float):
        return f"{value:.2f}"  # bm25 to two places reads as an order, the JSON keeps all digits
    if (
        table is None
        and isinstance(value, int)
        and (column == "report_id" or (column == "id" and _current_path.get().endswith("/search")))
    ):
        # canned query rows that are reports link to the report page
        href = _report_href(datasette, database, value)
        return Markup(f'<a class="report-link" href="{escape(href)}">{value}</a>')
    if table in view_rows.ID_VIEWS and isinstance(value, int):
        drawn = view_rows.link(datasette, database, table, column, value)
        if drawn is not None:
            return drawn
    if isinstance(value, float) and value.is_integer() and column != "rank":
        return str(int(value))  # counts are stored as REAL: 15.0 reads as 15
    if not isinstance(value, str):
        return None
    if column == "agency_name" and (agency_id := _row_value(row, "agency_id")):
        href = agency.agency_url(datasette, database, agency_id)
        return Markup(f'<a class="agency-link" href="{escape(href)}">{escape(value)}</a>')
    if column == "detail" and (rule := _row_value(row, "rule")):
        # "review: 11 vs 0" -> which number is printed and which is the sum (report_page)
        lines = report_page.check_lines(rule, value)
        text = "；".join(line["text"] for line in lines)
        return Markup(f'<span class="check-detail" title="{escape(value)}">{escape(text)}</span>')
    if column in CODED_COLUMNS and (label := labels.value(column, value)):
        # the code stays in the data and the API; the page shows its Chinese label
        return Markup(f'<span class="coded" title="{escape(value)}">{escape(label)}</span>')
    if column == "snippet":
        return marked(value)
    if column in LINK_COLUMNS and value.startswith(("http://", "https://")):
        return Markup(f'<a href="{escape(value)}" rel="nofollow noopener">{escape(value)}</a>')
    if table in SEARCHABLE and column == "text":
        args = _current_args.get() or {}
        query = args.get("_search")
        if _current_path.get().rstrip("/").endswith((f"/{REPORTS}", f"/{SEARCH_VIEW}")):
            if query:
                # Datasette awaits an awaitable cell: the snippet runs in a worker thread.
                return marked_snippet_async(value, query)
            preview = " ".join(value[:TEXT_PREVIEW].split())
            return preview + ("…" if len(value) > TEXT_PREVIEW else "")
        # Row page: the report page above shows the whole text; the raw row only a preview.
        preview = " ".join(value[:TEXT_PREVIEW].split())
        more = "…（全文见上 see the text above）" if len(value) > TEXT_PREVIEW else ""
        return Markup(f'<div class="raw-text-preview">{escape(preview)}{more}</div>')
    return None


def _row_value(row, key: str):
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


def _report_href(datasette, database: str, report_id: int) -> str:
    """The report page, with the search being served (if any) so its hits are marked."""
    href = datasette.urls.row(database, REPORTS, str(report_id))
    args = _current_args.get() or {}
    query = args.get("_search") or args.get("q")
    return href + ("?" + urllib.parse.urlencode({"q": query}) if query else "")


# --- failed-check facet and filter --------------------------------------------------------


class FailedCheckFacet(Facet):
    """Facet of reports by the consistency rules they fail (checks.ok = 0)."""

    type = "failed_check"

    async def suggest(self):
        return []

    async def facet_results(self):
        if not self.get_configs():
            return [], []
        qs_pairs = self.get_querystring_pairs()
        sql = f"""select c.rule as value, count(distinct c.report_id) as count from checks c
                  where c.ok = 0 and c.report_id in (select id from ({self.sql}))
                  group by c.rule order by count desc, value limit {self.get_facet_size() + 1}"""
        results = await self.ds.execute(self.database, sql, self.params, truncate=False)
        values = []
        for row in results.rows[: self.get_facet_size()]:
            selected = (FAILED_CHECK_ARG, row["value"]) in qs_pairs
            toggle = (
                path_with_removed_args(self.request, {FAILED_CHECK_ARG: row["value"]})
                if selected
                else path_with_added_args(self.request, {FAILED_CHECK_ARG: row["value"]})
            )
            values.append(
                {
                    "value": row["value"],
                    "label": row["value"],
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle)),
                    "selected": selected,
                }
            )
        return [
            {
                "name": "failed_check",
                "type": self.type,
                "hideable": False,
                "toggle_url": self.ds.urls.path(self.request.path),
                "results": values,
                "truncated": len(results.rows) > self.get_facet_size(),
            }
        ], []


@hookimpl
def register_facet_classes():
    return [FailedCheckFacet]


@hookimpl(trylast=True)
def filters_from_request(request, database, table, datasette):
    # trylast: our extra_context is applied after Datasette's search filter, which reports
    # supports_search=False for views.
    if table not in SEARCHABLE:
        return None
    wheres, params, human, context = [], {}, [], {}
    for i, rule in enumerate(request.args.getlist(FAILED_CHECK_ARG)):
        wheres.append(f"id in (select report_id from checks where ok = 0 and rule = :fc{i})")
        params[f"fc{i}"] = rule
        human.append(f'fails check "{rule}"')
    if table == SEARCH_VIEW:
        context["supports_search"] = True
        query = request.args.get("_search")
        if query:
            raw = request.args.get("_searchmode") == "raw"
            # MATCH on the view's match column reaches FTS5 and makes `rank` the bm25 score.
            wheres.append(
                f"[{search.MATCH_COLUMN}] match "
                + (":nianbao_q" if raw else "escape_fts(:nianbao_q)")
            )
            params["nianbao_q"] = query
            human.append(f'search matches "{query}"')
            context["search"] = query
    return FilterArguments(wheres, params, human, context)


# --- report pages and charts ----------------------------------------------------------------


@hookimpl
def startup(datasette):
    # A plain module cannot ship templates through Datasette's plugin discovery; add ours after
    # any --template-dir so a deployment can still override them.
    loader = datasette.jinja_env.loader.loaders[0]
    loader.searchpath.insert(1 if datasette.template_dir else 0, str(TEMPLATES))
    feed.install(datasette)


def chart_config(datasette, query: str) -> dict | None:
    charts = (datasette.plugin_config("nianbao") or {}).get("charts") or {}
    return charts.get(query)


async def chart_svg(datasette, database: str, query: str, args: dict[str, str]) -> str | None:
    config = chart_config(datasette, query)
    canned = await datasette.get_canned_query(database, query, None)
    if not config or not canned:
        return None
    db = datasette.get_database(database)
    from datasette.utils import derive_named_parameters

    names = await derive_named_parameters(db, canned["sql"])
    params = {n: args.get(n, "") for n in names}
    result = await db.execute(canned["sql"], params)
    rows = [dict(r) for r in result.rows]
    return render_chart(config, rows)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        out: dict = {"zh_column": labels.column, "zh_value": labels.value}
        if table == SEARCH_VIEW and _search_order.get() == search.ORDER_NEWEST:
            out["nianbao_newest_first"] = search.RANK_MAX
        if view_name == "row" and table == REPORTS and request is not None:
            pk = request.url_vars.get("pks")
            if pk:
                out.update(await report_page.template_vars(datasette, database, pk, request))
        if view_name == "row" and table == "captures" and request is not None:
            pk = request.url_vars.get("pks")
            if pk:
                out["nianbao_capture"] = await original.capture_links(datasette, database, pk)
        if request is not None and "pks" not in request.url_vars:
            query = request.url_vars.get("table")
            if query:
                args = {k: request.args.get(k) for k in request.args}
                fields = await queries.param_fields(datasette, database, query, args)
                if fields is not None:
                    out["nianbao_params"] = fields
            if query and chart_config(datasette, query):
                args = {k: request.args.get(k) for k in request.args}
                svg = await chart_svg(datasette, database, query, args)
                out["nianbao_chart"] = Markup(svg) if svg else None
                qs = urllib.parse.urlencode(args)
                out["nianbao_chart_url"] = f"/-/nianbao/chart/{database}/{query}.svg" + (
                    f"?{qs}" if qs else ""
                )
        return out

    return inner


@hookimpl
def register_routes():
    return [
        (r"^/-/nianbao/chart/(?P<database>[^/]+)/(?P<query>[A-Za-z0-9_]+)\.svg$", chart_route),
        *original.ROUTES,
        *agency.ROUTES,
    ]


async def chart_route(datasette, request):
    database, query = request.url_vars["database"], request.url_vars["query"]
    svg = await chart_svg(
        datasette, database, query, {k: request.args.get(k) for k in request.args}
    )
    if svg is None:
        return Response.text("no chart for that query", status=404)
    return Response(svg, content_type="image/svg+xml; charset=utf-8")


# --- SVG rendering (pure) -------------------------------------------------------------------


def _num(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2f}"


def render_chart(config: dict, rows: list[dict]) -> str:
    """An SVG chart of query rows: type line | bar (horizontal) | stacked (100% columns)."""
    kind = config.get("type", "bar")
    title = config.get("title", "")
    if not rows:
        return _svg(400, 60, [f'<text x="10" y="35" class="empty">{escape(title)}: no data</text>'])
    if kind == "line":
        return _line_chart(config, rows, title)
    if kind == "stacked":
        return _stacked_chart(config, rows, title)
    return _bar_chart(config, rows, title)


def _svg(width: int, height: int, parts: list[str], label: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="nianbao-chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
        + "".join(parts)
        + "</svg>"
    )


def _legend(names: list[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        parts.append(
            f'<rect x="{x}" y="{y + i * 18}" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 18}" y="{y + i * 18 + 10}">{escape(str(name))}</text>'
        )
    return parts


def _line_chart(config: dict, rows: list[dict], title: str) -> str:
    x_key = config["x"]
    ys = config["y"] if isinstance(config["y"], list) else [config["y"]]
    width, height, left, right, top, bottom = 760, 320, 70, 170, 30, 40
    xs = [str(r.get(x_key)) for r in rows]
    top_value = max([_num(r.get(y)) for r in rows for y in ys] + [1])
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(xs) - 1)
    parts = [f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for k in range(5):
        v = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_fmt(v)}</text>'
        )
    every = max(1, len(xs) // 12)
    for i, x in enumerate(xs):
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(x)}</text>'
            )
    for s, y_key in enumerate(ys):
        color = SERIES_COLORS[s % len(SERIES_COLORS)]
        # A missing value (None) breaks the line: no data is not zero.
        segments: list[list[tuple[float, float, dict]]] = [[]]
        for i, r in enumerate(rows):
            if r.get(y_key) is None:
                segments.append([])
                continue
            y = top + plot_h - plot_h * _num(r.get(y_key)) / top_value
            segments[-1].append((left + i * step, y, r))
        for segment in segments:
            if len(segment) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in segment)
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>'
                )
            for px, py, r in segment:
                parts.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}">'
                    f"<title>{escape(str(r.get(x_key)))}: {_fmt(_num(r.get(y_key)))}</title>"
                    f"</circle>"
                )
    parts += _legend(ys, width - right + 16, top)
    return _svg(width, height, parts, title)


def _bar_chart(config: dict, rows: list[dict], title: str) -> str:
    x_key, y_key = config["x"], config["y"]
    rows = rows[: config.get("limit", 40)]
    bar, gap, left, top = 18, 6, 190, 30
    width = 760
    height = top + len(rows) * (bar + gap) + 20
    top_value = max([_num(r.get(y_key)) for r in rows] + [1])
    plot_w = width - left - 80
    parts = [f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>']
    for i, r in enumerate(rows):
        y = top + i * (bar + gap)
        w = plot_w * _num(r.get(y_key)) / top_value
        label = str(r.get(x_key) if r.get(x_key) is not None else "—")
        parts.append(
            f'<text x="{left - 6}" y="{y + bar - 5}" text-anchor="end">'
            f"{escape(label[:24])}</text>"
            f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar}" '
            f'fill="{SERIES_COLORS[0]}"><title>{escape(label)}: '
            f"{_fmt(_num(r.get(y_key)))}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + bar - 5}">{_fmt(_num(r.get(y_key)))}'
            f"</text>"
        )
    return _svg(width, height, parts, title)


def _stacked_chart(config: dict, rows: list[dict], title: str) -> str:
    x_key, s_key, y_key = config["x"], config["series"], config["y"]
    xs: list[str] = []
    series: list[str] = []
    values: dict[tuple[str, str], float] = {}
    for r in rows:
        x, s = str(r.get(x_key)), str(r.get(s_key))
        if x not in xs:
            xs.append(x)
        if s not in series:
            series.append(s)
        values[(x, s)] = values.get((x, s), 0.0) + _num(r.get(y_key))
    width, height, left, right, top, bottom = 760, 320, 50, 190, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    col_w = plot_w / max(1, len(xs))
    parts = [f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for i, x in enumerate(xs):
        total = sum(values.get((x, s), 0.0) for s in series) or 1.0
        y = top + plot_h
        for k, s in enumerate(series):
            share = values.get((x, s), 0.0) / total
            h = plot_h * share
            y -= h
            parts.append(
                f'<rect x="{left + i * col_w + 2:.1f}" y="{y:.1f}" '
                f'width="{max(1.0, col_w - 4):.1f}" height="{h:.1f}" '
                f'fill="{SERIES_COLORS[k % len(SERIES_COLORS)]}"><title>{escape(x)} '
                f"{escape(s)}: {share:.1%}</title></rect>"
            )
        parts.append(
            f'<text x="{left + i * col_w + col_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{escape(x)}</text>'
        )
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{k * 25}%</text>')
    parts += _legend(series, width - right + 16, top)
    return _svg(width, height, parts, title)
