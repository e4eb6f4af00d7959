"""Time the orkes engine against a hand-written loop (and LangGraph, where installed).

Every scenario does the same work three ways in one process: a plain Python loop that
calls the node functions and merges their updates by hand, orkes, and LangGraph's
equivalent graph when ``langgraph`` is importable. Rounds interleave the engines so
that the machine's noise hits them alike; the best and the median round are reported.

Run: ``python bench/engine_bench.py [--rounds 15]`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import operator
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict, cast

from orkes import END, START, GraphRunner, OrkesGraph

try:
    import langgraph.graph as langgraph_graph
    from langgraph.version import __version__ as langgraph_version
except ImportError:  # LangGraph is optional: its column is left out
    langgraph_graph = None
    langgraph_version = None


class CounterState(TypedDict):
    """What the chain, the loop and the small graph work on."""

    count: int
    label: str


class FanState(TypedDict):
    """What the fan-out works on: every branch appends to ``results``."""

    count: int
    results: Annotated[list[int], operator.add]


def increment(state: CounterState) -> dict[str, int]:
    """A node that returns what changed."""
    return {"count": state["count"] + 1}


def keep_counting(state: CounterState) -> str:
    """The self-loop's gate."""
    return "again" if state["count"] < LOOP_PASSES else "stop"


def start_fan(state: FanState) -> dict[str, int]:
    """The fan-out's first node."""
    return {"count": state["count"] + 1}


def make_branch(index: int) -> Callable[[FanState], dict[str, list[int]]]:
    """One of the fan-out's branches: it appends its index through the reducer."""

    def branch(state: FanState) -> dict[str, list[int]]:
        return {"results": [index]}

    branch.__name__ = f"branch_{index:03d}"  # names sort as numbers: the merge order
    return branch


CHAIN_LENGTH = 100
LOOP_PASSES = 1000
FAN_WIDTH = 100
SMALL_GRAPH_INVOCATIONS = 1000
BRANCHES = [make_branch(i) for i in range(FAN_WIDTH)]


@dataclass
class Scenario:
    """One piece of work, done by each engine; ``steps`` divides the time."""

    name: str
    steps: int
    unit: str
    engines: dict[str, Callable[[], object]]


def orkes_chain(names: list[str]) -> GraphRunner[CounterState]:
    """START -> names[0] -> ... -> names[-1] -> END in orkes, every node ``increment``."""
    graph = OrkesGraph(CounterState)
    for previous, name in zip([START, *names], names, strict=False):
        graph.add_node(name, increment).add_edge(previous, name)
    graph.add_edge(names[-1], END)
    return GraphRunner(graph.compile())


def langgraph_chain(names: list[str]) -> Any:
    """The same chain in LangGraph (only called when it is installed)."""
    assert langgraph_graph is not None
    graph = langgraph_graph.StateGraph(CounterState)
    for previous, name in zip([langgraph_graph.START, *names], names, strict=False):
        graph.add_node(name, increment)
        graph.add_edge(previous, name)
    graph.add_edge(names[-1], langgraph_graph.END)
    return graph.compile()


def chain_scenario() -> Scenario:
    names = [f"node_{i}" for i in range(CHAIN_LENGTH)]

    def plain() -> object:
        state: dict[str, Any] = {"count": 0, "label": ""}
        for _ in names:
            state.update(increment(cast(CounterState, state)))
        return state

    runner = orkes_chain(names)
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"count": 0, "label": ""}),
    }
    if langgraph_graph is not None:
        app = langgraph_chain(names)
        engines["langgraph"] = lambda: app.invoke({"count": 0, "label": ""})
    return Scenario(f"{CHAIN_LENGTH}-node chain", CHAIN_LENGTH, "step", engines)


def loop_scenario() -> Scenario:
    def plain() -> object:
        state: dict[str, Any] = {"count": 0, "label": ""}
        while True:
            state.update(increment(cast(CounterState, state)))
            if keep_counting(cast(CounterState, state)) == "stop":
                return state

    graph = OrkesGraph(CounterState)
    graph.add_node(increment).add_edge(START, "increment")
    graph.add_conditional_edge("increment", keep_counting, {"again": "increment", "stop": END})
    runner = GraphRunner(graph.compile(), max_steps=LOOP_PASSES + 1)
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"count": 0, "label": ""}),
    }
    if langgraph_graph is not None:
        lg = langgraph_graph.StateGraph(CounterState)
        lg.add_node("increment", increment)
        lg.add_edge(langgraph_graph.START, "increment")
        lg.add_conditional_edges(
            "increment", keep_counting, {"again": "increment", "stop": langgraph_graph.END}
        )
        app = lg.compile()
        config = {"recursion_limit": LOOP_PASSES + 10}
        engines["langgraph"] = lambda: app.invoke({"count": 0, "label": ""}, config)
    return Scenario(f"{LOOP_PASSES}-pass self-loop", LOOP_PASSES, "step", engines)


def fan_out_scenario() -> Scenario:
    def plain() -> object:
        state: dict[str, Any] = {"count": 0, "results": []}
        state.update(start_fan(cast(FanState, state)))
        updates = [branch(cast(FanState, state)) for branch in BRANCHES]
        for update in updates:
            state["results"] = state["results"] + update["results"]
        return state

    graph = OrkesGraph(FanState)
    graph.add_node(start_fan).add_edge(START, "start_fan")
    for branch in BRANCHES:
        graph.add_node(branch).add_edge("start_fan", branch.__name__).add_edge(branch.__name__, END)
    runner = GraphRunner(graph.compile())
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"count": 0, "results": []}),
    }
    if langgraph_graph is not None:
        lg = langgraph_graph.StateGraph(FanState)
        lg.add_node("start_fan", start_fan)
        lg.add_edge(langgraph_graph.START, "start_fan")
        for branch in BRANCHES:
            lg.add_node(branch.__name__, branch)
            lg.add_edge("start_fan", branch.__name__)
            lg.add_edge(branch.__name__, langgraph_graph.END)
        app = lg.compile()
        engines["langgraph"] = lambda: app.invoke({"count": 0, "results": []})
    return Scenario(f"{FAN_WIDTH}-way fan-out + reducer", FAN_WIDTH, "branch", engines)


def small_graph_scenario() -> Scenario:
    names = ["first", "second", "third"]

    def plain() -> object:
        state: dict[str, Any] = {}
        for _ in range(SMALL_GRAPH_INVOCATIONS):
            state = {"count": 0, "label": ""}
            for _ in names:
                state.update(increment(cast(CounterState, state)))
        return state

    runner = orkes_chain(names)

    def orkes_invocations() -> object:
        result: object = None
        for _ in range(SMALL_GRAPH_INVOCATIONS):
            result = runner.run({"count": 0, "label": ""})
        return result

    engines: dict[str, Callable[[], object]] = {"plain": plain, "orkes": orkes_invocations}
    if langgraph_graph is not None:
        app = langgraph_chain(names)

        def langgraph_invocations() -> object:
            result: object = None
            for _ in range(SMALL_GRAPH_INVOCATIONS):
                result = app.invoke({"count": 0, "label": ""})
            return result

        engines["langgraph"] = langgraph_invocations
    steps = SMALL_GRAPH_INVOCATIONS * len(names)
    return Scenario(f"{SMALL_GRAPH_INVOCATIONS} runs of a 3-node graph", steps, "step", engines)


def measure(scenario: Scenario, rounds: int, langgraph_rounds: int) -> dict[str, list[float]]:
    """Seconds per whole run of each engine, rounds interleaved.

    A round repeats a fast engine until it has run for about 5 ms, so that a run that
    takes microseconds is not timed on a cold cache just after a slow engine's round.
    """
    timings: dict[str, list[float]] = {name: [] for name in scenario.engines}
    repeats: dict[str, int] = {}
    expected = scenario.engines["plain"]()
    for name, engine in scenario.engines.items():
        started = time.perf_counter()
        result = engine()  # warm up, check, and size the rounds
        repeats[name] = max(1, int(0.005 / (time.perf_counter() - started)))
        if result != expected:
            raise SystemExit(f"{scenario.name}: {name} computed {result!r}, not {expected!r}")
    for round_number in range(rounds):
        for name, engine in scenario.engines.items():
            if name == "langgraph" and round_number >= langgraph_rounds:
                continue
            gc.collect()
            gc.disable()  # as timeit does: a collection lands on whoever is running
            try:
                started = time.perf_counter()
                for _ in range(repeats[name]):
                    engine()
                timings[name].append((time.perf_counter() - started) / repeats[name])
            finally:
                gc.enable()
    return timings


def report(scenario: Scenario, timings: dict[str, list[float]]) -> None:
    best = {name: min(values) for name, values in timings.items()}
    median = {name: statistics.median(values) for name, values in timings.items()}
    plural = "branches" if scenario.unit == "branch" else f"{scenario.unit}s"
    print(f"\n{scenario.name} ({scenario.steps} {plural} per measurement)")
    print(f"  {'engine':<10} {'best µs/' + scenario.unit:>14} {'median':>10} {'x plain':>9}")
    for name in timings:
        per_step = best[name] / scenario.steps * 1e6
        per_step_median = median[name] / scenario.steps * 1e6
        ratio = best[name] / best["plain"]
        print(f"  {name:<10} {per_step:>14.3f} {per_step_median:>10.3f} {ratio:>9.1f}")
    overhead = (best["orkes"] - best["plain"]) / scenario.steps * 1e6
    print(f"  orkes overhead over the plain loop: {overhead:.3f} µs per {scenario.unit}")
    if "langgraph" in best:
        print(f"  LangGraph / orkes: {best['langgraph'] / best['orkes']:.0f}x (best of rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per engine (default 15)")
    parser.add_argument(
        "--langgraph-rounds", type=int, default=5, help="rounds for LangGraph (it is slow)"
    )
    arguments = parser.parse_args()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"LangGraph {langgraph_version or 'not installed'}"
    )
    for make in (chain_scenario, loop_scenario, fan_out_scenario, small_graph_scenario):
        scenario = make()
        report(scenario, measure(scenario, arguments.rounds, arguments.langgraph_rounds))


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
