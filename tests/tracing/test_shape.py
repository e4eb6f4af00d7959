"""A trace keeps the shape of the graph it ran, for its inspector; files without one still read."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from orkes import END, START, CompiledGraph, OrkesGraph, Send
from orkes.tracing import Trace, Tracer
from orkes.tracing._shape import plan_shape


class State(TypedDict, total=False):
    n: int
    log: Annotated[list[str], operator.add]


def bump(state: State) -> State:
    return {"n": state.get("n", 0) + 1, "log": ["bump"]}


def note(state: State) -> State:
    return {"log": ["note"]}


def again(state: State) -> Literal["loop", "done"]:
    return "loop" if state.get("n", 0) < 3 else "done"


def fan(state: State) -> list[Send]:
    return [Send("work", {"n": number}) for number in range(2)]


def looping() -> CompiledGraph[Any]:
    graph = OrkesGraph(State, name="loop").add_node("start", bump).add_node("step", bump)
    graph.add_edge(START, "start").add_edge("start", "step")
    return graph.add_conditional_edge("step", again, {"loop": "step", "done": END}).compile()


def joined() -> CompiledGraph[Any]:
    graph = OrkesGraph(State)
    for name in ("a", "b", "c", "d"):
        graph.add_node(name, note)
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("a", "c")
    return graph.add_edge(["b", "c"], "d").add_edge("d", END, max_passes=3).compile()


def sending() -> CompiledGraph[Any]:
    graph = OrkesGraph(State).add_node("plan", note).add_node("work", note)
    graph.add_node("merge", note).add_edge(START, "plan").add_conditional_edge("plan", fan)
    return graph.add_edge("work", "merge").add_edge("merge", END).compile()


def nesting() -> CompiledGraph[Any]:
    inner = OrkesGraph(State, name="inner").add_node("x", bump).add_node("y", bump)
    inner.add_edge(START, "x").add_edge("x", "y").add_edge("y", END)
    outer = OrkesGraph(State, name="outer").add_node("pre", bump).add_node(inner.compile())
    return outer.add_edge(START, "pre").add_edge("pre", "inner").add_edge("inner", END).compile()


def test_a_trace_keeps_the_shape_its_graph_draws() -> None:
    for app in (looping(), joined(), sending(), nesting()):
        tracer = Tracer()
        app.run({"n": 0, "log": []}, tracer=tracer)
        assert tracer.last is not None
        assert tracer.last.shape == app.shape(), app.name


def test_a_subgraph_nodes_run_keeps_no_shape_of_its_own_the_parents_draws_it() -> None:
    tracer = Tracer()
    nesting().run({"n": 0, "log": []}, tracer=tracer)
    trace = tracer.last
    assert trace is not None
    assert trace.shape is not None
    (nested,) = trace.tasks[1].subgraphs
    assert nested.shape is None
    (inner_node,) = [node for node in trace.shape.nodes if node.kind == "subgraph"]
    assert inner_node.subgraph is not None
    assert [node.name for node in inner_node.subgraph.nodes] == ["x", "y"]


def test_a_graph_run_inside_a_plain_node_keeps_its_own_shape() -> None:
    inner = looping()

    def call_it(state: State) -> State:
        return {"n": inner.run({"n": 0, "log": []})["n"]}

    outer = OrkesGraph(State).add_node("call_it", call_it)
    tracer = Tracer()
    outer.add_edge(START, "call_it").add_edge("call_it", END).compile().run({}, tracer=tracer)
    assert tracer.last is not None
    (nested,) = tracer.last.tasks[0].subgraphs
    assert nested.shape == inner.shape()


def test_the_shape_goes_to_json_and_back(tmp_path: Path) -> None:
    tracer = Tracer(tmp_path)
    nesting().run({"n": 0, "log": []}, tracer=tracer)
    (written,) = tmp_path.glob("*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    assert [node["name"] for node in data["shape"]["nodes"]] == ["pre", "inner"]
    assert Trace.from_json(written) == tracer.last


def test_a_file_written_before_traces_kept_a_shape_reads_without_one(tmp_path: Path) -> None:
    tracer = Tracer()
    looping().run({"n": 0}, tracer=tracer)
    assert tracer.last is not None
    data = tracer.last.to_dict()
    del data["shape"]
    old = Trace.from_dict(data)
    assert old.shape is None
    assert old.steps == tracer.last.steps
    assert "keeps no picture of its graph" in old.html()


def test_the_shape_is_the_graph_exactly_and_made_once_per_plan() -> None:
    graph = OrkesGraph(State).add_node("a", bump).add_node("b", bump)
    app = graph.add_edge(START, "a").add_edge("a", "b").add_edge("a", END).add_edge("b", END)
    compiled = app.compile()
    drawn = plan_shape(compiled.plan)
    assert drawn == compiled.shape()  # an edge to END beside another way out included
    assert plan_shape(compiled.plan) is drawn
