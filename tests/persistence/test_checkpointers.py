"""What every back-end promises (the ``Checkpointer`` Protocol), run on each of them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from orkes.errors import CheckpointConflict, CheckpointError, SerializationError
from orkes.persistence import MemoryCheckpointer, SqliteCheckpointer
from orkes.persistence.base import Checkpoint, Checkpointer, PendingWrite, new_checkpoint_id


def chain(
    store: Checkpointer, thread: str, steps: int, *, big: str = "", start: Checkpoint | None = None
) -> list[Checkpoint]:
    """Put ``steps`` checkpoints, each writing ``n`` and carrying ``doc`` unchanged."""
    made: list[Checkpoint] = []
    parent = start
    head = store.get(thread)
    for step in range(steps):
        new_id = new_checkpoint_id()
        versions = dict(parent.versions) if parent else {}
        state: dict[str, Any] = dict(parent.state) if parent else {"doc": big}
        versions["n"] = new_id
        versions.setdefault("doc", new_id)
        state["n"] = step
        checkpoint = Checkpoint(
            thread_id=thread,
            checkpoint_id=new_id,
            parent_id=parent.checkpoint_id if parent else None,
            step=step,
            source="loop",
            writers=(f"node{step}",),
            state=state,
            versions=versions,
            schema_keys=("doc", "n"),
            memory={"step": step, "passes": {}},
            next_tasks=({"node": "x", "index": 2, "arg": ("a", 1)},),
        )
        store.put(checkpoint, expected_head=head.checkpoint_id if head else None)
        made.append(checkpoint)
        parent = head = checkpoint
    return made


def test_put_get_and_list(checkpointer: Checkpointer) -> None:
    made = chain(checkpointer, "t", 4)
    head = checkpointer.get("t")
    assert head == made[-1]
    assert checkpointer.get("t", made[1].checkpoint_id) == made[1]
    assert checkpointer.get("t", "nope") is None
    assert checkpointer.get("other") is None
    assert [c.step for c in checkpointer.list("t")] == [3, 2, 1, 0]
    assert [c.step for c in checkpointer.list("t", limit=2)] == [3, 2]
    assert [c.step for c in checkpointer.list("t", before=made[2].checkpoint_id)] == [1, 0]
    assert checkpointer.list("nobody") == []


def test_list_filters_on_source_and_step_only(checkpointer: Checkpointer) -> None:
    chain(checkpointer, "f", 3)
    assert [c.step for c in checkpointer.list("f", filter={"step": 1})] == [1]
    assert [c.step for c in checkpointer.list("f", filter={"source": "loop"}, limit=2)] == [2, 1]
    assert checkpointer.list("f", filter={"source": "input"}) == []
    assert len(asyncio.run(checkpointer.alist("f", filter={"step": 0}))) == 1
    with pytest.raises(CheckpointError, match="can't filter on 'meta': it filters on 'source'"):
        checkpointer.list("f", filter={"meta": "x; DROP TABLE orkes_checkpoints"})
    with pytest.raises(CheckpointError, match=r"takes an int, got '1'"):
        checkpointer.list("f", filter={"step": "1"})
    with pytest.raises(CheckpointError, match="takes a count of at least 0, got -1"):
        checkpointer.list("f", limit=-1)
    assert len(checkpointer.list("f")) == 3  # nothing was harmed


def test_what_is_read_back_is_a_copy(checkpointer: Checkpointer) -> None:
    """Changing a value after it was stored, or a checkpoint read back, changes no store."""
    new_id = new_checkpoint_id()
    messages = ["hi"]
    checkpointer.put(
        Checkpoint(
            thread_id="t",
            checkpoint_id=new_id,
            parent_id=None,
            step=1,
            source="loop",
            writers=("a",),
            state={"messages": messages, "n": 1},
            versions={"messages": new_id, "n": new_id},
            schema_keys=("messages", "n"),
            memory={"step": 1, "passes": {"a->b": 1}},
            next_tasks=({"node": "b", "index": -1},),
        ),
        expected_head=None,
    )
    messages.append("changed after put")
    first = checkpointer.get("t")
    assert first is not None
    first.state["messages"].append("changed after get")
    first.memory["passes"]["a->b"] = 99
    cast(dict[str, Any], first.next_tasks[0])["node"] = "x"
    again = checkpointer.get("t")
    assert again is not None
    assert again.state == {"messages": ["hi"], "n": 1}
    assert again.memory == {"step": 1, "passes": {"a->b": 1}}
    assert again.next_tasks == ({"node": "b", "index": -1},)


def test_checkpoint_ids_sort_by_time_and_never_repeat() -> None:
    made = [new_checkpoint_id() for _ in range(10_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(len(made_id) == 32 and int(made_id, 16) >= 0 for made_id in made)
    assert new_checkpoint_id(0).startswith("0" * 16)  # the time comes first


def test_a_put_from_a_stale_head_is_a_conflict_and_writes_nothing(
    checkpointer: Checkpointer,
) -> None:
    made = chain(checkpointer, "t", 2)
    stale = chain(MemoryCheckpointer(), "t", 1)[0]
    with pytest.raises(CheckpointConflict, match="thread 't' moved on"):
        checkpointer.put(stale, expected_head=made[0].checkpoint_id)
    with pytest.raises(CheckpointConflict):
        checkpointer.put(stale, expected_head=None)  # a thread's first put expects no head
    assert len(checkpointer.list("t")) == 2


def test_racing_writers_one_wins(checkpointer: Checkpointer, tmp_path: Path) -> None:
    first = chain(checkpointer, "race", 1)[0]
    stores = [checkpointer] * 8
    if isinstance(checkpointer, SqliteCheckpointer) and checkpointer.path != ":memory:":
        stores = [SqliteCheckpointer(checkpointer.path) for _ in range(8)]  # 8 connections
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def advance(store: Checkpointer) -> None:
        candidate = chain(MemoryCheckpointer(), "race", 1)[0]
        barrier.wait()
        try:
            store.put(candidate, expected_head=first.checkpoint_id)
            outcomes.append("won")
        except CheckpointConflict:
            outcomes.append("conflict")

    workers = [threading.Thread(target=advance, args=(store,)) for store in stores]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    assert len(checkpointer.list("race")) == 2


def test_pending_writes_are_kept_in_order_and_replaced(checkpointer: Checkpointer) -> None:
    head = chain(checkpointer, "t", 1)[0]
    key = head.checkpoint_id
    checkpointer.put_writes("t", key, PendingWrite("1:a", "a", {"n": 1}, routes=("b",)))
    checkpointer.put_writes("t", key, PendingWrite("1:b", "b", {"n": 2}))
    checkpointer.put_writes("t", key, PendingWrite("1:a", "a", {"n": 3}))
    kept = checkpointer.get_writes("t", key)
    assert [(w.task_id, w.node, dict(w.writes), w.routes) for w in kept] == [
        ("1:b", "b", {"n": 2}, ()),
        ("1:a", "a", {"n": 3}, ()),
    ]
    assert checkpointer.get_writes("t", "other") == []


def test_an_answer_is_written_once_the_second_is_a_conflict(checkpointer: Checkpointer) -> None:
    key = chain(checkpointer, "t", 1)[0].checkpoint_id
    first = PendingWrite("1:review:0", "review", {"value": "yes"}, kind="answer:1:review:0")
    checkpointer.put_writes("t", key, first)
    second = PendingWrite("1:review:0", "review", {"value": "no"}, kind="answer:1:review:0")
    with pytest.raises(CheckpointConflict) as caught:
        checkpointer.put_writes("t", key, second)
    assert str(caught.value) == (
        "another worker advanced the thread first: '1:review:0' of thread 't' was already "
        "answered; nothing was written"
    )
    kept = checkpointer.get_writes("t", key)
    assert [(w.kind, dict(w.writes)) for w in kept] == [("answer:1:review:0", {"value": "yes"})]


def test_an_unknown_type_is_refused_naming_key_and_node(checkpointer: Checkpointer) -> None:
    class Opaque:
        pass

    made = chain(MemoryCheckpointer(), "t", 1)[0]
    bad = Checkpoint(
        **{
            **{f: getattr(made, f) for f in made.__dataclass_fields__},
            "state": {"n": Opaque(), "doc": ""},
        }
    )
    refused = "key 'n' written by 'node0' in thread 't' holds a"
    with pytest.raises(SerializationError, match=refused) as caught:
        checkpointer.put(bad, expected_head=None)
    assert (caught.value.key, caught.value.node, caught.value.at) == ("n", "node0", "its top")
    assert caught.value.type_name.endswith(".Opaque")
    assert checkpointer.get("t") is None
    refused = "key 'n' written by 'a' in thread 't' holds"
    with pytest.raises(SerializationError, match=refused) as caught:
        checkpointer.put_writes("t", "c", PendingWrite("1:a", "a", {"n": Opaque()}))
    assert (caught.value.key, caught.value.node, caught.value.thread_id) == ("n", "a", "t")


def test_delete_and_prune_never_lose_a_head(checkpointer: Checkpointer) -> None:
    made = chain(checkpointer, "p", 5)
    chain(checkpointer, "q", 2)
    checkpointer.put_writes("p", made[0].checkpoint_id, PendingWrite("1:a", "a", {}))
    assert checkpointer.prune("p", keep_last=2) == 3
    assert [c.step for c in checkpointer.list("p")] == [4, 3]
    assert checkpointer.get_writes("p", made[0].checkpoint_id) == []
    assert checkpointer.get("p") == made[-1]  # its values survived the pruning
    assert checkpointer.prune(older_than=timedelta(0)) == 2  # all threads: heads stay
    assert [len(checkpointer.list(t)) for t in ("p", "q")] == [1, 1]
    checkpointer.delete_thread("p")
    assert checkpointer.get("p") is None
    assert checkpointer.get("q") is not None


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ({"keep_last": -1}, r"prune\(keep_last=-1\): give how many"),
        ({"keep_last": "3"}, r"prune\(keep_last='3'\)"),
        ({"keep_last": True}, r"prune\(keep_last=True\)"),
        ({"older_than": 3}, r"prune\(older_than=3\): give a datetime.timedelta"),
    ],
)
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_prune_refuses_limits_it_cannot_mean_and_deletes_nothing(
    checkpointer: Checkpointer, limits: dict[str, Any], problem: str, driver: str
) -> None:
    chain(checkpointer, "p", 3)

    def prune() -> int:
        if driver == "sync":
            return checkpointer.prune("p", **limits)
        return asyncio.run(checkpointer.aprune("p", **limits))

    with pytest.raises(CheckpointError, match=problem):
        prune()
    assert len(checkpointer.list("p")) == 3


def test_a_sqlite_checkpointer_needs_a_path() -> None:
    with pytest.raises(CheckpointError, match=r"takes the database file's path .* got 3"):
        SqliteCheckpointer(3)  # type: ignore[arg-type]


def test_the_async_twins_do_the_same(checkpointer: Checkpointer) -> None:
    async def main() -> list[Any]:
        made = chain(MemoryCheckpointer(), "a", 1)[0]
        await checkpointer.aput(made, expected_head=None)
        await checkpointer.aput_writes("a", made.checkpoint_id, PendingWrite("1:x", "x", {"n": 1}))
        found = [
            await checkpointer.aget("a"),
            len(await checkpointer.alist("a")),
            len(await checkpointer.aget_writes("a", made.checkpoint_id)),
        ]
        await checkpointer.adelete_thread("a")
        return [*found, await checkpointer.aget("a")]

    head, count, writes, gone = asyncio.run(main())
    assert isinstance(head, Checkpoint)
    assert (count, writes, gone) == (1, 1, None)
    made = chain(checkpointer, "p", 3)
    assert asyncio.run(checkpointer.aprune("p", keep_last=1)) == 2
    assert [c.checkpoint_id for c in checkpointer.list("p")] == [made[-1].checkpoint_id]


def test_a_big_value_carried_unchanged_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    store = SqliteCheckpointer(db)
    chain(store, "big", 100, big="x" * (1 << 20))
    store.close()
    with sqlite3.connect(db) as raw:
        rows = raw.execute("SELECT COUNT(*) FROM orkes_values WHERE key = 'doc'").fetchone()[0]
        stored = raw.execute("SELECT SUM(LENGTH(value)) FROM orkes_values").fetchone()[0]
    assert rows == 1
    assert stored < 1.1 * (1 << 20)
    again = SqliteCheckpointer(db)  # reopened: all there
    head = again.get("big")
    again.close()
    assert head is not None
    assert len(head.state["doc"]) == 1 << 20


def test_damaged_rows_and_newer_files_give_checkpoint_error(tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    store = SqliteCheckpointer(db)
    chain(store, "t", 1)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE orkes_checkpoints SET meta = '{\"versions\": 5'")
    with pytest.raises(CheckpointError):
        store.get("t")
    with sqlite3.connect(db) as raw:
        raw.execute('UPDATE orkes_checkpoints SET meta = \'{"versions": {"n": "zz"}}\'')
    with pytest.raises(CheckpointError, match="lacks the value of key 'n'"):
        store.get("t")
    store.close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE orkes_schema SET version = 99")
    with pytest.raises(CheckpointError, match="version 99, newer than this orkes writes"):
        SqliteCheckpointer(db)
    with pytest.raises(CheckpointError, match="cannot open the checkpoint file"):
        SqliteCheckpointer(tmp_path / "no" / "such" / "dir.db")


def test_put_and_get_are_fast_enough_to_measure(checkpointer: Checkpointer) -> None:
    started = time.perf_counter()
    chain(checkpointer, "speed", 20)
    assert time.perf_counter() - started < 30  # a sanity bound; figures are in bench/


RACER = """
import sys, time
from pathlib import Path
from orkes.errors import CheckpointConflict
from orkes.persistence import SqliteCheckpointer
from orkes.persistence.base import Checkpoint, new_checkpoint_id
db, expected, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = SqliteCheckpointer(db)
head = store.get("race")
new_id = new_checkpoint_id()
mine = Checkpoint("race", new_id, expected, 1, "loop", ("racer",), {"n": 1}, {"n": new_id}, ("n",))
while not go.exists():
    time.sleep(0.001)
try:
    store.put(mine, expected_head=expected)
    print("won")
except CheckpointConflict:
    print("conflict")
"""


def test_processes_racing_on_one_sqlite_file_one_wins(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "race.db"
    store = SqliteCheckpointer(db)
    first = chain(store, "race", 1)[0]
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(db), first.checkpoint_id, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # let them all reach the starting line
    go.touch()
    outcomes = sorted(racer.communicate(timeout=60)[0].strip() for racer in racers)
    assert outcomes == ["conflict", "conflict", "conflict", "won"]
    assert len(store.list("race")) == 2
    store.close()
