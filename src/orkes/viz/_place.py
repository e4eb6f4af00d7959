"""Placement: the x of every vertex, keeping each rank's order and gaps.

Each pass pulls every vertex towards the mean x of its neighbours in the rank above
(going down), below (going up), or both (the last pass), then finds the closest x's that
keep the rank's order and minimum gaps. That closest fit is an isotonic regression,
solved exactly by pooling adjacent violators (weighted: dummies weigh more, so long
arrows come out straight). No box can overlap another of its rank, whatever the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

from orkes.viz._layers import Layered

__all__ = ["place"]

_PASSES = 6
_DUMMY_WEIGHT = 4.0


def place(
    layered: Layered, extents: Sequence[tuple[float, float]], gap: Callable[[int, int], float]
) -> list[float]:
    """The x of each vertex's anchor, the leftmost box edge at 0.

    Args:
        layered: ranks in their final order.
        extents: per vertex, how far its box reaches left and right of its anchor.
        gap: the least room between two neighbours of a rank (given their vertices).
    """
    x = [0.0] * len(layered.rank)
    for members in layered.ranks:
        at = 0.0
        for before, vertex in zip([-1, *members], members, strict=False):
            left, right = extents[vertex]
            at += gap(before, vertex) if before >= 0 else 0.0
            x[vertex] = at + left
            at += left + right
    weights = [1.0 if kind == "item" else _DUMMY_WEIGHT for kind in layered.kind]
    ranks = layered.ranks
    for number in range(_PASSES + 1):
        pulls: tuple[list[list[int]], ...]
        if number == _PASSES:
            rows, pulls = list(range(len(ranks))), (layered.up, layered.down)
        elif number % 2 == 0:
            rows, pulls = list(range(1, len(ranks))), (layered.up,)
        else:
            rows, pulls = list(range(len(ranks) - 2, -1, -1)), (layered.down,)
        for rank in rows:
            wanted = [_pulled_to(vertex, x, pulls) for vertex in ranks[rank]]
            _fit(ranks[rank], wanted, x, extents, weights, gap)
    leftmost = min((x[vertex] - extents[vertex][0] for vertex in range(len(x))), default=0.0)
    return [value - leftmost for value in x]


def _pulled_to(vertex: int, x: list[float], pulls: tuple[list[list[int]], ...]) -> float:
    around = [x[other] for neighbours in pulls for other in neighbours[vertex]]
    return sum(around) / len(around) if around else x[vertex]


def _fit(
    row: list[int],
    wanted: list[float],
    x: list[float],
    extents: Sequence[tuple[float, float]],
    weights: list[float],
    gap: Callable[[int, int], float],
) -> None:
    """Set ``x`` for ``row``: closest to ``wanted`` (least squares), order and gaps kept."""
    offsets = [0.0]
    for before, after in pairwise(row):
        offsets.append(offsets[-1] + extents[before][1] + gap(before, after) + extents[after][0])
    # With y = x - offset the constraints become y non-decreasing: pool adjacent violators.
    blocks: list[list[float]] = []  # [mean, weight, count]
    for index, vertex in enumerate(row):
        blocks.append([wanted[index] - offsets[index], weights[vertex], 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight, count = blocks.pop()
            previous = blocks[-1]
            total = previous[1] + weight
            previous[0] = (previous[0] * previous[1] + mean * weight) / total
            previous[1] = total
            previous[2] += count
    index = 0
    for mean, _, count in blocks:
        for _ in range(int(count)):
            x[row[index]] = mean + offsets[index]
            index += 1
