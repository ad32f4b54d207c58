"""Key figures stated in sentences (pre-2019 narrative reports and free text).

Each rule is a regex over one sentence; a stat keeps the sentence as evidence and the
approximate flag when the report says 余/多/约. Sentences about page visits, Weibo posts
or service counts never match: every rule names the FOI object it counts.
"""

from __future__ import annotations

import re

from postprocess.extract.model import Stat
from postprocess.extract.values import CN_NUMERAL, normalize, number_of

_NUM = (
    rf"(?P<pre>约|近|共计|共|合计|总计)?(?P<num>\d[\d,]*(?:\.\d+)?|{CN_NUMERAL})(?P<approx>余|多)?"
)
_GAP = r"[^。;,，\d]{0,12}?"

# (key, pattern); the first sentence that matches a key wins
NUMBER_RULES: list[tuple[str, re.Pattern]] = [
    (
        "proactive_total",
        re.compile(
            r"(?:主动)?公开(?:发布)?[^。;,，\d]{0,14}?信息(?:数|总数|数量)?(?:为|共|达)?"
            + _NUM
            + r"\s*条"
        ),
    ),
    (
        "requests_new",
        re.compile(
            r"(?:受理|收到|接到|接收)(?P<mid>[^。;,，\d]{0,20}?)申请"
            + r"[^。;,，\d]{0,6}?"
            + _NUM
            + r"\s*(?:件|起|宗|份|条)"
        ),
    ),
    (
        "requests_granted",
        re.compile(r"(?:同意公开|予以公开|全部公开)" + _GAP + _NUM + r"\s*(?:件|条)"),
    ),
    ("requests_partial", re.compile(r"部分公开" + _GAP + _NUM + r"\s*(?:件|条)")),
    ("requests_denied", re.compile(r"不予公开" + _GAP + _NUM + r"\s*(?:件|条)")),
    ("consultations", re.compile(r"咨询" + r"[^。;,，\d]{0,10}?" + _NUM + r"\s*人次")),
    ("reviews", re.compile(r"行政复议(?:申请|案件)?" + _GAP + _NUM + r"\s*(?:件|起|宗)")),
    ("lawsuits", re.compile(r"行政诉讼(?:案件)?" + _GAP + _NUM + r"\s*(?:件|起|宗)")),
    (
        "fees_yuan",
        re.compile(r"(?:收取|收费)[^。;]{0,30}?费用?(?:共|合计|总计|为)?" + _NUM + r"\s*元"),
    ),
]
# requests_unable: the parts a narrative report names (信息不存在, 非本机关掌握, ...) summed
UNABLE = re.compile(
    r"(?:信息不存在|非本机关(?:所)?掌握|不属于本(?:机关|单位)(?:公开|掌握)?(?:范围)?|"
    r"申请内容不明确)" + _GAP + _NUM + r"\s*件"
)
# a sentence mentioning one of these is about something else (web traffic, media, services)
NOT_FOI = ("访问", "点击", "浏览", "微博", "微信", "图片", "视频", "代办", "短信", "热线")
MID_NOT_REQUEST = ("复议", "咨询", "投诉", "举报", "信访", "诉讼")

NEGATION = (
    r"(?:未发生|没有发生|未收到|没有收到|未接到|没有接到|尚未接到|尚未收到|未出现|没有出现|无)"
)
# 没有接到依申请公开事项的申请 / 尚未接到…书面申请 => 0 requests
ZERO_REQUESTS = re.compile(r"(?:没有|尚未|均未|未)(?:接到|收到|受理)[^。;,，]{0,30}?申请[^。;,，]*")
ZERO_APPEAL = {
    "reviews": re.compile(NEGATION + r"[^。;]{0,30}?行政复议"),
    "lawsuits": re.compile(NEGATION + r"[^。;]{0,40}?行政诉讼"),
}
ZERO_FEES = re.compile(
    r"均未收费|未收取任何费用|未收取(?:相关)?费用|不收取任何费用|均免费|免费(?:提供|进行|答复)|没有收取(?:任何)?费用"
)

_SENTENCE = re.compile(r"[^。;；!?！？\n]+[。;；!?！？]?")
_LINE_END = re.compile(r"[。;；:：!?！？]\s*$")
WRAPPED_LINE = 25  # a longer line without closing punctuation is a PDF line wrap


def paragraphs(text: str) -> list[str]:
    """Lines rejoined where a PDF text layer wrapped a paragraph."""
    out: list[str] = []
    carry = ""
    for line in (text or "").splitlines():
        line = line.strip()
        if "|" in line:
            out.extend(filter(None, [carry, line]))
            carry = ""
            continue
        carry += line
        if len(line) < WRAPPED_LINE or _LINE_END.search(line):
            out.append(carry)
            carry = ""
    if carry:
        out.append(carry)
    return out


def sentences(text: str) -> list[str]:
    return [s.strip() for p in paragraphs(text) for s in _SENTENCE.findall(p) if s.strip()]


TOTAL_WORDS = ("共", "累计", "全年", "总计", "合计")


def _clause_start(norm: str, pos: int) -> int:
    return max(norm.rfind(",", 0, pos), norm.rfind("，", 0, pos), norm.rfind(":", 0, pos)) + 1


def _candidate(key: str, m: re.Match, norm: str) -> int | None:
    """Score of a match (higher is better), None when it counts something else."""
    if key == "requests_new" and any(w in m["mid"] for w in MID_NOT_REQUEST):
        return None
    clause = norm[_clause_start(norm, m.start()) : m.end()]
    if any(w in clause for w in NOT_FOI):
        return None
    active = "主动" in m.group(0)
    if any(w in norm[: m.start()] for w in NOT_FOI) and not active:
        return None  # 微信 … 共发布政务公开类信息230条: a channel's posts, not the total
    return 2 * active + any(w in clause for w in TOTAL_WORDS)


def narrative_stats(text: str) -> list[Stat]:
    """Summary figures stated in the text, each with the sentence it came from."""
    found: dict[str, Stat] = {}
    best: dict[str, int] = {}
    for sentence in sentences(text):
        norm = normalize(sentence)
        for key, pattern in NUMBER_RULES:
            for m in pattern.finditer(norm):
                score = _candidate(key, m, norm)
                value = number_of(m["num"])
                if score is None or value is None or score <= best.get(key, -1):
                    continue
                raw = norm[m.start("pre") if m["pre"] in ("约", "近") else m.start("num") : m.end()]
                approx = bool(m["approx"]) or m["pre"] in ("约", "近")
                found[key] = Stat(key, value, raw, approx, "sentence", sentence)
                best[key] = score
        _zero_stats(found, sentence, norm)
        if "requests_unable" not in found:
            parts = list(UNABLE.finditer(norm))
            values = [number_of(m["num"]) for m in parts]
            if parts and all(v is not None for v in values):
                found["requests_unable"] = Stat(
                    "requests_unable",
                    sum(v for v in values if v is not None),
                    " + ".join(norm[m.start() : m.end()] for m in parts),
                    any(bool(m["approx"]) for m in parts),
                    "sentence",
                    sentence,
                )
    return list(found.values())


def _zero_stats(found: dict[str, Stat], sentence: str, norm: str) -> None:
    """Statements that something did not happen: no requests, no reviews, no fees."""
    if "公开" not in norm:
        return
    if "requests_new" not in found and (m := ZERO_REQUESTS.search(norm)):
        if not any(w in m.group(0) for w in MID_NOT_REQUEST):
            found["requests_new"] = Stat("requests_new", 0, m.group(0), False, "sentence", sentence)
    for key, pattern in ZERO_APPEAL.items():
        m = pattern.search(norm)
        if key not in found and m:
            found[key] = Stat(key, 0, m.group(0), False, "sentence", sentence)
    m = ZERO_FEES.search(norm)
    if "fees_yuan" not in found and m:
        found["fees_yuan"] = Stat("fees_yuan", 0, m.group(0), False, "sentence", sentence)
