"""A run's compact rows made into records, when its trace is first read.

A superstep of one plain task is kept as a :data:`Row` while the run goes (see
:mod:`orkes.tracing._recorder`); :func:`steps_of` makes the rows whole: task records,
the LLM calls and nested runs of each, and the gates asked after each step. A row does
not hold its input keys: a state only gains keys, in the order they are written, so they
are the keys seen before it with those of the rows since then added (:func:`grown`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.graph._tasks import STATE
from orkes.tracing.records import GateRecord, LLMCall, StepRecord, TaskRecord

if TYPE_CHECKING:
    from orkes.tracing._clean import Cleaner
    from orkes.tracing.trace import Trace

__all__ = ["Row", "grown", "keys_of", "steps_of"]

_Made = TypeVar("_Made")

Row = tuple[Any, ...]
"""A step of one plain task (an ``orkes._observe.PlainStep``): step, task, started, ended
(both ``perf_counter``), writes (if immutable scalars only, not cleaned yet)."""


def steps_of(
    rows: Sequence[Row | StepRecord],
    marks: Sequence[tuple[int, tuple[str, ...]]],
    gates: Sequence[GateRecord],
    calls: Sequence[tuple[int, LLMCall]],
    nested: Sequence[tuple[int, Trace]],
    path: tuple[str, ...],
    cleaner: Cleaner,
    wall0: float,
    perf0: float,
) -> tuple[StepRecord, ...]:
    """The records of a run's rows: one-task steps made whole, gates put in their steps.

    ``marks``: the state's keys before ``rows[i]``, as ``(i, keys)``, where they were seen.
    ``calls`` and ``nested``: what plain tasks made, by step (one plain task a step).
    ``wall0`` and ``perf0``: the run's start by ``time.time`` and by ``perf_counter``.
    Gates of a step that has no row (START's, step 0) get a step of their own.
    """
    keys_at = dict(marks)
    keys: tuple[str, ...] = ()
    known: set[str] = set()
    gates_at = _by_step((gate.step, gate) for gate in gates)
    calls_at = _by_step(calls)
    nested_at = _by_step(nested)
    steps: list[StepRecord] = []
    for at, row in enumerate(rows):
        if at in keys_at:
            keys = keys_at[at]
            known = set(keys)
        if isinstance(row, StepRecord):
            asked = gates_at.pop(row.step, ())
            steps.append(StepRecord(row.step, row.started, row.ended, row.tasks, asked))
            continue
        step, task, started, ended, writes = row
        name, index = task.node.name, task.index
        record: Any = _new(_TaskDraft)  # a TaskRecord, filled at a third of the cost
        record.node = name
        record.step = step
        record.task_id = f"{step}:{name}" if index < 0 else f"{step}:{name}#{index}"
        record.path = path
        record.attempt = 1
        record.input_keys = keys if task.arg is STATE else keys_of(task.arg)
        for key in writes:
            if key not in known:  # a new key: the state's next keys
                keys = grown(keys, (writes,))
                known = set(keys)
                break
        record.update = cleaner.mapping(writes)
        record.started = wall0 + (started - perf0)  # as RunRecorder.wall
        record.ended = wall0 + (ended - perf0)
        record.cached = record.interrupted = False
        record.error = None
        record.llm_calls = calls_at.get(step, ())
        record.subgraphs = nested_at.get(step, ())
        record.__class__ = TaskRecord
        whole: Any = _new(_StepDraft)
        whole.step = step
        whole.started = record.started
        whole.ended = record.ended
        whole.tasks = (record,)
        whole.gates = gates_at.pop(step, ())
        whole.__class__ = StepRecord
        steps.append(whole)
    if gates_at:  # START's gates: before the first step
        for step, alone in gates_at.items():
            moment = steps[0].started if steps else wall0
            steps.append(StepRecord(step, moment, moment, (), alone))
        steps.sort(key=lambda record: record.step)
    return tuple(steps)


def _by_step(made: Iterable[tuple[int, _Made]]) -> dict[int, tuple[_Made, ...]]:
    """What was made, grouped by step, in order."""
    grouped: dict[int, list[_Made]] = {}
    for step, one in made:
        grouped.setdefault(step, []).append(one)
    return {step: tuple(ones) for step, ones in grouped.items()}


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


def grown(keys: tuple[str, ...], writes: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """A state's keys ``keys`` once it merged ``writes``: the new ones after, in order."""
    new = [key for written in writes for key in written if key not in keys]
    return (*keys, *dict.fromkeys(new)) if new else keys


def keys_of(arg: object) -> tuple[str, ...]:
    """The keys of a ``Send``'s argument (none if it is not a mapping)."""
    return tuple(str(key) for key in arg) if isinstance(arg, Mapping) else ()
