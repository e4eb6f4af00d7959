"""Time the orkes engine against a hand-written loop (and LangGraph, where installed).

Every scenario does the same work three ways in one process: a plain Python loop that
calls the node functions and merges their updates by hand, orkes, and LangGraph's
equivalent graph when ``langgraph`` is importable. Rounds interleave the engines so
that the machine's noise hits them alike; the best and the median round are reported.

Besides the engine loops it times streaming ``"updates"`` against a plain run, fan-outs
of branches that wait on I/O (``time.sleep`` on the thread pool, ``asyncio.sleep`` under
``arun``), a 1,000-``Send`` map-reduce, and how long ``import orkes`` takes in a fresh
interpreter (and whether it loads ``asyncio``).

Run: ``python bench/engine_bench.py [--rounds 15] [--only chain stream ...]``
(``--quick`` runs every scenario once, for the test suite; see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import operator
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict, cast

from orkes import END, START, GraphRunner, OrkesGraph, Send
from orkes.graph._listen import new_update

try:
    import langgraph.graph as langgraph_graph
    from langgraph.types import Send as LangGraphSend
    from langgraph.version import __version__ as langgraph_version
except ImportError:  # LangGraph is optional: its column is left out
    langgraph_graph = None
    LangGraphSend = None
    langgraph_version = None


class CounterState(TypedDict):
    """What the chain, the loop and the small graph work on."""

    count: int
    label: str


class FanState(TypedDict):
    """What the fan-out works on: every branch appends to ``results``."""

    count: int
    results: Annotated[list[int], operator.add]


class MapState(TypedDict):
    """What the map-reduce and the I/O fan-outs work on: each task appends to ``results``."""

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


def make_sleeper(index: int) -> Callable[[MapState], dict[str, list[int]]]:
    """A branch that waits on (simulated) blocking I/O, then appends its index."""

    def sleeper(state: MapState) -> dict[str, list[int]]:
        time.sleep(IO_SECONDS)
        return {"results": [index]}

    sleeper.__name__ = f"sleeper_{index:02d}"  # names sort as numbers: the merge order
    return sleeper


async def async_work(arg: dict[str, int]) -> dict[str, list[int]]:
    """A ``Send`` target that waits on (simulated) async I/O, then appends its item."""
    await asyncio.sleep(IO_SECONDS)
    return {"results": [arg["i"]]}


def work(arg: dict[str, int]) -> dict[str, list[int]]:
    """The map step of the map-reduce: called with its ``Send``'s argument."""
    return {"results": [arg["i"]]}


CHAIN_LENGTH = 100
LOOP_PASSES = 1000
FAN_WIDTH = 100
SMALL_GRAPH_INVOCATIONS = 1000
BRANCHES = [make_branch(i) for i in range(FAN_WIDTH)]
IO_SECONDS = 0.05
SYNC_IO_WIDTH = 20
ASYNC_IO_WIDTH = 1000
SENDS = 1000
IMPORT_TARGET_MS = 50.0


@dataclass
class Scenario:
    """One piece of work, done by each engine; ``steps`` divides the time.

    ``expected`` holds what an engine computes when that is not what ``plain`` does;
    ``io`` scenarios wait on sleeps, so they are reported in ms per whole run and take
    the I/O round count; ``notes`` turns the best times into the lines under the table.
    """

    name: str
    steps: int
    unit: str
    engines: dict[str, Callable[[], object]]
    io: bool = False
    notes: Callable[[dict[str, float]], list[str]] | None = None
    expected: dict[str, object] = field(default_factory=dict)


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


def plain_chain(names: list[str]) -> Callable[[], object]:
    """The chain as a hand-written loop: call each node, merge its update by hand."""

    def plain() -> object:
        state: dict[str, Any] = {"count": 0, "label": ""}
        for _ in names:
            state.update(increment(cast(CounterState, state)))
        return state

    return plain


def chain_scenario() -> Scenario:
    names = [f"node_{i}" for i in range(CHAIN_LENGTH)]

    plain = plain_chain(names)
    runner = orkes_chain(names)
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"count": 0, "label": ""}),
    }
    if langgraph_graph is not None:
        app = langgraph_chain(names)
        engines["langgraph"] = lambda: app.invoke({"count": 0, "label": ""})
    return Scenario(f"{CHAIN_LENGTH}-node chain", CHAIN_LENGTH, "step", engines)


def async_chain_scenario() -> Scenario:
    """The 100-node chain of sync nodes under ``arun``, on one event loop kept for all runs.

    ``arun`` must not block the loop with a sync node, so sync nodes run on a pool
    thread; LangGraph's ``ainvoke`` does the same.
    """
    names = [f"node_{i}" for i in range(CHAIN_LENGTH)]
    loop = asyncio.new_event_loop()

    plain = plain_chain(names)
    runner = orkes_chain(names)
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: loop.run_until_complete(runner.arun({"count": 0, "label": ""})),
    }
    if langgraph_graph is not None:
        app = langgraph_chain(names)
        engines["langgraph"] = lambda: loop.run_until_complete(
            app.ainvoke({"count": 0, "label": ""})
        )
    return Scenario(f"{CHAIN_LENGTH}-node chain of sync nodes, arun", CHAIN_LENGTH, "step", engines)


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


def ratio_note(
    label: str, over: str, under: str, target: float | None = None
) -> Callable[[dict[str, float]], list[str]]:
    """A note line: the best time of engine ``over`` divided by that of ``under``."""

    def note(best: dict[str, float]) -> list[str]:
        if over not in best or under not in best:
            return []
        ratio = best[over] / best[under]
        line = f"  {label}: {ratio:.2f}x (best of rounds)"
        if target is not None:
            line += f"; target ≤ {target}x: {'met' if ratio <= target else 'MISSED'}"
        return [line]

    return note


def notes_of(
    *makers: Callable[[dict[str, float]], list[str]],
) -> Callable[[dict[str, float]], list[str]]:
    return lambda best: [line for make in makers for line in make(best)]


def streaming_floor_note(best: dict[str, float]) -> list[str]:
    """What yielding each step costs a hand-written loop, against orkes' ``run`` step."""
    if not {"plain", "plain, yield", "plain, Update", "orkes"} <= best.keys():
        return []
    run, plain = best["orkes"], best["plain"]
    bare, made = best["plain, yield"] - plain, best["plain, Update"] - plain
    return [
        f"  a hand-written loop pays {bare / CHAIN_LENGTH * 1e6:.3f} µs per step to yield "
        f"each update dict, {made / CHAIN_LENGTH * 1e6:.3f} to yield an Update "
        f"({bare / run:.2f}x and {made / run:.2f}x of orkes' run step; 1.2x allows 0.20x)"
    ]


def stream_scenario() -> Scenario:
    """The 100-node chain streamed with mode ``"updates"``, fully consumed, against ``run``."""
    names = [f"node_{i}" for i in range(CHAIN_LENGTH)]

    plain = plain_chain(names)

    def plain_updates(state: dict[str, Any], events: bool) -> Iterator[object]:
        for step, name in enumerate(names, 1):
            update = increment(cast(CounterState, state))
            state.update(update)
            yield new_update(name, update, False, step, ()) if events else update

    def plain_stream(events: bool) -> Callable[[], object]:
        def consume() -> object:
            state: dict[str, Any] = {"count": 0, "label": ""}
            for _ in plain_updates(state, events):
                pass
            return state

        return consume

    runner = orkes_chain(names)

    def orkes_stream() -> object:
        stream = runner.stream({"count": 0, "label": ""}, modes=("updates",))
        for _ in stream:
            pass
        return stream.result

    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "plain, yield": plain_stream(events=False),
        "plain, Update": plain_stream(events=True),
        "orkes": lambda: runner.run({"count": 0, "label": ""}),
        "orkes stream": orkes_stream,
    }
    if langgraph_graph is not None:
        app = langgraph_chain(names)

        def langgraph_stream() -> object:
            state: dict[str, Any] = {"count": 0, "label": ""}
            for chunk in app.stream({"count": 0, "label": ""}, stream_mode="updates"):
                for update in chunk.values():  # {node: its update}
                    state.update(update)
            return state

        engines["langgraph"] = lambda: app.invoke({"count": 0, "label": ""})
        engines["langgraph stream"] = langgraph_stream
    notes = notes_of(
        ratio_note("orkes stream / orkes run", "orkes stream", "orkes", 1.2),
        streaming_floor_note,
        ratio_note("LangGraph stream / orkes stream", "langgraph stream", "orkes stream"),
    )
    name = f'{CHAIN_LENGTH}-node chain, streamed "updates" vs run'
    return Scenario(name, CHAIN_LENGTH, "step", engines, notes=notes)


def target_note(engine: str, target_seconds: float) -> Callable[[dict[str, float]], list[str]]:
    def note(best: dict[str, float]) -> list[str]:
        seconds = best[engine]
        verdict = "met" if seconds < target_seconds else "MISSED"
        return [f"  {engine}: {seconds:.3f} s per run; target < {target_seconds} s: {verdict}"]

    return note


def sync_io_scenario() -> Scenario:
    """20 branches that each block in ``time.sleep(0.05)``, run with ``runner.run``."""
    sleepers = [make_sleeper(i) for i in range(SYNC_IO_WIDTH)]
    pool = ThreadPoolExecutor(SYNC_IO_WIDTH, "plain-io")

    def plain() -> object:
        state: dict[str, Any] = {"results": []}
        for update in pool.map(lambda sleeper: sleeper(cast(MapState, state)), sleepers):
            state["results"] = state["results"] + update["results"]
        return state

    graph = OrkesGraph(MapState)
    for sleeper in sleepers:
        graph.add_node(sleeper).add_edge(START, sleeper.__name__).add_edge(sleeper.__name__, END)
    runner = GraphRunner(graph.compile())
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"results": []}),
    }
    if langgraph_graph is not None:
        lg = langgraph_graph.StateGraph(MapState)
        for sleeper in sleepers:
            lg.add_node(sleeper.__name__, sleeper)
            lg.add_edge(langgraph_graph.START, sleeper.__name__)
            lg.add_edge(sleeper.__name__, langgraph_graph.END)
        app = lg.compile()
        engines["langgraph"] = lambda: app.invoke({"results": []})
    name = f"{SYNC_IO_WIDTH}-way fan-out of time.sleep({IO_SECONDS}) branches, run"
    notes = notes_of(
        target_note("orkes", 0.1), ratio_note("LangGraph / orkes", "langgraph", "orkes")
    )
    return Scenario(name, SYNC_IO_WIDTH, "branch", engines, io=True, notes=notes)


def async_io_scenario() -> Scenario:
    """1,000 ``Send``s to an async node that awaits ``asyncio.sleep(0.05)``, with ``arun``."""

    async def gathered() -> object:
        state: dict[str, Any] = {"results": []}
        updates = await asyncio.gather(*(async_work({"i": i}) for i in range(ASYNC_IO_WIDTH)))
        for update in updates:
            state["results"] = state["results"] + update["results"]
        return state

    def spread(state: MapState) -> list[Send]:
        return [Send("async_work", {"i": i}) for i in range(ASYNC_IO_WIDTH)]

    graph = OrkesGraph(MapState).add_node(async_work)  # type: ignore[arg-type]
    graph.add_conditional_edge(START, spread).add_edge("async_work", END)
    runner = GraphRunner(graph.compile())
    engines: dict[str, Callable[[], object]] = {
        "plain": lambda: asyncio.run(gathered()),
        "orkes": lambda: asyncio.run(runner.arun({"results": []})),
    }
    if langgraph_graph is not None:

        def lg_spread(state: MapState) -> list[Any]:
            assert LangGraphSend is not None
            return [LangGraphSend("async_work", {"i": i}) for i in range(ASYNC_IO_WIDTH)]

        lg = langgraph_graph.StateGraph(MapState)
        lg.add_node("async_work", async_work)
        lg.add_conditional_edges(langgraph_graph.START, lg_spread)
        lg.add_edge("async_work", langgraph_graph.END)
        app = lg.compile()
        engines["langgraph"] = lambda: asyncio.run(app.ainvoke({"results": []}))
    name = f"{ASYNC_IO_WIDTH} Sends to an async node awaiting asyncio.sleep({IO_SECONDS}), arun"
    notes = notes_of(
        target_note("orkes", 0.5), ratio_note("LangGraph / orkes", "langgraph", "orkes")
    )
    return Scenario(name, ASYNC_IO_WIDTH, "branch", engines, io=True, notes=notes)


def send_scenario() -> Scenario:
    """A gate returns 1,000 ``Send("work", {"i": i})``; ``work`` appends through a reducer."""

    def plain() -> object:
        state: dict[str, Any] = {"results": []}
        updates = [work({"i": i}) for i in range(SENDS)]
        for update in updates:
            state["results"] = state["results"] + update["results"]
        return state

    def spread(state: MapState) -> list[Send]:
        return [Send("work", {"i": i}) for i in range(SENDS)]

    graph = OrkesGraph(MapState).add_node(work)  # type: ignore[arg-type]
    graph.add_conditional_edge(START, spread).add_edge("work", END)
    runner = GraphRunner(graph.compile())
    engines: dict[str, Callable[[], object]] = {
        "plain": plain,
        "orkes": lambda: runner.run({"results": []}),
    }
    if langgraph_graph is not None:

        def lg_spread(state: MapState) -> list[Any]:
            assert LangGraphSend is not None
            return [LangGraphSend("work", {"i": i}) for i in range(SENDS)]

        lg = langgraph_graph.StateGraph(MapState)
        lg.add_node("work", work)
        lg.add_conditional_edges(langgraph_graph.START, lg_spread)
        lg.add_edge("work", langgraph_graph.END)
        app = lg.compile()
        engines["langgraph"] = lambda: app.invoke({"results": []})
    return Scenario(f"{SENDS}-Send map-reduce + reducer", SENDS, "send", engines)


def import_time(rounds: int) -> None:
    """``import orkes`` in a fresh interpreter, less an empty one; and what it loads.

    Timed as an installed package is imported: from bytecode caches (``pip install``
    writes them; here they go to a temporary ``PYTHONPYCACHEPREFIX``, written by a first
    import, whatever ``PYTHONDONTWRITEBYTECODE`` says).
    """
    python = sys.executable
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="orkes-pycache-")

    def seconds(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env=cached)
        return time.perf_counter() - started

    seconds("import orkes")  # writes the bytecode caches, warms the file cache
    differences = []
    for _ in range(rounds):
        empty = seconds("pass")
        differences.append(seconds("import orkes") - empty)
    best_empty = min(seconds("pass") for _ in range(rounds))
    best_import = min(seconds("import orkes") for _ in range(rounds))
    watched = ("asyncio", "concurrent.futures", "typing_extensions", "pydantic")
    probe = f"import sys, orkes; print(' '.join(m for m in {watched!r} if m in sys.modules))"
    done = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True)
    loaded = done.stdout.split()
    traced = subprocess.run(
        [python, "-X", "importtime", "-c", "import orkes"],
        check=True,
        capture_output=True,
        text=True,
        env=cached,
    )
    rows: list[tuple[int, int, str]] = []  # (cumulative µs, self µs, module)
    for line in traced.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    orkes_total = next((total for total, _, name in rows if name.strip() == "orkes"), 0)
    best = min(differences) * 1e3
    median = statistics.median(differences) * 1e3
    verdict = "met" if best < IMPORT_TARGET_MS else "MISSED"
    print('\nimport orkes (fresh interpreter: python -c "import orkes" less python -c "pass")')
    print(f"  from bytecode caches, best of {rounds} paired runs: {best:.1f} ms", end="")
    print(f", median {median:.1f} ms")
    print(f"  target < {IMPORT_TARGET_MS:.0f} ms (best of paired runs): {verdict}")
    print(f"  best import less best empty: {(best_import - best_empty) * 1e3:.1f} ms")
    print(f"  -X importtime, cumulative for orkes (one run): {orkes_total / 1e3:.1f} ms")
    print(f"  asyncio in sys.modules after import orkes: {'asyncio' in loaded}")
    print(f"  of {', '.join(watched)}: loaded {', '.join(loaded) or 'none'}")
    print("  top 10 modules by cumulative import time (-X importtime, one run):")
    print(f"  {'cumul. µs':>10} {'self µs':>8}  module")
    for cumulative, own, name in sorted(rows, reverse=True)[:10]:
        print(f"  {cumulative:>10} {own:>8}  {name}")


def measure(scenario: Scenario, rounds: int, langgraph_rounds: int) -> dict[str, list[float]]:
    """Seconds per whole run of each engine, rounds interleaved.

    A round repeats a fast engine until it has run for about 5 ms, so that a run that
    takes microseconds is not timed on a cold cache just after a slow engine's round.
    """
    timings: dict[str, list[float]] = {name: [] for name in scenario.engines}
    repeats: dict[str, int] = {}
    plain = scenario.engines["plain"]()
    for name, engine in scenario.engines.items():
        started = time.perf_counter()
        result = engine()  # warm up, check, and size the rounds
        repeats[name] = max(1, int(0.005 / (time.perf_counter() - started)))
        expected = scenario.expected.get(name, plain)
        if result != expected:
            raise SystemExit(f"{scenario.name}: {name} computed {result!r}, not {expected!r}")
    for round_number in range(rounds):
        for name, engine in scenario.engines.items():
            if name.startswith("langgraph") and round_number >= langgraph_rounds:
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
    timings = {name: values for name, values in timings.items() if values}  # 0 rounds: left out
    best = {name: min(values) for name, values in timings.items()}
    median = {name: statistics.median(values) for name, values in timings.items()}
    plural = "branches" if scenario.unit == "branch" else f"{scenario.unit}s"
    rounds = ", ".join(f"{name} {len(values)}" for name, values in timings.items())
    print(f"\n{scenario.name} ({scenario.steps} {plural} per measurement; rounds: {rounds})")
    if scenario.io:  # the time is sleeping: per whole run is what counts
        print(f"  {'engine':<16} {'best ms/run':>14} {'median':>10} {'x plain':>9}")
        scale, divisor = 1e3, 1
    else:
        print(f"  {'engine':<16} {'best µs/' + scenario.unit:>14} {'median':>10} {'x plain':>9}")
        scale, divisor = 1e6, scenario.steps
    for name in timings:
        per_step = best[name] / divisor * scale
        per_step_median = median[name] / divisor * scale
        ratio = best[name] / best["plain"]
        print(f"  {name:<16} {per_step:>14.3f} {per_step_median:>10.3f} {ratio:>9.1f}")
    if not scenario.io:
        overhead = (best["orkes"] - best["plain"]) / scenario.steps * 1e6
        print(f"  orkes overhead over the plain loop: {overhead:.3f} µs per {scenario.unit}")
    if scenario.notes is not None:
        for line in scenario.notes(best):
            print(line)
    elif "langgraph" in best:
        print(f"  LangGraph / orkes: {best['langgraph'] / best['orkes']:.0f}x (best of rounds)")


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "chain": chain_scenario,
    "arun-chain": async_chain_scenario,
    "loop": loop_scenario,
    "fan-out": fan_out_scenario,
    "small": small_graph_scenario,
    "stream": stream_scenario,
    "sync-io": sync_io_scenario,
    "async-io": async_io_scenario,
    "sends": send_scenario,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per engine (default 15)")
    parser.add_argument(
        "--langgraph-rounds", type=int, default=5, help="rounds for LangGraph (it is slow)"
    )
    parser.add_argument(
        "--io-rounds", type=int, default=5, help="rounds of the I/O fan-outs (they sleep)"
    )
    parser.add_argument(
        "--import-rounds", type=int, default=10, help="fresh interpreters timed for the import"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*SCENARIOS, "import"],
        help="run only these scenarios (default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one round of everything (for the test suite)"
    )
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.rounds = arguments.langgraph_rounds = 1
        arguments.io_rounds = arguments.import_rounds = 1
    chosen = arguments.only or [*SCENARIOS, "import"]
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"LangGraph {langgraph_version or 'not installed'}"
    )
    for key, make in SCENARIOS.items():
        if key not in chosen:
            continue
        scenario = make()
        rounds = arguments.io_rounds if scenario.io else arguments.rounds
        langgraph_rounds = min(rounds, arguments.langgraph_rounds)
        report(scenario, measure(scenario, rounds, langgraph_rounds))
    if "import" in chosen:
        import_time(arguments.import_rounds)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
