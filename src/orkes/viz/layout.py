"""Layout: where every box and arrow of a graph's SVG picture goes, in pixels.

A layered drawing (see ``_layers``, ``_order``, ``_place``): ranks top to bottom,
crossings kept few, long arrows through dummy points, arrows that close a loop leaving
and entering boxes from the side. A subgraph is laid out first on its own; its whole
picture then becomes one box (a cluster) of the parent's layout, so clusters never
overlap anything. Box sizes come from the length of their text at a fixed width per
character of a monospace font: no font is read or fetched.

Example:
    >>> from orkes.viz.shape import END, START, Edge, GraphShape, Node
    >>> layout = lay_out(GraphShape((Node("a"),), (Edge(START, "a"), Edge("a", END))))
    >>> [(box.label, box.kind) for box in layout.boxes]
    [('START', 'start'), ('a', 'node'), ('END', 'end')]
    >>> [(route.source, route.target) for route in layout.routes]
    [(('__start__',), ('a',)), (('a',), ('__end__',))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orkes.viz._drawing import Drawing, ItemKind, LinkStyle, drawing_of
from orkes.viz._geometry import Box, Layout, Route, Station
from orkes.viz._layers import Layered, layer
from orkes.viz._order import order_ranks
from orkes.viz._place import place
from orkes.viz._ports import spread
from orkes.viz._text import columns, printable
from orkes.viz.shape import GraphShape, shape_arg

__all__ = ["Box", "Layout", "Route", "Station", "lay_out", "text_width"]

CHAR_WIDTH = 7.8  # px per column of 13 px monospace text (0.6 em)
LABEL_CHAR_WIDTH = 6.6  # px per column of the 11 px text of arrows and START / END
NODE_HEIGHT = 34.0
TERMINAL_SIZE = 46.0  # the diameter of START and END
LABEL_HEIGHT = 18.0
RANK_GAP = 40.0
MAX_RANK_GAP = 90.0
RANK_SLOPE = 0.3  # px of height per px an arrow goes sideways between two ranks
BOX_GAP = 24.0
MARGIN = 16.0
CLUSTER_PAD = 14.0
CLUSTER_TITLE = 22.0
LOOP_REACH = 26.0  # how far a box's loop to itself sticks out to its right


def text_width(text: str, char_width: float = CHAR_WIDTH) -> float:
    """The width in px of ``text`` at ``char_width`` px per column."""
    return columns(printable(text)) * char_width


def lay_out(shape: GraphShape) -> Layout:
    """Lay ``shape`` out for SVG: every box and arrow in px, nothing overlapping.

    Raises:
        GraphDefinitionError: ``shape`` is not a ``GraphShape``.
    """
    block = _lay_out(shape_arg(shape, "lay_out()"), ())
    moved = _Block(block.width, block.height, [], [])
    moved.add(block, MARGIN, MARGIN)
    return Layout(
        block.width + 2 * MARGIN,
        block.height + 2 * MARGIN,
        tuple(moved.boxes),
        tuple(moved.routes),
        shape.name,
    )


@dataclass(slots=True)
class _Block:
    """A laid-out graph with its top-left corner at (0, 0)."""

    width: float
    height: float
    boxes: list[Box]
    routes: list[Route]

    def add(self, inner: _Block, dx: float, dy: float) -> None:
        self.boxes += [
            Box(b.path, b.label, b.kind, b.x + dx, b.y + dy, b.width, b.height) for b in inner.boxes
        ]
        for route in inner.routes:
            moved = tuple(Station(s.x + dx, s.y + dy, s.dx, s.dy) for s in route.stations)
            label_box = route.label_box
            if label_box is not None:
                x, y, w, h = label_box
                label_box = (x + dx, y + dy, w, h)
            self.routes.append(
                Route(route.source, route.target, route.style, route.label, moved, label_box,
                      route.shape)
            )  # fmt: skip


def _size(kind: ItemKind, label: str, inner: _Block | None, sources: int) -> tuple[float, float]:
    if kind in ("start", "end"):
        return TERMINAL_SIZE, TERMINAL_SIZE
    if kind == "join":
        return max(40.0, 18.0 * sources), 8.0
    if inner is not None:
        width = max(inner.width, text_width(label) + 8)
        return width + 2 * CLUSTER_PAD, inner.height + 2 * CLUSTER_PAD + CLUSTER_TITLE
    return text_width(label) + 28, NODE_HEIGHT


def _lay_out(shape: GraphShape, path: tuple[str, ...]) -> _Block:
    drawing = drawing_of(shape)
    index = drawing.index()
    inner = {
        item.key: _lay_out(item.subgraph, (*path, item.key))
        for item in drawing.items
        if item.subgraph is not None
    }
    layered = layer(len(drawing.items), drawing.link_ends())
    order_ranks(layered)
    sizes = [
        _size(item.kind, item.label, inner.get(item.key),
              sum(1 for link in drawing.links if link.target == item.key))
        for item in drawing.items
    ]  # fmt: skip
    loops = [0.0] * len(drawing.items)
    for link in drawing.links:
        if link.source == link.target:
            label = 2 + _label_width(link.label) if link.label else 0.0
            loops[index[link.source]] += LOOP_REACH + label
    extents: list[tuple[float, float]] = []
    for vertex, kind in enumerate(layered.kind):
        if kind == "item":
            half = sizes[vertex][0] / 2
            extents.append((half, half + loops[vertex]))
        elif kind == "label":
            half = _label_width(drawing.links[layered.link_of[vertex]].label) / 2
            extents.append((half, half))
        else:
            extents.append((2.0, 2.0))
    x = place(layered, extents, lambda before, after: BOX_GAP)
    heights = [sizes[v][1] if v < len(sizes) else LABEL_HEIGHT for v in range(len(layered.kind))]
    tops, rank_heights = _rank_tops(layered, heights, x)
    block = _Block(
        max((x[v] + extents[v][1] for v in range(len(x))), default=0.0),
        tops[-1] + rank_heights[-1] if tops else 0.0,
        [],
        [],
    )
    for number, item in enumerate(drawing.items):
        width, height = sizes[number]
        rank = layered.rank[number]
        top = tops[rank] + (rank_heights[rank] - height) / 2
        box = Box((*path, item.key), printable(item.label), item.kind, x[number] - width / 2, top,
                  width, height)  # fmt: skip
        block.boxes.append(box)
        if item.key in inner:
            block.add(inner[item.key], box.x + CLUSTER_PAD, box.y + CLUSTER_PAD + CLUSTER_TITLE)
    _route(block, drawing, layered, x, tops, rank_heights, path)  # after every box is known
    return block


def _label_width(label: str | None) -> float:
    return text_width(label or "", LABEL_CHAR_WIDTH) + 10


def _rank_tops(
    layered: Layered, heights: list[float], x: list[float]
) -> tuple[list[float], list[float]]:
    """Each rank's top and height; ranks whose arrows go far sideways lie further apart."""
    rank_heights = [max((heights[v] for v in row), default=0.0) for row in layered.ranks]
    tops: list[float] = []
    at = 0.0
    for row, height in enumerate(rank_heights):
        tops.append(at)
        sideways = max(
            (abs(x[v] - x[w]) for v in layered.ranks[row] for w in layered.down[v]), default=0.0
        )
        at += height + min(max(RANK_GAP, sideways * RANK_SLOPE), MAX_RANK_GAP)
    return tops, rank_heights


def _route(
    block: _Block,
    drawing: Drawing,
    layered: Layered,
    x: list[float],
    tops: list[float],
    rank_heights: list[float],
    path: tuple[str, ...],
) -> None:
    boxes = _own_boxes(block, path)
    ports = spread(layered, x, boxes)
    for number, link in enumerate(drawing.links):
        source, target = (*path, link.source), (*path, link.target)
        chain = layered.chains[number]
        if not chain:
            box = next(box for box in boxes if box.path[-1] == link.source)
            block.routes.append(_loop(box, link.style, link.label, source))
            continue
        middle: list[Station] = []
        label_box = None
        for vertex in chain[1:-1]:
            rank = layered.rank[vertex]
            top, bottom = tops[rank], tops[rank] + rank_heights[rank]
            middle += [Station(x[vertex], top, 0, 1), Station(x[vertex], bottom, 0, 1)]
            if layered.kind[vertex] == "label":
                width = _label_width(link.label)
                middle_y = top + rank_heights[rank] / 2
                label_box = (x[vertex] - width / 2, middle_y - LABEL_HEIGHT / 2, width,
                             LABEL_HEIGHT)  # fmt: skip
        upper, lower = chain[0], chain[-1]
        if layered.reversed[number]:
            middle = [Station(s.x, s.y, 0, -1) for s in reversed(middle)]
            stations = (ports.at(lower, number, "out"), *middle, ports.at(upper, number, "in"))
            shape: Literal["down", "back"] = "back"
        else:
            stations = (ports.at(upper, number, "out"), *middle, ports.at(lower, number, "in"))
            shape = "down"
        block.routes.append(Route(source, target, link.style, link.label and printable(link.label),
                                  stations, label_box, shape))  # fmt: skip


def _own_boxes(block: _Block, path: tuple[str, ...]) -> list[Box]:
    return [box for box in block.boxes if len(box.path) == len(path) + 1]


def _loop(box: Box, style: LinkStyle, label: str | None, path: tuple[str, ...]) -> Route:
    right = box.x + box.width
    middle = box.y + box.height / 2
    stations = (
        Station(right, middle - box.height / 4, 1, 0),
        Station(right + LOOP_REACH, middle, 0, 1),
        Station(right, middle + box.height / 4, -1, 0),
    )
    label_box = None
    if label:
        width = _label_width(label)
        label_box = (right + LOOP_REACH + 2, middle - LABEL_HEIGHT / 2, width, LABEL_HEIGHT)
    return Route(path, path, style, label and printable(label), stations, label_box, "loop")
