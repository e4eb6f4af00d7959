"""The builder: ``OrkesGraph`` records nodes and edges and refuses what can never be right."""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import pickle
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypedDict

import pytest

import orkes
from orkes import END, START, OrkesGraph
from orkes.errors import GraphDefinitionError
from orkes.graph import core
from orkes.graph._definition import Branch, Edge, Join


class State(TypedDict):
    n: int


def step(state: State) -> dict[str, int]:
    return {"n": state["n"] + 1}


def other(state: State) -> None:
    return None


def route(state: State) -> str:
    return "END"


def raises_definition_error(message: str) -> Any:
    """``pytest.raises`` matching ``message`` exactly (the whole ``str(exc)``)."""
    return pytest.raises(GraphDefinitionError, match=f"^{re.escape(message)}$")


# -- the schema --------------------------------------------------------------------------


@dataclasses.dataclass
class DataclassState:
    n: int


@pytest.mark.parametrize(
    ("schema", "shown"),
    [
        (dict, "<class 'dict'>"),
        (DataclassState, repr(DataclassState)),
        (State(n=1), "{'n': 1}"),
        (int, "<class 'int'>"),
        (None, "None"),
        ("State", "'State'"),
    ],
)
def test_the_state_schema_must_be_a_typeddict_class(schema: Any, shown: str) -> None:
    with raises_definition_error(
        f"the state schema must be a TypedDict class, got {shown}; "
        "declare it as `class State(TypedDict): ...`"
    ):
        OrkesGraph(schema)


def test_a_graph_keeps_its_schema_name_and_description() -> None:
    graph = OrkesGraph(State, name="counter", description="counts")
    assert graph.state_schema is State
    assert graph.name == "counter"
    assert graph.description == "counts"
    assert graph.schema.keys == ("n",)
    assert repr(graph) == "<OrkesGraph 'counter' over State: 0 nodes, 0 edges>"
    unnamed = OrkesGraph(State)
    assert unnamed.name is None
    assert unnamed.description is None
    assert repr(unnamed) == "<OrkesGraph over State: 0 nodes, 0 edges>"


def test_name_and_description_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        OrkesGraph(State, "counter")  # type: ignore[call-arg]


def test_repr_counts_nodes_and_every_kind_of_edge() -> None:
    graph = OrkesGraph(State).add_node(step).add_node(other)
    graph.add_edge(START, "step").add_edge(["step"], "other").add_conditional_edge("other", route)
    assert repr(graph) == "<OrkesGraph over State: 2 nodes, 3 edges>"


# -- START and END -----------------------------------------------------------------------


def test_start_and_end_are_the_same_objects_everywhere() -> None:
    graph = OrkesGraph(State)
    assert graph.START is orkes.START is START is core.START
    assert graph.END is orkes.END is END is core.END
    assert OrkesGraph.START is START
    assert OrkesGraph.END is END


def test_start_and_end_print_as_their_names() -> None:
    assert repr(END) == "END"
    assert repr(START) == "START"
    assert START != END
    assert END != "END"  # the sentinel never equals a name a node could have
    assert isinstance(END, str)


def test_start_and_end_survive_copy_and_pickle() -> None:
    for sentinel in (START, END):
        assert copy.copy(sentinel) is sentinel
        assert copy.deepcopy(sentinel) is sentinel
        assert pickle.loads(pickle.dumps(sentinel)) is sentinel


# -- add_node ----------------------------------------------------------------------------


def test_add_node_with_a_name() -> None:
    graph = OrkesGraph(State)
    assert graph.add_node("inc", step) is graph
    assert graph.nodes == {"inc": step}


def test_add_node_names_a_function_after_itself() -> None:
    graph = OrkesGraph(State)
    assert graph.add_node(step) is graph
    assert graph.nodes == {"step": step}


def test_add_node_names_a_class_after_itself() -> None:
    class Doubler:
        def __init__(self, state: State) -> None:
            self.state = state

    graph = OrkesGraph(State).add_node(Doubler)  # type: ignore[arg-type]
    assert list(graph.nodes) == ["Doubler"]


def test_a_named_lambda_is_fine() -> None:
    graph = OrkesGraph(State).add_node("inc", lambda state: {"n": state["n"] + 1})
    assert list(graph.nodes) == ["inc"]


def test_a_lambda_has_no_name_to_take() -> None:
    nameless = lambda state: None  # noqa: E731
    with raises_definition_error(
        f"cannot name node {nameless!r} after its function; call add_node('name', fn)"
    ):
        OrkesGraph(State).add_node(nameless)


def test_a_callable_without_a_name_needs_one() -> None:
    partial = functools.partial(step)
    with raises_definition_error(
        f"cannot name node {partial!r} after its function; call add_node('name', fn)"
    ):
        OrkesGraph(State).add_node(partial)
    assert list(OrkesGraph(State).add_node("inc", partial).nodes) == ["inc"]


def test_a_name_without_a_function() -> None:
    with raises_definition_error("node 'inc' has no function; call add_node('inc', fn)"):
        OrkesGraph(State).add_node("inc")  # type: ignore[call-overload]


def test_duplicate_node_names() -> None:
    graph = OrkesGraph(State).add_node("inc", step)
    with raises_definition_error("node 'inc' is already in the graph; node names must be unique"):
        graph.add_node("inc", other)
    with raises_definition_error("node 'step' is already in the graph; node names must be unique"):
        OrkesGraph(State).add_node(step).add_node(step)
    assert graph.nodes == {"inc": step}


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (START, "START"),
        (END, "END"),
        ("START", "'START'"),
        ("END", "'END'"),
        ("__start__", "'__start__'"),
        ("__end__", "'__end__'"),
        ("", "''"),
    ],
)
def test_reserved_and_empty_names(name: str, shown: str) -> None:
    with raises_definition_error(
        f"node name {shown} is reserved or empty; START and END are the graph's ends, "
        "pick another name"
    ):
        OrkesGraph(State).add_node(name, step)


@pytest.mark.parametrize("not_callable", [3, "step", ["step"]])
def test_a_node_must_be_callable(not_callable: Any) -> None:
    with raises_definition_error(
        f"node 'x' must be callable (a function taking the state), got {not_callable!r}"
    ):
        OrkesGraph(State).add_node("x", not_callable)


def test_none_as_the_function_is_no_function() -> None:
    with raises_definition_error("node 'x' has no function; call add_node('x', fn)"):
        OrkesGraph(State).add_node("x", None)  # type: ignore[call-overload]


def test_a_lone_non_callable_is_refused() -> None:
    with raises_definition_error(
        "cannot name node 3 after its function; call add_node('name', fn)"
    ):
        OrkesGraph(State).add_node(3)  # type: ignore[call-overload]


def test_a_builder_as_a_node_is_told_to_compile_first() -> None:
    sub = OrkesGraph(State, name="sub").add_node(step)
    expected = (
        "add_node got the builder <OrkesGraph 'sub' over State: 1 nodes, 0 edges>; a "
        "subgraph node is a compiled graph: add_node('name', graph.compile())"
    )
    with raises_definition_error(expected):
        OrkesGraph(State).add_node("sub", sub)  # type: ignore[call-overload]
    with raises_definition_error(expected):
        OrkesGraph(State).add_node(sub)  # type: ignore[call-overload]


@pytest.mark.parametrize("name", [3, None, b"inc", ("inc",)])
def test_a_node_name_must_be_a_str(name: Any) -> None:
    with raises_definition_error(
        f"a node's name must be a str, got {name!r}; call add_node('name', fn)"
    ):
        OrkesGraph(State).add_node(name, step)


# -- add_edge ----------------------------------------------------------------------------


def test_add_edge_records_plain_edges() -> None:
    graph = OrkesGraph(State).add_node(step)
    assert graph.add_edge(START, "step") is graph
    assert graph.add_edge("step", END, max_passes=2) is graph
    assert graph.edges == [Edge(START, "step", None), Edge("step", END, 2)]
    assert graph.edges[0].source is START
    assert graph.edges[1].target is END


@pytest.mark.parametrize("end", [END, "END", "__end__"])
def test_every_spelling_of_end_is_end(end: str) -> None:
    graph = OrkesGraph(State).add_node(step).add_edge(START, "step").add_edge("step", end)
    assert graph.edges[-1].target is END
    assert graph.compile().run({"n": 1}) == {"n": 2}


@pytest.mark.parametrize("start", [START, "START", "__start__"])
def test_every_spelling_of_start_is_start(start: str) -> None:
    graph = OrkesGraph(State).add_node(step).add_edge(start, "step").add_edge("step", END)
    assert graph.edges[0].source is START
    assert graph.compile().run({"n": 1}) == {"n": 2}


@pytest.mark.parametrize("end", [END, "END", "__end__"])
def test_an_edge_cannot_leave_end(end: str) -> None:
    with raises_definition_error("an edge cannot leave END; END is where paths stop"):
        OrkesGraph(State).add_edge(end, "step")
    with raises_definition_error("an edge cannot leave END; END is where paths stop"):
        OrkesGraph(State).add_conditional_edge(end, route)


@pytest.mark.parametrize("start", [START, "START", "__start__"])
def test_an_edge_cannot_lead_to_start(start: str) -> None:
    with raises_definition_error("add_edge('step', ...): an edge cannot lead to START"):
        OrkesGraph(State).add_edge("step", start)
    with raises_definition_error("add_edge(['a', 'b'], ...): an edge cannot lead to START"):
        OrkesGraph(State).add_edge(["a", "b"], start)


def test_duplicate_plain_edges() -> None:
    graph = OrkesGraph(State).add_edge("a", "b")
    with raises_definition_error("edge 'a' -> 'b' is already in the graph"):
        graph.add_edge("a", "b")
    graph.add_edge("a", END)
    with raises_definition_error("edge 'a' -> END is already in the graph"):
        graph.add_edge("a", "END")
    graph.add_edge(START, "a")
    with raises_definition_error("edge START -> 'a' is already in the graph"):
        graph.add_edge("START", "a")
    assert len(graph.edges) == 3


def test_the_same_pair_as_an_edge_and_a_join_is_two_edges() -> None:
    graph = OrkesGraph(State).add_edge("a", "b").add_edge(["a"], "b")
    assert len(graph.edges) == 1
    assert len(graph.joins) == 1


def test_add_edge_with_a_list_records_a_join() -> None:
    graph = OrkesGraph(State)
    assert graph.add_edge(["a", "b"], "c") is graph
    assert graph.add_edge(("c", "d"), "END", max_passes=4) is graph
    assert graph.joins == [Join(("a", "b"), "c", None), Join(("c", "d"), END, 4)]
    assert graph.joins[1].target is END
    assert graph.edges == []


@pytest.mark.parametrize(
    ("sources", "shown"),
    [
        ([START, "b"], "[START, 'b']"),
        (["a", END], "['a', END]"),
        (["a", "END"], "['a', 'END']"),
        (["START", "a"], "['START', 'a']"),
        (["a", "__end__"], "['a', '__end__']"),
    ],
)
def test_a_join_waits_for_nodes_only(sources: list[str], shown: str) -> None:
    with raises_definition_error(
        f"a join waits for nodes; START and END cannot be among its sources {shown}"
    ):
        OrkesGraph(State).add_edge(sources, "c")


def test_a_join_names_each_node_once() -> None:
    with raises_definition_error("join sources ['a', 'b', 'a'] name a node twice"):
        OrkesGraph(State).add_edge(["a", "b", "a"], "c")


@pytest.mark.parametrize(("source", "shown"), [([], "[]"), ([1], "[1]"), (1, "1"), (None, "None")])
def test_a_source_is_a_name_or_a_list_of_names(source: Any, shown: str) -> None:
    with raises_definition_error(
        f"the source of an edge is a node name, START or a list of node names, got {shown}"
    ):
        OrkesGraph(State).add_edge(source, "c")


def test_an_empty_source_name() -> None:
    with raises_definition_error("the source of an edge must be a node name or START, got ''"):
        OrkesGraph(State).add_edge("", "c")


@pytest.mark.parametrize(("target", "shown"), [(1, "1"), ("", "''"), (None, "None")])
def test_a_target_is_a_name_or_end(target: Any, shown: str) -> None:
    with raises_definition_error(
        f"add_edge('a', ...): a target must be a node name or END, got {shown}"
    ):
        OrkesGraph(State).add_edge("a", target)


@pytest.mark.parametrize("max_passes", [0, -1, True, False, 1.5, "3"])
def test_max_passes_must_be_a_positive_int(max_passes: Any) -> None:
    with raises_definition_error(
        f"add_edge('a', 'b'): max_passes must be a positive int or None, got {max_passes!r}"
    ):
        OrkesGraph(State).add_edge("a", "b", max_passes=max_passes)
    with raises_definition_error(
        f"add_edge(['a', 'b'], 'c'): max_passes must be a positive int or None, got {max_passes!r}"
    ):
        OrkesGraph(State).add_edge(["a", "b"], "c", max_passes=max_passes)
    with raises_definition_error(
        f"add_conditional_edge('a', ...): max_passes must be a positive int or None, "
        f"got {max_passes!r}"
    ):
        OrkesGraph(State).add_conditional_edge("a", route, max_passes=max_passes)


def test_max_passes_of_one_and_none_are_fine() -> None:
    graph = OrkesGraph(State).add_edge("a", "b", max_passes=1).add_edge("b", "c", max_passes=None)
    assert [e.max_passes for e in graph.edges] == [1, None]


# -- add_conditional_edge ----------------------------------------------------------------


def parity(state: State) -> Literal["even", "odd"]:
    return "even" if state["n"] % 2 == 0 else "odd"


def test_add_conditional_edge_records_a_branch() -> None:
    graph = OrkesGraph(State)
    assert graph.add_conditional_edge("a", parity, {"even": "b", "odd": "END"}) is graph
    assert graph.add_conditional_edge(START, route, default=END, max_passes=3) is graph
    first, second = graph.branches
    assert first == Branch("a", parity, {"even": "b", "odd": END}, None, None)
    assert first.mapping is not None
    assert first.mapping["odd"] is END
    assert second == Branch(START, route, None, END, 3)
    assert second.source is START
    assert second.default is END


@pytest.mark.parametrize("end", [END, "END", "__end__"])
def test_end_in_a_mapping_and_as_default(end: str) -> None:
    graph = OrkesGraph(State).add_conditional_edge("a", parity, {"even": end}, default=end)
    (branch,) = graph.branches
    assert branch.mapping == {"even": END}
    assert branch.mapping["even"] is END
    assert branch.default is END


def test_a_mapping_cannot_lead_to_start() -> None:
    where = "add_conditional_edge('a', ...)"
    with raises_definition_error(f"{where}: an edge cannot lead to START"):
        OrkesGraph(State).add_conditional_edge("a", parity, {"even": START})
    with raises_definition_error(f"{where}: an edge cannot lead to START"):
        OrkesGraph(State).add_conditional_edge("a", parity, {"even": "b"}, default="START")
    with raises_definition_error(f"{where}: a target must be a node name or END, got 3"):
        OrkesGraph(State).add_conditional_edge("a", parity, {"even": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize("mapping", [{}, ["b"], "b", 3])
def test_a_mapping_must_be_a_non_empty_mapping(mapping: Any) -> None:
    with raises_definition_error(
        "the mapping of add_conditional_edge('a', ...) must be a non-empty dict of "
        f"gate value -> node, got {mapping!r}"
    ):
        OrkesGraph(State).add_conditional_edge("a", parity, mapping)


def test_a_gate_must_be_callable() -> None:
    with raises_definition_error(
        "the gate of add_conditional_edge('a', ...) must be callable, got 'b'"
    ):
        OrkesGraph(State).add_conditional_edge("a", "b")  # type: ignore[arg-type]


def test_a_gate_cannot_be_async() -> None:
    async def decide(state: State) -> str:
        return "b"

    with raises_definition_error(
        "the gate of add_conditional_edge('a', ...) is async; a gate must be a plain function "
        "that decides from the state (do the awaiting in a node)"
    ):
        OrkesGraph(State).add_conditional_edge("a", decide)


def test_conditional_edge_source_checks() -> None:
    with raises_definition_error("the source of an edge must be a node name or START, got ''"):
        OrkesGraph(State).add_conditional_edge("", route)
    with raises_definition_error("the source of an edge must be a node name or START, got 3"):
        OrkesGraph(State).add_conditional_edge(3, route)  # type: ignore[arg-type]


def test_a_failed_call_records_nothing() -> None:
    graph = OrkesGraph(State).add_node(step)
    with pytest.raises(GraphDefinitionError):
        graph.add_edge("step", START)
    with pytest.raises(GraphDefinitionError):
        graph.add_conditional_edge("step", parity, {"even": "x", "odd": START})
    with pytest.raises(GraphDefinitionError):
        graph.add_node("step", other)
    assert graph.edges == []
    assert graph.branches == []
    assert graph.nodes == {"step": step}


def test_every_add_method_chains() -> None:
    compiled = (
        OrkesGraph(State)
        .add_node(step)
        .add_node("other", other)
        .add_edge(START, "step")
        .add_edge("step", "other")
        .add_edge(["step", "other"], END)
        .add_conditional_edge("other", parity, {"even": END, "odd": "END"})
        .compile()
    )
    assert compiled.run({"n": 1}) == {"n": 2}


# -- freezing ----------------------------------------------------------------------------


def frozen_graph() -> OrkesGraph[State]:
    graph = OrkesGraph(State).add_node(step).add_edge(START, "step").add_edge("step", END)
    graph.compile()
    return graph


@pytest.mark.parametrize(
    "change",
    [
        lambda graph: graph.add_node("more", other),
        lambda graph: graph.add_node(other),
        lambda graph: graph.add_edge("step", "step"),
        lambda graph: graph.add_edge(["step"], END),
        lambda graph: graph.add_conditional_edge("step", route),
    ],
)
def test_compile_freezes_the_builder(change: Callable[[OrkesGraph[State]], object]) -> None:
    graph = frozen_graph()
    with raises_definition_error(
        "<OrkesGraph over State: 1 nodes, 2 edges> is compiled and frozen; "
        "build a new OrkesGraph to change it"
    ):
        change(graph)
    assert list(graph.nodes) == ["step"]
    assert len(graph.edges) == 2


def test_a_failed_compile_does_not_freeze() -> None:
    graph = OrkesGraph(State).add_node(step).add_edge(START, "step")
    with pytest.raises(orkes.errors.GraphValidationError):
        graph.compile()
    graph.add_edge("step", END)
    assert graph.compile().run({"n": 0}) == {"n": 1}


@pytest.mark.parametrize("option", ["interrupt_before", "interrupt_after"])
@pytest.mark.parametrize("names", ["step", 3])
def test_compile_breakpoints_take_a_list_of_names(option: str, names: Any) -> None:
    graph = OrkesGraph(State).add_node(step).add_edge(START, "step").add_edge("step", END)
    with raises_definition_error(
        f"compile({option}=...) takes a list of node names, got {names!r}"
    ):
        graph.compile(**{option: names})
    assert graph.compile(**{option: ["step"]}).spec.breakpoints != ((), ())


def test_compile_twice_returns_the_same_plan() -> None:
    graph = OrkesGraph(State).add_node(step).add_edge(START, "step").add_edge("step", END)
    assert graph.compile() is graph.compile()


def test_nodes_mapping_of_the_builder() -> None:
    graph = OrkesGraph(State).add_node("b", other).add_node("a", step)
    assert isinstance(graph.nodes, Mapping)
    assert list(graph.nodes) == ["b", "a"]  # insertion order


def test_building_a_10000_node_chain_takes_well_under_a_second() -> None:
    # add_node and add_edge must not scan what was recorded before (no quadratic build)
    names = [f"n{index}" for index in range(10_000)]
    started = time.perf_counter()
    graph = OrkesGraph(State)
    for name in names:
        graph.add_node(name, other)
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    graph.add_edge(names[-1], END)
    assert time.perf_counter() - started < 1.0
    assert len(graph.edges) == 10_001
