"""The graph's shape in a trace: made from the run's plan, and as plain JSON data.

A trace keeps the :class:`~orkes.viz.shape.GraphShape` of the graph it ran, so that its
inspector (:mod:`orkes.tracing.html`) can draw the graph: the run's plan keeps the
frozen spec it was made from, drawn by the same function as ``CompiledGraph.shape()``.

``orkes.viz`` loads only when a shape is first made; shapes are kept per plan.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orkes.graph._tasks import GraphPlan
    from orkes.viz.shape import GraphShape

__all__ = ["plan_shape", "shape_data", "shape_from_data"]

_KEPT = 64  # plans whose shape is remembered; a process rarely runs more graphs than this
_shapes: dict[int, tuple[GraphPlan, GraphShape]] = {}
_lock = threading.Lock()


def plan_shape(plan: GraphPlan) -> GraphShape:
    """The shape of the graph ``plan`` was made from: what ``CompiledGraph.shape()`` gives."""
    kept = _shapes.get(id(plan))
    if kept is not None and kept[0] is plan:
        return kept[1]
    from orkes.graph._shape import graph_shape

    shape = graph_shape(plan.spec)
    with _lock:
        # The plan is held, so its id is not reused while it is here.
        _shapes[id(plan)] = (plan, shape)
        while len(_shapes) > _KEPT:
            del _shapes[next(iter(_shapes))]
    return shape


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
