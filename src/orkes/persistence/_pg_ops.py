"""What the PostgreSQL store says to the database: each operation written once.

An operation is a generator: it yields a :class:`Query` (the SQL, its parameters, and
what to fetch), is sent the rows, and returns the operation's result. The sync and the
async driver of :mod:`orkes.persistence.postgres` run the same generators, so the two
faces of the store can't drift apart. Every statement takes parameters; table names
are fixed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

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
from orkes.persistence.base import answered_twice

if TYPE_CHECKING:
    from datetime import timedelta

    from orkes.persistence.base import Checkpoint, PendingWrite

__all__ = ["SCHEMA_VERSION", "Op", "Query"]

SCHEMA_VERSION = 1

T = TypeVar("T")


class Query(NamedTuple):
    """One statement: its SQL, its parameters, and ``"none"``, ``"one"`` or ``"all"``."""

    sql: str
    params: Any = None
    fetch: str = "none"


Op = Generator[Query, Any, T]
"""An operation: yields queries, is sent their rows, returns its result."""

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

# One statement, so one round trip and atomic: the values and the checkpoint row go in
# only if the thread's head is still the one the run started from. Two workers from the
# same head collide on the unique (thread_id, seq): the second gets a UniqueViolation.
_PUT = """
WITH head AS (
    SELECT checkpoint_id, seq FROM orkes_checkpoints
    WHERE thread_id = %(thread)s ORDER BY seq DESC LIMIT 1
), allowed AS (
    SELECT COALESCE((SELECT seq FROM head), 0) + 1 AS seq
    WHERE (SELECT checkpoint_id FROM head) IS NOT DISTINCT FROM %(expected)s::text
), stored AS (
    INSERT INTO orkes_values (thread_id, key, version, value)
    SELECT %(thread)s, given.key, %(id)s, given.value
    FROM unnest(%(keys)s::text[], %(texts)s::text[]) AS given(key, value), allowed
    ON CONFLICT DO NOTHING
)
INSERT INTO orkes_checkpoints
    (thread_id, checkpoint_id, seq, parent_id, step, source, created_at, meta)
SELECT %(thread)s, %(id)s, allowed.seq, %(parent)s::text, %(step)s::integer, %(source)s,
    %(created)s::double precision, %(meta)s
FROM allowed
RETURNING seq"""

_PUT_WRITES = (
    "INSERT INTO orkes_writes (thread_id, checkpoint_id, task_id, kind, seq, node, payload) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (thread_id, checkpoint_id, task_id, kind) DO UPDATE SET "
    "seq = EXCLUDED.seq, node = EXCLUDED.node, payload = EXCLUDED.payload"
)
_PUT_ANSWER = (  # an answer is written once: a second one finds the row and adds none
    "INSERT INTO orkes_writes (thread_id, checkpoint_id, task_id, kind, seq, node, payload) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (thread_id, checkpoint_id, task_id, kind) DO NOTHING RETURNING seq"
)
_last_seq = 0
_seq_lock = threading.Lock()


def _write_seq() -> int:
    """The order of a pending write: nanoseconds, always more than the last one made here.

    The tasks of one step write from one process, at once: numbering them in the database
    (the highest so far, plus one) would give two racing writes the same number.
    """
    global _last_seq
    with _seq_lock:
        _last_seq = max(time.time_ns(), _last_seq + 1)
        return _last_seq


_COLUMNS = "checkpoint_id, parent_id, step, source, created_at, meta"
_HEAD = f"SELECT {_COLUMNS} FROM orkes_checkpoints WHERE thread_id = %s ORDER BY seq DESC LIMIT 1"
_ONE = f"SELECT {_COLUMNS} FROM orkes_checkpoints WHERE thread_id = %s AND checkpoint_id = %s"
_VALUES = "SELECT key, version, value FROM orkes_values WHERE thread_id = %s AND version = ANY(%s)"


def migrate() -> Op[None]:
    """Make the tables (once, whoever comes first), or refuse a newer layout."""
    yield Query("SELECT pg_advisory_xact_lock(7411)")  # one migrator at a time
    for statement in _TABLES:
        yield Query(statement)
    row = yield Query("SELECT version FROM orkes_schema", fetch="one")
    if row is None:
        yield Query("INSERT INTO orkes_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
    elif row[0] > SCHEMA_VERSION:
        raise CheckpointError(
            f"the checkpoint database has tables of version {row[0]}, newer than this "
            f"orkes writes ({SCHEMA_VERSION}): upgrade orkes to read it"
        )


def put(checkpoint: Checkpoint, expected_head: str | None) -> Op[None]:
    """Store ``checkpoint`` as its thread's head, if the head is ``expected_head``."""
    texts = value_texts(checkpoint)  # refused values fail here, before any writing
    thread = checkpoint.thread_id
    params = {
        "thread": thread,
        "expected": expected_head,
        "id": checkpoint.checkpoint_id,
        "keys": list(texts),
        "texts": list(texts.values()),
        "parent": checkpoint.parent_id,
        "step": checkpoint.step,
        "source": checkpoint.source,
        "created": checkpoint.created_at,
        "meta": meta_of(checkpoint),
    }
    if (yield Query(_PUT, params, "one")) is None:
        head = yield Query(_HEAD, (thread,), "one")
        raise CheckpointConflict(
            f"thread {thread!r} moved on to checkpoint {head[0] if head else None!r} while "
            f"this run expected {expected_head!r}: another worker advanced it; nothing was "
            "written (load the thread again to go on)"
        )


def put_writes(thread_id: str, checkpoint_id: str, write: PendingWrite) -> Op[None]:
    """Keep one task's writes for the superstep after ``checkpoint_id``."""
    text = write_text(write, thread_id)
    row = (thread_id, checkpoint_id, write.task_id, write.kind, _write_seq(), write.node, text)
    if not write.kind.startswith("answer:"):
        yield Query(_PUT_WRITES, row)
    elif (yield Query(_PUT_ANSWER, row, "one")) is None:
        raise CheckpointConflict(answered_twice(thread_id, write))


def get(thread_id: str, checkpoint_id: str | None) -> Op[Checkpoint | None]:
    """The checkpoint ``checkpoint_id`` of the thread, or its head; ``None`` if none."""
    if checkpoint_id is None:
        row = yield Query(_HEAD, (thread_id,), "one")
    else:
        row = yield Query(_ONE, (thread_id, checkpoint_id), "one")
    if row is None:
        return None
    return (yield from _loaded(thread_id, [row]))[0]


def list_(
    thread_id: str, limit: int | None, before: str | None, filter: Mapping[str, Any] | None
) -> Op[list[Checkpoint]]:
    """The thread's checkpoints, newest first, as ``Checkpointer.list`` says."""
    wanted = checked_filter(filter)
    checked_limit(limit)
    below = 2**62
    if before is not None:
        found = yield Query(
            "SELECT seq FROM orkes_checkpoints WHERE thread_id = %s AND checkpoint_id = %s",
            (thread_id, before),
            "one",
        )
        below = found[0] if found else 0
    rows = yield Query(
        f"SELECT {_COLUMNS} FROM orkes_checkpoints WHERE thread_id = %s AND seq < %s "
        + "".join(f"AND {key} = %s " for key in wanted)  # keys of a fixed list
        + "ORDER BY seq DESC LIMIT %s",
        (thread_id, below, *wanted.values(), limit),
        "all",
    )
    return (yield from _loaded(thread_id, rows))


def get_writes(thread_id: str, checkpoint_id: str) -> Op[list[PendingWrite]]:
    """The writes kept for the superstep after ``checkpoint_id``, in the order put."""
    rows = yield Query(
        "SELECT task_id, kind, node, payload FROM orkes_writes WHERE thread_id = %s "
        "AND checkpoint_id = %s ORDER BY seq",
        (thread_id, checkpoint_id),
        "all",
    )
    return [write_of(*row) for row in rows]


def delete_thread(thread_id: str) -> Op[None]:
    """Forget the thread: its checkpoints, values and kept writes."""
    for table in ("orkes_checkpoints", "orkes_values", "orkes_writes"):
        yield Query(f"DELETE FROM {table} WHERE thread_id = %s", (thread_id,))


def prune(thread_id: str | None, keep_last: int | None, older_than: timedelta | None) -> Op[int]:
    """Delete old checkpoints (never a head) and the values none of the rest uses."""
    if thread_id is not None:
        threads = [thread_id]
    else:
        found = yield Query("SELECT DISTINCT thread_id FROM orkes_checkpoints", fetch="all")
        threads = [row[0] for row in found]
    deleted = 0
    for thread in threads:
        rows = yield Query(
            "SELECT checkpoint_id, created_at, meta FROM orkes_checkpoints "
            "WHERE thread_id = %s ORDER BY seq",
            (thread,),
            "all",
        )
        doomed = doomed_positions([row[1] for row in rows], keep_last, older_than)
        if not doomed:
            continue
        gone = [rows[number][0] for number in doomed]
        used = {
            pair
            for number, row in enumerate(rows)
            if number not in doomed
            for pair in versions_of(row[2]).items()
        }
        for table in ("orkes_checkpoints", "orkes_writes"):
            yield Query(
                f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_id = ANY(%s)",
                (thread, gone),
            )
        stored = yield Query(
            "SELECT key, version FROM orkes_values WHERE thread_id = %s", (thread,), "all"
        )
        unused = [(key, version) for key, version in stored if (key, version) not in used]
        yield Query(
            "DELETE FROM orkes_values WHERE thread_id = %s AND (key, version) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            (thread, [key for key, _ in unused], [version for _, version in unused]),
        )
        deleted += len(gone)
    return deleted


def _loaded(thread_id: str, rows: Sequence[Any]) -> Op[list[Checkpoint]]:
    """The checkpoints stored as ``rows``, their values read in one query."""
    if not rows:
        return []
    versions = {version for row in rows for version in versions_of(row[5]).values()}
    found = yield Query(_VALUES, (thread_id, sorted(versions)), "all")
    values = {(str(key), str(version)): str(text) for key, version, text in found}
    return [
        checkpoint_of(thread_id, checkpoint_id, parent_id, step, source, created_at, meta, values)
        for checkpoint_id, parent_id, step, source, created_at, meta in rows
    ]
