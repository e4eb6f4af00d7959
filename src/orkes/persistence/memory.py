"""MemoryCheckpointer: threads kept in this process, for tests and notebooks.

Values go through the same serializer as on disk, so what a file could not keep fails
here too, and what is read back is a copy. Two kinds of data skip the text, for speed:
values that can't change (``str``, ``int``, ``float``, ``bool``, ``None``) are kept as
they are, and so is a checkpoint's own bookkeeping when it holds nothing a user gave
(ids, names, counts: see ``only_run_data``); a read hands out copies of it.
"""

from __future__ import annotations

import marshal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from orkes.errors import CheckpointConflict
from orkes.persistence._rows import (
    checked_filter,
    checked_limit,
    checkpoint_of,
    doomed_positions,
    meta_of,
    only_run_data,
    value_texts,
    write_of,
    write_text,
)
from orkes.persistence.base import Checkpoint, PendingWrite, answered_twice, checked_prune
from orkes.persistence.serde import loads

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["MemoryCheckpointer"]

_UNCHANGING = frozenset({str, int, float, bool, type(None)})
"""Exact types whose values are kept as they are: nobody can change them after."""


class _Row(NamedTuple):
    checkpoint: Checkpoint  # as put (its state is read back from ``_Thread.values``)
    meta: str | None  # meta_of's text where the checkpoint holds what a user gave


@dataclass
class _Thread:
    rows: list[_Row] = field(default_factory=list)  # oldest first
    # (key, version) -> (True, the value's text) or (False, the unchanging value itself)
    values: dict[tuple[str, str], tuple[bool, Any]] = field(default_factory=dict)
    writes: dict[str, dict[tuple[str, str], tuple[str, str]]] = field(default_factory=dict)


class MemoryCheckpointer:
    """A :class:`~orkes.persistence.base.Checkpointer` in memory; safe from many threads.

    Example:
        >>> from orkes.persistence import MemoryCheckpointer
        >>> store = MemoryCheckpointer()
        >>> store.get("no such thread") is None
        True
    """

    def __init__(self) -> None:
        self._threads: dict[str, _Thread] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryCheckpointer({len(self._threads)} threads)"

    def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Store ``checkpoint`` as its thread's head (see ``Checkpointer.put``)."""
        own = checkpoint.checkpoint_id
        state = checkpoint.state
        values: list[tuple[tuple[str, str], tuple[bool, Any]]] = []
        other: dict[str, Any] = {}
        for key, version in checkpoint.versions.items():
            if version == own:
                value = state[key]
                if type(value) in _UNCHANGING:
                    values.append(((key, own), (False, value)))
                else:
                    other[key] = value
        if other:
            for key, text in value_texts(checkpoint, other).items():
                values.append(((key, own), (True, text)))
        row = _Row(checkpoint, None if only_run_data(checkpoint) else meta_of(checkpoint))
        with self._lock:
            thread = self._threads.get(checkpoint.thread_id) or self._new_thread(
                checkpoint.thread_id
            )
            head = thread.rows[-1].checkpoint.checkpoint_id if thread.rows else None
            if head != expected_head:
                raise CheckpointConflict(
                    f"thread {checkpoint.thread_id!r} moved on to checkpoint {head!r} while this "
                    f"run expected {expected_head!r}: another worker advanced it; nothing was "
                    "written (load the thread again to go on)"
                )
            thread.values.update(values)
            thread.rows.append(row)

    def get(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
        with self._lock:
            thread = self._threads.get(thread_id)
            if thread is None or not thread.rows:
                return None
            if checkpoint_id is None:
                return self._load(thread_id, thread, thread.rows[-1])
            for row in thread.rows:
                if row.checkpoint.checkpoint_id == checkpoint_id:
                    return self._load(thread_id, thread, row)
            return None

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """The thread's checkpoints, newest first (see ``Checkpointer.list``)."""
        wanted = checked_filter(filter)
        checked_limit(limit)
        with self._lock:
            thread = self._threads.get(thread_id)
            if thread is None:
                return []
            rows = list(reversed(thread.rows))
            if before is not None:
                ids = [row.checkpoint.checkpoint_id for row in rows]
                rows = rows[ids.index(before) + 1 :] if before in ids else []
            rows = [
                row
                for row in rows
                if all(getattr(row.checkpoint, key) == value for key, value in wanted.items())
            ]
            if limit is not None:
                rows = rows[:limit]
            return [self._load(thread_id, thread, row) for row in rows]

    def put_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """Keep one task's writes for the superstep after ``checkpoint_id``."""
        text = write_text(write, thread_id)
        with self._lock:
            thread = self._threads.get(thread_id) or self._new_thread(thread_id)
            kept = thread.writes.setdefault(checkpoint_id, {})
            if write.kind.startswith("answer:") and (write.task_id, write.kind) in kept:
                raise CheckpointConflict(answered_twice(thread_id, write))
            kept.pop((write.task_id, write.kind), None)  # replaced: it goes last
            kept[(write.task_id, write.kind)] = (write.node, text)

    def get_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """The writes kept for the superstep after ``checkpoint_id``, in the order put."""
        with self._lock:
            thread = self._threads.get(thread_id)
            kept = thread.writes.get(checkpoint_id, {}) if thread else {}
            return [
                write_of(task_id, kind, node, text)
                for (task_id, kind), (node, text) in kept.items()
            ]

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread."""
        with self._lock:
            self._threads.pop(thread_id, None)

    def prune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """Delete old checkpoints, never a head (see ``Checkpointer.prune``)."""
        checked_prune(keep_last, older_than)
        deleted = 0
        with self._lock:
            names = [thread_id] if thread_id is not None else list(self._threads)
            for name in names:
                thread = self._threads.get(name)
                if thread is None or not thread.rows:
                    continue
                doomed = doomed_positions(
                    [row.checkpoint.created_at for row in thread.rows], keep_last, older_than
                )
                kept = [row for number, row in enumerate(thread.rows) if number not in doomed]
                gone = {row.checkpoint.checkpoint_id for row in thread.rows} - {
                    row.checkpoint.checkpoint_id for row in kept
                }
                thread.rows = kept
                used = {
                    (key, version)
                    for row in kept
                    for key, version in row.checkpoint.versions.items()
                }
                thread.values = {k: v for k, v in thread.values.items() if k in used}
                for checkpoint_id in gone:
                    thread.writes.pop(checkpoint_id, None)
                deleted += len(gone)
        return deleted

    def close(self) -> None:
        """Nothing to release."""

    async def aput(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """:meth:`put` for async code."""
        self.put(checkpoint, expected_head=expected_head)

    async def aget(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """:meth:`get` for async code."""
        return self.get(thread_id, checkpoint_id)

    async def alist(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """:meth:`list` for async code."""
        return self.list(thread_id, limit=limit, before=before, filter=filter)

    async def aput_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """:meth:`put_writes` for async code."""
        self.put_writes(thread_id, checkpoint_id, write)

    async def aget_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """:meth:`get_writes` for async code."""
        return self.get_writes(thread_id, checkpoint_id)

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` for async code."""
        self.delete_thread(thread_id)

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` for async code."""
        return self.prune(thread_id, keep_last=keep_last, older_than=older_than)

    def _new_thread(self, thread_id: str) -> _Thread:
        thread = self._threads[thread_id] = _Thread()
        return thread

    @staticmethod
    def _load(thread_id: str, thread: _Thread, row: _Row) -> Checkpoint:
        stored = row.checkpoint
        if row.meta is None:  # run data only: copied, so a reader can't change the stored
            meta: str | dict[str, Any] = {
                "versions": dict(stored.versions),
                "writers": list(stored.writers),
                "schema_keys": list(stored.schema_keys),
                "memory": marshal.loads(marshal.dumps(dict(stored.memory))),
                "next_tasks": [dict(task) for task in stored.next_tasks],
            }
        else:
            meta = row.meta
        return checkpoint_of(
            thread_id,
            stored.checkpoint_id,
            stored.parent_id,
            stored.step,
            stored.source,
            stored.created_at,
            meta,
            thread.values,
            _read,
        )


def _read(stored: tuple[bool, Any]) -> Any:
    is_text, value = stored
    return loads(value) if is_text else value
