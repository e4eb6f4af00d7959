"""Recording one run: a consumer of what the core loop reports, and of what nodes do.

:class:`RunRecorder` is the tracer's :class:`orkes._observe.RunObserver`. A superstep of
one plain task (most steps of a chain) is kept as one compact row — the task, its input
keys, its times, its writes (copied and cleaned now if they could change, else when
read) — and made into records when the trace is first read; any other superstep reports
each attempt (:class:`Attempt`) and is made into a
:class:`~orkes.tracing.records.StepRecord` when it ends. Gate decisions, LLM calls and
nested runs are kept with their step and put in place when the trace is read. When the
run ends, the recorder hands a :class:`~orkes.tracing.trace.Trace` to its sink: the
tracer, or the record of the task that ran it (a subgraph).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from time import perf_counter as clock
from typing import TYPE_CHECKING, Any

from orkes.graph._sentinels import END, START
from orkes.graph._tasks import STATE
from orkes.graph.context import StepPaused
from orkes.tracing._calls import CallRecording
from orkes.tracing._clean import SCALARS, Cleaner
from orkes.tracing._rows import Row, keys_of, steps_of
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

__all__ = ["Attempt", "RunRecorder"]

logger = logging.getLogger("orkes.tracing")

_NO_REPORT: Any = ((None, {}, False),)  # a listened-to run always has a report: never used


class RunRecorder:
    """Records one run for a tracer; hands the finished :class:`Trace` to ``sink``."""

    __slots__ = (
        "_attempts",
        "_calls",
        "_checkpoints",
        "_gates",
        "_keys",
        "_nested",
        "_perf0",
        "_rows",
        "_run",
        "_wall0",
        "cleaner",
        "drawn",
        "graph",
        "path",
        "sink",
    )

    def __init__(
        self,
        cleaner: Cleaner,
        graph: str | None,
        path: tuple[str, ...],
        sink: Callable[[Trace], None],
        *,
        drawn: bool = False,
    ) -> None:
        """``drawn``: the run is a subgraph node's, whose shape the parent's trace holds."""
        self._wall0 = time.time()
        self._perf0 = clock()
        self.cleaner = cleaner
        self.graph = graph
        self.path = path
        self.sink = sink
        self.drawn = drawn
        self._rows: list[Row | StepRecord] = []
        self._attempts: list[Attempt] = []  # of the superstep going on
        self._gates: list[GateRecord] = []  # every gate asked, with its step
        # Made by plain tasks (one per step): (step, call), (step, run nested in it).
        self._calls: list[tuple[int, LLMCall]] = []
        self._nested: list[tuple[int, Trace]] = []
        self._run: Run | None = None
        self._checkpoints: list[CheckpointRecord] = []
        self._keys: tuple[str, ...] = ()  # the state's keys: the next step's input keys

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
        return RunRecorder(self.cleaner, graph, path, lambda trace: nested.append((step, trace)))

    def _step(self) -> int:
        return 0 if self._run is None else self._run.step

    # --- what the loop reports -------------------------------------------------------------

    def started(self, run: Run) -> None:
        """The run begins: note the input's keys."""
        self._run = run
        self._keys = tuple(run.state)

    def ran_one(self, run: Run, task: Task, started: float, ended: float) -> None:
        """A step of one plain task ended: keep it as a row (the hot path of a traced run)."""
        writes: Any = (run.report or _NO_REPORT)[0][1]
        for value in writes.values():
            if type(value) not in SCALARS:  # may change later: cleaned (copied) now
                writes = self.cleaner.mapping(writes)
                break
        keys = self._keys
        self._rows.append((run.step, task, keys, started, ended, writes))
        if len(run.state) != len(keys):  # keys never leave a state: a new one came
            self._keys = tuple(run.state)

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
        if len(run.state) != len(self._keys):
            self._keys = tuple(run.state)

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
        """The run ended: make its :class:`Trace` and hand it over.

        A failure here is logged, never raised: a tracer does not change how a run ends.
        """
        try:
            trace = self._trace(run, error)
        except Exception:
            logger.exception("could not record run %s of graph %r", run.run_id, self.graph)
            return
        self.sink(trace)

    def _trace(self, run: Run, error: BaseException | None) -> Trace:
        if self._attempts:  # a step that did not finish
            attempts, self._attempts = self._attempts, []
            attempts.sort(key=lambda a: (a.task.node.name, a.task.index, a.number))
            tasks = [attempt.record() for attempt in attempts]
            self._add_step(run.step, tasks, clock())
        status, kept_error, interrupts = self._ending(run, error)
        rows = self._rows
        made = (
            self._gates, self._calls, self._nested, self.wall, self.path, self.cleaner, self._perf0,
        )  # fmt: skip
        return Trace(
            graph=self.graph,
            run_id=run.run_id,
            status=status,
            started=self._wall0,
            ended=time.time(),
            state=self.cleaner.mapping(run.state),
            steps=Steps(build=lambda: steps_of(rows, *made)),
            thread_id=run.thread_id,
            path=self.path,
            error=None if kept_error is None else self.cleaner.error(kept_error),
            checkpoints=tuple(self._checkpoints),
            interrupts=interrupts,
            shape=None if self.drawn else self._shape(run),
        )

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
        self._rows.append(StepRecord(step, started, end, tuple(tasks)))

    def _not_called(
        self, step: int, task: Task, update: dict[str, Any], cached: bool, now: float
    ) -> TaskRecord:
        moment = self.wall(now)
        keys = self._keys if task.arg is STATE else keys_of(task.arg)
        return TaskRecord(
            task.node.name, step, task.task_id(step), self.path, 0, keys, update, moment, moment,
            cached,
        )  # fmt: skip


class Attempt:
    """One attempt of a task on the invoke path (an :class:`orkes._observe.AttemptObserver`)."""

    __slots__ = (
        "calls",
        "error",
        "finished",
        "interrupted",
        "keys",
        "number",
        "recorder",
        "started",
        "step",
        "subgraphs",
        "task",
    )

    def __init__(self, recorder: RunRecorder, step: int, task: Task, number: int) -> None:
        self.recorder = recorder
        self.step = step
        self.task = task
        self.number = number
        self.keys = recorder._keys if task.arg is STATE else keys_of(task.arg)
        self.started = clock()
        self.finished: float | None = None
        self.error: ErrorRecord | None = None
        self.interrupted = False
        self.calls: list[LLMCall] = []
        self.subgraphs: list[Trace] = []

    def llm_call(self, connector: object) -> CallRecording:
        """A recorder for an LLM call made in this attempt."""
        return CallRecording(self.recorder.cleaner, connector, self.calls.append)

    def nested(self, graph: str | None, path: tuple[str, ...]) -> RunRecorder:
        """The recorder of a run made in this attempt (a subgraph node's)."""
        drawn = self.task.node.subgraph is not None  # the parent's shape draws it
        return RunRecorder(self.recorder.cleaner, graph, path, self.subgraphs.append, drawn=drawn)

    def ended(self, error: BaseException | None) -> None:
        """The attempt returned, or raised ``error`` (formatted now, traceback and all)."""
        self.finished = clock()
        if error is not None:
            self.error = self.recorder.cleaner.error(error)

    def paused(self) -> None:
        """The attempt paused the run."""
        self.finished = clock()
        self.interrupted = True

    def record(self, update: dict[str, Any] | None = None, cached: bool = False) -> TaskRecord:
        """The attempt as a record (its update, if it was the one whose writes were kept)."""
        wall = self.recorder.wall
        return TaskRecord(
            node=self.task.node.name,
            step=self.step,
            task_id=self.task.task_id(self.step),
            path=self.recorder.path,
            attempt=self.number,
            input_keys=self.keys,
            update=update,
            started=wall(self.started),
            ended=wall(self.started if self.finished is None else self.finished),
            cached=cached,
            error=self.error,
            interrupted=self.interrupted,
            llm_calls=tuple(self.calls),
            subgraphs=tuple(self.subgraphs),
        )
