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
    kept) that passes `ok`; capped at MAX_CANDIDATES. An `ok` made by `groups_sum` is also
    checked group by group while cutting, so a fifteen-cell run stays fast."""
    parts = [ocr_digits(normalize(t)) for t in tokens]
    run = "".join(parts)
    bounds: list[int] = []
    for part in parts:
        bounds.append((bounds[-1] if bounds else 0) + len(part))
    prefix = ok.prefix if isinstance(ok, GroupSums) else None
    found: list[list[str]] = []
    for cut in _cuts(run, bounds, count, prefix):
        if ok is None or ok([int(p) for p in cut]):
            found.append(cut)
            if len(found) >= MAX_CANDIDATES:
                break
    return found


def _cuts(
    run: str, bounds: list[int], count: int, prefix: Callable[[list[str]], bool] | None
) -> Iterator[list[str]]:
    """Cuts of `run` into `count` valid parts, each token end (`bounds`) a cut."""
    parts: list[str] = []

    def walk(pos: int) -> Iterator[list[str]]:
        left = count - len(parts)
        if left == 0:
            if pos == len(run):
                yield list(parts)
            return
        ends = [b for b in bounds if b > pos]
        if len(ends) > left or len(run) - pos < left or len(run) - pos > left * MAX_PART_DIGITS:
            return
        for i in range(1, min(MAX_PART_DIGITS, ends[0] - pos) + 1):
            part = run[pos : pos + i]
            if not _valid(part):
                break  # a longer part keeps the leading zero
            parts.append(part)
            if prefix is None or prefix(parts):
                yield from walk(pos + i)
            parts.pop()

    yield from walk(0)


def _valid(part: str) -> bool:
    return bool(part) and len(part) <= MAX_PART_DIGITS and (part == "0" or part[0] != "0")


def last_is_sum(values: list[int]) -> bool:
    """A row whose last cell is its 总计."""
    return values[-1] == sum(values[:-1])


class GroupSums:
    """Rows made of groups of `size` cells, each group's last cell its 总计 (section 四)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, values: list[int]) -> bool:
        size = self.size
        return all(
            values[i + size - 1] == sum(values[i : i + size - 1])
            for i in range(0, len(values), size)
        )

    def prefix(self, parts: list[str]) -> bool:
        """The last group completed so far adds up (checked while cutting)."""
        if len(parts) % self.size:
            return True
        group = [int(p) for p in parts[-self.size :]]
        return group[-1] == sum(group[:-1])


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
