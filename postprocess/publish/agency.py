"""Agency pages: every year of one agency side by side, with what happened to each year's report.

- /-/nianbao/agencies/DB                 every agency (reports.agency_id) with its years
- /-/nianbao/agency/DB/AGENCY_ID         one agency: per year figures, a chart, report status
- /-/nianbao/agency/DB/AGENCY_ID.json    the series as JSON (.csv as CSV)

A year without a report is told apart: blocked (the portal refused us), fetch failed, not yet due
when the column was last crawled, not crawled, or missing (column crawled after the deadline and
no report found). Failed fetches carry no year; the year is read from the date in the URL
(t20230328 -> published 2023-03 -> probably the 2022 report) and said to be a guess.
"""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from datetime import date
from typing import Any

from datasette.utils.asgi import Response

from postprocess.publish import labels
from postprocess.publish.report_page import DEADLINE, num

SERIES = [
    "requests_new",
    "requests_carried_over",
    "requests_granted",
    "requests_partial",
    "requests_denied",
    "requests_unable",
    "requests_rejected",
    "requests_other",
    "reviews",
    "lawsuits",
    "fees_yuan",
    "consultations",
    "proactive_total",
]
REASON_PREFIXES = ("denied_", "unable_", "rejected_")
STATUS_LABELS = {
    "on_time": "按期发布",
    "late": "逾期发布",
    "published": "已发布（日期不详）",
    "blocked": "抓取被拦截",
    "fetch_failed": "抓取失败",
    "not_due": "抓取时尚未到期",
    "not_crawled": "未抓取",
    "missing": "未发布（栏目已抓取，已过法定期限）",
}
URL_DATE = re.compile(
    r"(?:t|/|_)(20\d{2})[/-]?(0?[1-9]|1[0-2])[/-]?(?:(\d{1,2})(?=\D)|(?=/))", re.IGNORECASE
)
DEPARTMENT_NAME = re.compile(r"(局|委员会|厅|委|署|中心|办)$")


def year_from_url(url: str | None) -> int | None:
    """The year a report at this URL probably covers, from a publication date in its path."""
    path = urllib.parse.urlsplit(url or "").path
    for m in URL_DATE.finditer(path):
        year, month = int(m.group(1)), int(m.group(2))
        return year - 1 if month <= 9 else None
    return None


def deadline(year: int, department: bool) -> date:
    """formats.md: 31 March of the next year; 31 January for departments from the 2019 report."""
    if year >= 2019 and department:
        return date(year + 1, 1, 31)
    return date(year + 1, 3, 31)


def year_status(
    year: int,
    reports: list[dict],
    failures: list[dict],
    last_crawl: str | None,
    department: bool,
) -> dict:
    """What we know of one year's annual report: status key, label and the detail to show."""
    annual = [r for r in reports if r.get("kind") == "annual_report"]
    if annual:
        r = annual[0]
        m = DEADLINE.search(r.get("deadline_detail") or "")
        if r.get("on_time") is None:
            key = "published"
        else:
            key = "on_time" if r["on_time"] else "late"
        detail = f"发布 {r['published']}" if r.get("published") else ""
        if key == "late" and m:
            late = (date.fromisoformat(m["p"]) - date.fromisoformat(m["d"])).days
            detail += f"，逾期 {late} 天（期限 {m['d']}）"
        return {"key": key, "label": STATUS_LABELS[key], "detail": detail}
    hit = [f for f in failures if f.get("year") == year]
    if hit:
        key = "blocked" if any(f.get("blocked") for f in hit) else "fetch_failed"
        f = hit[0]
        detail = (
            f"{f.get('status') or ''} {f.get('message') or f.get('error') or ''}".strip()
            + "（年度据网址日期推断）"
        )
        return {"key": key, "label": STATUS_LABELS[key], "detail": detail, "url": f.get("url")}
    if not last_crawl:
        return {"key": "not_crawled", "label": STATUS_LABELS["not_crawled"], "detail": ""}
    due = deadline(year, department)
    crawled = date.fromisoformat(last_crawl[:10])
    if crawled <= due:
        return {
            "key": "not_due",
            "label": STATUS_LABELS["not_due"],
            "detail": f"最近抓取 {crawled}，期限 {due}",
        }
    return {"key": "missing", "label": STATUS_LABELS["missing"], "detail": f"最近抓取 {crawled}"}


async def agency_data(datasette: Any, database: str, agency_id: str) -> dict | None:
    db = datasette.get_database(database)

    async def rows(sql: str, params) -> list[dict]:
        return [dict(r) for r in (await db.execute(sql, params)).rows]

    reports = await rows(
        "select r.id, r.title, r.year, r.published, r.kind, r.format, r.source_id, r.agency, "
        "r.agency_name, r.province, r.city, r.level, r.division_code, c.ok as on_time, "
        "c.detail as deadline_detail from reports r left join checks c on c.report_id = r.id "
        "and c.rule = 'published_on_time' where r.agency_id = ? order by r.year, r.id",
        [agency_id],
    )
    if not reports:
        return None
    ids = [r["id"] for r in reports if r["kind"] == "annual_report"]
    marks = ",".join("?" * len(ids)) or "null"
    stats = await rows(
        f"select report_id, key, value, approx from stats where report_id in ({marks})", ids
    )
    reasons = await rows(
        f"select report_id, row_key, value from cells where report_id in ({marks}) "
        "and section = 'requests' and col_key = 'total' and (row_key like 'denied\\_%' escape "
        "'\\' or row_key like 'unable\\_%' escape '\\' or row_key like 'rejected\\_%' escape '\\')",
        ids,
    )
    sources = sorted({r["source_id"] for r in reports if r["source_id"]})
    smarks = ",".join("?" * len(sources)) or "null"
    last_crawl = (
        await db.execute(
            f"select max(fetched_at) from captures where source_id in ({smarks})", sources
        )
    ).rows[0][0]
    failures = await rows(
        f"select url, error, status, message, error = 'blocked' as blocked from fetch_errors "
        f"where source_id in ({smarks}) and role = 'report' "
        f"union select url, 'blocked', status, note, 1 from captures "
        f"where source_id in ({smarks}) and role = 'report' and blocked = 1",
        sources + sources,
    )
    for f in failures:
        f["year"] = year_from_url(f["url"])
    by_report: dict[int, dict] = {}
    for s in stats:
        by_report.setdefault(s["report_id"], {})[s["key"]] = s["value"]
    reason_by_report: dict[int, dict] = {}
    for c in reasons:
        reason_by_report.setdefault(c["report_id"], {})[c["row_key"]] = c["value"]
    first = reports[0]
    department = first.get("level") == "department" or bool(
        DEPARTMENT_NAME.search(first.get("agency_name") or "")
    )
    years_with = [r["year"] for r in reports if r["year"] and r["kind"] == "annual_report"]
    if not years_with:
        years: list[int] = []
    else:
        end = max(years_with)
        if last_crawl:
            end = max(end, int(last_crawl[:4]) - 1)
        years = list(range(min(years_with), end + 1))
    table = []
    for y in years:
        in_year = [r for r in reports if r["year"] == y]
        annual = [r for r in in_year if r["kind"] == "annual_report"]
        figures = by_report.get(annual[0]["id"], {}) if annual else {}
        row_reasons = reason_by_report.get(annual[0]["id"], {}) if annual else {}
        table.append(
            {
                "year": y,
                "status": year_status(y, in_year, failures, last_crawl, department),
                "report_id": annual[0]["id"] if annual else None,
                "title": annual[0]["title"] if annual else None,
                "others": [r for r in in_year if r["kind"] != "annual_report"],
                "figures": {k: figures.get(k) for k in SERIES},
                "reasons": row_reasons,
            }
        )
    reason_keys = [k for k in labels.REQUEST_ROWS if any(t["reasons"].get(k) for t in table)]
    return {
        "agency_id": agency_id,
        "name": first.get("agency_name") or first.get("agency"),
        "spellings": sorted(
            {r["agency"] for r in reports if r["agency"] and r["kind"] == "annual_report"}
        ),
        "province": first.get("province"),
        "city": first.get("city"),
        "level": first.get("level"),
        "level_label": labels.LEVELS.get(first.get("level") or "", first.get("level")),
        "division_code": first.get("division_code"),
        "sources": sources,
        "last_crawl": last_crawl,
        "years": table,
        "series": [k for k in SERIES if any(t["figures"].get(k) is not None for t in table)],
        "reason_keys": reason_keys,
        "undated_failures": [f for f in failures if f["year"] is None],
        "no_year": [r for r in reports if not r["year"]],
    }


def series_rows(data: dict) -> list[dict]:
    """One flat row per year: the downloadable series (English keys, as in the API)."""
    out = []
    for t in data["years"]:
        row = {
            "agency_id": data["agency_id"],
            "agency_name": data["name"],
            "year": t["year"],
            "status": t["status"]["key"],
            "report_id": t["report_id"],
        }
        row.update(t["figures"])
        row.update({k: t["reasons"].get(k) for k in data["reason_keys"]})
        out.append(row)
    return out


def chart(data: dict) -> str:
    from postprocess.publish.plugin import render_chart  # the plugin imports us

    rows = [
        {
            "年度": t["year"],
            "新收申请": t["figures"].get("requests_new"),
            "行政复议": t["figures"].get("reviews"),
            "行政诉讼": t["figures"].get("lawsuits"),
        }
        for t in data["years"]
    ]
    config = {
        "type": "line",
        "x": "年度",
        "y": ["新收申请", "行政复议", "行政诉讼"],
        "title": f"{data['name']}：每年新收申请、行政复议、行政诉讼（件）",
    }
    return render_chart(config, rows)


async def agency_route(datasette: Any, request: Any) -> Any:
    database = request.url_vars["database"]
    agency_id = urllib.parse.unquote(request.url_vars["agency_id"])
    fmt = request.url_vars.get("format")
    if database not in datasette.databases:
        return Response.text("no such database", status=404)
    data = await agency_data(datasette, database, agency_id)
    if data is None:
        return Response.text(f"no agency {agency_id}", status=404)
    if fmt == "json":
        body = {k: v for k, v in data.items() if k != "years"} | {"series": series_rows(data)}
        return Response.json(body, default=str)
    if fmt == "csv":
        rows = series_rows(data)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["year"])
        writer.writeheader()
        writer.writerows(rows)
        return Response(
            buf.getvalue(),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="agency.csv"'},
        )
    base = agency_url(datasette, database, agency_id)
    html = await datasette.render_template(
        "nianbao_agency.html",
        {
            "database": database,
            "a": data,
            "chart": chart(data),
            "json_url": base + ".json",
            "csv_url": base + ".csv",
            "stat_labels": labels.STATS,
            "reason_labels": {k: " ".join(v[1:]) for k, v in labels.REQUEST_ROWS.items()},
            "num": num,
        },
        request=request,
    )
    return Response.html(html)


async def agencies_route(datasette: Any, request: Any) -> Any:
    database = request.url_vars["database"]
    if database not in datasette.databases:
        return Response.text("no such database", status=404)
    rows = [
        dict(r)
        for r in (
            await datasette.get_database(database).execute(
                "select agency_id, agency_name, province, city, level, "
                "count(*) as reports, min(year) as first_year, max(year) as last_year "
                "from reports where agency_id is not null and kind = 'annual_report' "
                "group by agency_id order by province, city, agency_name"
            )
        ).rows
    ]
    for r in rows:
        r["url"] = agency_url(datasette, database, r["agency_id"])
    if request.url_vars.get("format") == "json":
        return Response.json(rows)
    html = await datasette.render_template(
        "nianbao_agencies.html",
        {"database": database, "agencies": rows, "levels": labels.LEVELS},
        request=request,
    )
    return Response.html(html)


def agency_url(datasette: Any, database: str, agency_id: str) -> str:
    return datasette.urls.path(
        f"/-/nianbao/agency/{database}/" + urllib.parse.quote(agency_id, safe="")
    )


ROUTES = [
    (
        r"^/-/nianbao/agency/(?P<database>[^/]+)/(?P<agency_id>[^/]+?)(?:\.(?P<format>json|csv))?$",
        agency_route,
    ),
    (r"^/-/nianbao/agencies/(?P<database>[^/]+?)(?:\.(?P<format>json))?$", agencies_route),
]
