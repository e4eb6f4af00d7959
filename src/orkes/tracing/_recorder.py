"""Recording one run: a consumer of what the core loop reports, and of what nodes do.

:class:`RunRecorder` is the tracer's :class:`orkes._observe.RunObserver`. A superstep of
one plain task (most steps of a chain) is kept as one compact row — the task, its times,
its writes (copied and cleaned now if they could change, else when read) — that the loop
of a run nobody streams appends itself (``rows``); its input keys are worked out from
the rows before it. Any other superstep reports each attempt (:class:`Attempt`) and is
made into a :class:`~orkes.tracing.records.StepRecord` when it ends. Gate decisions, LLM
calls and nested runs are kept with their step. When the run ends, the recorder keeps
what could still change (the state, the error) and hands itself to its sink: the
tracer, or the record of the task that ran it (a subgraph); the
:class:`~orkes.tracing.trace.Trace` is made when first asked for, and its steps when
first read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter as clock
from typing import TYPE_CHECKING, Any, cast

from orkes.graph._sentinels import END, START
from orkes.graph._tasks import STATE
from orkes.graph.context import StepPaused
from orkes.tracing._attempt import Attempt
from orkes.tracing._calls import CallRecording
from orkes.tracing._clean import SCALARS, Cleaner, type_name
from orkes.tracing._rows import Row, grown, keys_of, steps_of
from orkes.tracing._shape import plan_shape
from orkes.tracing.records import (
    CheckpointRecord,
    ErrorRecord,
    GateRecord,
    InterruptRecord,
    LLMCall,
    StepRecord,
    TaskRecord,
)
from orkes.tracing.trace import Status, Steps, Trace

if TYPE_CHECKING:
    from orkes.graph._gates import GatePlan
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Run
    from orkes.viz.shape import GraphShape

__all__ = ["RunRecorder"]

logger = logging.getLogger("orkes.tracing")

_End = tuple[float, dict[str, Any], bool, Status, tuple[InterruptRecord, ...], ErrorRecord | None]
"""What a run ended with: when, its state and whether it is cleaned yet, status, pauses, error."""

_making = threading.Lock()  # a trace is made once, whoever asks first


class RunRecorder:
    """Records one run for a tracer; hands itself to ``sink`` when the run ends."""

    __slots__ = (
        "_attempts",
        "_calls",
        "_checkpoints",
        "_end",
        "_gates",
        "_known",
        "_made",
        "_marks",
        "_nested",
        "_perf0",
        "_run",
        "_wall0",
        "cleaner",
        "drawn",
        "graph",
        "path",
        "rows",
        "sink",
    )

    def __init__(
        self,
        cleaner: Cleaner,
        graph: str | None,
        path: tuple[str, ...],
        sink: Callable[[RunRecorder], None],
        *,
        drawn: bool = False,
    ) -> None:
        """``sink`` takes the recorder when the run ends, to ask for its :meth:`trace`.

        ``drawn``: the run is a subgraph node's, whose shape the parent's trace holds.
        """
        self._wall0 = time.time()
        self._perf0 = clock()
        self.cleaner = cleaner
        self.graph = graph
        self.path = path
        self.sink = sink
        self.drawn = drawn
        # One entry a superstep: a Row (the loop appends those of a run nobody streams),
        # or the StepRecord of a step the invoke path ran.
        self.rows: list[Row | StepRecord] = []
        self._attempts: list[Attempt] = []  # of the superstep going on
        self._gates: list[GateRecord] = []  # every gate asked, with its step
        # Made by plain tasks (one per step): (step, call), (step, run nested in it).
        self._calls: list[tuple[int, LLMCall]] = []
        self._nested: list[tuple[int, Trace]] = []
        self._run: Run | None = None
        self._checkpoints: list[CheckpointRecord] = []
        # The state's keys before rows[i], where they were seen: (i, keys). A Row's writes
        # add theirs after them (a state only gains keys, in the order they are written).
        self._marks: list[tuple[int, tuple[str, ...]]] = []
        self._known: tuple[int, tuple[str, ...]] = (0, ())  # the latest keys worked out
        self._end: _End | None = None
        self._made: Trace | None = None

    def wall(self, moment: float) -> float:
        """A ``perf_counter`` reading as seconds since the epoch."""
        return self._wall0 + (moment - self._perf0)

    # --- what the task running inline reports ----------------------------------------------

    def llm_call(self, connector: object) -> CallRecording:
        """A recorder for an LLM call of the plain task running now."""
        step, calls = self._step(), self._calls
        return CallRecording(self.cleaner, connector, lambda call: calls.append((step, call)))

    def nested(self, graph: str | None, path: tuple[str, ...]) -> RunRecorder:
        """The recorder of a run started inside the plain task running now."""
        step, nested = self._step(), self._nested
        return self.child(graph, path, lambda done: nested.append((step, done.trace())))

    def child(
        self,
        graph: str | None,
        path: tuple[str, ...],
        sink: Callable[[RunRecorder], None],
        drawn: bool = False,
    ) -> RunRecorder:
        """The recorder of a run nested in one of this run's tasks (see ``__init__``)."""
        return RunRecorder(self.cleaner, graph, path, sink, drawn=drawn)

    def _step(self) -> int:
        return 0 if self._run is None else self._run.step

    # --- what the loop reports -------------------------------------------------------------

    def started(self, run: Run) -> None:
        """The run begins: note the input's keys."""
        self._run = run
        self._mark(run)

    def ran_one(
        self, run: Run, task: Task, started: float, ended: float, writes: Mapping[str, Any]
    ) -> None:
        """A step of one plain task ended: keep it as a row (cleaned now if it may change)."""
        for value in writes.values():
            if type(value) not in SCALARS:  # may change later: cleaned (copied) now
                writes = self.cleaner.mapping(writes)
                break
        else:
            writes = dict(writes)  # the node's own dict, which it may still change
        self.rows.append((run.step, task, started, ended, writes))

    def failed_one(self, run: Run, task: Task, started: float, error: BaseException | None) -> None:
        """The plain task of this step raised ``error``.

        ``None``: it returned, but its update (or the gate after it) failed the step;
        that is the run's error, not the task's.
        """
        attempt = Attempt(self, run.step, task, 1)
        attempt.started = started
        step = run.step
        attempt.calls = [call for at, call in self._calls if at == step]
        attempt.subgraphs = [trace for at, trace in self._nested if at == step]
        attempt.ended(error)
        self._attempts.append(attempt)

    def attempt(self, run: Run, task: Task, attempt: int) -> Attempt:
        """An attempt of a task on the invoke path begins (maybe on another thread)."""
        watch = Attempt(self, run.step, task, attempt)
        self._attempts.append(watch)
        return watch

    def stepped(self, run: Run) -> None:
        """A step on the invoke path ended: its attempts and writes become its record."""
        attempts, self._attempts = self._attempts, []
        by_task: dict[int, list[Attempt]] = {}
        for attempt in attempts:
            by_task.setdefault(id(attempt.task), []).append(attempt)
        now = clock()
        tasks: list[TaskRecord] = []
        for task, writes, cached in run.report or ():
            tried = by_task.pop(id(task), None)
            update = self.cleaner.mapping(writes)
            if tried:
                tasks.extend(attempt.record() for attempt in tried[:-1])
                tasks.append(tried[-1].record(update, cached))
            else:  # not called: from the cache, or written before a resume
                tasks.append(self._not_called(run.step, task, update, cached, now))
        for rest in by_task.values():
            tasks.extend(attempt.record() for attempt in rest)
        self._add_step(run.step, tasks, now)
        self._mark(run)

    def keys_now(self) -> tuple[str, ...]:
        """The state's keys before the step going on: its tasks' input keys."""
        at, keys = self._known
        rows = self.rows
        if at < len(rows):
            later = [row[4] for row in rows[at:] if not isinstance(row, StepRecord)]
            at, keys = len(rows), grown(keys, later)
            self._known = (at, keys)
        return keys

    def _mark(self, run: Run) -> None:
        mark = (len(self.rows), tuple(run.state))
        self._marks.append(mark)
        self._known = mark

    def routed(self, gate: GatePlan, answer: object, tasks: Sequence[Task], run: Run) -> None:
        """A gate answered: keep what, where from, and where it led."""
        branch = gate.branch
        source = branch.source
        self._gates.append(
            GateRecord(
                gate=getattr(branch.gate, "__name__", None) or repr(branch.gate),
                source="START" if source == START else str(source),
                value="END" if answer is END else self.cleaner.value(answer),
                led_to=tuple(task.node.name for task in tasks),
                step=run.step,
            )
        )

    def checkpointed(self, checkpoint_id: str, step: int) -> None:
        """A checkpoint was written."""
        self._checkpoints.append(CheckpointRecord(checkpoint_id, step))

    def ended(self, run: Run, error: BaseException | None) -> None:
        """The run ended: keep what may change later, and hand the recorder to its sink.

        The state, the error and the pauses are taken now; the :class:`Trace` is made
        when first asked for (:meth:`trace`). A failure here is logged, never raised: a
        tracer does not change how a run ends.
        """
        try:
            if self._attempts:  # a step that did not finish
                attempts, self._attempts = self._attempts, []
                attempts.sort(key=lambda a: (a.task.node.name, a.task.index, a.number))
                now = clock()
                for attempt in attempts:
                    if attempt.finished is None:  # cancelled, or ^C, while it ran
                        attempt.finished, attempt.error = now, _cut_short(error)
                tasks = [attempt.record() for attempt in attempts]
                self._add_step(run.step, tasks, now)
            status, kept_error, interrupts = self._ending(run, error)
            cleaner, state, clean = self.cleaner, run.state, True
            for value in state.values():
                if type(value) not in SCALARS:  # may change later: cleaned (copied) now
                    state = cleaner.mapping(state)
                    break
            else:
                state, clean = dict(state), False  # cleaned when read
            self._end = (
                time.time(), state, clean, status, interrupts,
                None if kept_error is None else cleaner.error(kept_error),
            )  # fmt: skip
            self.sink(self)
        except Exception:
            logger.exception("could not record run %s of graph %r", run.run_id, self.graph)

    def trace(self) -> Trace:
        """The run's :class:`Trace`, made the first time it is asked for (after the run)."""
        made = self._made
        if made is None:
            with _making:
                made = self._made
                if made is None:
                    made = self._made = self._trace()
        return made

    def _trace(self) -> Trace:
        run, end = self._run, self._end
        assert run is not None, "a trace is made once its run has ended"
        assert end is not None, "a trace is made once its run has ended"
        rows, marks, gates, calls, nested = (
            self.rows, self._marks, self._gates, self._calls, self._nested,
        )  # fmt: skip
        made = (self.path, self.cleaner, self._wall0, self._perf0)
        trace: Any = _new(_TraceDraft)  # a Trace, filled with plain stores (see _TraceDraft)
        trace.graph = self.graph
        trace.run_id = run.run_id
        trace.started = self._wall0
        trace.ended, state, clean, trace.status, trace.interrupts, trace.error = end
        trace.state = state if clean else self.cleaner.mapping(state)
        trace.steps = Steps(build=lambda: steps_of(rows, marks, gates, calls, nested, *made))
        trace.thread_id = run.thread_id
        trace.path = self.path
        trace.checkpoints = tuple(self._checkpoints)
        trace.shape = None if self.drawn else self._shape(run)
        trace.__class__ = Trace
        # Let go of the run, and of the rows: the trace's steps hold them until made.
        self._run = self._end = None
        self.rows, self._marks, self._gates, self._calls, self._nested = [], [], [], [], []
        return cast(Trace, trace)

    def _shape(self, run: Run) -> GraphShape | None:
        try:
            return plan_shape(run.plan)
        except Exception:  # the picture is a nicety: the trace is kept without it
            logger.exception("could not draw graph %r for run %s", self.graph, run.run_id)
            return None

    # --- helpers ---------------------------------------------------------------------------

    def _ending(
        self, run: Run, error: BaseException | None
    ) -> tuple[Status, BaseException | None, tuple[InterruptRecord, ...]]:
        if isinstance(error, StepPaused):  # a subgraph's node paused: so does its run
            signals = [
                (s.node or node, s.interrupt_id, s.payload, s.path) for node, s in error.signals
            ]
            return "paused", None, self._interrupts(run, signals)
        if error is None or isinstance(error, GeneratorExit):
            if run.paused:
                paused = [(e.node, e.id, e.payload, e.path) for e in run.paused]
                return "paused", None, self._interrupts(run, paused)
            return ("stopped" if run.stopping or error else "done"), None, ()
        if type(error).__name__ == "CancelledError":
            return "stopped", error, ()
        return "failed", error, ()

    def _interrupts(
        self, run: Run, paused: Sequence[tuple[str, str, Any, tuple[str, ...] | None]]
    ) -> tuple[InterruptRecord, ...]:
        return tuple(
            InterruptRecord(
                ident,
                node,
                self.cleaner.value(payload),
                run.step,
                run.path if path is None else path,
            )
            for node, ident, payload, path in paused
        )

    def _add_step(self, step: int, tasks: Sequence[TaskRecord], ended: float) -> None:
        end = self.wall(ended)
        started = min((task.started for task in tasks), default=end)
        self.rows.append(StepRecord(step, started, end, tuple(tasks)))

    def _not_called(
        self, step: int, task: Task, update: dict[str, Any], cached: bool, now: float
    ) -> TaskRecord:
        moment = self.wall(now)
        keys = self.keys_now() if task.arg is STATE else keys_of(task.arg)
        return TaskRecord(
            task.node.name, step, task.task_id(step), self.path, 0, keys, update, moment, moment,
            cached,
        )  # fmt: skip


def _cut_short(error: BaseException | None) -> ErrorRecord:
    """What ended an attempt that the run's end cut short (it never returned or raised)."""
    cause = error if error is not None and not isinstance(error, Exception) else None
    kind = "asyncio.exceptions.CancelledError" if cause is None else type_name(cause)
    return ErrorRecord(kind, "cut short: the run ended while this task ran", "")


class _TraceDraft:
    """A ``Trace`` being made (see ``orkes.tracing._rows._TaskDraft``)."""

    __slots__ = Trace.__slots__


_new = object.__new__
