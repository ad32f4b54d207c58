"""Key figures stated in sentences (pre-2019 narrative reports and free text)."""

from __future__ import annotations

from postprocess.model import Stat


def narrative_stats(text: str) -> list[Stat]:
    return []
