"""A run's compact rows made into records, when its trace is first read.

A superstep of one plain task is kept as a :data:`Row` while the run goes (see
:mod:`orkes.tracing._recorder`); :func:`steps_of` makes the rows whole: task records,
the LLM calls and nested runs of each, and the gates asked after each step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.graph._tasks import STATE
from orkes.tracing.records import GateRecord, LLMCall, StepRecord, TaskRecord

if TYPE_CHECKING:
    from orkes.tracing._clean import Cleaner
    from orkes.tracing.trace import Trace

__all__ = ["Row", "keys_of", "steps_of"]

Row = tuple[Any, ...]
"""A step of one plain task: step, task, input keys, started, ended (both
``perf_counter``), writes (if immutable scalars only, not cleaned yet)."""


def steps_of(
    rows: Sequence[Row | StepRecord],
    gates: Sequence[GateRecord],
    calls: Sequence[tuple[int, LLMCall]],
    nested: Sequence[tuple[int, Trace]],
    wall: Callable[[float], float],
    path: tuple[str, ...],
    cleaner: Cleaner,
    start: float,
) -> tuple[StepRecord, ...]:
    """The records of a run's rows: one-task steps made whole, gates put in their steps.

    ``calls`` and ``nested``: what plain tasks made, by step (one plain task a step).
    Gates of a step that has no row (START's, step 0) get a step of their own.
    """
    gates_at: dict[int, list[GateRecord]] = {}
    for gate in gates:
        gates_at.setdefault(gate.step, []).append(gate)
    calls_at: dict[int, list[LLMCall]] = {}
    for step, call in calls:
        calls_at.setdefault(step, []).append(call)
    nested_at: dict[int, list[Trace]] = {}
    for step, trace in nested:
        nested_at.setdefault(step, []).append(trace)
    steps: list[StepRecord] = []
    for row in rows:
        if isinstance(row, StepRecord):
            asked = tuple(gates_at.pop(row.step, ()))
            steps.append(StepRecord(row.step, row.started, row.ended, row.tasks, asked))
            continue
        step, task, keys, started, ended, writes = row
        name, index = task.node.name, task.index
        record: Any = _new(_TaskDraft)  # a TaskRecord, filled at a third of the cost
        record.node = name
        record.step = step
        record.task_id = f"{step}:{name}" if index < 0 else f"{step}:{name}#{index}"
        record.path = path
        record.attempt = 1
        record.input_keys = keys if task.arg is STATE else keys_of(task.arg)
        record.update = cleaner.mapping(writes)
        record.started = wall(started)
        record.ended = wall(ended)
        record.cached = record.interrupted = False
        record.error = None
        record.llm_calls = tuple(calls_at.get(step, ()))
        record.subgraphs = tuple(nested_at.get(step, ()))
        record.__class__ = TaskRecord
        whole: Any = _new(_StepDraft)
        whole.step = step
        whole.started = record.started
        whole.ended = record.ended
        whole.tasks = (record,)
        whole.gates = tuple(gates_at.pop(step, ()))
        whole.__class__ = StepRecord
        steps.append(whole)
    for step, alone in gates_at.items():  # START's gates: before the first step
        moment = steps[0].started if steps else wall(start)
        steps.append(StepRecord(step, moment, moment, (), tuple(alone)))
    steps.sort(key=lambda record: record.step)
    return tuple(steps)


class _TaskDraft:
    """A ``TaskRecord`` being made: the same slots, filled with plain attribute stores.

    A frozen dataclass sets each field through ``object.__setattr__`` (1.4 µs for a
    ``TaskRecord``); a trace makes one per step. The draft becomes a ``TaskRecord`` by
    assigning ``__class__``, as ``orkes.graph._listen.UpdateDraft`` becomes an ``Update``.
    """

    __slots__ = TaskRecord.__slots__


class _StepDraft:
    """A ``StepRecord`` being made (see :class:`_TaskDraft`)."""

    __slots__ = StepRecord.__slots__


_new = object.__new__


def keys_of(arg: object) -> tuple[str, ...]:
    """The keys of a ``Send``'s argument (none if it is not a mapping)."""
    return tuple(str(key) for key in arg) if isinstance(arg, Mapping) else ()
