"""SVG: a graph's picture as one self-contained SVG document, made in pure Python.

No fonts, scripts, images, style sheets or links: shapes, text and one arrowhead marker,
styled by attributes (a ``<style>`` element would leak into the page of a notebook that
shows the picture inline). Every text is XML-escaped; the output is well-formed XML.

Example:
    >>> from orkes.viz.shape import END, START, Edge, GraphShape, Node
    >>> svg = render_svg(GraphShape((Node("a & b"),), (Edge(START, "a & b"), Edge("a & b", END))))
    >>> svg.startswith("<svg ") and "a &amp; b" in svg
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from itertools import pairwise

from orkes.viz._geometry import Box, Layout, Route, Station
from orkes.viz._text import xml_escape
from orkes.viz.layout import CLUSTER_TITLE, lay_out
from orkes.viz.shape import GraphShape, shape_arg

__all__ = ["render_svg", "svg_of"]

FONT = "ui-monospace, Menlo, Consolas, &#39;DejaVu Sans Mono&#39;, monospace"
INK = "#2d3340"
EDGE = "#5b6478"
NODE_FILL = "#eef2fb"
NODE_STROKE = "#4b5d8c"
CLUSTER_FILL = "#f6f7fa"
CLUSTER_STROKE = "#9aa3b5"


def render_svg(shape: GraphShape) -> str:
    """The SVG picture of ``shape``: laid out with :func:`~orkes.viz.layout.lay_out`.

    Raises:
        GraphDefinitionError: ``shape`` is not a ``GraphShape``.
    """
    return svg_of(lay_out(shape_arg(shape, "render_svg()")))


def svg_of(layout: Layout) -> str:
    """The SVG document drawing ``layout``."""
    return "\n".join(_document(layout)) + "\n"


def _document(layout: Layout) -> Iterator[str]:
    seen = repr(layout).encode("utf-8", "backslashreplace")
    marker = "orkes-arrow-" + hashlib.sha1(seen, usedforsecurity=False).hexdigest()[:10]
    width, height = _n(layout.width), _n(layout.height)
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="13" role="img">'
    )
    yield f"<title>{xml_escape(layout.name or 'graph')}</title>"
    yield (
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{EDGE}"/></marker></defs>'
    )
    yield f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
    clusters = [box for box in layout.boxes if box.kind == "subgraph"]
    for box in sorted(clusters, key=lambda box: len(box.path)):
        yield from _cluster(box)
    for route in layout.routes:
        yield from _edge(route, marker)
    for box in layout.boxes:
        if box.kind != "subgraph":
            yield from _node(box)
    for route in layout.routes:
        yield from _label(route)
    yield "</svg>"


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _data(box: Box) -> str:
    return (
        f'data-name="{xml_escape(box.path[-1])}" data-path="{xml_escape(" > ".join(box.path))}" '
        f'data-kind="{box.kind}"'
    )


def _cluster(box: Box) -> Iterator[str]:
    yield f'<g class="orkes-cluster" {_data(box)}>'
    yield (
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" '
        f'height="{_n(box.height)}" rx="10" fill="{CLUSTER_FILL}" stroke="{CLUSTER_STROKE}"/>'
    )
    yield (
        f'<text x="{_n(box.x + 10)}" y="{_n(box.y + CLUSTER_TITLE - 4)}" font-weight="bold" '
        f'fill="{INK}">{xml_escape(box.label)}</text>'
    )
    yield "</g>"


def _node(box: Box) -> Iterator[str]:
    x, y, w, h = box.x, box.y, box.width, box.height
    cx, cy = x + w / 2, y + h / 2
    yield f'<g class="orkes-node" {_data(box)}><title>{xml_escape(box.label)}</title>'
    text = f'x="{_n(cx)}" y="{_n(cy)}" dy="0.35em" text-anchor="middle"'
    if box.kind == "start":
        yield f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(w / 2)}" fill="{INK}"/>'
        yield f'<text {text} font-size="11" fill="#ffffff">START</text>'
    elif box.kind == "end":
        yield (
            f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(w / 2)}" fill="#ffffff" '
            f'stroke="{INK}" stroke-width="2"/>'
        )
        yield (
            f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(w / 2 - 4)}" fill="#ffffff" '
            f'stroke="{INK}"/>'
        )
        yield f'<text {text} font-size="11" fill="{INK}">END</text>'
    elif box.kind == "join":
        size = f'x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"'
        yield f'<rect {size} rx="2" fill="{INK}"/>'
    else:
        dashed = ' stroke-dasharray="4 3"' if box.kind == "anywhere" else ""
        yield (
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="4" '
            f'fill="{NODE_FILL}" stroke="{NODE_STROKE}" stroke-width="1.2"{dashed}/>'
        )
        yield f'<text {text} fill="{INK}">{xml_escape(box.label)}</text>'
    yield "</g>"


def _edge(route: Route, marker: str) -> Iterator[str]:
    dashed = ' stroke-dasharray="6 4"' if route.style == "jump" else ""
    yield (
        f'<g class="orkes-edge" data-source="{xml_escape(" > ".join(route.source))}" '
        f'data-target="{xml_escape(" > ".join(route.target))}" data-style="{route.style}">'
    )
    yield (
        f'<path d="{_path(route.stations)}" fill="none" stroke="{EDGE}" stroke-width="1.4"'
        f'{dashed} marker-end="url(#{marker})"/>'
    )
    yield "</g>"


def _path(stations: tuple[Station, ...]) -> str:
    """Smooth curves through the stations, leaving and reaching each in its direction."""
    first = stations[0]
    parts = [f"M{_n(first.x)},{_n(first.y)}"]
    for here, there in pairwise(stations):
        if here.x == there.x and here.dx == there.dx == 0:
            parts.append(f"L{_n(there.x)},{_n(there.y)}")
            continue
        reach = max(14.0, min(80.0, (abs(there.y - here.y) + abs(there.x - here.x)) / 2))
        parts.append(
            f"C{_n(here.x + here.dx * reach)},{_n(here.y + here.dy * reach)} "
            f"{_n(there.x - there.dx * reach)},{_n(there.y - there.dy * reach)} "
            f"{_n(there.x)},{_n(there.y)}"
        )
    return " ".join(parts)


def _label(route: Route) -> Iterator[str]:
    if route.label is None or route.label_box is None:
        return
    x, y, w, h = route.label_box
    yield '<g class="orkes-label">'
    yield (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="3" '
        f'fill="#ffffff" fill-opacity="0.92"/>'
    )
    yield (
        f'<text x="{_n(x + w / 2)}" y="{_n(y + h / 2)}" dy="0.35em" text-anchor="middle" '
        f'font-size="11" fill="{INK}">{xml_escape(route.label)}</text>'
    )
    yield "</g>"
