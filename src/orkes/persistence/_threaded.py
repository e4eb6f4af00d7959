"""The ``a``-methods of a store whose work is local and quick: each on a worker thread.

SQLite answers in microseconds but blocks while it does, and may wait for another
process's lock: its async face runs each sync method on a worker thread, so the event
loop never waits. (PostgreSQL speaks to its server asynchronously instead.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import timedelta

    from orkes.persistence.base import Checkpoint, PendingWrite

__all__ = ["AsyncOnThreads"]


class AsyncOnThreads:
    """Mixin: ``aput`` … ``aprune`` run ``put`` … ``prune`` on a worker thread."""

    __slots__ = ()

    async def aput(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """:meth:`put` on a worker thread."""
        await asyncio.to_thread(self._sync("put"), checkpoint, expected_head=expected_head)

    async def aget(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """:meth:`get` on a worker thread."""
        found: Checkpoint | None = await asyncio.to_thread(
            self._sync("get"), thread_id, checkpoint_id
        )
        return found

    async def alist(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """:meth:`list` on a worker thread."""
        found: Sequence[Checkpoint] = await asyncio.to_thread(
            self._sync("list"), thread_id, limit=limit, before=before, filter=filter
        )
        return found

    async def aput_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """:meth:`put_writes` on a worker thread."""
        await asyncio.to_thread(self._sync("put_writes"), thread_id, checkpoint_id, write)

    async def aget_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """:meth:`get_writes` on a worker thread."""
        found: Sequence[PendingWrite] = await asyncio.to_thread(
            self._sync("get_writes"), thread_id, checkpoint_id
        )
        return found

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` on a worker thread."""
        await asyncio.to_thread(self._sync("delete_thread"), thread_id)

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` on a worker thread."""
        deleted: int = await asyncio.to_thread(
            self._sync("prune"), thread_id, keep_last=keep_last, older_than=older_than
        )
        return deleted

    def _sync(self, name: str) -> Any:
        return getattr(self, name)
