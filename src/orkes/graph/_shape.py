"""From a compiled graph's ``GraphSpec`` to the plain ``GraphShape`` its pictures draw.

``orkes.viz`` is imported here, inside the function, so that ``import orkes`` and
running graphs never load it: only asking for a picture does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from orkes.graph._definition import Branch
from orkes.graph._sentinels import END, normalize_target

if TYPE_CHECKING:
    from orkes.graph.spec import GraphSpec
    from orkes.viz import shape

__all__ = ["graph_shape"]


def graph_shape(spec: GraphSpec) -> shape.GraphShape:
    """What the pictures of the graph ``spec`` describes show (subgraphs included)."""
    from orkes.viz import shape

    nodes = tuple(
        shape.Node(name)
        if node.subgraph is None
        else shape.Node(name, "subgraph", graph_shape(node.subgraph.spec))
        for name, node in spec.nodes.items()
    )
    return shape.GraphShape(
        nodes,
        tuple(shape.Edge(str(edge.source), str(edge.target)) for edge in spec.edges),
        tuple(shape.Join(tuple(map(str, j.sources)), str(j.target)) for j in spec.joins),
        tuple(_branch(branch, spec.nodes) for branch in spec.branches),
        tuple(
            shape.Destination(name, str(target))
            for name, node in spec.nodes.items()
            for target in node.destinations
        ),
        spec.name,
    )


def _branch(branch: Branch, nodes: Mapping[str, object]) -> shape.Branch:
    """A conditional edge: its mapping's keys, else its gate's ``Literal`` values."""
    from orkes.graph.validate import UnreadableReturn, gate_values
    from orkes.viz import shape

    gate = getattr(branch.gate, "__name__", None) or type(branch.gate).__name__
    default = None if branch.default is None else str(branch.default)
    if branch.mapping is not None:
        routes = tuple((str(key), str(target)) for key, target in branch.mapping.items())
        return shape.Branch(str(branch.source), routes, default, gate)
    try:
        values = gate_values(branch.gate) or ()
    except UnreadableReturn:  # compile() reported it; the picture shows "any node"
        values = ()
    found: list[tuple[str, str]] = []
    for value in values:
        target = normalize_target(value)
        if isinstance(target, str) and (target is END or target in nodes):
            found.append((str(value), str(target)))
    return shape.Branch(str(branch.source), tuple(found), default, gate, anywhere=not found)
