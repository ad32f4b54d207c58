"""Numbers as reports print them: zero markers, signs, full-width digits, money, numerals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from postprocess.storage.nfkc import nfkc

# A count printed as one of these (or left blank) means 0; the raw text is kept beside it.
ZERO_MARKERS = frozenset({"", "0", "—", "——", "-", "--", "－", "/", "／", "无", "–"})
# money units normalised to 万元 (fields.md: amount_10k_yuan)
MONEY_UNITS = {"亿元": 10000.0, "万元": 1.0, "元": 0.0001}

_NUMBER = re.compile(
    r"^(?P<sign>[+\-])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<approx>余|多|左右)?\s*(?P<unit>亿元|万元|元|件|条|项|个|次|人次|起|%)?$"
)

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMERAL = "[零〇一二两三四五六七八九十百千万]+"


@dataclass(frozen=True)
class Value:
    value: float | None  # None when the text is not a number at all
    unit: str | None = None
    approx: bool = False


_FIGURE = re.compile(r"[\d〇,.]+")


def normalize(text: str) -> str:
    """Full-width digits and punctuation to ASCII; whitespace removed."""
    text = nfkc(text or "")
    text = text.replace("〇", "0") if _FIGURE.fullmatch(text) else text
    text = text.replace("，", ",").replace("－", "-").replace("−", "-")
    return "".join(text.split())  # every whitespace character out (str.split's set is re's \s)


# OCR reads 0 as O/o and 1 as l/I; inside a run of digits they are figures
_OCR_NUMBER = re.compile(r"^[+\-]?[\dOolI][\dOolI,.]*(?:亿元|万元|元)?$")
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1"})


def ocr_digits(text: str) -> str:
    """'1O5' -> '105', 'l2' -> '12'; text that is not a digit run with such letters is kept."""
    if _OCR_NUMBER.match(text) and (any(c.isdigit() for c in text) or len(text) == 1):
        return text.translate(_OCR_DIGITS)
    return text


def is_value_text(raw: str) -> bool:
    """True when a table cell holds a figure (or a zero marker), not a label."""
    return parse_value(raw).value is not None


@lru_cache(maxsize=65536)  # pure, and called for every candidate reading of every cell
def parse_value(raw: str, money: bool = False) -> Value:
    """A table cell as a number; zero markers give 0; money cells are normalised to 万元."""
    text = ocr_digits(normalize(raw))
    if text in ZERO_MARKERS or raw.strip() in ZERO_MARKERS:
        return Value(0.0, "万元" if money else None)
    m = _NUMBER.match(text)
    if not m:
        return Value(None)
    number = float(m["num"].replace(",", ""))
    if m["sign"] == "-":
        number = -number
    unit = m["unit"]
    if unit in MONEY_UNITS:
        return Value(round(number * MONEY_UNITS[unit], 6), unit, bool(m["approx"]))
    if money:
        return Value(number, "万元", bool(m["approx"]))
    return Value(number, unit, bool(m["approx"]))


def cn2num(text: str) -> int | None:
    """A Chinese numeral (十四, 两, 一百零五, 3千) as an integer; None if it is not one."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
        else:
            return None
    return total + section + (digit or 0)


def number_of(text: str) -> float | None:
    """Arabic (with separators, full-width) or Chinese numeral to a number."""
    norm = normalize(text).replace(",", "")
    try:
        return float(norm)
    except ValueError:
        value = cn2num(norm)
        return float(value) if value is not None else None
