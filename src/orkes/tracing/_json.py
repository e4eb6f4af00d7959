"""A trace as plain JSON data, and back: records as objects, ``Repr`` marked, tuples as lists.

The format is versioned (``"format": "orkes.trace/1"``). Values are JSON already (the
tracer cleaned them); only a :class:`~orkes.tracing.records.Repr` needs a mark:
``{"$repr": text, "type": type}`` — a mapping that held ``"$repr"`` itself was kept as a
``Repr`` when recorded, so the mark is never ambiguous inside a value. Mappings that a
record holds as such (a state, an update, headers) may hold any key, ``"$repr"`` too.
The graph's shape, when the trace has one, is plain data (``"shape"``); a file without
it (written before traces kept it) reads as a trace without a shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orkes.errors import GraphDefinitionError
from orkes.tracing._clean import MARKER
from orkes.tracing._shape import shape_data, shape_from_data
from orkes.tracing._valid import check_trace
from orkes.tracing.records import (
    CheckpointRecord,
    ErrorRecord,
    GateRecord,
    InterruptRecord,
    LLMCall,
    Repr,
    StepRecord,
    TaskRecord,
)
from orkes.tracing.trace import Trace

__all__ = ["FORMAT", "trace_from_dict", "trace_to_dict"]

FORMAT = "orkes.trace/1"
"""The format a trace file declares; a reader refuses others."""


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """``trace`` as JSON data, its format first."""
    return {"format": FORMAT, **_trace_data(trace)}


def _trace_data(trace: Trace) -> dict[str, Any]:
    return {
        "graph": trace.graph,
        "run_id": trace.run_id,
        "status": trace.status,
        "started": trace.started,
        "ended": trace.ended,
        "state": _encoded_mapping(trace.state),
        "steps": [_step_data(step) for step in trace.steps],
        "thread_id": trace.thread_id,
        "path": list(trace.path),
        "error": _error_data(trace.error),
        "checkpoints": [
            {"checkpoint_id": c.checkpoint_id, "step": c.step} for c in trace.checkpoints
        ],
        "interrupts": [
            {
                "id": i.id,
                "node": i.node,
                "payload": _encoded(i.payload),
                "step": i.step,
                "path": list(i.path),
            }
            for i in trace.interrupts
        ],
        "shape": None if trace.shape is None else shape_data(trace.shape),
    }


def _step_data(step: StepRecord) -> dict[str, Any]:
    return {
        "step": step.step,
        "started": step.started,
        "ended": step.ended,
        "tasks": [_task_data(task) for task in step.tasks],
        "gates": [
            {
                "gate": g.gate,
                "source": g.source,
                "value": _encoded(g.value),
                "led_to": list(g.led_to),
                "step": g.step,
            }
            for g in step.gates
        ]
        if step.gates
        else [],
    }


def _task_data(task: TaskRecord) -> dict[str, Any]:
    return {
        "node": task.node,
        "step": task.step,
        "task_id": task.task_id,
        "path": list(task.path),
        "attempt": task.attempt,
        "input_keys": list(task.input_keys),
        "update": None if task.update is None else _encoded_mapping(task.update),
        "started": task.started,
        "ended": task.ended,
        "cached": task.cached,
        "error": _error_data(task.error),
        "interrupted": task.interrupted,
        "llm_calls": [_call_data(call) for call in task.llm_calls] if task.llm_calls else [],
        "subgraphs": [_trace_data(nested) for nested in task.subgraphs] if task.subgraphs else [],
    }


def _call_data(call: LLMCall) -> dict[str, Any]:
    return {
        "connector": call.connector,
        "model": call.model,
        "messages": _encoded(call.messages),
        "reply": None if call.reply is None else _encoded_mapping(call.reply),
        "started": call.started,
        "ended": call.ended,
        "retries": call.retries,
        "error": _error_data(call.error),
        "params": _encoded_mapping(call.params),
        "tools": list(call.tools),
        "endpoint": call.endpoint,
        "headers": _encoded_mapping(call.headers),
    }


def _error_data(error: ErrorRecord | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"type": error.type, "message": error.message, "traceback": error.traceback}


_NESTED = (dict, list, Repr)


def _encoded_mapping(value: dict[str, Any]) -> dict[str, Any]:
    for item in value.values():
        if type(item) in _NESTED:
            return {key: _encoded(item) for key, item in value.items()}
    return value  # scalars only: JSON as it is


def _encoded(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _encoded(item) for key, item in value.items()}
    if kind is list:
        return [_encoded(item) for item in value]
    if kind is Repr:
        return {MARKER: value.text, "type": value.type}
    return value


def trace_from_dict(data: Mapping[str, Any]) -> Trace:
    """The trace ``data`` describes.

    Raises:
        GraphDefinitionError: ``data`` is not a trace of this format, or a field of it
            does not hold what it should (named).
    """
    found = data.get("format") if isinstance(data, Mapping) else None
    if found != FORMAT:
        raise GraphDefinitionError(
            f"not an orkes trace: its format is {found!r}, not {FORMAT!r}; give data that "
            "trace.to_dict() made (or a file that trace.to_json() or Tracer(directory=...) wrote)"
        )
    try:
        trace = _trace(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GraphDefinitionError(
            f"a damaged orkes trace: {type(exc).__name__}: {exc} (was it edited by hand?)"
        ) from None
    check_trace(trace)
    return trace


def _trace(data: Mapping[str, Any]) -> Trace:
    return Trace(
        graph=data["graph"],
        run_id=data["run_id"],
        status=data["status"],
        started=data["started"],
        ended=data["ended"],
        state=_mapping(data["state"]),
        steps=tuple(_step(step) for step in data["steps"]),
        thread_id=data["thread_id"],
        path=tuple(data["path"]),
        error=_error(data["error"]),
        checkpoints=tuple(
            CheckpointRecord(c["checkpoint_id"], c["step"]) for c in data["checkpoints"]
        ),
        interrupts=tuple(
            InterruptRecord(i["id"], i["node"], _value(i["payload"]), i["step"], tuple(i["path"]))
            for i in data["interrupts"]
        ),
        shape=None if data.get("shape") is None else shape_from_data(data["shape"]),
    )


def _step(data: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        data["step"],
        data["started"],
        data["ended"],
        tuple(_task(task) for task in data["tasks"]),
        tuple(
            GateRecord(g["gate"], g["source"], _value(g["value"]), tuple(g["led_to"]), g["step"])
            for g in data["gates"]
        ),
    )


def _task(data: Mapping[str, Any]) -> TaskRecord:
    update = data["update"]
    return TaskRecord(
        node=data["node"],
        step=data["step"],
        task_id=data["task_id"],
        path=tuple(data["path"]),
        attempt=data["attempt"],
        input_keys=tuple(data["input_keys"]),
        update=None if update is None else _mapping(update),
        started=data["started"],
        ended=data["ended"],
        cached=data["cached"],
        error=_error(data["error"]),
        interrupted=data["interrupted"],
        llm_calls=tuple(_call(call) for call in data["llm_calls"]),
        subgraphs=tuple(_trace(nested) for nested in data["subgraphs"]),
    )


def _call(data: Mapping[str, Any]) -> LLMCall:
    reply = data["reply"]
    return LLMCall(
        connector=data["connector"],
        model=data["model"],
        messages=_value(data["messages"]),
        reply=None if reply is None else _mapping(reply),
        started=data["started"],
        ended=data["ended"],
        retries=data["retries"],
        error=_error(data["error"]),
        params=_mapping(data["params"]),
        tools=tuple(data["tools"]),
        endpoint=data["endpoint"],
        headers=_mapping(data["headers"]),
    )


def _error(data: Mapping[str, Any] | None) -> ErrorRecord | None:
    if data is None:
        return None
    return ErrorRecord(data["type"], data["message"], data["traceback"])


def _mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping a record holds as such: any key, the values decoded."""
    return {str(key): _value(item) for key, item in data.items()}


def _value(data: Any) -> Any:
    if isinstance(data, dict):
        if MARKER in data:
            return Repr(str(data[MARKER]), str(data["type"]))
        return {key: _value(item) for key, item in data.items()}
    if isinstance(data, list):
        return [_value(item) for item in data]
    return data
