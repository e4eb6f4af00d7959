"""Streaming a run: ``runner.stream`` and ``runner.astream`` as one suite.

Each scenario that applies to both takes the ``collect`` fixture: it runs the stream to
its end through ``stream`` (sync) or ``astream`` (async) and returns the events and the
final state, so the two are held to the same expectations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import operator
import pickle
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Protocol, TypedDict

import pytest

from orkes import (
    END,
    START,
    Command,
    CompiledGraph,
    EchoLlmConnector,
    GraphRunner,
    OrkesGraph,
    RetryPolicy,
    RunContext,
)
from orkes.errors import GraphDefinitionError, NodeError, RunStopped
from orkes.events import Custom, Event, StreamMode, TaskEnd, TaskStart, Token, Update, Values
from orkes.tracing import Tracer

# --- schemas and graphs --------------------------------------------------------------------


class Plain(TypedDict, total=False):
    """Keys with no reducer: an update replaces the value."""

    a: int
    b: int
    c: int


class Log(TypedDict, total=False):
    """A log that parallel nodes append to."""

    log: Annotated[list[str], operator.add]


class Chat(TypedDict, total=False):
    """Two parallel LLM replies."""

    question: str
    left: str
    right: str


class Deep(TypedDict, total=False):
    """One key shared by every level of nested subgraphs."""

    hits: Annotated[list[str], operator.add]


def chain() -> GraphRunner[Plain]:
    """START -> one -> two -> three -> END, each writing a key from the one before."""
    graph = OrkesGraph(Plain)
    graph.add_node("one", lambda s: {"a": 1})
    graph.add_node("two", lambda s: {"b": s["a"] + 10})
    graph.add_node("three", lambda s: {"c": s["b"] * 2, "a": 5})
    graph.add_edge(START, "one").add_edge("one", "two").add_edge("two", "three")
    graph.add_edge("three", END)
    return GraphRunner(graph.compile())


def chain_events() -> list[Event]:
    """What ``chain()`` streams with modes ``("updates", "values")`` from ``{}``."""
    return [
        Values({}, step=0),
        Update("one", {"a": 1}, step=1),
        Values({"a": 1}, step=1),
        Update("two", {"b": 11}, step=2),
        Values({"a": 1, "b": 11}, step=2),
        Update("three", {"c": 22, "a": 5}, step=3),
        Values({"a": 5, "b": 11, "c": 22}, step=3),
    ]


# --- one suite, two drivers ----------------------------------------------------------------


class Collect(Protocol):
    """Streams ``runner`` from ``state`` to the end: (events, final state)."""

    def __call__(
        self,
        runner: GraphRunner[Any],
        state: Mapping[str, Any],
        /,
        modes: Iterable[StreamMode] | StreamMode = ("updates",),
        tracer: Tracer | None = None,
    ) -> tuple[list[Event], dict[str, Any]]: ...


def collect_sync(
    runner: GraphRunner[Any],
    state: Mapping[str, Any],
    /,
    modes: Iterable[StreamMode] | StreamMode = ("updates",),
    tracer: Tracer | None = None,
) -> tuple[list[Event], dict[str, Any]]:
    with runner.stream(state, modes=modes, tracer=tracer) as stream:
        events = list(stream)
        return events, dict(stream.result)


def collect_async(
    runner: GraphRunner[Any],
    state: Mapping[str, Any],
    /,
    modes: Iterable[StreamMode] | StreamMode = ("updates",),
    tracer: Tracer | None = None,
) -> tuple[list[Event], dict[str, Any]]:
    async def main() -> tuple[list[Event], dict[str, Any]]:
        async with await runner.astream(state, modes=modes, tracer=tracer) as stream:
            events = [event async for event in stream]
            return events, dict(await stream.aresult())

    return asyncio.run(main())


COLLECTORS: dict[str, Collect] = {"sync": collect_sync, "async": collect_async}


@pytest.fixture(params=list(COLLECTORS))
def collect(request: pytest.FixtureRequest) -> Collect:
    """Each stream scenario runs once through ``stream`` and once through ``astream``."""
    name: str = request.param
    return COLLECTORS[name]


def first_event_then_close(runner: GraphRunner[Any], state: Mapping[str, Any], mode: str) -> Event:
    """Take the first event of a stream, then stop it (sync or async)."""
    if mode == "sync":
        with runner.stream(state) as stream:
            for event in stream:
                return event
        raise AssertionError("no event")

    async def main() -> Event:
        async with await runner.astream(state) as stream:
            async for event in stream:
                return event
        raise AssertionError("no event")

    return asyncio.run(main())


# --- order and values ----------------------------------------------------------------------


def test_events_of_a_deterministic_graph_come_in_one_fixed_order(collect: Collect) -> None:
    runner = chain()
    for _ in range(3):
        events, result = collect(runner, {}, ("updates", "values"))
        assert events == chain_events()
        assert result == {"a": 5, "b": 11, "c": 22}


def test_values_at_the_start_and_after_each_step_the_last_equals_run(collect: Collect) -> None:
    runner = chain()
    events, result = collect(runner, {"a": 0}, ("values",))
    assert all(isinstance(e, Values) for e in events)
    assert [e.step for e in events] == [0, 1, 2, 3]
    first, last = events[0], events[-1]
    assert isinstance(first, Values)
    assert first.state == {"a": 0}
    assert isinstance(last, Values)
    assert last.state == runner.run({"a": 0}) == result


def test_result_after_exhausting_equals_run(collect: Collect) -> None:
    runner = chain()
    _, result = collect(runner, {"c": 3})
    assert result == runner.run({"c": 3}) == {"a": 5, "b": 11, "c": 22}


def test_sync_stream_result_after_list_equals_run() -> None:
    runner = chain()
    stream = runner.stream({})
    assert len(list(stream)) == 3
    assert stream.result == runner.run({})


def test_result_without_iterating_runs_to_the_end() -> None:
    runner = chain()
    assert runner.stream({}).result == runner.run({})

    async def main() -> Plain:
        return await runner.astream({}).aresult()

    assert asyncio.run(main()) == runner.run({})


def test_async_result_before_the_end_raises_run_stopped() -> None:
    async def main() -> None:
        stream = await chain().astream({})
        with pytest.raises(RunStopped, match="still going"):
            _ = stream.result
        await stream.aclose()

    asyncio.run(main())


def test_updates_applied_in_order_rebuild_the_final_state(collect: Collect) -> None:
    graph = OrkesGraph(Plain)
    graph.add_node("x", lambda s: {"a": 2})
    graph.add_node("y", lambda s: {"b": 3})
    graph.add_node("z", lambda s: {"a": s["a"] + s["b"], "c": 7})
    graph.add_edge(START, "x").add_edge(START, "y").add_edge(["x", "y"], "z").add_edge("z", END)
    events, result = collect(GraphRunner(graph.compile()), {"c": 1})
    rebuilt: dict[str, Any] = {"c": 1}
    for event in events:
        assert isinstance(event, Update)
        rebuilt.update(event.update)
    assert [(e.node, e.step) for e in events if isinstance(e, Update)] == [
        ("x", 1),
        ("y", 1),
        ("z", 2),
    ]
    assert rebuilt == result == {"a": 5, "b": 3, "c": 7}


class Mixed(TypedDict, total=False):
    """A plain key and a reducer key, for nodes that return in every way they may."""

    a: int
    log: Annotated[list[str], operator.add]


@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
def test_every_way_a_node_returns_streams_the_keys_it_wrote(collect: Collect, traced: bool) -> None:
    def mutates(state: Mixed) -> Mixed:
        state["a"] = 2
        return state

    graph = OrkesGraph(Mixed)
    graph.add_node("fresh", lambda s: {"a": 1, "log": ["fresh"]})
    graph.add_node("mutates", mutates)
    graph.add_node("nothing", lambda s: None)
    command = Command(update={"a": 3}, goto="last")
    graph.add_node("command", lambda s: command, destinations=("last",))
    graph.add_node("last", lambda s: {"log": ["last"]})
    graph.add_edge(START, "fresh").add_edge("fresh", "mutates").add_edge("mutates", "nothing")
    graph.add_edge("nothing", "command").add_edge("last", END)
    tracer = Tracer() if traced else None
    events, result = collect(GraphRunner(graph.compile()), {"log": []}, tracer=tracer)
    assert [(e.node, e.update, e.step) for e in events if isinstance(e, Update)] == [
        ("fresh", {"a": 1, "log": ["fresh"]}, 1),
        ("mutates", {"a": 2}, 2),
        ("nothing", {}, 3),
        ("command", {"a": 3}, 4),
        ("last", {"log": ["last"]}, 5),
    ]
    assert result == {"a": 3, "log": ["fresh", "last"]}
    if tracer is not None:
        assert tracer.last is not None
        assert [(t.node, t.update) for t in tracer.last.tasks] == [
            (e.node, e.update) for e in events if isinstance(e, Update)
        ]


def test_an_update_s_dict_is_its_own_and_serializable(collect: Collect) -> None:
    written = {"a": 1}  # a node that returns the same dict every time
    graph = OrkesGraph(Plain).add_node("one", lambda s: written).add_node("two", lambda s: None)
    graph.add_edge(START, "one").add_edge("one", "two").add_edge("two", END)
    runner = GraphRunner(graph.compile())
    events, _ = collect(runner, {})
    first, nothing = events
    assert isinstance(first, Update)
    assert isinstance(nothing, Update)
    first.update["a"] = 99
    nothing.update["b"] = 7
    assert written == {"a": 1}
    assert collect(runner, {})[0] == [Update("one", {"a": 1}, step=1), Update("two", {}, step=2)]
    assert json.loads(json.dumps(dataclasses.asdict(first))) == {
        "node": "one",
        "update": {"a": 99},
        "cached": False,
        "step": 1,
        "path": [],
    }
    assert pickle.loads(pickle.dumps(first)) == first


def test_several_modes_interleave_in_the_order_things_happened(collect: Collect) -> None:
    def report(state: Plain, ctx: RunContext) -> Plain:
        ctx.emit("half")
        return {"a": 1}

    graph = OrkesGraph(Plain).add_node("report", report).add_node("after", lambda s: {"b": 2})
    graph.add_edge(START, "report").add_edge("report", "after").add_edge("after", END)
    modes: tuple[StreamMode, ...] = ("updates", "values", "custom", "tasks")
    events, _ = collect(GraphRunner(graph.compile()), {}, modes)
    kinds = [(e.kind, getattr(e, "node", None), e.step) for e in events]
    assert kinds == [
        ("values", None, 0),
        ("task_start", "report", 1),
        ("custom", "report", 1),
        ("task_end", "report", 1),
        ("update", "report", 1),
        ("values", None, 1),
        ("task_start", "after", 2),
        ("task_end", "after", 2),
        ("update", "after", 2),
        ("values", None, 2),
    ]
    custom = events[2]
    assert isinstance(custom, Custom)
    assert custom.payload == "half"


# --- events arrive as they happen ----------------------------------------------------------


def slow_second() -> tuple[GraphRunner[Plain], list[str]]:
    calls: list[str] = []

    def fast(state: Plain) -> Plain:
        calls.append("fast")
        return {"a": 1}

    def slow(state: Plain) -> Plain:
        calls.append("slow")
        time.sleep(0.5)
        return {"b": 2}

    graph = OrkesGraph(Plain).add_node("fast", fast).add_node("slow", slow)
    graph.add_edge(START, "fast").add_edge("fast", "slow").add_edge("slow", END)
    return GraphRunner(graph.compile()), calls


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_first_event_arrives_before_the_slow_second_node_ends(mode: str) -> None:
    runner, _calls = slow_second()

    async def first_async() -> tuple[Update, float]:
        started = time.perf_counter()
        async with await runner.astream({}) as stream:
            async for event in stream:
                return event, time.perf_counter() - started
        raise AssertionError("no event")

    if mode == "sync":
        started = time.perf_counter()
        with runner.stream({}) as stream:
            event = next(iter(stream))
            elapsed = time.perf_counter() - started
            rest = list(stream)
            total = time.perf_counter() - started
        assert [e.node for e in rest if isinstance(e, Update)] == ["slow"]
        assert total >= 0.5
    else:
        event, elapsed = asyncio.run(first_async())
    assert event == Update("fast", {"a": 1}, step=1)
    assert elapsed < 0.3


# --- stopping early ------------------------------------------------------------------------


def stoppable() -> tuple[GraphRunner[Plain], list[str]]:
    calls: list[str] = []

    def first(state: Plain) -> Plain:
        calls.append("first")
        return {"a": 1}

    def second(state: Plain) -> Plain:
        calls.append("second")
        return {"b": 2}

    def third(state: Plain) -> Plain:
        calls.append("third")
        return {"c": 3}

    graph = OrkesGraph(Plain).add_node("first", first).add_node("second", second)
    graph.add_node("third", third)
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", "third")
    graph.add_edge("third", END)
    return GraphRunner(graph.compile()), calls


def foreign_threads(before: set[threading.Thread]) -> list[str]:
    """Threads alive now that were not before, other than the shared pool's workers."""
    return sorted(
        t.name
        for t in threading.enumerate()
        if t not in before and not t.name.startswith("orkes-node_")
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_breaking_out_after_the_first_event_starts_no_later_node(mode: str) -> None:
    runner, calls = stoppable()
    first_event_then_close(runner, {}, mode)  # warm up the pool and the loop machinery
    calls.clear()
    before = set(threading.enumerate())
    event = first_event_then_close(runner, {}, mode)
    assert event == Update("first", {"a": 1}, step=1)
    time.sleep(0.05)
    assert calls == ["first"]
    assert foreign_threads(before) == []


def test_breaking_out_of_a_stream_of_an_async_graph_leaves_no_thread() -> None:
    calls: list[str] = []

    async def first(state: Plain) -> Plain:
        calls.append("first")
        return {"a": 1}

    async def second(state: Plain) -> Plain:
        calls.append("second")
        return {"b": 2}

    graph = OrkesGraph(Plain).add_node("first", first).add_node("second", second)
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", END)
    runner = GraphRunner(graph.compile())
    before = set(threading.enumerate())
    with runner.stream({}) as stream:
        for event in stream:
            assert event == Update("first", {"a": 1}, step=1)
            break
    time.sleep(0.05)
    assert calls == ["first"]
    assert foreign_threads(before) == []


def test_breaking_out_of_astream_leaves_no_task_behind() -> None:
    runner, calls = stoppable()

    async def main() -> tuple[set[asyncio.Task[Any]], set[asyncio.Task[Any]]]:
        before = asyncio.all_tasks()
        async with await runner.astream({}, modes=("updates", "tasks")) as stream:
            async for _ in stream:
                break
        await asyncio.sleep(0.05)
        return before, asyncio.all_tasks()

    before, after = asyncio.run(main())
    assert after == before
    assert calls == ["first"]


@pytest.mark.parametrize("slow_is_async", [False, True], ids=["sync-slow", "async-slow"])
def test_leaving_astream_mid_step_stops_the_step_before_returning(slow_is_async: bool) -> None:
    happened: list[str] = []

    def slow(state: Log) -> Log:
        happened.append("slow started")
        time.sleep(0.3)
        happened.append("slow finished")
        return {"log": ["s"]}

    async def aslow(state: Log) -> Log:
        happened.append("slow started")
        try:
            await asyncio.sleep(0.3)
        except asyncio.CancelledError:
            happened.append("slow cancelled")
            raise
        happened.append("slow finished")
        return {"log": ["s"]}

    async def quick(state: Log) -> Log:
        await asyncio.sleep(0.05)
        return {"log": ["q"]}

    graph = OrkesGraph(Log).add_node("slow", aslow if slow_is_async else slow)
    graph.add_node("quick", quick).add_edge(START, "slow").add_edge(START, "quick")
    app = graph.add_edge("slow", END).add_edge("quick", END).compile()

    async def main() -> int:
        before = len(asyncio.all_tasks())
        async with app.astream({}, modes="tasks") as stream:
            async for event in stream:
                if isinstance(event, TaskEnd):
                    break
        return len(asyncio.all_tasks()) - before  # no sleep: checked right away

    assert asyncio.run(main()) == 0
    expected = "slow cancelled" if slow_is_async else "slow finished"
    assert happened == ["slow started", expected]


def test_breaking_out_of_a_live_stream_waits_for_running_parallel_nodes() -> None:
    ended: list[str] = []

    def quick(state: Log) -> Log:
        return {"log": ["quick"]}

    def slow(state: Log) -> Log:
        time.sleep(0.2)
        ended.append("slow")
        return {"log": ["slow"]}

    def later(state: Log) -> Log:
        ended.append("later")
        return {"log": ["later"]}

    graph = OrkesGraph(Log).add_node("quick", quick).add_node("slow", slow)
    graph.add_node("later", later)
    graph.add_edge(START, "quick").add_edge(START, "slow").add_edge(["quick", "slow"], "later")
    graph.add_edge("later", END)
    runner = GraphRunner(graph.compile())
    with runner.stream({}, modes=("tasks",)) as stream:
        for event in stream:
            if isinstance(event, TaskEnd) and event.node == "quick":
                break
    assert ended == ["slow"]  # waited for; "later" never started


@pytest.mark.parametrize("async_nodes", [False, True], ids=["sync-graph", "async-graph"])
def test_closing_a_stream_from_another_thread_stops_it_at_the_running_node(
    async_nodes: bool,
) -> None:
    started: list[str] = []

    def slow(state: Plain) -> Plain:
        started.append("slow")
        time.sleep(0.3)
        return {"b": 2}

    async def aslow(state: Plain) -> Plain:
        started.append("slow")
        await asyncio.sleep(0.3)
        return {"b": 2}

    def later(state: Plain) -> Plain:
        started.append("later")
        return {"c": 3}

    graph = OrkesGraph(Plain).add_node("first", lambda s: {"a": 1})
    graph.add_node("slow", aslow if async_nodes else slow).add_node("later", later)
    graph.add_edge(START, "first").add_edge("first", "slow").add_edge("slow", "later")
    stream = GraphRunner(graph.add_edge("later", END).compile()).stream({})
    seen: list[Event] = []
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    while "slow" not in started:
        time.sleep(0.01)
    stream.close()  # a web server's other thread, when its client goes away
    reader.join(2)
    assert not reader.is_alive()
    assert started == ["slow"]  # "later" never started
    assert [e.node for e in seen if isinstance(e, Update)] in (["first"], ["first", "slow"])
    with pytest.raises(RunStopped):
        _ = stream.result


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_result_after_close_raises_run_stopped(mode: str) -> None:
    runner, _ = stoppable()
    if mode == "sync":
        stream = runner.stream({})
        next(stream)
        stream.close()
        with pytest.raises(RunStopped, match="closed after step 1"):
            _ = stream.result
        return

    async def main() -> None:
        stream = await runner.astream({})
        await stream.__anext__()
        await stream.aclose()
        with pytest.raises(RunStopped, match="closed after step 1"):
            _ = stream.result
        with pytest.raises(RunStopped):
            await stream.aresult()

    asyncio.run(main())


def close_after(runner: GraphRunner[Any], mode: str, *, enough: Any, then_wait: float = 0) -> float:
    """Stream ``runner`` with mode "tasks" until ``enough(event)``, wait, then close.

    Returns the seconds ``close`` (or leaving ``async with``) took.
    """
    if mode == "sync":
        with runner.stream({}, modes="tasks") as stream:
            for event in stream:
                if enough(event):
                    time.sleep(then_wait)
                    started = time.perf_counter()
                    break
        return time.perf_counter() - started

    async def main() -> float:
        async with runner.astream({}, modes="tasks") as stream:
            async for event in stream:
                if enough(event):
                    await asyncio.sleep(then_wait)
                    started = time.perf_counter()
                    break
        return time.perf_counter() - started

    return asyncio.run(main())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_closing_a_stream_mid_subgraph_starts_none_of_the_subgraph_s_later_nodes(
    mode: str,
) -> None:
    started: list[str] = []

    def step(name: str) -> Any:
        def node(state: Log) -> Log:
            started.append(name)
            time.sleep(0.1)
            return {"log": [name]}

        return node

    inner = OrkesGraph(Log, name="inner")
    for name in ("i1", "i2", "i3"):
        inner.add_node(name, step(name))
    inner.add_edge(START, "i1").add_edge("i1", "i2").add_edge("i2", "i3").add_edge("i3", END)
    outer = OrkesGraph(Log).add_node(inner.compile()).add_node("beside", step("beside"))
    outer.add_edge(START, "inner").add_edge(START, "beside")
    runner = GraphRunner(outer.add_edge("inner", END).add_edge("beside", END).compile())
    took = close_after(runner, mode, enough=lambda e: isinstance(e, TaskStart), then_wait=0.03)
    assert sorted(started) == ["beside", "i1"]  # i2 and i3 never started
    assert took < 0.3


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_closing_a_stream_while_a_retry_waits_its_backoff_starts_no_attempt(mode: str) -> None:
    attempts: list[int] = []

    def flaky(state: Log, ctx: RunContext) -> Log:
        attempts.append(ctx.attempt)
        raise ConnectionError("down")

    retry = RetryPolicy(max_attempts=3, initial_delay=5, jitter=False)
    graph = OrkesGraph(Log).add_node("flaky", flaky, retry=retry)
    runner = GraphRunner(graph.add_edge(START, "flaky").add_edge("flaky", END).compile())
    took = close_after(runner, mode, enough=lambda e: isinstance(e, TaskEnd))
    time.sleep(0.05)
    assert attempts == [1]
    assert took < 1  # not the 5 s backoff


# --- modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modes", "problem"),
    [
        (("updates", "nonsense"), "unknown stream mode 'nonsense'"),
        ((), "no stream mode given"),
        ("token", "unknown stream mode 'token'"),
    ],
)
def test_an_unknown_or_missing_mode_is_refused(modes: Any, problem: str) -> None:
    runner = chain()
    message = f"{problem}; modes are 'updates', 'values', 'custom', 'messages', 'tasks'"
    with pytest.raises(GraphDefinitionError) as caught:
        runner.stream({}, modes=modes)
    assert str(caught.value) == message
    with pytest.raises(GraphDefinitionError) as caught:
        runner.astream({}, modes=modes)
    assert str(caught.value) == message


def test_a_single_mode_may_be_a_string(collect: Collect) -> None:
    runner = chain()
    events, _ = collect(runner, {}, "values")
    assert [type(e) for e in events] == [Values] * 4


def echo_node(key: str) -> Any:
    def node(state: Chat) -> Chat:
        reply = EchoLlmConnector().invoke([{"role": "user", "content": f"{key} side please"}])
        return {key: reply["content"]}  # type: ignore[misc]

    return node


def two_llms(stream_right: bool = True) -> GraphRunner[Chat]:
    graph = OrkesGraph(Chat).add_node("left", echo_node("left"))
    graph.add_node("right", echo_node("right"), stream_tokens=stream_right)
    graph.add_edge(START, "left").add_edge(START, "right")
    graph.add_edge("left", END).add_edge("right", END)
    return GraphRunner(graph.compile())


def texts(events: list[Event], node: str) -> str:
    return "".join(e.text for e in events if isinstance(e, Token) and e.node == node)


def test_tokens_of_two_parallel_nodes_both_arrive_tagged_with_their_node(
    collect: Collect,
) -> None:
    events, result = collect(two_llms(), {}, ("messages",))
    assert all(isinstance(e, Token) for e in events)
    assert texts(events, "left") == "I echo: left side please" == result["left"]
    assert texts(events, "right") == "I echo: right side please" == result["right"]
    ids = {e.node: e.message_id for e in events if isinstance(e, Token)}
    assert ids.keys() == {"left", "right"}
    assert ids["left"] != ids["right"]
    assert all(e.step == 1 and e.path == () for e in events)


def test_stream_tokens_false_keeps_a_nodes_tokens_out(collect: Collect) -> None:
    events, result = collect(two_llms(stream_right=False), {}, ("messages",))
    assert {e.node for e in events if isinstance(e, Token)} == {"left"}
    assert texts(events, "left") == "I echo: left side please"
    assert result["right"] == "I echo: right side please"


def test_no_tokens_unless_messages_is_streamed(collect: Collect) -> None:
    events, _ = collect(two_llms(), {}, ("updates",))
    assert sorted(e.node for e in events if isinstance(e, Update)) == ["left", "right"]
    assert not any(isinstance(e, Token) for e in events)


def test_tasks_mode_gives_a_start_and_an_end_for_each_task(collect: Collect) -> None:
    events, _ = collect(chain(), {}, ("tasks",))
    assert [(type(e), getattr(e, "node", None)) for e in events] == [
        (TaskStart, "one"),
        (TaskEnd, "one"),
        (TaskStart, "two"),
        (TaskEnd, "two"),
        (TaskStart, "three"),
        (TaskEnd, "three"),
    ]
    for start, end in zip(events[::2], events[1::2], strict=True):
        assert isinstance(start, TaskStart)
        assert isinstance(end, TaskEnd)
        assert start.attempt == end.attempt == 1
        assert start.task_id == end.task_id != ""
        assert start.step == end.step
        assert end.error is None
        assert end.seconds >= 0
    assert len({e.task_id for e in events if isinstance(e, TaskStart)}) == 3


def test_custom_events_carry_the_payload_node_and_step(collect: Collect) -> None:
    def progress(state: Plain, ctx: RunContext) -> Plain:
        for i in range(3):
            ctx.emit({"done": i})
        return {"a": 1}

    graph = OrkesGraph(Plain).add_node("start", lambda s: {"c": 0}).add_node("progress", progress)
    graph.add_edge(START, "start").add_edge("start", "progress").add_edge("progress", END)
    events, result = collect(GraphRunner(graph.compile()), {}, ("custom",))
    assert events == [Custom("progress", {"done": i}, step=2) for i in range(3)]
    assert result == {"a": 1, "c": 0}


def test_emit_without_a_custom_stream_does_nothing(collect: Collect) -> None:
    def progress(state: Plain, ctx: RunContext) -> Plain:
        ctx.emit("ignored")
        return {"a": 1}

    graph = OrkesGraph(Plain).add_node("progress", progress)
    graph.add_edge(START, "progress").add_edge("progress", END)
    runner = GraphRunner(graph.compile())
    events, result = collect(runner, {}, ("updates",))
    assert events == [Update("progress", {"a": 1}, step=1)]
    assert runner.run({}) == result == {"a": 1}


# --- subgraphs -----------------------------------------------------------------------------


def nested(fail: bool = False) -> GraphRunner[Deep]:
    """outer > research > search, three graphs deep; ``search`` speaks an LLM."""

    def search(state: Deep, ctx: RunContext) -> Deep:
        if fail:
            raise ValueError("no results")
        ctx.emit("searching")
        reply = EchoLlmConnector().invoke([{"role": "user", "content": "find"}])
        return {"hits": [reply["content"]]}

    inner = OrkesGraph(Deep).add_node("search", search)
    inner.add_edge(START, "search").add_edge("search", END)
    middle = OrkesGraph(Deep).add_node("research", inner.compile())
    middle.add_edge(START, "research").add_edge("research", END)
    top = OrkesGraph(Deep).add_node("outer", middle.compile())
    top.add_edge(START, "outer").add_edge("outer", END)
    return GraphRunner(top.compile())


def test_events_from_a_subgraph_three_levels_down_carry_their_path(collect: Collect) -> None:
    modes: tuple[StreamMode, ...] = ("updates", "custom", "messages", "tasks")
    events, result = collect(nested(), {}, modes)
    assert result == {"hits": ["I echo: find"]}
    search = [e for e in events if getattr(e, "node", None) == "search"]
    assert {type(e) for e in search} == {Custom, Token, TaskStart, TaskEnd, Update}
    assert all(e.path == ("outer", "research") for e in search)
    tokens = [e for e in search if isinstance(e, Token)]
    assert "".join(t.text for t in tokens) == "I echo: find"
    custom = [e for e in search if isinstance(e, Custom)]
    assert [c.payload for c in custom] == ["searching"]
    research = [e for e in events if getattr(e, "node", None) == "research"]
    assert research
    assert all(e.path == ("outer",) for e in research)
    outer = [e for e in events if getattr(e, "node", None) == "outer"]
    assert outer
    assert all(e.path == () for e in outer)
    top_updates = [e for e in events if isinstance(e, Update) and e.path == ()]
    assert top_updates == [Update("outer", {"hits": ["I echo: find"]}, step=1)]


def test_tokens_of_a_subgraph_node_carry_the_subgraph_path(collect: Collect) -> None:
    events, _ = collect(nested(), {}, ("messages",))
    assert events
    assert all(isinstance(e, Token) for e in events)
    assert {(e.node, e.path) for e in events if isinstance(e, Token)} == {
        ("search", ("outer", "research"))
    }


def test_tokens_of_a_plain_node_inside_a_subgraph_arrive(collect: Collect) -> None:
    def speak(state: Deep) -> Deep:  # no context: the loops call it inline
        reply = EchoLlmConnector().invoke([{"role": "user", "content": "hi there"}])
        return {"hits": [reply["content"]]}

    inner = OrkesGraph(Deep).add_node("speak", speak)
    inner.add_edge(START, "speak").add_edge("speak", END)
    top = OrkesGraph(Deep).add_node("sub", inner.compile())
    runner = GraphRunner(top.add_edge(START, "sub").add_edge("sub", END).compile())
    events, _ = collect(runner, {}, ("messages",))
    tokens = [e for e in events if isinstance(e, Token)]
    assert "".join(t.text for t in tokens) == "I echo: hi there"
    assert {(t.node, t.path) for t in tokens} == {("speak", ("sub",))}


def test_a_gate_s_emit_reaches_a_custom_stream(collect: Collect) -> None:
    def gate(state: Plain, ctx: RunContext) -> str:
        ctx.emit({"routing": state["a"]})
        return "END"

    graph = OrkesGraph(Plain).add_node("first", lambda s: {"a": 7})
    graph.add_edge(START, "first").add_conditional_edge("first", gate)
    events, result = collect(GraphRunner(graph.compile()), {}, ("custom", "updates"))
    assert events == [
        Custom("first", {"routing": 7}, step=1),
        Update("first", {"a": 7}, step=1),
    ]
    assert result == {"a": 7}


def test_a_subgraph_three_levels_down_fails_with_its_whole_path(collect: Collect) -> None:
    with pytest.raises(NodeError) as caught:
        collect(nested(fail=True), {}, ("updates",))
    assert str(caught.value).startswith(
        "node 'outer > research > search' raised ValueError: no results"
    )
    assert caught.value.node == "outer > research > search"
    assert isinstance(caught.value.__cause__, ValueError)


# --- failures ------------------------------------------------------------------------------


def failing() -> GraphRunner[Plain]:
    def boom(state: Plain) -> Plain:
        raise ValueError("bad input")

    graph = OrkesGraph(Plain).add_node("ok", lambda s: {"a": 1}).add_node("boom", boom)
    graph.add_edge(START, "ok").add_edge("ok", "boom").add_edge("boom", END)
    return GraphRunner(graph.compile())


@pytest.mark.parametrize("modes", [("updates",), ("updates", "tasks")])
def test_a_failing_node_raises_node_error_from_iteration_and_result(
    modes: tuple[StreamMode, ...],
) -> None:
    stream = failing().stream({}, modes=modes)
    seen: list[Event] = []
    with pytest.raises(NodeError, match="node 'boom' raised ValueError: bad input") as caught:
        seen.extend(stream)
    assert Update("ok", {"a": 1}, step=1) in seen
    with pytest.raises(NodeError) as again:
        _ = stream.result
    assert again.value is caught.value
    assert list(stream) == []


def test_a_failing_node_raises_node_error_from_result() -> None:
    with pytest.raises(NodeError, match="node 'boom' raised ValueError: bad input"):
        _ = failing().stream({}).result


def test_a_failing_node_raises_node_error_from_astream() -> None:
    async def main() -> None:
        stream = await failing().astream({}, modes=("updates", "tasks"))
        with pytest.raises(NodeError, match="node 'boom' raised ValueError") as caught:
            async for _ in stream:
                pass
        with pytest.raises(NodeError) as again:
            _ = stream.result
        assert again.value is caught.value
        with pytest.raises(NodeError):
            await stream.aresult()

    asyncio.run(main())


def test_a_failed_attempt_shows_in_its_task_end() -> None:
    got: list[Event] = []
    with pytest.raises(NodeError):
        got.extend(failing().stream({}, modes=("tasks",)))
    assert [(type(e), getattr(e, "node", None)) for e in got] == [
        (TaskStart, "ok"),
        (TaskEnd, "ok"),
        (TaskStart, "boom"),
        (TaskEnd, "boom"),
    ]
    end = got[-1]
    assert isinstance(end, TaskEnd)
    assert isinstance(end.error, ValueError)
    assert str(end.error) == "bad input"


def test_compiled_graph_stream_is_a_shortcut() -> None:
    compiled: CompiledGraph[Plain] = chain().compiled
    events = list(compiled.stream({}, modes=("updates", "values")))
    assert events == chain_events()
