"""Consistency checks (勾稽关系) a transparency evaluator applies to one report."""

from __future__ import annotations

from postprocess.model import Cell, Check, ReportMeta


def run_checks(cells: list[Cell], fmt: str, text: str, meta: ReportMeta,
               level: str | None) -> list[Check]:
    return []
