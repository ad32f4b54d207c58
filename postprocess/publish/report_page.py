"""The report page: one archived report as a reader sees it (header, text, tables, figures, checks).

Pure builders (tables from cells, check sentences, paragraphs with hits marked) plus one async
function that gathers a report's rows for the row template `row.html`.
"""

from __future__ import annotations

import re
import urllib.parse
from html import escape
from typing import Any

from markupsafe import Markup

from postprocess.publish import labels
from postprocess.storage import search

# a line of a table the cleaner kept in the text: cells separated by |
TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$|\s\|\s")


def num(value: Any) -> str:
    """A stored figure as printed: 15.0 -> 15, 396.25 -> 396.25, None -> —."""
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(f)) if f.is_integer() else f"{f:g}"


# --- tables -------------------------------------------------------------------------------


def header_rows(paths: list[tuple[str, ...]]) -> list[list[dict]]:
    """Header rows for columns given by label paths (outermost first); equal neighbouring
    prefixes merge into one cell (colspan), a short path reaches down (rowspan)."""
    depth = max((len(p) for p in paths), default=0)
    rows: list[list[dict]] = []
    for level in range(depth):
        row: list[dict] = []
        i = 0
        while i < len(paths):
            p = paths[i]
            if len(p) <= level:
                i += 1
                continue
            j = i + 1
            if level < len(p) - 1:
                while (
                    j < len(paths)
                    and len(paths[j]) > level + 1
                    and paths[j][: level + 1] == p[: level + 1]
                ):
                    j += 1
            last = level == len(p) - 1
            row.append(
                {"text": p[level], "colspan": j - i, "rowspan": depth - level if last else 1}
            )
            i = j
        rows.append(row)
    return rows


def label_cells(paths: list[tuple[str, ...]]) -> list[list[dict]]:
    """Row-label cells for rows given by label paths; shared prefixes merge down (rowspan), the
    last label fills the remaining label columns (colspan)."""
    depth = max((len(p) for p in paths), default=0)
    open_: dict[int, tuple[tuple[str, ...], dict]] = {}
    out: list[list[dict]] = []
    for p in paths:
        cells: list[dict] = []
        for level, text in enumerate(p):
            last = level == len(p) - 1
            prefix = p[: level + 1]
            if not last and level in open_ and open_[level][0] == prefix:
                open_[level][1]["rowspan"] += 1
                continue
            cell = {"text": text, "rowspan": 1, "colspan": depth - level if last else 1}
            cells.append(cell)
            for deeper in [k for k in open_ if k >= level]:
                del open_[deeper]
            if not last:
                open_[level] = (prefix, cell)
        out.append(cells)
    return out


def _cell_view(cell: dict | None, cell_url) -> dict | None:
    if cell is None:
        return None
    title = (
        f"原文 {cell.get('raw')!s} · {cell.get('row_label') or ''} × {cell.get('col_label') or ''}"
    )
    return {
        "id": cell["id"],
        "key": (cell["section"], cell["row_key"], cell["col_key"]),
        "text": num(cell.get("value")),
        "href": cell_url(cell["id"]),
        "title": title,
        "raw": cell.get("raw"),
    }


def build_tables(cells: list[dict], fmt: str | None, cell_url: Any) -> list[dict]:
    """The three template tables drawn like the official form, from a report's cells.

    Each table: {section, title, header: [[th]], rows: [[cell]]} where a cell is a label
    ({text, rowspan, colspan}) or a number ({text, href, title}). Unrecognised cells are listed
    apart under `unknown`.
    """
    known = [c for c in cells if c.get("known", 1)]
    by = {(c["section"], c["row_key"], c["col_key"]): c for c in known}
    tables = []

    # 二、主动公开: one block per set of columns, each with its own header row, as printed
    rows_pro = [r for r in labels.PROACTIVE_ROWS if any(k[0:2] == ("proactive", r) for k in by)]
    extra = sorted({k[1] for k in by if k[0] == "proactive"} - set(labels.PROACTIVE_ROWS))
    row_names = labels.PROACTIVE_ROWS_2021 if fmt == "2021" else labels.PROACTIVE_ROWS
    if rows_pro or extra:
        blocks: list[tuple[tuple[str, ...], list[str]]] = []
        for r in rows_pro + extra:
            cols = tuple(
                c
                for c in list(labels.PROACTIVE_COLS)
                + sorted({k[2] for k in by if k[:2] == ("proactive", r)})
                if ("proactive", r, c) in by
            )
            cols = tuple(dict.fromkeys(cols))
            if blocks and blocks[-1][0] == cols:
                blocks[-1][1].append(r)
            else:
                blocks.append((cols, [r]))
        width = max(len(cols) for cols, _ in blocks)
        body: list[list[dict]] = []
        for cols, rs in blocks:
            head = [{"text": "信息内容", "header": True}]
            head += [{"text": labels.PROACTIVE_COLS.get(c, c), "header": True} for c in cols]
            if len(cols) < width:
                head[-1]["colspan"] = width - len(cols) + 1
            body.append(head)
            for r in rs:
                line: list[dict] = [{"text": row_names.get(r, r), "label": True}]
                for c in cols:
                    line.append(_cell_view(by[("proactive", r, c)], cell_url) or {"text": ""})
                if len(cols) < width:
                    line[-1]["colspan"] = width - len(cols) + 1
                body.append(line)
        tables.append(
            {
                "section": "proactive",
                "title": labels.SECTIONS["proactive"],
                "header": [],
                "rows": body,
            }
        )

    # 三、申请: rows by label path, applicant columns under 申请人情况 / 法人或其他组织
    req_rows = [r for r in labels.REQUEST_ROWS if any(k[:2] == ("requests", r) for k in by)]
    if req_rows:
        cols = [
            c for c in labels.APPLICANT_COLS if any(k[0] == "requests" and k[2] == c for k in by)
        ]
        col_paths = [
            ("申请人情况", labels.LEGAL_PERSONS, labels.APPLICANT_COLS[c])
            if c in labels.LEGAL_PERSON_COLS
            else ("申请人情况", labels.APPLICANT_COLS[c])
            for c in cols
        ]
        row_paths = [labels.REQUEST_ROWS[r] for r in req_rows]
        depth = max(len(p) for p in row_paths)
        head = header_rows(col_paths)
        head[0].insert(0, {"text": "", "colspan": depth, "rowspan": len(head)})
        body = []
        for r, label_row in zip(req_rows, label_cells(row_paths), strict=True):
            line = [{**lc, "label": True} for lc in label_row]
            line += [_cell_view(by.get(("requests", r, c)), cell_url) or {"text": ""} for c in cols]
            body.append(line)
        tables.append(
            {
                "section": "requests",
                "title": labels.SECTIONS["requests"],
                "header": head,
                "rows": body,
            }
        )

    # 四、复议诉讼: one row of numbers under 行政复议 / 行政诉讼 · 未经复议直接起诉 / 复议后起诉
    app_cols = [
        (r, c) for r in labels.APPEAL_ROWS for c in labels.APPEAL_COLS if ("appeals", r, c) in by
    ]
    if app_cols:
        paths = [labels.APPEAL_ROWS[r] + (labels.APPEAL_COLS[c],) for r, c in app_cols]
        tables.append(
            {
                "section": "appeals",
                "title": labels.SECTIONS["appeals"],
                "header": header_rows(paths),
                "rows": [[_cell_view(by[("appeals", r, c)], cell_url) for r, c in app_cols]],
            }
        )
    unknown = [c for c in cells if not c.get("known", 1)]
    if unknown:
        tables.append(
            {
                "section": "unknown",
                "title": "未识别的单元格（待核对）",
                "header": [[{"text": "行（原文）"}, {"text": "列（原文）"}, {"text": "数值"}]],
                "rows": [
                    [
                        {"text": c.get("row_label") or c["row_key"], "label": True},
                        {"text": c.get("col_label") or c["col_key"], "label": True},
                        _cell_view(c, cell_url),
                    ]
                    for c in unknown
                ],
            }
        )
    return tables


# --- checks as sentences ------------------------------------------------------------------

ITEM = re.compile(r"^\s*(?P<key>[\w:]+):\s*(?P<rest>.+?)\s*$")
PAIR = re.compile(r"^(?P<a>-?[\d.]+)\s*vs\s*(?P<b>-?[\d.]+)$")
SUMS = re.compile(r"^(?P<a>-?[\d.]+)\+(?P<b>-?[\d.]+)\s*vs\s*(?P<c>-?[\d.]+)\+(?P<d>-?[\d.]+)$")
LE = re.compile(r"^(?P<a>-?[\d.]+)\s*<=\s*(?P<b>-?[\d.]+)$")
ROWS_ADD_UP = re.compile(r"(\d+) rows add up")
PERIOD = re.compile(r"title year (?P<y>\d+), statistics period (?P<a>[\d-]+)\.\.(?P<b>[\d-]+)")
DEADLINE = re.compile(r"published (?P<p>[\d-]+), deadline (?P<d>[\d-]+) \((?P<basis>[^)]*)\)")


BASES = {
    "2008 条例: 31 March": "2008年条例第三十一条：次年3月31日前",
    "2019 条例, government": "2019年条例第五十条：政府次年3月31日前",
    "2019 条例, department": "2019年条例第四十九条：部门次年1月31日前",
    "2019 条例, level unknown: 31 March": "2019年条例，层级不详，按次年3月31日",
}


def basis_zh(basis: str) -> str:
    """The legal basis of a deadline (checks.py wording) in Chinese."""
    return BASES.get(basis.strip(), basis)


def _f(s: str) -> float:
    return float(s)


def check_lines(rule: str, detail: str | None) -> list[dict]:
    """Each comparison of a check's detail as a Chinese sentence, with the cells it involves as
    (section, [row_keys], [col_keys]) for a link; unparsed details are kept as they are."""
    out: list[dict] = []
    for item in (detail or "").split(";"):
        m = ITEM.match(item)
        text, where = None, None
        if m and rule == "requests_balance" and (s := SUMS.match(m["rest"])):
            col = labels.APPLICANT_COLS.get(m["key"], m["key"])
            a, b, c, d = (_f(s[k]) for k in "abcd")
            text = (
                f"{col}：一、新收 {num(a)} ＋ 二、上年结转 {num(b)} ＝ {num(a + b)}；"
                f"（七）总计 {num(c)} ＋ 四、结转下年度 {num(d)} ＝ {num(c + d)}"
            )
            where = (
                "requests",
                ["new", "carried_over", "total_handled", "carried_forward"],
                [m["key"]],
            )
        elif m and rule == "requests_total_column" and (s := PAIR.match(m["rest"])):
            row = labels.row_label("requests", m["key"])
            text = f"{row}：总计列填写 {num(_f(s['b']))}，各类申请人相加为 {num(_f(s['a']))}"
            where = ("requests", [m["key"]], [])
        elif m and rule == "requests_handled_sum" and (s := PAIR.match(m["rest"])):
            col = labels.APPLICANT_COLS.get(m["key"], m["key"])
            text = (
                f"（七）总计（{col}）填写 {num(_f(s['b']))}，各项办理结果相加为 {num(_f(s['a']))}"
            )
            where = ("requests", [], [m["key"]])
        elif m and rule == "appeals_totals" and (s := PAIR.match(m["rest"])):
            group = labels.row_label("appeals", m["key"])
            text = (
                f"{group}：总计填写 {num(_f(s['b']))}，"
                f"维持＋纠正＋其他＋尚未审结相加为 {num(_f(s['a']))}"
            )
            where = ("appeals", [m["key"]], [])
        elif m and rule == "proactive_new_within_total" and (s := LE.match(m["rest"])):
            row = labels.PROACTIVE_ROWS.get(m["key"], m["key"])
            text = f"{row}：本年新公开数量 {num(_f(s['a']))}，对外公开总数量 {num(_f(s['b']))}"
            where = ("proactive", [m["key"]], ["new_published", "total_published"])
        elif rule == "published_on_time" and (s := DEADLINE.search(item)):
            text = f"发布日期 {s['p']}，法定期限 {s['d']}（{basis_zh(s['basis'])}）"
        elif s := ROWS_ADD_UP.fullmatch(item.strip()):
            text = f"全部 {s[1]} 行：总计列等于各类申请人之和"
        elif s := PERIOD.search(item):
            text = f"标题年度 {s['y']}，正文统计期限 {s['a']} 至 {s['b']}"
        if text is None and item.strip():
            text = item.strip()
        if text:
            out.append({"text": text, "where": where})
    return out


def in_failed_check(key: tuple[str, str, str], failing: list) -> bool:
    """Whether a cell is one a failed check compares: the rows it names (every column unless
    it names some), or, naming only columns of section 三, the printed （七）总计."""
    section, row, col = key
    for where_section, rows, cols in failing:
        if section != where_section or (cols and col not in cols):
            continue
        if row in rows or (not rows and row == "total_handled"):
            return True
    return False


def cells_link(base: str, report_id: int, where: Any) -> str | None:
    """URL of the cells table filtered to the cells a check sentence involves."""
    if not where:
        return None
    section, rows, cols = where
    args = [("report_id", str(report_id)), ("section", section)]
    if rows:
        args.append(("row_key__in", ",".join(rows)))
    if cols:
        args.append(("col_key__in", ",".join(cols)))
    return base + "?" + urllib.parse.urlencode(args)


# --- text ---------------------------------------------------------------------------------

MAX_MARKS = 500  # hits marked per paragraph


def query_terms(query: str | None) -> list[str]:
    """The words of a search to mark in the text (operators and exclusions dropped)."""
    return search.hit_terms(query)


def highlight(text: str, terms: list[str], max_marks: int = MAX_MARKS) -> Markup:
    """text escaped, occurrences of a term wrapped in <mark> (linear: one pass of one regex,
    longest term first; at most max_marks per text, so a hostile text cannot stall the page)."""
    if not terms:
        return Markup(escape(text))
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)))
    out, cursor = [], 0
    for n, m in enumerate(pattern.finditer(search.fold_aligned(text))):
        if n >= max_marks:
            break
        out.append(escape(text[cursor : m.start()]))
        out.append(f"<mark>{escape(text[m.start() : m.end()])}</mark>")
        cursor = m.end()
    out.append(escape(text[cursor:]))
    return Markup("".join(out))


def text_blocks(text: str | None, query: str | None = None) -> list[dict]:
    """The clean text as paragraphs; runs of table lines become one `table` block (the tables
    themselves are drawn from cells). Hits of `query` are marked."""
    terms = query_terms(query)
    blocks: list[dict] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        kind = "table" if TABLE_LINE.search(line) else "p"
        html = highlight(line, terms)
        if kind == "table" and blocks and blocks[-1]["kind"] == "table":
            blocks[-1]["lines"].append(html)
            blocks[-1]["hits"] = blocks[-1]["hits"] or "<mark>" in html
        else:
            blocks.append({"kind": kind, "lines": [html], "hits": "<mark>" in html})
    return blocks


# --- gathering ----------------------------------------------------------------------------


def on_time(checks: list[dict], published: str | None) -> dict:
    """Whether the report met its deadline, from the published_on_time check."""
    for c in checks:
        if c["rule"] == "published_on_time":
            m = DEADLINE.search(c.get("detail") or "")
            return {
                "state": "on_time" if c["ok"] else "late",
                "label": "按期发布" if c["ok"] else "逾期发布",
                "deadline": m["d"] if m else None,
                "basis": basis_zh(m["basis"]) if m else None,
            }
    if not published:
        return {"state": "unknown", "label": "未注明发布日期", "deadline": None, "basis": None}
    return {"state": "unknown", "label": "无法判断是否按期", "deadline": None, "basis": None}


async def report_context(
    datasette: Any, database: str, report_id: str, query: str | None
) -> dict | None:
    db = datasette.get_database(database)
    rows = (await db.execute("select * from reports where id = ?", [report_id])).rows
    if not rows:
        return None
    report = dict(rows[0])
    rid = report["id"]

    async def fetch(sql: str, params) -> list[dict]:
        return [dict(r) for r in (await db.execute(sql, params)).rows]

    captures = await fetch(
        "select id, url, fetched_at, status, content_type, sha256, size, warc_file, "
        "warc_record_id, role from captures where id in (?, ?)",
        [report.get("capture_id"), report.get("document_capture_id")],
    )
    by_id = {c["id"]: c for c in captures}
    cells = await fetch(
        "select id, section, row_key, col_key, value, raw, unit, row_label, col_label, known "
        "from cells where report_id = ? order by id",
        [rid],
    )
    stats = await fetch(
        "select id, key, value, raw, approx, origin, cell_id, evidence from stats "
        "where report_id = ? order by id",
        [rid],
    )
    checks = await fetch(
        "select id, rule, ok, detail from checks where report_id = ? order by ok, id", [rid]
    )
    attachments = await fetch(
        "select a.id, a.url, a.media, a.parse_status, a.parse_error, a.capture_id, c.sha256, "
        "c.size from attachments a left join captures c on c.id = a.capture_id "
        "where a.report_id = ? order by a.id",
        [rid],
    )
    others = await fetch(
        "select id, url, year, title, kind, published from reports where url is not :url and "
        "(agency_id = :aid or (:aid is null and (source_id = :source or "
        "(:source is null and agency = :agency)))) order by year, id",
        {
            "url": report.get("url"),
            "aid": report.get("agency_id"),
            "source": report.get("source_id"),
            "agency": report.get("agency"),
        },
    )
    latest = {o["url"]: o["id"] for o in others}  # one entry per page: its latest version
    others = [o for o in others if latest[o["url"]] == o["id"]]
    urls = datasette.urls
    versions = await page_versions(fetch, report, attachments)

    def cell_url(cell_id) -> str:
        return urls.row(database, "cells", str(cell_id))

    cells_base = urls.table(database, "cells")
    figure_rows = []
    for s in stats:
        label, unit = labels.STATS.get(s["key"], (s["key"], ""))
        if s.get("cell_id"):
            href = cell_url(s["cell_id"])
        elif s.get("origin") == "cell" and s.get("evidence"):
            refs = [e.strip().split(".") for e in s["evidence"].split("+")]
            refs = [r for r in refs if len(r) == 3]
            href = cells_link(
                cells_base,
                rid,
                (refs[0][0], sorted({r[1] for r in refs}), sorted({r[2] for r in refs}))
                if refs
                else None,
            )
        else:
            href = urls.row(database, "stats", str(s["id"]))
        figure_rows.append(
            {
                "key": s["key"],
                "label": label,
                "unit": unit,
                "value": ("约" if s.get("approx") else "") + num(s["value"]),
                "href": href,
                "evidence": s.get("evidence") if s.get("origin") == "sentence" else s.get("raw"),
                "origin": "表格" if s.get("origin") == "cell" else "正文",
            }
        )
    check_rows = []
    failing: list[tuple[str, list[str], list[str]]] = []
    for c in checks:
        lines = check_lines(c["rule"], c.get("detail"))
        for line in lines:
            where = line.pop("where")
            line["href"] = cells_link(cells_base, rid, where)
            if where and not c["ok"]:
                failing.append(where)
        check_rows.append(
            {
                "rule": c["rule"],
                "label": labels.CHECKS.get(c["rule"], c["rule"]),
                "ok": bool(c["ok"]),
                "lines": lines,
                "href": urls.row(database, "checks", str(c["id"])),
            }
        )
    tables = build_tables(cells, report.get("format"), cell_url)
    terms = query_terms(query)
    for table in tables:
        for row in table["rows"]:
            for cell in row:
                if (
                    cell
                    and cell.get("label")
                    and any(t in search.fold(cell["text"]) for t in terms)
                ):
                    cell["hit"] = True  # a searched reason or row: marked in the drawn table
                if cell and cell.get("key") and in_failed_check(cell["key"], failing):
                    cell["failed"] = True
    doc_id = report.get("document_capture_id")
    return {
        "report": report,
        "kind_label": labels.KINDS.get(report.get("kind") or "", report.get("kind")),
        "format_label": labels.FORMATS.get(report.get("format") or "", report.get("format")),
        "level_label": labels.LEVELS.get(report.get("level") or "", report.get("level")),
        "timeliness": on_time(checks, report.get("published")),
        "page_capture": by_id.get(report.get("capture_id")),
        "document_capture": by_id.get(doc_id) if doc_id != report.get("capture_id") else None,
        "attachments": attachments,
        "tables": tables,
        "cell_count": len(cells),
        "figures": figure_rows,
        "checks": check_rows,
        "failed": sum(1 for c in check_rows if not c["ok"]),
        "blocks": text_blocks(report.get("text"), query),
        "query": query or "",
        "hits": query_terms(query),
        "other_years": others,
        "versions": versions,
    }


async def page_versions(fetch: Any, report: dict, attachments: list[dict]) -> dict | None:
    """What changed about this report since it was first archived: the other archived versions
    of its page (with the summary figures that differ from the previous one), whether the page
    was deleted, and attachments replaced behind it. None when nothing changed."""
    pages = await fetch(
        "select id, fetched_at from reports where source_id is :source and url = :url order by id",
        {"source": report.get("source_id"), "url": report.get("url")},
    )
    ids = [p["id"] for p in pages]
    at = ids.index(report["id"]) if report["id"] in ids else 0
    previous = pages[at - 1] if at > 0 else None
    changes: list[dict] = []
    if previous:
        rows = await fetch(
            "select report_id, key, max(value) as value from stats where report_id in (?, ?) "
            "group by report_id, key",
            [previous["id"], report["id"]],
        )
        before = {r["key"]: r["value"] for r in rows if r["report_id"] == previous["id"]}
        now = {r["key"]: r["value"] for r in rows if r["report_id"] == report["id"]}
        for key in sorted(before.keys() | now.keys()):
            if before.get(key) != now.get(key):
                label, unit = labels.STATS.get(key, (key, ""))
                changes.append(
                    {
                        "key": key,
                        "label": label,
                        "unit": unit,
                        "before": num(before.get(key)),
                        "now": num(now.get(key)),
                    }
                )
    last = await fetch(
        "select status, fetched_at from captures where url = ? and role = 'report' "
        "order by id desc limit 1",
        [report.get("url")],
    )
    deleted = last[0] if last and last[0]["status"] in (404, 410) else None
    files = []
    for a in attachments:
        copies = await fetch(
            "select min(id) as id, min(fetched_at) as fetched_at, sha256, size from captures "
            "where url = ? and status = 200 and not coalesce(blocked, 0) group by sha256 "
            "order by min(id)",
            [a["url"]],
        )
        if len(copies) > 1:
            for c in copies:
                c["used"] = c["sha256"] == a.get("sha256")
            files.append({"url": a["url"], "copies": copies})
    if len(pages) < 2 and not deleted and not files:
        return None
    return {
        "number": at + 1,
        "count": len(pages),
        "this": pages[at] if pages else None,
        "previous": previous,
        "next": pages[at + 1] if at + 1 < len(pages) else None,
        "changes": changes,
        "deleted": deleted,
        "files": files,
    }


async def template_vars(datasette: Any, database: str, pk: str, request: Any) -> dict:
    """Variables of the reports row template: the page and the links to the archived original."""
    page = await report_context(datasette, database, pk, request.args.get("q"))
    if page is None:
        return {}
    out: dict = {"nianbao_page": page}
    if page["report"].get("agency_id"):
        path = "/-/nianbao/agency/{}/{}".format(
            database, urllib.parse.quote(page["report"]["agency_id"], safe="")
        )
        out["nianbao_agency_url"] = datasette.urls.path(path)
    cap, doc = page["page_capture"], page["document_capture"]
    if cap:
        raw = datasette.urls.path(f"/-/nianbao/original/{database}/{cap['id']}")
        out["nianbao_download_url"] = raw
        if (cap.get("content_type") or "").lower().startswith(("text/html", "application/xhtml")):
            out["nianbao_view_url"] = datasette.urls.path(f"/-/nianbao/view/{database}/{cap['id']}")
    if doc:
        out["nianbao_document_url"] = datasette.urls.path(
            f"/-/nianbao/original/{database}/{doc['id']}"
        )
    return out
