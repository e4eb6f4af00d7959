"""A compiled graph used as a node: what goes in, what comes back, what stays inside.

Every scenario goes through both drivers (``run`` and ``arun``).
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pytest

from orkes import END, START, CompiledGraph, GraphRunner, OrkesGraph, Send
from orkes.errors import GraphDefinitionError, NodeError, StateError

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class Outer(TypedDict, total=False):
    """The parent's state: a question, an answer, a log merged by a reducer."""

    question: str
    answer: str
    log: Annotated[list[str], operator.add]
    untouched: int


class Inner(TypedDict, total=False):
    """The subgraph's state: the shared keys and a scratch key of its own."""

    question: str
    answer: str
    log: Annotated[list[str], operator.add]
    scratch: str


def inner_graph(*, fail: bool = False, is_async: bool = False) -> CompiledGraph[Inner]:
    """think (writes scratch) -> respond (writes answer and logs 'inner')."""

    def think(state: Inner) -> dict[str, object]:
        if fail:
            raise ValueError("no idea")
        return {"scratch": "thinking about " + state["question"]}

    def respond(state: Inner) -> dict[str, object]:
        return {"answer": state["scratch"] + "!", "log": ["inner"]}

    async def respond_async(state: Inner) -> dict[str, object]:
        await asyncio.sleep(0)
        return respond(state)

    graph = OrkesGraph(Inner).add_node("think", think)
    graph.add_node("respond", respond_async if is_async else respond)
    graph.add_edge(START, "think").add_edge("think", "respond").add_edge("respond", END)
    return graph.compile()


def outer_runner(sub: Any) -> GraphRunner[Outer]:
    """START -> before (logs 'b') -> sub -> END."""

    def before(state: Outer) -> dict[str, object]:
        return {"log": ["b"]}

    graph = OrkesGraph(Outer).add_node("before", before).add_node("sub", sub)
    graph.add_edge(START, "before").add_edge("before", "sub").add_edge("sub", END)
    return GraphRunner(graph.compile())


EXPECTED: dict[str, object] = {
    "question": "cats",
    "answer": "thinking about cats!",
    "log": ["a", "b", "inner"],
    "untouched": 1,
}


def test_shared_keys_pass_in_and_come_back_and_reducer_keys_are_not_doubled(
    driver: Driver,
) -> None:
    result = driver(outer_runner(inner_graph()), {"question": "cats", "log": ["a"], "untouched": 1})
    assert result == EXPECTED
    assert "scratch" not in result  # the subgraph's own key stays inside


def test_the_subgraph_s_bound_run_behaves_as_the_subgraph(driver: Driver) -> None:
    inner = inner_graph()
    result = driver(outer_runner(inner.run), {"question": "cats", "log": ["a"], "untouched": 1})
    assert result == EXPECTED


def test_a_subgraph_node_adds_only_what_the_subgraph_added(driver: Driver) -> None:
    # Run twice in a row: the second pass must not re-add what the first brought back.
    inner = inner_graph()
    graph = OrkesGraph(Outer).add_node("sub1", inner).add_node("sub2", inner)
    graph.add_edge(START, "sub1").add_edge("sub1", "sub2").add_edge("sub2", END)
    result = driver(GraphRunner(graph.compile()), {"question": "q", "log": ["a"]})
    assert result["log"] == ["a", "inner", "inner"]


def test_a_plain_node_may_call_a_subgraph_s_run_itself(driver: Driver) -> None:
    inner = inner_graph()

    def call(state: Outer) -> dict[str, object]:
        out = inner.run({"question": state["question"]})
        assert "scratch" in out
        return {"answer": out["answer"].upper(), "log": out["log"]}

    graph = OrkesGraph(Outer).add_node("call", call)
    graph.add_edge(START, "call").add_edge("call", END)
    result = driver(GraphRunner(graph.compile()), {"question": "dogs", "log": ["a"]})
    assert result == {"question": "dogs", "answer": "THINKING ABOUT DOGS!", "log": ["a", "inner"]}


def test_an_async_subgraph_runs_inside_a_sync_run_too(driver: Driver) -> None:
    runner = outer_runner(inner_graph(is_async=True))
    result = driver(runner, {"question": "cats", "log": ["a"], "untouched": 1})
    assert result == EXPECTED
    # And through the sync API explicitly, whatever the driver.
    assert runner.run({"question": "cats", "log": ["a"], "untouched": 1}) == EXPECTED


def test_an_error_in_a_subgraph_names_the_whole_path(driver: Driver) -> None:
    with pytest.raises(NodeError) as caught:
        driver(outer_runner(inner_graph(fail=True)), {"question": "cats", "log": []})
    error = caught.value
    assert error.node == "sub > think"
    assert str(error) == (
        f"node 'sub > think' raised ValueError: no idea (step 2, run {error.run_id})"
    )
    assert isinstance(error.__cause__, ValueError)
    assert str(error.__cause__) == "no idea"


class Counter(TypedDict, total=False):
    """A loop's state: how far it counted."""

    n: int


def counting_graph(up_to: int) -> CompiledGraph[Counter]:
    """count -> count -> … until n reaches ``up_to``: one superstep per count."""

    def count(state: Counter) -> Counter:
        return {"n": state.get("n", 0) + 1}

    graph = OrkesGraph(Counter).add_node("count", count)
    graph.add_edge(START, "count")
    graph.add_conditional_edge("count", lambda s: "count" if s["n"] < up_to else END)
    return graph.compile()


def test_a_subgraph_runs_under_the_calling_run_s_max_steps(driver: Driver) -> None:
    outer = OrkesGraph(Counter).add_node("loop", counting_graph(5))
    runner = GraphRunner(outer.add_edge(START, "loop").add_edge("loop", END).compile())
    assert driver(runner, {"n": 0}, max_steps=5) == {"n": 5}  # its own 5 steps fit
    with pytest.raises(NodeError, match="max_steps=4") as caught:
        driver(runner, {"n": 0}, max_steps=4)
    assert caught.value.node == "loop"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-nodes", "async-nodes"])
def test_a_subgraph_runs_under_the_calling_run_s_max_concurrency(is_async: bool) -> None:
    running = [0]
    most = [0]
    lock = threading.Lock()

    def enter(by: int) -> None:
        with lock:
            running[0] += by
            most[0] = max(most[0], running[0])

    def work(state: Counter) -> dict[str, object]:
        enter(1)
        time.sleep(0.02)
        enter(-1)
        return {}

    async def awork(state: Counter) -> dict[str, object]:
        enter(1)
        await asyncio.sleep(0.02)
        enter(-1)
        return {}

    inner = OrkesGraph(Counter)
    for name in ("a", "b", "c", "d"):
        inner.add_node(name, awork if is_async else work)
        inner.add_edge(START, name).add_edge(name, END)
    outer = OrkesGraph(Counter).add_node("fan", inner.compile())
    compiled = outer.add_edge(START, "fan").add_edge("fan", END).compile()
    compiled.run({"n": 0}, max_concurrency=1)
    assert most[0] == 1
    asyncio.run(compiled.arun({"n": 0}, max_concurrency=2))
    assert most[0] == 2


class PlainLog(TypedDict, total=False):
    """A state whose log has no reducer."""

    log: list[str]


def test_a_shared_key_with_a_reducer_on_one_side_only_is_refused() -> None:
    inner = OrkesGraph(PlainLog).add_node("work", lambda s: {"log": [*s["log"], "inner"]})
    compiled = inner.add_edge(START, "work").add_edge("work", END).compile()
    with pytest.raises(GraphDefinitionError) as caught:
        OrkesGraph(Outer).add_node("sub", compiled)
    assert str(caught.value) == (
        "subgraph node 'sub': key 'log' has a reducer in the parent's state only; a shared key "
        "needs a reducer in both schemas or in neither (else its values are added twice or "
        "lost): annotate both alike"
    )
    with pytest.raises(GraphDefinitionError, match="in the subgraph's state only"):
        OrkesGraph(PlainLog).add_node("sub", inner_graph())


def test_an_unnamed_subgraph_needs_a_name() -> None:
    with pytest.raises(GraphDefinitionError, match="give the graph a name=, or call add_node"):
        OrkesGraph(Outer).add_node(inner_graph())
    named = OrkesGraph(Inner, name="research").add_node("think", lambda s: None)
    compiled = named.add_edge(START, "think").add_edge("think", END).compile()
    assert "research" in OrkesGraph(Outer).add_node(compiled).nodes


def sent_to(sub: CompiledGraph[Any], *args: object) -> GraphRunner[Outer]:
    """START -> fan, whose gate sends each of ``args`` to the subgraph node ``sub``."""
    graph = OrkesGraph(Outer).add_node("fan", lambda s: None).add_node("sub", sub)
    graph.add_edge(START, "fan").add_conditional_edge(
        "fan", lambda s: [Send("sub", a) for a in args]
    )
    return GraphRunner(graph.add_edge("sub", END).compile())


def test_a_send_to_a_subgraph_is_its_input_keys_of_its_own_included(driver: Driver) -> None:
    def echo(state: Inner) -> dict[str, object]:  # reads a key the parent does not have
        return {"log": [state["scratch"]]}

    inner = OrkesGraph(Inner).add_node(echo).add_edge(START, "echo").add_edge("echo", END)
    runner = sent_to(
        inner.compile(),
        {"scratch": "on owls", "log": ["old"]},
        {"scratch": "on bats", "untouched": 1},  # a parent's key the subgraph lacks: left out
    )
    assert driver(runner, {"log": []}) == {"log": ["on owls", "on bats"]}  # "old" not re-added


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        ({"question": "owls", "nonsense": 1}, "was sent key 'nonsense', which is in neither"),
        ("owls", "was sent str 'owls'; a Send to a subgraph gives its input: a mapping"),
    ],
)
def test_a_send_to_a_subgraph_of_what_it_cannot_take_is_refused(
    driver: Driver, arg: object, problem: str
) -> None:
    with pytest.raises(NodeError, match=problem) as caught:
        driver(sent_to(inner_graph(), arg), {})
    assert isinstance(caught.value.__cause__, StateError)
    assert caught.value.node == "sub"


def slow_three(started: list[str]) -> OrkesGraph[Counter]:
    """i1 -> i2 -> i3, each noting its name in ``started`` and then taking 0.1 s."""

    def step(name: str) -> Any:
        def node(state: Counter) -> dict[str, object]:
            started.append(name)
            time.sleep(0.1)
            return {}

        return node

    inner = OrkesGraph(Counter)
    for name in ("i1", "i2", "i3"):
        inner.add_node(name, step(name))
    inner.add_edge(START, "i1").add_edge("i1", "i2").add_edge("i2", "i3").add_edge("i3", END)
    return inner


def test_cancelling_arun_mid_subgraph_starts_none_of_the_subgraph_s_later_nodes() -> None:
    started: list[str] = []
    inner = slow_three(started)

    async def beside(state: Counter) -> None:
        await asyncio.sleep(5)

    outer = OrkesGraph(Counter).add_node("sub", inner.compile()).add_node("beside", beside)
    outer.add_edge(START, "sub").add_edge(START, "beside")
    compiled = outer.add_edge("sub", END).add_edge("beside", END).compile()

    async def give_up() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(compiled.arun({"n": 0}), timeout=0.03)

    asyncio.run(give_up())
    time.sleep(0.15)
    assert started == ["i1"]  # waited for; i2 and i3 never started


def test_a_subgraph_node_past_its_timeout_starts_no_further_node(driver: Driver) -> None:
    started: list[str] = []
    inner = slow_three(started)
    outer = OrkesGraph(Counter).add_node("sub", inner.compile(), timeout=0.03)
    runner = GraphRunner(outer.add_edge(START, "sub").add_edge("sub", END).compile())
    with pytest.raises(NodeError, match=r"did not finish within its timeout of 0\.03 s"):
        driver(runner, {"n": 0})
    time.sleep(0.15)
    assert started == ["i1"]  # its thread ran i1 to its end, and nothing after
