"""Ordering: the left-to-right order of each rank, chosen to keep arrow crossings few.

Barycentre sweeps: going down, each vertex is sorted by the mean position of its
neighbours in the rank above; going up, by those below. After each sweep, neighbours
that cross less when swapped are swapped (the "transpose" step). The order with the
fewest crossings seen is kept. Ties keep the current order, so the result depends on
nothing but the input.
"""

from __future__ import annotations

from bisect import bisect_right, insort

from orkes.viz._layers import Layered

__all__ = ["count_crossings", "order_ranks"]

_SWEEPS = 8
_TRANSPOSE_ROUNDS = 4
_BACK_BIAS = 0.45


def order_ranks(layered: Layered) -> None:
    """Reorder ``layered.ranks`` in place to reduce crossings."""
    ranks = layered.ranks
    best = [list(row) for row in ranks]
    best_crossings = count_crossings(layered)
    for sweep in range(_SWEEPS):
        downwards = sweep % 2 == 0
        rows = range(1, len(ranks)) if downwards else range(len(ranks) - 2, -1, -1)
        for row in rows:
            neighbours = layered.up if downwards else layered.down
            position = _positions(ranks[row + (-1 if downwards else 1)])
            here = {vertex: index for index, vertex in enumerate(ranks[row])}
            ranks[row].sort(key=lambda v: _barycentre(layered, v, neighbours, position, here))
        _transpose(layered)
        crossings = count_crossings(layered)
        if crossings < best_crossings:
            best, best_crossings = [list(row) for row in ranks], crossings
        if best_crossings == 0:
            break
    layered.ranks = best


def count_crossings(layered: Layered) -> int:
    """How many pairs of arrows cross between neighbouring ranks."""
    total = 0
    for row in range(len(layered.ranks) - 1):
        upper = _positions(layered.ranks[row])
        lower = _positions(layered.ranks[row + 1])
        pairs = sorted(
            (upper[vertex], lower[below])
            for vertex in layered.ranks[row]
            for below in layered.down[vertex]
        )
        seen: list[int] = []  # the lower ends so far, sorted: each one right of ours crosses
        for _, end in pairs:
            total += len(seen) - bisect_right(seen, end)
            insort(seen, end)
    return total


def _positions(row: list[int]) -> dict[int, int]:
    return {vertex: index for index, vertex in enumerate(row)}


def _barycentre(
    layered: Layered,
    vertex: int,
    neighbours: list[list[int]],
    position: dict[int, int],
    here: dict[int, int],
) -> tuple[float, int]:
    around = neighbours[vertex]
    if not around:
        return (float(here[vertex]), here[vertex])  # nothing pulls it: it stays put
    mean = sum(position[other] for other in around) / len(around)
    link = layered.link_of[vertex]
    if link >= 0 and layered.reversed[link]:
        mean += _BACK_BIAS  # arrows closing loops go round the right of what they skip
    return (mean, here[vertex])


def _transpose(layered: Layered) -> None:
    """Swap neighbours in a rank while that removes crossings."""
    ranks = layered.ranks
    for _ in range(_TRANSPOSE_ROUNDS):
        improved = False
        for row_number, row in enumerate(ranks):
            above = _positions(ranks[row_number - 1]) if row_number else {}
            below = _positions(ranks[row_number + 1]) if row_number + 1 < len(ranks) else {}
            for index in range(len(row) - 1):
                left, right = row[index], row[index + 1]
                kept = _pair_crossings(layered, left, right, above, below)
                swapped = _pair_crossings(layered, right, left, above, below)
                if swapped < kept:
                    row[index], row[index + 1] = right, left
                    improved = True
        if not improved:
            return


def _pair_crossings(
    layered: Layered, left: int, right: int, above: dict[int, int], below: dict[int, int]
) -> int:
    """Crossings between the arrows of ``left`` and ``right`` when ``left`` is left."""
    count = 0
    for neighbours, position in ((layered.up, above), (layered.down, below)):
        for mine in neighbours[left]:
            for theirs in neighbours[right]:
                if position[mine] > position[theirs]:
                    count += 1
    return count
