"""Lanes: how the ASCII picture routes the arrows between two neighbouring ranks.

Each box has ports: on its bottom, one for the arrows going down in each style and one
per arrow going up; on its top, the same. The arrows leaving one port form a bus: down
from the port, along one horizontal lane, down into each of their entry ports. A bus
that only goes straight down needs no lane.

Two buses may share a lane when their horizontal stretches are apart. A bus whose exit
column is where another bus drops into its target must have its lane above that
bus's lane, or the two vertical lines would run together and read as one arrow.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from orkes.viz._canvas import LineStyle

__all__ = ["Bus", "Gap", "Segment", "plan_gap"]


@dataclass(frozen=True, slots=True)
class Segment:
    """One step of an arrow, from a vertex of the upper rank to one of the lower rank.

    Attributes:
        back: its arrow points up (it closes a loop).
        arrow_up: a ``^`` goes under the upper vertex (where an arrow pointing up ends).
        arrow_down: a ``v`` goes over the lower vertex (where an arrow pointing down ends).
    """

    upper: int
    lower: int
    link: int
    style: LineStyle
    back: bool
    arrow_up: bool
    arrow_down: bool


@dataclass(slots=True)
class Bus:
    """The arrows leaving one port: its column, lane (``-1``: none) and drop columns."""

    vertex: int
    column: int
    style: LineStyle
    owner: int
    drops: list[int] = field(default_factory=list)
    lane: int = -1
    arrow_up: bool = False


@dataclass(slots=True)
class Gap:
    """The routes between two ranks: buses, ``v`` columns and the rows it takes."""

    buses: list[Bus]
    arrows_down: list[int]
    rows: int


def plan_gap(
    segments: list[Segment],
    spans: dict[int, tuple[int, int]],
    anchors: list[int],
    through: dict[int, int | None],
) -> Gap:
    """Route ``segments``; ``spans`` are the columns each vertex's ports may use.

    ``through`` holds the dummies and labels (their arrow passes straight through them):
    the column an arrow enters one by is set here, and it leaves by the same one.
    """
    exits: dict[tuple[int, Hashable], list[Segment]] = {}
    entries: dict[tuple[int, Hashable], list[Segment]] = {}
    for segment in segments:
        key: Hashable = ("up", segment.link) if segment.back else ("down", segment.style)
        exits.setdefault((segment.upper, key), []).append(segment)
        entries.setdefault((segment.lower, key), []).append(segment)
    exit_column = _port_columns(exits, spans, anchors, lambda s: s.lower)
    for vertex, key in exits:
        column = through.get(vertex)
        if column is not None:
            exit_column[vertex, key] = column
    entry_column = _port_columns(entries, spans, anchors, lambda s: s.upper)
    _align(entries, entry_column, exit_column, spans, through)
    buses: list[Bus] = []
    arrows_down: list[int] = []
    for owner, ((vertex, key), leaving) in enumerate(exits.items()):
        column = exit_column[vertex, key]
        bus = Bus(vertex, column, leaving[0].style, owner)
        for segment in leaving:
            drop = entry_column[segment.lower, key]
            if drop not in bus.drops:
                bus.drops.append(drop)
            if segment.arrow_down and drop not in arrows_down:
                arrows_down.append(drop)
            bus.arrow_up = bus.arrow_up or segment.arrow_up
        bus.drops.sort()
        buses.append(bus)
    lanes = _assign_lanes([bus for bus in buses if bus.drops != [bus.column]])
    return Gap(buses, sorted(arrows_down), lanes + 2 if lanes else 1)


def _port_columns(
    ports: dict[tuple[int, Hashable], list[Segment]],
    spans: dict[int, tuple[int, int]],
    anchors: list[int],
    other_end: Callable[[Segment], int],
) -> dict[tuple[int, Hashable], int]:
    """A column for each port, spread around its vertex's anchor.

    Ports are ordered by the columns their arrows come from or go to.
    """
    by_vertex: dict[int, list[tuple[float, int, Hashable]]] = {}
    for number, ((vertex, key), segments) in enumerate(ports.items()):
        mean = sum(anchors[other_end(segment)] for segment in segments) / len(segments)
        by_vertex.setdefault(vertex, []).append((mean, number, key))
    columns: dict[tuple[int, Hashable], int] = {}
    for vertex, keys in by_vertex.items():
        keys.sort(key=lambda entry: (entry[0], entry[1]))
        first, last = spans[vertex]
        count = len(keys)
        step = 2 if 2 * (count - 1) <= last - first else 1
        start = anchors[vertex] - (step * (count - 1)) // 2
        start = max(first, min(start, last - step * (count - 1)))
        for number, (_, _, key) in enumerate(keys):
            columns[vertex, key] = max(first, min(start + step * number, last))
    return columns


def _align(
    entries: dict[tuple[int, Hashable], list[Segment]],
    entry_column: dict[tuple[int, Hashable], int],
    exit_column: dict[tuple[int, Hashable], int],
    spans: dict[int, tuple[int, int]],
    through: dict[int, int | None],
) -> None:
    """Move each entry port right under the one column its arrows come from, if it can.

    A port moves only between its neighbours on the box, so ports keep their order. A
    vertex in ``through`` then leaves by the column it was entered by.
    """
    by_vertex: dict[int, list[Hashable]] = {}
    for vertex, key in entries:
        by_vertex.setdefault(vertex, []).append(key)
    for vertex, keys in by_vertex.items():
        keys.sort(key=lambda key: entry_column[vertex, key])
        first, last = spans[vertex]
        for number, key in enumerate(keys):
            sources = {exit_column[segment.upper, key] for segment in entries[vertex, key]}
            lowest = entry_column[vertex, keys[number - 1]] + 1 if number else first
            highest = entry_column[vertex, keys[number + 1]] - 1 if number + 1 < len(keys) else last
            preset = through.get(vertex)
            if preset is not None and first <= preset <= last:
                entry_column[vertex, key] = preset
            elif len(sources) == 1:
                (column,) = sources
                if lowest <= column <= highest:
                    entry_column[vertex, key] = column
            if vertex in through:
                through[vertex] = entry_column[vertex, key]


def _assign_lanes(buses: list[Bus]) -> int:
    """Give each bus a lane (1 = the top one); return how many lanes there are."""
    above: dict[int, list[int]] = {bus.owner: [] for bus in buses}  # owner -> must be above it
    for bus in buses:
        for other in buses:
            if other is not bus and bus.column in other.drops:
                above[other.owner].append(bus.owner)
    by_owner = {bus.owner: bus for bus in buses}
    placed: dict[int, int] = {}
    taken: dict[int, list[Bus]] = {}
    waiting = sorted(buses, key=lambda bus: (bus.column, bus.owner))
    while waiting:
        ready = [bus for bus in waiting if all(o in placed for o in above[bus.owner])]
        # The bus that crosses the others least when above them goes first; a cycle of
        # constraints (no order satisfies every bus) is broken the same way.
        bus = min(ready or waiting, key=lambda bus: _cost_above(bus, waiting))
        waiting.remove(bus)
        lowest = 1 + max((placed[o] for o in above[bus.owner] if o in placed), default=0)
        lane = lowest
        while any(_clash(bus, other) for other in taken.get(lane, [])):
            lane += 1
        taken.setdefault(lane, []).append(bus)
        placed[bus.owner] = lane
        by_owner[bus.owner].lane = lane
    return max(placed.values(), default=0)


def _cost_above(bus: Bus, others: list[Bus]) -> int:
    """How many more crossings ``bus`` makes above the ``others`` than below them."""
    return sum(
        _crossings(bus, other) - _crossings(other, bus) for other in others if other is not bus
    )


def _crossings(upper: Bus, lower: Bus) -> int:
    """Crossings of two buses with ``upper``'s lane above ``lower``'s.

    ``upper``'s drops pass ``lower``'s lane; ``lower``'s rise passes ``upper``'s lane.
    """
    left, right = min(lower.column, *lower.drops), max(lower.column, *lower.drops)
    count = sum(1 for drop in upper.drops if left < drop < right)
    return count + (
        min(upper.column, *upper.drops) < lower.column < max(upper.column, *upper.drops)
    )


def _clash(one: Bus, other: Bus) -> bool:
    """Whether two buses' lanes would touch on one row.

    Meeting at a shared drop is fine: both arrows go into the same port; so is any
    meeting of two buses that both lead into one port and nowhere else.
    """
    if one.drops == other.drops and len(one.drops) == 1:
        return False
    left, right = min(one.column, *one.drops), max(one.column, *one.drops)
    other_left, other_right = min(other.column, *other.drops), max(other.column, *other.drops)
    if right == other_left and right in one.drops and right in other.drops:
        return False
    if other_right == left and left in one.drops and left in other.drops:
        return False
    return left - 1 <= other_right and other_left <= right + 1
