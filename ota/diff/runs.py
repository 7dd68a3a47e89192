"""The matching runs of two sequences (`matching_runs`): a longest common subsequence computed by
rapidfuzz's bit-parallel Indel (exact, C++) when the problem has at most `MAX_CELLS` cells, else
cut at anchors first (patience diff); the "Bounds" of `ota.diff`. Pure: sequences in, runs out."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Hashable, Sequence

from rapidfuzz.distance import Indel

Run = tuple[int, int, int]  # a[i:i+size] == b[j:j+size], as (i, j, size)

#: Largest len(a) × len(b) handed to the LCS engine at once (a few ms and 1 MB at most).
MAX_CELLS = 8_000_000
#: Anchoring may scan this many times the elements of both sides before giving up on the rest.
ANCHOR_WORK = 20


def matching_runs(a: Sequence[str], b: Sequence[str]) -> list[Run]:
    """Runs (i, j, size) with a[i:i+size] == b[j:j+size], increasing in i and j, none empty.

    A longest common subsequence when the problem fits `MAX_CELLS`, else cut at anchors (Bounds).
    """
    runs: list[Run] = []
    budget = ANCHOR_WORK * (len(a) + len(b))
    todo = [(0, len(a), 0, len(b))]
    while todo:
        a0, a1, b0, b1 = todo.pop()
        if (a1 - a0) * (b1 - b0) <= MAX_CELLS:
            runs.extend(_lcs_runs(a[a0:a1], b[b0:b1], a0, b0))
            continue
        start = a0
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            a0, b0 = a0 + 1, b0 + 1
        end = a1
        while a0 < a1 and b0 < b1 and a[a1 - 1] == b[b1 - 1]:
            a1, b1 = a1 - 1, b1 - 1
        runs += [(start, b0 - (a0 - start), a0 - start), (a1, b1, end - a1)]
        if (a1 - a0) * (b1 - b0) <= MAX_CELLS:
            todo.append((a0, a1, b0, b1))
            continue
        budget -= (a1 - a0) + (b1 - b0)
        anchors = _anchors(a[a0:a1], b[b0:b1]) if budget >= 0 else []
        # Without anchor, nothing matches in this gap, which shows as deleted and inserted whole.
        gap_i, gap_j = a0, b0
        for i, j in anchors:
            i, j = a0 + i, b0 + j
            if i > gap_i or j > gap_j:
                todo.append((gap_i, i, gap_j, j))  # the gap before this anchor
            runs.append((i, j, 1))
            gap_i, gap_j = i + 1, j + 1
        if anchors:
            todo.append((gap_i, a1, gap_j, b1))
    merged: list[Run] = []
    for i, j, size in sorted(runs):
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        elif size:
            merged.append((i, j, size))
    return merged


def _lcs_runs(a: Sequence[str], b: Sequence[str], i0: int, j0: int) -> list[Run]:
    """The runs of a longest common subsequence of `a` and `b`, offset by (i0, j0)."""
    runs = _equal_runs(a, b) if a and b else []
    # rapidfuzz compares strings by their hash: should two differ with one hash, compare ids.
    if any(a[i : i + size] != b[j : j + size] for i, j, size in runs):
        ids: dict[str, int] = {}
        runs = _equal_runs([ids.setdefault(x, len(ids)) for x in a], [ids.setdefault(x, len(ids)) for x in b])
    return [(i0 + i, j0 + j, size) for i, j, size in runs]


def _equal_runs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Run]:
    return [
        (op.src_start, op.dest_start, op.src_end - op.src_start)
        for op in Indel.opcodes(a, b)
        if op.tag == "equal"
    ]


def _anchors(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Positions of the elements found once in `a` and once in `b`, longest chain in order.

    When no element is unique, the n-th occurrences of elements found as often in `a` as in `b`
    are paired instead: after a few replaced words, the other words still pair up right.
    """
    count_a, count_b = Counter(a), Counter(b)
    where_b = {x: j for j, x in enumerate(b) if count_b[x] == 1}
    pairs = [(i, where_b[x]) for i, x in enumerate(a) if count_a[x] == 1 and x in where_b]
    if not pairs:
        positions: dict[str, list[int]] = {}
        for j, x in enumerate(b):
            if count_a[x] == count_b[x]:
                positions.setdefault(x, []).append(j)
        following = {x: iter(js) for x, js in positions.items()}
        pairs = [(i, next(following[x])) for i, x in enumerate(a) if x in following]
    # Longest increasing subsequence of j (pairs are sorted by i), by patience sorting.
    tails: list[int] = []  # tails[k]: the smallest last j of a chain of length k + 1
    tail_at: list[int] = []  # and the index in pairs where that chain ends
    back: list[int] = []
    for index, (_, j) in enumerate(pairs):
        pile = bisect.bisect_left(tails, j)
        back.append(tail_at[pile - 1] if pile else -1)
        if pile == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[pile], tail_at[pile] = j, index
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(pairs[index])
        index = back[index]
    return chain[::-1]
