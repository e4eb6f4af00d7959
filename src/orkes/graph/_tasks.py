"""The shapes the planner works with: a node as planned, and a task (one call of a node)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.graph._definition import Edge, Join, NodeSpec
from orkes.graph._gates import GatePlan

if TYPE_CHECKING:
    from orkes.graph.spec import GraphSpec

__all__ = ["STATE", "GraphPlan", "NodePlan", "Task", "sorted_tasks"]


class _StateInput:
    """The input of a task that gets a copy of the state (every task but a ``Send``'s)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "STATE"


STATE: Any = _StateInput()


class Task:
    """One call of a node in a superstep: the node, its input, and its ``Send`` index.

    A node reached by edges runs as one task whose input is a copy of the state; each
    ``Send`` to it is a task of its own, with the ``Send``'s argument as input. Tasks of a
    superstep merge their updates in order of node name, then ``Send`` index.
    """

    __slots__ = ("arg", "index", "node")

    def __init__(self, node: NodePlan, arg: object = STATE, index: int = -1) -> None:
        self.node = node
        self.arg = arg
        self.index = index

    @property
    def name(self) -> str:
        """The node's name."""
        return self.node.name

    def describe(self) -> str:
        """``'worker'``, or ``'worker' (Send #2)`` for a ``Send``'s task."""
        return (
            repr(self.node.name) if self.index < 0 else f"{self.node.name!r} (Send #{self.index})"
        )

    def task_id(self, step: int) -> str:
        """A stable id: the same in every run that reaches this task at this step."""
        suffix = "" if self.index < 0 else f"#{self.index}"
        return f"{step}:{self.node.name}{suffix}"

    def __repr__(self) -> str:
        return f"<task {self.describe()}>"


class NodePlan:
    """One node as the planner sees it: how to call it and everything that leaves it."""

    __slots__ = (
        "branches",
        "cache",
        "defer",
        "destinations",
        "fn",
        "is_async",
        "joins",
        "limited_edges",
        "name",
        "only_gate",
        "only_next",
        "plain",
        "retry",
        "spec",
        "stream_tokens",
        "subgraph",
        "successors",
        "takes_context",
        "task",
        "timeout",
    )

    def __init__(self, spec: NodeSpec, cache: Any = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.fn: Callable[..., Any] = spec.fn
        self.is_async = spec.is_async
        self.takes_context = spec.takes_context
        self.retry = spec.retry
        self.timeout = spec.timeout
        self.cache = cache
        self.stream_tokens = spec.stream_tokens
        self.defer = spec.defer
        self.subgraph = spec.subgraph
        self.destinations = frozenset(spec.destinations)
        # Called as fn(state) with nothing around it: the hot path.
        self.plain = not (
            spec.is_async
            or spec.takes_context
            or spec.retry
            or spec.timeout is not None
            or cache is not None
            or spec.subgraph is not None
        )
        self.task = Task(self)
        self.successors: tuple[NodePlan, ...] = ()
        self.limited_edges: tuple[tuple[str, Edge, NodePlan | None], ...] = ()
        self.branches: tuple[GatePlan, ...] = ()
        self.joins: tuple[tuple[str, Join, NodePlan | None], ...] = ()
        # The next superstep's tasks when they never depend on state or counters
        # (plain edges only, no limits): the fast path for chains.
        self.only_next: tuple[Task, ...] | None = None
        # The one conditional edge when it is the only way out and has no limit:
        # the fast path for loops.
        self.only_gate: GatePlan | None = None

    def __repr__(self) -> str:
        return f"<node {self.name!r}>"


def sorted_tasks(tasks: Sequence[Task]) -> tuple[Task, ...]:
    """One task per node reached by edges, then every ``Send``'s; by name, then index."""
    if len(tasks) < 2:
        return tuple(tasks)
    unique = {id(t): t for t in tasks}  # a node's edge task is one object: no duplicates
    return tuple(sorted(unique.values(), key=_merge_order))


def _merge_order(task: Task) -> tuple[str, int]:
    return task.node.name, task.index


class GraphPlan:
    """The immutable plan of a validated graph, shared by every run.

    Edges, joins and conditional edges get stable ids (``"edge:0"``, ``"join:0"``,
    ``"gate:0"``) by which a run keys its pass counts and joins' memory.
    """

    __slots__ = (
        "has_async",
        "has_defer",
        "interrupt_after",
        "interrupt_before",
        "nodes",
        "schema",
        "spec",
        "start",
    )

    def __init__(self, graph: GraphSpec, caches: Mapping[str, Any] | None = None) -> None:
        caches = caches or {}
        self.spec = graph  # what it was made from: pictures of a traced run draw this
        self.schema = graph.schema
        self.nodes = {name: NodePlan(spec, caches.get(name)) for name, spec in graph.nodes.items()}
        self.start = NodePlan(NodeSpec("START", _start))
        self.has_async = tuple(name for name, node in self.nodes.items() if node.is_async)
        self.has_defer = any(node.defer for node in self.nodes.values())
        self.interrupt_before = frozenset(graph.interrupt_before)
        self.interrupt_after = frozenset(graph.interrupt_after)
        by_name: dict[str, NodePlan] = {**self.nodes, "__start__": self.start}
        successors: dict[str, list[NodePlan]] = {name: [] for name in by_name}
        limited: dict[str, list[tuple[str, Edge, NodePlan | None]]] = {n: [] for n in by_name}
        for number, edge in enumerate(graph.edges):
            target = self.nodes.get(edge.target)
            if edge.max_passes is not None:
                limited[edge.source].append((f"edge:{number}", edge, target))
            elif target is not None:
                successors[edge.source].append(target)
        gates: dict[str, list[GatePlan]] = {name: [] for name in by_name}
        any_node = GatePlan.any_node_table(self.nodes)
        for number, branch in enumerate(graph.branches):
            gates[branch.source].append(GatePlan(f"gate:{number}", branch, self.nodes, any_node))
        for name, node in by_name.items():
            node.successors = tuple(successors[name])
            node.limited_edges = tuple(limited[name])
            node.branches = tuple(gates[name])
        for number, join in enumerate(graph.joins):
            for source in join.sources:
                node = by_name[source]
                node.joins = (*node.joins, (f"join:{number}", join, self.nodes.get(join.target)))
        for node in by_name.values():
            if node.limited_edges or node.branches or node.joins or node.destinations:
                if (
                    not (node.successors or node.limited_edges or node.joins or node.destinations)
                    and len(node.branches) == 1
                    and node.branches[0].branch.max_passes is None
                ):
                    node.only_gate = node.branches[0]
            elif not any(s.defer for s in node.successors):
                node.only_next = sorted_tasks([s.task for s in node.successors])


def _start(state: object) -> None:
    """START's stand-in function: START never runs, it only has edges."""
