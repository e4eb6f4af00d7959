"""GraphRunner: drives the superstep planner, sync or async; only "execute" differs.

One task runs inline, on the caller's thread. Several run concurrently: sync nodes on
a thread pool that lives as long as the process (they are I/O-bound LLM calls in real
use), async nodes with ``asyncio.gather``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar, cast

from orkes.errors import GraphDefinitionError, NodeError
from orkes.graph.compiled import CompiledGraph
from orkes.graph.plan import NodePlan, Run, TaskResult

__all__ = ["GraphRunner"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])

_POOL_SIZE = 64
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class GraphRunner(Generic[StateT]):
    """Runs a compiled graph; holds no per-run data, so one runner serves many threads.

    Args:
        compiled: what ``OrkesGraph.compile()`` returned.
        max_steps: how many supersteps one run may take (leaving START is not one).

    Example:
        >>> from typing import TypedDict
        >>> from orkes import OrkesGraph, GraphRunner, START, END
        >>> class S(TypedDict):
        ...     n: int
        >>> graph = OrkesGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1})
        >>> runner = GraphRunner(graph.add_edge(START, "inc").add_edge("inc", END).compile())
        >>> runner.run({"n": 1})
        {'n': 2}
    """

    __slots__ = ("compiled", "max_steps")

    def __init__(self, compiled: CompiledGraph[StateT], *, max_steps: int = 1000) -> None:
        if not isinstance(compiled, CompiledGraph):
            raise GraphDefinitionError(
                f"GraphRunner runs a compiled graph, got {compiled!r}; call graph.compile() first"
            )
        self.compiled = compiled
        self.max_steps = _checked_max_steps(max_steps)

    def __repr__(self) -> str:
        return f"GraphRunner({self.compiled!r}, max_steps={self.max_steps})"

    def run(self, state: StateT, *, max_steps: int | None = None) -> StateT:
        """Run the graph from ``state`` to END and return the final state (a new dict).

        Raises:
            StateError: ``state`` or a node's update has a key the schema lacks.
            RoutingError: a gate returned a value its mapping does not know.
            ConflictingUpdateError: parallel nodes wrote one key that has no reducer.
            StepLimitExceeded: the run passed ``max_steps``, or an edge its ``max_passes``.
            NodeError: a node or gate raised; the original is ``__cause__``.
        """
        plan = self.compiled.plan
        if plan.has_async:
            raise GraphDefinitionError(
                f"{_nodes_are(plan.has_async)} async; run the graph with `await runner.arun(state)`"
            )
        run = Run(
            plan, state, self.max_steps if max_steps is None else _checked_max_steps(max_steps)
        )
        tasks = run.start()
        while tasks:
            run.begin_step(tasks)
            if len(tasks) == 1:
                task = tasks[0]
                view = dict(run.state)
                try:
                    returned = task.fn(view)
                except Exception as exc:
                    raise _node_error(run, task, exc) from exc
                tasks = run.finish_one(task, view, returned)
            else:
                tasks = run.finish_many(_run_in_threads(run, tasks))
        return cast(StateT, run.state)

    async def arun(self, state: StateT, *, max_steps: int | None = None) -> StateT:
        """Run the graph like :meth:`run`, awaiting async nodes; sync nodes may mix in.

        Nothing blocks the event loop: a lone async node is awaited in place, several run
        at once with ``asyncio.gather``, and sync nodes run on the thread pool — even a
        lone one, since a sync node that calls a model would otherwise hold up every
        other coroutine. (So under ``arun``, async nodes are the fast ones.)
        """
        run = Run(
            self.compiled.plan,
            state,
            self.max_steps if max_steps is None else _checked_max_steps(max_steps),
        )
        tasks = run.start()
        while tasks:
            run.begin_step(tasks)
            if len(tasks) == 1 and tasks[0].is_async:
                task = tasks[0]
                view = dict(run.state)
                try:
                    returned = await task.fn(view)
                except Exception as exc:
                    raise _node_error(run, task, exc) from exc
                tasks = run.finish_one(task, view, returned)
            else:
                tasks = run.finish_many(await _gather(run, tasks))
        return cast(StateT, run.state)


Outcome = tuple[object, BaseException | None]


def _attempt(fn: Any, view: dict[str, Any]) -> Outcome:
    # BaseException too: a KeyboardInterrupt on a worker must reach the caller, not the pool.
    try:
        return fn(view), None
    except BaseException as exc:
        return None, exc


def _run_in_threads(run: Run, tasks: Sequence[NodePlan]) -> list[TaskResult]:
    """Run sync tasks concurrently: this thread and pool workers take them from one queue.

    Workers are woken one at a time, each waking the next before it starts a task, so
    short nodes mostly run here with no thread hop while slow (I/O-bound) nodes still
    each get a thread. This thread keeps taking tasks until none are left, so runs
    nested inside nodes never wait on a full pool.
    """
    views = [dict(run.state) for _ in tasks]
    outcomes: list[Outcome] = [(None, None)] * len(tasks)
    queue = deque(range(len(tasks)))
    all_done = threading.Event()
    remaining = [len(tasks)]
    lock = threading.Lock()
    caller_context = contextvars.copy_context()

    def take_tasks(on_worker: bool) -> None:
        while True:
            try:
                index = queue.popleft()
            except IndexError:
                return
            if on_worker and queue:
                _shared_pool().submit(take_tasks, True)
            # Each parallel node sees the caller's context variables, and what it sets
            # stays its own, whichever thread runs it.
            outcomes[index] = caller_context.copy().run(_attempt, tasks[index].fn, views[index])
            with lock:
                remaining[0] -= 1
                if not remaining[0]:
                    all_done.set()

    _shared_pool().submit(take_tasks, True)
    take_tasks(False)
    all_done.wait()
    return _results(run, tasks, views, outcomes)


async def _gather(run: Run, tasks: Sequence[NodePlan]) -> list[TaskResult]:
    """Run tasks concurrently on the event loop; sync ones go to the thread pool."""
    loop = asyncio.get_running_loop()
    pool = _shared_pool()
    views = [dict(run.state) for _ in tasks]

    async def attempt(task: NodePlan, view: dict[str, Any]) -> Outcome:
        try:
            if task.is_async:
                returned = task.fn(view)
            else:
                context = contextvars.copy_context()
                returned = await loop.run_in_executor(pool, context.run, task.fn, view)
            if inspect.isawaitable(returned):
                returned = await returned
            return returned, None
        except Exception as exc:
            return None, exc

    outcomes = await asyncio.gather(*(attempt(t, v) for t, v in zip(tasks, views, strict=True)))
    return _results(run, tasks, views, outcomes)


def _results(
    run: Run,
    tasks: Sequence[NodePlan],
    views: Sequence[dict[str, Any]],
    outcomes: Sequence[Outcome],
) -> list[TaskResult]:
    """Pair tasks with what they returned; the first failure (in task order) is raised."""
    for task, (_, error) in zip(tasks, outcomes, strict=True):
        if error is None:
            continue
        for returned, _ in outcomes:
            if inspect.iscoroutine(returned):
                returned.close()  # a sync node's coroutine nobody will await now
        if not isinstance(error, Exception):
            raise error  # KeyboardInterrupt, SystemExit: not the node's fault
        raise _node_error(run, task, error) from error
    return [
        (task, view, returned)
        for task, view, (returned, _) in zip(tasks, views, outcomes, strict=True)
    ]


def _node_error(run: Run, task: NodePlan, exc: Exception) -> NodeError:
    return NodeError(
        f"node {task.name!r} raised {type(exc).__name__}: {exc} "
        f"(step {run.step}, run {run.run_id})",
        node=task.name,
        step=run.step,
        run_id=run.run_id,
    )


def _nodes_are(names: Sequence[str]) -> str:
    listed = ", ".join(map(repr, names))
    return f"node {listed} is" if len(names) == 1 else f"nodes {listed} are"


def _shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for parallel sync nodes, made on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="orkes-node")
    return _pool


def _checked_max_steps(max_steps: object) -> int:
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise GraphDefinitionError(f"max_steps must be a positive int, got {max_steps!r}")
    return max_steps
