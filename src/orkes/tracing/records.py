"""What a trace is made of: steps, tasks, gate decisions, LLM calls, checkpoints, errors.

Every record is a frozen dataclass. Values taken from the run (updates, the state, gate
answers, messages) are JSON values — ``None``, ``bool``, ``int``, ``float``, ``str``,
``list``, ``dict`` with ``str`` keys — already redacted; a value that is not JSON is kept
as a :class:`Repr`. Times are seconds since the epoch (``time.time()``'s clock).

Example:
    >>> from orkes.tracing.records import GateRecord, Repr
    >>> gate = GateRecord("route", "classify", "yes", ("answer",), step=1)
    >>> gate.led_to, Repr("{1, 2}", "set").text
    (('answer',), '{1, 2}')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orkes.tracing.trace import Trace

__all__ = [
    "CheckpointRecord",
    "ErrorRecord",
    "GateRecord",
    "InterruptRecord",
    "LLMCall",
    "Repr",
    "StepRecord",
    "TaskRecord",
]


@dataclass(frozen=True, slots=True)
class Repr:
    """A value that is not JSON (a set, a date, an object), kept as its ``repr``.

    Attributes:
        text: ``repr(value)``, redacted like any string.
        type: the value's type, ``"module.QualName"`` (``"set"`` for builtins).
    """

    text: str
    type: str


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """An exception, as text: what it was, what it said, and where it came from.

    Attributes:
        type: the exception's class (``"ValueError"``, ``"orkes.errors.NodeError"``).
        message: ``str(exception)``.
        traceback: the formatted traceback, causes included, as Python prints it.
    """

    type: str
    message: str
    traceback: str


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One call of an LLM connector made inside a node.

    Attributes:
        connector: the connector's class name (``"OpenAIConnector"``).
        model: the model asked for, where the connector says.
        messages: the conversation sent.
        reply: the message that came back (``None`` if the call failed).
        started: when the call began.
        ended: when the reply (or the failure) came.
        retries: how many times the request was sent again (429, 5xx, a dropped line).
        error: why the call failed, if it did.
        params: the call's parameters (``temperature``, …), redacted.
        tools: the names of the tools offered to the model.
        endpoint: the URL called, for HTTP connectors.
        headers: the request's headers, redacted (``Authorization`` never shows).
    """

    connector: str
    model: str | None
    messages: list[Any]
    reply: dict[str, Any] | None
    started: float
    ended: float
    retries: int = 0
    error: ErrorRecord | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tools: tuple[str, ...] = ()
    endpoint: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """The call's latency."""
        return self.ended - self.started

    @property
    def tool_calls(self) -> list[Any]:
        """The tool calls the reply asks for (``[]`` when none)."""
        calls = (self.reply or {}).get("tool_calls")
        return calls if isinstance(calls, list) else []

    @property
    def usage(self) -> dict[str, Any] | None:
        """The token usage the service reported (``reply["metadata"]["usage"]``), if any."""
        metadata = (self.reply or {}).get("metadata")
        usage = metadata.get("usage") if isinstance(metadata, dict) else None
        return usage if isinstance(usage, dict) else None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One attempt of one task: a node called in a superstep.

    A task retried under a ``RetryPolicy`` has one record per attempt; only the last
    carries the update. ``attempt`` is 0 for a task that was not called in this run:
    its update came from the node's cache (``cached``), or was kept from before a resume.

    Attributes:
        node: the node's name.
        step: the superstep.
        task_id: stable within a run: ``"<step>:<node>"``, ``"…#<n>"`` for a ``Send``'s.
        path: the subgraph node names above the node (``()`` at the top).
        attempt: 1, 2, … (see above for 0).
        input_keys: the keys of the state (or of the ``Send``'s argument) it was given.
        update: the keys it wrote, redacted; ``None`` if it failed, paused or was retried.
        started: when it was called.
        ended: when it returned or raised.
        cached: the update came from the node's cache.
        error: why it failed, with the traceback.
        interrupted: it paused the run (``ctx.interrupt``).
        llm_calls: the LLM calls made in it, in the order they ended.
        subgraphs: the runs made inside it (a subgraph node's run), each a ``Trace``.
    """

    node: str
    step: int
    task_id: str
    path: tuple[str, ...]
    attempt: int
    input_keys: tuple[str, ...]
    update: dict[str, Any] | None
    started: float
    ended: float
    cached: bool = False
    error: ErrorRecord | None = None
    interrupted: bool = False
    llm_calls: tuple[LLMCall, ...] = ()
    subgraphs: tuple[Trace, ...] = ()

    @property
    def seconds(self) -> float:
        """How long the attempt ran."""
        return self.ended - self.started


@dataclass(frozen=True, slots=True)
class GateRecord:
    """A conditional edge's gate decided where the run goes.

    Attributes:
        gate: the gate function's name.
        source: the node the edge leaves (``"START"`` for an edge from START).
        value: what the gate returned, redacted.
        led_to: the nodes it scheduled (``()``: it led to END).
        step: the superstep after which it was asked (0: from START).
    """

    gate: str
    source: str
    value: Any
    led_to: tuple[str, ...]
    step: int


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One superstep: its tasks in merge order, then the gates asked after it.

    Step 0, when present, is the run's start: it holds only the gates of START's edges.
    """

    step: int
    started: float
    ended: float
    tasks: tuple[TaskRecord, ...] = ()
    gates: tuple[GateRecord, ...] = ()

    @property
    def seconds(self) -> float:
        """How long the superstep took."""
        return self.ended - self.started


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    """A checkpoint the run wrote: ``runner.get_state(thread_id, checkpoint_id)`` reads it."""

    checkpoint_id: str
    step: int


@dataclass(frozen=True, slots=True)
class InterruptRecord:
    """A pause the run ended with: a node asked for an answer (``ctx.interrupt``).

    Attributes:
        id: give it to ``runner.resume`` when several wait.
        node: the node that asked.
        payload: what it asked with, redacted.
        step: the superstep it paused in.
        path: the subgraph node names above the node.
    """

    id: str
    node: str
    payload: Any
    step: int
    path: tuple[str, ...] = ()
