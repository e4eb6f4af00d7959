"""What a durable run stores, and the Protocol every storage back-end implements.

A *thread* is a conversation or a long job: a line of checkpoints, one per
superstep boundary, each pointing at its parent. The newest one a thread was advanced to
is its *head*; a run resumes from the head, a fork from an older checkpoint (its later
checkpoints stay readable). While a superstep runs, each task that finishes has its
writes saved at once (:meth:`Checkpointer.put_writes`), keyed by the checkpoint the step
started from: a crash never loses (nor re-runs) a finished node.

Storage grows with what changes: a checkpoint names, for every key of the state, the
*version* holding its value (the id of the checkpoint that wrote it); a back-end stores a
key's value once per version, so a value carried unchanged through a hundred steps is
stored once.

Everything a checkpoint holds is plain data (``str``, numbers, lists, dicts, and what
:mod:`orkes.persistence.serde` can store): back-ends serialize with that serializer only.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = [
    "Checkpoint",
    "Checkpointer",
    "PendingWrite",
    "answered_twice",
    "checked_prune",
    "new_checkpoint_id",
]


def checked_prune(keep_last: object, older_than: object) -> None:
    """Refuse what ``prune(keep_last=..., older_than=...)`` can't mean.

    Raises:
        CheckpointError: ``keep_last`` is not an int of at least 0, or ``older_than`` is
            not a ``datetime.timedelta`` (``None`` is fine for either).
    """
    from datetime import timedelta

    from orkes.errors import CheckpointError

    if keep_last is not None and (
        not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 0
    ):
        raise CheckpointError(
            f"prune(keep_last={keep_last!r}): give how many of each thread's newest "
            "checkpoints to keep, an int of at least 0 (a thread's newest is always kept)"
        )
    if older_than is not None and not isinstance(older_than, timedelta):
        raise CheckpointError(
            f"prune(older_than={older_than!r}): give a datetime.timedelta, such as "
            "timedelta(days=30)"
        )


def new_checkpoint_id(now_ns: int | None = None) -> str:
    """A new checkpoint id: 32 hex digits, time first, so ids made later sort later.

    The time in nanoseconds (``now_ns``, or now), then this process's random number,
    then a count: unique across processes and threads, without asking the OS for
    randomness each time.
    """
    if now_ns is None:
        now_ns = time.time_ns()
    return format(now_ns << 64 | (next(_count) & _LOW_64), "032x")


_LOW_64 = (1 << 64) - 1


def _new_count() -> None:
    """Start this process's count at its own random number (high 32 of the low 64 bits)."""
    global _count
    _count = itertools.count(int.from_bytes(os.urandom(4), "big") << 32)


_count = itertools.count()
_new_count()
if hasattr(os, "register_at_fork"):  # a forked child draws its own number
    os.register_at_fork(after_in_child=_new_count)


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """What one task wrote inside a superstep that has not completed yet.

    Attributes:
        task_id: the task's id (stable: ``node:index`` within the step; see
            ``Task.task_id``).
        node: the node that ran.
        writes: the keys it wrote (before reducers), or ``{}``.
        kind: ``"writes"`` for a finished task of a step of several (a step of one
            task keeps its writes in its checkpoint); ``"once:<name>"`` for a result
            ``ctx.once`` recorded (``{"value": ...}``); ``"interrupt:<id>"`` for a pause
            (``{"id": ..., "payload": ...}``); ``"answer:<id>"`` for the answer
            ``resume`` gave it (``{"value": ...}``).
        routes: where the task's ``Command`` or ``Send`` list led, besides its node's
            edges: node names, and ``{"send": node, "arg": arg}`` for each ``Send``.
    """

    task_id: str
    node: str
    writes: Mapping[str, Any]
    kind: str = "writes"
    routes: tuple[Any, ...] = ()


@dataclass(slots=True)
class Checkpoint:
    """One superstep boundary of a thread: the state, and what the run must remember.

    A record nobody changes once made (not ``frozen``, only because a frozen
    dataclass takes three times as long to make, and a durable run makes one per step).

    Attributes:
        thread_id: the thread it belongs to.
        checkpoint_id: its id (see :func:`~orkes.persistence.base.new_checkpoint_id`).
        parent_id: the checkpoint it follows (``None`` for a thread's first).
        step: the supersteps run so far (0 before the first).
        source: why it was written: ``"input"`` (a run's input merged), ``"loop"`` (a
            superstep ended), ``"update"`` (``update_state``), ``"fork"``.
        writers: the nodes whose writes made it, in merge order.
        state: the whole state at this boundary.
        versions: key -> the id of the checkpoint whose write holds the key's value
            (this checkpoint's own id for the keys written here).
        schema_keys: the keys of the state schema of the graph that wrote it.
        memory: the run's memory: its step, pass counts, joins, deferred tasks (only the
            parts that hold something).
        next_tasks: the tasks due in the next superstep, as ``{"node": name, "index":
            i}`` (and ``"arg"`` for a ``Send``'s task).
        created_at: seconds since the epoch.
        metadata: anything else worth keeping (``{"upgraded_from": [...]}``, …).
    """

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    writers: tuple[str, ...]
    state: Mapping[str, Any]
    versions: Mapping[str, str]
    schema_keys: tuple[str, ...]
    memory: Mapping[str, Any] = field(default_factory=dict)
    next_tasks: tuple[Mapping[str, Any], ...] = ()
    created_at: float = field(default_factory=time.time)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def written_here(self) -> dict[str, Any]:
        """The keys whose value this checkpoint wrote (the values a back-end stores anew)."""
        own = self.checkpoint_id
        return {key: value for key, value in self.state.items() if self.versions.get(key) == own}


@runtime_checkable
class Checkpointer(Protocol):
    """Where threads are kept: a memory, SQLite or PostgreSQL back-end, or your own.

    Every method has an ``a``-twin for async code, with the same contract. Every method
    may raise ``CheckpointError`` (stored data that can't be read, a closed store);
    ``put`` may also raise ``CheckpointConflict`` and ``SerializationError``.
    """

    def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Store ``checkpoint`` and make it its thread's head, in one transaction.

        ``expected_head`` is the head the writer started from (``None``: the thread must
        have no checkpoint yet). If the thread's head is another by now, nothing is
        written and ``CheckpointConflict`` is raised: another worker advanced it.
        """
        ...

    def get(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
        ...

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """The thread's checkpoints, newest first; at most ``limit``, older than ``before``.

        ``filter``: only those whose fields equal these, among ``"source"`` and
        ``"step"`` (``{"source": "input"}``: where runs began); another key is a
        ``CheckpointError``.
        """
        ...

    def put_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """Keep what one task of the superstep after ``checkpoint_id`` wrote (at once).

        Writing the same ``(task_id, kind)`` again replaces the earlier write, except an
        answer (``kind`` ``"answer:<id>"``), which is written once: a second one raises
        :class:`~orkes.errors.CheckpointConflict` (another worker answered first), so the
        answer kept is the one the proceeding run was given.
        """
        ...

    def get_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """The pending writes kept for the superstep after ``checkpoint_id``, in the order put."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread: its checkpoints, values and pending writes."""
        ...

    def prune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """Delete old checkpoints (of one thread, or all); never a thread's head.

        ``keep_last``: keep the newest N of each thread; ``older_than``: delete those
        created longer ago. Values no kept checkpoint refers to go too. Returns how many
        checkpoints were deleted.
        """
        ...

    def close(self) -> None:
        """Release connections; the checkpointer can't be used after."""
        ...

    async def aput(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """:meth:`put` for async code."""
        ...

    async def aget(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """:meth:`get` for async code."""
        ...

    async def alist(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """:meth:`list` for async code."""
        ...

    async def aput_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """:meth:`put_writes` for async code."""
        ...

    async def aget_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """:meth:`get_writes` for async code."""
        ...

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` for async code."""
        ...

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` for async code."""
        ...


def answered_twice(thread_id: str, write: PendingWrite) -> str:
    """The message of the conflict when a resume's answer finds one already kept."""
    answered = write.kind.removeprefix("answer:")
    return (
        f"another worker advanced the thread first: {answered!r} of thread {thread_id!r} "
        "was already answered; nothing was written"
    )
