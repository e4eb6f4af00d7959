"""GraphRunner: runs a compiled graph — ``run``, ``arun``, ``stream``, ``astream``.

Each is a few lines around the one core loop (``_loops.py``): ``run`` exhausts it with
nobody listening, ``stream`` iterates it for events; the ``a``-forms drive the same
planner on the event loop. Each run happens in a copy of the caller's context, so what
nodes set in ``contextvars`` never leaks out. ``asyncio`` is imported only by runs that
need it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from orkes.errors import GraphDefinitionError
from orkes.graph._listen import Listener, checked_modes
from orkes.graph._loops import drive
from orkes.graph._runs import RunMethods
from orkes.graph.compiled import CompiledGraph
from orkes.graph.plan import Run
from orkes.graph.stream import AsyncRunStream, RunStream

if TYPE_CHECKING:
    from orkes.events import StreamMode

__all__ = ["GraphRunner"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class GraphRunner(RunMethods[StateT]):
    """Runs a compiled graph; holds no per-run data, so one runner serves many threads.

    Args:
        compiled: what ``OrkesGraph.compile()`` returned.
        max_steps: how many supersteps one run may take (leaving START is not one).
        max_concurrency: how many tasks of one superstep may run at once (``None``: all).

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

    __slots__ = ("compiled", "max_concurrency", "max_steps")

    def __init__(
        self,
        compiled: CompiledGraph[StateT],
        *,
        max_steps: int = 1000,
        max_concurrency: int | None = None,
    ) -> None:
        if not isinstance(compiled, CompiledGraph):
            raise GraphDefinitionError(
                f"GraphRunner runs a compiled graph, got {compiled!r}; call graph.compile() first"
            )
        self.compiled = compiled
        self.max_steps = _checked_positive("max_steps", max_steps)
        self.max_concurrency = _checked_concurrency(max_concurrency)

    def __repr__(self) -> str:
        return f"GraphRunner({self.compiled!r}, max_steps={self.max_steps})"

    def _runner(self) -> GraphRunner[StateT]:
        return self

    def start_run(
        self, state: Mapping[str, Any], max_steps: int | None, max_concurrency: int | None
    ) -> StateT:
        """:meth:`run`'s work (``run`` checks nothing more: see its docs)."""
        run = self._new_run(state, max_steps, max_concurrency)
        limit = run.max_concurrency
        if run.plan.has_async:
            from orkes.graph._anywhere import run_to_end

            return run_to_end(lambda: self._arun(run, limit))
        # A copy of the caller's context: what nodes set in contextvars stays in the run.
        return cast(StateT, contextvars.copy_context().run(_exhaust, run, limit))

    async def start_arun(
        self, state: Mapping[str, Any], max_steps: int | None, max_concurrency: int | None
    ) -> StateT:
        """:meth:`arun`'s work."""
        import asyncio

        run = self._new_run(state, max_steps, max_concurrency)
        # A task of its own (so a copy of the caller's context, as for run); cancelling
        # the caller cancels it.
        return await asyncio.ensure_future(self._arun(run, run.max_concurrency))

    async def _arun(self, run: Run, limit: int | None) -> StateT:
        from orkes.graph._loops import adrive

        async for _ in adrive(run, _nested(run), limit):
            pass
        return cast(StateT, run.state)

    def start_stream(
        self,
        state: Mapping[str, Any],
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
    ) -> RunStream[StateT, Any]:
        """:meth:`stream`'s work."""
        listener = Listener(checked_modes(modes))
        run = self._new_run(state, max_steps, max_concurrency)
        run.listen()
        limit = run.max_concurrency
        if run.plan.has_async:
            from orkes.graph._anywhere import events_of
            from orkes.graph._loops import adrive

            def stop() -> None:
                run.stopping = True

            events = events_of(lambda: adrive(run, listener, limit), stop)
            return RunStream(events, run, contextvars.copy_context())
        return RunStream(drive(run, listener, limit), run, contextvars.copy_context())

    def start_astream(
        self,
        state: Mapping[str, Any],
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
    ) -> AsyncRunStream[StateT, Any]:
        """:meth:`astream`'s work."""
        from orkes.graph._loops import adrive

        listener = Listener(checked_modes(modes))
        run = self._new_run(state, max_steps, max_concurrency)
        run.listen()
        return AsyncRunStream(adrive(run, listener, run.max_concurrency), run)

    def _new_run(
        self, state: Mapping[str, Any], max_steps: int | None, max_concurrency: int | None
    ) -> Run:
        limit = self.max_steps if max_steps is None else _checked_positive("max_steps", max_steps)
        run = Run(self.compiled.plan, state, limit)
        run.max_concurrency = (
            self.max_concurrency
            if max_concurrency is None
            else _checked_concurrency(max_concurrency)
        )
        return run


def _exhaust(run: Run, limit: int | None) -> dict[str, Any]:
    for _ in drive(run, _nested(run), limit):
        pass
    return run.state


def _nested(run: Run) -> Listener | None:
    """Inside a node of a listened-to run, a listener that forwards to it; else ``None``."""
    listener = Listener.of_parent()
    if listener is not None:
        run.listen()
        run.path = listener.path
    return listener


def _checked_positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GraphDefinitionError(f"{name} must be a positive int, got {value!r}")
    return value


def _checked_concurrency(value: int | None) -> int | None:
    return None if value is None else _checked_positive("max_concurrency", value)
