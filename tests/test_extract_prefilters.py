"""Shortcuts the extractor takes for speed rest on properties of its patterns: checked here."""

from __future__ import annotations

import re

import pytest

from postprocess.extract import narrative

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
