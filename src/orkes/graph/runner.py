"""GraphRunner: runs a compiled graph — ``run``, ``arun``, ``stream``, ``astream``.

Each is a few lines around the one core loop (``_loops.py``): ``run`` exhausts it with
nobody listening, ``stream`` iterates it for events; the ``a``-forms drive the same
planner on the event loop. Each run happens in a copy of the caller's context, so what
nodes set in ``contextvars`` never leaks out. ``asyncio`` is imported only by runs that
need it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from orkes.errors import GraphDefinitionError
from orkes.graph._history import ThreadMethods
from orkes.graph._listen import Listener, checked_modes
from orkes.graph._loops import drive
from orkes.graph._runs import RunMethods
from orkes.graph._thread_runs import NO_ANSWER, ThreadRunMethods, resume_input
from orkes.graph.compiled import CompiledGraph
from orkes.graph.plan import Run
from orkes.graph.routing import Command
from orkes.graph.stream import AsyncRunStream, RunStream

if TYPE_CHECKING:
    from orkes.events import StreamMode
    from orkes.graph._tasks import Task
    from orkes.graph.plan import GraphPlan
    from orkes.graph.results import RunResult
    from orkes.persistence.base import Checkpointer

__all__ = ["GraphRunner"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class GraphRunner(RunMethods[StateT], ThreadRunMethods[StateT], ThreadMethods[StateT]):
    """Runs a compiled graph; holds no per-run data, so one runner serves many threads.

    Args:
        compiled: what ``OrkesGraph.compile()`` returned.
        max_steps: how many supersteps one run may take (leaving START is not one).
        max_concurrency: how many tasks of one superstep may run at once (``None``: all).
        checkpointer: where threads are kept (``SqliteCheckpointer("runs.db")``, …): runs
            given a ``thread_id`` are durable.
        upgrade: for a thread written by an earlier version of the graph (its state had
            keys this one lacks): a function from the stored state to this graph's, applied
            on load and recorded in the next checkpoint.

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

    __slots__ = ("checkpointer", "compiled", "max_concurrency", "max_steps", "upgrade")

    def __init__(
        self,
        compiled: CompiledGraph[StateT],
        *,
        max_steps: int = 1000,
        max_concurrency: int | None = None,
        checkpointer: Checkpointer | None = None,
        upgrade: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(compiled, CompiledGraph):
            raise GraphDefinitionError(
                f"GraphRunner runs a compiled graph, got {compiled!r}; call graph.compile() first"
            )
        self.compiled = compiled
        self.max_steps = _checked_positive("max_steps", max_steps)
        self.max_concurrency = _checked_concurrency(max_concurrency)
        if checkpointer is not None and not _is_checkpointer(checkpointer):
            raise GraphDefinitionError(
                f"checkpointer= takes a Checkpointer (MemoryCheckpointer(), "
                f"SqliteCheckpointer(path), …), got {checkpointer!r}"
            )
        self.checkpointer = checkpointer
        if upgrade is not None and not callable(upgrade):
            raise GraphDefinitionError(f"upgrade= takes a function of the state, got {upgrade!r}")
        self.upgrade = upgrade

    def __repr__(self) -> str:
        return f"GraphRunner({self.compiled!r}, max_steps={self.max_steps})"

    def _runner(self) -> GraphRunner[StateT]:
        return self

    def _store(self) -> Checkpointer:
        if self.checkpointer is None:
            raise GraphDefinitionError(
                "this runner keeps no threads: give it one to keep them in, "
                "GraphRunner(compiled, checkpointer=SqliteCheckpointer('runs.db'))"
            )
        return self.checkpointer

    def _plan(self) -> GraphPlan:
        return self.compiled.plan

    def _start_run(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
    ) -> StateT:
        """:meth:`run`'s work (``run`` checks nothing more: see its docs)."""
        if self._thread(thread_id) is not None:
            return _final_state(self._durable(state, thread_id, max_steps, max_concurrency))
        run = self._new_run(state, max_steps, max_concurrency)
        limit = run.max_concurrency
        if run.plan.has_async:
            from orkes.graph._anywhere import run_to_end

            return run_to_end(lambda: self._arun(run, limit))
        # A copy of the caller's context: what nodes set in contextvars stays in the run.
        return cast(StateT, contextvars.copy_context().run(_exhaust, run, limit))

    async def _start_arun(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
    ) -> StateT:
        """:meth:`arun`'s work."""
        import asyncio

        if self._thread(thread_id) is not None:
            result = await self._adurable(state, thread_id, max_steps, max_concurrency)
            return _final_state(result)

        run = self._new_run(state, max_steps, max_concurrency)
        # A task of its own (so a copy of the caller's context, as for run); cancelling
        # the caller cancels it.
        return await asyncio.ensure_future(self._arun(run, run.max_concurrency))

    async def _arun(self, run: Run, limit: int | None) -> StateT:
        from orkes.graph._loops import adrive

        async for _ in adrive(run, _nested(run), limit):
            pass
        return cast(StateT, run.state)

    def _start_stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
    ) -> RunStream[StateT, Any]:
        """:meth:`stream`'s work."""
        listener = Listener(checked_modes(modes))
        run, first = self._opened(state, thread_id, max_steps, max_concurrency, listener)
        limit = run.max_concurrency
        if run.plan.has_async:
            from orkes.graph._anywhere import events_of
            from orkes.graph._loops import adrive

            def stop() -> None:
                run.stopping = True

            events = events_of(lambda: adrive(run, listener, limit, first), stop)
            return RunStream(events, run, contextvars.copy_context())
        return RunStream(drive(run, listener, limit, first), run, contextvars.copy_context())

    def _start_astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
    ) -> AsyncRunStream[StateT, Any]:
        """:meth:`astream`'s work: a thread is opened by the first ``__anext__``, async."""
        from orkes.graph._loops import adrive

        listener = Listener(checked_modes(modes))
        thread = self._thread(thread_id)
        if thread is None:
            run, first = self._opened(state, None, max_steps, max_concurrency, listener)
            return AsyncRunStream(adrive(run, listener, run.max_concurrency, first), run)

        async def events() -> AsyncIterator[Any]:
            run, first = await self._aopened(state, thread, max_steps, max_concurrency, listener)
            stream.started(run)
            async with contextlib.aclosing(adrive(run, listener, run.max_concurrency, first)) as e:
                async for event in e:
                    yield event

        stream: AsyncRunStream[StateT, Any] = AsyncRunStream(events(), None)
        return stream

    def _opened(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        listener: Listener,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
    ) -> tuple[Run, tuple[Task, ...] | None]:
        """A run to stream: a thread's (opened now, its saver on ``listener``), or a plain one."""
        state, answer = resume_input(state, answer)
        thread = self._thread(thread_id)
        if thread is None:
            if state is None:
                raise GraphDefinitionError("a stream of None resumes a thread: give thread_id=")
            run = self._new_run(state, max_steps, max_concurrency)
            run.listen()
            return run, None
        from orkes.graph._open_thread import open_thread

        checkpointer, name = thread
        run, saver, first = open_thread(
            self.compiled.plan, checkpointer, name, state, self._steps(max_steps), checkpoint_id,
            self.upgrade,
        )  # fmt: skip
        for write in saver.resume_answers(state, answer):  # kept first: a crash loses none
            checkpointer.put_writes(name, saver.head_id or "", write)
        listener.saver = saver
        run.max_concurrency = self._concurrency(max_concurrency)
        return run, first

    def _durable(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
    ) -> RunResult[StateT]:
        listener = Listener(frozenset())
        run, first = self._opened(
            state, thread_id, max_steps, max_concurrency, listener, checkpoint_id, answer
        )
        if run.plan.has_async:
            from orkes.graph._anywhere import run_to_end

            run_to_end(lambda: _adrained(run, listener, first))
        else:
            contextvars.copy_context().run(_drained, run, listener, first)
        return self._result(run, listener)

    async def _adurable(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
    ) -> RunResult[StateT]:
        import asyncio

        thread = self._thread(thread_id)
        assert thread is not None
        listener = Listener(frozenset())
        run, first = await self._aopened(
            state, thread, max_steps, max_concurrency, listener, checkpoint_id, answer
        )
        await asyncio.ensure_future(_adrained(run, listener, first))
        return self._result(run, listener)

    async def _aopened(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread: tuple[Checkpointer, str],
        max_steps: int | None,
        max_concurrency: int | None,
        listener: Listener,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
    ) -> tuple[Run, tuple[Task, ...] | None]:
        """:meth:`_opened` of a thread, for async code: no call blocks the event loop."""
        from orkes.graph._open_thread import aopen_thread

        state, answer = resume_input(state, answer)
        checkpointer, name = thread
        run, saver, first = await aopen_thread(
            self.compiled.plan, checkpointer, name, state, self._steps(max_steps), checkpoint_id,
            self.upgrade,
        )  # fmt: skip
        for write in saver.resume_answers(state, answer):  # kept first: a crash loses none
            await checkpointer.aput_writes(name, saver.head_id or "", write)
        listener.saver = saver
        run.max_concurrency = self._concurrency(max_concurrency)
        return run, first

    def _result(self, run: Run, listener: Listener) -> RunResult[StateT]:
        from orkes.graph.results import RunResult

        saver = listener.saver
        assert saver is not None
        return RunResult(
            cast(StateT, run.state),
            not run.paused,
            saver.thread_id,
            saver.head_id,
            interrupts=run.paused,
        )

    def _thread(self, thread_id: str | None) -> tuple[Checkpointer, str] | None:
        if thread_id is None and self.checkpointer is None:
            return None  # a plain run: nothing of persistence is loaded
        from orkes.graph._open_thread import thread_of

        return thread_of(self.checkpointer, thread_id)

    def _steps(self, max_steps: int | None) -> int:
        return self.max_steps if max_steps is None else _checked_positive("max_steps", max_steps)

    def _concurrency(self, max_concurrency: int | None) -> int | None:
        if max_concurrency is None:
            return self.max_concurrency
        return _checked_concurrency(max_concurrency)

    def _new_run(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
    ) -> Run:
        plan = self.compiled.plan
        if isinstance(state, Command):
            raise GraphDefinitionError(
                f"{state!r} answers a paused thread: give thread_id= (and a runner with a "
                "checkpointer)"
            )
        if plan.interrupt_before or plan.interrupt_after:
            raise GraphDefinitionError(
                "this graph was compiled with interrupt_before= / interrupt_after=, which "
                "pause a run until it is resumed: run it with a thread, "
                "GraphRunner(compiled, checkpointer=...) and run(state, thread_id=...)"
            )
        run = Run(plan, state, self._steps(max_steps))
        run.max_concurrency = self._concurrency(max_concurrency)
        return run


def _final_state(result: RunResult[StateT]) -> StateT:
    from orkes.graph.results import final_state

    return final_state(result)


def _is_checkpointer(value: object) -> bool:
    from orkes.persistence.base import Checkpointer

    return isinstance(value, Checkpointer)


def _drained(run: Run, listener: Listener, first: tuple[Task, ...] | None) -> None:
    for _ in drive(run, listener, run.max_concurrency, first):
        pass


async def _adrained(run: Run, listener: Listener, first: tuple[Task, ...] | None) -> None:
    from orkes.graph._loops import adrive

    async for _ in adrive(run, listener, run.max_concurrency, first):
        pass


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
