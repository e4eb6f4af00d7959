"""CompiledGraph: the frozen plan that ``compile()`` returns, with its run shortcuts."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, TypedDict

import pytest

from orkes import END, START, CompiledGraph, GraphRunner, OrkesGraph
from orkes.errors import GraphDefinitionError, GraphValidationError, StepLimitExceeded
from orkes.graph._definition import Branch, Edge, Join
from orkes.graph.spec import GraphSpec
from orkes.graph.validate import validate


class State(TypedDict):
    n: int


def inc(state: State) -> dict[str, int]:
    return {"n": state["n"] + 1}


def noop(state: State) -> None:
    return None


def again(state: State) -> Literal["again", "done"]:
    return "again" if state["n"] < 3 else "done"


def build() -> OrkesGraph[State]:
    graph = OrkesGraph(State, name="counter", description="counts to three")
    graph.add_node(inc).add_node("noop", noop)
    graph.add_edge(START, "inc").add_edge(["inc"], "noop")
    graph.add_conditional_edge("inc", again, {"again": "inc", "done": "END"})
    graph.add_edge("noop", END)
    return graph


def test_compile_returns_a_compiled_graph_holding_what_was_recorded() -> None:
    compiled = build().compile()
    assert isinstance(compiled, CompiledGraph)
    assert compiled.name == "counter"
    assert compiled.description == "counts to three"
    assert compiled.state_schema is State
    assert compiled.schema.keys == ("n",)
    assert dict(compiled.nodes) == {"inc": inc, "noop": noop}
    assert compiled.edges == (Edge(START, "inc", None), Edge("noop", END, None))
    assert compiled.joins == (Join(("inc",), "noop", None),)
    assert compiled.branches == (Branch("inc", again, {"again": "inc", "done": END}, None, None),)
    assert repr(compiled) == "<CompiledGraph 'counter' over State: 2 nodes>"


def test_repr_without_a_name() -> None:
    graph = OrkesGraph(State).add_node(inc).add_edge(START, "inc").add_edge("inc", END)
    assert repr(graph.compile()) == "<CompiledGraph over State: 1 nodes>"


def test_compiling_twice_returns_the_same_object() -> None:
    graph = build()
    first = graph.compile()
    assert graph.compile() is first


@pytest.mark.parametrize("attribute", ["name", "nodes", "plan", "edges", "something_new"])
def test_a_compiled_graph_cannot_be_changed(attribute: str) -> None:
    compiled = build().compile()
    message = (
        f"a CompiledGraph is immutable (tried to change {attribute!r}); change the OrkesGraph "
        "it came from before compiling, or build a new one"
    )
    with pytest.raises(GraphDefinitionError, match=f"^{re.escape(message)}$"):
        setattr(compiled, attribute, None)
    assert compiled.name == "counter"


@pytest.mark.parametrize("attribute", ["name", "nodes", "plan"])
def test_a_compiled_graph_cannot_lose_attributes(attribute: str) -> None:
    compiled = build().compile()
    with pytest.raises(GraphDefinitionError):
        delattr(compiled, attribute)
    assert hasattr(compiled, attribute)


def test_the_nodes_mapping_is_read_only() -> None:
    compiled = build().compile()
    assert isinstance(compiled.nodes, MappingProxyType)
    nodes: Any = compiled.nodes
    with pytest.raises(TypeError):
        nodes["extra"] = noop
    with pytest.raises(TypeError):
        del nodes["inc"]
    assert list(compiled.nodes) == ["inc", "noop"]


def test_the_plan_does_not_follow_later_changes_to_the_builders_containers() -> None:
    graph = build()
    compiled = graph.compile()
    graph.nodes["sneaky"] = noop  # not through add_node: the frozen check can't see it
    graph.edges.append(Edge("sneaky", END, None))
    assert list(compiled.nodes) == ["inc", "noop"]
    assert len(compiled.edges) == 2


def test_edges_are_tuples() -> None:
    compiled = build().compile()
    assert isinstance(compiled.edges, tuple)
    assert isinstance(compiled.joins, tuple)
    assert isinstance(compiled.branches, tuple)
    assert isinstance(compiled.nodes, Mapping)


def test_run_is_a_shortcut_for_a_runner() -> None:
    compiled = build().compile()
    assert compiled.run({"n": 0}) == GraphRunner(compiled).run({"n": 0}) == {"n": 3}


def test_run_takes_max_steps() -> None:
    compiled = build().compile()
    with pytest.raises(StepLimitExceeded):
        compiled.run({"n": -100}, max_steps=5)
    assert compiled.run({"n": 0}, max_steps=10) == {"n": 3}


def test_arun_is_a_shortcut_too() -> None:
    async def double(state: State) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"n": state["n"] * 2}

    compiled = OrkesGraph(State).add_node(double).add_edge(START, "double")
    compiled.add_edge("double", END)
    plan = compiled.compile()
    assert asyncio.run(plan.arun({"n": 21})) == {"n": 42}
    assert asyncio.run(plan.arun({"n": 1}, max_steps=1)) == {"n": 2}


def test_run_never_changes_the_input() -> None:
    compiled = build().compile()
    state: State = {"n": 0}
    result = compiled.run(state)
    assert state == {"n": 0}
    assert result is not state


def test_a_compiled_graph_runs_many_times() -> None:
    compiled = build().compile()
    assert [compiled.run({"n": start})["n"] for start in range(5)] == [3, 3, 3, 4, 5]


def test_the_spec_is_the_frozen_description_validation_and_the_plan_read() -> None:
    graph = build()
    compiled = graph.compile()
    spec = compiled.spec
    assert isinstance(spec, GraphSpec)
    assert (spec.name, spec.description, spec.state_schema) == ("counter", "counts to three", State)
    assert list(spec.nodes) == ["inc", "noop"]
    assert spec.nodes["inc"].fn is inc
    assert [(edge.source, edge.target) for edge in spec.edges] == [(START, "inc"), ("noop", END)]
    assert [join.sources for join in spec.joins] == [("inc",)]
    assert [branch.gate for branch in spec.branches] == [again]
    assert repr(spec) == "<GraphSpec 'counter' over State: 2 nodes, 2 edges, 1 joins, 1 branches>"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.nodes["x"] = spec.nodes["inc"]  # type: ignore[index]
    # the builder's containers are copied: changing them afterwards reaches nothing
    graph.edges.clear()
    assert len(spec.edges) == 2
    assert compiled.run({"n": 0}) == {"n": 3}


def test_validation_reads_a_spec() -> None:
    good = build().compile().spec
    validate(good)  # a valid spec passes
    broken = dataclasses.replace(good, edges=(*good.edges, Edge("noop", "nowhere", None)))
    with pytest.raises(GraphValidationError, match="unknown node 'nowhere'"):
        validate(broken)


def test_the_shortcuts_take_max_concurrency() -> None:
    compiled = build().compile()
    assert compiled.run({"n": 0}, max_concurrency=1) == {"n": 3}
    assert asyncio.run(compiled.arun({"n": 0}, max_concurrency=1)) == {"n": 3}
    with compiled.stream({"n": 0}, max_concurrency=1) as stream:
        assert [event.kind for event in stream][:2] == ["update", "update"]
    assert stream.result == {"n": 3}

    async def consume() -> dict[str, Any]:
        async with compiled.astream({"n": 0}, max_concurrency=1) as events:
            async for _ in events:
                pass
        return dict(events.result)

    assert asyncio.run(consume()) == {"n": 3}
