"""Shortcuts the extractor takes for speed give what the long way gives: checked here."""

from __future__ import annotations

import random
import re
import re._constants as sre_constants
import re._parser as sre_parse
import unicodedata

import pytest

from postprocess.extract import clean, narrative
from postprocess.extract.grids import cell_text
from postprocess.extract.values import normalize
from postprocess.storage import nfkc as nfkc_module
from postprocess.storage.nfkc import nfkc

# a pattern's last element: \s* then one unit or a group of alternatives
_TAIL = re.compile(r"\\s\*(?:\(\?:(?P<alts>[^()]*)\)|(?P<unit>[^()|\\]+))$")

COUNT_PATTERNS = [
    *(pattern for _, pattern in narrative.NUMBER_RULES),
    narrative.COMBINED,
    narrative.CARRIED_PART,
    narrative.UNABLE,
]


@pytest.mark.parametrize("pattern", COUNT_PATTERNS, ids=lambda p: p.pattern[-12:])
def test_every_count_pattern_needs_a_unit_character(pattern):
    tail = _TAIL.search(pattern.pattern)
    assert tail, pattern.pattern
    units = tail["alts"].split("|") if tail["alts"] else [tail["unit"]]
    assert all(any(c in narrative.UNIT_CHARS for c in unit) for unit in units), units


def test_sentences_without_a_unit_give_no_count_but_zero_statements_still_count():
    stats = narrative.narrative_stats("本年度未收到政府信息公开申请。公开信息一千二百。")
    assert [(s.key, s.value) for s in stats] == [("requests_new", 0)]
    stats = narrative.narrative_stats("全年主动公开政府信息1200条。")
    assert [(s.key, s.value) for s in stats] == [("proactive_total", 1200.0)]


def test_nfkc_equals_unicodedata_on_every_character():
    wrong = [
        cp for cp in range(0x110000) if nfkc(chr(cp)) != unicodedata.normalize("NFKC", chr(cp))
    ]
    assert wrong == []
    # the table stays bounded whatever it meets (a text of every character)
    "".join(map(chr, range(0x110000))).translate(nfkc_module._NFKD)
    assert len(nfkc_module._NFKD) == nfkc_module.CACHED


# characters that compose, reorder or decompose: combining marks, Hangul jamo and syllables,
# Indic vowel signs that compose with a preceding starter, full-width and compatibility forms
_POOL = [
    chr(c)
    for c in [
        *range(0x41, 0x7B),
        *range(0xC0, 0x180),
        *range(0x300, 0x350),
        *range(0x1100, 0x1120),
        *range(0x1161, 0x1176),
        *range(0x11A8, 0x11C3),
        *range(0xAC00, 0xAC20),
        *range(0x3000, 0x3020),
        *range(0xFF01, 0xFF60),
        *range(0xF900, 0xF910),
        0x0B47, 0x0B3E, 0x0B56, 0x0B57, 0x0CC6, 0x0CD5, 0x0DD9, 0x0DCF, 0x1025, 0x102E,
        0x2F00, 0x3131, 0x3200, 0x32A4, 0x1D15E, 0x1D165, 0x2F800, 0x0,
    ]
]  # fmt: skip


def test_nfkc_equals_unicodedata_on_mixed_sequences():
    rng = random.Random(7)
    for _ in range(50000):
        text = "".join(rng.choice(_POOL) for _ in range(rng.randint(1, 8)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)
    report = "２０２３年，本机关共收到申请１２件（其中上年结转２件）。\u3000ａｂ ﾃｽﾄ ㈠ ⑴ ½"
    assert nfkc(report) == unicodedata.normalize("NFKC", report)


def _required(items) -> set[str] | None:
    """Characters one of which every match of a parsed pattern holds (None: not found)."""
    for op, av in items:
        found = _firsts(op, av)
        if found is not None:
            return found
    return None


def _firsts(op, av) -> set[str] | None:
    c = sre_constants
    if op is c.LITERAL:
        return {chr(av)}
    if op is c.IN:
        out = set()
        for kind, value in av:
            if kind is not c.LITERAL:
                return None
            out.add(chr(value))
        return out
    if op is c.BRANCH:
        out = set()
        for branch in av[1]:
            found = _required(branch)
            if found is None:
                return None
            out |= found
        return out
    if op is c.SUBPATTERN:
        return _required(av[3])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
        return _required(av[2])
    return None  # optional, an assertion, a class: says nothing


def test_required_characters_of_a_pattern():
    def of(pattern):
        return _required(sre_parse.parse(pattern))

    assert of("(?:用|使用)?(?:手机|微信)扫") == {"手", "微"}
    assert of(r"\s*[【\[]x|y+") == {"【", "[", "y"}
    assert of("a?b*") is None


@pytest.mark.parametrize("pattern", clean.INLINE_CHROME, ids=lambda p: p.pattern[:8])
def test_every_inline_chrome_match_holds_a_hint_character(pattern):
    assert not pattern.flags & re.IGNORECASE
    required = _required(sre_parse.parse(pattern.pattern, pattern.flags))
    assert required is not None and required <= set(clean.INLINE_CHROME_CHARS)


def test_nfkc_characters_it_skips_never_change():
    """The characters nfkc passes over untouched are NFKC-stable alone, after a starter and
    before a combining mark's own decomposition decides (ccc 0, no decomposition, no
    composition with what precedes them)."""
    skipped = [chr(cp) for cp in range(0x110000) if not nfkc_module._CHANGEABLE.search(chr(cp))]
    assert len(skipped) == 128 + 3 + 10 + (0x9FFF - 0x4E00 + 1)
    for ch in skipped:
        assert unicodedata.normalize("NFKD", ch) == ch and unicodedata.combining(ch) == 0
        assert unicodedata.normalize("NFC", "a" + ch) == "a" + ch


def test_nfkc_of_a_long_text_read_again_is_the_same_and_a_new_text_is_normalised():
    text = "本机关共收到申请１２件，" * 200
    assert nfkc(text) == unicodedata.normalize("NFKC", text)
    assert nfkc(text) == unicodedata.normalize("NFKC", text)  # from the last-text cache
    other = "共收到申请ｅ\u0301件。" * 200  # same length class, a combining mark
    assert nfkc(other) == unicodedata.normalize("NFKC", other)


def test_cell_text_collapses_every_unicode_space_like_the_regex_it_replaced():
    spaces = re.compile(r"[\s\u3000\xa0]+")
    for cp in range(0x110000):
        text = f" a{chr(cp)}{chr(cp)} b{chr(cp)}"
        assert cell_text(text) == spaces.sub(" ", text).strip(), hex(cp)


def test_visible_characters_of_ascii_text_skip_only_spaces_and_tabs():
    for cp in range(0x80):
        text = f"x{chr(cp) * 3}y"
        assert clean._visible(text) == len(clean.WS.sub("", text)), hex(cp)
    assert clean._visible("\n\t 年报\u3000 ") == 3  # newline and 年报


def test_normalize_drops_every_unicode_space_like_the_regex_it_replaced():
    spaces = re.compile(r"\s+")
    for cp in range(0x110000):
        text = f"1{chr(cp)}2 3"
        folded = nfkc(text).replace("，", ",").replace("－", "-").replace("−", "-")
        assert normalize(text) == spaces.sub("", folded), hex(cp)
