"""The geometry of an SVG picture: boxes, arrows and their stations, in px."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from orkes.viz._drawing import ItemKind, LinkStyle

__all__ = ["Box", "Layout", "Route", "Station"]


class Station(NamedTuple):
    """A point an arrow passes through, and the direction it heads there (a unit vector)."""

    x: float
    y: float
    dx: float
    dy: float


@dataclass(frozen=True, slots=True)
class Box:
    """A box of the picture, its top-left corner and size in px.

    Attributes:
        path: the names leading to it: ``("research", "search")`` inside subgraph
            ``research``; START, END, join points and markers have keys of their own.
        label: its text.
        kind: its shape: node, subgraph (a cluster holding other boxes), start, end,
            join, anywhere.
    """

    path: tuple[str, ...]
    label: str
    kind: ItemKind
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Route:
    """An arrow: its ends (as box paths), style, label and the stations it passes.

    Attributes:
        shape: ``"down"`` for most, ``"back"`` for one closing a loop (drawn up, on the
            side), ``"loop"`` for one from a box to itself.
        label_box: ``(x, y, width, height)`` of its label, if it has one.
    """

    source: tuple[str, ...]
    target: tuple[str, ...]
    style: LinkStyle
    label: str | None
    stations: tuple[Station, ...]
    label_box: tuple[float, float, float, float] | None
    shape: Literal["down", "back", "loop"]


@dataclass(frozen=True, slots=True)
class Layout:
    """Every box (clusters included, inner boxes in absolute px) and arrow of a picture."""

    width: float
    height: float
    boxes: tuple[Box, ...]
    routes: tuple[Route, ...]
    name: str | None = None
