"""Pictures of graphs: Mermaid text, ASCII art and SVG, from a plain description.

This package knows nothing of the engine: its input is a :class:`~orkes.viz.shape.GraphShape`
(nodes, edges, joins, branches, destinations), which ``CompiledGraph.shape()`` builds.
``CompiledGraph.draw_mermaid()``, ``draw_ascii()`` and ``draw_svg()`` are the shortcuts;
``import orkes`` does not load this package until a picture is asked for.

Example:
    >>> from orkes.viz import END, START, Edge, GraphShape, Node, render_mermaid
    >>> shape = GraphShape((Node("greet"),), (Edge(START, "greet"), Edge("greet", END)))
    >>> print(render_mermaid(shape).splitlines()[0])
    flowchart TD
"""

from orkes.viz._geometry import Box, Layout, Route, Station
from orkes.viz.ascii import render_ascii
from orkes.viz.layout import lay_out
from orkes.viz.mermaid import render_mermaid
from orkes.viz.shape import END, START, Branch, Destination, Edge, GraphShape, Join, Node
from orkes.viz.svg import render_svg, svg_of

__all__ = [
    "END",
    "START",
    "Box",
    "Branch",
    "Destination",
    "Edge",
    "GraphShape",
    "Join",
    "Layout",
    "Node",
    "Route",
    "Station",
    "lay_out",
    "render_ascii",
    "render_mermaid",
    "render_svg",
    "svg_of",
]
