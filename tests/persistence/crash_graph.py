"""A checkpointed graph that test_crash.py kills at random moments, run as a script.

``python crash_graph.py DB LOG`` runs (or, if the thread exists, resumes) thread
``"crash"`` on the SQLite file ``DB`` (or the PostgreSQL database ``DB``, a DSN). Each
node appends ``start <node> <step>`` to ``LOG`` (flushed to the file at once) before it
works, so the test can tell which nodes ran in which attempt.
"""

from __future__ import annotations

import operator
import os
import sys
import time
from collections.abc import Callable
from typing import Annotated, TypedDict

from orkes import END, START, GraphRunner, OrkesGraph, RunContext
from orkes.graph.compiled import CompiledGraph
from orkes.persistence.base import Checkpointer
from orkes.persistence.sqlite import SqliteCheckpointer


class Work(TypedDict, total=False):
    """What the nodes did, in merge order."""

    done: Annotated[list[str], operator.add]


def node(log_path: str) -> Callable[[Work, RunContext], Work]:
    """A node that logs its start, works a little, and says it was done."""

    def work(state: Work, ctx: RunContext) -> Work:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"start {ctx.node} {ctx.step}\n")
            log.flush()
            os.fsync(log.fileno())
        time.sleep(0.02)
        return {"done": [f"{ctx.node}@{ctx.step}"]}

    return work


def graph(log_path: str) -> CompiledGraph[Work]:
    """a -> (b, c) -> d -> (e, f) -> g: seven nodes, five supersteps, two parallel."""
    built = OrkesGraph(Work)
    for name in "abcdefg":
        built.add_node(name, node(log_path))
    built.add_edge(START, "a").add_edge("a", "b").add_edge("a", "c")
    built.add_edge(["b", "c"], "d").add_edge("d", "e").add_edge("d", "f")
    built.add_edge(["e", "f"], "g").add_edge("g", END)
    return built.compile()


def store(db: str) -> Checkpointer:
    """The checkpointer for ``db``: a PostgreSQL DSN, or an SQLite file."""
    if db.startswith("host="):
        from orkes.persistence.postgres import PostgresCheckpointer

        return PostgresCheckpointer(db, max_connections=2)
    return SqliteCheckpointer(db)


def main(db_path: str, log_path: str) -> None:
    """Run the thread to its end: from the start, or from where it stands."""
    runner = GraphRunner(graph(log_path), checkpointer=store(db_path))
    head = runner.checkpointer.get("crash") if runner.checkpointer else None
    if head is None:
        runner.run({"done": []}, thread_id="crash")
    elif head.next_tasks:
        runner.resume("crash")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
