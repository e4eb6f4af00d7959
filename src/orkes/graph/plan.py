"""The superstep planner: what runs next, and how updates merge. Pure: no I/O, no threads.

A :class:`GraphPlan` is the immutable plan of a validated graph. A :class:`Run` holds
the data of one run (state, step, pass counts, joins' memory, deferred nodes) and owns
the loop's rules; a driver in ``_loops.py`` only executes the tasks it is given::

    run = Run(plan, input_state, max_steps)
    tasks = run.start()
    while tasks:
        run.begin_step(tasks)
        ...call each task's node (through _invoke.py)...
        tasks = run.finish_one(task, view, returned)   # or finish_step(outcomes)
    run.finish()
    return run.state

``finish_step`` takes every task's outcome, a result or a failure: when one failed (or
paused), the state stays as before the step, the finished tasks' writes are kept in
``pending_writes``, and the failure (or ``StepPaused``) is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import RoutingError, RunStopped, StateError, StepLimitExceeded
from orkes.graph._definition import Branch, Edge, Join
from orkes.graph._sentinels import END, normalize_target
from orkes.graph._tasks import STATE, GraphPlan, NodePlan, Task, sorted_tasks
from orkes.graph._writes import (
    Routes,
    check_conflicts,
    close,
    one_parent_route,
    reduced,
    writes_of,
)
from orkes.graph.context import PauseSignal, StepPaused
from orkes.graph.routing import ParentCommand, Send

if TYPE_CHECKING:
    from orkes._observe import RunObserver
    from orkes.events import TaskScope

__all__ = ["GraphPlan", "Outcome", "Run"]

Outcome = tuple[Task, Any, object, BaseException | None, bool]
"""A task's outcome: task, input, what it returned, its failure, whether from the cache."""


class Run:
    """The data of one run: state, step, pass counts, joins' memory. Never shared.

    Attributes:
        path: the subgraph node names above this run (``()`` at the top).
        report: when somebody listens, the last step's ``(task, writes, cached)`` in
            merge order; ``None`` otherwise.
        pending_writes: the writes of the tasks that finished in a step that failed.
        folds: in a subgraph's run, what its reducer keys added, folded; else ``None``.
        trace: the observer of a tracer recording the run (gate decisions), else ``None``.
    """

    __slots__ = (
        "_run_id",
        "children",
        "deferred",
        "folds",
        "gate_scope",
        "join_seen",
        "joins_fired",
        "key_set",
        "max_concurrency",
        "max_steps",
        "passes",
        "path",
        "paused",
        "pending_writes",
        "plain_keys",
        "plan",
        "reducers",
        "report",
        "sends",
        "state",
        "step",
        "stopping",
        "thread_id",
        "trace",
    )

    def __init__(
        self,
        plan: GraphPlan,
        state: Mapping[str, Any],
        max_steps: int,
        *,
        path: tuple[str, ...] = (),
        run_id: str | None = None,
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
        # Keys an update may write straight into the state: those without a reducer.
        self.plain_keys = self.key_set.difference(self.reducers) if self.reducers else self.key_set
        self.state: dict[str, Any] = dict(state)
        self.max_steps = max_steps
        self.max_concurrency: int | None = None  # tasks of one step at once; None: all
        self.step = 0
        self.passes: dict[str, int] = {}
        self.join_seen: dict[str, set[str]] = {}
        self.joins_fired: set[str] = set()
        self.deferred: dict[str, Task] = {}
        self.sends = 0
        self.path = path
        self.report: list[tuple[Task, Mapping[str, Any], bool]] | None = None
        self.pending_writes: list[tuple[Task, Mapping[str, Any]]] = []
        self.folds: dict[str, Any] | None = None
        self._run_id = run_id
        self.thread_id: str | None = None
        self.stopping = False  # a stream was closed: start no more tasks
        # The runs of subgraphs its running nodes started, each with the context of its task.
        self.children: dict[Run, object] = {}
        self.gate_scope: TaskScope | None = None  # where a gate's ctx.emit goes, if anywhere
        self.paused: tuple[Any, ...] = ()  # a durable run paused: its Interrupt events
        self.trace: RunObserver | None = None

    @property
    def run_id(self) -> str:
        """This run's id, made when first asked for (most runs never need one)."""
        if self._run_id is None:
            import uuid  # loaded only by runs that need an id

            self._run_id = uuid.uuid4().hex
        return self._run_id

    def stop(self) -> None:
        """Start no more tasks, here and in the subgraph runs of the nodes still running.

        A subgraph's loop may not look at ``stopping`` (nobody listens to it), so
        ``max_steps`` drops to 0 too: its next ``begin_step`` raises ``RunStopped``.
        """
        self.stopping = True
        self.max_steps = 0
        for child in tuple(self.children):
            child.stop()

    def listen(self) -> None:
        """Keep a report of each step's writes (for events); a plain run skips it."""
        self.report = []

    def collect_folds(self) -> None:
        """Remember what reducer keys gain (a subgraph returns only that to its parent)."""
        self.folds = {}
        self.plain_keys = frozenset()

    def start(self) -> tuple[Task, ...]:
        """The tasks of the first superstep: where START's edges lead."""
        return self.finish_one(self.plan.start.task, self.state, None)

    def begin_step(self, tasks: Sequence[Task]) -> None:
        """Count a superstep, refusing the one past ``max_steps``."""
        self.step += 1
        self.sends = 0
        if self.step > self.max_steps:
            if self.stopping:  # see ``stop``
                raise RunStopped(f"the run was stopped before its step {self.step}")
            names = ", ".join(t.describe() for t in tasks)
            raise StepLimitExceeded(
                f"the run reached max_steps={self.max_steps}: step {self.step} would run {names}; "
                "if the graph should run longer, pass a larger max_steps= to GraphRunner(...) "
                "or run(...), else check the gate that keeps the loop going",
                limit=self.max_steps,
                step=self.step,
                node=tasks[0].node.name,
            )

    def finish_one(self, task: Task, view: Any, returned: object) -> tuple[Task, ...]:
        """Merge the update of the superstep's only task; return the next tasks."""
        if returned is None:
            if view is not self.state and task.arg is STATE:
                writes_of(self, task, view, None)  # raises if a change was forgotten
            if self.report is not None:
                self.report = [(task, {}, False)]
        elif (
            type(returned) is dict and returned is not view and self.plain_keys.issuperset(returned)
        ):
            self.state.update(returned)  # the hot path: what changed, no reducer to call
            if self.report is not None:
                self.report = [(task, returned, False)]
        else:
            return self.finish_step(((task, view, returned, None, False),))
        node = task.node
        following = node.only_next
        if following is not None:
            return following
        gate = node.only_gate
        if gate is not None:
            following = gate.route(self.state, self)
            return following if len(following) < 2 else self._next(following)
        return self.after((task,), ())

    def finish_step(self, outcomes: Sequence[Outcome]) -> tuple[Task, ...]:
        """Merge the updates of a superstep's tasks (in task order); return the next tasks.

        When a task failed, nothing is merged: the finished tasks' writes go to
        ``pending_writes`` and the failure is raised (``KeyboardInterrupt`` and kin first).
        """
        failures = [outcome[3] for outcome in outcomes if outcome[3] is not None]
        if failures:
            self._keep_pending(outcomes)
            errors = [e for e in failures if not isinstance(e, PauseSignal)]
            if errors:  # a failure outweighs a pause; KeyboardInterrupt and kin first
                raise next((e for e in errors if not isinstance(e, Exception)), errors[0])
            raise StepPaused(
                [(o[0].node.name, o[3]) for o in outcomes if isinstance(o[3], PauseSignal)]
            )
        all_writes: list[tuple[Task, Mapping[str, Any]]] = []
        routed: list[tuple[Task, Routes]] = []
        cached: list[bool] = []
        try:
            for task, view, returned, _, from_cache in outcomes:
                writes, routes = writes_of(self, task, view, returned)
                all_writes.append((task, writes))
                cached.append(from_cache)
                if routes is not None:
                    routed.append((task, routes))
        except BaseException as exc:
            for outcome in outcomes:
                close(outcome[2])  # what other sync nodes wrongly returned, if awaitable
            if isinstance(exc, ParentCommand):
                one_parent_route(outcomes)
            raise
        if len(all_writes) > 1:
            check_conflicts(self, all_writes)
        if self.reducers:
            self.state.update(reduced(self, all_writes))
        else:
            for _, writes in all_writes:
                self.state.update(writes)
        if self.report is not None:
            self.report = [(t, w, c) for (t, w), c in zip(all_writes, cached, strict=True)]
        return self.after([task for task, _ in all_writes], routed)

    def _keep_pending(self, outcomes: Sequence[Outcome]) -> None:
        """A step failed: keep what its finished tasks wrote."""
        self.pending_writes = []
        for task, view, returned, error, _ in outcomes:
            if error is None:
                try:
                    self.pending_writes.append((task, writes_of(self, task, view, returned)[0]))
                except Exception:
                    close(returned)

    def after(
        self, finished: Sequence[Task], routed: Sequence[tuple[Task, Routes]] = ()
    ) -> tuple[Task, ...]:
        """Follow every edge out of the ``finished`` tasks to the next superstep's tasks."""
        following: list[Task] = []
        joins_reached: dict[str, tuple[Join, NodePlan | None, str]] = {}
        nodes = {task.node.name: task.node for task in finished}  # edges once per node
        for node in nodes.values():
            following.extend(s.task for s in node.successors)
            for key, edge, target in node.limited_edges:
                self._count_pass(key, edge, node.name)
                if target is not None:
                    following.append(target.task)
            for gate in node.branches:
                self._count_pass(gate.key, gate.branch, node.name)
                following.extend(gate.route(self.state, self))
            for key, join, target in node.joins:
                self.join_seen.setdefault(key, set()).add(node.name)
                joins_reached[key] = (join, target, node.name)
        # A join fires at the end of a superstep, forgetting all it saw up to then: two
        # sources finishing in the same superstep make it fire once, whatever their names.
        for key, (join, target, source) in joins_reached.items():
            seen = self.join_seen[key]
            if len(seen) == len(join.sources):
                del self.join_seen[key]
                self.joins_fired.add(key)
                self._count_pass(key, join, source)
                if target is not None:
                    following.append(target.task)
        for task, routes in routed:
            following.extend(self._routed(task, routes or ()))
        return self._next(following)

    def _next(self, following: Sequence[Task]) -> tuple[Task, ...]:
        tasks = sorted_tasks(following)
        if not self.plan.has_defer:
            return tasks
        now = [t for t in tasks if not t.node.defer]
        for task in tasks:
            if task.node.defer:
                if task.index < 0:  # reached by edges: once, however often
                    self.deferred.setdefault(f"{task.node.name}#-1", task)
                    continue
                # Send indexes restart every step: renumber, so no deferred Send is lost.
                index = len(self.deferred)
                while f"{task.node.name}#{index}" in self.deferred:
                    index += 1
                self.deferred[f"{task.node.name}#{index}"] = Task(task.node, task.arg, index)
        if now or not self.deferred:
            return tuple(now)
        released = sorted_tasks(list(self.deferred.values()))
        self.deferred.clear()
        return released

    def _routed(self, task: Task, routes: Sequence[str | Send]) -> list[Task]:
        """The tasks a node's ``Command`` goto or ``Send`` list names; each must be declared."""
        node = task.node
        tasks: list[Task] = []
        for route in routes:
            target = route.node if isinstance(route, Send) else normalize_target(route)
            if target not in node.destinations:
                declared = ", ".join(map(repr, sorted(node.destinations))) or "none"
                raise RoutingError(
                    f"node {node.name!r} routed to {target!r}, which is not among its declared "
                    f"destinations ({declared}); declare it with add_node(..., destinations="
                    "[...]) or a -> Command[Literal[...]] return annotation",
                    node=node.name,
                    value=route,
                    known=sorted(node.destinations),
                )
            if isinstance(route, Send):
                tasks.append(self.send_task(route, f"node {node.name!r}", node.name))
            elif target is not END:
                tasks.append(self.plan.nodes[str(target)].task)
        return tasks

    def send_task(self, send: Send, where: str, source: str) -> Task:
        """The task of a ``Send`` that ``where`` (a gate or a node) gave."""
        node = self.plan.nodes.get(send.node) if isinstance(send.node, str) else None
        if node is None:
            raise RoutingError(
                f"{where} sent to {send.node!r}, which is not a node of the graph; "
                f"nodes are {', '.join(map(repr, self.plan.nodes))}",
                node=source,
                value=send,
                known=list(self.plan.nodes),
            )
        index = self.sends
        self.sends += 1
        return Task(node, send.arg, index)

    def _count_pass(self, key: str, edge: Edge | Branch | Join, source: str) -> None:
        limit = edge.max_passes
        if limit is None:
            return
        count = self.passes.get(key, 0) + 1
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
        self.passes[key] = count

    def finish(self) -> None:
        """Check the run's end: a join that saw some of its sources but never fired is an error.

        (A join that fired, and whose sources then ran again, is fine: it did its work.)
        """
        for key, seen in self.join_seen.items():
            if not seen or key in self.joins_fired:
                continue
            join = next(j for n in seen for k, j, _ in self.plan.nodes[n].joins if k == key)
            missing = [s for s in join.sources if s not in seen]
            raise RoutingError(
                f"{join.describe()} never fired: {_names(missing)} never finished after "
                f"{_names([s for s in join.sources if s in seen])} did (the run ended after step "
                f"{self.step}); a join waits for every source. To run {join.target!r} after "
                f"whichever branches ran, add it with add_node(..., defer=True) and a plain "
                "edge from each source",
                node=join.target,
                value=tuple(missing),
                known=join.sources,
            )


def _names(names: Sequence[str]) -> str:
    return ", ".join(map(repr, names))
