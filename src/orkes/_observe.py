"""What the engine and the connectors tell a tracer: the Protocols they speak, and the hook.

A tracer (:mod:`orkes.tracing`) is one more consumer of what a run reports. The loop tells
a :class:`RunObserver` about each superstep, task, gate decision and checkpoint. Inside a
running node, the task's scope (:data:`orkes.events.current_scope`) carries a
:class:`TaskObserver`, which a connector reaches through :func:`llm_call_recorder` — as it
reaches a stream through :func:`orkes.events.token_publisher` — to record the call it
makes. Nothing here imports the tracer: a run that nobody traces never loads it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from orkes.events import current_scope

if TYPE_CHECKING:
    from orkes.graph._gates import GatePlan
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Run

__all__ = [
    "IMMUTABLE",
    "AttemptObserver",
    "CallRecorder",
    "EachTaskObserved",
    "PlainStep",
    "RunObserver",
    "TaskObserver",
    "llm_call_recorder",
    "one_call",
]


class CallRecorder(Protocol):
    """Records one LLM call: what was sent, each retry, then the reply or the failure."""

    def sent(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        tools: Sequence[str] = (),
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        """The request goes out; ``secrets`` (API keys) are redacted from the whole trace."""

    def retried(self) -> None:
        """The request was sent again (a 429, a 5xx, a dropped connection)."""

    def replied(self, message: Mapping[str, Any]) -> None:
        """The call ended with the model's message."""

    def failed(self, error: BaseException) -> None:
        """The call ended with ``error``."""


class TaskObserver(Protocol):
    """What the code of a running task reports: LLM calls, runs nested in it."""

    def llm_call(self, connector: object) -> CallRecorder:
        """A recorder for one call that ``connector`` makes now."""

    def nested(self, graph: str | None, path: tuple[str, ...]) -> RunObserver:
        """The observer of a run started inside the task (a subgraph), at ``path``."""


class AttemptObserver(TaskObserver, Protocol):
    """One attempt of a task run by the invoke path (policies, threads, async)."""

    def ended(self, error: BaseException | None) -> None:
        """The attempt ended: returned (``None``), or raised ``error``."""

    def paused(self) -> None:
        """The attempt paused the run (``ctx.interrupt``)."""


IMMUTABLE: frozenset[type] = frozenset({int, bool, type(None), float, str})
"""Types whose values never change: writes of only these may be kept as they are."""

PlainStep = tuple[int, "Task", float, float, Mapping[str, Any]]
"""A superstep of one plain task, run inline: step, task, started, ended (both
``perf_counter``), writes."""


class RunObserver(TaskObserver, Protocol):
    """What the core loop reports of one run."""

    @property
    def rows(self) -> list[Any] | None:
        """Where a run nobody streams puts its inline steps, or ``None``: tell each one.

        Given a list, the loop of ``run(tracer=...)`` appends to it each superstep of one
        plain task whose writes hold only :data:`IMMUTABLE` values, as a
        :data:`PlainStep` (the cheapest way to record it), and tells :meth:`ran_one` of
        the others. The observer may append entries of its own between them.
        """

    def started(self, run: Run) -> None:
        """The run begins (before START's edges are followed)."""

    def ran_one(
        self, run: Run, task: Task, started: float, ended: float, writes: Mapping[str, Any]
    ) -> None:
        """A superstep of one plain task ended (``started``/``ended``: ``perf_counter``).

        ``writes``: what the task wrote (``run.report`` may not hold them).
        """

    def failed_one(self, run: Run, task: Task, started: float, error: BaseException | None) -> None:
        """The one plain task of a superstep raised ``error`` (``None``: its step failed)."""

    def attempt(self, run: Run, task: Task, attempt: int) -> AttemptObserver:
        """An attempt of ``task`` begins on the invoke path."""

    def stepped(self, run: Run) -> None:
        """A superstep run on the invoke path ended; ``run.report`` holds its writes."""

    def routed(self, gate: GatePlan, answer: object, tasks: Sequence[Task], run: Run) -> None:
        """A gate answered ``answer``, which led to ``tasks`` (none: END)."""

    def checkpointed(self, checkpoint_id: str, step: int) -> None:
        """A checkpoint of the run was written."""

    def ended(self, run: Run, error: BaseException | None) -> None:
        """The run ended: reached END, paused or stopped (``None``), or failed."""


class EachTaskObserved:
    """Base of a :class:`RunObserver` that must hear of each task before its code runs.

    The sync loop runs a superstep of one plain task inline and tells its observer
    afterwards (:attr:`RunObserver.rows`, :meth:`RunObserver.ran_one`): the cheapest way
    to record it. An observer that must act *before* the node's code runs — OpenTelemetry
    makes the task's span the current one, so that spans the node opens nest under it —
    derives from this class; under it every task goes through the invoke path, which
    reports each attempt as it begins (:meth:`RunObserver.attempt`). Checked once per
    run, not per step.
    """

    __slots__ = ()

    @property
    def rows(self) -> None:
        """No rows: each task is told as it begins."""
        return None


_inside_call: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "orkes_inside_llm_call", default=False
)


def llm_call_recorder(connector: object) -> CallRecorder | None:
    """A recorder for the LLM call ``connector`` makes now, if a tracer records this task.

    ``None`` outside a traced run, and inside a call already recorded (a connector that
    wraps another is recorded once, by the outer call).
    """
    scope = current_scope.get()
    if scope is None:
        return None
    observer = scope.trace
    if observer is None or _inside_call.get():
        return None
    return observer.llm_call(connector)


@contextmanager
def one_call() -> Iterator[None]:
    """Inside the block, calls of inner connectors are not recorded again."""
    token = _inside_call.set(True)
    try:
        yield
    finally:
        _inside_call.reset(token)
