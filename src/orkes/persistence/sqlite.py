"""SqliteCheckpointer: threads in one SQLite file (the standard library's ``sqlite3``).

The embedded default: no server, WAL journal, one transaction per ``put``. Safe from many
threads (one connection behind a lock) and from many processes on one file: a ``put``
takes the write lock first (``BEGIN IMMEDIATE``), so checking the thread's head and
writing the new one are one step, and two workers advancing one thread cannot both win.
Each key's value is stored once per version. Every statement takes parameters.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.persistence._rows import (
    checked_filter,
    checked_limit,
    checkpoint_of,
    doomed_positions,
    meta_of,
    value_texts,
    versions_of,
    write_of,
    write_text,
)
from orkes.persistence._threaded import AsyncOnThreads
from orkes.persistence.base import Checkpoint, PendingWrite, answered_twice, checked_prune

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["SCHEMA_VERSION", "SqliteCheckpointer"]

SCHEMA_VERSION = 1
"""The version of the tables this release writes; older files are migrated on open."""

_TABLES = (
    "CREATE TABLE IF NOT EXISTS orkes_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS orkes_checkpoints (
        thread_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, seq INTEGER NOT NULL,
        parent_id TEXT, step INTEGER NOT NULL, source TEXT NOT NULL,
        created_at REAL NOT NULL, meta TEXT NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_id))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS orkes_checkpoints_seq ON orkes_checkpoints (thread_id, seq)",
    """CREATE TABLE IF NOT EXISTS orkes_values (
        thread_id TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (thread_id, version, key))""",
    """CREATE TABLE IF NOT EXISTS orkes_writes (
        thread_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL,
        kind TEXT NOT NULL, seq INTEGER NOT NULL, node TEXT NOT NULL, payload TEXT NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_id, task_id, kind))""",
)

_MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""version -> the statements that bring a file from that version to the next."""


class SqliteCheckpointer(AsyncOnThreads):
    """A :class:`~orkes.persistence.base.Checkpointer` on one SQLite file.

    Args:
        path: the file (made if missing), or ``":memory:"`` for a store in this process.
        timeout: seconds to wait for another process's write lock.

    Example:
        >>> from orkes.persistence import SqliteCheckpointer
        >>> store = SqliteCheckpointer(":memory:")
        >>> store.get("t") is None
        True
        >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise CheckpointError(
                f"SqliteCheckpointer takes the database file's path (a str or a "
                f"pathlib.Path, or ':memory:'), got {path!r}"
            )
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise CheckpointError(f"cannot open the checkpoint file {self.path!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteCheckpointer({self.path!r})"

    # --- writing ---------------------------------------------------------------------------

    def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Store ``checkpoint`` as its thread's head (see ``Checkpointer.put``)."""
        texts = value_texts(checkpoint)  # refused values fail here, before any writing
        meta = meta_of(checkpoint)
        thread = checkpoint.thread_id
        with self._transaction() as db:
            row = db.execute(
                "SELECT checkpoint_id, seq FROM orkes_checkpoints WHERE thread_id = ? "
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
            db.executemany(
                "INSERT OR REPLACE INTO orkes_values (thread_id, key, version, value) "
                "VALUES (?, ?, ?, ?)",
                [(thread, key, checkpoint.checkpoint_id, text) for key, text in texts.items()],
            )
            db.execute(
                "INSERT INTO orkes_checkpoints (thread_id, checkpoint_id, seq, parent_id, step, "
                "source, created_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    thread,
                    checkpoint.checkpoint_id,
                    seq + 1,
                    checkpoint.parent_id,
                    checkpoint.step,
                    checkpoint.source,
                    checkpoint.created_at,
                    meta,
                ),
            )

    def put_writes(self, thread_id: str, checkpoint_id: str, write: PendingWrite) -> None:
        """Keep one task's writes for the superstep after ``checkpoint_id``."""
        text = write_text(write, thread_id)
        with self._transaction() as db:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM orkes_writes WHERE thread_id = ? "
                "AND checkpoint_id = ?",
                (thread_id, checkpoint_id),
            ).fetchone()
            once = write.kind.startswith("answer:")  # an answer is never replaced
            inserted = db.execute(
                f"INSERT OR {'IGNORE' if once else 'REPLACE'} INTO orkes_writes (thread_id, "
                "checkpoint_id, task_id, kind, seq, node, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (thread_id, checkpoint_id, write.task_id, write.kind, seq + 1, write.node, text),
            ).rowcount
            if not inserted:
                raise CheckpointConflict(answered_twice(thread_id, write))

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread: its checkpoints, values and kept writes."""
        with self._transaction() as db:
            for table in ("orkes_checkpoints", "orkes_values", "orkes_writes"):
                db.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))

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
        with self._transaction() as db:
            threads = (
                [thread_id]
                if thread_id is not None
                else [
                    row[0] for row in db.execute("SELECT DISTINCT thread_id FROM orkes_checkpoints")
                ]
            )
            for thread in threads:
                rows = db.execute(
                    "SELECT checkpoint_id, created_at, meta FROM orkes_checkpoints "
                    "WHERE thread_id = ? ORDER BY seq",
                    (thread,),
                ).fetchall()
                if not rows:
                    continue
                doomed = doomed_positions([row[1] for row in rows], keep_last, older_than)
                if not doomed:
                    continue
                gone = [rows[number][0] for number in doomed]
                kept = [row for number, row in enumerate(rows) if number not in doomed]
                used = set()
                for _, _, meta in kept:
                    for key, version in versions_of(meta).items():
                        used.add((key, version))
                db.executemany(
                    "DELETE FROM orkes_checkpoints WHERE thread_id = ? AND checkpoint_id = ?",
                    [(thread, checkpoint_id) for checkpoint_id in gone],
                )
                db.executemany(
                    "DELETE FROM orkes_writes WHERE thread_id = ? AND checkpoint_id = ?",
                    [(thread, checkpoint_id) for checkpoint_id in gone],
                )
                stored = db.execute(
                    "SELECT key, version FROM orkes_values WHERE thread_id = ?", (thread,)
                ).fetchall()
                db.executemany(
                    "DELETE FROM orkes_values WHERE thread_id = ? AND key = ? AND version = ?",
                    [
                        (thread, key, version)
                        for key, version in stored
                        if (key, version) not in used
                    ],
                )
                deleted += len(gone)
        return deleted

    # --- reading ---------------------------------------------------------------------------

    def get(self, thread_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
        query = (
            "SELECT checkpoint_id, parent_id, step, source, created_at, meta FROM "
            "orkes_checkpoints WHERE thread_id = ? "
        )
        with self._reading() as db:
            if checkpoint_id is None:
                row = db.execute(query + "ORDER BY seq DESC LIMIT 1", (thread_id,)).fetchone()
            else:
                row = db.execute(
                    query + "AND checkpoint_id = ?", (thread_id, checkpoint_id)
                ).fetchone()
            return None if row is None else self._load(db, thread_id, row)

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
        with self._reading() as db:
            below = 2**62
            if before is not None:
                found = db.execute(
                    "SELECT seq FROM orkes_checkpoints WHERE thread_id = ? AND checkpoint_id = ?",
                    (thread_id, before),
                ).fetchone()
                below = found[0] if found else 0
            rows = db.execute(
                "SELECT checkpoint_id, parent_id, step, source, created_at, meta FROM "
                "orkes_checkpoints WHERE thread_id = ? AND seq < ? "
                + "".join(f"AND {key} = ? " for key in wanted)  # keys of a fixed list
                + "ORDER BY seq DESC LIMIT ?",
                (thread_id, below, *wanted.values(), -1 if limit is None else limit),
            ).fetchall()
            return [self._load(db, thread_id, row) for row in rows]

    def get_writes(self, thread_id: str, checkpoint_id: str) -> Sequence[PendingWrite]:
        """The writes kept for the superstep after ``checkpoint_id``, in the order put."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT task_id, kind, node, payload FROM orkes_writes WHERE thread_id = ? AND "
                "checkpoint_id = ? ORDER BY seq",
                (thread_id, checkpoint_id),
            ).fetchall()
        return [write_of(*_texts(row)) for row in rows]

    def close(self) -> None:
        """Close the file; the checkpointer can't be used after."""
        with self._lock:
            self._db.close()

    # --- inside ----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise CheckpointError(f"cannot write to {self.path!r}: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise CheckpointError(f"cannot write to {self.path!r}: {exc}") from exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise CheckpointError(f"cannot read {self.path!r}: {exc}") from exc

    def _load(self, db: sqlite3.Connection, thread_id: str, row: Any) -> Checkpoint:
        checkpoint_id, parent_id, step, source, created_at, meta = row
        if not isinstance(meta, str) or not isinstance(checkpoint_id, str):
            raise CheckpointError(f"a checkpoint row of thread {thread_id!r} is damaged")
        versions = versions_of(meta)
        wanted = sorted(set(versions.values()))
        values: dict[tuple[str, str], str] = {}
        for start in range(0, len(wanted), 500):  # SQLite limits a statement's parameters
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for key, version, text in db.execute(
                "SELECT key, version, value FROM orkes_values WHERE thread_id = ? AND "
                f"version IN ({marks})",
                (thread_id, *chunk),
            ):
                values[(str(key), str(version))] = str(text)
        try:
            return checkpoint_of(
                thread_id, checkpoint_id, parent_id, step, source, created_at, meta, values
            )
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {checkpoint_id!r} is damaged: {exc}") from None

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _TABLES:
                db.execute(statement)
            row = db.execute("SELECT version FROM orkes_schema").fetchone()
            version = row[0] if row else None
            if version is None:
                db.execute("INSERT INTO orkes_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise CheckpointError(
                    f"the checkpoint file {self.path!r} has tables of version {version}, newer "
                    f"than this orkes writes ({SCHEMA_VERSION}): upgrade orkes to read it"
                )
            else:
                while version < SCHEMA_VERSION:
                    for statement in _MIGRATIONS[version]:
                        db.execute(statement)
                    version += 1
                db.execute("UPDATE orkes_schema SET version = ?", (SCHEMA_VERSION,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _texts(row: Any) -> tuple[str, str, str, str]:
    if not all(isinstance(part, str) for part in row):
        raise CheckpointError("a stored pending write is damaged")
    return row[0], row[1], row[2], row[3]
