"""Concurrency: parallel nodes really run at once, and runs share graphs and runners safely.

Every wait here has a timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import contextvars
import operator
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict, TypeVar

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import NodeError

if TYPE_CHECKING:
    from tests.graph.conftest import Driver

T = TypeVar("T")
TIMEOUT = 5.0


class Log(TypedDict, total=False):
    """A counter and a log that parallel nodes may append to."""

    n: int
    log: Annotated[list[str], operator.add]


class Work(TypedDict, total=False):
    """What one caller of a shared runner asks for, and what it gets back."""

    seed: int
    rounds: int
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]


def finishes_within(seconds: float, work: Callable[[], T]) -> T:
    """Run ``work`` on a daemon thread; fail (instead of hanging) if it takes too long."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed back to the test below
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a deadlock?"
    if failure:
        raise failure[0]
    return outcome[0]


def fan_out(
    branches: Mapping[str, Callable[[Log], Mapping[str, object] | None]],
) -> GraphRunner[Log]:
    """START -> every branch -> END: one superstep of parallel tasks."""
    graph = OrkesGraph(Log)
    for name, fn in branches.items():
        graph.add_node(name, fn).add_edge(START, name).add_edge(name, END)
    return GraphRunner(graph.compile())


# --- parallel sync nodes run on threads ------------------------------------------------------


@pytest.mark.parametrize("width", [2, 3, 8])
def test_parallel_sync_nodes_really_run_at_the_same_time(driver: Driver, width: int) -> None:
    # Each branch waits until every branch has arrived: without real concurrency this
    # barrier breaks after its timeout and the run fails.
    barrier = threading.Barrier(width, timeout=TIMEOUT)

    def meet(name: str) -> Callable[[Log], dict[str, object]]:
        def node(state: Log) -> dict[str, object]:
            barrier.wait()
            return {"log": [name]}

        return node

    names = [f"branch{i}" for i in range(width)]
    runner = fan_out({name: meet(name) for name in names})
    assert finishes_within(2 * TIMEOUT, lambda: driver(runner, {"log": []})) == {"log": names}


def test_each_parallel_node_gets_its_own_copy_of_the_state(driver: Driver) -> None:
    # 'changer' changes its copy before 'reader' looks (the barrier orders them): the
    # reader still sees the state as it was when the superstep began.
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def changer(state: Log) -> Log:
        state["n"] = 5
        barrier.wait()
        return state

    def reader(state: Log) -> dict[str, object]:
        barrier.wait()
        return {"log": [f"reader saw {state['n']}"]}

    runner = fan_out({"changer": changer, "reader": reader})
    result = finishes_within(2 * TIMEOUT, lambda: driver(runner, {"n": 1, "log": []}))
    assert result == {"n": 5, "log": ["reader saw 1"]}


def test_a_single_sync_task_runs_on_the_callers_thread_in_run() -> None:
    threads: list[int] = []

    def where(state: Log) -> dict[str, object]:
        threads.append(threading.get_ident())
        return {"n": state["n"] + 1}

    def again(state: Log) -> Literal["where", "END"]:
        return "where" if state["n"] < 3 else "END"

    graph = OrkesGraph(Log).add_node(where).add_edge(START, "where")
    runner = GraphRunner(graph.add_conditional_edge("where", again).compile())
    assert runner.run({"n": 0}) == {"n": 3}
    assert threads == [threading.get_ident()] * 3


def test_in_arun_a_single_sync_task_leaves_the_event_loop_free() -> None:
    ticks: list[int] = []

    def slow_sync(state: Log) -> dict[str, object]:
        time.sleep(0.2)  # a blocking call, as a sync LLM client makes
        return {"n": 1}

    async def ticker() -> None:
        for tick in range(10):
            ticks.append(tick)
            await asyncio.sleep(0.01)

    graph = OrkesGraph(Log).add_node(slow_sync).add_edge(START, "slow_sync")
    runner = GraphRunner(graph.add_edge("slow_sync", END).compile())

    async def both() -> Log:
        result, _ = await asyncio.gather(runner.arun({"n": 0}), ticker())
        return result

    assert finishes_within(TIMEOUT, lambda: asyncio.run(both())) == {"n": 1}
    assert len(ticks) == 10


def test_in_arun_lone_async_nodes_run_in_the_run_s_own_task() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    async def where(state: Log) -> dict[str, object]:
        tasks.append(asyncio.current_task())
        return {"n": state["n"] + 1}

    graph = OrkesGraph(Log).add_node("first", where).add_node("second", where)
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", END)
    runner = GraphRunner(graph.compile())

    async def caller() -> asyncio.Task[Any] | None:
        assert await runner.arun({"n": 0}) == {"n": 2}
        return asyncio.current_task()

    caller_task = asyncio.run(caller())
    assert tasks[0] is tasks[1]  # awaited in place, one step after the other
    assert tasks[0] is not caller_task  # but not in the caller's task: its context is safe


def test_what_nodes_set_in_contextvars_never_reaches_the_caller(driver: Driver) -> None:
    def login(state: Log) -> dict[str, object]:
        REQUEST.set("alice")
        return {"n": 1}

    def after(state: Log) -> dict[str, object]:
        return {"log": [REQUEST.get()]}

    graph = OrkesGraph(Log).add_node("login", login).add_node("after", after)
    graph.add_edge(START, "login").add_edge("login", "after").add_edge("after", END)
    runner = GraphRunner(graph.compile())
    token = REQUEST.set("caller")
    try:
        for _ in range(3):
            result = driver(runner, {"n": 0, "log": []})
            assert REQUEST.get() == "caller"
            # Whether a later node sees it is not promised (nodes share through the state).
            assert result["log"] in (["alice"], ["caller"])
    finally:
        REQUEST.reset(token)


def test_contextvars_set_by_the_caller_are_visible_in_every_node(driver: Driver) -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    token = request_id.set("req-42")
    try:

        def sees(name: str) -> Callable[[Log], dict[str, object]]:
            def node(state: Log) -> dict[str, object]:
                return {"log": [f"{name}:{request_id.get('unset')}"]}

            return node

        graph = OrkesGraph(Log).add_node("first", sees("first")).add_edge(START, "first")
        for name in ("p", "q", "r"):
            graph.add_node(name, sees(name)).add_edge("first", name).add_edge(name, END)
        result = driver(GraphRunner(graph.compile()), {"log": []})
    finally:
        request_id.reset(token)
    assert result == {"log": ["first:req-42", "p:req-42", "q:req-42", "r:req-42"]}


def test_a_base_exception_in_a_parallel_node_on_a_worker_does_not_hang_the_run(
    driver: Driver,
) -> None:
    # The node that lands on a pool worker raises a BaseException (sys.exit() in a node,
    # say); the one on the caller's thread waits until it has. The run must end with it.
    class Stop(BaseException):
        pass

    raised = threading.Event()

    def node(state: Log) -> None:
        if threading.current_thread().name.startswith("orkes-node"):
            raised.set()
            raise Stop
        raised.wait(1.0)

    runner = fan_out({"a": node, "b": node})
    with pytest.raises(Stop):
        finishes_within(2.0, lambda: driver(runner, {}))


# --- async nodes -----------------------------------------------------------------------------


def test_async_nodes_are_gathered_concurrently() -> None:
    # Each node sets its own event, then waits for the other's: only concurrency finishes.
    async def main() -> Log:
        events = {"ping": asyncio.Event(), "pong": asyncio.Event()}

        def meet(name: str, other: str) -> Callable[[Log], Coroutine[Any, Any, dict[str, object]]]:
            async def node(state: Log) -> dict[str, object]:
                events[name].set()
                await asyncio.wait_for(events[other].wait(), TIMEOUT)
                return {"log": [name]}

            return node

        graph = OrkesGraph(Log).add_node("ping", meet("ping", "pong"))
        graph.add_node("pong", meet("pong", "ping")).add_edge(START, "ping")
        graph.add_edge(START, "pong").add_edge("ping", END).add_edge("pong", END)
        return await GraphRunner(graph.compile()).arun({"log": []})

    assert asyncio.run(main()) == {"log": ["ping", "pong"]}


def test_parallel_sync_nodes_in_arun_do_not_block_the_event_loop() -> None:
    sync_done = threading.Event()

    def blocking(state: Log) -> dict[str, object]:
        time.sleep(0.05)
        sync_done.set()
        return {"log": ["blocking"]}

    async def polling(state: Log) -> dict[str, object]:
        ticks = 0
        while not sync_done.is_set():
            ticks += 1
            assert ticks < TIMEOUT * 1000
            await asyncio.sleep(0.001)
        return {"log": [f"polling after {'some' if ticks else 'no'} ticks"]}

    graph = OrkesGraph(Log).add_node(blocking).add_node(polling).add_edge(START, "blocking")
    graph.add_edge(START, "polling").add_edge("blocking", END).add_edge("polling", END)
    result = asyncio.run(GraphRunner(graph.compile()).arun({"log": []}))
    assert result == {"log": ["blocking", "polling after some ticks"]}


def test_one_runner_serves_many_asyncio_tasks_at_once() -> None:
    async def slow_double(state: Log) -> dict[str, object]:
        await asyncio.sleep(0.001)
        return {"n": state["n"] * 2}

    async def tag(state: Log) -> dict[str, object]:
        await asyncio.sleep(0)
        return {"log": [f"tag{state['n']}"]}

    graph = OrkesGraph(Log).add_node(slow_double).add_node(tag).add_node("plain", increment)
    graph.add_edge(START, "slow_double").add_edge("slow_double", "tag")
    graph.add_edge("slow_double", "plain").add_edge("tag", END).add_edge("plain", END)
    runner = GraphRunner(graph.compile())

    async def main() -> list[Log]:
        return list(await asyncio.gather(*(runner.arun({"n": i, "log": []}) for i in range(50))))

    assert asyncio.run(main()) == [{"n": 2 * i + 1, "log": [f"tag{2 * i}"]} for i in range(50)]


def increment(state: Log) -> dict[str, object]:
    return {"n": state["n"] + 1}


# --- nested runs -----------------------------------------------------------------------------


def inner_runner() -> GraphRunner[Log]:
    def leaf(name: str) -> Callable[[Log], dict[str, object]]:
        def node(state: Log) -> dict[str, object]:
            time.sleep(0.0005)
            return {"log": [f"{name}{state['n']}"]}

        return node

    graph = OrkesGraph(Log).add_node("root", lambda state: None).add_edge(START, "root")
    for name in ("w", "x", "y", "z"):
        graph.add_node(name, leaf(name)).add_edge("root", name).add_edge(name, END)
    return GraphRunner(graph.compile())


def test_nested_parallel_runs_many_at_once_do_not_deadlock(driver: Driver) -> None:
    # 70 outer branches (more than the pool has threads), each running a graph that fans
    # out 4 ways: the pool fills up, and nobody may wait for a task nobody will take.
    inner = inner_runner()

    def outer(index: int) -> Callable[[Log], dict[str, object]]:
        def node(state: Log) -> dict[str, object]:
            return {"log": inner.run({"n": index, "log": []})["log"]}

        return node

    names = {f"outer{index:02d}": outer(index) for index in range(70)}
    runner = fan_out(names)
    result = finishes_within(4 * TIMEOUT, lambda: driver(runner, {"log": []}))
    assert result == {"log": [f"{leaf}{i}" for i in range(70) for leaf in "wxyz"]}


def test_async_nodes_awaiting_nested_runs_many_at_once() -> None:
    inner = inner_runner()

    def outer(index: int) -> Callable[[Log], Coroutine[Any, Any, dict[str, object]]]:
        async def node(state: Log) -> dict[str, object]:
            return {"log": (await inner.arun({"n": index, "log": []}))["log"]}

        return node

    graph = OrkesGraph(Log)
    for index in range(30):
        name = f"outer{index:02d}"
        graph.add_node(name, outer(index)).add_edge(START, name).add_edge(name, END)
    runner = GraphRunner(graph.compile())
    result = finishes_within(4 * TIMEOUT, lambda: asyncio.run(runner.arun({"log": []})))
    assert result == {"log": [f"{leaf}{i}" for i in range(30) for leaf in "wxyz"]}


def test_a_nested_run_failing_is_reported_by_the_outer_node(driver: Driver) -> None:
    def broken(state: Log) -> None:
        raise ValueError("inner broke")

    inner = fan_out({"fine": lambda state: None, "broken": broken})

    def outer(state: Log) -> None:
        inner.run({})

    runner = fan_out({"outer": outer, "other": lambda state: None})
    with pytest.raises(NodeError) as caught:
        finishes_within(TIMEOUT, lambda: driver(runner, {}))
    # The error names the whole path, and is chained to the innermost cause.
    assert caught.value.node == "outer > broken"
    assert str(caught.value).startswith("node 'outer > broken' raised ValueError: inner broke")
    assert isinstance(caught.value.__cause__, ValueError)


# --- one graph, one runner, many threads -----------------------------------------------------


def shared_runner() -> GraphRunner[Work]:
    """Fan out to two branches, join them, then loop ``rounds`` times: all per-run data."""

    def split(state: Work) -> dict[str, object]:
        return {"log": [f"split{state['seed']}"]}

    def left(state: Work) -> dict[str, object]:
        time.sleep(0.0002)
        return {"total": state["seed"]}

    def right(state: Work) -> dict[str, object]:
        return {"total": 1000}

    def count(state: Work) -> dict[str, object]:
        return {"rounds": state["rounds"] - 1, "log": ["count"]}

    def more(state: Work) -> Literal["split", "END"]:
        return "split" if state["rounds"] > 0 else "END"

    graph = OrkesGraph(Work).add_node(split).add_node(left).add_node(right).add_node(count)
    graph.add_edge(START, "split").add_edge("split", "left").add_edge("split", "right")
    graph.add_edge(["left", "right"], "count", max_passes=5)
    return GraphRunner(graph.add_conditional_edge("count", more).compile())


def expected_work(seed: int, rounds: int) -> Work:
    return {
        "seed": seed,
        "rounds": 0,
        "log": [f"split{seed}", "count"] * rounds,
        "total": rounds * (seed + 1000),
    }


def test_sixteen_threads_share_one_compiled_graph_and_one_runner(driver: Driver) -> None:
    runner = shared_runner()
    start_together = threading.Barrier(16, timeout=TIMEOUT)
    mismatches: list[tuple[int, Work, Work]] = []

    failures: list[BaseException] = []

    def caller(seed: int) -> None:
        try:
            start_together.wait()
            for attempt in range(10):
                rounds = (seed + attempt) % 5 + 1
                result = driver(runner, {"seed": seed, "rounds": rounds, "log": [], "total": 0})
                expected = expected_work(seed, rounds)
                if result != expected:
                    mismatches.append((seed, result, expected))
        except BaseException as exc:  # reported by the assertions below
            failures.append(exc)

    threads = [threading.Thread(target=caller, args=(seed,), daemon=True) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(6 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert mismatches == []


REQUEST = contextvars.ContextVar("REQUEST", default="unset")


def test_parallel_nodes_keep_what_they_set_in_context_to_themselves(driver: Driver) -> None:
    def setter(state: Log) -> dict[str, object]:
        REQUEST.set("set-by-a")
        return {"log": ["a"]}

    def reader(state: Log) -> dict[str, object]:
        return {"log": [f"b:{REQUEST.get()}"]}

    def after(state: Log) -> dict[str, object]:
        return {"log": [f"c:{REQUEST.get()}"]}

    graph = OrkesGraph(Log).add_node("a", setter).add_node("b", reader).add_node("c", after)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c").add_edge("c", END)
    runner = GraphRunner(graph.compile())
    REQUEST.set("caller")
    for _ in range(50):  # whichever thread takes which task
        assert driver(runner, {"log": []}) == {"log": ["a", "b:caller", "c:caller"]}
