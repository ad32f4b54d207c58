"""Printed row and column labels of the 2019/2021 tables -> canonical keys (fields.md).

Matching works on normalised labels (full-width punctuation and digits folded, spaces
removed), by distinctive fragments, so （一） and (一), 吴 忠 市 and wrapped PDF labels
all reach the same key. A label that matches nothing is left to the caller to flag.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# (fragment, key) pairs, first match wins; tuples, so that matching can be cached
LabelTable = tuple[tuple[str, str], ...]

# --- section 二 (proactive) -------------------------------------------------------
# (fragment, row_key); first match wins, so the longer 2021 label comes before 规范性文件
PROACTIVE_ROWS: LabelTable = (
    ("规章", "regulations"),
    ("规范性文件", "normative_documents"),
    ("行政许可", "licensing"),
    ("其他对外管理服务", "other_services"),
    ("行政处罚", "penalty"),
    ("行政强制", "coercion"),
    ("行政事业性收费", "fees"),
    ("政府集中采购", "procurement"),
    ("集中采购", "procurement"),
)
PROACTIVE_COLS: LabelTable = (
    ("新制作", "new_made"),
    ("新公开", "new_published"),
    ("公开总数", "total_published"),
    ("制发", "issued"),
    ("废止", "repealed"),
    ("现行有效", "in_force"),
    ("上一年项目", "items_last_year"),
    ("增/减", "items_change"),
    ("增减", "items_change"),
    ("处理决定", "decisions"),
    ("收费金额", "amount_10k_yuan"),
    ("采购总金额", "amount_10k_yuan"),
    ("采购项目", "projects"),
)
MONEY_COLS = frozenset({"amount_10k_yuan"})
FORMAT_2019_COLS = frozenset(
    {"new_made", "new_published", "total_published", "items_last_year", "items_change", "projects"}
)
FORMAT_2021_COLS = frozenset({"issued", "repealed", "in_force"})

# --- section 三 (requests) ----------------------------------------------------------
REQUEST_COLS: LabelTable = (
    ("自然人", "natural_person"),
    ("商业企业", "commercial"),
    ("科研机构", "research"),
    ("社会公益", "public_interest"),
    ("法律服务", "legal_service"),
    ("其他", "other_org"),
    ("总计", "total"),
    ("合计", "total"),
)
REQUEST_COL_ORDER = [
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
    "total",
]
# header labels that only group other columns
REQUEST_COL_PARENTS = ("申请人情况", "法人或其他组织", "勾稽关系", "本列数据")

# top-level rows, matched by fragment
REQUEST_TOP_ROWS: LabelTable = (
    ("本年新收", "new"),
    ("上年结转", "carried_over"),
    ("结转下年", "carried_forward"),
)
# groups （一）…（七） of 三、本年度办理结果, with a fragment confirming the numeral
REQUEST_GROUPS: dict[str, tuple[str, str]] = {
    "一": ("予以公开", "granted"),
    "二": ("部分公开", "partial"),
    "三": ("不予公开", "denied"),
    "四": ("无法提供", "unable"),
    "五": ("不予处理", "rejected"),
    "六": ("其他处理", "other"),
    "七": ("总计", "total_handled"),
}
# sub-rows per group: item number -> (fragments, any of which confirms; row_key)
REQUEST_ITEMS: dict[str, dict[int, tuple[tuple[str, ...], str]]] = {
    "denied": {
        1: (("国家秘密",), "denied_state_secret"),
        2: (("法律", "法规", "禁止"), "denied_prohibited_by_law"),
        3: (("三安全", "一稳定", "危及"), "denied_three_safety_one_stability"),
        4: (("第三方",), "denied_third_party"),
        5: (("内部事务",), "denied_internal_affairs"),
        6: (("过程性",), "denied_process_info"),
        7: (("执法案卷",), "denied_enforcement_file"),
        8: (("行政查询",), "denied_admin_inquiry"),
    },
    "unable": {
        1: (("不掌握",), "unable_not_held"),
        2: (("另行制作", "没有现成"), "unable_needs_creation"),
        3: (("不明确", "补正"), "unable_unclear"),
    },
    "rejected": {
        1: (("信访", "举报", "投诉"), "rejected_petition"),
        2: (("重复申请",), "rejected_repeat"),
        3: (("出版物",), "rejected_publication"),
        4: (("大量反复", "无正当理由"), "rejected_mass_repeat"),
        5: (("确认", "重新出具"), "rejected_confirm_reissue"),
    },
    "other": {
        1: (("逾期不补正", "不补正"), "other_no_correction"),
        2: (("缴纳费用", "收费通知"), "other_unpaid_fee"),
        3: (("其他",), "other_other"),
    },
}
FORMAT_2021_ROWS = frozenset({"other_no_correction", "other_unpaid_fee", "other_other"})

# --- section 四 (appeals) -------------------------------------------------------------
APPEAL_GROUPS: LabelTable = (
    ("未经复议", "litigation_direct"),
    ("直接起诉", "litigation_direct"),
    ("复议后起诉", "litigation_after_review"),
    ("复议后", "litigation_after_review"),
    ("行政复议", "review"),
)
APPEAL_COLS: LabelTable = (
    ("维持", "upheld"),
    ("纠正", "corrected"),
    ("其他结果", "other"),
    ("尚未审结", "pending"),
    ("其他", "other"),
    ("未审结", "pending"),
    ("总计", "total"),
    ("合计", "total"),
)
APPEAL_ROW_ORDER = ["review", "litigation_direct", "litigation_after_review"]
APPEAL_COL_ORDER = ["upheld", "corrected", "other", "pending", "total"]

# markers that open a section while scanning table rows
PROACTIVE_MARKERS = ("第二十条", "信息内容")
REQUEST_MARKERS = ("申请人情况", "勾稽关系", "本年新收")
APPEAL_MARKERS = ("行政复议",)
REQUEST_TITLES = ("收到和处理政府信息公开申请",)

_PUNCT = str.maketrans(
    {
        "（": "(",
        "）": ")",
        "、": ".",
        "，": ",",
        "：": ":",
        "“": '"',
        "”": '"',
        "．": ".",
        "／": "/",
        "－": "-",
    }
)


_OCR_ITEM = re.compile(r"(?<![A-Za-z])[lI](?=[.,])")  # OCR's 'l.属于国家秘密'
FUZZY_MIN = 4  # fragments this long may match with one character misread


@lru_cache(maxsize=65536)  # pure, and called for every label of every candidate reading
def norm_label(text: str) -> str:
    """Fold width and punctuation, drop whitespace: '（一） 予 以公开' -> '(一)予以公开'."""
    text = unicodedata.normalize("NFKC", text or "").translate(_PUNCT)
    return _OCR_ITEM.sub("1", re.sub(r"\s+", "", text))


def fuzzy_in(fragment: str, norm: str, min_len: int = FUZZY_MIN) -> bool:
    """The fragment occurs in `norm` with at most one character misread (OCR), for fragments
    of `min_len` characters or more."""
    n = len(fragment)
    if n < min_len:
        return False
    for i in range(len(norm) - n + 1):
        misses = 0
        for a, b in zip(fragment, norm[i : i + n], strict=True):
            if a != b:
                misses += 1
                if misses > 1:
                    break
        if misses <= 1:
            return True
    return False


@lru_cache(maxsize=65536)  # pure, and called for every header cell of every reading
def match(label: str, table: LabelTable) -> str | None:
    """First key whose fragment occurs in the normalised label; failing that, the only key
    whose fragment occurs with one character misread."""
    norm = norm_label(label)
    for fragment, key in table:
        if fragment in norm:
            return key
    fuzzy = {key for fragment, key in table if fuzzy_in(fragment, norm)}
    return fuzzy.pop() if len(fuzzy) == 1 else None


def match_all(label: str, table: LabelTable) -> list[tuple[str, str]]:
    """(key, fragment) of every fragment in the label, in reading order, for header cells
    whose labels ran together (本年新制作数量本年新公开数量对外公开总数量)."""
    return list(_match_all(label, table))


@lru_cache(maxsize=65536)
def _match_all(label: str, table: LabelTable) -> tuple[tuple[str, str], ...]:
    norm = norm_label(label)
    hits = sorted(
        (m.start(), -len(fragment), key, fragment)
        for fragment, key in table
        for m in re.finditer(re.escape(fragment), norm)
    )
    out: list[tuple[str, str]] = []
    end = 0
    for start, neg_len, key, fragment in hits:
        if start >= end and key not in (k for k, _ in out):
            out.append((key, fragment))
            end = start - neg_len
    return tuple(out)


_GROUP = re.compile(r"\(([一二三四五六七])\)")
_ITEM = re.compile(r"(?<!\d)(?<!\d\.)(\d{1,2})\.(?!\d)|\((\d{1,2})\)")
GROUP_ALIASES = {"total_handled": ("合计",)}


@lru_cache(maxsize=65536)  # pure, and called for every row label of section 三
def request_row(label: str, group: str | None) -> tuple[str | None, str | None]:
    """(row_key, group) for a requests row label, given the group of the rows above.

    row_key is None when the label only names a group (（三）不予公开 alone) or is not
    recognised; the group in force after this row is returned either way.
    """
    norm = norm_label(label)
    for fragment, key in REQUEST_TOP_ROWS:
        if fragment in norm:
            return key, None
    if not _GROUP.search(norm):
        top = match(norm, REQUEST_TOP_ROWS)
        if top and not _ITEM.search(norm):
            return top, None
    m = _GROUP.search(norm)
    if m:
        fragment, key = REQUEST_GROUPS[m.group(1)]
        rest = norm[m.end() :]
        head = re.split(r"\d", rest, maxsplit=1)[0]
        # a group label cut by a page break keeps only its first characters: （四）无
        if (
            fragment not in rest
            and not fuzzy_in(fragment, rest)
            # right after its numeral, even a two-character name may have one misread: 总汁
            and not fuzzy_in(fragment, rest[: len(fragment)], min_len=2)
            and not any(a in rest for a in GROUP_ALIASES.get(key, ()))
            and not (head and fragment.startswith(head))
        ):
            return None, None
        if key not in REQUEST_ITEMS:
            return key, None
        if _ITEM.search(rest):
            return _sub_item(rest, key), key
        return ("other" if key == "other" else None), key
    if _ITEM.search(norm):
        # wording and number agreeing in the current group; else in exactly one group (the
        # group label is missing or printed elsewhere, as a PDF's vertical label); else the
        # current group's looser reading
        if group in REQUEST_ITEMS and (item := _sub_item(norm, group, exact=True)):
            return item, group
        found = {(g, k) for g in REQUEST_ITEMS if (k := _sub_item(norm, g, exact=True))}
        if len(found) == 1:
            found_group, item = found.pop()
            return item, found_group
        if group in REQUEST_ITEMS:
            return _sub_item(norm, group), group
    for fragment, key in REQUEST_GROUPS.values():
        if norm == fragment or norm.endswith(")" + fragment):
            return (key if key not in REQUEST_ITEMS or key == "other" else None), key
    return None, group


def _sub_item(norm: str, group: str, exact: bool = False) -> str | None:
    """A numbered sub-row of a group: the wording decides, the printed number breaks ties."""
    items = REQUEST_ITEMS[group]
    m = _ITEM.search(norm)
    number = int(m.group(1) or m.group(2)) if m else None
    text = norm[m.end() :] if m else norm
    hits = [n for n, (frags, _) in items.items() if any(f in text for f in frags)]
    if exact:
        return items[hits[0]][1] if len(hits) == 1 and hits[0] == number else None
    if not hits:
        # a group has a handful of items: three-character wordings may carry one misread
        hits = [n for n, (frags, _) in items.items() if any(fuzzy_in(f, text, 3) for f in frags)]
    if number in hits:
        return items[number][1]
    if len(hits) == 1:
        return items[hits[0]][1]
    return None
