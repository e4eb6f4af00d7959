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

from orkes._cassette import current_tape
from orkes.errors import GraphDefinitionError
from orkes.graph._drain import (
    adrained,
    checked_concurrency,
    checked_positive,
    checked_tracer,
    drained,
    exhaust,
    final_state,
    is_checkpointer,
    nested,
    result_of,
)
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
    from orkes.tracing import Tracer

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
        tracer: records every run of this runner (``orkes.tracing.Tracer()``); a run's
            own ``tracer=`` takes precedence. Without one, nothing is recorded or paid for.

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

    __slots__ = ("checkpointer", "compiled", "max_concurrency", "max_steps", "tracer", "upgrade")

    def __init__(
        self,
        compiled: CompiledGraph[StateT],
        *,
        max_steps: int = 1000,
        max_concurrency: int | None = None,
        checkpointer: Checkpointer | None = None,
        upgrade: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        if not isinstance(compiled, CompiledGraph):
            raise GraphDefinitionError(
                f"GraphRunner runs a compiled graph, got {compiled!r}; call graph.compile() first"
            )
        self.compiled = compiled
        self.max_steps = checked_positive("max_steps", max_steps)
        self.max_concurrency = checked_concurrency(max_concurrency)
        if checkpointer is not None and not is_checkpointer(checkpointer):
            raise GraphDefinitionError(
                f"checkpointer= takes a Checkpointer (MemoryCheckpointer(), "
                f"SqliteCheckpointer(path), …), got {checkpointer!r}"
            )
        self.checkpointer = checkpointer
        if upgrade is not None and not callable(upgrade):
            raise GraphDefinitionError(f"upgrade= takes a function of the state, got {upgrade!r}")
        self.upgrade = upgrade
        self.tracer = None if tracer is None else checked_tracer(tracer)

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
        tracer: Tracer | None = None,
    ) -> StateT:
        """:meth:`run`'s work (``run`` checks nothing more: see its docs)."""
        if tracer is None:
            tracer = self.tracer
        if self._thread(thread_id) is not None:
            result = self._durable(state, thread_id, max_steps, max_concurrency, tracer=tracer)
            return final_state(result)
        run = self._new_run(state, max_steps, max_concurrency)
        limit = run.max_concurrency
        listener = None if tracer is None else self._traced(run, tracer)
        if listener is None and current_tape.get() is not None:
            listener = self._listened(run)
        if run.plan.has_async:
            from orkes.graph._anywhere import run_to_end

            return run_to_end(lambda: self._arun(run, limit, listener))
        # A copy of the caller's context: what nodes set in contextvars stays in the run.
        if listener is not None:  # a traced run: the tracer listens
            contextvars.copy_context().run(drained, run, listener, None)
            return cast(StateT, run.state)
        return cast(StateT, contextvars.copy_context().run(exhaust, run, limit, self.compiled.name))

    async def _start_arun(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
        tracer: Tracer | None = None,
    ) -> StateT:
        """:meth:`arun`'s work."""
        import asyncio

        if tracer is None:
            tracer = self.tracer
        if self._thread(thread_id) is not None:
            return final_state(
                await self._adurable(state, thread_id, max_steps, max_concurrency, tracer=tracer)
            )

        run = self._new_run(state, max_steps, max_concurrency)
        listener = None if tracer is None else self._traced(run, tracer)
        if listener is None and current_tape.get() is not None:
            listener = self._listened(run)
        # A task of its own (so a copy of the caller's context, as for run); cancelling
        # the caller cancels it.
        return await asyncio.ensure_future(self._arun(run, run.max_concurrency, listener))

    async def _arun(self, run: Run, limit: int | None, listener: Listener | None) -> StateT:
        from orkes.graph._loops import adrive

        if listener is None:
            listener = nested(run, self.compiled.name)
        async for _ in adrive(run, listener, limit):
            pass
        return cast(StateT, run.state)

    def _traced(self, run: Run, tracer: Tracer) -> Listener:
        """The listener of a plain run that ``tracer`` records (inside a node: nested)."""
        listener = self._listened(run)
        listener.trace = checked_tracer(tracer)._observe(self.compiled.name, listener.path)
        return listener

    def _listened(self, run: Run) -> Listener:
        """A plain run's listener: each task gets a scope (for a tracer, or a tape's calls)."""
        listener = nested(run, self.compiled.name)
        if listener is None:
            listener = Listener(frozenset())
            run.listen()
        return listener

    def _listener(self, modes: frozenset[str], tracer: Tracer | None) -> Listener:
        """A stream's or a durable run's listener; ``tracer`` (or the runner's) observes."""
        listener = Listener(modes)
        tracer = self.tracer if tracer is None else checked_tracer(tracer)
        if tracer is not None:
            listener.trace = tracer._observe(self.compiled.name, ())
        return listener

    def _start_stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
        tracer: Tracer | None = None,
    ) -> RunStream[StateT, Any]:
        """:meth:`stream`'s work."""
        listener = self._listener(checked_modes(modes), tracer)
        run, first = self._opened(state, thread_id, max_steps, max_concurrency, listener)
        limit = run.max_concurrency
        if run.plan.has_async:
            from orkes.graph._anywhere import events_of
            from orkes.graph._loops import adrive

            events = events_of(lambda: adrive(run, listener, limit, first), run.stop)
            return RunStream(events, run, contextvars.copy_context())
        return RunStream(drive(run, listener, limit, first), run, contextvars.copy_context())

    def _start_astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        modes: Iterable[StreamMode] | StreamMode,
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
        tracer: Tracer | None = None,
    ) -> AsyncRunStream[StateT, Any]:
        """:meth:`astream`'s work: a thread is opened by the first ``__anext__``, async."""
        from orkes.graph._loops import adrive

        listener = self._listener(checked_modes(modes), tracer)
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
        state, answer = resume_input(state, answer, thread_id, checkpoint_id)
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
            self.upgrade, listener.trace,
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
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        listener = self._listener(frozenset(), tracer)
        run, first = self._opened(
            state, thread_id, max_steps, max_concurrency, listener, checkpoint_id, answer
        )
        if run.plan.has_async:
            from orkes.graph._anywhere import run_to_end

            run_to_end(lambda: adrained(run, listener, first))
        else:
            contextvars.copy_context().run(drained, run, listener, first)
        return cast("RunResult[StateT]", result_of(run, listener))

    async def _adurable(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        import asyncio

        thread = self._thread(thread_id)
        assert thread is not None
        listener = self._listener(frozenset(), tracer)
        run, first = await self._aopened(
            state, thread, max_steps, max_concurrency, listener, checkpoint_id, answer
        )
        await asyncio.ensure_future(adrained(run, listener, first))
        return cast("RunResult[StateT]", result_of(run, listener))

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

        state, answer = resume_input(state, answer, thread[1], checkpoint_id)
        checkpointer, name = thread
        run, saver, first = await aopen_thread(
            self.compiled.plan, checkpointer, name, state, self._steps(max_steps), checkpoint_id,
            self.upgrade, listener.trace,
        )  # fmt: skip
        for write in saver.resume_answers(state, answer):  # kept first: a crash loses none
            await checkpointer.aput_writes(name, saver.head_id or "", write)
        listener.saver = saver
        run.max_concurrency = self._concurrency(max_concurrency)
        return run, first

    def _thread(self, thread_id: str | None) -> tuple[Checkpointer, str] | None:
        if thread_id is None and self.checkpointer is None:
            return None  # a plain run: nothing of persistence is loaded
        from orkes.graph._open_thread import thread_of

        return thread_of(self.checkpointer, thread_id)

    def _steps(self, max_steps: int | None) -> int:
        return self.max_steps if max_steps is None else checked_positive("max_steps", max_steps)

    def _concurrency(self, max_concurrency: int | None) -> int | None:
        if max_concurrency is None:
            return self.max_concurrency
        return checked_concurrency(max_concurrency)

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
