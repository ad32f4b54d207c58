"""Canned-query pages for readers: parameters as Chinese choices instead of bare SQL names.

Choices submit the English code (the API's value); the queries also accept the Chinese wording
(level=县, reason=过程性信息), and a value typed in the URL that is not a choice stays selected.
"""

from __future__ import annotations

from typing import Any

from datasette.utils import derive_named_parameters

from postprocess.publish import labels

ALL = ("", "全部")
REASON_KEYS = [k for k in labels.REQUEST_ROWS if k.startswith(("denied_", "unable_", "rejected_"))]
STATIC: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "level": ("层级", [ALL, *labels.LEVELS.items()]),
    "reason": (
        "理由",
        [("", "属于四类过程性信息（默认）")]
        + [(k, " ".join(labels.REQUEST_ROWS[k][1:])) for k in REASON_KEYS],
    ),
    "rule": ("校验规则", [ALL, *labels.CHECKS.items()]),
    "status": ("缺失原因", [ALL, *labels.MISSING_STATUS.items()]),
    "kind": (
        "文件类型",
        [
            ("", "年度报告"),
            ("all", "全部文件"),
            ("work_summary", "工作总结"),
            ("other", "其他文件"),
        ],
    ),
}
TEXT = {
    "agency": ("机关（名称的一部分）", "洪泽"),
    "q": ("关键词", "过程性信息"),
}
DYNAMIC = {
    "year": ("年度", "select distinct year from reports where year is not null order by year desc"),
    "province": (
        "省份",
        "select distinct province from reports where province is not null order by province",
    ),
}


async def param_fields(
    datasette: Any, database: str, query_name: str, args: Any
) -> list[dict] | None:
    """The form fields of a canned query, or None when it is not a canned query."""
    canned = await datasette.get_canned_query(database, query_name, None)
    if not canned:
        return None
    db = datasette.get_database(database)
    fields = []
    for name in dict.fromkeys(await derive_named_parameters(db, canned["sql"])):
        current = args.get(name) or ""
        field: dict = {"name": name, "value": current, "choices": None, "label": name}
        if name in STATIC:
            field["label"], choices = STATIC[name][0], list(STATIC[name][1])
            field["choices"] = choices
        elif name in DYNAMIC:
            field["label"], sql = DYNAMIC[name]
            rows = (await db.execute(sql)).rows
            field["choices"] = [ALL] + [(str(r[0]), str(r[0])) for r in rows]
        elif name in TEXT:
            field["label"], field["placeholder"] = TEXT[name]
        else:
            field["label"] = labels.column(name)
        if field["choices"] and current not in {v for v, _ in field["choices"]}:
            field["choices"].append((current, current))
        fields.append(field)
    return fields
