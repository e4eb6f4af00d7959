"""What the PostgreSQL store adds to the shared promises: one round trip per checkpoint,
async connections that outlive event loops, and workers racing on one thread."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.persistence import _pg_ops as ops
from orkes.persistence.base import Checkpoint, PendingWrite, new_checkpoint_id
from orkes.persistence.postgres import PostgresCheckpointer
from tests.persistence.conftest import fresh_postgres

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresCheckpointer]:
    """A store on a fresh database, four connections at most."""
    made = fresh_postgres(postgres_dsn)
    yield made
    made.close()


@pytest.fixture
def narrow(postgres_dsn: str) -> Iterator[PostgresCheckpointer]:
    """A store on a fresh database with one connection (sync) and one per event loop."""
    made = fresh_postgres(postgres_dsn)
    made.close()
    one = PostgresCheckpointer(made.dsn, max_connections=1)
    yield one
    one.close()


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


def ask(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, asked on a connection of its own (not the store's)."""
    with psycopg.connect(dsn, autocommit=True) as db:
        return list(db.execute(sql, params).fetchall())


def stored_values(store: PostgresCheckpointer, thread: str) -> int:
    """How many values the thread has in the database."""
    return int(
        ask(store.dsn, "SELECT count(*) FROM orkes_values WHERE thread_id = %s", thread)[0][0]
    )


def database(store: PostgresCheckpointer) -> str:
    """The name of the store's database (``fresh_postgres`` ends its DSN with it)."""
    return store.dsn.rsplit("dbname=", 1)[1]


def backends(store: PostgresCheckpointer) -> set[int]:
    """The server processes serving connections to the store's database (but ours)."""
    rows = ask(
        store.dsn,
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        database(store),
    )
    return {int(row[0]) for row in rows}


def round_trips(pgconn: Any, work: Callable[[], object]) -> int:
    """How many round trips ``work`` makes on ``pgconn``, read from libpq's trace.

    The server ends each answer with one ``ReadyForQuery``.
    """
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(log.fileno())
        try:
            work()
        finally:
            pgconn.untrace()  # flushes the trace
        log.seek(0)
        return sum("\tReadyForQuery" in line for line in log)


@pytest.mark.skipif(sys.platform != "linux", reason="libpq traces only on Linux")
def test_a_checkpoint_and_a_pending_write_are_one_round_trip_each(
    narrow: PostgresCheckpointer,
) -> None:
    heads = {"sync": "", "async": ""}

    def advance(thread: str, times: int) -> None:
        for _ in range(times):
            head = heads[thread] or None
            made = checkpoint(thread, head)
            narrow.put(made, expected_head=head)
            narrow.put_writes(thread, made.checkpoint_id, PendingWrite("1:a", "a", {"n": 1}))
            heads[thread] = made.checkpoint_id

    async def aadvance(thread: str, times: int) -> None:
        for _ in range(times):
            head = heads[thread] or None
            made = checkpoint(thread, head)
            await narrow.aput(made, expected_head=head)
            write = PendingWrite("1:a", "a", {"n": 1})
            await narrow.aput_writes(thread, made.checkpoint_id, write)
            heads[thread] = made.checkpoint_id

    async def borrowed() -> Any:
        async with narrow._apool.connection() as db:
            return db.pgconn

    with narrow._pool.connection() as db:
        wire = db.pgconn  # the sync pool's only connection
    advance("sync", 8)  # psycopg prepares a statement on its 6th run: an extra round trip
    assert round_trips(wire, lambda: advance("sync", 10)) == 20

    awire = asyncio.run(borrowed())  # lent again to each later event loop
    asyncio.run(aadvance("async", 8))
    assert round_trips(awire, lambda: asyncio.run(aadvance("async", 10))) == 20
    assert [len(narrow.list(thread)) for thread in heads] == [18, 18]


def test_async_calls_work_across_event_loops(store: PostgresCheckpointer) -> None:
    first = checkpoint("loops")
    asyncio.run(store.aput(first, expected_head=None))
    opened = backends(store)
    found = asyncio.run(store.aget("loops"))  # a new loop, the same idle connection
    assert found == first
    second = checkpoint("loops", first.checkpoint_id, 1)
    asyncio.run(store.aput(second, expected_head=first.checkpoint_id))
    assert [c.step for c in asyncio.run(store.alist("loops"))] == [1, 0]
    assert asyncio.run(store.aget_writes("loops", "x")) == []
    assert backends(store) == opened  # no connection opened (nor left behind) per loop


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
    assert stored_values(store, "race") == 2  # the losers left no value behind


def test_a_put_beaten_in_mid_statement_is_a_conflict_and_writes_nothing(
    store: PostgresCheckpointer,
) -> None:
    base = checkpoint("race")
    store.put(base, expected_head=None)
    rival, mine = (checkpoint("race", base.checkpoint_id, n) for n in (1, 2))
    outcome: list[BaseException] = []

    def put_mine() -> None:
        try:
            asyncio.run(store.aput(mine, expected_head=base.checkpoint_id))
        except CheckpointConflict as exc:
            outcome.append(exc)

    with psycopg.connect(store.dsn) as other:  # not autocommit: the rival's put stays open
        query = next(ops.put(rival, base.checkpoint_id))
        other.execute(query.sql, query.params)
        putter = threading.Thread(target=put_mine)
        putter.start()
        deadline = time.monotonic() + 30
        while not ask(store.dsn, "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND "
                      "wait_event_type = 'Lock'", database(store)):  # fmt: skip
            assert time.monotonic() < deadline, "the second put never waited for the first"
            time.sleep(0.01)
        other.commit()  # mine, past the head check, now collides on (thread_id, seq)
    putter.join(30)
    assert len(outcome) == 1  # the unique (thread_id, seq) refused it, not the head check:
    assert str(outcome[0]).startswith("another worker advanced the thread first; nothing was")
    assert [c.checkpoint_id for c in store.list("race")] == [
        rival.checkpoint_id,
        base.checkpoint_id,
    ]
    assert stored_values(store, "race") == 2


def test_a_cancelled_call_wrote_nothing_and_the_store_goes_on(
    store: PostgresCheckpointer,
) -> None:
    base = checkpoint("late")
    store.put(base, expected_head=None)
    rival, mine = (checkpoint("late", base.checkpoint_id, n) for n in (1, 2))

    async def impatient() -> list[Checkpoint | None]:
        with pytest.raises(asyncio.TimeoutError):  # mine waits for the rival's lock
            await asyncio.wait_for(store.aput(mine, expected_head=base.checkpoint_id), 0.3)
        return [await store.aget("late") for _ in range(8)]  # on every connection there is

    with psycopg.connect(store.dsn) as other:  # not autocommit: the rival's put stays open
        query = next(ops.put(rival, base.checkpoint_id))
        other.execute(query.sql, query.params)
        heads = asyncio.run(impatient())
    assert heads == [base] * 8  # read while the rival was still uncommitted
    assert [c.checkpoint_id for c in store.list("late")] == [
        rival.checkpoint_id,
        base.checkpoint_id,
    ]
    assert stored_values(store, "late") == 2
    after = checkpoint("late", rival.checkpoint_id, 3)
    asyncio.run(store.aput(after, expected_head=rival.checkpoint_id))
    assert store.get("late") == after


def test_the_async_pool_holds_at_most_max_connections(store: PostgresCheckpointer) -> None:
    store.put(checkpoint("many"), expected_head=None)
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    sync_backends = backends(store)
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        with psycopg.connect(store.dsn, autocommit=True) as admin:
            while not done.is_set():
                pids = {row[0] for row in admin.execute(sql, (database(store),)).fetchall()}
                peak = max(peak, len(pids - sync_backends))

    async def readers() -> list[Any]:
        return await asyncio.gather(*(store.aget("many") for _ in range(40)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        answers = [found for _ in range(5) for found in asyncio.run(readers())]
    finally:
        done.set()
        watcher.join()
    assert len(answers) == 200
    assert all(found is not None and found.thread_id == "many" for found in answers)
    assert 1 <= peak <= 4  # the store was made with max_connections=4
    kept = backends(store) - sync_backends
    assert 1 <= len(kept) <= 4  # kept open for the next loop, no more than lent at once


@pytest.mark.parametrize("how", ["close", "aclose"])
def test_a_closed_store_says_so_and_lets_its_connections_go(postgres_dsn: str, how: str) -> None:
    closed = fresh_postgres(postgres_dsn)
    asyncio.run(closed.aget("warm"))  # an idle async connection to close too
    if how == "close":
        closed.close()
    else:
        asyncio.run(closed.aclose())
    made = checkpoint("t")
    write = PendingWrite("1:a", "a", {})
    calls: list[Callable[[], object]] = [
        lambda: closed.put(made, expected_head=None),
        lambda: closed.get("t"),
        lambda: closed.list("t"),
        lambda: closed.put_writes("t", "c", write),
        lambda: closed.get_writes("t", "c"),
        lambda: closed.delete_thread("t"),
        lambda: closed.prune(keep_last=1),
        lambda: asyncio.run(closed.aput(made, expected_head=None)),
        lambda: asyncio.run(closed.aget("t")),
        lambda: asyncio.run(closed.alist("t")),
        lambda: asyncio.run(closed.aput_writes("t", "c", write)),
        lambda: asyncio.run(closed.aget_writes("t", "c")),
        lambda: asyncio.run(closed.adelete_thread("t")),
        lambda: asyncio.run(closed.aprune(keep_last=1)),
    ]
    for call in calls:
        with pytest.raises(CheckpointError, match="is closed"):
            call()
    deadline = time.monotonic() + 30
    while backends(closed):  # a server process ends soon after its client leaves
        assert time.monotonic() < deadline, f"{how}() left connections open"
        time.sleep(0.01)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_connections_the_server_closed_while_idle_are_not_lent(
    store: PostgresCheckpointer, driver: str
) -> None:
    """A server restarted, a backend terminated, an idle timeout: the next calls get live
    connections (the store holds several idle ones by then), never the dead ones' error."""

    def put(made: Checkpoint, head: str | None) -> None:
        if driver == "sync":
            store.put(made, expected_head=head)
        else:
            asyncio.run(store.aput(made, expected_head=head))

    async def together() -> None:  # leaves the async pool with several idle connections
        await asyncio.gather(*(store.aget("t") for _ in range(4)))

    with ThreadPoolExecutor(4) as pool:  # and the sync pool too
        list(pool.map(lambda _: store.get("t"), range(8)))
    asyncio.run(together())
    ask(store.dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
        "AND pid <> pg_backend_pid()", database(store))  # fmt: skip
    deadline = time.monotonic() + 10
    while backends(store) and time.monotonic() < deadline:
        time.sleep(0.01)
    head = None
    for number in range(6):
        made = checkpoint("t", head, number)
        put(made, head)
        head = made.checkpoint_id
    assert store.get("t") == made


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


def test_a_newer_database_is_refused_and_nothing_is_left_running(postgres_dsn: str) -> None:
    made = fresh_postgres(postgres_dsn)
    made.close()
    with psycopg.connect(made.dsn, autocommit=True) as admin:
        admin.execute("UPDATE orkes_schema SET version = 99")
    running = set(threading.enumerate())
    with pytest.raises(CheckpointError, match="version 99, newer than this orkes writes") as got:
        PostgresCheckpointer(made.dsn)
    assert got.value.__traceback__ is not None  # which keeps the half-made store alive
    assert set(threading.enumerate()) <= running  # yet the pool's threads were stopped


def test_pending_writes_made_at_once_keep_the_order_they_were_made_in(
    store: PostgresCheckpointer,
) -> None:
    """The tasks of a parallel step keep their writes at once, from several threads."""
    start = threading.Barrier(8, timeout=10)

    def keep(task: int) -> None:
        start.wait()
        store.put_writes("w", "c1", PendingWrite(f"1:t{task}", f"t{task}", {"n": task}))

    workers = [threading.Thread(target=keep, args=(task,)) for task in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    kept = store.get_writes("w", "c1")
    assert sorted(write.node for write in kept) == [f"t{task}" for task in range(8)]
    numbers = [ops._write_seq() for _ in range(1000)]
    assert numbers == sorted(set(numbers))  # every write of a process gets its own number


def test_a_database_that_cannot_be_reached_says_why_at_once(postgres_dsn: str) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as caught:
        PostgresCheckpointer(f"postgresql://orkes:hunter2@127.0.0.1:{port}/nowhere")
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert message.startswith("cannot reach the checkpoint database: ")
    assert f"port {port} failed: Connection refused" in message
    assert "hunter2" not in message
    assert caught.value.__cause__ is None  # nothing that could hold the DSN is kept


def test_a_connection_numbered_past_select_s_limit_is_not_taken_for_hung_up() -> None:
    from orkes.persistence._pg_pool import hung_up

    ours, server = socket.socketpair()
    high = os.dup2(ours.fileno(), 1500)  # a busy server has many descriptors open
    try:
        connection = SimpleNamespace(pgconn=SimpleNamespace(socket=high))
        assert not hung_up(connection)
        server.close()  # the server hangs up
        assert hung_up(connection)
    finally:
        os.close(high)
        ours.close()
