"""CompiledGraph: the immutable, validated plan of a graph, with run shortcuts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.errors import GraphDefinitionError
from orkes.graph._cache import NodeCache
from orkes.graph._definition import Branch, Edge, Join, NodeSpec
from orkes.graph._runs import RunMethods
from orkes.graph.plan import GraphPlan
from orkes.graph.state import StateSchema

if TYPE_CHECKING:
    from orkes.graph.runner import GraphRunner
    from orkes.graph.spec import GraphSpec

__all__ = ["CompiledGraph"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class CompiledGraph(RunMethods[StateT]):
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
        spec: all of the above in one frozen ``GraphSpec``: what validation checked and
            what the plan and pictures read.
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
        "spec",
        "state_schema",
    )

    def __init__(self, spec: GraphSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.description = spec.description
        self.state_schema: type[StateT] = spec.state_schema
        self.schema: StateSchema = spec.schema
        self.nodes: Mapping[str, Callable[..., Any]] = MappingProxyType(
            {name: node.fn for name, node in spec.nodes.items()}
        )
        self.node_specs: Mapping[str, NodeSpec] = spec.nodes
        self.edges: tuple[Edge, ...] = spec.edges
        self.joins: tuple[Join, ...] = spec.joins
        self.branches: tuple[Branch, ...] = spec.branches
        self.plan = GraphPlan(
            spec,
            {name: NodeCache(node.cache) for name, node in spec.nodes.items() if node.cache},
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

    def _runner(self) -> GraphRunner[StateT]:
        from orkes.graph.runner import GraphRunner

        return GraphRunner(self)


def _immutable(attribute: str) -> GraphDefinitionError:
    return GraphDefinitionError(
        f"a CompiledGraph is immutable (tried to change {attribute!r}); change the OrkesGraph "
        "it came from before compiling, or build a new one"
    )
