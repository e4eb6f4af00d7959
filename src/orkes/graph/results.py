"""RunResult: how a run of a thread ended — its state, and whether it is done.

``runner.invoke(state, thread_id=...)`` returns one; ``runner.run`` returns only the
state, which it can promise only when the run reached END.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, GraphRunner, OrkesGraph
    >>> from orkes.persistence import MemoryCheckpointer
    >>> class Chat(TypedDict):
    ...     turns: int
    >>> graph = OrkesGraph(Chat).add_node("turn", lambda s: {"turns": s["turns"] + 1})
    >>> app = graph.add_edge(START, "turn").add_edge("turn", END).compile()
    >>> runner = GraphRunner(app, checkpointer=MemoryCheckpointer())
    >>> result = runner.invoke({"turns": 0}, thread_id="t1")
    >>> result.state, result.done, result.thread_id
    ({'turns': 1}, True, 't1')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from orkes.events import Interrupt

__all__ = ["RunResult", "Snapshot", "final_state"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class RunResult(Generic[StateT]):
    """How a run ended.

    Attributes:
        state: the state it ended with (the final state when ``done``).
        done: whether it reached END; ``False`` when it paused with tasks still due.
        thread_id: its thread, if it had one.
        checkpoint_id: the thread's checkpoint it ended at, if it had a thread.
        interrupts: the pauses waiting for an answer (empty when ``done``).
    """

    state: StateT
    done: bool
    thread_id: str | None = None
    checkpoint_id: str | None = None
    interrupts: tuple[Interrupt, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[StateT]):
    """A thread at one checkpoint, as ``runner.get_state`` and ``runner.history`` give it.

    Attributes:
        state: the state at that superstep boundary.
        checkpoint_id: the checkpoint's id (give it to ``invoke(None, ...,
            checkpoint_id=...)`` to go on from there: a fork).
        parent_id: the checkpoint before it (``None`` for the thread's first).
        step: the supersteps its run had taken.
        source: ``"input"``, ``"loop"``, ``"update"`` or ``"fork"``.
        writers: the nodes whose writes made it.
        next: the nodes due next (empty once the run reached END).
        interrupts: the pauses waiting there.
        created_at: when it was written (seconds since the epoch).
    """

    state: StateT
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    writers: tuple[str, ...]
    next: tuple[str, ...]
    interrupts: tuple[Interrupt, ...]
    created_at: float


def final_state(result: RunResult[StateT]) -> StateT:
    """``run``'s answer: the final state, which a paused run does not have.

    Raises:
        RunInterrupted: the run paused for an answer (``result`` rides along).
    """
    if result.done:
        return result.state
    from orkes.errors import RunInterrupted

    asked = ", ".join(f"{pause.id!r} (node {pause.node!r})" for pause in result.interrupts)
    raise RunInterrupted(
        f"the run of thread {result.thread_id!r} paused for an answer at {asked}: "
        f"go on with runner.resume({result.thread_id!r}, answer); runner.invoke(...) "
        "returns such a pause as a RunResult instead of raising",
        result=result,
    )
