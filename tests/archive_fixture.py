"""The archive the publication tests serve, and large generated ones for benchmarks.

The small archive goes through the real pipeline: report pages in the layouts of
../shared/spec/formats.md (narrative before 2019, the 2019 and 2021 table formats after; bodies
from crawler/demo/render.py), captured into a WARC file with their capture rows, then
`build_archive` extracts every row. Agencies are modelled on the seeds (榆次区, 呼兰区, 利通区,
酒泉市, 淮安市洪泽区). One report carries a `<script>` tag to prove that pages escape report text.

build_large_archive writes report rows directly (benchmarks need 100k reports quickly).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from pathlib import Path

from crawler.demo import catalog_gen, render
from postprocess.build import build_archive
from postprocess.storage import db as archive_db
from postprocess.storage.search import index_reports
from postprocess.storage.warc import WarcStore


@dataclass(frozen=True)
class Agency:
    id: str
    agency: str
    province: str
    city: str | None
    level: str
    division_code: str
    host: str


AGENCIES = [
    Agency(
        "sx-yuci", "晋中市榆次区人民政府", "山西省", "晋中市", "county", "140702", "www.yuci.gov.cn"
    ),
    Agency(
        "hlj-hulan",
        "哈尔滨市呼兰区人民政府",
        "黑龙江省",
        "哈尔滨市",
        "county",
        "230111",
        "www.hrbhl.gov.cn",
    ),
    Agency(
        "nx-litong",
        "吴忠市利通区人民政府",
        "宁夏回族自治区",
        "吴忠市",
        "county",
        "640302",
        "www.ltq.gov.cn",
    ),
    Agency(
        "gs-jiuquan", "酒泉市人民政府", "甘肃省", "酒泉市", "city", "620900", "www.jiuquan.gov.cn"
    ),
    Agency(
        "js-hongze",
        "淮安市洪泽区人民政府",
        "江苏省",
        "淮安市",
        "county",
        "320813",
        "www.hongze.gov.cn",
    ),
    Agency(
        "js-huaian", "淮安市人民政府", "江苏省", "淮安市", "city", "320800", "www.huaian.gov.cn"
    ),
    Agency("gd-gov", "广东省人民政府", "广东省", None, "province", "440000", "www.gd.gov.cn"),
    Agency("gd-edu", "广东省教育厅", "广东省", None, "department", "440000", "edu.gd.gov.cn"),
]

DENIED_KEYS = [
    "denied_state_secret",
    "denied_prohibited_by_law",
    "denied_three_safety_one_stability",
    "denied_third_party",
    "denied_internal_affairs",
    "denied_process_info",
    "denied_enforcement_file",
    "denied_admin_inquiry",
]
DENIED_LABELS = {
    "denied_state_secret": "1.属于国家秘密",
    "denied_prohibited_by_law": "2.其他法律行政法规禁止公开",
    "denied_three_safety_one_stability": "3.危及“三安全一稳定”",
    "denied_third_party": "4.保护第三方合法权益",
    "denied_internal_affairs": "5.属于三类内部事务信息",
    "denied_process_info": "6.属于四类过程性信息",
    "denied_enforcement_file": "7.属于行政执法案卷",
    "denied_admin_inquiry": "8.属于行政查询事项",
}

PROBLEMS = [
    "政府信息公开工作人员业务水平有待提高，部分单位对主动公开重视不够。",
    "依申请公开办理流程还需进一步规范，答复文书格式不够统一。",
    "政策解读形式较为单一，图解、视频解读数量偏少。",
    "基层政务公开标准化规范化建设仍有差距，公开内容更新不够及时。",
]
IMPROVEMENTS = [
    "加强业务培训，提升工作人员政策水平和答复质量。",
    "严格落实公开属性源头认定机制，做到应公开尽公开。",
    "完善政府网站信息公开专栏，及时更新各类信息。",
    "健全依申请公开会商机制，防范行政复议和行政诉讼风险。",
]
FILLER = (
    "本年度，我区坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实党中央、国务院关于"
    "全面推进政务公开工作的决策部署，围绕中心、服务大局，不断拓展公开深度和广度，"
    "切实保障人民群众知情权、参与权、表达权和监督权。"
)


@dataclass
class Figures:
    new: int
    carried_over: int
    granted: int
    partial: int
    denied: dict[str, int]
    unable_not_held: int
    rejected_petition: int
    reviews: int
    lawsuits: int
    fees_yuan: float
    consultations: int
    proactive_total: int

    @property
    def denied_total(self) -> int:
        return sum(self.denied.values())

    @property
    def handled(self) -> int:
        return (
            self.granted
            + self.partial
            + self.denied_total
            + self.unable_not_held
            + self.rejected_petition
        )

    @property
    def carried_forward(self) -> int:
        return self.new + self.carried_over - self.handled


def random_figures(rng: random.Random) -> Figures:
    new = rng.randint(0, 400)
    denied = {k: 0 for k in DENIED_KEYS}
    for key in rng.sample(DENIED_KEYS, rng.randint(0, 3)):
        denied[key] = rng.randint(0, max(1, new // 20))
    granted = new // 2
    partial = new // 10
    unable = new // 8
    rejected = new // 25
    carried_over = rng.randint(0, 5)
    return Figures(
        new=new,
        carried_over=carried_over,
        granted=granted,
        partial=partial,
        denied=denied,
        unable_not_held=unable,
        rejected_petition=rejected,
        reviews=rng.randint(0, 6),
        lawsuits=rng.randint(0, 4),
        fees_yuan=0.0,
        consultations=rng.randint(100, 20000),
        proactive_total=rng.randint(500, 30000),
    )


def fmt_for(year: int) -> str:
    return "narrative" if year < 2019 else ("2019" if year < 2021 else "2021")


def report_text(
    agency: Agency,
    year: int,
    fig: Figures,
    rng: random.Random,
    extra: str = "",
    paragraphs: int = 2,
) -> str:
    """A report text in the layout of its year's format (tables as `|` rows)."""
    fmt = fmt_for(year)
    title = f"{agency.agency}{year}年政府信息公开工作年度报告"
    lines = [
        title,
        f"本报告依据《中华人民共和国政府信息公开条例》编制，统计期限自{year}年1月1日起至{year}年12月31日止。",
    ]
    lines += [FILLER] * paragraphs
    if fmt == "narrative":
        lines += [
            "一、概述",
            f"{year}年共主动公开政府信息{fig.proactive_total}条，接待群众咨询{fig.consultations}人次。",
            "二、依申请公开政府信息情况",
            f"全年共受理政府信息公开申请{fig.new}件，其中同意公开{fig.granted}件，"
            f"部分公开{fig.partial}件，不予公开{fig.denied_total}件。",
        ]
        if fig.fees_yuan:
            lines.append(f"全年收取检索、复制费用{fig.fees_yuan:g}元。")
        else:
            lines.append("本年度未收取任何费用。")
        if fig.reviews or fig.lawsuits:
            lines.append(f"因政府信息公开引起行政复议{fig.reviews}件，行政诉讼{fig.lawsuits}件。")
        else:
            lines.append("未发生因政府信息公开申请提起行政复议、行政诉讼的情况。")
    else:
        lines += [
            "一、总体情况",
            "二、主动公开政府信息情况",
            "| 第二十条第（一）项 | 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |",
            "| 规章 | 0 | 0 | 0 |",
            f"| 行政规范性文件 | {rng.randint(1, 40)} | 0 | {rng.randint(40, 200)} |",
            "| 第二十条第（八）项 | 行政事业性收费 | 本年收费金额（单位：万元） |",
            f"| 行政事业性收费 | {rng.randint(0, 30000) / 10:g} |",
            "三、收到和处理政府信息公开申请情况",
            f"| 一、本年新收政府信息公开申请数量 | {fig.new} |",
            f"| 二、上年结转政府信息公开申请数量 | {fig.carried_over} |",
            f"| 三、本年度办理结果 | （一）予以公开 | {fig.granted} |",
            f"| （二）部分公开（区分处理的，只计这一情形，不计其他情形） | {fig.partial} |",
        ]
        for key in DENIED_KEYS:
            lines.append(f"| （三）不予公开 | {DENIED_LABELS[key]} | {fig.denied[key]} |")
        lines += [
            f"| （四）无法提供 | 1.本机关不掌握相关政府信息 | {fig.unable_not_held} |",
            f"| （五）不予处理 | 1.信访举报投诉类申请 | {fig.rejected_petition} |",
            f"| （七）总计 | {fig.handled} |",
            f"| 四、结转下年度继续办理 | {fig.carried_forward} |",
            "四、政府信息公开行政复议、行政诉讼情况",
            f"| 行政复议 | 总计 | {fig.reviews} |",
            f"| 行政诉讼 | 总计 | {fig.lawsuits} |",
        ]
    lines += ["五、存在的主要问题及改进情况", rng.choice(PROBLEMS), rng.choice(IMPROVEMENTS)]
    if extra:
        lines.append(extra)
    lines += ["六、其他需要报告的事项", "无。"]
    return "\n".join(lines)


@dataclass
class Spec:
    """One hand-written report of the small fixture archive."""

    agency: int
    year: int
    extra: str = ""
    published: str | None = None  # default: 20 March of the next year
    failing: tuple[str, ...] = ()
    title: str | None = None
    process_info: int = 0


SMALL_SPECS: list[Spec] = [
    Spec(0, 2008, extra="本年度依申请公开收取复制费用。"),
    Spec(0, 2014, extra="榆次区开展政务公开专题培训。"),
    Spec(0, 2015, published="2016-05-10"),
    Spec(0, 2016),
    Spec(1, 2018),
    Spec(1, 2019, failing=("requests_balance",)),
    Spec(1, 2020),
    Spec(1, 2022, process_info=3),
    Spec(2, 2015, extra="利通区电子政务外网建设完成。"),
    Spec(2, 2021),
    Spec(2, 2022, process_info=1, failing=("requests_total_column",)),
    Spec(3, 2016, extra="酒泉市政府信息公开成绩单发布。"),
    Spec(3, 2021),
    Spec(3, 2022),
    Spec(4, 2022, process_info=2),
    Spec(4, 2023),
    Spec(4, 2024, published="2025-04-02"),
    Spec(5, 2023, failing=("appeals_totals",)),
    Spec(5, 2024),
    Spec(6, 2021),
    Spec(6, 2022),
    Spec(7, 2021, published="2022-03-15"),
    Spec(7, 2022, extra='附件说明：<script>alert("xss")</script> 请勿执行。'),
]
SCRIPT_TEXT = '<script>alert("xss")</script>'


def _short_and_area(agency: Agency) -> tuple[str, str]:
    """How a report names its body (榆次区) and its territory (全区)."""
    if agency.level == "department":
        return agency.agency, "本机关"
    short = agency.agency.removesuffix("人民政府")
    return short, "全" + short[-1]


def report_entry(spec: Spec, agency: Agency, rng: random.Random) -> dict:
    """A demo-catalog style entry (crawler/demo) of one fixture report, figures included."""
    fmt = fmt_for(spec.year)
    if fmt == "narrative":
        figures = catalog_gen.narrative_figures(rng, 1)
    else:
        carried = [rng.randint(0, 3), 0, 0, 0, 0, 0]
        requests = catalog_gen.requests_table(rng, fmt, carried, 1)
        if spec.process_info:
            # Refusals as 过程性信息 by natural persons, still balanced (一+二 = 七 + 四).
            for row in ("denied_process_info", "total_handled", "new"):
                requests[row][0] += spec.process_info
                requests[row][6] += spec.process_info
        figures = {
            "proactive": (
                catalog_gen.proactive_2019 if fmt == "2019" else catalog_gen.proactive_2021
            )(rng, 1),
            "requests": requests,
            "appeals": catalog_gen.appeals_table(rng),
        }
        # Misprints the consistency checks must catch, each breaking one rule only.
        if "requests_balance" in spec.failing:
            requests["carried_forward"][0] += 1
            requests["carried_forward"][6] += 1
        if "requests_total_column" in spec.failing:
            requests["carried_over"][6] += 1
            requests["carried_forward"][6] += 1
        if "appeals_totals" in spec.failing:
            figures["appeals"]["review"][4] += 1
    return {
        "year": spec.year,
        "format": fmt,
        "kind": "annual_report",
        "origin": "fixture",
        "agency": agency.agency,
        "published": spec.published or f"{spec.year + 1}-03-20",
        "figures": figures,
    }


def report_page(spec: Spec, agency: Agency, rng: random.Random) -> bytes:
    """The report page as a portal serves it: chrome, meta tags, the report body."""
    entry = report_entry(spec, agency, rng)
    short, area = _short_and_area(agency)
    blocks = render.body_for(entry, short, area)
    if spec.extra:
        blocks.insert(len(blocks) - 2, ("p", spec.extra))  # before the signature
    title = spec.title or f"{agency.agency}{spec.year}年政府信息公开工作年度报告"
    e = html.escape
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{e(title)}_{e(agency.agency)}</title>
<meta name="ArticleTitle" content="{e(title)}">
<meta name="PubDate" content="{entry["published"]} 09:30">
</head><body>
<div class="nav">首页 &gt; 政务公开 &gt; 政府信息公开年报</div>
<div class="article"><h1>{e(title)}</h1>
<div class="info">发布时间：{entry["published"]}　来源：{e(agency.agency)}办公室</div>
<div id="zoom">{render.blocks_html(blocks)}</div></div>
<div class="footer">主办：{e(agency.agency)}　网站标识码：{agency.division_code}0001</div>
</body></html>""".encode()


def _sources(db) -> None:
    archive_db.upsert_sources(
        db,
        [
            {
                "id": a.id,
                "agency": a.agency,
                "division_code": a.division_code,
                "level": a.level,
                "cms": "trs",
                "province": a.province,
                "city": a.city,
                "start_urls": [f"http://{a.host}/zwgk/ndbg/"],
                "verified": 1,
                "example_url": f"http://{a.host}/zwgk/ndbg/",
                "notes": "",
                "demo": 1,
            }
            for a in AGENCIES
        ],
    )


def build_small_archive(path: str | Path) -> Path:
    """The fixture archive, built as a crawl would leave it and `nianbao build` finishes it.

    Each SMALL_SPECS report becomes a portal page (crawler/demo's report bodies in the formats of
    formats.md) written to a WARC file with its capture row; build_archive then extracts
    everything (reports, cells, stats, checks, search index) with the real code. Report ids are
    capture ids: 1..len(SMALL_SPECS) in SMALL_SPECS order.
    """
    path = Path(path)
    data_dir = path.parent / "data"
    db = archive_db.open_db(path)
    _sources(db)
    crawl = archive_db.start_crawl(db, [a.id for a in AGENCIES])
    store = WarcStore(data_dir, "fixture")
    rng = random.Random(20240601)
    for rid, spec in enumerate(SMALL_SPECS, start=1):
        agency = AGENCIES[spec.agency]
        body = report_page(spec, agency, rng)
        url = f"http://{agency.host}/zwgk/ndbg/{spec.year}/t{rid:06d}.html"
        ctype = "text/html; charset=utf-8"
        stored = store.write_response(url, 200, "OK", [("Content-Type", ctype)], body)
        archive_db.record_capture(
            db,
            {
                "crawl_id": crawl,
                "source_id": agency.id,
                "url": url,
                "method": "GET",
                "fetched_at": f"2025-01-{1 + rid % 28:02d}T08:{rid % 60:02d}:00Z",
                "status": 200,
                "content_type": ctype,
                **stored.capture_fields(),
                "role": "report",
                "blocked": 0,
            },
        )
    store.close()
    archive_db.finish_crawl(db, crawl, "finished", {"pages": len(SMALL_SPECS)})
    db.close()
    build_archive(path, data_dir, echo=lambda _line: None)
    return path


def build_large_archive(path: str | Path, n: int, seed: int = 7, echo=lambda *_: None) -> Path:
    """n reports (report rows only) over many synthetic agencies, texts of 2-8k characters."""
    path = Path(path)
    db = archive_db.open_db(path)
    db.execute("PRAGMA synchronous = OFF")
    _sources(db)
    rng = random.Random(seed)
    base = AGENCIES
    n_agencies = max(len(base), n // 12)
    cols = (
        "id",
        "source_id",
        "url",
        "document_url",
        "title",
        "agency",
        "year",
        "published",
        "kind",
        "format",
        "text",
        "province",
        "city",
        "level",
        "fetched_at",
    )
    sql = f"INSERT INTO reports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    for start in range(1, n + 1, 5000):
        rows = []
        for rid in range(start, min(n, start + 4999) + 1):
            a = base[rid % len(base)]
            k = rid % n_agencies
            agency = Agency(
                a.id,
                f"{a.city or a.province}第{k}局" if k >= len(base) else a.agency,
                a.province,
                a.city,
                a.level,
                a.division_code,
                a.host,
            )
            year = 2008 + rid % 17
            extra = "".join(rng.choice(PROBLEMS + IMPROVEMENTS) for _ in range(rng.randint(5, 40)))
            text = report_text(
                agency, year, random_figures(rng), rng, extra=extra, paragraphs=rng.randint(3, 25)
            )
            url = f"http://{agency.host}/zwgk/ndbg/{year}/t{rid:07d}.html"
            rows.append(
                (
                    rid,
                    a.id,
                    url,
                    url,
                    f"{agency.agency}{year}年政府信息公开工作年度报告",
                    agency.agency,
                    year,
                    f"{year + 1}-03-20",
                    "annual_report",
                    fmt_for(year),
                    text,
                    a.province,
                    a.city,
                    a.level,
                    "2025-02-01T00:00:00Z",
                )
            )
        with db.conn:
            db.conn.executemany(sql, rows)
        echo(f"  {min(n, start + 4999)} reports written")
    echo("  indexing")
    index_reports(db)
    db.close()
    return path


try:
    import pytest
except ImportError:  # the benchmark imports this module without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def archive_path(tmp_path_factory) -> Path:
        """The archive the Datasette and browser tests publish (Datasette names it /archive).

        To test on the demo archive instead, return the path `nianbao demo --no-serve` built.
        """
        return build_small_archive(tmp_path_factory.mktemp("published") / "archive.db")
