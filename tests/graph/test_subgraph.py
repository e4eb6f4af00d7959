"""A compiled graph used as a node: what goes in, what comes back, what stays inside.

Every scenario goes through both drivers (``run`` and ``arun``).
"""

from __future__ import annotations

import asyncio
import operator
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pytest

from orkes import END, START, CompiledGraph, GraphRunner, OrkesGraph
from orkes.errors import NodeError

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
