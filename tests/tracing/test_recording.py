"""What recording cheaply must not change: input keys, snapshots, one trace per run.

A traced ``run`` keeps each inline step as a compact row and makes the records only when
the trace is read; these scenarios check that what is read is what happened then.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from orkes import END, START, Command, GraphRunner, OrkesGraph, RetryPolicy, Send
from orkes.tracing import Trace, Tracer
from tests.tracing.drivers import Driver


class Wide(TypedDict, total=False):
    """A state whose keys arrive one step after another."""

    a: int
    b: int
    items: Annotated[list[int], operator.add]
    c: int
    d: int
    e: int
    f: int
    g: int
    h: str
    i: int
    x: int


def growing_graph(seen: dict[str, tuple[str, ...]]) -> GraphRunner[Wide]:
    """Every kind of step, each adding a key; each node notes the keys it was given."""

    def noted(name: str, returned: Any) -> Any:
        def node(state: Wide) -> Any:
            seen[name] = tuple(state)
            return returned(state) if callable(returned) else returned

        node.__name__ = name
        return node

    def gains_g(state: Wide) -> Wide:
        state["g"] = 1
        return state

    def sends(state: Wide) -> list[Send]:
        return [Send("sent", {"x": 1})]

    graph = OrkesGraph(Wide)
    graph.add_node(noted("plain", {"b": 1}))  # kept as it is
    graph.add_node(noted("mutable", {"items": [1]}))  # cleaned (copied) now
    graph.add_node(noted("command", Command(update={"c": 1})))  # the planner works it out
    graph.add_node(noted("retried", {"d": 1}), retry=RetryPolicy(max_attempts=2))  # invoke path
    graph.add_node(noted("left", {"e": 1})).add_node(noted("right", {"f": 1}))  # in parallel
    graph.add_node(noted("returns_view", gains_g))
    graph.add_node(noted("texts", {"h": "x"}))
    graph.add_node("sent", lambda arg: {"i": 1})
    graph.add_node(noted("last", None))
    for source, target in [
        (START, "plain"),
        ("plain", "mutable"),
        ("mutable", "command"),
        ("command", "retried"),
        ("retried", "left"),
        ("retried", "right"),
        ("left", "returns_view"),
        ("right", "returns_view"),
        ("returns_view", "texts"),
        ("sent", "last"),
        ("last", END),
    ]:
        graph.add_edge(source, target)
    graph.add_conditional_edge("texts", sends)
    return GraphRunner(graph.compile())


def keys_by_node(trace: Trace) -> dict[str, tuple[str, ...]]:
    return {task.node: task.input_keys for task in trace.tasks}


def test_input_keys_are_exact_whatever_ran_each_step(driver: Driver, tracer: Tracer) -> None:
    seen: dict[str, tuple[str, ...]] = {}
    driver.run(growing_graph(seen), {"a": 0}, tracer)
    trace = tracer.last
    assert trace is not None
    recorded = keys_by_node(trace)
    assert recorded.pop("sent") == ("x",)  # a Send's task: its argument's keys
    assert recorded == seen
    assert seen["last"] == ("a", "b", "items", "c", "d", "e", "f", "g", "h", "i")
    assert trace.state == {"a": 0, "b": 1, "items": [1], **dict.fromkeys("cdefgi", 1), "h": "x"}


@pytest.mark.parametrize("how", ["stream", "invoke"])
def test_input_keys_are_exact_in_streams_and_durable_runs(how: str) -> None:
    from orkes.persistence import MemoryCheckpointer

    seen: dict[str, tuple[str, ...]] = {}
    runner = growing_graph(seen)
    tracer = Tracer()
    if how == "stream":
        list(runner.stream({"a": 0}, modes="updates", tracer=tracer))
    else:
        durable = GraphRunner(runner.compiled, checkpointer=MemoryCheckpointer())
        durable.invoke({"a": 0}, thread_id="t", tracer=tracer)
    trace = tracer.last
    assert trace is not None
    recorded = keys_by_node(trace)
    assert recorded.pop("sent") == ("x",)
    assert recorded == seen


def test_a_value_changed_by_a_later_step_is_recorded_as_it_was(tracer: Tracer) -> None:
    class Basket(TypedDict):
        items: list[int]
        count: int

    kept: list[int] = []

    def fill(state: Basket) -> dict[str, Any]:
        return {"items": kept, "count": 1}

    def spoil(state: Basket) -> dict[str, Any]:
        state["items"].append(99)  # changes the list the first step wrote, in place
        return {"count": 2}

    graph = OrkesGraph(Basket).add_node(fill).add_node(spoil)
    graph.add_edge(START, "fill").add_edge("fill", "spoil").add_edge("spoil", END)
    result = GraphRunner(graph.compile()).run({"items": [], "count": 0}, tracer=tracer)
    result["items"].append(100)  # and the caller changes the final state afterwards
    result["count"] = 3
    trace = tracer.last
    assert trace is not None
    assert [task.update for task in trace.tasks] == [{"items": [], "count": 1}, {"count": 2}]
    assert trace.state == {"items": [99], "count": 2}


def test_a_run_gives_one_trace_however_often_it_is_read(tracer: Tracer) -> None:
    graph = OrkesGraph(Wide).add_node("one", lambda s: {"a": 1})
    runner = GraphRunner(graph.add_edge(START, "one").add_edge("one", END).compile())
    runner.run({}, tracer=tracer)
    runner.run({}, tracer=tracer)
    first = tracer.last
    assert first is not None
    assert tracer.last is first
    assert tracer.traces[-1] is first
    assert tracer.traces[0] is not first
    assert len({trace.run_id for trace in tracer.traces}) == 2


@pytest.mark.parametrize("how", ["run", "stream"])
def test_a_node_that_changes_its_returned_dict_later_changes_nothing_recorded(how: str) -> None:
    class Two(TypedDict, total=False):
        q: str
        a: str
        z: str

    kept: list[dict[str, Any]] = []

    def answer(state: Two) -> dict[str, Any]:
        update = {"a": "first"}
        kept.append(update)
        return update

    def after(state: Two) -> dict[str, Any]:
        return {"q": state["q"] + "!"}

    graph = OrkesGraph(Two).add_node("answer", answer).add_node("after", after)
    graph.add_edge(START, "answer").add_edge("answer", "after").add_edge("after", END)
    runner = GraphRunner(graph.compile())
    tracer = Tracer()
    if how == "run":
        runner.run({"q": "?"}, tracer=tracer)
    else:
        list(runner.stream({"q": "?"}, tracer=tracer))
    kept[0]["a"] = "CHANGED"
    kept[0]["z"] = "added later"
    trace = tracer.last
    assert trace is not None
    assert [task.update for task in trace.tasks] == [{"a": "first"}, {"q": "?!"}]
    assert [task.input_keys for task in trace.tasks] == [("q",), ("q", "a")]
