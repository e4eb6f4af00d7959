"""CompiledGraph: the immutable, validated plan of a graph, with run shortcuts."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
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
    from orkes.viz.shape import GraphShape

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

    def shape(self) -> GraphShape:
        """The plain description this graph's pictures draw (an ``orkes.viz.GraphShape``).

        Nodes (subgraphs with their own shape), edges, joins, conditional edges labelled
        with their mapping keys, and the destinations of ``Send`` / ``Command``.
        """
        from orkes.graph._shape import graph_shape

        return graph_shape(self.spec)

    def draw_mermaid(self) -> str:
        """The graph as Mermaid ``flowchart TD`` text (see the "Seeing your graph" page)."""
        from orkes.viz.mermaid import render_mermaid

        return render_mermaid(self.shape())

    def draw_ascii(self, *, max_width: int = 100) -> str:
        """The graph as ASCII art, at most ``max_width`` columns wide.

        Raises:
            GraphDefinitionError: it does not fit; use :meth:`draw_mermaid` or
                :meth:`draw_svg`, or a larger ``max_width``.
        """
        from orkes.viz.ascii import render_ascii

        return render_ascii(self.shape(), max_width=max_width)

    def draw_svg(self) -> str:
        """The graph as a self-contained SVG document (no fonts, scripts or links)."""
        from orkes.viz.svg import render_svg

        return render_svg(self.shape())

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """What Jupyter shows: the SVG picture, the Mermaid text, and the ``repr``."""
        makers: dict[str, Callable[[], str]] = {
            "image/svg+xml": self.draw_svg,
            "text/vnd.mermaid": self.draw_mermaid,
            "text/plain": self.__repr__,
        }
        return {
            mime: make()
            for mime, make in makers.items()
            if (include is None or mime in include) and (exclude is None or mime not in exclude)
        }

    def _runner(self) -> GraphRunner[StateT]:
        from orkes.graph.runner import GraphRunner

        return GraphRunner(self)


def _immutable(attribute: str) -> GraphDefinitionError:
    return GraphDefinitionError(
        f"a CompiledGraph is immutable (tried to change {attribute!r}); change the OrkesGraph "
        "it came from before compiling, or build a new one"
    )
