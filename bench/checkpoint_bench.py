"""What checkpointing costs: per superstep on the 100-node chain, and bytes for a big value.

Usage: ``python bench/checkpoint_bench.py [--rounds N] [--quick] [--postgres DSN]``
(from the repository root, with orkes installed; LangGraph's SqliteSaver is measured too where
``langgraph-checkpoint-sqlite`` is importable).

For each store, a round runs the 100-node chain once in a fresh thread and takes the
time; the cost per superstep is (that time - a plain run's time) / 100. The storage case
carries a 1 MiB string unchanged through 100 steps and reports the bytes the SQLite file
holds.
"""

from __future__ import annotations

import argparse
import itertools
import operator
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.graph.compiled import CompiledGraph
from orkes.persistence import MemoryCheckpointer, SqliteCheckpointer

STEPS = 100


class Chain(TypedDict, total=False):
    """The chain's state: a counter, and a document carried along."""

    n: int
    doc: str
    log: Annotated[list[int], operator.add]


def step(state: Chain) -> Chain:
    """One link: what changed."""
    return {"n": state.get("n", 0) + 1}


def chain() -> CompiledGraph[Chain]:
    """``STEPS`` nodes in a row."""
    graph = OrkesGraph(Chain)
    names = [f"n{i}" for i in range(STEPS)]
    for name in names:
        graph.add_node(name, step)
    graph.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        graph.add_edge(first, second)
    return graph.add_edge(names[-1], END).compile()


def best_and_median(samples: list[float]) -> tuple[float, float]:
    """The best and the median of ``samples``."""
    return min(samples), statistics.median(samples)


def timed(rounds: int, run: Callable[[int], object]) -> list[float]:
    """Seconds each of ``rounds`` calls took."""
    samples = []
    for number in range(rounds):
        started = time.perf_counter()
        run(number)
        samples.append(time.perf_counter() - started)
    return samples


def langgraph_chain() -> Any:
    """The same chain in LangGraph, or ``None``."""
    try:
        from langgraph.graph import StateGraph
    except ImportError:
        return None
    graph: Any = StateGraph(Chain)
    names = [f"n{i}" for i in range(STEPS)]
    for name in names:
        graph.add_node(name, step)
    graph.add_edge("__start__", names[0])
    for first, second in itertools.pairwise(names):
        graph.add_edge(first, second)
    graph.add_edge(names[-1], "__end__")
    return graph


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="one round of everything")
    parser.add_argument(
        "--postgres", metavar="DSN", help="also a PostgresCheckpointer on this database"
    )
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    app = chain()
    folder = Path(tempfile.mkdtemp())
    print(f"Python {sys.version.split()[0]}; {STEPS}-node chain, {rounds} rounds\n")
    plain = timed(rounds, lambda _: app.run({"n": 0}))
    base = min(plain)
    print(f"  {'store':<28}{'best µs/step':>14}{'median':>10}{'over plain':>14}")
    median_plain = statistics.median(plain) / STEPS * 1e6
    print(f"  {'none (plain run)':<28}{base / STEPS * 1e6:14.2f}{median_plain:10.2f}")
    stores: list[tuple[str, Any]] = [
        ("MemoryCheckpointer", MemoryCheckpointer()),
        ("SqliteCheckpointer (file)", SqliteCheckpointer(folder / "bench.db")),
        ("SqliteCheckpointer (:memory:)", SqliteCheckpointer(":memory:")),
    ]
    if args.postgres:
        from orkes.persistence import PostgresCheckpointer

        stores.append(("PostgresCheckpointer", PostgresCheckpointer(args.postgres)))
    for name, store in stores:
        runner = GraphRunner(app, checkpointer=store)

        def in_thread(number: int, runner: GraphRunner[Chain] = runner, name: str = name) -> None:
            runner.run({"n": 0}, thread_id=f"{name}{number}")

        samples = timed(rounds, in_thread)
        best, median = best_and_median(samples)
        print(
            f"  {name:<28}{best / STEPS * 1e6:14.2f}{median / STEPS * 1e6:10.2f}"
            f"{(best - base) / STEPS * 1e6:14.2f}"
        )
        store.close()
    graph = langgraph_chain()
    if graph is not None:
        try:
            import sqlite3

            from langgraph.checkpoint.sqlite import SqliteSaver
        except ImportError:
            print("  (langgraph-checkpoint-sqlite not importable: LangGraph skipped)")
        else:
            compiled = graph.compile()
            lg_plain = timed(max(1, rounds // 3), lambda _: compiled.invoke({"n": 0}))
            saver = SqliteSaver(sqlite3.connect(folder / "lg.db", check_same_thread=False))
            durable = graph.compile(checkpointer=saver)
            lg = timed(
                max(1, rounds // 3),
                lambda i: durable.invoke(
                    {"n": 0}, {"configurable": {"thread_id": f"t{i}"}, "recursion_limit": 1000}
                ),
            )
            print(
                f"  {'LangGraph SqliteSaver':<28}{min(lg) / STEPS * 1e6:14.2f}"
                f"{statistics.median(lg) / STEPS * 1e6:10.2f}"
                f"{(min(lg) - min(lg_plain)) / STEPS * 1e6:14.2f}"
            )
    big = "x" * (1 << 20)
    store = SqliteCheckpointer(folder / "big.db")
    GraphRunner(app, checkpointer=store).run({"n": 0, "doc": big}, thread_id="big")
    store.close()
    size = sum(os.path.getsize(path) for path in folder.glob("big.db*") if path.is_file())
    print(f"\n1 MiB value carried through {STEPS} steps: SQLite file {size / 2**20:.2f} MiB")
    if graph is not None:
        try:
            import sqlite3

            from langgraph.checkpoint.sqlite import SqliteSaver
        except ImportError:
            return
        saver = SqliteSaver(sqlite3.connect(folder / "lg-big.db", check_same_thread=False))
        graph.compile(checkpointer=saver).invoke(
            {"n": 0, "doc": big}, {"configurable": {"thread_id": "big"}, "recursion_limit": 1000}
        )
        saver.conn.close()
        lg_size = sum(os.path.getsize(path) for path in folder.glob("lg-big.db*") if path.is_file())
        print(f"  LangGraph SqliteSaver: {lg_size / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
