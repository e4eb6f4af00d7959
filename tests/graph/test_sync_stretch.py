"""``arun`` runs a stretch of sync steps on one pool thread, and still never blocks the loop.

Every wait here has a timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest

import orkes.graph._aparallel as aparallel
from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import NodeError
from orkes.graph._parallel import shared_pool

TIMEOUT = 5.0


class Log(TypedDict, total=False):
    """What nodes append to, and a counter."""

    log: Annotated[list[str], operator.add]
    n: int


def arun(runner: GraphRunner[Any], state: dict[str, Any]) -> dict[str, Any]:
    """``await runner.arun(state)`` in a fresh event loop, failing after ``TIMEOUT``."""
    return dict(asyncio.run(asyncio.wait_for(runner.arun(state), TIMEOUT)))


def chain(*nodes: tuple[str, Any]) -> GraphRunner[Log]:
    """START -> each node in turn -> END."""
    graph = OrkesGraph(Log)
    names = [name for name, _ in nodes]
    for (name, fn), previous in zip(nodes, [START, *names], strict=False):
        graph.add_node(name, fn).add_edge(previous, name)
    return GraphRunner(graph.add_edge(names[-1], END).compile())


def test_a_chain_of_sync_nodes_runs_on_one_pool_thread_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    handed: list[object] = []
    pool = shared_pool()

    class Counting:
        def submit(self, *args: Any) -> Any:
            handed.append(args[0])
            return pool.submit(*args)

    monkeypatch.setattr(aparallel, "shared_pool", Counting)

    def step(state: Log) -> Log:
        threads.append(threading.get_ident())
        return {"n": state.get("n", 0) + 1}

    runner = chain(*((f"s{i}", step) for i in range(20)))

    async def main() -> tuple[Log, int]:
        return await runner.arun({}), threading.get_ident()

    result, loop_thread = asyncio.run(main())
    assert result == {"n": 20}
    assert len(handed) == 1  # one hop to a thread for the whole stretch, not one a step
    assert len(set(threads)) == 1
    assert threads[0] != loop_thread


def test_the_loop_goes_on_while_a_stretch_of_slow_sync_nodes_runs() -> None:
    ticks: list[float] = []

    def slow(state: Log) -> Log:
        time.sleep(0.1)  # a blocking call, as a sync LLM client makes
        return {"log": ["slow"]}

    runner = chain(("one", slow), ("two", slow), ("three", slow))

    async def ticker() -> None:
        for _ in range(20):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    async def both() -> Log:
        result, _ = await asyncio.gather(runner.arun({}), ticker())
        return result

    assert asyncio.run(both()) == {"log": ["slow", "slow", "slow"]}
    assert len(ticks) == 20
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.08


def test_sync_and_async_steps_take_turns_and_async_ones_run_on_the_loop() -> None:
    where: list[str] = []

    def sync_step(state: Log) -> Log:
        where.append("thread" if threading.current_thread() is not loop_thread[0] else "loop")
        return {"log": ["sync"]}

    async def async_step(state: Log) -> Log:
        where.append("loop" if threading.current_thread() is loop_thread[0] else "thread")
        return {"log": ["async"]}

    loop_thread: list[threading.Thread] = []
    runner = chain(("a", sync_step), ("b", sync_step), ("c", async_step), ("d", sync_step))

    async def main() -> Log:
        loop_thread.append(threading.current_thread())
        return await runner.arun({})

    assert asyncio.run(main()) == {"log": ["sync", "sync", "async", "sync"]}
    assert where == ["thread", "thread", "loop", "thread"]


def test_awaitables_handed_back_by_sync_nodes_are_awaited_together() -> None:
    async def nap(name: str) -> Log:
        await asyncio.sleep(0.2)
        return {"log": [name]}

    graph = OrkesGraph(Log)
    graph.add_node("first", lambda s: {"n": 1})
    graph.add_node("left", lambda s: nap("left")).add_node("right", lambda s: nap("right"))
    graph.add_node("last", lambda s: {"n": s["n"] + 1})
    graph.add_edge(START, "first").add_edge("first", "left").add_edge("first", "right")
    graph.add_edge(["left", "right"], "last").add_edge("last", END)
    runner = GraphRunner(graph.compile())
    started = time.perf_counter()
    assert arun(runner, {}) == {"n": 2, "log": ["left", "right"]}
    assert time.perf_counter() - started < 0.35  # both naps at once


def test_a_lone_sync_node_s_awaitable_is_awaited_and_its_failure_named() -> None:
    async def broken() -> Log:
        raise ValueError("no answer")

    runner = chain(("ok", lambda s: {"n": 1}), ("asks", lambda s: broken()))
    with pytest.raises(NodeError, match="node 'asks' raised ValueError: no answer"):
        arun(runner, {})


def test_a_failing_sync_node_in_a_stretch_raises_its_node_error() -> None:
    def fails(state: Log) -> Log:
        raise KeyError("missing")

    runner = chain(("ok", lambda s: {"n": 1}), ("fails", fails), ("never", lambda s: {"n": 9}))
    with pytest.raises(NodeError, match="node 'fails' raised KeyError") as caught:
        arun(runner, {})
    assert isinstance(caught.value.__cause__, KeyError)


def test_cancelling_arun_mid_stretch_waits_for_the_running_node_and_starts_no_other() -> None:
    happened: list[str] = []

    def blocking(state: Log) -> Log:
        happened.append("blocking started")
        time.sleep(0.3)
        happened.append("blocking finished")
        return {"n": 1}

    def later(state: Log) -> Log:
        happened.append("later started")
        return {"n": 2}

    runner = chain(("quick", lambda s: {"n": 0}), ("blocking", blocking), ("later", later))

    async def main() -> tuple[float, list[str]]:
        task = asyncio.ensure_future(runner.arun({}))
        await asyncio.sleep(0.1)
        cancelled_at = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        waited = time.perf_counter() - cancelled_at
        at_return = list(happened)
        await asyncio.sleep(0.1)
        return waited, at_return

    waited, at_return = asyncio.run(main())
    assert at_return == ["blocking started", "blocking finished"]
    assert happened == at_return  # "later" never started
    assert 0.1 < waited < 0.3


def test_a_pool_that_takes_no_more_work_runs_the_stretch_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ShutDown:
        def submit(self, *args: object) -> None:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(aparallel, "shared_pool", ShutDown)
    runner = chain(("one", lambda s: {"n": 1}), ("two", lambda s: {"n": s["n"] + 1}))
    assert arun(runner, {}) == {"n": 2}
