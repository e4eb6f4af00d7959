"""PostgresCheckpointer: threads in PostgreSQL, shared by any number of workers.

Needs the extra ``orkes[postgres]`` (psycopg 3 and its pool). The tables are those of the
SQLite store; each ``put`` is one transaction, and two workers advancing one thread from
the same head collide on a unique ``(thread_id, seq)``: one commits, the other gets
``CheckpointConflict`` and wrote nothing — so stateless workers can share threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.persistence._rows import (
    checkpoint_of,
    doomed_positions,
    meta_of,
    value_texts,
    versions_of,
    write_of,
    write_text,
)
from orkes.persistence.base import Checkpoint, PendingWrite

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["PostgresCheckpointer"]

SCHEMA_VERSION = 1

_TABLES = (
    "CREATE TABLE IF NOT EXISTS orkes_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS orkes_checkpoints (
        thread_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, seq BIGINT NOT NULL,
        parent_id TEXT, step INTEGER NOT NULL, source TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, meta TEXT NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_id), UNIQUE (thread_id, seq))""",
    """CREATE TABLE IF NOT EXISTS orkes_values (
        thread_id TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (thread_id, version, key))""",
    """CREATE TABLE IF NOT EXISTS orkes_writes (
        thread_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL,
        kind TEXT NOT NULL, seq BIGINT NOT NULL, node TEXT NOT NULL, payload TEXT NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_id, task_id, kind))""",
)


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
    """A :class:`~orkes.persistence.base.Checkpointer` on PostgreSQL.

    Args:
        dsn: a libpq connection string (``"host=db user=app dbname=runs"``) or URL.
        max_connections: the size of the connection pool.

    Example:
        ``runner = GraphRunner(app, checkpointer=PostgresCheckpointer(os.environ["DB"]))``
    """

    def __init__(self, dsn: str, *, max_connections: int = 10) -> None:
        psycopg, psycopg_pool = _psycopg()
        self._errors = psycopg.errors
        try:
            self._pool = psycopg_pool.ConnectionPool(
                dsn, min_size=1, max_size=max_connections, open=True, timeout=30
            )
            self._migrate()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise CheckpointError(f"cannot reach the checkpoint database: {exc}") from exc

    def __repr__(self) -> str:
        return "PostgresCheckpointer(...)"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as connection, connection.transaction():
                yield connection
        except CheckpointError:
            raise
        except self._errors.UniqueViolation as exc:
            raise CheckpointConflict(
                f"another worker advanced the thread first; nothing was written ({exc})"
            ) from None
        except self._errors.Error as exc:
            raise CheckpointError(f"the checkpoint database failed: {exc}") from exc

    def _migrate(self) -> None:
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(7411)")  # one migrator at a time
            for statement in _TABLES:
                db.execute(statement)
            row = db.execute("SELECT version FROM orkes_schema").fetchone()
            if row is None:
                db.execute("INSERT INTO orkes_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise CheckpointError(
                    f"the checkpoint database has tables of version {row[0]}, newer than this "
                    f"orkes writes ({SCHEMA_VERSION}): upgrade orkes to read it"
                )

    def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Store ``checkpoint`` as its thread's head (see ``Checkpointer.put``)."""
        texts = value_texts(checkpoint)
        meta = meta_of(checkpoint)
        thread = checkpoint.thread_id
        with self._transaction() as db:
            row = db.execute(
                "SELECT checkpoint_id, seq FROM orkes_checkpoints WHERE thread_id = %s "
                "ORDER BY seq DESC LIMIT 1",
                (thread,),
            ).fetchone()
            head, seq = (row[0], row[1]) if row else (None, 0)
            if head != expected_head:
                raise CheckpointConflict(
                    f"thread {thread!r} moved on to checkpoint {head!r} while this run "
                    f"expected {expected_head!r}: another worker advanced it; nothing was "
                    "written (load the thread again to go on)"
                )
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO orkes_values (thread_id, key, version, value) VALUES "
                    "(%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(thread, key, checkpoint.checkpoint_id, text) for key, text in texts.items()],
                )
            db.execute(
                "INSERT INTO orkes_checkpoints (thread_id, checkpoint_id, seq, parent_id, step, "
                "source, created_at, meta) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (thread, checkpoint.checkpoint_id, seq + 1, checkpoint.parent_id,
                 checkpoint.step, checkpoint.source, checkpoint.created_at, meta),
            )  # fmt: skip

    def put_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """Keep one task's writes for the superstep after ``checkpoint_id``."""
        text = write_text(write, thread_id)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO orkes_writes (thread_id, checkpoint_id, task_id, kind, seq, node, "
                "payload) VALUES (%s, %s, %s, %s, (SELECT COALESCE(MAX(seq), 0) + 1 FROM "
                "orkes_writes WHERE thread_id = %s AND checkpoint_id = %s), %s, %s) "
                "ON CONFLICT (thread_id, checkpoint_id, task_id, kind) DO UPDATE SET "
                "seq = EXCLUDED.seq, node = EXCLUDED.node, payload = EXCLUDED.payload",
                (thread_id, checkpoint_id, write.task_id, write.kind, thread_id, checkpoint_id,
                 write.node, text),
            )  # fmt: skip

    def get(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
        query = (
            "SELECT checkpoint_id, parent_id, step, source, created_at, meta FROM "
            "orkes_checkpoints WHERE thread_id = %s "
        )
        with self._transaction() as db:
            if checkpoint_id is None:
                row = db.execute(query + "ORDER BY seq DESC LIMIT 1", (thread_id,)).fetchone()
            else:
                row = db.execute(
                    query + "AND checkpoint_id = %s", (thread_id, checkpoint_id)
                ).fetchone()
            return None if row is None else self._load(db, thread_id, row)

    def list(
        self, thread_id: str, *, limit: int | None = None, before: str | None = None
    ) -> Sequence[Checkpoint]:
        """The thread's checkpoints, newest first (see ``Checkpointer.list``)."""
        with self._transaction() as db:
            below = 2**62
            if before is not None:
                found = db.execute(
                    "SELECT seq FROM orkes_checkpoints WHERE thread_id = %s AND checkpoint_id = %s",
                    (thread_id, before),
                ).fetchone()
                below = found[0] if found else 0
            rows = db.execute(
                "SELECT checkpoint_id, parent_id, step, source, created_at, meta FROM "
                "orkes_checkpoints WHERE thread_id = %s AND seq < %s ORDER BY seq DESC "
                "LIMIT %s",
                (thread_id, below, limit),
            ).fetchall()
            return [self._load(db, thread_id, row) for row in rows]

    def get_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """The writes kept for the superstep after ``checkpoint_id``, in the order put."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT task_id, kind, node, payload FROM orkes_writes WHERE thread_id = %s "
                "AND checkpoint_id = %s ORDER BY seq",
                (thread_id, checkpoint_id),
            ).fetchall()
        return [write_of(*row) for row in rows]

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread: its checkpoints, values and kept writes."""
        with self._transaction() as db:
            for table in ("orkes_checkpoints", "orkes_values", "orkes_writes"):
                db.execute(f"DELETE FROM {table} WHERE thread_id = %s", (thread_id,))

    def prune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """Delete old checkpoints, never a head (see ``Checkpointer.prune``)."""
        deleted = 0
        with self._transaction() as db:
            threads = (
                [thread_id]
                if thread_id is not None
                else [r[0] for r in db.execute("SELECT DISTINCT thread_id FROM orkes_checkpoints")]
            )
            for thread in threads:
                rows = db.execute(
                    "SELECT checkpoint_id, created_at, meta FROM orkes_checkpoints "
                    "WHERE thread_id = %s ORDER BY seq",
                    (thread,),
                ).fetchall()
                doomed = doomed_positions([row[1] for row in rows], keep_last, older_than)
                if not doomed:
                    continue
                gone = [rows[number][0] for number in doomed]
                used = {
                    version
                    for number, row in enumerate(rows)
                    if number not in doomed
                    for version in versions_of(row[2]).items()
                }
                for table in ("orkes_checkpoints", "orkes_writes"):
                    db.execute(
                        f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_id = ANY(%s)",
                        (thread, gone),
                    )
                stored = db.execute(
                    "SELECT key, version FROM orkes_values WHERE thread_id = %s", (thread,)
                ).fetchall()
                with db.cursor() as cursor:
                    cursor.executemany(
                        "DELETE FROM orkes_values WHERE thread_id = %s AND key = %s AND "
                        "version = %s",
                        [(thread, k, v) for k, v in stored if (k, v) not in used],
                    )
                deleted += len(gone)
        return deleted

    def close(self) -> None:
        """Close the pool; the checkpointer can't be used after."""
        self._pool.close()

    async def aput(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """:meth:`put` on a worker thread."""
        await _in_thread(self.put, checkpoint, expected_head=expected_head)

    async def aget(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """:meth:`get` on a worker thread."""
        found: Checkpoint | None = await _in_thread(self.get, thread_id, checkpoint_id)
        return found

    async def alist(
        self, thread_id: str, *, limit: int | None = None, before: str | None = None
    ) -> Sequence[Checkpoint]:
        """:meth:`list` on a worker thread."""
        found: Sequence[Checkpoint] = await _in_thread(
            self.list, thread_id, limit=limit, before=before
        )
        return found

    async def aput_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """:meth:`put_writes` on a worker thread."""
        await _in_thread(self.put_writes, thread_id, checkpoint_id, write)

    async def aget_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """:meth:`get_writes` on a worker thread."""
        found: Sequence[PendingWrite] = await _in_thread(self.get_writes, thread_id, checkpoint_id)
        return found

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` on a worker thread."""
        await _in_thread(self.delete_thread, thread_id)

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` on a worker thread."""
        deleted: int = await _in_thread(
            self.prune, thread_id, keep_last=keep_last, older_than=older_than
        )
        return deleted

    def _load(self, db: Any, thread_id: str, row: Any) -> Checkpoint:
        checkpoint_id, parent_id, step, source, created_at, meta = row
        versions = versions_of(meta)
        values = {
            (str(key), str(version)): str(text)
            for key, version, text in db.execute(
                "SELECT key, version, value FROM orkes_values WHERE thread_id = %s AND "
                "version = ANY(%s)",
                (thread_id, sorted(set(versions.values()))),
            ).fetchall()
        }
        return checkpoint_of(
            thread_id, checkpoint_id, parent_id, step, source, created_at, meta, values
        )


async def _in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)
