"""PostgresCheckpointer: threads in PostgreSQL, shared by any number of workers.

Needs the extra ``orkes[postgres]`` (psycopg 3 and its pool). The tables are those of the
SQLite store. A superstep's checkpoint is one statement, so one round trip: it goes in
only if the thread's head is still the one its run started from, and two workers
advancing one thread from the same head collide on a unique ``(thread_id, seq)`` — one
commits, the other gets ``CheckpointConflict`` having written nothing. So stateless
workers can share threads. The ``a``-methods speak to the database asynchronously, on
connections any event loop may borrow (:mod:`orkes.persistence._pg_pool`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.persistence import _pg_ops as ops
from orkes.persistence._pg_pool import AsyncPool, PoolClosed, hung_up
from orkes.persistence.base import checked_prune

if TYPE_CHECKING:
    from datetime import timedelta

    from orkes.persistence.base import Checkpoint, PendingWrite

__all__ = ["PostgresCheckpointer"]

SCHEMA_VERSION = ops.SCHEMA_VERSION

T = TypeVar("T")

_CLOSED = "this PostgresCheckpointer is closed: make a new one"


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:  # pragma: no cover - the test extra installs them
        raise CheckpointError(
            'PostgresCheckpointer needs psycopg 3 and its pool: pip install "orkes[postgres]"'
        ) from exc
    return psycopg, psycopg_pool


class PostgresCheckpointer:
    """A :class:`~orkes.persistence.base.Checkpointer` on PostgreSQL, sync and async.

    Args:
        dsn: a libpq connection string (``"host=db user=app dbname=runs"``) or URL;
            kept as ``.dsn``.
        max_connections: the size of the connection pool (for async code: per event
            loop).

    Example:
        ``runner = GraphRunner(app, checkpointer=PostgresCheckpointer(os.environ["DB"]))``
    """

    def __init__(self, dsn: str, *, max_connections: int = 10) -> None:
        psycopg, psycopg_pool = _psycopg()
        self.dsn = dsn
        self._errors = psycopg.errors
        self._timeout = psycopg_pool.PoolTimeout
        self._pool_closed = (psycopg_pool.PoolClosed, PoolClosed)
        self._closed = False
        try:
            # One connection first, on its own: a database that can't be reached says why
            # at once (the pool would retry for its whole timeout, then say only that).
            psycopg.connect(dsn, autocommit=True, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise CheckpointError(f"cannot reach the checkpoint database: {exc}") from None
        try:
            self._pool = psycopg_pool.ConnectionPool(
                dsn,
                min_size=1,
                max_size=max_connections,
                open=True,
                timeout=30,
                kwargs={"autocommit": True},
            )
        except psycopg.Error as exc:
            raise CheckpointError(f"cannot reach the checkpoint database: {exc}") from exc
        try:
            self._run(ops.migrate(), transaction=True)
        except BaseException:
            self._pool.close()  # else its threads would go on trying to connect
            raise
        self._apool = AsyncPool(
            lambda: psycopg.AsyncConnection.connect(dsn, autocommit=True), max_connections
        )

    def __repr__(self) -> str:
        return "PostgresCheckpointer(...)"  # never the DSN: it may hold a password

    # --- sync ------------------------------------------------------------------------------

    def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Store ``checkpoint`` as its thread's head (see ``Checkpointer.put``)."""
        self._run(ops.put(checkpoint, expected_head))

    def put_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """Keep one task's writes for the superstep after ``checkpoint_id``."""
        self._run(ops.put_writes(thread_id, checkpoint_id, write))

    def get(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
        return self._run(ops.get(thread_id, checkpoint_id), transaction=True)

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """The thread's checkpoints, newest first (see ``Checkpointer.list``)."""
        return self._run(ops.list_(thread_id, limit, before, filter), transaction=True)

    def get_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """The writes kept for the superstep after ``checkpoint_id``, in the order put."""
        return self._run(ops.get_writes(thread_id, checkpoint_id))

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread: its checkpoints, values and kept writes."""
        self._run(ops.delete_thread(thread_id), transaction=True)

    def prune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """Delete old checkpoints, never a head (see ``Checkpointer.prune``)."""
        checked_prune(keep_last, older_than)
        return self._run(ops.prune(thread_id, keep_last, older_than), transaction=True)

    def close(self) -> None:
        """Close the connections; the checkpointer can't be used after."""
        self._closed = True
        self._pool.close()
        self._apool.close()

    async def aclose(self) -> None:
        """:meth:`close` for async code (the sync pool's threads are stopped off the loop)."""
        self._closed = True
        await self._apool.aclose()
        await asyncio.to_thread(self._pool.close)

    # --- async -----------------------------------------------------------------------------

    async def aput(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """:meth:`put` for async code."""
        await self._arun(ops.put(checkpoint, expected_head))

    async def aget(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """:meth:`get` for async code."""
        return await self._arun(ops.get(thread_id, checkpoint_id), transaction=True)

    async def alist(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[Checkpoint]:
        """:meth:`list` for async code."""
        return await self._arun(ops.list_(thread_id, limit, before, filter), transaction=True)

    async def aput_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """:meth:`put_writes` for async code."""
        await self._arun(ops.put_writes(thread_id, checkpoint_id, write))

    async def aget_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """:meth:`get_writes` for async code."""
        return await self._arun(ops.get_writes(thread_id, checkpoint_id))

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` for async code."""
        await self._arun(ops.delete_thread(thread_id), transaction=True)

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` for async code."""
        checked_prune(keep_last, older_than)
        return await self._arun(ops.prune(thread_id, keep_last, older_than), transaction=True)

    # --- the two drivers -------------------------------------------------------------------

    def _run(self, op: ops.Op[T], *, transaction: bool = False) -> T:
        """Run ``op`` on a pooled connection (in one transaction, if asked)."""
        with self._failures(op), self._connection() as db:
            block = db.transaction() if transaction else contextlib.nullcontext()
            with block:
                try:
                    query = next(op)
                    while True:
                        cursor = db.execute(query.sql, query.params)
                        query = op.send(_rows(cursor, query.fetch))
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """A pooled connection the server has not hung up (those are closed, not lent)."""
        for _ in range(self._pool.max_size):
            with self._pool.connection() as db:
                if not hung_up(db):
                    yield db
                    return
                db.close()  # the pool replaces it
        with self._pool.connection() as db:
            yield db

    async def _arun(self, op: ops.Op[T], *, transaction: bool = False) -> T:
        """:meth:`_run` on an async connection."""
        with self._failures(op):
            async with self._apool.connection() as db:
                block = db.transaction() if transaction else contextlib.nullcontext()
                async with block:
                    try:
                        query = next(op)
                        while True:
                            cursor = await db.execute(query.sql, query.params)
                            query = op.send(await _arows(cursor, query.fetch))
                    except StopIteration as done:
                        return done.value  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _failures(self, op: ops.Op[Any]) -> Iterator[None]:
        """The database's errors as ``CheckpointError`` (a lost race: ``CheckpointConflict``)."""
        if self._closed:
            op.close()
            raise CheckpointError(_CLOSED)
        try:
            yield
        except CheckpointError:
            raise
        except self._pool_closed:  # closed by another thread while this call waited
            raise CheckpointError(_CLOSED) from None
        except self._errors.UniqueViolation as exc:
            raise CheckpointConflict(
                f"another worker advanced the thread first; nothing was written ({exc})"
            ) from None
        except self._timeout as exc:
            raise CheckpointError(f"cannot reach the checkpoint database: {exc}") from exc
        except (self._errors.Error, OSError) as exc:
            raise CheckpointError(f"the checkpoint database failed: {exc}") from exc
        finally:
            op.close()


def _rows(cursor: Any, fetch: str) -> Any:
    if fetch == "one":
        return cursor.fetchone()
    return cursor.fetchall() if fetch == "all" else None


async def _arows(cursor: Any, fetch: str) -> Any:
    if fetch == "one":
        return await cursor.fetchone()
    return await cursor.fetchall() if fetch == "all" else None
