"""Summary figures (fields.md stats keys) computed from table cells, each tied to its cells."""

from __future__ import annotations

from postprocess.extract.model import Cell, Stat

# stat key -> (section, row keys summed, or a row-key prefix ending in '*')
CELL_STATS: list[tuple[str, str, tuple[str, ...]]] = [
    ("requests_new", "requests", ("new",)),
    ("requests_carried_over", "requests", ("carried_over",)),
    ("requests_handled", "requests", ("total_handled",)),
    ("requests_granted", "requests", ("granted",)),
    ("requests_partial", "requests", ("partial",)),
    ("requests_denied", "requests", ("denied_*",)),
    ("requests_unable", "requests", ("unable_*",)),
    ("requests_rejected", "requests", ("rejected_*",)),
    ("requests_other", "requests", ("other", "other_*")),
    ("requests_carried_forward", "requests", ("carried_forward",)),
    ("reviews", "appeals", ("review",)),
    ("lawsuits", "appeals", ("litigation_direct", "litigation_after_review")),
]


def _wanted(row_key: str, patterns: tuple[str, ...]) -> bool:
    return any(row_key == p or (p.endswith("*") and row_key.startswith(p[:-1])) for p in patterns)


def from_cells(cells: list[Cell]) -> list[Stat]:
    """The 总计 column of the rows behind each key; a key without such cells is absent."""
    result = []
    totals = [c for c in cells if c.known and c.col_key == "total" and c.value is not None]
    for key, section, patterns in CELL_STATS:
        picked = [c for c in totals if c.section == section and _wanted(c.row_key, patterns)]
        if patterns == ("other", "other_*") and any(c.row_key == "other" for c in picked):
            picked = [c for c in picked if c.row_key == "other"]
        if not picked:
            continue
        evidence = (
            f"{section}.{picked[0].row_key}.total"
            if len(picked) == 1
            else " + ".join(f"{section}.{c.row_key}.total" for c in picked)
        )
        result.append(
            Stat(
                key=key,
                value=sum(c.value or 0 for c in picked),
                raw=" + ".join(c.raw for c in picked),
                origin="cell",
                evidence=evidence,
            )
        )
    return result
