"""ASCII: a graph's picture as text, for terminals, logs and docstrings.

The same layered drawing as the SVG (ranks, few crossings, dummy points), in
characters. Between two ranks, the arrows leaving one port of a box share a horizontal
lane: down from the box, along the lane, down into each target (``v``). Arrows that
close a loop go up (``^`` under their target). Conditional arrows carry their label as
text on the way; dashed ones (``Send`` / ``Command``) are drawn with ``:`` and ``.``.
A subgraph is drawn inside its own frame. The output depends on the graph alone.

Example:
    >>> from orkes.viz.shape import END, START, Edge, GraphShape, Node
    >>> shape = GraphShape((Node("hello"),), (Edge(START, "hello"), Edge("hello", END)))
    >>> print(render_ascii(shape))
     (START)
        v
    +-------+
    | hello |
    +-------+
        v
      (END)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from orkes.errors import GraphDefinitionError
from orkes.viz._canvas import Canvas, LineStyle
from orkes.viz._drawing import Drawing, Item, Link, drawing_of
from orkes.viz._lanes import Gap, Segment, plan_gap
from orkes.viz._layers import Layered, layer
from orkes.viz._order import order_ranks
from orkes.viz._place import place
from orkes.viz._text import columns, printable
from orkes.viz.shape import GraphShape, shape_arg

__all__ = ["DEFAULT_MAX_WIDTH", "render_ascii"]

DEFAULT_MAX_WIDTH = 100
_GAP = 3  # columns from a box to the next in a rank, its own last one included
_DUMMY_GAP = 2  # next to an arrow passing through a rank, one blank column is enough
_LOOP_OWNER = -(10**9)
_SHAPES = {"start": "(START)", "end": "(END)", "join": "(join)"}


def render_ascii(shape: GraphShape, *, max_width: int = DEFAULT_MAX_WIDTH) -> str:
    """The ASCII picture of ``shape``, at most ``max_width`` columns wide.

    Raises:
        GraphDefinitionError: the picture would be wider than ``max_width``: the error
            says how wide, and suggests the Mermaid or SVG picture instead; or ``shape``
            is not a ``GraphShape``, or ``max_width`` not an int.
    """
    shape = shape_arg(shape, "render_ascii()")
    if not isinstance(max_width, int) or isinstance(max_width, bool):
        raise GraphDefinitionError(
            f"max_width= takes an int, the most columns the picture may take, got {max_width!r}"
        )
    lines = _picture(shape)
    width = max((columns(line) for line in lines), default=0)
    if width > max_width:
        what = f"graph {shape.name!r}" if shape.name else "the graph"
        raise GraphDefinitionError(
            f"{what} needs {width} columns as ASCII art, more than max_width={max_width}; "
            "draw it with draw_mermaid() or draw_svg() instead, or pass a larger max_width="
        )
    return "\n".join(lines)


@dataclass(slots=True)
class _Vertex:
    """A vertex's text block: its lines, and its anchor column within them."""

    lines: list[str]
    width: int
    anchor: int
    loop: str = ""  # the right-hand text of a loop to itself: "--." + label


def _picture(shape: GraphShape) -> list[str]:
    drawing = drawing_of(shape)
    index = drawing.index()
    layered = layer(len(drawing.items), drawing.link_ends())
    order_ranks(layered)
    vertices = [_vertex(item) for item in drawing.items]
    for vertex in range(len(drawing.items), len(layered.kind)):
        link = drawing.links[layered.link_of[vertex]]
        if layered.kind[vertex] == "label":
            text = printable(link.label or "")
            vertices.append(_Vertex([text], columns(text), (columns(text) - 1) // 2))
        else:
            vertices.append(_Vertex([], 1, 0))
    _add_loops(drawing, vertices, index)
    extents = [
        (float(v.anchor), float(v.width - 1 - v.anchor + _loop_width(v.loop))) for v in vertices
    ]

    def room(before: int, after: int) -> int:
        return _DUMMY_GAP if "dummy" in (layered.kind[before], layered.kind[after]) else _GAP

    anchors = _columns(layered, place(layered, extents, room), extents, room)
    heights = [max(len(v.lines), 1) for v in vertices]
    rank_heights = [max(heights[v] for v in row) for row in layered.ranks]
    through = _through_columns(layered, anchors, vertices)
    gaps = [
        plan_gap(
            _segments(drawing, layered, row),
            _spans(layered, anchors, vertices, row),
            anchors,
            through,
        )
        for row in range(len(layered.ranks) - 1)
    ]
    tops, at = [], 0
    for row, height in enumerate(rank_heights):
        tops.append(at)
        at += height + (gaps[row].rows if row < len(gaps) else 0)
    width = max((anchors[v] + int(extents[v][1]) + 1 for v in range(len(vertices))), default=0)
    canvas = Canvas(width, at)
    for row, gap in enumerate(gaps):
        _draw_gap(canvas, gap, layered, heights, tops[row], rank_heights[row], tops[row + 1])
    for vertex, block in enumerate(vertices):
        top, left = tops[layered.rank[vertex]], anchors[vertex] - block.anchor
        if layered.kind[vertex] != "item":
            style = _style(drawing.links[layered.link_of[vertex]])
            bottom = top + rank_heights[layered.rank[vertex]] - 1
            column = through[vertex]
            column = anchors[vertex] if column is None else column
            canvas.vertical(column, top + len(block.lines), bottom, -vertex - 1, style)
        for number, line in enumerate(block.lines):
            canvas.text(left, top + number, line)
        if block.loop:
            _draw_loop(canvas, left + block.width, top, len(block.lines), block.loop)
    return canvas.lines()


def _through_columns(
    layered: Layered, anchors: list[int], vertices: list[_Vertex]
) -> dict[int, int | None]:
    """The dummies and labels, and the column an arrow crosses a label by, if it is known.

    A label is wider than its arrow: the arrow crosses it right above whatever comes
    next, if that lies within the label, so that the arrow goes on straight.
    """
    through: dict[int, int | None] = {}
    for vertex, kind in enumerate(layered.kind):
        if kind == "item":
            continue
        through[vertex] = None
        next_column = anchors[layered.down[vertex][0]]
        left = anchors[vertex] - vertices[vertex].anchor
        if kind == "label" and left < next_column < left + vertices[vertex].width - 1:
            through[vertex] = next_column
    return through


def _vertex(item: Item) -> _Vertex:
    if item.kind in _SHAPES:
        text = _SHAPES[item.kind]
        return _Vertex([text], len(text), (len(text) - 1) // 2)
    label = printable(item.label)
    if item.subgraph is not None:
        inner = _picture(item.subgraph)
        drawn = max((columns(line) for line in inner), default=0)
        inner_width = max(drawn, columns(label) + 4)
        margin = " " * ((inner_width - drawn) // 2)  # the inner picture in the middle
        title = f"+- {label} "
        lines = [title + "-" * (inner_width + 3 - columns(title)) + "+"]
        lines += [
            f"| {margin}{line}{' ' * (inner_width - len(margin) - columns(line))} |"
            for line in inner
        ]
        lines.append("+" + "-" * (inner_width + 2) + "+")
        return _Vertex(lines, inner_width + 4, (inner_width + 3) // 2)
    if item.kind == "anywhere":
        label = f"<{label}>"
        return _Vertex([label], columns(label), (columns(label) - 1) // 2)
    width = columns(label) + 4
    border = "+" + "-" * (width - 2) + "+"
    return _Vertex([border, f"| {label} |", border], width, (width - 1) // 2)


def _add_loops(drawing: Drawing, vertices: list[_Vertex], index: dict[str, int]) -> None:
    for link in drawing.links:
        if link.source == link.target:
            block = vertices[index[link.source]]
            labels = [label for label in (block.loop[4:], printable(link.label or "")) if label]
            block.loop = "--. " + ", ".join(labels)


def _loop_width(loop: str) -> int:
    return columns(loop) + 1 if loop else 0


def _draw_loop(canvas: Canvas, x: int, top: int, height: int, loop: str) -> None:
    """A loop out of a box's right side and back into it, its label beside it."""
    canvas.text(x, top, "--.")
    canvas.vertical(x + 2, top + 1, top + height - 2, _LOOP_OWNER, "solid")
    canvas.text(x + 4, top + height // 2, loop[4:])
    canvas.text(x, top + height - 1, "<-'")


def _columns(
    layered: Layered,
    x: list[float],
    extents: list[tuple[float, float]],
    gap: Callable[[int, int], int],
) -> list[int]:
    """Whole columns for the anchors: rounded, then pushed right where rounding crowds."""
    anchors = [int(value + 0.5) for value in x]
    for row in layered.ranks:
        for before, after in pairwise(row):
            least = anchors[before] + int(extents[before][1]) + gap(before, after)
            least += int(extents[after][0])
            anchors[after] = max(anchors[after], least)
    _straighten(layered, anchors, extents, gap)
    leftmost = min((anchors[v] - int(extents[v][0]) for v in range(len(anchors))), default=0)
    return [anchor - leftmost for anchor in anchors]


def _straighten(
    layered: Layered,
    anchors: list[int],
    extents: list[tuple[float, float]],
    gap: Callable[[int, int], int],
) -> None:
    """Move vertices a column or so to make arrows straight, where their rank has room.

    First a vertex goes right under its one neighbour above; then a label or dummy that
    still bends goes right over its one neighbour below.

    Rounding to whole columns leaves arrows a column off; a jog of one column is the
    hardest thing to read in ASCII.
    """

    def move(row: list[int], index: int, wanted: int) -> None:
        vertex = row[index]
        if index > 0:
            before = row[index - 1]
            least = anchors[before] + int(extents[before][1]) + gap(before, vertex)
            if wanted < least + int(extents[vertex][0]):
                return
        if index + 1 < len(row):
            after = row[index + 1]
            most = anchors[after] - int(extents[after][0]) - gap(vertex, after)
            if wanted > most - int(extents[vertex][1]):
                return
        anchors[vertex] = wanted

    for row in layered.ranks[1:]:
        for index, vertex in enumerate(row):
            if len(layered.up[vertex]) == 1:
                move(row, index, anchors[layered.up[vertex][0]])
    for row in reversed(layered.ranks[:-1]):
        for index, vertex in enumerate(row):
            above = layered.up[vertex]
            if layered.kind[vertex] != "item" and anchors[above[0]] != anchors[vertex]:
                move(row, index, anchors[layered.down[vertex][0]])  # it bends anyway


def _style(link: Link) -> LineStyle:
    return "dashed" if link.style == "jump" else "solid"


def _segments(drawing: Drawing, layered: Layered, row: int) -> list[Segment]:
    found: list[Segment] = []
    for number, chain in enumerate(layered.chains):
        for step, (upper, lower) in enumerate(pairwise(chain)):
            if layered.rank[upper] != row:
                continue
            back = layered.reversed[number]
            found.append(
                Segment(
                    upper, lower, number, _style(drawing.links[number]), back,
                    arrow_up=back and step == 0,
                    arrow_down=not back and step == len(chain) - 2,
                )
            )  # fmt: skip
    return found


def _spans(
    layered: Layered, anchors: list[int], vertices: list[_Vertex], row: int
) -> dict[int, tuple[int, int]]:
    """The first and last column an arrow may use on each vertex of ranks ``row``, ``row+1``."""
    spans: dict[int, tuple[int, int]] = {}
    for vertex in layered.ranks[row] + layered.ranks[row + 1]:
        block = vertices[vertex]
        left = anchors[vertex] - block.anchor
        if layered.kind[vertex] != "item":
            spans[vertex] = (left, left + block.width - 1)
        elif block.width <= 2:
            spans[vertex] = (anchors[vertex], anchors[vertex])
        else:
            spans[vertex] = (left + 1, left + block.width - 2)
    return spans


def _draw_gap(
    canvas: Canvas,
    gap: Gap,
    layered: Layered,
    heights: list[int],
    top: int,
    rank_height: int,
    below: int,
) -> None:
    """Draw the arrows between a rank (at row ``top``) and the next (at row ``below``)."""
    first = top + rank_height
    last = below - 1
    for bus in gap.buses:
        start = top + heights[bus.vertex]  # right under the box, however tall its rank
        lane = first + bus.lane if bus.lane >= 0 else last
        canvas.vertical(bus.column, start, lane, bus.owner, bus.style)
        left, right = min(bus.column, *bus.drops), max(bus.column, *bus.drops)
        if left != right:
            canvas.horizontal(lane, left, right, bus.owner, bus.style)
        for column in bus.drops:
            canvas.vertical(column, lane, last, bus.owner, bus.style)
        if bus.arrow_up:
            canvas.text(bus.column, start, "^")
    for column in gap.arrows_down:
        canvas.text(column, last, "v")
