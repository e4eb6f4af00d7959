"""Layers: which row each box goes in, with dummy points for arrows that skip rows.

The first steps of a layered (Sugiyama) drawing, on plain integers:

1. Loops are broken: a depth-first walk from the first item reverses every arrow that
   leads back to an item on the walk's path, so the rest sees a DAG. Reversed arrows are
   still drawn pointing the right way; they only rank as if reversed.
2. Ranking: the longest path from the sources, then items with more arrows out than
   in move down next to their successors (shorter arrows, fewer dummies).
3. An arrow spanning several ranks gets a dummy vertex in each rank it crosses, so the
   ordering and placement steps only ever see arrows between neighbouring ranks. A
   labelled arrow spans at least two ranks, and the dummy next to its source is its
   label: the label takes room in its rank like a box and never covers one.

Everything iterates lists in a fixed order: the same graph always gets the same layers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

__all__ = ["Layered", "VertexKind", "layer"]

VertexKind = Literal["item", "dummy", "label"]


@dataclass(slots=True)
class Layered:
    """Items and dummies in ranks, and each link as a chain of vertices.

    Attributes:
        rank: each vertex's rank (row), 0 at the top.
        ranks: the vertices of each rank, in drawing order (the ordering step sets it).
        kind: ``"item"`` for the ``item_count`` first vertices, then dummies and labels.
        link_of: the link a dummy or label belongs to (``-1`` for items).
        chains: per link, its vertices from the upper end to the lower one (empty for a
            link from an item to itself).
        reversed: per link, whether it points up (it closes a loop).
        up: per vertex, its neighbours in the rank above (once per link).
        down: per vertex, its neighbours in the rank below (once per link).
    """

    rank: list[int]
    ranks: list[list[int]]
    kind: list[VertexKind]
    link_of: list[int]
    chains: list[list[int]]
    reversed: list[bool]
    up: list[list[int]] = field(default_factory=list)
    down: list[list[int]] = field(default_factory=list)


def layer(item_count: int, links: Sequence[tuple[int, int, bool]]) -> Layered:
    """Rank ``item_count`` items joined by ``links`` (``(source, target, labelled)``)."""
    reversed_ = _break_loops(item_count, links)
    upper_lower = [
        (target, source) if flipped else (source, target)
        for (source, target, _), flipped in zip(links, reversed_, strict=True)
    ]
    min_span = [2 if labelled else 1 for _, _, labelled in links]
    rank = _rank(item_count, upper_lower, min_span)
    layered = Layered(rank, [], ["item"] * item_count, [-1] * item_count, [], reversed_)
    pairs = zip(upper_lower, links, strict=True)
    for number, ((upper, lower), (_, _, labelled)) in enumerate(pairs):
        if upper == lower:
            layered.chains.append([])
            continue
        span = rank[lower] - rank[upper]
        label_at = -1
        if labelled:  # next to the arrow's own source: its top, or its bottom if it points up
            label_at = rank[lower] - 1 if reversed_[number] else rank[upper] + 1
        chain = [upper]
        for step in range(1, span):
            layered.rank.append(rank[upper] + step)
            layered.kind.append("label" if rank[upper] + step == label_at else "dummy")
            layered.link_of.append(number)
            chain.append(len(layered.rank) - 1)
        chain.append(lower)
        layered.chains.append(chain)
    layered.ranks = [[] for _ in range(max(layered.rank, default=-1) + 1)]
    for vertex, row in enumerate(layered.rank):
        layered.ranks[row].append(vertex)
    layered.up = [[] for _ in layered.rank]
    layered.down = [[] for _ in layered.rank]
    for chain in layered.chains:
        for upper, lower in pairwise(chain):
            layered.down[upper].append(lower)
            layered.up[lower].append(upper)
    return layered


def _break_loops(item_count: int, links: Sequence[tuple[int, int, bool]]) -> list[bool]:
    """Which links to reverse so that no cycle is left (self-links stay as they are)."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(item_count)]
    for number, (source, target, _) in enumerate(links):
        if source != target:
            out[source].append((target, number))
    reverse = [False] * len(links)
    state = [0] * item_count  # 0 unseen, 1 on the walk's path, 2 done
    for root in range(item_count):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            vertex, following = stack[-1]
            for target, number in following:
                if state[target] == 1:
                    reverse[number] = True  # it leads back onto the path: a loop closes here
                elif state[target] == 0:
                    state[target] = 1
                    stack.append((target, iter(out[target])))
                    break
            else:
                state[vertex] = 2
                stack.pop()
    return reverse


def _rank(
    item_count: int, upper_lower: Sequence[tuple[int, int]], min_span: Sequence[int]
) -> list[int]:
    """Longest-path ranks, then sources and fan-outs pulled down next to what they feed."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(item_count)]
    incoming = [0] * item_count
    for (upper, lower), span in zip(upper_lower, min_span, strict=True):
        if upper != lower:
            out[upper].append((lower, span))
            incoming[lower] += 1
    waiting = list(incoming)
    ready = deque(vertex for vertex in range(item_count) if not waiting[vertex])
    order: list[int] = []
    rank = [0] * item_count
    while ready:
        vertex = ready.popleft()
        order.append(vertex)
        for lower, span in out[vertex]:
            rank[lower] = max(rank[lower], rank[vertex] + span)
            waiting[lower] -= 1
            if not waiting[lower]:
                ready.append(lower)
    for vertex in reversed(order):
        if out[vertex] and len(out[vertex]) > incoming[vertex]:
            # Moving it down shortens each arrow out and lengthens each arrow in by as much.
            rank[vertex] = min(rank[lower] - span for lower, span in out[vertex])
    lowest = min(rank, default=0)
    return [row - lowest for row in rank]
