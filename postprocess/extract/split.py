"""Rows whose figures run together with no separator (`713000074` for 71 3 0 0 0 0 74).

A run of digits is cut into the row's cell count; the cuts kept are those that satisfy the
row's own sums (a 总计 cell equals the sum of the cells before it). When several cuts remain,
the caller narrows them with the column sums of the table; a row still open is ambiguous and
is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import product

from postprocess.extract.values import normalize, ocr_digits

MAX_PART_DIGITS = 7  # a single cell above 9,999,999 requests is not a real figure
MAX_CANDIDATES = 5000
MAX_COMBINATIONS = 20000
_DIGITS = re.compile(r"^\d+$")


def is_run(tokens: list[str], count: int) -> bool:
    """True when the row's value cells are fewer than `count`, none blank, all plain digits,
    with at least `count` digits between them: figures that ran together."""
    if not tokens or len(tokens) >= count or count < 2:
        return False
    norm = [ocr_digits(normalize(t)) for t in tokens]
    if not all(_DIGITS.match(t) for t in norm):
        return False
    return sum(len(t) for t in norm) >= count


def splits(
    tokens: list[str], count: int, ok: Callable[[list[int]], bool] | None = None
) -> list[list[str]]:
    """Every way to cut the tokens into `count` numbers (no leading zeros, token boundaries
    kept) that passes `ok`; capped at MAX_CANDIDATES."""
    parts = [ocr_digits(normalize(t)) for t in tokens]
    found: list[list[str]] = []
    for cut in _cuts(parts, count):
        if ok is None or ok([int(p) for p in cut]):
            found.append(cut)
            if len(found) >= MAX_CANDIDATES:
                break
    return found


def _cuts(tokens: list[str], count: int) -> Iterator[list[str]]:
    if not tokens:
        if count == 0:
            yield []
        return
    head, rest = tokens[0], tokens[1:]
    min_rest = len(rest)
    max_rest = sum(len(t) for t in rest)
    for pieces in range(1, count - min_rest + 1):
        if count - pieces > max_rest:
            continue
        for cut in _cut_token(head, pieces):
            for tail in _cuts(rest, count - pieces):
                yield cut + tail


def _cut_token(token: str, pieces: int) -> Iterator[list[str]]:
    if pieces == 1:
        if _valid(token):
            yield [token]
        return
    for i in range(1, min(len(token) - pieces + 1, MAX_PART_DIGITS) + 1):
        head = token[:i]
        if not _valid(head):
            continue
        for tail in _cut_token(token[i:], pieces - 1):
            yield [head, *tail]


def _valid(part: str) -> bool:
    return bool(part) and len(part) <= MAX_PART_DIGITS and (part == "0" or part[0] != "0")


def last_is_sum(values: list[int]) -> bool:
    """A row whose last cell is its 总计."""
    return values[-1] == sum(values[:-1])


def groups_sum(size: int) -> Callable[[list[int]], bool]:
    """Rows made of groups of `size` cells, each group's last cell its 总计 (section 四)."""

    def ok(values: list[int]) -> bool:
        return all(
            values[i + size - 1] == sum(values[i : i + size - 1])
            for i in range(0, len(values), size)
        )

    return ok


def narrow(
    candidates: dict[str, list[list[int]]],
    equations: list[tuple[list[str], list[str]]],
) -> dict[str, list[list[int]]]:
    """Keep, for each row, the cuts that appear in some assignment satisfying every column
    equation (sum of left rows = sum of right rows, cell by cell) it takes part in."""
    current = {k: list(v) for k, v in candidates.items()}
    changed = True
    while changed:
        changed = False
        for left, right in equations:
            rows = left + right
            if all(r in current and current[r] for r in rows):
                changed |= _bound(current, left, right) | _bound(current, right, left)
            if not all(r in current and current[r] for r in rows):
                continue
            open_rows = [r for r in dict.fromkeys(rows) if len(current[r]) > 1]
            if not open_rows:
                continue
            size = 1
            for r in open_rows:
                size *= len(current[r])
            if size > MAX_COMBINATIONS:
                continue
            keep: dict[str, set[int]] = {r: set() for r in open_rows}
            for choice in product(*(range(len(current[r])) for r in open_rows)):
                picked = dict(zip(open_rows, choice, strict=True))

                def vec(r: str, picked: dict[str, int] = picked) -> list[int]:
                    return current[r][picked[r]] if r in picked else current[r][0]

                width = len(vec(rows[0]))
                if all(
                    sum(vec(r)[j] for r in left) == sum(vec(r)[j] for r in right)
                    for j in range(width)
                ):
                    for r, i in picked.items():
                        keep[r].add(i)
            for r in open_rows:
                if keep[r] and len(keep[r]) < len(current[r]):
                    current[r] = [current[r][i] for i in sorted(keep[r])]
                    changed = True
    return current


def _bound(current: dict[str, list[list[int]]], side: list[str], other: list[str]) -> bool:
    """Counts are never negative: when every row of `other` is settled, a row of `side` can
    hold in each column at most their sum less the least the rest of `side` holds there.
    Prunes before the joint search, which is capped (many short rows at once)."""
    if len(set(side)) != len(side) or any(len(current[r]) != 1 for r in other):
        return False
    width = len(current[other[0]][0]) if other else 0
    total = [sum(current[r][0][j] for r in other) for j in range(width)]
    least = {r: [min(v[j] for v in current[r]) for j in range(width)] for r in side}
    changed = False
    for r in side:
        if len(current[r]) < 2:
            continue
        room = [total[j] - sum(least[o][j] for o in side if o != r) for j in range(width)]
        kept = [v for v in current[r] if all(v[j] <= room[j] for j in range(width))]
        if kept and len(kept) < len(current[r]):
            current[r] = kept
            changed = True
    return changed
