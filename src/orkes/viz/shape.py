"""GraphShape: what a picture of a graph shows, as plain frozen data.

The pictures read this and nothing else: no functions, no state schema, no engine.
``CompiledGraph.shape()`` builds one from a compiled graph; a test or a tool may
build one by hand.

Example:
    >>> from orkes.viz.shape import END, START, Branch, Edge, GraphShape, Node
    >>> shape = GraphShape(
    ...     nodes=(Node("triage"), Node("bot"), Node("human")),
    ...     edges=(Edge(START, "triage"), Edge("bot", END), Edge("human", END)),
    ...     branches=(Branch("triage", (("bot", "bot"), ("human", "human"))),),
    ... )
    >>> shape
    <GraphShape: 3 nodes, 3 edges, 0 joins, 1 branches, 0 destinations>
    >>> shape.successors("triage")
    ('bot', 'human')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from orkes.errors import GraphDefinitionError

__all__ = [
    "END",
    "START",
    "Branch",
    "Destination",
    "Edge",
    "GraphShape",
    "Join",
    "Node",
    "shape_arg",
]

START: Final = "__start__"
"""Where every run begins (equal to ``orkes.START``)."""

END: Final = "__end__"
"""Where a path ends (equal to ``orkes.END``)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A node of the picture.

    Attributes:
        name: the node's name, unique in its graph.
        kind: ``"node"`` for a function, ``"subgraph"`` for a compiled graph used as a node.
        subgraph: the inner graph's shape, for a subgraph.
    """

    name: str
    kind: Literal["node", "subgraph"] = "node"
    subgraph: GraphShape | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A plain edge ``source -> target`` (``source`` may be START, ``target`` END)."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Join:
    """A join ``[a, b] -> target``: ``target`` runs once every source has finished."""

    sources: tuple[str, ...]
    target: str


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: a gate after ``source`` picks where to go.

    Attributes:
        source: the node (or START) the gate runs after.
        routes: ``(label, target)`` pairs, the label being the gate's value (its mapping
            key, or the ``Literal`` value it returns): ``(("even", "a"), ("odd", "b"))``.
        default: where any other value goes, if the edge has a ``default=``.
        gate: the gate's name, shown where the targets are unknown.
        anywhere: the gate names no targets (no mapping, no ``Literal``): it may go to any
            node.
    """

    source: str
    routes: tuple[tuple[str, str], ...]
    default: str | None = None
    gate: str = "gate"
    anywhere: bool = False


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a node's ``Send`` or ``Command`` may lead: drawn dashed."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class GraphShape:
    """A graph as its pictures show it: nodes, edges, joins, branches, destinations.

    Attributes:
        nodes: the nodes, in the order they were added (START and END are implied).
        edges: the plain edges.
        joins: the joins.
        branches: the conditional edges.
        destinations: the dashed edges of ``Send`` and ``Command``.
        name: the graph's name, for the picture's title.

    Raises:
        GraphDefinitionError: a part is not of its type (a node not a :class:`Node`, a
            name not a ``str``), a node name is used twice or is START / END, or an
            edge names a node the shape does not have.
    """

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    joins: tuple[Join, ...] = ()
    branches: tuple[Branch, ...] = ()
    destinations: tuple[Destination, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        _check_parts(self)
        names: dict[str, None] = {}
        for node in self.nodes:
            if node.name in names or node.name in (START, END):
                raise GraphDefinitionError(
                    f"a GraphShape's node names must be unique and not START or END, "
                    f"got {node.name!r} twice or reserved"
                )
            names[node.name] = None
        unknown = [
            (source, target)
            for source, target in self.links()
            if (source not in names and source != START) or (target not in names and target != END)
        ]
        if unknown:
            source, target = unknown[0]
            raise GraphDefinitionError(
                f"a GraphShape's edge {source!r} -> {target!r} names a node it does not have "
                f"(it has {list(names)!r}, START and END)"
            )

    def links(self) -> tuple[tuple[str, str], ...]:
        """Every ``(source, target)`` pair the picture connects, in a fixed order."""
        found: list[tuple[str, str]] = [(edge.source, edge.target) for edge in self.edges]
        found += [(source, join.target) for join in self.joins for source in join.sources]
        for branch in self.branches:
            found += [(branch.source, target) for _, target in branch.routes]
            if branch.default is not None:
                found.append((branch.source, branch.default))
        found += [(jump.source, jump.target) for jump in self.destinations]
        return tuple(found)

    def successors(self, name: str) -> tuple[str, ...]:
        """The nodes (or END) ``name`` may lead to, each once, in a fixed order."""
        found = (target for source, target in self.links() if source == name)
        return tuple(dict.fromkeys(found))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<GraphShape{label}: {len(self.nodes)} nodes, {len(self.edges)} edges, "
            f"{len(self.joins)} joins, {len(self.branches)} branches, "
            f"{len(self.destinations)} destinations>"
        )


def shape_arg(shape: object, where: str) -> GraphShape:
    """``shape``, refused unless it is a :class:`GraphShape` (``where`` names the call)."""
    if not isinstance(shape, GraphShape):
        raise GraphDefinitionError(
            f"{where} takes an orkes.viz.GraphShape (app.shape(), or GraphShape(nodes=...)), "
            f"got {shape!r:.200}"
        )
    return shape


_PARTS = (
    ("nodes", Node, ("name",)),
    ("edges", Edge, ("source", "target")),
    ("joins", Join, ("target",)),
    ("branches", Branch, ("source", "gate")),
    ("destinations", Destination, ("source", "target")),
)


def _check_parts(shape: GraphShape) -> None:
    """Refuse a part of ``shape`` that is not what the pictures read.

    A frozen dataclass does not check its fields' types: a wrong one would fail deep in
    a picture, as a builtin error that names nothing of the user's.
    """

    def refuse(what: str, value: object, right: str) -> GraphDefinitionError:
        return GraphDefinitionError(f"a GraphShape's {what} must be {right}, got {value!r:.200}")

    if shape.name is not None and not isinstance(shape.name, str):
        raise refuse("name", shape.name, "a str or None")
    for field, kind, texts in _PARTS:
        parts = getattr(shape, field)
        if not isinstance(parts, tuple):
            raise refuse(field, parts, f"a tuple of {kind.__name__}")
        for part in parts:
            if not isinstance(part, kind):
                raise refuse(f"{field} item", part, f"a {kind.__name__}")
            names = [getattr(part, text) for text in texts]
            if isinstance(part, Join):
                names += part.sources if isinstance(part.sources, tuple) else [part.sources]
            if isinstance(part, Branch):
                routes = part.routes if isinstance(part.routes, tuple) else ((part.routes,),)
                if not all(isinstance(route, tuple) and len(route) == 2 for route in routes):
                    raise refuse("branch's routes", part.routes, "(label, target) pairs")
                names += [text for route in routes for text in route]
                names += [] if part.default is None else [part.default]
            if not all(isinstance(name, str) for name in names):
                raise refuse(f"{field} item", part, "named by str")
            if isinstance(part, Node) and (
                part.kind not in ("node", "subgraph")
                or (part.kind == "subgraph") != isinstance(part.subgraph, GraphShape)
            ):
                raise refuse("node", part, 'of kind "subgraph" with a GraphShape, or "node"')
