"""Rows whose figures run together with no separator (`713000074` for 71 3 0 0 0 0 74).

A run of digits is cut into the row's cell count; the cuts kept are those that satisfy the
row's own sums (a 总计 cell equals the sum of the cells before it). When several cuts remain,
the caller narrows them with the column sums of the table; a row still open is ambiguous and
is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import product

from postprocess.extract.values import normalize, ocr_digits

MAX_PART_DIGITS = 7  # a single cell above 9,999,999 requests is not a real figure
MAX_CANDIDATES = 5000
MAX_COMBINATIONS = 20000
MAX_STEPS = 200_000  # pieces tried while cutting one run
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


class TooManyCuts(Exception):
    """A run with more possible cuts than MAX_STEPS: left out as ambiguous, never guessed."""


def splits(
    tokens: list[str], count: int, ok: Callable[[list[int]], bool] | None = None
) -> list[list[str]]:
    """Every way to cut the tokens into `count` numbers (no leading zeros, token boundaries
    kept) that passes `ok`; capped at MAX_CANDIDATES. The search is bounded (MAX_STEPS pieces
    tried; TooManyCuts past that), and a row made of groups that each end in their 总计
    (`groups_sum`) is pruned group by group."""
    parts = [ocr_digits(normalize(t)) for t in tokens]
    group = getattr(ok, "group_size", None)
    found: list[list[str]] = []
    steps = 0

    def walk(t: int, o: int, pieces: list[str]) -> None:
        nonlocal steps
        if len(found) >= MAX_CANDIDATES:
            return
        if t == len(parts):
            if len(pieces) == count and (ok is None or ok([int(p) for p in pieces])):
                found.append(list(pieces))
            return
        token = parts[t]
        left_digits = len(token) - o + sum(len(x) for x in parts[t + 1 :])
        need = count - len(pieces)
        # every later token takes at least one piece; no piece is longer than MAX_PART_DIGITS
        if need < len(parts) - t or need > left_digits or need * MAX_PART_DIGITS < left_digits:
            return
        for size in range(1, min(MAX_PART_DIGITS, len(token) - o) + 1):
            piece = token[o : o + size]
            if not _valid(piece):
                continue
            steps += 1
            if steps > MAX_STEPS:
                raise TooManyCuts(f"more than {MAX_STEPS} cuts of {''.join(parts)}")
            pieces.append(piece)
            n = len(pieces)
            if not (group and n % group == 0 and not _group_ok(pieces[n - group :])):
                end = o + size == len(token)
                walk(t + 1 if end else t, 0 if end else o + size, pieces)
            pieces.pop()

    walk(0, 0, [])
    return found


def _group_ok(group: list[str]) -> bool:
    values = [int(p) for p in group]
    return values[-1] == sum(values[:-1])


def _valid(part: str) -> bool:
    return bool(part) and len(part) <= MAX_PART_DIGITS and (part == "0" or part[0] != "0")


def last_is_sum(values: list[int]) -> bool:
    """A row whose last cell is its 总计."""
    return values[-1] == sum(values[:-1])


class GroupSums:
    """Rows made of groups of `size` cells, each group's last cell its 总计 (section 四);
    `splits` checks each group as soon as it is cut (group_size)."""

    def __init__(self, size: int) -> None:
        self.group_size = size

    def __call__(self, values: list[int]) -> bool:
        size = self.group_size
        return all(
            values[i + size - 1] == sum(values[i : i + size - 1])
            for i in range(0, len(values), size)
        )


def groups_sum(size: int) -> Callable[[list[int]], bool]:
    """Rows made of groups of `size` cells, each group's last cell its 总计 (section 四)."""
    return GroupSums(size)


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
