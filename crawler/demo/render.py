"""Report bodies of the demo portals: blocks of text and tables, rendered as HTML or DOCX.

A body is a list of blocks: ("h", text) for a section heading, ("p", text) for a paragraph,
("table", rows) where rows hold Cell(text, rowspan, colspan). Generated reports are written from
their catalog figures in the three formats of formats.md; real reports come from texts/.
"""

from __future__ import annotations

import html
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
TEXTS = HERE / "texts"


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1


Block = tuple[str, object]

APPLICANT_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
REQUEST_LABELS = {
    "granted": "（一）予以公开",
    "partial": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "denied_state_secret": "1.属于国家秘密",
    "denied_prohibited_by_law": "2.其他法律行政法规禁止公开",
    "denied_three_safety_one_stability": "3.危及“三安全一稳定”",
    "denied_third_party": "4.保护第三方合法权益",
    "denied_internal_affairs": "5.属于三类内部事务信息",
    "denied_process_info": "6.属于四类过程性信息",
    "denied_enforcement_file": "7.属于行政执法案卷",
    "denied_admin_inquiry": "8.属于行政查询事项",
    "unable_not_held": "1.本机关不掌握相关政府信息",
    "unable_needs_creation": "2.没有现成信息需要另行制作",
    "unable_unclear": "3.补正后申请内容仍不明确",
    "rejected_petition": "1.信访举报投诉类申请",
    "rejected_repeat": "2.重复申请",
    "rejected_publication": "3.要求提供公开出版物",
    "rejected_mass_repeat": "4.无正当理由大量反复申请",
    "rejected_confirm_reissue": "5.要求行政机关确认或重新出具已获取信息",
    "other": "（六）其他处理",
    "other_no_correction": "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_unpaid_fee": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_other": "3.其他",
    "total_handled": "（七）总计",
}
REQUEST_GROUPS = {
    "denied": "（三）不予公开",
    "unable": "（四）无法提供",
    "rejected": "（五）不予处理",
    "other": "（六）其他处理",
}
PROACTIVE_2019 = [
    (
        "第二十条第（一）项",
        ["本年新制作数量", "本年新公开数量", "对外公开总数量"],
        [("regulations", "规章"), ("normative_documents", "规范性文件")],
    ),
    (
        "第二十条第（五）项",
        ["上一年项目数量", "本年增/减", "处理决定数量"],
        [("licensing", "行政许可"), ("other_services", "其他对外管理服务事项")],
    ),
    (
        "第二十条第（六）项",
        ["上一年项目数量", "本年增/减", "处理决定数量"],
        [("penalty", "行政处罚"), ("coercion", "行政强制")],
    ),
    ("第二十条第（八）项", ["上一年项目数量", "本年增/减"], [("fees", "行政事业性收费")]),
    ("第二十条第（九）项", ["采购项目数量", "采购总金额"], [("procurement", "政府集中采购")]),
]
PROACTIVE_2021 = [
    (
        "第二十条第（一）项",
        ["本年制发件数", "本年废止件数", "现行有效件数"],
        [("regulations", "规章"), ("normative_documents", "行政规范性文件")],
    ),
    ("第二十条第（五）项", ["本年处理决定数量"], [("licensing", "行政许可")]),
    (
        "第二十条第（六）项",
        ["本年处理决定数量"],
        [("penalty", "行政处罚"), ("coercion", "行政强制")],
    ),
    ("第二十条第（八）项", ["本年收费金额（单位：万元）"], [("fees", "行政事业性收费")]),
]
CN_NUM = "一二三四五六七八九十"


def cn_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"


def read_text(name: str) -> list[str]:
    return [line for line in (TEXTS / name).read_text(encoding="utf-8").splitlines() if line]


def _num(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- tables of the 2019/2021 formats
def proactive_table(fmt: str, figures: dict) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for item, headers, lines in PROACTIVE_2019 if fmt == "2019" else PROACTIVE_2021:
        rows.append([Cell(item, colspan=4)])
        spans = [1] * len(headers)
        spans[-1] += 3 - len(headers)
        rows.append(
            [Cell("信息内容")] + [Cell(h, colspan=s) for h, s in zip(headers, spans, strict=True)]
        )
        for key, label in lines:
            values = figures[key]
            texts = [_num(v) for v in values]
            if fmt == "2019" and key not in ("regulations", "normative_documents", "procurement"):
                texts[1] = f"+{values[1]}" if values[1] > 0 else str(values[1])
            if key == "procurement":
                texts[1] = f"{_num(values[1])}万元"
            rows.append(
                [Cell(label)] + [Cell(t, colspan=s) for t, s in zip(texts, spans, strict=True)]
            )
    return rows


def _count(value: int, zero: str) -> str:
    return zero if value == 0 else str(value)


def requests_table(fmt: str, requests: dict, zero: str = "0") -> list[list[Cell]]:
    values = lambda key: [Cell(_count(v, zero)) for v in requests[key]]  # noqa: E731
    rows = [
        [Cell(APPLICANT_NOTE, 3, 3), Cell("申请人情况", colspan=7)],
        [Cell("自然人", rowspan=2), Cell("法人或其他组织", colspan=5), Cell("总计", rowspan=2)],
        [Cell(t) for t in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")],
        [Cell("一、本年新收政府信息公开申请数量", colspan=3)] + values("new"),
        [Cell("二、上年结转政府信息公开申请数量", colspan=3)] + values("carried_over"),
    ]
    result_keys = [k for k in REQUEST_LABELS if k in requests]
    body: list[list[Cell]] = []
    seen_groups: set[str] = set()
    for key in result_keys:
        group = key.split("_")[0] if "_" in key and key != "total_handled" else None
        if group in REQUEST_GROUPS:
            cells = []
            if group not in seen_groups:
                seen_groups.add(group)
                size = sum(1 for k in result_keys if k.startswith(group + "_"))
                cells.append(Cell(REQUEST_GROUPS[group], rowspan=size))
            body.append(cells + [Cell(REQUEST_LABELS[key])] + values(key))
        else:
            body.append([Cell(REQUEST_LABELS[key], colspan=2)] + values(key))
    body[0].insert(0, Cell("三、本年度办理结果", rowspan=len(body)))
    rows += body
    rows.append([Cell("四、结转下年度继续办理", colspan=3)] + values("carried_forward"))
    return rows


def appeals_table(appeals: dict, zero: str = "0") -> list[list[Cell]]:
    five = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    return [
        [Cell("行政复议", colspan=5), Cell("行政诉讼", colspan=10)],
        [Cell(t, rowspan=2) for t in five]
        + [Cell("未经复议直接起诉", colspan=5), Cell("复议后起诉", colspan=5)],
        [Cell(t) for t in five * 2],
        [
            Cell(_count(v, zero))
            for row in ("review", "litigation_direct", "litigation_after_review")
            for v in appeals[row]
        ],
    ]


# ---------------------------------------------------------------- bodies
def _split(total: int, shares: list[int]) -> list[int]:
    parts = [total * s // 100 for s in shares[:-1]]
    return parts + [total - sum(parts)]


# The sentences that carry the figures, per wording (catalog figures.phrasing); formats.md lists
# these variants under "Pre-2019 narrative reports".
NARRATIVE_SENTENCES = {
    "plain": {
        "proactive": "{y}年，{area}共主动公开政府信息{n}条。",
        "no_requests": "{y}年，{area}没有接到依申请公开事项的申请。",
        "fees": "{y}年，{area}对公民、法人和其他组织收取与依申请公开有关的费用共0元，无减免情况。",
    },
    "level": {
        "proactive": "截至{y}年底，{area}共公开{level}级信息数为{n}条。",
        "no_requests": "{y}年，{area}尚未接到公民、法人和其他组织提出的政府信息公开书面申请。",
        "fees": "{y}年，{area}依申请公开政府信息均未收费。",
    },
    "approx": {
        "proactive": "{y}年，{area}累计主动公开各类政府信息{n}余条。",
        "no_requests": "{y}年，{area}没有接到依申请公开事项的申请。",
        "fees": "{y}年，{area}依申请提供政府信息均为免费提供。",
    },
}


def narrative_body(entry: dict, short: str, area: str) -> list[Block]:
    f, y = entry["figures"], entry["year"]
    n = f["proactive_total"]
    say = NARRATIVE_SENTENCES[f["phrasing"]]
    level = area[-1]  # 全区 -> 区级, 全市 -> 市级
    a, b, c, d = _split(n, [5, 8, 70, 17])
    parts = f["requests_parts"]
    c_site = round(f["consultations"] * 2 / 5 / 50) * 50
    blocks: list[Block] = [
        (
            "p",
            f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）规定，特编制{short}{y}年"
            "政府信息公开年度报告。本报告由概述、主动公开政府信息情况、依申请公开政府信息情况、咨询处理"
            "情况、行政复议和行政诉讼情况、收费及减免情况、存在的主要问题和改进措施七个部分组成。本报告中"
            f"所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。如对本报告有任何疑问，请与"
            f"{entry['agency']}办公室联系。",
        ),
        ("h", "一、概述"),
        (
            "p",
            f"{y}年，{area}认真贯彻落实《条例》和上级关于政府信息公开工作的部署，以公开促规范、以"
            "公开促服务，不断完善政府信息公开工作机制，拓宽公开渠道，政府信息公开工作取得了新的进展。"
            f"把门户网站作为政府信息公开的第一平台，门户网站的日均访问量达{f['site_daily_visits']}余人次。",
        ),
        ("h", "二、主动公开政府信息情况"),
        (
            "p",
            say["proactive"].format(y=y, area=area, level=level, n=n)
            + f"其中：机构职能类信息{a}条，政策法规类信息{b}条，"
            f"工作动态类信息{c}条，其他信息{d}条。",
        ),
        ("h", "三、依申请公开政府信息情况"),
    ]
    if f["requests_new"] == 0:
        blocks.append(("p", say["no_requests"].format(y=y, area=area)))
    else:
        blocks.append(
            (
                "p",
                f"{y}年，{area}共受理各类政府信息公开申请{f['requests_new']}件，其中同意公开"
                f"{parts['granted']}件，部分公开{parts['partial']}件，不予公开{parts['denied']}件，"
                f"信息不存在{parts['not_exist']}件，非本机关掌握{parts['not_held']}件，申请内容"
                f"不明确{parts['unclear']}件，均在规定时限内予以答复。",
            )
        )
    blocks += [
        ("h", "四、咨询处理情况"),
        (
            "p",
            f"全年共接受人民群众咨询{f['consultations']}余人次；其中现场咨询{c_site}余人次，电话、网络咨询"
            f"{f['consultations'] - c_site}余人次。",
        ),
        ("h", "五、行政复议和行政诉讼情况"),
    ]
    if f["reviews"] == 0 and f["lawsuits"] == 0:
        blocks.append(
            ("p", f"{y}年，{area}未发生针对政府信息公开事务的行政复议申请和行政诉讼案件。")
        )
    else:
        blocks.append(
            (
                "p",
                f"{y}年，{area}发生因政府信息公开申请提起的行政复议{f['reviews']}起，经复议维持"
                "原答复；未发生针对政府信息公开事务的行政诉讼案件。",
            )
        )
    blocks += [
        ("h", "六、收费及减免情况"),
        ("p", say["fees"].format(y=y, area=area)),
        ("h", "七、存在的主要问题和改进措施"),
        (
            "p",
            "一是个别部门对政府信息公开工作重视不够，信息更新不够及时；二是公开形式较为单一。下一步，"
            "我们将进一步完善工作机制，加强业务培训，拓宽公开渠道，不断提高政府信息公开工作水平。",
        ),
    ]
    return blocks + _signature(entry)


def table_body(entry: dict, short: str, area: str) -> list[Block]:
    f, y, fmt = entry["figures"], entry["year"], entry["format"]
    notice = "国办公开办函〔2019〕60号" if fmt == "2019" else "国办公开办函〔2021〕30号"
    docs = f["proactive"]["normative_documents"][0]
    zero = entry.get("zero_printed_as", "0")
    doc_label = "规范性文件" if fmt == "2019" else "行政规范性文件"
    blocks: list[Block] = [
        (
            "p",
            f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《国务院办公厅政府信息与"
            f"政务公开办公室关于政府信息公开工作年度报告有关事项的通知》（{notice}）要求编制。本年度报告"
            f"所列数据统计期限自{y}年1月1日起至{y}年12月31日止。",
        ),
        ("h", "一、总体情况"),
        (
            "p",
            f"{y}年，{area}坚持以公开为常态、不公开为例外，围绕中心工作深入推进决策、执行、管理、服务、"
            f"结果公开，全年制发{doc_label}{docs}件，均通过政府"
            "门户网站公开，及时回应社会关切，政务公开工作取得新成效。",
        ),
        ("h", "二、主动公开政府信息情况"),
        ("table", proactive_table(fmt, f["proactive"])),
        ("h", "三、收到和处理政府信息公开申请情况"),
        ("table", requests_table(fmt, f["requests"], zero)),
        ("h", "四、政府信息公开行政复议、行政诉讼情况"),
        ("table", appeals_table(f["appeals"], zero)),
        ("h", "五、存在的主要问题及改进情况"),
        (
            "p",
            "政务公开工作人员变动较多，业务水平有待提高；政策解读形式还不够丰富。下一步将加强业务培训，"
            "丰富解读形式，持续提升政务公开质量。",
        ),
        ("h", "六、其他需要报告的事项"),
        ("p", f"{y}年，{short}未收取信息处理费。" if fmt == "2021" else "无。"),
    ]
    return blocks + _signature(entry)


def _signature(entry: dict) -> list[Block]:
    """The issuing office and date that close a report."""
    return [("p", f"{entry['agency']}办公室"), ("p", cn_date(entry["published"]))]


def seed_body(entry: dict) -> list[Block]:
    rid = entry["id"]
    if rid == "hulan-2019":
        f = entry["figures"]
        before = read_text("hulan-2019-a.txt")
        after = read_text("hulan-2019-b.txt")
        return (
            [_para(line) for line in before]
            + [
                ("table", proactive_table("2019", f["proactive"])),
                ("h", "三、收到和处理政府信息公开申请情况"),
                ("table", requests_table("2019", f["requests"])),
                ("h", "四、政府信息公开行政复议、行政诉讼情况"),
                ("table", appeals_table(f["appeals"])),
            ]
            + [_para(line) for line in after]
        )
    name = {
        "yuci-2014": "yuci-2014.txt",
        "litong-2015": "litong-2015.txt",
        "jiuquan-2016-news": "jiuquan-2016-news.txt",
    }[rid]
    return [_para(line) for line in read_text(name)]


def _para(line: str) -> Block:
    heading = len(line) < 40 and line[:2] in {f"{c}、" for c in CN_NUM}
    return ("h" if heading else "p", line)


def interpretation_body(entry: dict, report: dict | None) -> list[Block]:
    blocks: list[Block] = [
        (
            "p",
            f"近日，{entry['agency']}发布了{entry['year']}年政府信息公开工作年度报告。为便于公众理解，"
            "现将报告主要内容解读如下。",
        ),
    ]
    if report and "requests" in report["figures"]:
        req = report["figures"]["requests"]
        blocks.append(
            (
                "p",
                f"一是依申请公开办理规范。全年新收政府信息公开申请{req['new'][-1]}件，"
                f"办结{req['total_handled'][-1]}件。",
            )
        )
    elif report and "proactive_total" in report["figures"]:
        blocks.append(
            (
                "p",
                f"一是主动公开力度加大。全年主动公开政府信息{report['figures']['proactive_total']}条。",
            )
        )
    blocks.append(
        ("p", "二是平台建设持续加强。三是解读回应更加及时。报告全文请见政府信息公开年报栏目。")
    )
    return blocks


def body_for(entry: dict, short: str, area: str, report: dict | None = None) -> list[Block]:
    if entry["kind"] == "other":
        return interpretation_body(entry, report)
    if entry["origin"].startswith("seed"):
        return seed_body(entry)
    if entry["format"] == "narrative":
        return narrative_body(entry, short, area)
    return table_body(entry, short, area)


# ---------------------------------------------------------------- HTML
def table_html(rows: list[list[Cell]], word: bool) -> str:
    """A table as an editor pastes it: Word's MsoNormalTable on TRS sites, plain elsewhere."""
    out = [
        '<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" '
        'style="border-collapse:collapse;border:none">'
        if word
        else '<table border="1" cellspacing="0" cellpadding="4" width="100%">',
        "<tbody>",
    ]
    for row in rows:
        out.append("<tr>")
        for cell in row:
            attrs = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
                f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
            )
            text = html.escape(cell.text)
            if word:
                text = (
                    '<p class="MsoNormal" align="center" style="text-align:center"><span '
                    f'style="font-size:10.5pt;font-family:宋体">{text}</span></p>'
                )
            out.append(f'<td valign="center"{attrs}>{text}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def blocks_html(blocks: list[Block], word: bool = False) -> str:
    out = []
    for kind, value in blocks:
        if kind == "table":
            out.append(table_html(value, word))  # type: ignore[arg-type]
        elif word:
            style = "text-indent:32.0pt" + (";font-weight:bold" if kind == "h" else "")
            out.append(
                f'<p class="MsoNormal" style="{style}"><span style="font-family:仿宋_GB2312">'
                f"{html.escape(str(value))}</span></p>"
            )
        else:
            tag = (
                "<p><strong>{}</strong></p>" if kind == "h" else '<p style="text-indent:2em">{}</p>'
            )
            out.append(tag.format(html.escape(str(value))))
    return "\n".join(out)


# ---------------------------------------------------------------- DOCX
FIXED_ZIP_TIME = (2016, 3, 28, 10, 0, 0)


def blocks_docx(title: str, blocks: list[Block], when: str) -> bytes:
    """A Word document with real (merged-cell) tables; byte-identical on every build."""
    import docx  # python-docx; imported here so the server starts without it until needed

    doc = docx.Document()
    props = doc.core_properties
    stamp = datetime.fromisoformat(when + "T09:00:00")
    props.author, props.title, props.created, props.modified = "政府办公室", title, stamp, stamp
    props.last_modified_by, props.revision = "政府办公室", 1
    doc.add_heading(title, level=1)
    for kind, value in blocks:
        if kind == "table":
            _docx_table(doc, value)  # type: ignore[arg-type]
        elif kind == "h":
            doc.add_paragraph().add_run(str(value)).bold = True
        else:
            doc.add_paragraph(str(value))
    raw = io.BytesIO()
    doc.save(raw)
    return _normalise_zip(raw.getvalue())


def _docx_table(doc, rows: list[list[Cell]]) -> None:
    placed: list[tuple[int, int, Cell]] = []
    taken: set[tuple[int, int]] = set()
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            placed.append((r, c, cell))
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
            c += cell.colspan
            width = max(width, c)
    table = doc.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    grid = table._cells  # looked up once: table.cell() rescans the whole table on every call
    for r, c, cell in placed:
        target = grid[r * width + c]
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(grid[(r + cell.rowspan - 1) * width + c + cell.colspan - 1])
        target.text = cell.text


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the file is the same on every run."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


@cache
def ole2_stub(kind: str) -> bytes:
    """Bytes of a legacy Office attachment: an OLE2 compound-file header and empty sectors."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    header[24:26] = (0x003E).to_bytes(2, "little")  # minor version
    header[26:28] = (0x0003).to_bytes(2, "little")  # major version 3 (512-byte sectors)
    header[28:30] = (0xFFFE).to_bytes(2, "little")  # little-endian byte order mark
    header[30:32] = (9).to_bytes(2, "little")  # sector shift: 2^9 = 512
    header[32:34] = (6).to_bytes(2, "little")  # mini sector shift
    header[44:48] = (1).to_bytes(4, "little")  # one FAT sector
    header[48:52] = (1).to_bytes(4, "little")  # directory starts at sector 1
    header[56:60] = (4096).to_bytes(4, "little")  # mini stream cutoff
    header[60:64] = (0xFFFFFFFE).to_bytes(4, "little")
    header[68:72] = (0xFFFFFFFE).to_bytes(4, "little")
    header[76:80] = (0).to_bytes(4, "little")  # FAT sector 0
    for i in range(1, 109):
        header[76 + 4 * i : 80 + 4 * i] = (0xFFFFFFFF).to_bytes(4, "little")
    marker = ("Microsoft Word 97-2003" if kind == "doc" else "Microsoft Excel 97-2003").encode()
    return bytes(header) + marker.ljust(1536, b"\0")


__all__ = ["Cell", "blocks_docx", "blocks_html", "body_for", "cn_date", "ole2_stub", "read_text"]
