"""Ports: where on its box each arrow of the SVG picture starts or ends.

Arrows going down leave a box's bottom and enter the next one's top, spread along the
edge in the left-to-right order of their other ends (so they do not cross at the box).
An arrow closing a loop goes up: it leaves and enters from the side when its next point
lies beside the box (or when there is none: it then bows out to the right), else from
the top of its source and into the bottom of its target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from orkes.viz._geometry import Box, Station
from orkes.viz._layers import Layered

__all__ = ["Ports", "Role", "spread"]

Role = Literal["out", "in"]
_Side = Literal["top", "bottom", "left", "right"]

_MAX_STEP = 14.0
_SPAN = {"node": 0.7, "anywhere": 0.7, "join": 0.9, "start": 0.5, "end": 0.5, "subgraph": 0.3}
_HEADING: dict[tuple[_Side, Role], tuple[float, float]] = {
    ("bottom", "out"): (0, 1),
    ("bottom", "in"): (0, -1),
    ("top", "in"): (0, 1),
    ("top", "out"): (0, -1),
    ("right", "out"): (1, 0),
    ("right", "in"): (-1, 0),
    ("left", "out"): (-1, 0),
    ("left", "in"): (1, 0),
}


class Ports:
    """The station of each arrow at each of its two ends."""

    def __init__(self) -> None:
        self._stations: dict[tuple[int, int, Role], Station] = {}

    def at(self, vertex: int, link: int, role: Role) -> Station:
        """Where ``link`` leaves (``"out"``) or reaches (``"in"``) ``vertex``."""
        return self._stations[vertex, link, role]

    def put(self, vertex: int, link: int, role: Role, station: Station) -> None:
        """Record where ``link`` meets ``vertex``."""
        self._stations[vertex, link, role] = station


def spread(layered: Layered, x: Sequence[float], boxes: Sequence[Box]) -> Ports:
    """Every arrow's two ports, given the vertices' x and the items' boxes."""
    attached: dict[tuple[int, _Side], list[tuple[float, int, Role]]] = {}

    def attach(vertex: int, side: _Side, other_x: float, link: int, role: Role) -> None:
        attached.setdefault((vertex, side), []).append((other_x, link, role))

    for link, chain in enumerate(layered.chains):
        if not chain:
            continue
        upper, lower = chain[0], chain[-1]
        below, above = x[chain[1]], x[chain[-2]]
        if not layered.reversed[link]:
            attach(upper, "bottom", below, link, "out")
            attach(lower, "top", above, link, "in")
            continue
        adjacent = len(chain) == 2
        attach(lower, _back_side(boxes[lower], above, adjacent, "top"), above, link, "out")
        attach(upper, _back_side(boxes[upper], below, adjacent, "bottom"), below, link, "in")
    ports = Ports()
    for (vertex, side), ends in attached.items():
        box = boxes[vertex]
        ends.sort(key=lambda end: (end[0], end[1]))
        centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
        count = len(ends)
        along = box.width if side in ("top", "bottom") else box.height
        half = (_SPAN[box.kind] if side in ("top", "bottom") else 0.5) * along / 2
        step = min(_MAX_STEP, 2 * half / (count - 1)) if count > 1 else 0.0
        for number, (_, link, role) in enumerate(ends):
            offset = (number - (count - 1) / 2) * step
            dx, dy = _HEADING[side, role]
            if side in ("top", "bottom"):
                sign = -1 if side == "top" else 1
                station = Station(centre_x + offset, centre_y + sign * _reach(box, offset), dx, dy)
            else:
                sign = -1 if side == "left" else 1
                station = Station(centre_x + sign * _reach(box, offset, True), centre_y + offset,
                                  dx, dy)  # fmt: skip
            ports.put(vertex, link, role, station)
    return ports


def _back_side(box: Box, other_x: float, adjacent: bool, otherwise: _Side) -> _Side:
    """The side of ``box`` a loop-closing arrow uses, its next point being at ``other_x``."""
    if adjacent or other_x > box.x + box.width:
        return "right"
    if other_x < box.x:
        return "left"
    return otherwise


def _reach(box: Box, offset: float, sideways: bool = False) -> float:
    """How far from the centre the box's edge is, ``offset`` px along that edge."""
    if box.kind in ("start", "end"):
        radius = box.width / 2
        return math.sqrt(max(radius * radius - offset * offset, 0.0))
    return box.width / 2 if sideways else box.height / 2
