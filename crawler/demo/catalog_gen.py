"""Build crawler/demo/catalog.yml: every report the demo portals serve, with its figures.

Run `python -m crawler.demo.catalog_gen` to rewrite the catalog. The figures of generated reports
come from a seeded random generator (fixed seeds, so the output never changes); the server reads
only the committed catalog and never draws random numbers. Real reports (seeds, PDFs) carry the
figures printed in them.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from pathlib import Path

import yaml

CATALOG = Path(__file__).with_name("catalog.yml")

# One entry per portal column: host, CMS and the agency publishing there.
PORTALS: dict[str, dict] = {
    "yuci": {
        "host": "127.0.0.2",
        "cms": "trs",
        "agency": "榆次区人民政府",
        "short": "榆次区",
        "division_code": "140702",
        "province": "山西省",
        "city": "晋中市",
        "level": "county",
        "area": "全区",
        "encoding": "gbk",
    },
    "hongze": {
        "host": "127.0.0.3",
        "cms": "hanweb",
        "agency": "淮安市洪泽区人民政府",
        "short": "洪泽区",
        "division_code": "320813",
        "province": "江苏省",
        "city": "淮安市",
        "level": "county",
        "area": "全区",
        "encoding": "utf-8",
    },
    "huaian": {
        "host": "127.0.0.3",
        "cms": "hanweb",
        "agency": "淮安市人民政府",
        "short": "淮安市",
        "division_code": "320800",
        "province": "江苏省",
        "city": "淮安市",
        "level": "city",
        "area": "全市",
        "encoding": "utf-8",
    },
    "hulan": {
        "host": "127.0.0.4",
        "cms": "generic",
        "agency": "哈尔滨市呼兰区人民政府",
        "short": "呼兰区",
        "division_code": "230111",
        "province": "黑龙江省",
        "city": "哈尔滨市",
        "level": "county",
        "area": "全区",
        "encoding": "utf-8",
    },
    "litong": {
        "host": "127.0.0.6",
        "cms": "generic",
        "agency": "吴忠市利通区人民政府",
        "short": "利通区",
        "division_code": "640302",
        "province": "宁夏回族自治区",
        "city": "吴忠市",
        "level": "county",
        "area": "全区",
        "encoding": "utf-8",
    },
    "jiuquan": {
        "host": "127.0.0.7",
        "cms": "trs",
        "agency": "酒泉市人民政府",
        "short": "酒泉市",
        "division_code": "620900",
        "province": "甘肃省",
        "city": "酒泉市",
        "level": "city",
        "area": "全市",
        "encoding": "utf-8",
    },
}

APPLICANTS = (
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
    "total",
)
RESULT_ROWS_2019 = (
    "granted",
    "partial",
    "denied_state_secret",
    "denied_prohibited_by_law",
    "denied_three_safety_one_stability",
    "denied_third_party",
    "denied_internal_affairs",
    "denied_process_info",
    "denied_enforcement_file",
    "denied_admin_inquiry",
    "unable_not_held",
    "unable_needs_creation",
    "unable_unclear",
    "rejected_petition",
    "rejected_repeat",
    "rejected_publication",
    "rejected_mass_repeat",
    "rejected_confirm_reissue",
    "other",
)
RESULT_ROWS_2021 = RESULT_ROWS_2019[:-1] + (
    "other_no_correction",
    "other_unpaid_fee",
    "other_other",
)
# relative weight of each result row when handled requests are spread over them
_RESULT_WEIGHTS = {
    "granted": 30,
    "partial": 12,
    "denied_third_party": 3,
    "denied_internal_affairs": 2,
    "denied_process_info": 3,
    "denied_state_secret": 0,
    "unable_not_held": 20,
    "unable_needs_creation": 4,
    "unable_unclear": 3,
    "rejected_petition": 4,
    "rejected_repeat": 3,
    "rejected_publication": 1,
    "rejected_confirm_reissue": 1,
    "other": 2,
    "other_no_correction": 2,
    "other_other": 1,
}
APPEAL_ROWS = ("review", "litigation_direct", "litigation_after_review")

# Deliberate defects of the demo data, so that checks have something to find.
SLIP_REPORT = "jiuquan-2019"  # 行政复议 总计 printed 0 beside parts summing to 2
LATE_REPORT = "jiuquan-2017"  # published 2018-04-16, after the 31 March deadline


def _format_for(year: int) -> str:
    return "narrative" if year < 2019 else ("2019" if year < 2021 else "2021")


def _upload_date(rng: random.Random, year: int) -> date:
    """A publication day in the first quarter after the year covered (deadline 31 March)."""
    start = date(year + 1, 1, 10)
    return start + timedelta(days=rng.randint(0, 79))


# Wordings of generated narrative reports (render.py NARRATIVE_SENTENCES): how they state the
# proactive count (approx: "累计主动公开各类政府信息1690余条"), zero requests and zero fees.
NARRATIVE_PHRASINGS = ("plain", "level", "approx")
# Reports whose tables print zero counts as a dash (fields.md: stored as 0, raw kept).
ZERO_AS_DASH = {"litong-2020": "—"}


def narrative_figures(rng: random.Random, scale: int) -> dict:
    """Figures a pre-2019 report states in sentences (formats.md 'Pre-2019 narrative')."""
    requests = rng.choice([0, 0, rng.randint(1, 4), rng.randint(3, 12 * scale)])
    parts = {"granted": 0, "partial": 0, "denied": 0, "not_exist": 0, "not_held": 0, "unclear": 0}
    keys = list(parts)
    for _ in range(requests):
        parts[rng.choices(keys, weights=[40, 10, 8, 12, 20, 6])[0]] += 1
    reviews = 1 if requests >= 6 and rng.random() < 0.4 else 0
    phrasing = rng.randrange(len(NARRATIVE_PHRASINGS))
    proactive = rng.randint(600, 2500) * scale
    if NARRATIVE_PHRASINGS[phrasing] == "approx":
        proactive = proactive // 10 * 10
    return {
        "phrasing": NARRATIVE_PHRASINGS[phrasing],
        "proactive_total": proactive,
        "proactive_approx": NARRATIVE_PHRASINGS[phrasing] == "approx",
        "requests_new": requests,
        "requests_parts": parts,
        "consultations": rng.randint(8, 80) * 50,
        "consultations_approx": True,
        "reviews": reviews,
        "lawsuits": 0,
        "fees_yuan": 0,
        "site_daily_visits": rng.randint(3, 12) * 50,  # a distractor: not an FOI figure
    }


def requests_table(rng: random.Random, fmt: str, carried_over: list[int], scale: int) -> dict:
    """Section 三 as row_key -> six applicant columns + total, consistent by construction."""
    new = [
        rng.randint(3, 25) * scale,
        rng.randint(0, 4),
        rng.choice([0, 0, 1]),
        0,
        rng.randint(0, 2),
        rng.randint(0, 3),
    ]
    forward = [
        min(rng.choice([0, 0, 1, 2]), n + c) if i == 0 else 0
        for i, (n, c) in enumerate(zip(new, carried_over, strict=True))
    ]
    rows = RESULT_ROWS_2019 if fmt == "2019" else RESULT_ROWS_2021
    weights = [_RESULT_WEIGHTS.get(r, 0) for r in rows]
    result = {r: [0] * 6 for r in rows}
    for col in range(6):
        for _ in range(new[col] + carried_over[col] - forward[col]):
            result[rng.choices(rows, weights=weights)[0]][col] += 1
    table: dict[str, list[int]] = {"new": new, "carried_over": list(carried_over)}
    table.update(result)
    table["total_handled"] = [sum(result[r][c] for r in rows) for c in range(6)]
    table["carried_forward"] = forward
    return {k: v + [sum(v)] for k, v in table.items()}


def appeals_table(rng: random.Random) -> dict:
    """Section 四: three groups of 维持/纠正/其他/未审结 + 总计."""
    out = {}
    for row in APPEAL_ROWS:
        parts = [rng.choice([0, 0, 0, 1, 2]) for _ in range(4)] if rng.random() < 0.5 else [0] * 4
        out[row] = parts + [sum(parts)]
    return out


def proactive_2019(rng: random.Random, scale: int) -> dict:
    made = rng.randint(2, 20) * scale
    return {
        "regulations": [0, 0, 0] if scale == 1 else [1, 1, rng.randint(5, 20)],
        "normative_documents": [made, made, made + rng.randint(20, 120)],
        "licensing": [rng.randint(100, 400), rng.choice([2, -3, 0, 5]), rng.randint(800, 15000)],
        "other_services": [rng.randint(50, 400), rng.choice([-5, 0, 4]), rng.randint(100, 900)],
        "penalty": [rng.randint(300, 2000), rng.choice([-30, 12, 0]), rng.randint(200, 5000)],
        "coercion": [rng.randint(10, 90), rng.choice([-3, 0, 1]), rng.randint(0, 40)],
        "fees": [rng.randint(5, 20), rng.choice([0, -1])],
        "procurement": [rng.randint(20, 90), round(rng.uniform(2000, 30000), 1)],
    }


def proactive_2021(rng: random.Random, scale: int) -> dict:
    issued = rng.randint(2, 15) * scale
    return {
        "regulations": [0, 0, 0] if scale == 1 else [1, 0, rng.randint(5, 20)],
        "normative_documents": [issued, rng.randint(0, 4), issued + rng.randint(15, 90)],
        "licensing": [rng.randint(3000, 20000)],
        "penalty": [rng.randint(100, 3000)],
        "coercion": [rng.randint(0, 60)],
        "fees": [round(rng.uniform(50, 900), 2)],
    }


# (portal, year, overrides) of every report; origin defaults to generated.
PLAN: list[tuple[str, int, dict]] = (
    [("yuci", y, {}) for y in range(2008, 2025)]
    + [("hongze", y, {}) for y in range(2009, 2025)]
    + [("huaian", 2023, {}), ("huaian", 2024, {})]
    + [("hulan", y, {}) for y in range(2016, 2024)]
    + [("litong", y, {}) for y in (2015, 2016, 2017, 2018, 2020, 2022, 2024)]
    + [("jiuquan", y, {}) for y in range(2016, 2022)]
)

# Real documents: the seeds and the PDFs, with the figures printed in them.
REAL: dict[str, dict] = {
    "yuci-2014": {
        "origin": "seed 000 (real text)",
        "published": "2015-02-10",
        "pages": 2,
        "title": "榆次区2014年政府信息公开年度报告",
        "figures": {
            "proactive_total": 3303,
            "requests_new": 0,
            "consultations": 7100,
            "consultations_approx": True,
            "reviews": 0,
            "lawsuits": 0,
            "fees_yuan": 0,
            "site_daily_visits": 600,
        },
    },
    "hulan-2019": {
        "origin": "seed 002 (real text, tables rebuilt from its flattened rows)",
        "published": "2020-01-20",
    },
    "litong-2015": {
        "origin": "seed 003 (real text, served as DOCX)",
        "published": "2016-03-28",
        "title": "吴忠市利通区2015年政府信息公开工作年度报告",
        "figures": {
            "proactive_total": 9267,
            "requests_new": 8,
            "consultations": 2000,
            "consultations_approx": True,
            "reviews": 0,
            "lawsuits": 0,
            "fees_yuan": 0,
        },
    },
    "hongze-2023": {
        "origin": "real PDF hongze-2023.pdf",
        "published": "2024-01-19",
        "title": "洪泽区人民政府2023年政府信息公开工作年度报告",
        "figures": {"proactive_total": 1136, "requests_new": 21},
    },
    "hongze-2024": {
        "origin": "real PDF hongze-2024.pdf",
        "published": "2025-01-16",
        "title": "淮安市洪泽区人民政府2024年政府信息公开工作年度报告",
        "figures": {"proactive_total": 2428},
    },
    "huaian-2024": {
        "origin": "real PDF huaian-2024.pdf",
        "published": "2025-01-24",
        "title": "淮安市人民政府2024年政府信息公开工作年度报告",
        "figures": {"proactive_total": 5500, "proactive_total_approx": True},
    },
}

# Seed 002 (呼兰区 2019), transcribed cell by cell from the | rows of the real report.
_HULAN_2019 = {
    "proactive": {
        "regulations": [0, 0, 0],
        "normative_documents": [14, 14, 59],
        "licensing": [153, 2, 13214],
        "other_services": [334, -5, 558],
        "penalty": [1898, -30, 4259],
        "coercion": [84, -3, 8],
        "fees": [13, 0],
        "procurement": [43, 21552.9],
    },
    "requests": {
        r: [0] * 7
        for r in ("new", "carried_over", *RESULT_ROWS_2019, "total_handled", "carried_forward")
    },
    "appeals": {r: [0] * 5 for r in APPEAL_ROWS},
}
_HULAN_2019["requests"].update(
    {
        "new": [14, 0, 0, 0, 0, 0, 14],
        "partial": [5, 0, 0, 0, 0, 0, 5],
        "denied_internal_affairs": [2, 0, 0, 0, 0, 0, 2],
        "unable_not_held": [6, 0, 0, 0, 0, 0, 6],
        "unable_unclear": [1, 0, 0, 0, 0, 0, 1],
        "total_handled": [14, 0, 0, 0, 0, 0, 14],
    }
)

# Non-reports in the columns: the archive must classify them as such.
OTHERS: list[dict] = [
    {
        "id": "jiuquan-2016-news",
        "portal": "jiuquan",
        "kind": "work_summary",
        "year": 2016,
        "title": "酒泉市2016年政务公开工作“成绩单”",
        "published": "2016-12-16",
        "origin": "seed 004 (real text, a news piece, not an annual report)",
    },
    {
        "id": "jiuquan-2021-jiedu",
        "portal": "jiuquan",
        "kind": "other",
        "year": 2021,
        "title": "图解：《酒泉市2021年政府信息公开工作年度报告》解读",
        "published": "2022-03-29",
        "origin": "generated interpretation (解读) page",
    },
    {
        "id": "hongze-2023-jiedu",
        "portal": "hongze",
        "kind": "other",
        "year": 2023,
        "title": "一图读懂洪泽区2023年政府信息公开工作年度报告",
        "published": "2024-01-22",
        "origin": "generated interpretation (解读) page",
    },
]


def build_catalog() -> dict:
    reports = []
    carry: dict[str, list[int]] = {}
    for portal, year, _ in PLAN:
        rid = f"{portal}-{year}"
        info = PORTALS[portal]
        rng = random.Random(f"nianbao-demo:{rid}")
        scale = 3 if info["level"] == "city" else 1
        fmt = _format_for(year)
        real = REAL.get(rid, {})
        published = real.get("published") or _upload_date(rng, year).isoformat()
        if rid == LATE_REPORT:
            published = "2018-04-16"
        entry: dict = {
            "id": rid,
            "portal": portal,
            "host": info["host"],
            "agency": info["agency"],
            "division_code": info["division_code"],
            "year": year,
            "kind": "annual_report",
            "format": fmt,
            "origin": real.get("origin", "generated"),
            "published": published,
            "title": real.get("title") or _title(info, year, rng),
        }
        if "pages" in real:
            entry["pages"] = real["pages"]
        if rid == "hulan-2019":
            figures = _HULAN_2019
        elif "figures" in real:
            figures = real["figures"]
        elif fmt == "narrative":
            figures = narrative_figures(rng, scale)
        else:
            prior = carry.get(portal, [0] * 6)
            requests = requests_table(rng, fmt, prior, scale)
            figures = {
                "proactive": proactive_2019(rng, scale)
                if fmt == "2019"
                else proactive_2021(rng, scale),
                "requests": requests,
                "appeals": appeals_table(rng),
            }
        if "requests" in figures:
            carry[portal] = figures["requests"]["carried_forward"][:6]
        entry["figures"] = figures
        _place(entry, rng)
        if rid in ZERO_AS_DASH:
            entry["zero_printed_as"] = ZERO_AS_DASH[rid]
        if rid == SLIP_REPORT:
            figures["appeals"]["review"] = [1, 1, 0, 0, 0]
            entry["slip"] = "appeals.review.total printed 0 while 维持 1 + 纠正 1 = 2"
        if rid == LATE_REPORT:
            entry["late"] = "published 2018-04-16, after the 31 March 2018 deadline"
        reports.append(entry)
    for other in OTHERS:
        info = PORTALS[other["portal"]]
        entry = {
            **other,
            "host": info["host"],
            "agency": info["agency"],
            "division_code": info["division_code"],
            "format": None,
            "figures": {},
        }
        _place(entry, random.Random(f"nianbao-demo:{other['id']}"))
        reports.append(entry)
    return {"reports": reports}


# Hanweb column ids per portal on the shared 127.0.0.3 platform
HANWEB_COLUMNS = {"hongze": 1234, "huaian": 1240}
# Reports whose URL date differs from the date printed on the page (re-posted later).
REPOSTED = {"yuci-2008": "2013-07-24"}
# attachments: report id -> list of (type, file in crawler/demo/files or generator, link title)
ATTACHMENTS: dict[str, list[tuple[str, str, str]]] = {
    "hongze-2023": [
        ("pdf", "hongze-2023.pdf", "洪泽区2023年政府信息公开工作年度报告.pdf"),
        ("pdf", "truncated:hongze-2023.pdf", "洪泽区2023年政府信息公开工作年度报告（扫描件）.pdf"),
    ],
    "hongze-2024": [
        ("pdf", "hongze-2024.pdf", "淮安市洪泽区人民政府2024年政府信息公开工作年度报告.pdf")
    ],
    "huaian-2024": [("pdf", "huaian-2024.pdf", "淮安市人民政府2024年政府信息公开工作年度报告.pdf")],
    "yuci-2012": [("doc", "ole2:doc", "2012年政府信息公开情况统计表.doc")],
    "hulan-2018": [("xls", "ole2:xls", "呼兰区2018年政府信息公开工作统计附表.xls")],
    "hulan-2020": [("docx", "docx:hulan-2020", "呼兰区2020年政府信息公开工作年度报告.docx")],
    "hulan-2021": [("docx", "docx:hulan-2021", "呼兰区2021年政府信息公开工作年度报告.docx")],
    "litong-2015": [("docx", "docx:litong-2015", "利通区2015年政府信息公开工作年度报告.docx")],
}
# Reports whose page is only a short note pointing at the attachment (no body of their own).
ATTACHMENT_ONLY = {"hongze-2023", "hongze-2024", "huaian-2024", "hulan-2021", "litong-2015"}


def _place(entry: dict, rng: random.Random) -> None:
    """Give a catalog entry its URL path and attachment URLs, following its CMS's conventions."""
    portal, rid = entry["portal"], entry["id"]
    d = date.fromisoformat(REPOSTED.get(rid, entry["published"]))
    entry["uploaded"] = d.isoformat()
    num = rng.randint(100000, 999999)
    if portal in ("yuci", "jiuquan"):
        entry["path"] = f"/zwgk/zfxxgknb/{d:%Y%m}/t{d:%Y%m%d}_{num}.html"
    elif rid == "hongze-2022":
        entry["path"] = "/module/xxgk/xxgkAnnualReport.jsp?area=320813&fbtime=2022"
    elif portal in HANWEB_COLUMNS:
        entry["path"] = f"/art/{d.year}/{d.month}/{d.day}/art_{HANWEB_COLUMNS[portal]}_{num}.html"
    elif portal == "hulan":
        entry["path"] = f"/zwgk/gknb/article_view.aspx?aid={num % 90000 + 10000}"
    elif portal == "litong":
        entry["path"] = f"/xxgk/gknb/{d.isoformat()}/{num}.html"
    attachments = []
    for i, (kind, source, title) in enumerate(ATTACHMENTS.get(rid, [])):
        token = hashlib.md5(f"{rid}:{i}".encode()).hexdigest()
        att = {"type": kind, "source": source, "title": title, "host": entry["host"]}
        if portal in HANWEB_COLUMNS:
            att["path"] = f"/module/download/downfile.jsp?classid=0&filename={token}.{kind}"
            att["redirect"] = f"http://127.0.0.5/attach/0/{token}.{kind}"
        elif portal in ("yuci", "jiuquan"):
            att["path"] = f"/zwgk/zfxxgknb/{d:%Y%m}/P0{d:%Y%m%d}{num}{i}.{kind}"
        elif portal == "hulan":
            att["path"] = f"/UploadFiles/{d.year}/{d.month}/{d:%Y%m%d}{num}{i}.{kind}"
        else:
            att["path"] = f"/uploadfile/{d.year}/{d:%m%d}/{d:%Y%m%d}{num}{i}.{kind}"
        if source.startswith("truncated:"):
            att["truncated"] = True
        attachments.append(att)
    if attachments:
        entry["attachments"] = attachments
    if rid in ATTACHMENT_ONLY:
        entry["body_in_attachment"] = True


def _title(info: dict, year: int, rng: random.Random) -> str:
    """Title variants seen on real portals (formats.md 'Titles')."""
    name = info["agency"] if info["cms"] == "hanweb" else info["short"]
    return rng.choice(
        [
            f"{name}{year}年政府信息公开工作年度报告",
            f"{name}{year}年政府信息公开工作年度报告",
            f"{name}{year}年度政府信息公开工作报告",
        ]
    )


def main() -> None:
    data = build_catalog()
    header = (
        "# Generated by `python -m crawler.demo.catalog_gen`: the reports the demo portals "
        "serve.\n# Figures of 'generated' reports are demo data, not real statistics.\n"
    )
    CATALOG.write_text(
        header
        + yaml.safe_dump(
            data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
        ),
        encoding="utf-8",
    )
    print(f"wrote {CATALOG} ({len(data['reports'])} entries)")


if __name__ == "__main__":
    main()
