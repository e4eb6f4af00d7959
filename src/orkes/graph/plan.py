"""The superstep planner: what runs next, and how updates merge. Pure: no I/O, no threads.

A :class:`GraphPlan` is the immutable, validated shape of a graph. A :class:`Run` holds
the data of one run (state, step, pass counts, joins' memory) and is driven by a loop
in ``runner.py``::

    run = Run(plan, input_state, max_steps)
    tasks = run.start()
    while tasks:
        run.begin_step(tasks)
        ...call each task's node with its own copy of run.state...
        tasks = run.finish_one(task, view, returned)   # or finish_many(results)
    return run.state
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from orkes.errors import ConflictingUpdateError, StateError, StepLimitExceeded
from orkes.graph._definition import Branch, Edge, Join
from orkes.graph._gates import GatePlan
from orkes.graph.state import Reducer, StateSchema

__all__ = ["GraphPlan", "NodePlan", "Run", "TaskResult"]

_MISSING: Any = object()


class NodePlan:
    """One node as the planner sees it: its function and everything that leaves it."""

    __slots__ = (
        "branches",
        "fn",
        "is_async",
        "joins",
        "limited_edges",
        "name",
        "only_gate",
        "only_next",
        "successors",
    )

    def __init__(self, name: str, fn: Callable[[Any], Any], is_async: bool) -> None:
        self.name = name
        self.fn = fn
        self.is_async = is_async
        self.successors: tuple[NodePlan, ...] = ()
        self.limited_edges: tuple[tuple[Edge, NodePlan | None], ...] = ()
        self.branches: tuple[GatePlan, ...] = ()
        self.joins: tuple[tuple[Join, NodePlan | None], ...] = ()
        # The next superstep's tasks when they never depend on state or counters
        # (plain edges only, no limits): the fast path for chains.
        self.only_next: tuple[NodePlan, ...] | None = None
        # The one conditional edge when it is the only way out and has no limit:
        # the fast path for loops.
        self.only_gate: GatePlan | None = None

    def __repr__(self) -> str:
        return f"<node {self.name!r}>"


TaskResult = tuple[NodePlan, dict[str, Any], object]
"""A finished task: the node, the copy of the state it got, and what it returned."""


class GraphPlan:
    """The immutable plan of a validated graph, shared by every run."""

    __slots__ = ("has_async", "nodes", "schema", "start")

    def __init__(
        self,
        schema: StateSchema,
        nodes: Mapping[str, tuple[Callable[[Any], Any], bool]],
        edges: Sequence[Edge],
        joins: Sequence[Join],
        branches: Sequence[Branch],
    ) -> None:
        self.schema = schema
        self.nodes = {name: NodePlan(name, fn, is_async) for name, (fn, is_async) in nodes.items()}
        self.start = NodePlan("START", _start, False)
        self.has_async = tuple(name for name, plan in self.nodes.items() if plan.is_async)
        by_name: dict[str, NodePlan] = {**self.nodes, "__start__": self.start}
        successors: dict[str, list[NodePlan]] = {name: [] for name in by_name}
        limited: dict[str, list[tuple[Edge, NodePlan | None]]] = {name: [] for name in by_name}
        for edge in edges:
            target = self.nodes.get(edge.target)
            if edge.max_passes is not None:
                limited[edge.source].append((edge, target))
            elif target is not None:
                successors[edge.source].append(target)
        gates: dict[str, list[GatePlan]] = {name: [] for name in by_name}
        any_node = GatePlan.any_node_table(self.nodes)
        for branch in branches:
            gates[branch.source].append(GatePlan(branch, self.nodes, any_node))
        for name, plan in by_name.items():
            plan.successors = tuple(successors[name])
            plan.limited_edges = tuple(limited[name])
            plan.branches = tuple(gates[name])
        for join in joins:
            for source in join.sources:
                plan = by_name[source]
                plan.joins = (*plan.joins, (join, self.nodes.get(join.target)))
        for plan in by_name.values():
            if not (plan.limited_edges or plan.branches or plan.joins):
                plan.only_next = _sorted_unique(plan.successors)
            elif (
                not (plan.successors or plan.limited_edges or plan.joins)
                and len(plan.branches) == 1
                and plan.branches[0].branch.max_passes is None
            ):
                plan.only_gate = plan.branches[0]


def _start(state: object) -> None:
    """START's stand-in function: START never runs, it only has edges."""


def _sorted_unique(tasks: Sequence[NodePlan]) -> tuple[NodePlan, ...]:
    if len(tasks) < 2:
        return tuple(tasks)
    return tuple(sorted({t.name: t for t in tasks}.values(), key=lambda t: t.name))


class Run:
    """The data of one run: state, step, pass counts, joins' memory. Never shared."""

    __slots__ = (
        "_run_id",
        "join_seen",
        "key_set",
        "max_steps",
        "passes",
        "plan",
        "reducers",
        "state",
        "step",
    )

    def __init__(
        self, plan: GraphPlan, state: Mapping[str, Any], max_steps: int, run_id: str | None = None
    ) -> None:
        schema = plan.schema
        if not isinstance(state, Mapping):
            raise StateError(
                f"the input state must be a mapping of {schema.schema.__name__}'s keys, "
                f"got {type(state).__name__} {state!r}"
            )
        self.key_set = schema.key_set
        if not self.key_set.issuperset(state):
            key = next(k for k in state if k not in self.key_set)
            raise StateError(
                f"input key {key!r} is not in the state schema {schema.schema.__name__}; "
                f"its keys are {', '.join(map(repr, schema.keys))}",
                key=key,
            )
        self.plan = plan
        self.reducers = schema.reducers
        self.state: dict[str, Any] = dict(state)
        self.max_steps = max_steps
        self.step = 0
        self.passes: dict[int, int] = {}
        self.join_seen: dict[int, set[str]] = {}
        self._run_id = run_id

    @property
    def run_id(self) -> str:
        """This run's id, made when first asked for (most runs never need one)."""
        if self._run_id is None:
            self._run_id = uuid.uuid4().hex
        return self._run_id

    def start(self) -> tuple[NodePlan, ...]:
        """The tasks of the first superstep: where START's edges lead."""
        return self.finish_one(self.plan.start, self.state, None)

    def begin_step(self, tasks: Sequence[NodePlan]) -> None:
        """Count a superstep, refusing the one past ``max_steps``."""
        self.step += 1
        if self.step > self.max_steps:
            names = ", ".join(repr(t.name) for t in tasks)
            raise StepLimitExceeded(
                f"the run reached max_steps={self.max_steps}: step {self.step} would run {names}; "
                "if the graph should run longer, pass a larger max_steps= to GraphRunner(...) "
                "or run(...), else check the gate that keeps the loop going",
                limit=self.max_steps,
                step=self.step,
                node=tasks[0].name,
            )

    def finish_one(
        self, task: NodePlan, view: dict[str, Any], returned: object
    ) -> tuple[NodePlan, ...]:
        """Merge the update of the superstep's only task; return the next tasks."""
        if returned is not None:
            if (
                type(returned) is dict
                and returned is not view
                and not self.reducers
                and self.key_set.issuperset(returned)
            ):
                self.state.update(returned)  # the hot path: what changed, no reducers
            else:
                writes = self.writes_of(task, view, returned)
                self.state.update(self._reduced(((task, writes),)) if self.reducers else writes)
        following = task.only_next
        if following is not None:
            return following
        gate = task.only_gate
        if gate is not None:
            following = gate.route(self.state, self)
            return following if len(following) < 2 else _sorted_unique(following)
        return self.after((task,))

    def finish_many(self, results: Sequence[TaskResult]) -> tuple[NodePlan, ...]:
        """Merge the updates of parallel tasks (in task order); return the next tasks."""
        try:
            all_writes = [
                (task, self.writes_of(task, view, returned))
                for task, view, returned in results
                if returned is not None
            ]
        except StateError:
            for _, _, returned in results:
                _close(returned)  # the other awaitables wrongly returned, if any
            raise
        writer_of: dict[str, str] = {}
        reducers = self.reducers
        for task, writes in all_writes:
            for key in writes:
                if key in reducers:
                    continue
                other = writer_of.setdefault(key, task.name)
                if other != task.name:
                    raise ConflictingUpdateError(
                        f"nodes {other!r} and {task.name!r} both wrote key {key!r} in step "
                        f"{self.step}; a key written by parallel nodes needs a reducer: "
                        f"annotate it as Annotated[..., reducer] in the state schema",
                        key=key,
                        nodes=(other, task.name),
                        step=self.step,
                    )
        self.state.update(self._reduced(all_writes))
        return self.after([task for task, _, _ in results])

    def writes_of(
        self, task: NodePlan, view: dict[str, Any], returned: object
    ) -> Mapping[str, Any]:
        """The keys ``task`` wrote: all of a returned mapping, or what changed in ``view``."""
        if returned is view:
            state = self.state
            writes: Mapping[str, Any] = {
                k: v for k, v in view.items() if state.get(k, _MISSING) is not v
            }
        elif isinstance(returned, Mapping):
            writes = returned
        else:
            if inspect.isawaitable(returned):
                _close(returned)
                raise StateError(
                    f"node {task.name!r} returned an awaitable: a missing `await` inside "
                    "the node? (async nodes need `await runner.arun(state)`)",
                    node=task.name,
                )
            raise StateError(
                f"node {task.name!r} returned {type(returned).__name__} {returned!r}; "
                "a node returns a mapping of the keys it changed, the state it was given, or None",
                node=task.name,
            )
        if not self.key_set.issuperset(writes):
            key = next(k for k in writes if k not in self.key_set)
            raise StateError(
                f"node {task.name!r} wrote key {key!r}, which is not in the state schema "
                f"{self.plan.schema.schema.__name__}; its keys are "
                f"{', '.join(map(repr, self.plan.schema.keys))}",
                node=task.name,
                key=key,
            )
        return writes

    def _reduced(self, all_writes: Sequence[tuple[NodePlan, Mapping[str, Any]]]) -> dict[str, Any]:
        """Every write of a superstep, merged through the keys' reducers, nothing applied yet."""
        state = self.state
        merged: dict[str, Any] = {}
        for task, writes in all_writes:
            for key, value in writes.items():
                reducer = self.reducers.get(key)
                if reducer is not None:
                    old = merged[key] if key in merged else state.get(key, _MISSING)
                    if old is not _MISSING:
                        value = _reduce(reducer, old, value, key, task.name)
                    elif key in self.plan.schema.reduce_first_write:
                        value = _reduce(reducer, None, value, key, task.name)
                merged[key] = value
        return merged

    def after(self, finished: Sequence[NodePlan]) -> tuple[NodePlan, ...]:
        """Follow every edge out of the ``finished`` tasks to the next superstep's tasks."""
        following: list[NodePlan] = []
        joins_reached: dict[int, tuple[Join, NodePlan | None, str]] = {}
        for task in finished:
            following.extend(task.successors)
            for edge, target in task.limited_edges:
                self._count_pass(edge, task.name)
                if target is not None:
                    following.append(target)
            for gate in task.branches:
                self._count_pass(gate.branch, task.name)
                following.extend(gate.route(self.state, self))
            for join, target in task.joins:
                self.join_seen.setdefault(id(join), set()).add(task.name)
                joins_reached[id(join)] = (join, target, task.name)
        # A join fires at the end of a superstep, forgetting all it saw up to then: two
        # sources finishing in the same superstep make it fire once, whatever their names.
        for key, (join, target, source) in joins_reached.items():
            seen = self.join_seen[key]
            if len(seen) == len(join.sources):
                seen.clear()
                self._count_pass(join, source)
                if target is not None:
                    following.append(target)
        return _sorted_unique(following)

    def _count_pass(self, edge: Edge | Branch | Join, source: str) -> None:
        limit = edge.max_passes
        if limit is None:
            return
        count = self.passes.get(id(edge), 0) + 1
        if count > limit:
            raise StepLimitExceeded(
                f"{edge.describe()} reached max_passes={limit}: pass {count} came after step "
                f"{self.step}; if it should pass more often, raise max_passes= where the edge "
                "is added, else check the gate that keeps the loop going",
                limit=limit,
                step=self.step,
                node=source,
                edge=edge.describe(),
            )
        self.passes[id(edge)] = count


def _reduce(reducer: Reducer, old: object, new: object, key: Hashable, node: str) -> object:
    try:
        return reducer(old, new)
    except Exception as exc:
        name = getattr(reducer, "__name__", repr(reducer))
        raise StateError(
            f"the reducer {name!r} of key {key!r} failed on the update of node {node!r}: "
            f"{type(exc).__name__}: {exc}; the update's value must fit the reducer",
            node=node,
            key=key,
        ) from exc


def _close(returned: object) -> None:
    """Close a coroutine nobody will await, so Python does not warn about it."""
    if inspect.iscoroutine(returned):
        returned.close()
