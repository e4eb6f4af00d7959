"""The graph's shape in a trace: made from the run's plan, and as plain JSON data.

A trace keeps the :class:`~orkes.viz.shape.GraphShape` of the graph it ran, so that its
inspector (:mod:`orkes.tracing.html`) can draw the graph. The tracer is told a run's
graph name, not its ``CompiledGraph``; it sees the run's plan, which keeps every node's
spec, every conditional edge, join and limited edge as it was added, and the targets
of plain edges but not the edges themselves. :func:`plan_shape` rebuilds the graph's
spec from that and draws it with the same function as ``CompiledGraph.shape()``. Two
things are lost on the way: plain edges come in the order of their sources, not the
order they were added, and an edge to END is known only from a node with no other way
out (a node with an edge to END *and* another edge shows only the other one). Give
``shape=compiled.shape()`` to the inspector for the exact picture.

``orkes.viz`` loads only when a shape is first made; shapes are kept per plan.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from orkes.graph._definition import Edge, Join
from orkes.graph._sentinels import END, START

if TYPE_CHECKING:
    from orkes.graph._definition import Branch
    from orkes.graph._tasks import GraphPlan, NodePlan
    from orkes.viz.shape import GraphShape

__all__ = ["plan_shape", "shape_data", "shape_from_data"]

_KEPT = 64  # plans whose shape is remembered; a process rarely runs more graphs than this
_shapes: dict[int, tuple[GraphPlan, str | None, GraphShape]] = {}
_lock = threading.Lock()


def plan_shape(plan: GraphPlan, name: str | None) -> GraphShape:
    """The shape of the graph ``plan`` was made from (see the module's note on edges)."""
    kept = _shapes.get(id(plan))
    if kept is not None and kept[0] is plan and kept[1] == name:
        return kept[2]
    from orkes.graph._shape import graph_shape
    from orkes.graph.spec import GraphSpec

    spec = GraphSpec(
        name,
        None,
        plan.schema.schema,
        plan.schema,
        MappingProxyType({node_name: node.spec for node_name, node in plan.nodes.items()}),
        _edges(plan),
        _joins(plan),
        _branches(plan),
    )
    shape = graph_shape(spec)
    with _lock:
        # The plan is held, so its id is not reused while it is here.
        _shapes[id(plan)] = (plan, name, shape)
        while len(_shapes) > _KEPT:
            del _shapes[next(iter(_shapes))]
    return shape


def _sources(plan: GraphPlan) -> list[tuple[str, NodePlan]]:
    return [(START, plan.start), *plan.nodes.items()]


def _edges(plan: GraphPlan) -> tuple[Edge, ...]:
    found: list[Edge] = []
    for source, node in _sources(plan):
        found += [Edge(source, target.name, None) for target in node.successors]
        found += [edge for _, edge, _ in node.limited_edges]
        if source != START and not (
            node.successors or node.limited_edges or node.branches or node.joins
        ) and not node.destinations:  # fmt: skip
            found.append(Edge(source, END, None))  # no other way out: validation saw one
    return tuple(dict.fromkeys(found))


def _numbered(key: str) -> int:
    """``"gate:3"`` -> 3: the position in which the edge was added."""
    return int(key.rpartition(":")[2])


def _joins(plan: GraphPlan) -> tuple[Join, ...]:
    joins = {key: join for _, node in _sources(plan) for key, join, _ in node.joins}
    return tuple(joins[key] for key in sorted(joins, key=_numbered))


def _branches(plan: GraphPlan) -> tuple[Branch, ...]:
    gates = {gate.key: gate.branch for _, node in _sources(plan) for gate in node.branches}
    return tuple(gates[key] for key in sorted(gates, key=_numbered))


def shape_data(shape: GraphShape) -> dict[str, Any]:
    """``shape`` as JSON data: names, lists and ``None``; ``shape_from_data`` reads it."""
    return {
        "name": shape.name,
        "nodes": [
            {
                "name": node.name,
                "kind": node.kind,
                "subgraph": None if node.subgraph is None else shape_data(node.subgraph),
            }
            for node in shape.nodes
        ],
        "edges": [[edge.source, edge.target] for edge in shape.edges],
        "joins": [{"sources": list(join.sources), "target": join.target} for join in shape.joins],
        "branches": [
            {
                "source": branch.source,
                "routes": [list(route) for route in branch.routes],
                "default": branch.default,
                "gate": branch.gate,
                "anywhere": branch.anywhere,
            }
            for branch in shape.branches
        ],
        "destinations": [[jump.source, jump.target] for jump in shape.destinations],
    }


def shape_from_data(data: Mapping[str, Any]) -> GraphShape:
    """The shape :func:`shape_data` gave ``data``.

    Raises:
        KeyError, TypeError, ValueError: ``data`` is not such data (the trace reader
            reports it as a damaged trace).
    """
    from orkes.viz import shape

    return shape.GraphShape(
        nodes=tuple(
            shape.Node(
                str(node["name"]),
                "subgraph" if node["kind"] == "subgraph" else "node",
                None if node["subgraph"] is None else shape_from_data(node["subgraph"]),
            )
            for node in data["nodes"]
        ),
        edges=tuple(shape.Edge(str(source), str(target)) for source, target in data["edges"]),
        joins=tuple(
            shape.Join(tuple(map(str, join["sources"])), str(join["target"]))
            for join in data["joins"]
        ),
        branches=tuple(
            shape.Branch(
                str(branch["source"]),
                tuple((str(label), str(target)) for label, target in branch["routes"]),
                None if branch["default"] is None else str(branch["default"]),
                str(branch["gate"]),
                bool(branch["anywhere"]),
            )
            for branch in data["branches"]
        ),
        destinations=tuple(
            shape.Destination(str(source), str(target)) for source, target in data["destinations"]
        ),
        name=None if data["name"] is None else str(data["name"]),
    )
