"""One attempt of a task on the invoke path, as a tracer records it.

The invoke path (policies, threads, async) tells the recorder when each attempt begins;
an :class:`Attempt` keeps its times, error, LLM calls and nested runs until its step ends
and :meth:`Attempt.record` makes it a :class:`~orkes.tracing.records.TaskRecord`.
"""

from __future__ import annotations

from time import perf_counter as clock
from typing import TYPE_CHECKING, Any

from orkes.graph._tasks import STATE
from orkes.tracing._calls import CallRecording
from orkes.tracing._rows import keys_of
from orkes.tracing.records import ErrorRecord, LLMCall, TaskRecord

if TYPE_CHECKING:
    from orkes.graph._tasks import Task
    from orkes.tracing._recorder import RunRecorder
    from orkes.tracing.trace import Trace

__all__ = ["Attempt"]


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
        self.keys = recorder.keys_now() if task.arg is STATE else keys_of(task.arg)
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
        subgraphs = self.subgraphs
        return self.recorder.child(graph, path, lambda done: subgraphs.append(done.trace()), drawn)

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
