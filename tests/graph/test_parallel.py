"""Parallel supersteps under stress: failures, interrupts, a pool that is gone, fork."""

from __future__ import annotations

import asyncio
import multiprocessing
import operator
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import NodeError
from orkes.graph import _parallel


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def fan_out(*branches: Callable[[Log], Any]) -> GraphRunner[Log]:
    graph = OrkesGraph(Log)
    for index, branch in enumerate(branches):
        name = f"b{index:03d}"
        graph.add_node(name, branch).add_edge(START, name).add_edge(name, END)
    return GraphRunner(graph.compile())


def test_once_a_task_fails_no_new_task_starts() -> None:
    started: list[int] = []

    def fails(state: Log) -> Log:
        raise ValueError("boom")

    def slow(state: Log) -> Log:
        started.append(1)
        time.sleep(0.01)
        return {"log": ["slow"]}

    with pytest.raises(NodeError, match="node 'b000' raised ValueError: boom"):
        fan_out(fails, *[slow] * 200).run({})
    assert len(started) < 200


def test_an_interrupt_wins_over_a_node_error() -> None:
    both_running = threading.Barrier(2, timeout=5)

    def fails(state: Log) -> Log:
        both_running.wait()
        raise ValueError("boom")

    def interrupted(state: Log) -> Log:
        both_running.wait()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fan_out(fails, interrupted).run({})


def test_under_arun_the_first_failure_cancels_the_siblings() -> None:
    cancelled: list[bool] = []

    async def fails(state: Log) -> Log:
        raise ValueError("boom")

    async def slow(state: Log) -> Log:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return {"log": ["slow"]}

    started = time.perf_counter()
    with pytest.raises(NodeError, match="node 'b000' raised ValueError: boom"):
        asyncio.run(fan_out(fails, slow).arun({}))
    assert time.perf_counter() - started < 2
    assert cancelled == [True]


def test_a_pool_that_takes_no_more_work_leaves_the_caller_to_do_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = ThreadPoolExecutor(2)
    closed.shutdown()
    monkeypatch.setattr(_parallel, "shared_pool", lambda: closed)

    def branch(name: str) -> Callable[[Log], Log]:
        return lambda state: {"log": [name]}

    runner = fan_out(*[branch(f"n{i}") for i in range(20)])
    assert runner.run({})["log"] == [f"n{i}" for i in range(20)]
    assert asyncio.run(runner.arun({}))["log"] == [f"n{i}" for i in range(20)]


def _fan_out_in_a_forked_child(answer: Any) -> None:
    def nap(state: Log) -> Log:
        time.sleep(0.2)
        return {"log": ["nap"]}

    started = time.perf_counter()
    fan_out(*[nap] * 8).run({})
    answer.put(time.perf_counter() - started)


@pytest.mark.skipif(sys.platform == "win32", reason="fork is a POSIX thing")
def test_a_forked_child_gets_a_pool_of_its_own() -> None:
    def nap(state: Log) -> Log:
        time.sleep(0.01)
        return {"log": ["nap"]}

    fan_out(nap, nap).run({})  # the parent's pool exists before the fork
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_fan_out_in_a_forked_child, args=(answer,))
    child.start()
    took = answer.get(timeout=10)
    child.join(10)
    assert took < 1.0  # 8 naps of 0.2 s in parallel, not one after the other (1.6 s)


def test_nested_runs_on_every_worker_do_not_deadlock() -> None:
    inner = fan_out(*[lambda state: {"log": ["x"]}] * 4)
    done = threading.Event()

    def outer_node(state: Log) -> Log:
        return {"log": inner.run({})["log"][:1]}

    def work() -> None:
        fan_out(*[outer_node] * 300).run({})
        done.set()

    threading.Thread(target=work, daemon=True).start()
    assert done.wait(20)


def test_under_arun_a_sync_node_s_own_runtime_error_runs_it_once() -> None:
    calls: list[str] = []

    def flaky(state: Log) -> Log:
        calls.append(threading.current_thread().name)
        raise RuntimeError("database is in shutdown mode")

    async def other(state: Log) -> Log:
        return {"log": ["other"]}

    with pytest.raises(NodeError, match="raised RuntimeError: database is in shutdown mode"):
        asyncio.run(fan_out(flaky, other).arun({}))
    assert len(calls) == 1


def test_under_arun_a_node_cancelled_by_its_own_code_is_not_dropped_silently() -> None:
    async def cancelled_inside(state: Log) -> Log:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.cancel()
        await future
        return {"log": ["never"]}

    async def fine(state: Log) -> Log:
        return {"log": ["fine"]}

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(fan_out(cancelled_inside, fine).arun({}))
