"""The seed project's tracing cost on the 100-node chain; run by ``tracing_bench.py --seed-python``.

The project orkes grew from (``orkes`` 0.1.x on the package index) has the same import
name, so it is measured in its own interpreter: ``tracing_bench.py`` runs this file with
the Python of a virtual environment where it is installed, and reads one JSON line back
(microseconds per step, best of the rounds, for untraced, traced in memory and traced to
a directory). Its runner counts passes over each edge for ever and keeps one trace per
runner, so every run gets a freshly compiled graph; building and compiling are not timed.
"""

import argparse
import importlib
import itertools
import json
import tempfile
import time
from typing import Any, TypedDict


class ChainState(TypedDict):
    count: int


def _increment(state: ChainState) -> ChainState:
    # The seed project reads this annotation to check the node takes the graph's state
    # (so the module has no ``from __future__ import annotations``).
    return {"count": state["count"] + 1}


def _compiled(nodes: int, *, traced: bool, directory: str | None) -> Any:
    # The seed project's module, in this interpreter (not this repository's orkes).
    graph = importlib.import_module("orkes.graph.core").OrkesGraph(ChainState, traced=traced)
    names = [f"n{index}" for index in range(nodes)]
    for name in names:
        graph.add_node(name, _increment)
    graph.add_edge(graph.START, names[0])
    for before, after in itertools.pairwise(names):
        graph.add_edge(before, after)
    graph.add_edge(names[-1], graph.END)
    runner = graph.compile()
    if directory is not None:
        runner.auto_save_trace = True
        runner.traces_dir = directory
    return runner


def _best_per_step(
    nodes: int, rounds: int, runs: int, *, traced: bool, directory: str | None
) -> float:
    best = float("inf")
    for _ in range(rounds):
        total = 0.0
        for _ in range(runs):
            runner = _compiled(nodes, traced=traced, directory=directory)
            started = time.perf_counter()
            result = runner.run({"count": 0})
            total += time.perf_counter() - started
            assert result["count"] == nodes, result
        best = min(best, total / (runs * nodes) * 1e6)
    return best


def main() -> None:
    """Print ``{"untraced": µs, "traced": µs, "directory": µs}`` per step, as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    figures = {
        "untraced": _best_per_step(
            options.nodes, options.rounds, options.runs, traced=False, directory=None
        ),
        "traced": _best_per_step(
            options.nodes, options.rounds, options.runs, traced=True, directory=None
        ),
    }
    with tempfile.TemporaryDirectory() as directory:
        figures["directory"] = _best_per_step(
            options.nodes, options.rounds, options.runs, traced=True, directory=directory
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
