"""A run killed with SIGKILL at a random moment resumes to the state of an uninterrupted run,
and no node whose work was stored runs again.

Each trial starts ``crash_graph.py`` in a subprocess on a fresh SQLite file, kills it at a
random moment, reads what the file holds (the completed supersteps, and the kept writes of
the one in flight), then resumes the thread in this process.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orkes import GraphRunner
from orkes.persistence.sqlite import SqliteCheckpointer

SCRIPT = Path(__file__).with_name("crash_graph.py")
ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("crash_graph", SCRIPT)
assert _spec is not None
assert _spec.loader is not None
crash_graph = importlib.util.module_from_spec(_spec)
sys.modules["crash_graph"] = crash_graph  # its TypedDict's hints are read from it
_spec.loader.exec_module(crash_graph)
graph = crash_graph.graph


def stored_tasks(db: str) -> set[tuple[str, int]]:
    """The (node, step) pairs whose work the store keeps: done, never to run again."""
    checkpointer = crash_graph.store(db)
    try:
        head = checkpointer.get("crash")
        if head is None:
            return set()
        stored = {
            (writer, checkpoint.step)
            for checkpoint in checkpointer.list("crash")
            if checkpoint.source == "loop"
            for writer in checkpoint.writers
        }
        for write in checkpointer.get_writes("crash", head.checkpoint_id):
            stored.add((write.node, head.step + 1))
        return stored
    finally:
        checkpointer.close()


def starts(log: Path) -> list[tuple[str, int]]:
    """Every node start the log holds, in order."""
    if not log.exists():
        return []
    found = []
    for line in log.read_text(encoding="utf-8").splitlines():
        _, node, step = line.split()
        found.append((node, int(step)))
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[int], str]:
    """A fresh store per trial: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return lambda trial: str(tmp_path / f"run{trial}.db")
    import psycopg

    dsn: str = request.getfixturevalue("postgres_dsn")

    def database(trial: int) -> str:
        name = f"crash_{os.getpid()}_{trial}"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        return dsn.replace("dbname=postgres", f"dbname={name}")

    return database


def test_a_killed_run_resumes_to_the_end_of_an_uninterrupted_one(
    tmp_path: Path, databases: Callable[[int], str]
) -> None:
    clean_log = tmp_path / "clean.log"
    expected = graph(str(clean_log)).run({"done": []})
    rng = random.Random(20261128)
    killed_mid_run = 0
    for trial in range(20):
        db, log = databases(trial), tmp_path / f"run{trial}.log"
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), db, str(log)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Wait for the run to begin (its first node logged), then kill it a moment later.
        deadline = time.monotonic() + 30
        while not log.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.12))
        process.send_signal(signal.SIGKILL)
        _, errors = process.communicate(timeout=30)
        assert process.returncode in (0, -signal.SIGKILL), errors.decode()
        killed_mid_run += process.returncode != 0
        stored = stored_tasks(db)
        before = len(starts(log))
        runner = GraphRunner(graph(str(log)), checkpointer=crash_graph.store(db))
        head = runner.checkpointer.get("crash") if runner.checkpointer else None
        if head is None:
            final = runner.run({"done": []}, thread_id="crash")
        elif head.next_tasks:
            final = runner.resume("crash").state
        else:
            final = dict(head.state)
        assert final == expected, f"trial {trial}"
        again = starts(log)[before:]
        rerun = [task for task in again if task in stored]
        assert not rerun, f"trial {trial}: stored work ran again: {rerun}"
        if runner.checkpointer is not None:
            runner.checkpointer.close()
    assert killed_mid_run >= 10  # most trials really were cut short


def test_the_crash_script_alone_runs_to_the_end(tmp_path: Path) -> None:
    db, log = tmp_path / "whole.db", tmp_path / "whole.log"
    subprocess.run([sys.executable, str(SCRIPT), str(db), str(log)], cwd=ROOT, check=True)
    assert len(starts(log)) == 7
    checkpointer = SqliteCheckpointer(db)
    head = checkpointer.get("crash")
    checkpointer.close()
    assert head is not None
    assert head.next_tasks == ()
    assert head.state == graph(str(log)).run({"done": []})
