"""Consistency checks (勾稽关系, formats.md) a transparency evaluator applies to one report.

One Check per rule and report; `detail` names the numbers involved, and for a failure
each row or column that does not add up.
"""

from __future__ import annotations

import re
from datetime import date

from postprocess.extract.model import Cell, Check, ReportMeta
from postprocess.extract.values import normalize

APPLICANT_COLS = [
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
]
RESULT_PREFIXES = ("granted", "partial", "denied_", "unable_", "rejected_", "other")
APPEAL_PARTS = ["upheld", "corrected", "other", "pending"]
# Every rule name a check can carry (tests/test_docs.py: the code emits and metadata.yml
# documents exactly these).
RULES = (
    "requests_balance",
    "requests_total_column",
    "requests_handled_sum",
    "appeals_totals",
    "proactive_new_within_total",
    "published_on_time",
    "title_year_matches_period",
    "cell_conflict",
    "cells_split_ambiguous",
)
# deadlines (month, day) in the year after the one covered
DEADLINES = {"department": (1, 31), "government": (3, 31)}
OLD_DEADLINE = (3, 31)  # 2008 条例: every body by 31 March
# 统计期限自2019年1月1日起至12月31日止 / 2019年1月1日至2019年12月31日
PERIOD = re.compile(
    r"(?:统计|期限|时限|期间|数据)[^。]{0,20}?自?(\d{4})年1月1日(?:起)?至(?:(\d{4})年)?12月31日"
)


def _grid(cells: list[Cell], section: str) -> dict[tuple[str, str], float]:
    return {
        (c.row_key, c.col_key): c.value
        for c in cells
        if c.section == section and c.known and c.value is not None
    }


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _rule(rule: str, problems: list[str], checked: list[str]) -> Check | None:
    if not checked:
        return None
    if problems:
        return Check(rule, False, "; ".join(problems))
    return Check(rule, True, "; ".join(checked))


def check_balance(cells: list[Cell]) -> Check | None:
    """一 + 二 = （七）总计 + 四, per applicant column and for 总计."""
    g = _grid(cells, "requests")
    problems: list[str] = []
    checked: list[str] = []
    for col in APPLICANT_COLS + ["total"]:
        keys = [
            ("new", col),
            ("carried_over", col),
            ("total_handled", col),
            ("carried_forward", col),
        ]
        if not all(k in g for k in keys):
            continue
        a, b, c, d = (g[k] for k in keys)
        line = f"{col}: {_fmt(a)}+{_fmt(b)} vs {_fmt(c)}+{_fmt(d)}"
        (checked if a + b == c + d else problems).append(line)
    return _rule("requests_balance", problems, checked)


def check_total_column(cells: list[Cell]) -> Check | None:
    """The 总计 column equals the sum of the six applicant columns, on every row."""
    g = _grid(cells, "requests")
    rows = dict.fromkeys(r for r, _ in g)
    problems: list[str] = []
    checked: list[str] = []
    for row in rows:
        if (row, "total") not in g or not all((row, c) in g for c in APPLICANT_COLS):
            continue
        parts = sum(g[(row, c)] for c in APPLICANT_COLS)
        line = f"{row}: {_fmt(parts)} vs {_fmt(g[(row, 'total')])}"
        (checked if parts == g[(row, "total")] else problems).append(line)
    if checked and not problems:
        checked = [f"{len(checked)} rows add up"]
    return _rule("requests_total_column", problems, checked)


def check_handled_sum(cells: list[Cell]) -> Check | None:
    """（七）总计 equals the sum of the result rows (sub-rows, not group labels)."""
    g = _grid(cells, "requests")
    problems: list[str] = []
    checked: list[str] = []
    cols = [c for c in APPLICANT_COLS + ["total"] if ("total_handled", c) in g]
    for col in cols:
        rows = [r for (r, c) in g if c == col and r.startswith(RESULT_PREFIXES)]
        if "other" in rows:
            rows = [r for r in rows if not r.startswith("other_")]
        if not rows:
            continue
        parts = sum(g[(r, col)] for r in rows)
        line = f"{col}: {_fmt(parts)} vs {_fmt(g[('total_handled', col)])}"
        (checked if parts == g[("total_handled", col)] else problems).append(line)
    return _rule("requests_handled_sum", problems, checked)


def check_appeal_totals(cells: list[Cell]) -> Check | None:
    """行政复议 and each 行政诉讼 group: 总计 = 维持 + 纠正 + 其他 + 尚未审结."""
    g = _grid(cells, "appeals")
    problems: list[str] = []
    checked: list[str] = []
    for group in ("review", "litigation_direct", "litigation_after_review"):
        if (group, "total") not in g or not all((group, p) in g for p in APPEAL_PARTS):
            continue
        parts = sum(g[(group, p)] for p in APPEAL_PARTS)
        line = f"{group}: {_fmt(parts)} vs {_fmt(g[(group, 'total')])}"
        (checked if parts == g[(group, "total")] else problems).append(line)
    return _rule("appeals_totals", problems, checked)


def check_proactive_2019(cells: list[Cell], fmt: str) -> Check | None:
    """2019 format: 本年新公开数量 ≤ 对外公开总数量."""
    if fmt != "2019":
        return None
    g = _grid(cells, "proactive")
    problems: list[str] = []
    checked: list[str] = []
    for row in ("regulations", "normative_documents"):
        if (row, "new_published") in g and (row, "total_published") in g:
            a, b = g[(row, "new_published")], g[(row, "total_published")]
            line = f"{row}: {_fmt(a)} <= {_fmt(b)}"
            (checked if a <= b else problems).append(line)
    return _rule("proactive_new_within_total", problems, checked)


GOVERNMENT_LEVELS = ("province", "city", "county", "township", "government")
# an agency named like this is a department even when found on a government's portal
DEPARTMENT_NAME = re.compile(r"(局|委员会|厅|委|署|中心|办)$")
GOVERNMENT_NAME = re.compile(r"(人民政府|政府)$|[省市区县旗镇乡]$")


def body_level(level: str | None, agency: str | None) -> str | None:
    """'department' or 'government' from the source level and the agency's name."""
    name = (agency or "").strip()
    if level == "department" or (
        name and DEPARTMENT_NAME.search(name) and not GOVERNMENT_NAME.search(name)
    ):
        return "department"
    if level in GOVERNMENT_LEVELS or (name and GOVERNMENT_NAME.search(name)):
        return "government"
    return None


def deadline_for(year: int, level: str | None) -> tuple[date, str]:
    """The legal publication deadline for a report covering `year`."""
    if year < 2019:
        return date(year + 1, *OLD_DEADLINE), "2008 条例: 31 March"
    if level in DEADLINES:
        return date(year + 1, *DEADLINES[level]), f"2019 条例, {level}"
    return date(year + 1, *DEADLINES["government"]), "2019 条例, level unknown: 31 March"


def check_deadline(meta: ReportMeta, level: str | None) -> Check | None:
    """Published by the legal deadline for the body's level."""
    if meta.year is None or not meta.published:
        return None
    try:
        published = date.fromisoformat(meta.published[:10])
    except ValueError:
        return None
    deadline, basis = deadline_for(meta.year, body_level(level, meta.agency))
    return Check(
        "published_on_time",
        published <= deadline,
        f"published {published.isoformat()}, deadline {deadline.isoformat()} ({basis})",
    )


def check_period(text: str, meta: ReportMeta) -> Check | None:
    """The year of the title equals the statistics period stated in the text."""
    if meta.year is None:
        return None
    m = PERIOD.search(normalize(text))
    if not m:
        return None
    start, end = int(m.group(1)), int(m.group(2) or m.group(1))
    ok = start == end == meta.year
    return Check(
        "title_year_matches_period",
        ok,
        f"title year {meta.year}, statistics period {start}-01-01..{end}-12-31",
    )


def run_checks(
    cells: list[Cell], fmt: str, text: str, meta: ReportMeta, level: str | None
) -> list[Check]:
    """Every rule that applies to this report (a rule without its numbers is skipped)."""
    found = [
        check_balance(cells),
        check_total_column(cells),
        check_handled_sum(cells),
        check_appeal_totals(cells),
        check_proactive_2019(cells, fmt),
        check_deadline(meta, level),
        check_period(text, meta),
    ]
    return [c for c in found if c is not None]
