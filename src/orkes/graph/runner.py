"""GraphRunner: drives the superstep planner, sync or async; only "execute" differs.

Under ``run``, one task runs inline, on the caller's thread; several run at once on the
thread pool of :mod:`orkes.graph._parallel`. Under ``arun``, a lone async node is awaited
in place and everything else goes through ``gather_tasks``. Each run happens in a copy
of the caller's context, so what nodes set in ``contextvars`` never leaks out.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from orkes.errors import GraphDefinitionError
from orkes.graph._parallel import gather_tasks, node_error, run_in_threads
from orkes.graph.compiled import CompiledGraph
from orkes.graph.plan import Run

__all__ = ["GraphRunner"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


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

    def run(self, state: Mapping[str, Any], *, max_steps: int | None = None) -> StateT:
        """Run the graph from ``state`` to END and return the final state (a new dict).

        ``state`` may leave keys out (a node may write them later), but may not name a
        key the schema lacks.

        Raises:
            StateError: ``state`` or a node's update has a key the schema lacks.
            RoutingError: a gate returned a value its mapping does not know.
            ConflictingUpdateError: parallel nodes wrote one key that has no reducer.
            StepLimitExceeded: the run passed ``max_steps``, or an edge its ``max_passes``.
            NodeError: a node or gate raised; the original is ``__cause__``.
        """
        # A copy of the caller's context: what nodes set in contextvars stays in the run.
        return contextvars.copy_context().run(self._run, state, max_steps)

    def _run(self, state: Mapping[str, Any], max_steps: int | None) -> StateT:
        plan = self.compiled.plan
        if plan.has_async:
            raise GraphDefinitionError(
                f"{_nodes_are(plan.has_async)} async; run the graph with `await runner.arun(state)`"
            )
        run = self._new_run(state, max_steps)
        tasks = run.start()
        while tasks:
            run.begin_step(tasks)
            if len(tasks) == 1:
                task = tasks[0]
                view = dict(run.state)
                try:
                    returned = task.fn(view)
                except Exception as exc:
                    raise node_error(run, task, exc) from exc
                tasks = run.finish_one(task, view, returned)
            else:
                tasks = run.finish_many(run_in_threads(run, tasks))
        return cast(StateT, run.state)

    async def arun(self, state: Mapping[str, Any], *, max_steps: int | None = None) -> StateT:
        """Run the graph like :meth:`run`, awaiting async nodes; sync nodes may mix in.

        Nothing blocks the event loop: a lone async node is awaited in place, several run
        at once with ``asyncio.gather``, and sync nodes run on the thread pool — even a
        lone one, since a sync node that calls a model would otherwise hold up every
        other coroutine. (So under ``arun``, async nodes are the fast ones.)
        """
        # A task of its own (so a copy of the caller's context, as for run); cancelling
        # the caller cancels it.
        return await asyncio.ensure_future(self._arun(state, max_steps))

    async def _arun(self, state: Mapping[str, Any], max_steps: int | None) -> StateT:
        run = self._new_run(state, max_steps)
        tasks = run.start()
        while tasks:
            run.begin_step(tasks)
            if len(tasks) == 1 and tasks[0].is_async:
                task = tasks[0]
                view = dict(run.state)
                try:
                    returned = await task.fn(view)
                except Exception as exc:
                    raise node_error(run, task, exc) from exc
                tasks = run.finish_one(task, view, returned)
            else:
                tasks = run.finish_many(await gather_tasks(run, tasks))
        return cast(StateT, run.state)

    def _new_run(self, state: Mapping[str, Any], max_steps: int | None) -> Run:
        limit = self.max_steps if max_steps is None else _checked_max_steps(max_steps)
        return Run(self.compiled.plan, state, limit)


def _nodes_are(names: Sequence[str]) -> str:
    listed = ", ".join(map(repr, names))
    return f"node {listed} is" if len(names) == 1 else f"nodes {listed} are"


def _checked_max_steps(max_steps: object) -> int:
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise GraphDefinitionError(f"max_steps must be a positive int, got {max_steps!r}")
    return max_steps
