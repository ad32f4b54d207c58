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
            r"(?:主动)?公开(?:发布)?(?P<what>[^。;,，\d]{0,14}?)信息(?:数|总数|数量)?(?:为|共|达)?"
            + _NUM
            + r"\s*条"
        ),
    ),
    # departments often write 发布 for 公开: 全年共发布政务信息1200条
    (
        "proactive_total",
        re.compile(
            r"(?:共|累计|全年)[^。;,，\d]{0,12}?发布(?P<what>[^。;,，\d]{0,10}?)(?:政府|政务)信息"
            + _NUM
            + r"\s*条"
        ),
    ),
    # 本年新收 / 新受理 N 件: the new requests by name, preferred over a sentence's total
    (
        "requests_new",
        re.compile(
            r"(?P<new>(?:本年度?)?新(?:收|受理|接收|收到))(?P<mid>[^。;,，\d]{0,20}?)"
            + r"[^。;,，\d]{0,6}?"
            + _NUM
            + r"\s*(?:件|起|宗|份|条)"
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
    # departments: 依申请公开信息0件 / 共办理依申请公开5件
    (
        "requests_new",
        re.compile(
            r"(?P<mid>)(?:受理|收到|接到|接收|办理)?依申请公开(?:政府)?(?:信息|事项)?(?:申请)?"
            r"(?:共|为|数)?" + _NUM + r"\s*(?:件|起|宗|份|条)"
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
# Results named together with one number: "予以公开及部分公开42件" is a sum, not two figures.
RESULT_KEYS = {
    "同意公开": "requests_granted",
    "予以公开": "requests_granted",
    "全部公开": "requests_granted",
    "部分公开": "requests_partial",
    "不予公开": "requests_denied",
}
_RESULT = "(?:" + "|".join(RESULT_KEYS) + ")"
COMBINED = re.compile(
    "(?P<a>"
    + _RESULT
    + ")(?:及|和|与|、|以及|或)(?P<b>"
    + _RESULT
    + r")[^。;,，\d]{0,8}?"
    + _NUM
    + r"\s*(?:件|条)"
)
# keys that are totals: a "其中…" clause after them is one of their parts (其中同意公开2件 is a
# figure of its own)
TOTAL_KEYS = ("proactive_total", "requests_new", "consultations")
# a sub-count follows the total it belongs to: "…3460条，其中政府采购信息189条"
SUB_COUNT = re.compile(r"^\(?(?:其中|包括|含|内含|另有|另)")
# a category between 公开 and 信息 makes a count partial (公开政府采购信息189条); these do not
GENERIC_WHAT = re.compile(
    r"政府|政务|各类|各种|各项|相关|有关|本(?:机关|单位|部门|局|委|办)|[的等类]|"
    r"[省市县区镇乡]级|本级|各级|全[省市县区镇乡]|[省市县区]政府"
)
# requests counted together with those carried over from last year are not new requests
CARRIED = re.compile(r"上年度?结转|结转|上年度?遗留|转入")
CARRIED_PART = re.compile(r"(?:上年度?结转|结转)[^。;,，\d]{0,8}?" + _NUM + r"\s*件")

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
ZERO_REQUESTS = re.compile(
    r"(?:没有|尚未|均未|未)(?:接到|收到|受理)[^。;,，]{0,30}?申请[^。;,，]*|"
    r"(?:无|未发生|没有发生|未产生|未有)依申请公开[^。;,，]*"
)
ZERO_APPEAL = {
    "reviews": re.compile(NEGATION + r"[^。;]{0,30}?行政复议"),
    "lawsuits": re.compile(NEGATION + r"[^。;]{0,40}?行政诉讼"),
}
ZERO_FEES = re.compile(
    r"均未收费|未收取任何费用|未收取(?:相关|任何)?(?:费用|信息处理费)|不收取任何费用|均免费|"
    r"均为免费|免费(?:提供|进行|答复|办理)|没有收取(?:任何)?费用|无收费|未(?:产生|发生)任何?收费"
)
# a statement about fees counts when its sentence, or the one before, is about applications
FEE_CONTEXT = re.compile(r"公开|申请|收费|费用|减免")

# Every count pattern above (NUMBER_RULES, COMBINED, CARRIED_PART, UNABLE) ends with its unit:
# a sentence without one of these characters matches none of them (most sentences).
UNIT_CHARS = "条件起宗份次元"
_HAS_UNIT = re.compile(f"[{UNIT_CHARS}]")

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


def _clause_end(norm: str, pos: int) -> int:
    """End of the clause holding pos; a parenthesis right after a number belongs to it."""
    ends = [i for i in (norm.find(c, pos) for c in ",;。") if i != -1]
    return min(ends) if ends else len(norm)


def _channel_list(text: str) -> bool:
    """通过门户网站、政务微博、微信公众号等…: several channels together make a total."""
    return "、" in text and "等" in text


def _candidate(key: str, m: re.Match, norm: str) -> int | None:
    """Score of a match (higher is better), None when it counts something else."""
    groups = m.groupdict()
    if key == "requests_new" and any(w in (groups.get("mid") or "") for w in MID_NOT_REQUEST):
        return None
    start = _clause_start(norm, m.start())
    clause = norm[start : m.end()]
    if key in TOTAL_KEYS and SUB_COUNT.match(clause) and not groups.get("new"):
        return None  # "其中…": a part of the total before it
    if any(w in clause for w in NOT_FOI) and not _channel_list(clause):
        return None
    active = "主动" in m.group(0)
    if any(w in norm[: m.start()] for w in NOT_FOI) and not active and not _channel_list(norm):
        return None  # 微信 … 共发布政务公开类信息230条: a channel's posts, not the total
    score = 2 * active + any(w in clause for w in TOTAL_WORDS)
    if key == "proactive_total" and GENERIC_WHAT.sub("", groups.get("what") or ""):
        score -= 4  # 公开政府采购信息: one category, kept only when no total is stated
    if key == "requests_new":
        if groups.get("new"):
            score += 4  # named as new
        elif CARRIED.search(norm[start : _clause_end(norm, m.end())]):
            return None  # counted together with carried-over requests: see _new_minus_carried
    return score


def narrative_stats(text: str) -> list[Stat]:
    """Summary figures stated in the text, each with the sentence it came from."""
    found: dict[str, Stat] = {}
    best: dict[str, int] = {}
    previous = ""
    for sentence in sentences(text):
        norm = normalize(sentence)
        counts = _HAS_UNIT.search(norm) is not None
        for key, pattern in NUMBER_RULES if counts else ():
            for m in pattern.finditer(norm):
                if _in_combined(m, norm):
                    continue  # one part of "A及B共N": N is neither A nor B
                score = _candidate(key, m, norm)
                value = number_of(m["num"])
                if score is None or value is None or score <= best.get(key, -1):
                    continue
                raw = norm[m.start("pre") if m["pre"] in ("约", "近") else m.start("num") : m.end()]
                approx = bool(m["approx"]) or m["pre"] in ("约", "近")
                found[key] = Stat(key, value, raw, approx, "sentence", sentence)
                best[key] = score
        if counts:
            _combined_results(found, sentence, norm)
            _new_minus_carried(found, sentence, norm)
        _zero_stats(found, sentence, norm, previous)
        previous = norm
        if counts and "requests_unable" not in found:
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


def _in_combined(m: re.Match, norm: str) -> bool:
    return any(c.start() <= m.start() < c.end() for c in COMBINED.finditer(norm))


def _combined_results(found: dict[str, Stat], sentence: str, norm: str) -> None:
    """A part of "A及B共N件" is stored only where the sentence gives the other part
    (予以公开及部分公开共42件,其中部分公开2件 -> granted 40)."""
    for m in COMBINED.finditer(norm):
        a, b = RESULT_KEYS[m["a"]], RESULT_KEYS[m["b"]]
        total = number_of(m["num"])
        if a == b or total is None or m["approx"]:
            continue
        for known, missing in ((a, b), (b, a)):
            part = found.get(known)
            if part is not None and part.evidence == sentence and missing not in found:
                raw = f"{norm[m.start() : m.end()]} - {part.raw}"
                found[missing] = Stat(missing, total - part.value, raw, False, "sentence", sentence)


def _new_minus_carried(found: dict[str, Stat], sentence: str, norm: str) -> None:
    """共受理申请15件(含上年结转3件): new requests are 15 - 3 when nothing names them."""
    carried = CARRIED_PART.search(norm)
    if "requests_new" in found or not carried:
        return
    for key, pattern in NUMBER_RULES:
        if key != "requests_new":
            continue
        for m in pattern.finditer(norm):
            if m.groupdict().get("new") or any(w in m["mid"] for w in MID_NOT_REQUEST):
                continue
            total, part = number_of(m["num"]), number_of(carried["num"])
            if total is None or part is None or carried.start() < m.end() - 1 or part > total:
                continue
            raw = f"{norm[m.start('num') : m.end()]} - {norm[carried.start() : carried.end()]}"
            approx = bool(m["approx"] or carried["approx"])
            found[key] = Stat(key, total - part, raw, approx, "sentence", sentence)
            return


def _zero_stats(found: dict[str, Stat], sentence: str, norm: str, previous: str = "") -> None:
    """Statements that something did not happen: no requests, no reviews, no fees."""
    m = ZERO_FEES.search(norm)
    if "fees_yuan" not in found and m and FEE_CONTEXT.search(previous + norm):
        found["fees_yuan"] = Stat("fees_yuan", 0, m.group(0), False, "sentence", sentence)
    if "公开" not in norm:
        return
    zero = ZERO_REQUESTS.search(norm)
    if "requests_new" not in found and zero is not None:
        if not any(w in zero.group(0) for w in MID_NOT_REQUEST):
            found["requests_new"] = Stat(
                "requests_new", 0, zero.group(0), False, "sentence", sentence
            )
    for key, pattern in ZERO_APPEAL.items():
        m = pattern.search(norm)
        if key not in found and m:
            found[key] = Stat(key, 0, m.group(0), False, "sentence", sentence)
