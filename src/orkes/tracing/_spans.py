"""A run as OpenTelemetry spans: one per run, superstep, task attempt and LLM call.

:class:`RunSpans` is the :class:`orkes._observe.RunObserver` that
:class:`orkes.tracing.otel.OpenTelemetry` gives the engine for each run. The tree::

    run <graph>             orkes.graph, orkes.run_id, orkes.thread_id, orkes.status, …
    └── step <n>            orkes.step, orkes.nodes
        └── node <name>     orkes.node, orkes.step, orkes.task_id, orkes.attempt, orkes.path
            ├── chat <model>    gen_ai.* (GenAI semantic conventions), orkes.node, …
            └── run <subgraph>  a run started inside the node, and so on down

It derives from :class:`orkes._observe.EachTaskObserved`, so every task is reported as
it begins: the task's span is made current (``opentelemetry.context.attach``) in the
task's own context — its thread's, its asyncio task's — and the spans a node opens
itself nest under it. The run's span is never made current: between a stream's events
the caller's code runs in the caller's context, which must stay as it was.

Only :class:`~orkes.tracing.otel.OpenTelemetry` imports this module, once it has
found ``opentelemetry``; an LLM call's span is :mod:`orkes.tracing._genai`'s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from time import perf_counter as clock
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from orkes._observe import EachTaskObserved
from orkes.graph._sentinels import END, START
from orkes.graph.context import StepPaused
from orkes.tracing._genai import Attributes, CallSpan, record

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context

    from orkes.graph._gates import GatePlan
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Run
    from orkes.tracing._clean import Cleaner

__all__ = ["AttemptSpan", "RunSpans"]

logger = logging.getLogger("orkes.tracing")


class RunSpans(EachTaskObserved):
    """The spans of one run (an :class:`orkes._observe.RunObserver`)."""

    __slots__ = (
        "_attempts",
        "_cleaner",
        "_early",
        "_lock",
        "_parent",
        "_span",
        "_step",
        "_step_span",
        "_tracer",
        "graph",
        "path",
    )

    def __init__(
        self,
        tracer: trace.Tracer,
        cleaner: Cleaner,
        graph: str | None,
        path: tuple[str, ...],
        parent: Span | None = None,
    ) -> None:
        """``parent``: the span of the task the run is nested in; ``None``: the current one."""
        self._tracer = tracer
        self._cleaner = cleaner
        self.graph = graph
        self.path = path
        self._parent = parent
        self._span: Span = trace.INVALID_SPAN  # until the run starts
        self._lock = threading.Lock()  # parallel attempts begin on several threads
        self._step = 0
        self._step_span: Span | None = None
        self._attempts: set[AttemptSpan] = set()  # begun and not ended
        # A durable run writes its input's checkpoint, and follows START's gates, before
        # it starts: (name, attributes, when), put on the run's span when it opens.
        self._early: list[tuple[str, Attributes, int]] = []

    # --- what code running in the run (gates, inline tasks) reports ------------------------

    def llm_call(self, connector: object) -> CallSpan:
        """A span for a call made outside any task (in a gate): under the run's span."""
        where: Attributes = {"orkes.step": self._step, "orkes.path": self.path}
        return CallSpan(
            self._tracer, self._cleaner, connector, self._step_span or self._span, where
        )

    def nested(self, graph: str | None, path: tuple[str, ...]) -> RunSpans:
        """The spans of a run started outside any task: under the run's span."""
        return RunSpans(self._tracer, self._cleaner, graph, path, self._span)

    # --- what the loop reports -------------------------------------------------------------

    def started(self, run: Run) -> None:
        """The run begins: its span opens, under the parent task's or the current span."""
        parent = None if self._parent is None else trace.set_span_in_context(self._parent)
        attributes: Attributes = {"orkes.run_id": run.run_id, "orkes.path": self.path}
        if self.graph is not None:
            attributes["orkes.graph"] = self.graph
        if run.thread_id is not None:
            attributes["orkes.thread_id"] = run.thread_id
        name = "run" if self.graph is None else f"run {self.graph}"
        early, self._early = self._early, []
        begun = early[0][2] if early else None
        self._span = self._tracer.start_span(name, parent, attributes=attributes, start_time=begun)
        for event, event_attributes, when in early:
            self._span.add_event(event, event_attributes, when)

    def attempt(self, run: Run, task: Task, attempt: int) -> AttemptSpan:
        """An attempt begins (on the thread or asyncio task that runs it): its span is current."""
        step_span = self._step_span_of(run.step)
        span = self._tracer.start_span(
            f"node {task.node.name}",
            trace.set_span_in_context(step_span),
            attributes=self._task_attributes(run, task, attempt),
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        watch = AttemptSpan(self, span, token, run.step, task.node.name)
        with self._lock:
            self._attempts.add(watch)
        return watch

    def ran_one(
        self, run: Run, task: Task, started: float, ended: float, writes: Mapping[str, Any]
    ) -> None:
        """A step of one inline task ended: its spans, made now with the times it ran."""
        self._inline_step(run, task, started, ended, None)

    def failed_one(self, run: Run, task: Task, started: float, error: BaseException | None) -> None:
        """The inline task of a step raised ``error`` (``None``: its update failed the step)."""
        self._inline_step(run, task, started, clock(), error)

    def stepped(self, run: Run) -> None:
        """A step ended: its span closes, naming the tasks whose writes it merged."""
        span = self._step_span_of(run.step)
        span.set_attribute("orkes.nodes", [done.node.name for done, _, _ in run.report or ()])
        with self._lock:
            self._step_span = None
        span.end()

    def routed(self, gate: GatePlan, answer: object, tasks: Sequence[Task], run: Run) -> None:
        """A gate answered: an ``orkes.route`` event on the run's span."""
        branch = gate.branch
        said = "END" if answer is END else answer if isinstance(answer, str) else repr(answer)
        self._event(
            "orkes.route",
            {
                "orkes.step": run.step,
                "orkes.gate": getattr(branch.gate, "__name__", None) or repr(branch.gate),
                "orkes.source": "START" if branch.source == START else str(branch.source),
                "orkes.answer": self._cleaner.text(said),
                "orkes.led_to": [task.node.name for task in tasks],
            },
        )

    def checkpointed(self, checkpoint_id: str, step: int) -> None:
        """A checkpoint was written: an ``orkes.checkpoint`` event on the run's span."""
        self._event("orkes.checkpoint", {"orkes.checkpoint_id": checkpoint_id, "orkes.step": step})

    def ended(self, run: Run, error: BaseException | None) -> None:
        """The run ended: close what is open; its status, and its error if it failed.

        A failure here is logged, never raised: a tracer does not change how a run ends.
        """
        try:
            self._end(run, error)
        except Exception:
            logger.exception(
                "could not end the spans of run %s of graph %r", run.run_id, self.graph
            )

    # --- helpers ---------------------------------------------------------------------------

    def _event(self, name: str, attributes: Attributes) -> None:
        if self._span is trace.INVALID_SPAN:  # not started yet
            self._early.append((name, attributes, time.time_ns()))
        else:
            self._span.add_event(name, attributes)

    def _end(self, run: Run, error: BaseException | None) -> None:
        status, failure = _ending(run, error)
        with self._lock:
            left, self._attempts = list(self._attempts), set()
            step_span, self._step_span = self._step_span, None
        for attempt in left:  # a BaseException (cancelled, ^C) cut them short
            attempt.cut_short()
        if step_span is not None:
            if failure is not None:
                said = self._cleaner.text(f"{type(failure).__name__}: {failure}")
                step_span.set_status(Status(StatusCode.ERROR, said))
            step_span.end()
        span = self._span
        span.set_attribute("orkes.status", status)
        span.set_attribute("orkes.steps", run.step)
        if failure is not None:
            record(span, failure, self._cleaner)
        span.end()

    def _step_span_of(self, step: int) -> Span:
        """The span of superstep ``step``, opened by its first attempt (or when it ends)."""
        with self._lock:
            span = self._step_span
            if span is None or self._step != step:
                if span is not None:  # a step that ended unreported: close it
                    span.end()
                span = self._tracer.start_span(
                    f"step {step}",
                    trace.set_span_in_context(self._span),
                    attributes={"orkes.step": step, "orkes.path": self.path},
                )
                self._step_span, self._step = span, step
            return span

    def _task_attributes(self, run: Run, task: Task, attempt: int) -> Attributes:
        return {
            "orkes.node": task.node.name,
            "orkes.step": run.step,
            "orkes.task_id": task.task_id(run.step),
            "orkes.attempt": attempt,
            "orkes.path": self.path,
        }

    def _inline_step(
        self, run: Run, task: Task, started: float, ended: float, error: BaseException | None
    ) -> None:
        begin, end = _nanos(started), _nanos(ended)
        step_span = self._tracer.start_span(
            f"step {run.step}",
            trace.set_span_in_context(self._span),
            attributes={"orkes.step": run.step, "orkes.path": self.path},
            start_time=begin,
        )
        span = self._tracer.start_span(
            f"node {task.node.name}",
            trace.set_span_in_context(step_span),
            attributes=self._task_attributes(run, task, 1),
            start_time=begin,
        )
        if error is not None:
            record(span, error, self._cleaner)
        span.end(end)
        step_span.set_attribute("orkes.nodes", [task.node.name])
        step_span.end(end)


class AttemptSpan:
    """One attempt of a task: its span (an :class:`orkes._observe.AttemptObserver`)."""

    __slots__ = ("_open", "_token", "node", "run", "span", "step")

    def __init__(
        self, run: RunSpans, span: Span, token: Token[Context], step: int, node: str
    ) -> None:
        self.run = run
        self.span = span
        self._token = token
        self.step = step
        self.node = node
        self._open = True

    def llm_call(self, connector: object) -> CallSpan:
        """A span for a call the node makes: under the attempt's span."""
        where: Attributes = {"orkes.node": self.node, "orkes.step": self.step}
        where["orkes.path"] = self.run.path
        return CallSpan(self.run._tracer, self.run._cleaner, connector, self._inner(), where)

    def nested(self, graph: str | None, path: tuple[str, ...]) -> RunSpans:
        """The spans of a run started in the node (a subgraph's): under the attempt's span."""
        return RunSpans(self.run._tracer, self.run._cleaner, graph, path, self._inner())

    def _inner(self) -> Span:
        """The span a call or run made now goes under: the node's own, if it opened one.

        The current span is the node's when it is of this trace: the attempt's span, or one
        the node opened under it. Any other (a thread the node started without copying
        its context has none) is not the node's: the attempt's span is taken instead.
        """
        current = trace.get_current_span()
        if current.get_span_context().trace_id == self.span.get_span_context().trace_id:
            return current
        return self.span

    def ended(self, error: BaseException | None) -> None:
        """The attempt returned, or raised ``error``: its span closes (ERROR if it raised)."""
        if error is not None and self._open:
            record(self.span, error, self.run._cleaner)
        self._close(detach=True)

    def paused(self) -> None:
        """The attempt paused the run (``ctx.interrupt``)."""
        self.span.set_attribute("orkes.interrupted", True)
        self._close(detach=True)

    def cut_short(self) -> None:
        """The run ended while the attempt ran (cancelled with its step, or ^C): close it."""
        self.span.set_attribute("orkes.cancelled", True)
        # Detach only in the context that attached: there the attempt's span is current.
        self._close(detach=trace.get_current_span() is self.span)

    def _close(self, *, detach: bool) -> None:
        run = self.run
        with run._lock:  # the run's end may cut it short while its thread ends it
            if not self._open:
                return
            self._open = False
            run._attempts.discard(self)
        self.span.end()
        if detach:
            otel_context.detach(self._token)


def _ending(run: Run, error: BaseException | None) -> tuple[str, BaseException | None]:
    """How a run ended (``orkes.status``), and the error to record, if it failed."""
    if isinstance(error, StepPaused):  # a subgraph's node paused: so does its run
        return "paused", None
    if error is None or isinstance(error, GeneratorExit):
        if run.paused:
            return "paused", None
        return ("stopped" if run.stopping or error else "done"), None
    if type(error).__name__ == "CancelledError":
        return "stopped", None
    return "failed", error


def _nanos(moment: float) -> int:
    """A ``perf_counter`` reading as nanoseconds since the epoch (OpenTelemetry's time)."""
    return time.time_ns() - int((clock() - moment) * 1e9)
