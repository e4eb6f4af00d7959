"""The runner's small helpers: running a loop to its end, nesting, checking arguments.

``exhaust`` is ``run()``'s loop with nobody listening (inside a listened-to node, it
forwards to that node's listener); ``drained`` and ``adrained`` run a listened-to loop
to its end (a durable run's, a traced run's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.errors import GraphDefinitionError
from orkes.graph._listen import Listener
from orkes.graph._loops import drive

if TYPE_CHECKING:
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Run
    from orkes.graph.results import RunResult
    from orkes.tracing import Tracer

__all__ = [
    "adrained",
    "checked_concurrency",
    "checked_positive",
    "checked_tracer",
    "drained",
    "exhaust",
    "final_state",
    "is_checkpointer",
    "nested",
    "result_of",
]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


def final_state(result: RunResult[StateT]) -> StateT:
    """``run``'s answer from a durable run's result (raises ``RunInterrupted`` if paused)."""
    from orkes.graph.results import final_state as of_result

    return of_result(result)


def is_checkpointer(value: object) -> bool:
    """Whether ``value`` is a ``Checkpointer`` (persistence loads only when one is given).

    A class is not one, though it has every method the Protocol asks for.
    """
    from orkes.persistence.base import Checkpointer

    return not isinstance(value, type) and isinstance(value, Checkpointer)


def checked_tracer(value: object) -> Tracer:
    """``value`` if it is a ``Tracer``; else a ``GraphDefinitionError`` saying what is."""
    from orkes.tracing import Tracer

    if not isinstance(value, Tracer):
        raise GraphDefinitionError(
            f"tracer= takes an orkes.tracing.Tracer (Tracer(), or Tracer(directory='traces')), "
            f"got {value!r}"
        )
    return value


def drained(run: Run, listener: Listener, first: tuple[Task, ...] | None) -> None:
    """Run a listened-to run to its end, its events unread."""
    for _ in drive(run, listener, run.max_concurrency, first):
        pass


async def adrained(run: Run, listener: Listener, first: tuple[Task, ...] | None) -> None:
    """:func:`drained` on the event loop."""
    from orkes.graph._loops import adrive

    async for _ in adrive(run, listener, run.max_concurrency, first):
        pass


def exhaust(run: Run, limit: int | None, graph: str | None) -> dict[str, Any]:
    """``run()``'s loop: to the end, nobody listening unless the run is nested in a node."""
    for _ in drive(run, nested(run, graph), limit):
        pass
    return run.state


def nested(run: Run, graph: str | None = None) -> Listener | None:
    """Inside a node of a listened-to run, a listener that forwards to it; else ``None``."""
    listener = Listener.of_parent(graph)
    if listener is not None:
        run.listen()
        run.path = listener.path
    return listener


def result_of(run: Run, listener: Listener) -> RunResult[Any]:
    """How a durable run ended: its state, whether done, its thread and checkpoint."""
    from orkes.graph.results import RunResult

    saver = listener.saver
    assert saver is not None
    return RunResult(
        run.state, not run.paused, saver.thread_id, saver.head_id, interrupts=run.paused
    )


def checked_positive(name: str, value: object) -> int:
    """``value`` if it is a positive int; else a ``GraphDefinitionError`` naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GraphDefinitionError(f"{name} must be a positive int, got {value!r}")
    return value


def checked_concurrency(value: int | None) -> int | None:
    """A ``max_concurrency``: ``None`` (no limit) or a positive int."""
    return None if value is None else checked_positive("max_concurrency", value)
