"""Checking a trace read from JSON: each field of the type its record declares.

A frozen dataclass takes whatever it is given, so a file edited by hand (a time written
as a date, a status that is none of the four) would load and fail later, far from the
cause, in :meth:`~orkes.tracing.trace.Trace.html` or a tool of yours.
:func:`check_trace` refuses it at once, naming the field and what it should hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import get_args

from orkes.errors import GraphDefinitionError
from orkes.tracing.records import ErrorRecord, LLMCall, TaskRecord
from orkes.tracing.trace import Status, Trace

__all__ = ["check_trace"]

_STATUSES = frozenset(get_args(Status))


def check_trace(trace: Trace, where: str = "trace") -> None:
    """Refuse ``trace`` unless every field holds what its record says.

    Raises:
        GraphDefinitionError: names the first field that does not (``"trace.steps[2].
            tasks[0].started"``) and what it should hold.
    """
    _text(trace.graph, f"{where}.graph", none=True)
    _text(trace.run_id, f"{where}.run_id")
    if trace.status not in _STATUSES:
        _refuse(f"{where}.status", trace.status, f"one of {sorted(_STATUSES)}")
    _number(trace.started, f"{where}.started")
    _number(trace.ended, f"{where}.ended")
    _text(trace.thread_id, f"{where}.thread_id", none=True)
    _texts(trace.path, f"{where}.path")
    _error(trace.error, f"{where}.error")
    for n, checkpoint in enumerate(trace.checkpoints):
        _text(checkpoint.checkpoint_id, f"{where}.checkpoints[{n}].checkpoint_id")
        _whole(checkpoint.step, f"{where}.checkpoints[{n}].step")
    for n, pause in enumerate(trace.interrupts):
        _text(pause.id, f"{where}.interrupts[{n}].id")
        _text(pause.node, f"{where}.interrupts[{n}].node")
        _whole(pause.step, f"{where}.interrupts[{n}].step")
        _texts(pause.path, f"{where}.interrupts[{n}].path")
    for n, step in enumerate(trace.steps):
        at = f"{where}.steps[{n}]"
        _whole(step.step, f"{at}.step")
        _number(step.started, f"{at}.started")
        _number(step.ended, f"{at}.ended")
        for g, gate in enumerate(step.gates):
            _text(gate.gate, f"{at}.gates[{g}].gate")
            _text(gate.source, f"{at}.gates[{g}].source")
            _texts(gate.led_to, f"{at}.gates[{g}].led_to")
            _whole(gate.step, f"{at}.gates[{g}].step")
        for t, task in enumerate(step.tasks):
            _task(task, f"{at}.tasks[{t}]")


def _task(task: TaskRecord, at: str) -> None:
    _text(task.node, f"{at}.node")
    _whole(task.step, f"{at}.step")
    _text(task.task_id, f"{at}.task_id")
    _texts(task.path, f"{at}.path")
    _whole(task.attempt, f"{at}.attempt")
    _texts(task.input_keys, f"{at}.input_keys")
    _number(task.started, f"{at}.started")
    _number(task.ended, f"{at}.ended")
    for name in ("cached", "interrupted"):
        if not isinstance(getattr(task, name), bool):
            _refuse(f"{at}.{name}", getattr(task, name), "true or false")
    _error(task.error, f"{at}.error")
    for c, call in enumerate(task.llm_calls):
        _call(call, f"{at}.llm_calls[{c}]")
    for s, nested in enumerate(task.subgraphs):
        check_trace(nested, f"{at}.subgraphs[{s}]")


def _call(call: LLMCall, at: str) -> None:
    _text(call.connector, f"{at}.connector")
    _text(call.model, f"{at}.model", none=True)
    if not isinstance(call.messages, list):
        _refuse(f"{at}.messages", call.messages, "a list of messages")
    _number(call.started, f"{at}.started")
    _number(call.ended, f"{at}.ended")
    _whole(call.retries, f"{at}.retries")
    _error(call.error, f"{at}.error")
    _texts(call.tools, f"{at}.tools")
    _text(call.endpoint, f"{at}.endpoint", none=True)


def _error(error: ErrorRecord | None, at: str) -> None:
    if error is not None:
        for name in ("type", "message", "traceback"):
            _text(getattr(error, name), f"{at}.{name}")


def _text(value: object, at: str, *, none: bool = False) -> None:
    if not (isinstance(value, str) or (none and value is None)):
        _refuse(at, value, "a string or null" if none else "a string")


def _texts(values: Iterable[object], at: str) -> None:
    if not all(isinstance(value, str) for value in values):
        _refuse(at, list(values), "a list of strings")


def _number(value: object, at: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        _refuse(at, value, "a number (seconds since the epoch)")


def _whole(value: object, at: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        _refuse(at, value, "an integer")


def _refuse(at: str, value: object, right: str) -> None:
    raise GraphDefinitionError(
        f"a damaged orkes trace: {at} should be {right}, got {value!r:.200} (was it edited "
        "by hand?)"
    )
