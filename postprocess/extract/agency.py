"""One agency, one identity: division code + normalised name (利通区 = 吴忠市利通区人民政府).

Reports name their agency in many ways (with or without the city, 人民政府 or not); what a page
prints may also be junk (a caption such as 图解:《酒泉市). The identity is the source's division
code plus the name with its parent divisions stripped and a government's name completed with
人民政府; the display name is the source's own name when they are the same body.
"""

from __future__ import annotations

import re

# ends like an administrative body or a government
AGENCY_END = re.compile(
    r"(人民政府|政府|办公室|委员会|局|厅|委|办|署|院|中心|会|所|队|站|处|部|行|"
    r"[省市区县旗州盟镇乡]|街道)$"
)
DIVISION_END = re.compile(r"[省市区县旗州盟镇乡]$|街道$")
DEPARTMENT_WORD = re.compile(r"(局|厅|委|办|署|院|中心|会|所|队|站|处|部|行)")
# captions, headlines and quotes are not names
JUNK = re.compile(r"[《》:：“”\"「」|/、，,。!！?？]|图解|解读|一图|读懂|答记者问")
MAX_NAME = 40


def is_agency_name(name: str | None) -> bool:
    """Whether a string reads as the name of an administrative body."""
    name = (name or "").strip()
    return (
        bool(name)
        and len(name) <= MAX_NAME
        and not JUNK.search(name)
        and bool(AGENCY_END.search(name))
    )


def _strip_parents(name: str, parents: list[str]) -> str:
    changed = True
    while changed:
        changed = False
        for parent in parents:
            rest = name[len(parent) :] if parent and name.startswith(parent) else ""
            # 淮安市人民政府 is the city's own government: keep its name whole
            if rest and not rest.startswith(("人民政府", "政府")):
                name = rest
                changed = True
    return name


def short_name(name: str, province: str | None, city: str | None) -> str:
    """The name without its parent divisions, a government completed with 人民政府."""
    name = re.sub(r"\s+", "", name)
    name = _strip_parents(name, [p for p in (province, city) if p])
    if name.endswith("人民政府"):
        return name
    if name.endswith("政府"):
        return name[: -len("政府")] + "人民政府"
    if DIVISION_END.search(name) and not DEPARTMENT_WORD.search(name):
        return name + "人民政府"
    return name


def agency_identity(name: str | None, source: dict) -> dict[str, str | None]:
    """{agency_id, agency_name} of a report given its printed agency and its source row."""
    province, city = source.get("province"), source.get("city")
    code = source.get("division_code") or ""
    source_name = source.get("agency")
    chosen = name if is_agency_name(name) else source_name
    if not chosen:
        return {"agency_id": None, "agency_name": None}
    short = short_name(chosen, province, city)
    display = chosen
    if source_name and short_name(source_name, province, city) == short:
        display = source_name
    elif city and source.get("level") in ("county", "township") and not chosen.startswith(city):
        display = city + short
    return {"agency_id": f"{code}:{short}" if code else short, "agency_name": display}
