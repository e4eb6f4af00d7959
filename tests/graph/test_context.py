"""RunContext: what a node or gate that declares a second parameter learns about its run.

Type-checked with ``mypy --strict``: both node shapes, ``def n(state)`` and
``def n(state, ctx)``, must be accepted by ``add_node``.
"""

from __future__ import annotations

import asyncio
import operator
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pytest
from typing_extensions import assert_type

from orkes import (
    END,
    START,
    AsyncRunStream,
    CompiledGraph,
    GraphRunner,
    OrkesGraph,
    RetryPolicy,
    RunContext,
    RunStream,
)
from orkes.errors import GraphDefinitionError
from orkes.events import Custom, Update

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class State(TypedDict, total=False):
    """What each node saw of its context."""

    seen: Annotated[list[tuple[str, int, str, tuple[str, ...], int]], operator.add]
    run_ids: Annotated[list[str], operator.add]
    n: int


def record(state: State, ctx: RunContext) -> State:
    return {
        "seen": [(ctx.node, ctx.step, ctx.run_id, ctx.path, ctx.attempt)],
        "run_ids": [ctx.run_id],
    }


def plain(state: State) -> State:
    return {"n": state.get("n", 0) + 1}


async def async_record(state: State, ctx: RunContext) -> State:
    await asyncio.sleep(0)
    return record(state, ctx)


def three_steps() -> GraphRunner[State]:
    graph = OrkesGraph(State).add_node("a", record).add_node("b", plain)
    graph.add_node("c", async_record)
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    return GraphRunner(graph.compile())


def test_both_node_shapes_type_check() -> None:
    graph = OrkesGraph(State).add_node("with_ctx", record).add_node("without", plain)
    graph.add_node("async_ctx", async_record)
    graph.add_edge(START, "with_ctx").add_edge("with_ctx", "without")
    graph.add_edge("without", "async_ctx").add_edge("async_ctx", END)
    compiled = graph.compile()
    assert_type(compiled, CompiledGraph[State])
    runner = GraphRunner(compiled)
    assert_type(runner, GraphRunner[State])
    assert_type(runner.run({}), State)
    stream = runner.stream({}, modes=("updates", "custom"))
    assert_type(stream, RunStream[State])
    assert_type(stream.result, State)
    astream = runner.astream({})
    assert_type(astream, AsyncRunStream[State, Update])
    assert runner.run({})["n"] == 1
    asyncio.run(astream.aclose())


def test_context_fields_name_the_node_step_path_and_attempt(driver: Driver) -> None:
    result = driver(three_steps(), {})
    seen = result["seen"]
    assert [(node, step, path, attempt) for node, step, _, path, attempt in seen] == [
        ("a", 1, (), 1),
        ("c", 3, (), 1),
    ]
    assert result["n"] == 1


def test_run_id_is_stable_within_a_run_and_differs_across_runs(driver: Driver) -> None:
    runner = three_steps()
    first = driver(runner, {})["run_ids"]
    second = driver(runner, {})["run_ids"]
    assert len(first) == len(second) == 2
    assert first[0] == first[1]
    assert second[0] == second[1]
    assert first[0] != second[0]
    assert isinstance(first[0], str)
    assert first[0]


def test_parallel_nodes_share_the_run_id_and_step(driver: Driver) -> None:
    graph = OrkesGraph(State).add_node("x", record).add_node("y", record)
    graph.add_edge(START, "x").add_edge(START, "y").add_edge("x", END).add_edge("y", END)
    result = driver(GraphRunner(graph.compile()), {})
    assert sorted((node, step) for node, step, *_ in result["seen"]) == [("x", 1), ("y", 1)]
    assert len(set(result["run_ids"])) == 1


def test_attempt_counts_retries(driver: Driver) -> None:
    attempts: list[int] = []

    def flaky(state: State, ctx: RunContext) -> State:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("try again")
        return record(state, ctx)

    retry = RetryPolicy(max_attempts=3, initial_delay=0.001, jitter=False)
    graph = OrkesGraph(State).add_node("flaky", flaky, retry=retry)
    graph.add_edge(START, "flaky").add_edge("flaky", END)
    result = driver(GraphRunner(graph.compile()), {})
    assert attempts == [1, 2, 3]
    assert [(node, attempt) for node, _, _, _, attempt in result["seen"]] == [("flaky", 3)]


def test_a_subgraph_node_sees_its_path_and_a_run_id_of_its_own(driver: Driver) -> None:
    inner = OrkesGraph(State).add_node("deep", record)
    inner.add_edge(START, "deep").add_edge("deep", END)
    graph = OrkesGraph(State).add_node("top", record).add_node("sub", inner.compile())
    graph.add_edge(START, "top").add_edge("top", "sub").add_edge("sub", END)
    result = driver(GraphRunner(graph.compile()), {})
    (top, deep) = result["seen"]
    assert top[0] == "top"
    assert top[3] == ()
    assert deep[0] == "deep"
    assert deep[1] == 1
    assert deep[3] == ("sub",)
    assert deep[2] != top[2]


def test_thread_id_is_none_without_checkpoints(driver: Driver) -> None:
    thread_ids: list[str | None] = []

    def node(state: State, ctx: RunContext) -> State:
        thread_ids.append(ctx.thread_id)
        return {"n": 1}

    graph = OrkesGraph(State).add_node("node", node)
    graph.add_edge(START, "node").add_edge("node", END)
    driver(GraphRunner(graph.compile()), {})
    assert thread_ids == [None]


def test_the_context_is_frozen(driver: Driver) -> None:
    errors: list[BaseException] = []

    def node(state: State, ctx: RunContext) -> State:
        try:
            ctx.step = 99  # type: ignore[misc]
        except AttributeError as exc:
            errors.append(exc)
        return {"n": ctx.step}

    graph = OrkesGraph(State).add_node("node", node)
    graph.add_edge(START, "node").add_edge("node", END)
    assert driver(GraphRunner(graph.compile()), {}) == {"n": 1}
    assert len(errors) == 1


def test_emit_reaches_a_custom_stream_and_is_ignored_by_run(driver: Driver) -> None:
    def node(state: State, ctx: RunContext) -> State:
        ctx.emit({"progress": 0.5})
        return {"n": 1}

    graph = OrkesGraph(State).add_node("node", node)
    graph.add_edge(START, "node").add_edge("node", END)
    runner = GraphRunner(graph.compile())
    assert driver(runner, {}) == {"n": 1}
    assert list(runner.stream({}, modes="custom")) == [Custom("node", {"progress": 0.5}, step=1)]


# --- gates ---------------------------------------------------------------------------------


def test_a_gate_with_a_context_parameter_gets_one(driver: Driver) -> None:
    seen: list[tuple[str, int, tuple[str, ...]]] = []

    def gate(state: State, ctx: RunContext) -> str:
        seen.append((ctx.node, ctx.step, ctx.path))
        return "even" if state["n"] % 2 == 0 else "odd"

    graph = OrkesGraph(State).add_node("count", plain)
    graph.add_node("even", lambda s: {"run_ids": ["even"]})
    graph.add_node("odd", lambda s: {"run_ids": ["odd"]})
    graph.add_edge(START, "count")
    graph.add_conditional_edge("count", gate, {"even": "even", "odd": "odd"})
    graph.add_edge("even", END).add_edge("odd", END)
    runner = GraphRunner(graph.compile())
    assert driver(runner, {"n": 1}) == {"n": 2, "run_ids": ["even"]}
    assert driver(runner, {"n": 2}) == {"n": 3, "run_ids": ["odd"]}
    assert seen == [("count", 1, ()), ("count", 1, ())]


def test_a_gate_of_one_parameter_gets_none(driver: Driver) -> None:
    def gate(state: State) -> str:
        return "done" if state["n"] >= 3 else "count"

    graph = OrkesGraph(State).add_node("count", plain).add_node("done", lambda s: None)
    graph.add_edge(START, "count").add_conditional_edge("count", gate)
    graph.add_edge("done", END)
    assert driver(GraphRunner(graph.compile()), {"n": 0}) == {"n": 3}


# --- signatures refused at add_node --------------------------------------------------------


def three_required(state: State, ctx: RunContext, extra: int) -> State:
    return {}


def required_keyword(state: State, *, flag: bool) -> State:
    return {}


def no_parameter() -> State:
    return {}


@pytest.mark.parametrize(
    "fn",
    [three_required, required_keyword, no_parameter],
    ids=["three-required", "required-keyword-only", "no-parameter"],
)
def test_a_node_with_an_invalid_signature_is_refused_at_add_node(fn: Any) -> None:
    graph = OrkesGraph(State)
    with pytest.raises(GraphDefinitionError, match=r"node 'bad' has the signature") as caught:
        graph.add_node("bad", fn)
    assert fn.__name__ in str(caught.value)
    assert "def fn(state) or def fn(state, ctx)" in str(caught.value)
    assert "bad" not in graph.nodes


def test_a_gate_with_an_invalid_signature_is_refused() -> None:
    def gate(state: State, ctx: RunContext, extra: int) -> str:
        return "x"

    graph = OrkesGraph(State).add_node("count", plain).add_edge(START, "count")
    graph.add_conditional_edge("count", gate)  # type: ignore[arg-type]
    with pytest.raises(GraphDefinitionError, match=r"the gate of .* has the signature"):
        graph.compile()


def optional_third(state: State, ctx: RunContext, extra: int = 0) -> State:
    return {"n": ctx.step + extra}


def optional_keyword(state: State, *, flag: bool = True) -> State:
    return {"n": 7 if flag else 0}


def variadic(*args: Any) -> State:
    return {"n": len(args)}


@pytest.mark.parametrize(
    ("fn", "expected"),
    [(optional_third, 1), (optional_keyword, 7), (variadic, 1)],
    ids=["optional-third", "optional-keyword", "variadic"],
)
def test_optional_extra_parameters_are_fine(driver: Driver, fn: Any, expected: int) -> None:
    graph = OrkesGraph(State).add_node("node", fn)
    graph.add_edge(START, "node").add_edge("node", END)
    assert driver(GraphRunner(graph.compile()), {}) == {"n": expected}
