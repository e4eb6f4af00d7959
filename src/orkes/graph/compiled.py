"""CompiledGraph: the immutable, validated plan of a graph, with run shortcuts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from orkes.errors import GraphDefinitionError
from orkes.graph._cache import NodeCache
from orkes.graph._definition import Branch, Edge, Join, NodeSpec
from orkes.graph.plan import GraphPlan
from orkes.graph.state import StateSchema

if TYPE_CHECKING:
    from orkes.events import StreamMode
    from orkes.graph.core import OrkesGraph
    from orkes.graph.stream import AsyncRunStream, RunStream

__all__ = ["CompiledGraph"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class CompiledGraph(Generic[StateT]):
    """A validated graph, frozen: safe to share between threads and runs.

    Made by :meth:`OrkesGraph.compile`; run it with ``GraphRunner(compiled).run(state)``
    or the shortcut ``compiled.run(state)``.

    Attributes:
        name: the graph's name, if it was given one.
        description: what the graph does, if it was said.
        state_schema: the ``TypedDict`` class of the state.
        nodes: node name -> function, read-only.
        node_specs: node name -> how it was added (its options), read-only.
        edges: the plain edges, as recorded.
        joins: the joins (``add_edge([a, b], c)``), as recorded.
        branches: the conditional edges, as recorded.
    """

    __slots__ = (
        "branches",
        "description",
        "edges",
        "joins",
        "name",
        "node_specs",
        "nodes",
        "plan",
        "schema",
        "state_schema",
    )

    def __init__(self, graph: OrkesGraph[StateT]) -> None:
        self.name = graph.name
        self.description = graph.description
        self.state_schema: type[StateT] = graph.state_schema
        self.schema: StateSchema = graph.schema
        self.nodes: Mapping[str, Callable[..., Any]] = MappingProxyType(dict(graph.nodes))
        self.node_specs: Mapping[str, NodeSpec] = MappingProxyType(dict(graph.node_specs))
        self.edges: tuple[Edge, ...] = tuple(graph.edges)
        self.joins: tuple[Join, ...] = tuple(graph.joins)
        self.branches: tuple[Branch, ...] = tuple(graph.branches)
        self.plan = GraphPlan(
            graph.schema,
            tuple(self.node_specs.values()),
            self.edges,
            self.joins,
            self.branches,
            {name: NodeCache(spec.cache) for name, spec in self.node_specs.items() if spec.cache},
        )

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "plan"):
            raise _immutable(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise _immutable(name)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<CompiledGraph{label} over {self.state_schema.__name__}: {len(self.nodes)} nodes>"

    def run(self, state: Mapping[str, Any], *, max_steps: int | None = None) -> StateT:
        """Run the graph on ``state``: a shortcut for ``GraphRunner(self).run(state)``."""
        from orkes.graph.runner import GraphRunner

        return GraphRunner(self).run(state, max_steps=max_steps)

    async def arun(self, state: Mapping[str, Any], *, max_steps: int | None = None) -> StateT:
        """Run the graph on ``state`` without blocking the event loop (async nodes allowed)."""
        from orkes.graph.runner import GraphRunner

        return await GraphRunner(self).arun(state, max_steps=max_steps)

    def stream(
        self,
        state: Mapping[str, Any],
        *,
        modes: Iterable[StreamMode] | StreamMode = ("updates",),
        max_steps: int | None = None,
    ) -> RunStream[StateT]:
        """Stream a run's events: a shortcut for ``GraphRunner(self).stream(state, ...)``."""
        from orkes.graph.runner import GraphRunner

        return GraphRunner(self).stream(state, modes=modes, max_steps=max_steps)

    def astream(
        self,
        state: Mapping[str, Any],
        *,
        modes: Iterable[StreamMode] | StreamMode = ("updates",),
        max_steps: int | None = None,
    ) -> AsyncRunStream[StateT]:
        """Stream a run on the event loop: ``GraphRunner(self).astream(state, ...)``."""
        from orkes.graph.runner import GraphRunner

        return GraphRunner(self).astream(state, modes=modes, max_steps=max_steps)


def _immutable(attribute: str) -> GraphDefinitionError:
    return GraphDefinitionError(
        f"a CompiledGraph is immutable (tried to change {attribute!r}); change the OrkesGraph "
        "it came from before compiling, or build a new one"
    )
