"""Node policies: retry with backoff, timeouts, and the cache of updates.

Every run-time scenario goes through both drivers (``run`` and ``arun``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from orkes import END, START, CachePolicy, GraphRunner, OrkesGraph, RetryPolicy, RunContext
from orkes.errors import GraphDefinitionError, NodeError, NodeTimeout, RateLimited
from orkes.events import Event, TaskStart, Update

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class State(TypedDict, total=False):
    x: int
    y: int
    tag: str


def one_node(fn: Any, **options: Any) -> GraphRunner[State]:
    graph = OrkesGraph(State).add_node("work", fn, **options)
    return GraphRunner(graph.add_edge(START, "work").add_edge("work", END).compile())


FAST: dict[str, Any] = {"initial_delay": 0.001, "jitter": False}


def flaky(failures: int, error: type[Exception] = TimeoutError) -> tuple[Any, list[int]]:
    """A node failing its first ``failures`` calls, and the list of its calls."""
    calls: list[int] = []

    def work(state: State) -> dict[str, object]:
        calls.append(state["x"])
        if len(calls) <= failures:
            raise error(f"failure {len(calls)}")
        return {"y": state["x"] * 2}

    return work, calls


# --- retry -------------------------------------------------------------------------------------


def test_a_retried_node_succeeds_on_its_third_attempt(driver: Driver) -> None:
    work, calls = flaky(2)
    runner = one_node(work, retry=RetryPolicy(max_attempts=3, **FAST))
    assert driver(runner, {"x": 5}) == {"x": 5, "y": 10}
    assert calls == [5, 5, 5]


def test_an_async_node_is_retried_alike(driver: Driver) -> None:
    calls: list[int] = []

    async def work(state: State) -> dict[str, object]:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return {"y": 1}

    runner = one_node(work, retry=RetryPolicy(max_attempts=3, **FAST))
    assert driver(runner, {"x": 0}) == {"x": 0, "y": 1}
    assert len(calls) == 3


def test_retry_gives_up_after_max_attempts_with_the_last_error(driver: Driver) -> None:
    work, calls = flaky(10)
    runner = one_node(work, retry=RetryPolicy(max_attempts=3, **FAST))
    with pytest.raises(NodeError) as caught:
        driver(runner, {"x": 1})
    error = caught.value
    assert len(calls) == 3
    assert error.attempts == 3
    assert error.node == "work"
    assert isinstance(error.__cause__, TimeoutError)
    assert str(error.__cause__) == "failure 3"
    assert str(error) == (
        f"node 'work' raised TimeoutError: failure 3 on attempt 3 (step 1, run {error.run_id})"
    )


def test_retry_on_a_subgraph_node_judges_what_its_inner_node_raised(driver: Driver) -> None:
    work, calls = flaky(1, ConnectionError)
    inner = OrkesGraph(State).add_node("work", work)
    inner_graph = inner.add_edge(START, "work").add_edge("work", END).compile()
    runner = one_node(inner_graph, retry=RetryPolicy(max_attempts=2, **FAST))
    assert driver(runner, {"x": 3}) == {"x": 3, "y": 6}
    assert calls == [3, 3]  # the whole subgraph ran again
    refusing = one_node(
        OrkesGraph(State).add_node("work", flaky(5, ValueError)[0]).add_edge(START, "work")
        .add_edge("work", END).compile(),
        retry=RetryPolicy(max_attempts=3, **FAST),
    )  # fmt: skip
    with pytest.raises(NodeError) as caught:
        driver(refusing, {"x": 1})
    assert caught.value.attempts == 1  # a ValueError inside is not worth retrying


def test_a_rate_limit_s_retry_after_hint_is_waited_for_up_to_max_delay() -> None:
    limited = RateLimited("slow down", status=429, retry_after=0.3)
    policy = RetryPolicy(initial_delay=0.01, jitter=False)
    assert policy.delay_after(1, limited) == 0.3
    assert (
        RetryPolicy(initial_delay=0.01, max_delay=0.1, jitter=False).delay_after(1, limited) == 0.1
    )
    assert RetryPolicy(initial_delay=1.0, jitter=False).delay_after(1, limited) == 1.0
    assert policy.delay_after(1, RateLimited("no hint", status=429)) == 0.01


@pytest.mark.parametrize(
    "retry_on",
    [
        KeyError,
        (KeyError,),
        [KeyError],
        lambda exc: isinstance(exc, KeyError) and "again" in str(exc),
    ],
    ids=["class", "tuple", "list", "callable"],
)
def test_retry_on_names_what_is_worth_retrying(driver: Driver, retry_on: Any) -> None:
    work, calls = flaky(1, KeyError)
    calls_before = len(calls)

    def again(state: State) -> dict[str, object]:
        try:
            return work(state)  # type: ignore[no-any-return]
        except KeyError:
            raise KeyError("again") from None

    runner = one_node(again, retry=RetryPolicy(max_attempts=3, retry_on=retry_on, **FAST))
    assert driver(runner, {"x": 2}) == {"x": 2, "y": 4}
    assert len(calls) - calls_before == 2


@pytest.mark.parametrize(
    "retry_on",
    [None, KeyError, (KeyError,), lambda exc: isinstance(exc, KeyError)],
    ids=["default", "class", "tuple", "callable"],
)
def test_an_error_that_is_not_retryable_fails_at_once(driver: Driver, retry_on: Any) -> None:
    work, calls = flaky(1, ValueError)
    options: dict[str, Any] = {} if retry_on is None else {"retry_on": retry_on}
    runner = one_node(work, retry=RetryPolicy(max_attempts=5, **options, **FAST))
    with pytest.raises(NodeError) as caught:
        driver(runner, {"x": 1})
    assert calls == [1]
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, ValueError)


def test_backoff_delays_grow_and_stop_at_max_delay() -> None:
    policy = RetryPolicy(
        max_attempts=6, initial_delay=0.5, backoff=2.0, max_delay=3.0, jitter=False
    )
    error = TimeoutError()
    delays = [policy.delay_after(attempt, error) for attempt in range(1, 7)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, None]
    assert policy.delay_after(1, ValueError()) is None  # not retryable: give up


def test_jitter_waits_half_to_all_of_the_delay() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=1.0, backoff=2.0)
    for _ in range(50):
        delay = policy.delay_after(2, TimeoutError())
        assert delay is not None
        assert 1.0 <= delay <= 2.0


def test_the_runner_waits_the_backoff_between_attempts(driver: Driver) -> None:
    stamps: list[float] = []

    def work(state: State) -> dict[str, object]:
        stamps.append(time.monotonic())
        if len(stamps) < 3:
            raise TimeoutError
        return {"y": 0}

    policy = RetryPolicy(max_attempts=3, initial_delay=0.02, backoff=2.0, jitter=False)
    driver(one_node(work, retry=policy), {"x": 0})
    assert stamps[1] - stamps[0] >= 0.02
    assert stamps[2] - stamps[1] >= 0.04


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "RetryPolicy(max_attempts=0): give a positive int"),
        ({"max_attempts": 1.5}, "RetryPolicy(max_attempts=1.5): give a positive int"),
        ({"initial_delay": -1}, "RetryPolicy(initial_delay=-1): give a number of at least 0"),
        ({"backoff": "x"}, "RetryPolicy(backoff='x'): give a number of at least 0"),
        ({"max_delay": -0.1}, "RetryPolicy(max_delay=-0.1): give a number of at least 0"),
        (
            {"retry_on": (ValueError, 3)},
            "RetryPolicy(retry_on=(<class 'ValueError'>, 3)): give exception classes, or a "
            "function of the exception",
        ),
        (
            {"retry_on": [ValueError, "KeyError"]},
            "RetryPolicy(retry_on=(<class 'ValueError'>, 'KeyError')): give exception classes, "
            "or a function of the exception",
        ),
        (
            {"retry_on": 3},
            "RetryPolicy(retry_on=3): give exception classes, or a function of the exception",
        ),
        (
            {"backoff": 0.5},
            "RetryPolicy(backoff=0.5): each wait is backoff times the one before; give 1 for "
            "equal waits, or more",
        ),
    ],
)
def test_an_invalid_retry_policy_is_a_definition_error(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(GraphDefinitionError) as caught:
        RetryPolicy(**options)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "CachePolicy(ttl=0): give seconds > 0 or None"),
        ({"max_entries": 0}, "CachePolicy(max_entries=0): give a positive int"),
        ({"key": 3}, "CachePolicy(key=3): give a function of the node's input, or None"),
    ],
)
def test_an_invalid_cache_policy_is_a_definition_error(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(GraphDefinitionError) as caught:
        CachePolicy(**options)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry": 3}, "add_node('work', ...): retry= takes a RetryPolicy, got 3"),
        ({"cache": True}, "add_node('work', ...): cache= takes a CachePolicy, got True"),
        ({"timeout": 0}, "add_node('work', ...): timeout= takes seconds > 0 or None, got 0"),
        ({"timeout": True}, "add_node('work', ...): timeout= takes seconds > 0 or None, got True"),
        ({"defer": "yes"}, "add_node('work', ...): defer= takes True or False, got 'yes'"),
        (
            {"stream_tokens": "no"},
            "add_node('work', ...): stream_tokens= takes True or False, got 'no'",
        ),
    ],
)
def test_add_node_refuses_what_is_not_a_policy(options: dict[str, Any], message: str) -> None:
    with pytest.raises(GraphDefinitionError) as caught:
        OrkesGraph(State).add_node("work", lambda state: None, **options)
    assert str(caught.value) == message


# --- timeout -----------------------------------------------------------------------------------


def test_a_sync_node_past_its_timeout_fails_and_its_late_result_is_discarded(
    driver: Driver,
) -> None:
    release = threading.Event()
    finished = threading.Event()

    def work(state: State) -> dict[str, object]:
        release.wait(5)
        finished.set()
        return {"y": 99}

    runner = one_node(work, timeout=0.05)
    try:
        with pytest.raises(NodeError) as caught:
            driver(runner, {"x": 1})
    finally:
        release.set()
    assert finished.wait(5)  # the thread ran on, and what it returned went nowhere
    cause = caught.value.__cause__
    assert isinstance(cause, NodeTimeout)
    assert isinstance(cause, TimeoutError)
    assert cause.node == "work"
    assert cause.seconds == 0.05
    assert str(cause).startswith("node 'work' did not finish within its timeout of 0.05 s")
    assert caught.value.node == "work"


def test_an_async_node_is_cancelled_at_its_timeout(driver: Driver) -> None:
    seen: list[str] = []

    async def work(state: State) -> dict[str, object]:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return {"y": 99}

    started = time.monotonic()
    with pytest.raises(NodeError) as caught:
        driver(one_node(work, timeout=0.05), {"x": 1})
    assert time.monotonic() - started < 2
    assert seen == ["cancelled"]
    cause = caught.value.__cause__
    assert isinstance(cause, NodeTimeout)
    assert (cause.node, cause.seconds) == ("work", 0.05)


def test_a_timeout_is_retried_by_the_default_policy(driver: Driver) -> None:
    calls: list[int] = []

    async def work(state: State) -> dict[str, object]:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(5)
        return {"y": 1}

    runner = one_node(work, timeout=0.05, retry=RetryPolicy(max_attempts=2, **FAST))
    assert driver(runner, {"x": 0}) == {"x": 0, "y": 1}
    assert len(calls) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_timed_out_sync_attempt_s_later_events_do_not_reach_the_stream(mode: str) -> None:
    late = threading.Event()  # set once the abandoned first attempt emitted after its timeout
    second_may_end = threading.Event()

    def work(state: State, ctx: RunContext) -> dict[str, object]:
        ctx.emit(f"attempt {ctx.attempt} begins")
        if ctx.attempt == 1:
            time.sleep(0.1)  # past its timeout: given up on, its thread runs on
            ctx.emit("attempt 1, too late")
            late.set()
        else:
            second_may_end.wait(5)
        return {"y": ctx.attempt}

    runner = one_node(work, timeout=0.05, retry=RetryPolicy(max_attempts=2, **FAST))

    def watch(event: Event) -> None:
        if isinstance(event, TaskStart) and event.attempt == 2:
            late.wait(5)  # the late emit happens while attempt 2 runs
            second_may_end.set()

    if mode == "sync":
        events = []
        for event in runner.stream({}, modes=("custom", "tasks")):
            events.append(event)
            watch(event)
    else:

        async def main() -> list[Event]:
            events = []
            async for event in runner.astream({}, modes=("custom", "tasks")):
                events.append(event)
                watch(event)
            return events

        events = asyncio.run(main())
    assert [(e.kind, getattr(e, "payload", None)) for e in events] == [
        ("task_start", None),
        ("custom", "attempt 1 begins"),
        ("task_end", None),
        ("task_start", None),
        ("custom", "attempt 2 begins"),
        ("task_end", None),
    ]


# --- cache ---------------------------------------------------------------------------------------


def counting(calls: list[int]) -> Any:
    def work(state: State) -> dict[str, object]:
        calls.append(state["x"])
        return {"y": state["x"] * 10}

    return work


def test_equal_inputs_reuse_the_update_across_runs(driver: Driver) -> None:
    calls: list[int] = []
    runner = one_node(counting(calls), cache=CachePolicy())
    assert driver(runner, {"x": 1}) == {"x": 1, "y": 10}
    assert driver(runner, {"x": 1}) == {"x": 1, "y": 10}
    assert calls == [1]
    assert driver(runner, {"x": 2}) == {"x": 2, "y": 20}  # a different input: called
    assert calls == [1, 2]


def test_a_cached_node_loops_on_its_cache_within_one_run(driver: Driver) -> None:
    calls: list[int] = []

    def work(state: State) -> dict[str, object]:
        calls.append(state["x"])
        return {"y": state.get("y", 0) + 1}

    # key: only x, so every pass of the loop hits the first pass's entry.
    graph = OrkesGraph(State).add_node("work", work, cache=CachePolicy(key=lambda s: s["x"]))
    graph.add_edge(START, "work").add_conditional_edge(
        "work", lambda state: END if state.get("tag") else "mark"
    )
    graph.add_node("mark", lambda state: {"tag": "t"}).add_edge("mark", "work")
    runner = GraphRunner(graph.compile())
    assert driver(runner, {"x": 4}) == {"x": 4, "y": 1, "tag": "t"}
    assert calls == [4]


class Notes(TypedDict, total=False):
    """A list a later node changes in place."""

    topic: str
    notes: list[str]


def test_changing_a_cached_value_later_does_not_change_the_cache(driver: Driver) -> None:
    calls: list[str] = []

    def research(state: Notes) -> Notes:
        calls.append(state["topic"])
        return {"notes": [f"about {state['topic']}"]}

    def annotate(state: Notes) -> Notes:
        state["notes"].append("checked")  # in place: the list the cache handed out
        return state

    graph = OrkesGraph(Notes).add_node("research", research, cache=CachePolicy())
    graph.add_node("annotate", annotate).add_edge(START, "research")
    graph.add_edge("research", "annotate").add_edge("annotate", END)
    runner = GraphRunner(graph.compile())
    for _ in range(3):
        result = driver(runner, {"topic": "owls"})
        assert result["notes"] == ["about owls", "checked"]
    assert calls == ["owls"]


def test_a_cached_value_that_cannot_be_copied_is_handed_out_as_it_is(driver: Driver) -> None:
    handle: Any = threading.Lock()  # deepcopy refuses it
    runner = one_node(lambda state: {"y": 1, "tag": handle}, cache=CachePolicy())
    first: dict[str, Any] = dict(driver(runner, {"x": 1}))
    again: dict[str, Any] = dict(driver(runner, {"x": 1}))
    assert first["tag"] is handle
    assert again["tag"] is handle


def test_a_cache_entry_expires_after_its_ttl(driver: Driver) -> None:
    calls: list[int] = []
    runner = one_node(counting(calls), cache=CachePolicy(ttl=0.05))
    driver(runner, {"x": 1})
    driver(runner, {"x": 1})
    assert calls == [1]
    time.sleep(0.06)
    driver(runner, {"x": 1})
    assert calls == [1, 1]


def test_a_key_function_decides_what_counts_as_equal(driver: Driver) -> None:
    calls: list[int] = []
    runner = one_node(counting(calls), cache=CachePolicy(key=lambda state: state["tag"]))
    assert driver(runner, {"x": 1, "tag": "same"}) == {"x": 1, "tag": "same", "y": 10}
    # Another x, the same tag: the cached update (y=10) comes back.
    assert driver(runner, {"x": 2, "tag": "same"}) == {"x": 2, "tag": "same", "y": 10}
    assert calls == [1]


def test_a_key_function_giving_an_unhashable_key_is_named(driver: Driver) -> None:
    calls: list[int] = []
    unhashable: Any = lambda state: [state["x"]]  # noqa: E731
    runner = one_node(counting(calls), cache=CachePolicy(key=unhashable))
    with pytest.raises(NodeError) as caught:
        driver(runner, {"x": 1})
    assert calls == []
    assert isinstance(caught.value.__cause__, GraphDefinitionError)
    assert str(caught.value.__cause__) == (
        "the cache key of node 'work' is [1], which is not hashable; CachePolicy(key=...) "
        "must return a hashable value (a str, a number, a tuple)"
    )


def test_a_cached_update_is_still_streamed_marked_cached() -> None:
    calls: list[int] = []
    runner = one_node(counting(calls), cache=CachePolicy())
    first = [e for e in runner.stream({"x": 1}, modes=("updates",)) if isinstance(e, Update)]
    second = [e for e in runner.stream({"x": 1}, modes=("updates",)) if isinstance(e, Update)]
    assert [(e.node, dict(e.update), e.cached) for e in first] == [("work", {"y": 10}, False)]
    assert [(e.node, dict(e.update), e.cached) for e in second] == [("work", {"y": 10}, True)]
    assert calls == [1]


def test_a_cached_update_is_streamed_marked_cached_by_astream() -> None:
    calls: list[int] = []
    runner = one_node(counting(calls), cache=CachePolicy())

    async def updates() -> list[tuple[str, dict[str, Any], bool]]:
        events = runner.astream({"x": 1}, modes=("updates",))
        return [(e.node, dict(e.update), e.cached) async for e in events if isinstance(e, Update)]

    assert asyncio.run(updates()) == [("work", {"y": 10}, False)]
    assert asyncio.run(updates()) == [("work", {"y": 10}, True)]
    assert calls == [1]
