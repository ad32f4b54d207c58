"""What a document says about itself: title, agency, year covered, publication date, kind."""

from __future__ import annotations

import re
from datetime import date

from dateutil import parser as date_parser

from postprocess.extract.model import Document, ReportMeta
from postprocess.extract.values import nfkc

MIN_YEAR, MAX_YEAR = 2007, 2100  # the 条例 took effect in 2008; reports start with 2007/2008

CJK = r"\u3400-\u9fff\uf900-\ufaff"
# spaces between CJK characters are layout ("吴 忠 市 利 通 区"), between CJK and digits PDF noise
SPACE_IN_CJK = re.compile(
    rf"(?<=[{CJK}\d])[ \t\u3000\xa0]+(?=[{CJK}])|(?<=[{CJK}])[ \t\u3000\xa0]+(?=\d)"
)
CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
CN_YEAR = re.compile(r"[〇零一二][〇零一二三四五六七八九]{3}(?=\s*年)")

YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年")
# the statistics period is the authoritative year covered (formats.md consistency rule)
STAT_PERIOD = [
    re.compile(
        r"统计(?:期限|时限|区间|时间|周期)[^。\n]{0,12}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日"
    ),
    re.compile(r"统计(?:期限|时限|区间|时间|周期)[^。\n]{0,6}?((?:19|20)\d{2})\s*(?:年度|年)"),
    re.compile(
        r"((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日\s*(?:起)?\s*至\s*(?:(?:19|20)\d{2}\s*年\s*)?12\s*月\s*31\s*日"
    ),
]
# "...本机关2019年政府信息公开工作年度报告" in the opening sentence of a report without a title
REPORT_NAME_IN_TEXT = re.compile(
    r"((?:19|20)\d{2})\s*年度?(?:政府信息公开|政务公开|信息公开)[^。\n]{0,8}?(?:年度报告|年报)"
)

DATE_TEXT = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})(?:\s*日)?")
# a signature date closing the report text: "2015年2月10日" alone on one of the last lines, or
# after the signing body on the same line ("XX县人民政府办公室 2024年1月20日")
SIGNATURE_DATE = re.compile(
    r"^(?P<signer>[^。；;！？!?]{0,30}?)\s*((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$"
)
SIGNATURE_LINES = 4
# Chinese-numeral months and days of a signature ("二〇二四年一月二十日")
CN_MONTH_DAY = re.compile(r"(?<=年)([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
CN_UNITS = dict(zip("一二三四五六七八九", range(1, 10), strict=True))

# Labels and markup in front of a title: "标题: X", "# X", "**X**" (text captures, Markdown)
TITLE_LABEL = re.compile(r"^\s*(?:(?:文章|信息|文件)?(?:标题|题目|名称)|title)\s*[:：]\s*", re.I)
TITLE_MARKUP = re.compile(r"^[\s#>*_=~`\-]+|[\s*_=~`]+$")
# The opening of 总体情况 names the year: "2023年，我县…" / "2023年度，…" / "2023年以来"
YEAR_OPENING = re.compile(r"^\s*((?:19|20)\d{2})\s*年度?(?:[，,]|以来)", re.M)

# Where the agency's name stops in a title: the year, or the name of the report.
AGENCY_BEFORE_YEAR = re.compile(r"^[《“\"]?(.+?)(?:关于)?\s*(?:19|20)\d{2}\s*年")
AGENCY_AFTER_YEAR = re.compile(
    r"^[《“\"]?(?:19|20)\d{2}\s*年度?(.+?)(?:政府信息公开|政务公开|信息公开)"
)
AGENCY_SUFFIXES = re.compile(
    r"(?:政府|人民政府|办公室|局|委员会|委|厅|办|区|县|市|镇|乡|街道|"
    r"旗|州|盟|署|院|中心|所|站|队|会|公司)$"
)
NOT_AGENCY = re.compile(r"^(?:关于|本|我|全)|^(?:人民)?政府$|^(?:机关|单位|部门)$")

CONTENT_FARM = re.compile(
    r"本站为你精心整理|精心整理了.{0,40}范文|范文[,，。]?希望能为你|"
    r"仅供参考|欢迎咨询|免费下载.{0,10}范文"
)
FARM_TOPIC = re.compile(r"精心整理了(.{2,40}?)范文")
INTERPRETATION = re.compile(r"解读|图解|一图读懂|答记者问")
NOTICE = re.compile(r"通知|公告|通告|关于(?:做好|报送|编制|印发|开展)|征求意见|函$")
ANNUAL_TITLE = re.compile(
    r"(?:政府信息公开|政务公开|信息公开).{0,8}(?:年度报告|年报|工作报告)|年度(?:政府)?信息公开报告|"
    r"(?:政府信息公开|信息公开)年报"
)
SUMMARY_TITLE = re.compile(r"成绩单|工作总结|总结|工作情况|综述|亮点|成效|回顾|盘点")
REPORT_OPENING = re.compile(r"年度报告|年报")
DOCUMENT_WORDS = re.compile(r"报告|年报|成绩单|总结|公开工作|解读|通知|公告")


def normalise(text: str | None) -> str:
    """NFKC (full-width digits), Chinese-numeral years as digits, layout spaces removed."""
    if not text:
        return ""
    text = nfkc(text)
    text = CN_YEAR.sub(lambda m: m.group(0).translate(CN_DIGITS), text)
    return SPACE_IN_CJK.sub("", text).strip()


def bare_title(text: str | None) -> str:
    """A title or heading line without a leading label or Markdown markup.

    标题: 平潭综合实验区 -> 平潭综合实验区; # 沐阳县人民政府 -> 沐阳县人民政府."""
    text = (text or "").strip()
    for _ in range(2):  # "**标题：X**", "# 标题: X"
        text = TITLE_LABEL.sub("", TITLE_MARKUP.sub("", text))
    return text.strip()


def _valid_year(value: str | int) -> int | None:
    year = int(value)
    return year if MIN_YEAR <= year <= MAX_YEAR else None


def year_covered(title: str, text: str) -> int | None:
    """The year the report is about: the title's year, else the statistics period, else the
    report's own name in its opening; never the publication date (see `read_metadata`)."""
    m = YEAR_IN_TITLE.search(title)
    if m and _valid_year(m.group(1)):
        return int(m.group(1))
    head = text[:3000]
    for pattern in STAT_PERIOD:
        m = pattern.search(head)
        if m and _valid_year(m.group(1)):
            return int(m.group(1))
    m = REPORT_NAME_IN_TEXT.search(head)
    if m and _valid_year(m.group(1)):
        return int(m.group(1))
    m = YEAR_OPENING.search(head)
    if m and _valid_year(m.group(1)):
        return int(m.group(1))
    return None


def agency_of(title: str) -> str | None:
    """The issuing body named in a title.

    榆次区2014年… -> 榆次区; 2019年XX区政府信息公开… -> XX区; labels and markup are dropped
    (标题: 平潭综合实验区2023年… -> 平潭综合实验区)."""
    title = bare_title(title)
    for pattern in (AGENCY_BEFORE_YEAR, AGENCY_AFTER_YEAR):
        m = pattern.match(title)
        if m:
            name = _agency_name(m.group(1))
            if name:
                return name
    # a title that is nothing but a body's name (the site name in <title>, a heading line)
    if not re.search(r"\d|报告|年报|总结|通知", title):
        return _agency_name(title)
    return None


def _agency_name(raw: str) -> str | None:
    name = bare_title(raw).strip(' 《》“”"，,、:：')
    if (
        2 <= len(name) <= 40
        and re.search(f"[{CJK}]", name)
        and not NOT_AGENCY.match(name)
        and AGENCY_SUFFIXES.search(name)
        and not re.search(r"[。；;，,！？!?]", name)
    ):
        return name
    return None


# "本报告由南平市人民政府信息公开工作领导小组办公室根据…编制": the compiler named in the opening
COMPILER = re.compile(
    r"本(?:年度)?报告由(?P<name>[^，,。；;()（）《]{2,40}?)(?:根据|依据|按照|编制|汇总|负责)"
)
GOVERNMENT_IN_NAME = re.compile(r"^.+?人民政府")


def agency_in_text(text: str) -> str | None:
    """The body named on a line of its own: the heading above the title (# 沐阳县人民政府) or
    the signature above the closing date. Only lines that are nothing but a name count."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    tail = lines[-SIGNATURE_LINES:]
    for line in lines[:2] + tail[::-1]:
        candidate = bare_title(normalise(line))
        m = SIGNATURE_DATE.match(candidate)
        if m:
            candidate = m.group("signer")
        if candidate and not re.search(r"\d", candidate):
            name = _agency_name(candidate)
            if name:
                return name
    m = COMPILER.search(normalise("\n".join(lines[:5])))
    if m:
        # an office compiling for its government: the government publishes the report
        gov = GOVERNMENT_IN_NAME.match(m["name"])
        return _agency_name(gov.group(0) if gov else m["name"])
    return None


def parse_date(raw: str | None) -> str | None:
    """YYYY-MM-DD of 2015年02月10日, 2016-12-16, 2023/1/18 10:21 and the like."""
    if not raw:
        return None
    raw = normalise(raw)
    m = DATE_TEXT.search(raw)
    if not m:
        return None
    try:
        parsed = date_parser.parse(f"{m.group(1)}-{m.group(2)}-{m.group(3)}", yearfirst=True)
    except (ValueError, OverflowError):
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return date(parsed.year, parsed.month, parsed.day).isoformat()


def _cn_number(text: str) -> int:
    """一 .. 三十一 as an int."""
    if "十" not in text:
        return CN_UNITS.get(text, 0)
    tens, _, units = text.partition("十")
    return CN_UNITS.get(tens, 1) * 10 + CN_UNITS.get(units, 0)


def signature_date(text: str) -> str | None:
    """The date under the signature at the end of the report, YYYY-MM-DD."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    for line in lines[-SIGNATURE_LINES:][::-1]:
        line = normalise(line)
        line = CN_MONTH_DAY.sub(
            lambda m: f"{_cn_number(m.group(1))}月{_cn_number(m.group(2))}日", line
        )
        m = SIGNATURE_DATE.match(line)
        if m:
            return parse_date(line[m.start(2) :])
    return None


# error pages served with status 200 (soft 404s)
SOFT_404 = re.compile(
    r"(页面|网页|文章)(不存在|已被?删除|已过期|找不到)|您(访问|查找)的.{0,6}(不存在|已被?删除)"
    r"|404\s*(Not Found|错误)|抱歉.{0,10}(找不到|不存在)"
)


def kind_of(title: str, text: str) -> tuple[str, str]:
    """annual_report | work_summary | other, with the reason."""
    opening = text[:400]
    # a short page saying it does not exist, unless its title names a report
    if len(text) < 600 and SOFT_404.search(text) and not ANNUAL_TITLE.search(title or ""):
        return "other", "soft 404: the page answers 200 but says the document does not exist"
    if CONTENT_FARM.search(opening):
        return (
            "other",
            "content-farm copy: preface '本站为你精心整理…范文' (not a report of record)",
        )
    if title and INTERPRETATION.search(title):
        return "other", "interpretation (解读) of a report, not the report"
    if title and ANNUAL_TITLE.search(title) and not SUMMARY_TITLE.search(title):
        if NOTICE.search(title) and not title.endswith(("报告", "年报")):
            return "other", "notice about annual reports, not a report"
        return "annual_report", "title names an information-disclosure annual report"
    if title and SUMMARY_TITLE.search(title):
        return (
            "work_summary",
            "title names a work summary / news piece (成绩单, 总结), "
            "not the statutory annual report",
        )
    if title and NOTICE.search(title):
        return "other", "notice, not a report"
    if (
        not title
        and REPORT_OPENING.search(opening)
        and any(p.search(text[:3000]) for p in STAT_PERIOD)
    ):
        return (
            "annual_report",
            "untitled, but the text calls itself an annual report and states its statistics period",
        )
    return "other", "title names neither an annual report nor a work summary"


def published_date(
    doc: Document, list_date: str | None = None, text: str | None = None
) -> tuple[str | None, str | None]:
    """(YYYY-MM-DD, source) of the publication: the page's <meta> tags, a labelled date in the
    page (发布时间：…), the date beside the link on the list page the crawler came from, then
    the signature date at the end of the text. Source is meta | label | list | signature."""
    found = parse_date(doc.published_raw)
    if found:
        return found, doc.published_from or "label"
    found = parse_date(list_date)
    if found:
        return found, "list"
    found = signature_date(doc.text if text is None else text)
    if found:
        return found, "signature"
    return None, None


def read_metadata(
    doc: Document, list_title: str | None = None, list_date: str | None = None
) -> ReportMeta:
    """Title, agency, year covered, publication date and kind of a document.

    `list_title`/`list_date` are the link text and date of the list entry the crawler followed
    to this document (captures.list_title, list_date); the title stands in for a missing one.
    The year covered comes only from what the document says about itself (title, statistics
    period, opening); when only the publication date is known the year is left None rather
    than guessed.
    """
    text = normalise(doc.text) if doc.text else ""
    title = bare_title(normalise(doc.title)) or None
    listed = bare_title(normalise(list_title)) or None
    kind, reason = kind_of(title or "", text)
    # the list's link text names the report where the page's title is only a site name; a page
    # that says it does not exist stays what it is, whatever the link promised
    if (
        listed
        and not reason.startswith("soft 404")
        and (title is None or (not DOCUMENT_WORDS.search(title) and DOCUMENT_WORDS.search(listed)))
    ):
        title = listed
        kind, reason = kind_of(title, text)
    if title is None and kind == "other" and CONTENT_FARM.search(text[:400]):
        m = FARM_TOPIC.search(text[:400])
        title = m.group(1) if m else None
    published, source = published_date(doc, list_date, text)
    return ReportMeta(
        title=title,
        agency=(agency_of(title) if title else None) or agency_in_text(text),
        year=year_covered(title or "", text),
        published=published,
        kind=kind,
        kind_reason=reason,
        published_source=source,
    )
