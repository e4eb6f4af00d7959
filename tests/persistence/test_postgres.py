"""What the PostgreSQL store adds to the shared promises: one round trip per checkpoint,
async connections that outlive event loops, and workers racing on one thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.persistence import _pg_ops as ops
from orkes.persistence.base import Checkpoint, PendingWrite, new_checkpoint_id
from orkes.persistence.postgres import PostgresCheckpointer
from tests.persistence.conftest import fresh_postgres


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresCheckpointer]:
    """A store on a fresh database, four connections at most."""
    made = fresh_postgres(postgres_dsn)
    yield made
    made.close()


def checkpoint(thread: str, parent: str | None = None, n: int = 0) -> Checkpoint:
    """A checkpoint writing ``n``, after ``parent``."""
    made = new_checkpoint_id()
    return Checkpoint(
        thread_id=thread,
        checkpoint_id=made,
        parent_id=parent,
        step=n,
        source="loop",
        writers=("a",),
        state={"n": n},
        versions={"n": made},
        schema_keys=("n",),
    )


def test_a_checkpoint_is_one_statement() -> None:
    put = ops.put(checkpoint("t"), None)
    query = next(put)
    assert query.sql.lstrip().startswith("WITH head AS")
    with pytest.raises(StopIteration):
        put.send((1,))  # a row came back: stored, nothing more to say
    writes = ops.put_writes("t", "c", PendingWrite("1:a", "a", {"n": 1}))
    next(writes)
    with pytest.raises(StopIteration):
        writes.send(None)


def test_async_calls_work_across_event_loops(store: PostgresCheckpointer) -> None:
    first = checkpoint("loops")
    asyncio.run(store.aput(first, expected_head=None))
    found = asyncio.run(store.aget("loops"))  # a new loop, the same idle connection
    assert found == first
    second = checkpoint("loops", first.checkpoint_id, 1)
    asyncio.run(store.aput(second, expected_head=first.checkpoint_id))
    assert [c.step for c in asyncio.run(store.alist("loops"))] == [1, 0]


def test_racing_async_writers_from_one_head_one_wins(store: PostgresCheckpointer) -> None:
    base = checkpoint("race")
    store.put(base, expected_head=None)

    async def race() -> list[Any]:
        attempts = [
            store.aput(checkpoint("race", base.checkpoint_id, n), expected_head=base.checkpoint_id)
            for n in range(1, 9)
        ]
        return await asyncio.gather(*attempts, return_exceptions=True)

    outcomes = asyncio.run(race())
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, CheckpointConflict) for o in outcomes if o is not None)
    assert len(store.list("race")) == 2  # the base and the one winner, nothing duplicated


def test_the_async_pool_holds_at_most_max_connections(store: PostgresCheckpointer) -> None:
    store.put(checkpoint("many"), expected_head=None)

    async def readers() -> list[Any]:
        return await asyncio.gather(*(store.aget("many") for _ in range(40)))

    assert all(found is not None for found in asyncio.run(readers()))
    idle = store._apool._idle
    assert 1 <= len(idle) <= 4  # made only as many as were lent at once


def test_a_closed_store_says_so(postgres_dsn: str) -> None:
    closed = fresh_postgres(postgres_dsn)
    closed.close()
    with pytest.raises(CheckpointError, match="is closed"):
        closed.get("t")
    with pytest.raises(CheckpointError, match="is closed"):
        asyncio.run(closed.aget("t"))


def test_threads_outlive_the_store_that_wrote_them(postgres_dsn: str) -> None:
    first = fresh_postgres(postgres_dsn)
    made = checkpoint("kept")
    first.put(made, expected_head=None)
    dsn = first.dsn
    first.close()
    again = PostgresCheckpointer(dsn)  # reopened (tables there already: no migration)
    try:
        assert again.get("kept") == made
        assert asyncio.run(again.aget("kept")) == made
    finally:
        again.close()
