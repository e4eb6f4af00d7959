"""What a streamed run yields: frozen, slotted event dataclasses, one union ``Event``.

``runner.stream(state, modes=(...))`` yields these, interleaved in the order they
happened. Each has ``kind`` (a literal naming its class), ``step`` (the superstep it
belongs to; ``0`` before the first) and ``path`` (the subgraph node names it came from,
``()`` at the top)::

    mode        event                                        when
    "updates"   Update(node, update, cached)                 a task finished
    "values"    Values(state)                                at the start, and after each step
    "custom"    Custom(node, payload)                        a node called ctx.emit(payload)
    "messages"  Token(node, text, message_id)                an LLM call inside a node streamed
    "tasks"     TaskStart(node, attempt), TaskEnd(..., seconds, error)   each attempt of a task
    (any)       Interrupt(id, node, payload)                 a node paused the run for an answer

Example:
    >>> from orkes.events import Update
    >>> event = Update("llm", {"reply": "hi"}, step=1)
    >>> match event:
    ...     case Update(node=node, update=update):
    ...         print(node, update)
    llm {'reply': 'hi'}

A connector publishes tokens with :func:`token_publisher`: it returns a function to call
with each text chunk while somebody streams ``"messages"`` from the node that made the
call, and ``None`` otherwise (so the connector can skip streaming altogether).
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

if TYPE_CHECKING:
    from orkes._observe import TaskObserver

__all__ = [
    "STREAM_MODES",
    "Custom",
    "Event",
    "Interrupt",
    "StreamMode",
    "TaskEnd",
    "TaskStart",
    "Token",
    "Update",
    "Values",
    "token_publisher",
]

StreamMode = Literal["updates", "values", "custom", "messages", "tasks"]
"""The names a stream's ``modes=`` accepts."""

STREAM_MODES: tuple[StreamMode, ...] = ("updates", "values", "custom", "messages", "tasks")
"""Every stream mode, in the order the docs list them."""


@dataclass(frozen=True, slots=True)
class Update:
    """Mode ``"updates"``: the keys one task wrote, before reducers, in merge order.

    Attributes:
        node: the node that ran.
        update: the keys it wrote and their values: a dict of the event's own (changing
            it changes nothing in the run; the values are the run's own, as in ``Values``),
            so it goes to ``json.dumps``, ``dataclasses.asdict`` and ``pickle`` as it is.
        cached: ``True`` when the update came from the node's cache instead of a call.
        step: the superstep the task ran in.
        path: the subgraph node names above the node (``()`` at the top).
    """

    node: str
    update: dict[str, Any]
    cached: bool = False
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["update"]] = "update"


@dataclass(frozen=True, slots=True)
class Values:
    """Mode ``"values"``: the whole state, once at the start and after every superstep.

    ``state`` is a shallow copy: adding or replacing its keys changes nothing in the run,
    but the values are the run's own (a list in it is the list the run holds).
    """

    state: dict[str, Any]
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["values"]] = "values"


@dataclass(frozen=True, slots=True)
class Custom:
    """Mode ``"custom"``: a payload a node sent with ``ctx.emit(payload)``."""

    node: str
    payload: Any
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["custom"]] = "custom"


@dataclass(frozen=True, slots=True)
class Token:
    """Mode ``"messages"``: a text chunk of an LLM reply, as it arrived.

    Attributes:
        node: the node whose code made the LLM call.
        text: the chunk.
        message_id: one id per LLM call, so two calls of one node can be told apart.
    """

    node: str
    text: str
    message_id: str
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["token"]] = "token"


@dataclass(frozen=True, slots=True)
class TaskStart:
    """Mode ``"tasks"``: an attempt of a task begins (``attempt`` counts from 1)."""

    node: str
    attempt: int
    task_id: str = ""
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["task_start"]] = "task_start"


@dataclass(frozen=True, slots=True)
class TaskEnd:
    """Mode ``"tasks"``: an attempt of a task ended, after ``seconds``; ``error`` if it failed."""

    node: str
    attempt: int
    seconds: float
    error: BaseException | None = None
    task_id: str = ""
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["task_end"]] = "task_end"


@dataclass(frozen=True, slots=True)
class Interrupt:
    """The run paused for an answer: a node called ``ctx.interrupt(payload)``.

    Streams yield it whatever their modes, then end; ``runner.resume(thread_id, answer)``
    goes on, and the paused node's ``ctx.interrupt`` returns the answer.

    Attributes:
        id: stable for this pause (the same after a crash): give it to ``resume`` when
            several are pending.
        node: the node that asked.
        payload: what it asked with (shown to the person who answers).
    """

    id: str
    node: str
    payload: Any = None
    step: int = field(default=0, kw_only=True)
    path: tuple[str, ...] = field(default=(), kw_only=True)
    kind: ClassVar[Literal["interrupt"]] = "interrupt"


Event = Union[Update, Values, Custom, Token, TaskStart, TaskEnd, Interrupt]  # noqa: UP007
"""Any event a stream yields; ``match`` on the classes, or read ``event.kind``."""


class TaskScope:
    """Where events from inside one running task go; set in a ``ContextVar`` per task.

    Internal: the runner makes one per task while somebody listens. ``emit`` takes an
    event; ``modes`` are the stream's modes; ``tokens`` says whether this node's LLM
    tokens are wanted; ``trace``, when a tracer records the run, takes the task's LLM
    calls and nested runs.
    """

    __slots__ = ("emit", "modes", "node", "path", "step", "tokens", "trace")

    def __init__(
        self,
        emit: Callable[[Event], None],
        modes: frozenset[str],
        node: str,
        path: tuple[str, ...],
        step: int,
        tokens: bool,
        trace: TaskObserver | None = None,
    ) -> None:
        self.emit = emit
        self.modes = modes
        self.node = node
        self.path = path
        self.step = step
        self.tokens = tokens
        self.trace = trace


current_scope: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar(
    "orkes_task_scope", default=None
)
"""The scope of the task running in this context, if somebody listens to its run."""

_message_ids = itertools.count(1)


def token_publisher() -> Callable[[str], None] | None:
    """A function that publishes one LLM call's text chunks as ``Token`` events, or ``None``.

    Call it once per LLM call, at the start. It returns ``None`` when nobody streams
    ``"messages"`` from the node running here (no stream, another mode, or a node added
    with ``stream_tokens=False``): then don't stream just for orkes. Otherwise call the
    function with each chunk of text as it arrives; the chunks of one call share a
    ``message_id``.

    Example:
        >>> token_publisher() is None  # no run is streaming "messages" here
        True
    """
    scope = current_scope.get()
    if scope is None or not scope.tokens:
        return None
    emit, node, path, step = scope.emit, scope.node, scope.path, scope.step
    message_id = f"msg-{next(_message_ids)}"

    def publish(text: str) -> None:
        if text:
            emit(Token(node, text, message_id, step=step, path=path))

    return publish
