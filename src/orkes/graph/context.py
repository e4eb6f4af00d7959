"""RunContext: what a node (or gate) that asks for it learns about the run it is part of.

A node that declares a second parameter gets one::

    def write(state: State, ctx: RunContext) -> dict[str, str]:
        ctx.emit({"progress": 0.5})          # a Custom event for "custom" streams
        return {"text": f"step {ctx.step}, attempt {ctx.attempt}"}

Whether a node takes it is read once from its signature, by ``add_node`` (for a gate,
by ``compile()``), never per call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from orkes.errors import GraphDefinitionError
from orkes.events import Custom, TaskScope

if TYPE_CHECKING:
    from orkes.graph.plan import Run

T = TypeVar("T")

__all__ = ["PauseSignal", "Pauses", "RunContext", "StepPaused"]


class PauseSignal(BaseException):
    """Unwinds a node at ``ctx.interrupt``.

    Not an ``Exception``: a node's own ``except Exception:`` cannot swallow it.
    """

    def __init__(self, interrupt_id: str, payload: Any) -> None:
        super().__init__(interrupt_id)
        self.interrupt_id = interrupt_id
        self.payload = payload
        self.node = ""  # the asking node, and its subgraph path, once known
        self.path: tuple[str, ...] | None = None


class StepPaused(BaseException):
    """A superstep ended with tasks paused (the others' writes are kept)."""

    def __init__(self, signals: list[tuple[str, PauseSignal]]) -> None:
        super().__init__([signal.interrupt_id for _, signal in signals])
        self.signals = signals  # (node, signal), in task order


class Pauses:
    """A durable task's interrupts and ``once`` results: what was answered, what recorded.

    Made per attempt; ``ask`` numbers the task's interrupts in the order it calls them,
    so each has a stable id (``"<task id>:<n>"``).
    """

    __slots__ = ("answers", "arecord", "count", "onces", "record", "task_id")

    def __init__(
        self,
        task_id: str,
        answers: dict[str, Any],
        onces: dict[str, Any],
        record: Callable[[str, Any], None],
        arecord: Callable[[str, Any], Awaitable[None]],
    ) -> None:
        self.task_id = task_id
        self.answers = answers
        self.onces = onces
        self.record = record  # keeps a once-result with the thread
        self.arecord = arecord  # the same, for async code
        self.count = 0

    def child(self, task_id: str) -> Pauses:
        """The pauses of a task of a subgraph this task runs: ids under this task's."""
        prefix = f"{self.task_id}/{task_id}"
        mark = f"{prefix}/"
        onces = {k[len(mark) :]: v for k, v in self.onces.items() if k.startswith(mark)}

        def record(name: str, value: Any) -> None:
            self.onces[f"{mark}{name}"] = value
            self.record(f"{mark}{name}", value)

        async def arecord(name: str, value: Any) -> None:
            self.onces[f"{mark}{name}"] = value
            await self.arecord(f"{mark}{name}", value)

        return Pauses(prefix, self.answers, onces, record, arecord)

    def ask(self, payload: Any) -> Any:
        """The answer to this task's next interrupt, or the signal that pauses the run."""
        interrupt_id = f"{self.task_id}:{self.count}"
        self.count += 1
        if interrupt_id in self.answers:
            return self.answers[interrupt_id]
        raise PauseSignal(interrupt_id, payload)


@dataclass(frozen=True, slots=True)
class RunContext:
    """The run as a node sees it; frozen, one per attempt of a task.

    Attributes:
        run_id: the run's id (a subgraph run has its own).
        step: the superstep the node runs in (1 for the first).
        node: the node's name (for a gate: the node its edge leaves).
        path: the subgraph node names above this graph (``()`` at the top).
        attempt: 1, then 2, 3 … when a ``RetryPolicy`` calls the node again.
        thread_id: the conversation thread of a durable run (``None`` until checkpoints
            are in use).
    """

    run_id: str
    step: int
    node: str
    path: tuple[str, ...] = ()
    attempt: int = 1
    thread_id: str | None = None
    _scope: TaskScope | None = field(default=None, repr=False, compare=False)
    # The run's max_steps and max_concurrency: a subgraph node runs under the same.
    _limits: tuple[int, int | None] = field(default=(1000, None), repr=False, compare=False)
    _pauses: Pauses | None = field(default=None, repr=False, compare=False)
    _run: Run | None = field(default=None, repr=False, compare=False)  # the task's run

    def interrupt(self, payload: Any = None) -> Any:
        """Pause the run here until a person answers; return the answer.

        The run stops after this superstep (the other tasks' writes are kept), streams
        yield an ``Interrupt`` event, ``invoke`` returns ``done=False`` and ``run``
        raises ``RunInterrupted``. ``runner.resume(thread_id, answer)`` runs this node
        again from its start, and this call then returns ``answer``: put what must not
        happen twice behind :meth:`once`. Needs a durable run (a checkpointer and a
        ``thread_id``).

        Example:
            ``approved = ctx.interrupt({"question": "Send the payment?"})``
        """
        if self._pauses is None:
            raise GraphDefinitionError(
                f"node {self.node!r} called ctx.interrupt(), which pauses a run until it is "
                "resumed: that needs a thread to keep it in, GraphRunner(compiled, "
                "checkpointer=SqliteCheckpointer('runs.db')) and run(state, thread_id=...)"
            )
        return self._pauses.ask(payload)

    def once(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` the first time; its recorded result on every re-run of this task.

        A paused node runs again from its start when the run resumes; what it did before
        its ``interrupt`` — a payment, an e-mail — must not happen twice. The result is
        kept with the thread (so it must be storable), under ``name`` (unique within the
        node). Without a durable run, it simply calls ``fn``.
        """
        pauses = self._pauses
        if pauses is None:
            return fn(*args)
        if name in pauses.onces:
            return cast(T, pauses.onces[name])
        value = fn(*args)
        pauses.record(name, value)
        pauses.onces[name] = value
        return value

    async def aonce(self, name: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """:meth:`once` for async nodes: ``await fn(*args)`` the first time, recorded.

        The record is written without blocking the event loop (``once`` works in an
        async node too, but writes with a blocking call).

        Example:
            ``receipt = await ctx.aonce("charge", payments.charge, order_id)``
        """
        pauses = self._pauses
        if pauses is None:
            return await fn(*args)
        if name in pauses.onces:
            return cast(T, pauses.onces[name])
        value = await fn(*args)
        await pauses.arecord(name, value)
        pauses.onces[name] = value
        return value

    def emit(self, payload: Any) -> None:
        """Send ``payload`` to whoever streams this run with mode ``"custom"``.

        Does nothing when nobody does, so nodes can report progress unconditionally.
        """
        scope = self._scope
        if scope is not None and "custom" in scope.modes:
            scope.emit(Custom(self.node, payload, step=self.step, path=self.path))
