"""Runs work anywhere: async graphs from sync code, inside a running loop, and at scale.

Also: ``max_concurrency`` bounds how many tasks run at once, parallel branches really run
at once, and cancelling ``arun`` leaves nothing running.
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph, Send
from orkes.errors import GraphDefinitionError, NodeError
from orkes.events import Update

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class Log(TypedDict, total=False):
    """A log that parallel nodes append to, and a counter."""

    log: Annotated[list[str], operator.add]
    n: int


def async_chain() -> GraphRunner[Log]:
    """START -> first (async) -> second (sync) -> third (async) -> END."""

    async def first(state: Log) -> Log:
        await asyncio.sleep(0.001)
        return {"log": ["first"], "n": state.get("n", 0) + 1}

    def second(state: Log) -> Log:
        return {"log": ["second"], "n": state["n"] * 10}

    async def third(state: Log) -> Log:
        await asyncio.sleep(0)
        return {"log": ["third"], "n": state["n"] + 5}

    graph = OrkesGraph(Log).add_node("first", first).add_node("second", second)
    graph.add_node("third", third)
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", "third")
    graph.add_edge("third", END)
    return GraphRunner(graph.compile())


EXPECTED: Log = {"log": ["first", "second", "third"], "n": 15}


# --- run() anywhere ------------------------------------------------------------------------


def test_run_of_an_async_graph_from_plain_code() -> None:
    runner = async_chain()
    assert runner.run({"n": 0}) == EXPECTED
    assert runner.compiled.run({"n": 0}) == EXPECTED


def test_run_called_inside_a_running_event_loop() -> None:
    runner = async_chain()

    async def main() -> tuple[Log, Log]:
        loop_thread = threading.get_ident()
        blocking = runner.run({"n": 0})  # no "asyncio.run() cannot be called from a loop"
        assert threading.get_ident() == loop_thread
        return blocking, await runner.arun({"n": 0})

    assert asyncio.run(main()) == (EXPECTED, EXPECTED)


def test_run_of_a_sync_graph_inside_a_running_event_loop() -> None:
    graph = OrkesGraph(Log).add_node("one", lambda s: {"n": 1})
    graph.add_edge(START, "one").add_edge("one", END)
    runner = GraphRunner(graph.compile())

    async def main() -> Log:
        return runner.run({})

    assert asyncio.run(main()) == {"n": 1}


def test_an_async_nodes_error_reaches_run_from_inside_a_loop() -> None:
    async def boom(state: Log) -> Log:
        raise ValueError("nope")

    graph = OrkesGraph(Log).add_node("boom", boom)
    graph.add_edge(START, "boom").add_edge("boom", END)
    runner = GraphRunner(graph.compile())

    async def main() -> Log:
        return runner.run({})

    with pytest.raises(NodeError, match="node 'boom' raised ValueError: nope"):
        asyncio.run(main())


def test_stream_of_an_async_graph_from_sync_code() -> None:
    runner = async_chain()
    with runner.stream({"n": 0}, modes=("updates",)) as stream:
        events = list(stream)
        assert stream.result == EXPECTED
    assert events == [
        Update("first", {"log": ["first"], "n": 1}, step=1),
        Update("second", {"log": ["second"], "n": 10}, step=2),
        Update("third", {"log": ["third"], "n": 15}, step=3),
    ]


def test_result_of_a_stream_of_an_async_graph_without_iterating() -> None:
    for _ in range(5):  # the loop's thread may still be closing when the events end
        assert async_chain().stream({"n": 0}).result == EXPECTED


def test_stream_of_an_async_graph_inside_a_running_loop() -> None:
    runner = async_chain()

    async def main() -> list[str]:
        return [e.node for e in runner.stream({"n": 0}) if isinstance(e, Update)]

    assert asyncio.run(main()) == ["first", "second", "third"]


# --- max_concurrency -----------------------------------------------------------------------


def fan_out(
    width: int, node: Callable[[Log], Any], *, max_concurrency: int | None = None
) -> GraphRunner[Log]:
    graph = OrkesGraph(Log)
    for i in range(width):
        graph.add_node(f"b{i}", node).add_edge(START, f"b{i}").add_edge(f"b{i}", END)
    return GraphRunner(graph.compile(), max_concurrency=max_concurrency)


class Peak:
    """Counts how many callers are inside at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.calls = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_max_concurrency_of_the_runner_bounds_sync_nodes(driver: Driver) -> None:
    peak = Peak()

    def node(state: Log) -> Log:
        peak.enter()
        time.sleep(0.02)
        peak.leave()
        return {"log": ["x"]}

    result = driver(fan_out(8, node, max_concurrency=3), {})
    assert result == {"log": ["x"] * 8}
    assert peak.calls == 8
    assert peak.peak == 3


def test_max_concurrency_of_the_runner_bounds_async_nodes(driver: Driver) -> None:
    peak = Peak()

    async def node(state: Log) -> Log:
        peak.enter()
        await asyncio.sleep(0.02)
        peak.leave()
        return {"log": ["x"]}

    result = driver(fan_out(8, node, max_concurrency=2), {})
    assert result == {"log": ["x"] * 8}
    assert peak.peak == 2


@pytest.mark.parametrize("how", ["run", "arun", "stream", "astream"])
def test_max_concurrency_per_call_overrides_the_runner(how: str) -> None:
    peak = Peak()

    def node(state: Log) -> Log:
        peak.enter()
        time.sleep(0.02)
        peak.leave()
        return {"log": ["x"]}

    runner = fan_out(6, node, max_concurrency=5)

    async def astream() -> Log:
        stream = await runner.astream({}, max_concurrency=2)
        return await stream.aresult()

    if how == "run":
        result = runner.run({}, max_concurrency=2)
    elif how == "arun":
        result = asyncio.run(runner.arun({}, max_concurrency=2))
    elif how == "stream":
        result = runner.stream({}, max_concurrency=2).result
    else:
        result = asyncio.run(astream())
    assert result == {"log": ["x"] * 6}
    assert peak.peak == 2


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_max_concurrency_must_be_a_positive_int(value: Any) -> None:
    graph = OrkesGraph(Log).add_node("one", lambda s: {"n": 1})
    compiled = graph.add_edge(START, "one").add_edge("one", END).compile()
    with pytest.raises(GraphDefinitionError, match="max_concurrency must be a positive int"):
        GraphRunner(compiled, max_concurrency=value)
    with pytest.raises(GraphDefinitionError, match="max_concurrency must be a positive int"):
        GraphRunner(compiled).run({}, max_concurrency=value)


# --- parallel branches run at once ---------------------------------------------------------


def test_twenty_sleeping_sync_branches_take_one_sleep_with_run() -> None:
    def node(state: Log) -> Log:
        time.sleep(0.05)
        return {"log": ["x"]}

    runner = fan_out(20, node)
    runner.run({})  # warm the pool
    started = time.perf_counter()
    result = runner.run({})
    elapsed = time.perf_counter() - started
    assert result == {"log": ["x"] * 20}
    assert elapsed < 0.1


def test_a_thousand_async_branches_take_one_sleep_with_arun() -> None:
    class Items(TypedDict, total=False):
        done: Annotated[list[int], operator.add]

    def spread(state: Items) -> list[Send]:
        return [Send("work", i) for i in range(1000)]

    async def work(item: int) -> Items:
        await asyncio.sleep(0.05)
        return {"done": [item]}

    graph = OrkesGraph(Items).add_node("work", work)  # type: ignore[arg-type]
    graph.add_conditional_edge(START, spread).add_edge("work", END)
    runner = GraphRunner(graph.compile())
    started = time.perf_counter()
    result = asyncio.run(runner.arun({}))
    elapsed = time.perf_counter() - started
    assert result == {"done": list(range(1000))}
    assert elapsed < 0.5


# --- cancelling arun -----------------------------------------------------------------------


def test_cancelling_arun_cancels_async_nodes_and_waits_for_sync_ones() -> None:
    happened: list[str] = []

    async def waiting(state: Log) -> Log:
        happened.append("waiting started")
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            happened.append("waiting cancelled")
            raise
        return {"log": ["waiting"]}

    def blocking(state: Log) -> Log:
        happened.append("blocking started")
        time.sleep(0.3)
        happened.append("blocking finished")
        return {"log": ["blocking"]}

    def later(state: Log) -> Log:
        happened.append("later started")
        return {"log": ["later"]}

    graph = OrkesGraph(Log).add_node("waiting", waiting).add_node("blocking", blocking)
    graph.add_node("later", later)
    graph.add_edge(START, "waiting").add_edge(START, "blocking")
    graph.add_edge(["waiting", "blocking"], "later").add_edge("later", END)
    runner = GraphRunner(graph.compile())

    async def main() -> tuple[float, list[str], set[asyncio.Task[Any]]]:
        before = asyncio.all_tasks()
        task = asyncio.ensure_future(runner.arun({}))
        await asyncio.sleep(0.05)
        cancelled_at = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        waited = time.perf_counter() - cancelled_at
        at_return = list(happened)
        await asyncio.sleep(0.1)
        return waited, at_return, asyncio.all_tasks() - before

    started = time.perf_counter()
    waited, at_return, left = asyncio.run(main())
    total = time.perf_counter() - started
    assert sorted(at_return) == [
        "blocking finished",
        "blocking started",
        "waiting cancelled",
        "waiting started",
    ]
    assert happened == at_return  # nothing ran after: "later" never started
    assert left == set()
    assert 0.15 < waited < 0.3  # until the sync node ended, no longer
    assert total < 0.6
