"""Who listens to a run: the modes asked for, and where events go.

A stream's top-level listener collects events for the loop to yield (a list between
yields, or a queue while tasks run on threads); the sync loop yields each step's own
``Update`` and ``Values`` straight away. A run started inside a node of a listened-to
run — a subgraph — forwards its events to the parent's listener, its path prefixed with
the parent's node.
"""

from __future__ import annotations

import queue
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from orkes.errors import GraphDefinitionError
from orkes.events import STREAM_MODES, Event, TaskScope, Update, Values, current_scope
from orkes.graph._parallel import ThreadStep

if TYPE_CHECKING:
    from orkes._observe import RunObserver
    from orkes.graph._durable import Saver
    from orkes.graph.context import Pauses
    from orkes.graph.plan import Outcome, Run

__all__ = [
    "LIVE_MODES",
    "Listener",
    "UpdateDraft",
    "checked_modes",
    "events_while_running",
    "live_step",
    "new_update",
]

LIVE_MODES = frozenset({"custom", "messages", "tasks"})
"""Modes whose events come from inside running nodes: their tasks run off the loop."""


def checked_modes(modes: Iterable[str] | str) -> frozenset[str]:
    """The stream modes asked for, refusing unknown ones with the list of known ones."""
    names = (modes,) if isinstance(modes, str) else tuple(modes)
    unknown = [m for m in names if m not in STREAM_MODES]
    if unknown or not names:
        problem = f"unknown stream mode {unknown[0]!r}" if unknown else "no stream mode given"
        raise GraphDefinitionError(f"{problem}; modes are {', '.join(map(repr, STREAM_MODES))}")
    return frozenset(names)


class Listener:
    """The modes a run is streamed with and the function that takes its events.

    Attributes:
        modes: the stream modes asked for.
        emit: takes one event; safe to call from any thread.
        tokens: whether LLM tokens are wanted at all here (``False`` under a node added
            with ``stream_tokens=False``).
        live: events come from inside nodes, so tasks run off the consumer's thread.
        buffer: the events not yet yielded, for a top-level sync stream's loop.
        path: the subgraph path of the run listened to.
        saver: a durable run's saver (checkpoints, and each task's writes), else ``None``.
        trace: the observer of a tracer recording the run, else ``None``.
    """

    __slots__ = ("buffer", "emit", "live", "modes", "path", "pauses", "saver", "tokens", "trace")

    def __init__(
        self,
        modes: frozenset[str],
        emit: Callable[[Event], None] | None = None,
        *,
        tokens: bool = True,
        path: tuple[str, ...] = (),
    ) -> None:
        self.modes = modes
        self.buffer: list[Event] | None = None
        if emit is None:
            self.buffer = []
            emit = self.buffer.append
        self.emit = emit
        self.tokens = tokens and "messages" in modes
        self.live = not LIVE_MODES.isdisjoint(modes)
        self.path = path
        self.saver: Saver | None = None
        self.pauses: Pauses | None = None  # in a durable run's subgraph: the parent task's
        self.trace: RunObserver | None = None

    @classmethod
    def of_parent(cls, graph: str | None = None) -> Listener | None:
        """For a run starting inside a listened-to node: a listener forwarding to it.

        When a tracer records the node, the run (of the graph named ``graph``) is
        recorded inside the node's record.
        """
        scope = current_scope.get()
        if scope is None:
            return None
        path = (*scope.path, scope.node)
        listener = cls(scope.modes, scope.emit, tokens=scope.tokens, path=path)
        if scope.trace is not None:
            listener.trace = scope.trace.nested(graph, path)
        return listener

    def drain(self) -> Iterator[Event]:
        """Yield and forget the buffered events."""
        buffer = self.buffer
        if buffer:
            events = buffer[:]
            buffer.clear()
            yield from events

    def started(self, run: Run) -> None:
        """Mode ``"values"``: the state before the first step; mode ``"custom"``: gates' emits.

        A tracer's observer learns of the run here, before START's edges are followed.
        """
        if self.trace is not None:
            run.trace = self.trace
            self.trace.started(run)
        if "custom" in self.modes:
            run.gate_scope = TaskScope(self.emit, self.modes, "", run.path, 0, False)
        if "values" in self.modes:
            self.emit(Values(dict(run.state), step=0, path=self.path))

    def stepped(self, run: Run) -> None:
        """After a step: each task's ``Update``, in merge order; then the ``Values``.

        (A top-level sync stream's loop yields these itself, without the buffer.)
        """
        modes = self.modes
        if "updates" in modes and run.report:
            emit, step, path = self.emit, run.step, self.path
            for task, writes, cached in run.report:
                emit(new_update(task.node.name, writes, cached, step, path))
        if "values" in modes:
            self.emit(Values(dict(run.state), step=run.step, path=self.path))

    def inline_scope(self, run: Run) -> TaskScope:
        """One scope for the tasks this thread runs itself, moved from task to task."""
        return TaskScope(self.emit, self.modes, "", run.path, 0, False, self.trace)


class UpdateDraft:
    """An ``Update`` being made: the same slots, filled with plain attribute stores.

    A frozen dataclass refuses attribute stores (its ``__setattr__`` raises), so its
    ``__init__`` sets each field through ``object.__setattr__`` (0.5 µs for an
    ``Update``). Streams make one ``Update`` per task: they fill a draft, then make it an
    ``Update`` by assigning ``__class__``, which CPython allows between classes with the
    same slots (0.1 µs in all). The result is an ``Update`` like any other: same type,
    fields, equality, ``match``; frozen from then on.
    """

    __slots__ = Update.__slots__


_new = object.__new__
_STEP_DONE: Any = object()


def new_update(node: str, update: Any, cached: bool, step: int, path: tuple[str, ...]) -> Update:
    """``Update(node, dict(update), cached, step=step, path=path)``, at a third of the cost.

    ``drive`` inlines this for the top-level stream.
    """
    event: Any = _new(UpdateDraft)
    event.node = node
    event.update = dict(update)
    event.cached = cached
    event.step = step
    event.path = path
    event.__class__ = Update
    return cast(Update, event)


def live_step(
    run: Run, tasks: Any, listener: Listener, limit: int | None
) -> Generator[Event, None, list[Outcome]]:
    """Run a step's tasks on threads, yielding their events as they come.

    Returns (through ``yield from``) the outcomes. If the consumer stops mid-step, no
    new task starts and the running ones are waited for.
    """
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    listener.emit = events.put
    step = ThreadStep(run, tasks, listener, limit, on_done=lambda: events.put(_STEP_DONE))
    try:
        step.start()
        while (event := events.get()) is not _STEP_DONE:
            yield event
    finally:
        listener.emit = listener.buffer.append  # type: ignore[union-attr]
        if not step.all_done.is_set():
            run.stop()
            step.stop()
            step.all_done.wait()
        while not events.empty():  # events that came after the step ended
            late = events.get()
            if late is not _STEP_DONE:
                listener.emit(late)
    return step.wait()


async def events_while_running(
    run: Run, tasks: Any, listener: Listener, limit: int | None, outcomes: list[Outcome]
) -> AsyncGenerator[Event, None]:
    """Run a step on the loop, yielding events (from the loop or pool threads) as they come.

    The outcomes are appended to ``outcomes``. If the consumer stops or is cancelled,
    the step is cancelled (async nodes) and waited for (sync nodes on threads).
    """
    import asyncio
    import threading

    from orkes.graph._aparallel import gather_tasks

    if listener.buffer is None:  # a subgraph's run: its events go straight to the parent
        outcomes.extend(await gather_tasks(run, tasks, listener, limit))
        return
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    events: asyncio.Queue[Any] = asyncio.Queue()

    def emit(event: Event) -> None:
        if threading.get_ident() == loop_thread:
            events.put_nowait(event)
        else:
            loop.call_soon_threadsafe(events.put_nowait, event)

    listener.emit = emit
    step = asyncio.ensure_future(gather_tasks(run, tasks, listener, limit))
    step.add_done_callback(lambda _: events.put_nowait(_STEP_DONE))
    try:
        while (event := await events.get()) is not _STEP_DONE:
            yield event
        outcomes.extend(step.result())
    finally:
        listener.emit = listener.buffer.append
        if not step.done():
            run.stop()
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)
        while not events.empty():
            late = events.get_nowait()
            if late is not _STEP_DONE:
                listener.emit(late)


def names_of(tasks: Sequence[Any]) -> str:
    """``'a', 'b'``: the tasks' node names, for messages."""
    return ", ".join(repr(t.node.name) for t in tasks)
