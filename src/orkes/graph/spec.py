"""GraphSpec: the frozen description of a graph, made once by ``compile()``.

Validation, the run plan and pictures of the graph read this, never the live builder:
what was checked is exactly what runs, whatever happens to the builder afterwards.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> class Text(TypedDict):
    ...     words: list[str]
    >>> builder = OrkesGraph(Text, name="tidy").add_node("split", lambda t: None)
    >>> spec = builder.add_edge(START, "split").add_edge("split", END).compile().spec
    >>> spec
    <GraphSpec 'tidy' over Text: 1 nodes, 2 edges, 0 joins, 0 branches>
    >>> [(edge.source, edge.target) for edge in spec.edges]
    [(START, 'split'), ('split', END)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orkes.graph._definition import Branch, Edge, Join, NodeSpec
from orkes.graph.state import StateSchema

__all__ = ["GraphSpec"]


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """Everything a graph was built from, frozen: nodes, edges, joins, branches.

    Attributes:
        name: the graph's name, if it was given one.
        description: what the graph does, if it was said.
        state_schema: the ``TypedDict`` class of the state.
        schema: what orkes read from it (keys, reducers).
        nodes: node name -> how it was added (``NodeSpec``), read-only, in the order added.
        edges: the plain edges (``add_edge(a, b)``), in the order added.
        joins: the joins (``add_edge([a, b], c)``), in the order added.
        branches: the conditional edges, in the order added.
        interrupt_before: nodes before which a durable run pauses.
        interrupt_after: nodes after which a durable run pauses.
    """

    name: str | None
    description: str | None
    state_schema: type[Any]
    schema: StateSchema
    nodes: Mapping[str, NodeSpec]
    edges: tuple[Edge, ...]
    joins: tuple[Join, ...]
    branches: tuple[Branch, ...]
    interrupt_before: tuple[str, ...] = ()
    interrupt_after: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        graph: Any,
        interrupt_before: tuple[str, ...] = (),
        interrupt_after: tuple[str, ...] = (),
    ) -> GraphSpec:
        """Freeze what the builder ``graph`` holds now (an ``OrkesGraph``)."""
        return cls(
            graph.name,
            graph.description,
            graph.state_schema,
            graph.schema,
            MappingProxyType(dict(graph.node_specs)),
            tuple(graph.edges),
            tuple(graph.joins),
            tuple(graph.branches),
            interrupt_before,
            interrupt_after,
        )

    @property
    def breakpoints(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(interrupt_before, interrupt_after)``."""
        return self.interrupt_before, self.interrupt_after

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<GraphSpec{label} over {self.state_schema.__name__}: {len(self.nodes)} nodes, "
            f"{len(self.edges)} edges, {len(self.joins)} joins, {len(self.branches)} branches>"
        )
