"""What tracing costs: the 100-node chain untraced, traced in memory, traced to a directory.

All three run in one process, rounds interleaved (as ``engine_bench.py`` does), with the
garbage collector off while timing. "In memory" keeps the last 100 traces
(``Tracer(keep=100)``), each run's replacing the oldest once warmed up;
"to a directory" also writes each run's JSON file, so it pays for making the records
and the JSON too. The ratios are of the best rounds; the target for tracing in memory
is at most 2x the untraced run.

The seed project (``orkes`` 0.1.x, which shares this one's import name) is measured in
its own interpreter, where it is installed: ``--seed-python /path/to/venv/bin/python``
runs ``seed_tracing.py`` there and prints its figures beside these, in the same run.

Run: ``python bench/tracing_bench.py [--rounds 15] [--seed-python PYTHON]``
(``--quick``: one round, for tests).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.tracing import Tracer

CHAIN_LENGTH = 100
KEEP = 100
IN_MEMORY_TARGET = 2.0


class CounterState(TypedDict):
    """What the chain works on."""

    count: int
    label: str


def increment(state: CounterState) -> dict[str, int]:
    """A node that returns what changed."""
    return {"count": state["count"] + 1}


def chain() -> GraphRunner[CounterState]:
    """START -> node_0 -> ... -> node_99 -> END, every node ``increment``."""
    names = [f"node_{i}" for i in range(CHAIN_LENGTH)]
    graph = OrkesGraph(CounterState)
    for previous, name in zip([START, *names], names, strict=False):
        graph.add_node(name, increment).add_edge(previous, name)
    graph.add_edge(names[-1], END)
    return GraphRunner(graph.compile())


def measure(
    engines: dict[str, Callable[[], object]], rounds: int, warm_up: int
) -> dict[str, list[float]]:
    """Seconds per run of each engine, rounds interleaved; a round lasts about 5 ms.

    Each engine first runs ``warm_up`` times, so that the tracers hold as many traces as
    they keep (each new one then replaces the oldest, as in a long-lived process).
    """
    timings: dict[str, list[float]] = {name: [] for name in engines}
    repeats: dict[str, int] = {}
    for name, engine in engines.items():
        result = engine()
        if result != {"count": CHAIN_LENGTH, "label": ""}:
            raise SystemExit(f"{name} computed {result!r}")
        for _ in range(warm_up):  # a tracer's memory filled: the steady state is timed
            engine()
        started = time.perf_counter()
        engine()
        repeats[name] = max(1, int(0.005 / (time.perf_counter() - started)))
    for _ in range(rounds):
        for name, engine in engines.items():
            gc.collect()
            gc.disable()
            try:
                started = time.perf_counter()
                for _ in range(repeats[name]):
                    engine()
                timings[name].append((time.perf_counter() - started) / repeats[name])
            finally:
                gc.enable()
    return timings


def seed_figures(python: str, rounds: int) -> dict[str, float]:
    """The seed project's µs per step (untraced, traced, to a directory), from ``python``."""
    script = Path(__file__).with_name("seed_tracing.py")
    command = [python, str(script), "--nodes", str(CHAIN_LENGTH), "--rounds", str(rounds)]
    # Run outside the repository, so that its src/orkes can't shadow the seed's orkes.
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if done.returncode != 0:
        raise SystemExit(f"{python} could not run the seed project:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per engine (default 15)")
    parser.add_argument("--quick", action="store_true", help="one round (for the test suite)")
    parser.add_argument(
        "--seed-python",
        help="the Python of a venv with the seed project (orkes 0.1.x) installed",
    )
    arguments = parser.parse_args()
    rounds = 1 if arguments.quick else arguments.rounds
    runner = chain()
    start: CounterState = {"count": 0, "label": ""}
    in_memory = Tracer(keep=KEEP)
    with tempfile.TemporaryDirectory() as directory:
        to_files = Tracer(Path(directory), keep=KEEP)
        engines: dict[str, Callable[[], object]] = {
            "untraced": lambda: runner.run(start),
            "traced, in memory": lambda: runner.run(start, tracer=in_memory),
            "traced, to a directory": lambda: runner.run(start, tracer=to_files),
        }
        timings = measure(engines, rounds, warm_up=0 if arguments.quick else KEEP + 50)
        files = len(list(Path(directory).glob("*.json")))
    last = in_memory.last
    assert last is not None
    assert len(last.steps) == CHAIN_LENGTH
    best = {name: min(values) for name, values in timings.items()}
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(f"\n{CHAIN_LENGTH}-node chain, untraced and traced (rounds: {rounds})")
    print(f"  {'engine':<24} {'best µs/step':>13} {'median':>10} {'x untraced':>11}")
    for name, values in timings.items():
        per_step = best[name] / CHAIN_LENGTH * 1e6
        median = statistics.median(values) / CHAIN_LENGTH * 1e6
        print(
            f"  {name:<24} {per_step:>13.3f} {median:>10.3f} {best[name] / best['untraced']:>11.2f}"
        )
    ratio = best["traced, in memory"] / best["untraced"]
    verdict = "met" if ratio <= IN_MEMORY_TARGET else "MISSED"
    print(f"  traced in memory / untraced: {ratio:.2f}x; target ≤ {IN_MEMORY_TARGET}x: {verdict}")
    written = best["traced, to a directory"] / best["untraced"]
    print(f"  traced to a directory / untraced: {written:.2f}x ({files} files written)")
    if arguments.seed_python is None:
        print("\nseed project: not measured (give --seed-python, see the module's docs)")
        return
    seed = seed_figures(arguments.seed_python, max(1, rounds // 3))
    print("\nthe seed project (orkes 0.1.x), same chain, in its own interpreter")
    print(f"  {'engine':<24} {'best µs/step':>13} {'x untraced':>11}")
    for label, key in [
        ("untraced", "untraced"),
        ("traced, in memory", "traced"),
        ("traced, to a directory", "directory"),
    ]:
        print(f"  {label:<24} {seed[key]:>13.3f} {seed[key] / seed['untraced']:>11.2f}")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
