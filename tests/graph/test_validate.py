"""``compile()``: every problem DESIGN.md lists, all at once, each naming its culprit."""

from __future__ import annotations

import itertools
import time
from typing import Any, Literal, TypedDict

import pytest

from orkes import END, START, OrkesGraph
from orkes.errors import GraphValidationError
from orkes.graph.validate import UnreadableReturn, branch_targets, gate_values, literal_values


class State(TypedDict):
    n: int


def node(state: State) -> None:
    return None


def anywhere(state: State) -> str:
    return "END"


def even_or_odd(state: State) -> Literal["even", "odd"]:
    return "even" if state["n"] % 2 == 0 else "odd"


def three_ways(state: State) -> Literal["x", "y", "z"]:
    return "x"


def graph_of(*names: str, name: str | None = None) -> OrkesGraph[State]:
    graph = OrkesGraph(State, name=name)
    for node_name in names:
        graph.add_node(node_name, node)
    return graph


def problems_of(graph: OrkesGraph[State]) -> tuple[str, ...]:
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    error = caught.value
    heading = (
        f"the graph has {len(error.problems)} problem{'s' if len(error.problems) > 1 else ''}:"
    )
    assert str(error) == "\n  - ".join([heading, *error.problems])
    return error.problems


NO_ENTRY = "no entry edge: add graph.add_edge(START, '<first node>')"


def no_way_out(name: str) -> str:
    return f"node {name!r} has no way out: add an edge from it (to END if it is the last)"


def unreachable(name: str) -> str:
    return f"node {name!r} cannot be reached from START: add an edge to it, or remove it"


def no_end(name: str) -> str:
    return f"node {name!r} can never reach END: no path from it leads there"


# -- one problem at a time ---------------------------------------------------------------


def test_a_valid_graph_compiles() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    assert graph.compile().run({"n": 1}) == {"n": 1}


def test_an_empty_graph_has_no_entry() -> None:
    assert problems_of(OrkesGraph(State)) == (NO_ENTRY,)


def test_no_entry_edge() -> None:
    graph = graph_of("a").add_edge("a", END)
    assert problems_of(graph) == (NO_ENTRY, unreachable("a"))


def test_a_conditional_edge_from_start_is_an_entry() -> None:
    graph = graph_of("a").add_conditional_edge(START, anywhere).add_edge("a", END)
    assert graph.compile().run({"n": 3}) == {"n": 3}


def test_a_conditional_edge_from_start_with_a_mapping() -> None:
    graph = graph_of("a").add_conditional_edge(START, even_or_odd, {"even": "a", "odd": END})
    graph.add_edge("a", END)
    graph.compile()


def test_a_literal_gate_on_start_naming_an_unknown_node() -> None:
    graph = graph_of("even").add_conditional_edge(START, even_or_odd).add_edge("even", END)
    assert problems_of(graph) == (
        "conditional edge from START (gate 'even_or_odd') may return 'odd' "
        "(its -> Literal[...]), which is not a node; give a mapping or name a node",
    )


def test_a_graph_going_straight_from_start_to_end() -> None:
    assert OrkesGraph(State).add_edge(START, END).compile().run({"n": 1}) == {"n": 1}


def test_an_edge_to_an_unknown_node_suggests_a_close_name() -> None:
    graph = graph_of("alpha").add_edge(START, "alpah").add_edge("alpha", END)
    assert problems_of(graph) == (
        "edge START -> 'alpah' leads to unknown node 'alpah' (did you mean 'alpha'?)",
        unreachable("alpha"),
    )


def test_an_edge_to_an_unknown_node_with_nothing_close() -> None:
    graph = graph_of("alpha").add_edge(START, "alpha").add_edge("alpha", "zzz")
    # the unknown node is no way to END either, so "alpha" is a dead end as well
    assert problems_of(graph) == (
        "edge 'alpha' -> 'zzz' leads to unknown node 'zzz'",
        no_end("alpha"),
    )


def test_an_edge_from_an_unknown_node() -> None:
    graph = graph_of("alpha").add_edge(START, "alpha").add_edge("alpha", END)
    graph.add_edge("alpah", END)
    assert problems_of(graph) == (
        "edge 'alpah' -> END leaves unknown node 'alpah' (did you mean 'alpha'?)",
    )


def test_a_conditional_edge_from_an_unknown_node() -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge("a", END)
    graph.add_conditional_edge("q", anywhere)
    assert problems_of(graph) == (
        "conditional edge from 'q' (gate 'anywhere') leaves unknown node 'q'",
    )


def test_a_node_with_no_way_out() -> None:
    graph = graph_of("a").add_edge(START, "a")
    assert problems_of(graph) == (no_way_out("a"),)


def test_a_node_unreachable_from_start() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("a", END).add_edge("b", END)
    assert problems_of(graph) == (unreachable("b"),)


def test_a_node_from_which_end_cannot_be_reached() -> None:
    graph = graph_of("a", "b", "c").add_edge(START, "a").add_edge("a", END)
    graph.add_edge("a", "b").add_edge("b", "c").add_edge("c", "b")
    assert problems_of(graph) == (no_end("b"), no_end("c"))


def test_a_self_loop_with_no_exit() -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge("a", "a")
    assert problems_of(graph) == (no_end("a"),)


def test_a_mapping_naming_an_unknown_node() -> None:
    graph = graph_of("a", "process_even").add_edge(START, "a").add_edge("process_even", END)
    graph.add_conditional_edge("a", even_or_odd, {"even": "process_even", "odd": "proces_odd"})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'even_or_odd') maps 'odd' to unknown node "
        "'proces_odd' (did you mean 'process_even'?)",
    )


def test_a_default_naming_an_unknown_node() -> None:
    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", anywhere, {"done": END}, default="nowhere")
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'anywhere') has default= unknown node 'nowhere'",
    )


def test_a_literal_gate_not_covered_by_its_mapping() -> None:
    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", even_or_odd, {"even": END})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'even_or_odd') may return 'odd' (its -> Literal[...]), "
        "which the mapping does not cover; add it to the mapping or give default=",
    )


def test_a_literal_gate_missing_several_values() -> None:
    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", three_ways, {"y": END})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'three_ways') may return 'x', 'z' "
        "(its -> Literal[...]), which the mapping does not cover; add them to the mapping "
        "or give default=",
    )


def test_a_default_covers_what_the_mapping_lacks() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", three_ways, {"y": END}, default="b")
    compiled = graph.compile()
    assert compiled.run({"n": 0}) == {"n": 0}


def test_a_literal_gate_without_mapping_naming_an_unknown_node() -> None:
    def pick(state: State) -> Literal["a", "END", "nope"]:
        return "END"

    graph = graph_of("a").add_edge(START, "a").add_conditional_edge("a", pick)
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'pick') may return 'nope' (its -> Literal[...]), "
        "which is not a node; give a mapping or name a node",
    )


def test_a_literal_gate_without_mapping_naming_nodes_and_end() -> None:
    def pick(state: State) -> Literal["b", "END"]:
        return "b" if state["n"] == 0 else "END"

    graph = graph_of("a", "b").add_edge(START, "a").add_conditional_edge("a", pick)
    graph.add_edge("b", END)
    assert graph.compile().run({"n": 0}) == {"n": 0}


def test_a_literal_list_gate_without_mapping() -> None:
    def fan_out(state: State) -> list[Literal["b", "c"]]:
        return ["b", "c"]

    graph = graph_of("a", "b", "c").add_edge(START, "a").add_conditional_edge("a", fan_out)
    graph.add_edge("b", END)  # "c" has no way out: the Literal says the gate may go there
    assert problems_of(graph) == (no_way_out("c"),)


def test_a_literal_gate_that_only_loops_cannot_reach_end() -> None:
    def again(state: State) -> Literal["a"]:
        return "a"

    graph = graph_of("a").add_edge(START, "a").add_conditional_edge("a", again)
    assert problems_of(graph) == (no_end("a"),)


def test_a_mapping_that_only_loops_cannot_reach_end() -> None:
    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", anywhere, {"again": "a"})
    assert problems_of(graph) == (no_end("a"),)


def test_a_gate_with_no_mapping_and_no_literal_may_go_anywhere() -> None:
    # "b" is reached only through the gate, and the gate may end the run: both fine.
    graph = graph_of("a", "b").add_edge(START, "a").add_conditional_edge("a", anywhere)
    graph.add_edge("b", "a")
    graph.compile()


def test_a_gate_going_anywhere_does_not_rescue_a_closed_loop() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_conditional_edge("a", anywhere)
    graph.add_edge("b", "b")
    assert problems_of(graph) == (no_end("b"),)


def test_a_join_on_an_unknown_node() -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge(["a", "bb"], END)
    assert problems_of(graph) == ("join ['a', 'bb'] -> END waits for unknown node 'bb'",)


def test_a_join_to_an_unknown_node() -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge("a", END).add_edge(["a"], "zz")
    assert problems_of(graph) == ("join ['a'] -> 'zz' leads to unknown node 'zz'",)


def test_being_a_join_source_is_a_way_out() -> None:
    graph = graph_of("a", "b", "c").add_edge(START, "a").add_edge(START, "b")
    graph.add_edge(["a", "b"], "c").add_edge("c", END)
    assert graph.compile().run({"n": 5}) == {"n": 5}


# -- a -> bool gate is checked as -> Literal[True, False] --------------------------------


def is_even(state: State) -> bool:
    return state["n"] % 2 == 0


def test_a_bool_gate_whose_mapping_covers_both_values_compiles() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", is_even, {True: "b", False: END})
    assert graph.compile().run({"n": 2}) == {"n": 2}


def test_a_bool_gate_whose_mapping_lacks_false() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", is_even, {True: "b"})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'is_even') may return False (its -> Literal[...]), "
        "which the mapping does not cover; add it to the mapping or give default=",
    )


def test_a_bool_gate_whose_mapping_lacks_true() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", is_even, {False: "b"})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'is_even') may return True (its -> Literal[...]), "
        "which the mapping does not cover; add it to the mapping or give default=",
    )


def test_a_bool_gate_whose_mapping_has_string_keys_lacks_both() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", is_even, {"yes": "b", "no": END})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'is_even') may return True, False "
        "(its -> Literal[...]), which the mapping does not cover; add them to the mapping "
        "or give default=",
    )


def test_a_default_covers_what_the_mapping_of_a_bool_gate_lacks() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", is_even, {True: "b"}, default=END)
    assert graph.compile().run({"n": 1}) == {"n": 1}


def test_a_list_of_bool_gate_is_checked_too() -> None:
    def both(state: State) -> list[bool]:
        return [True, False]

    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", both, {True: "b"})
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'both') may return False (its -> Literal[...]), "
        "which the mapping does not cover; add it to the mapping or give default=",
    )


def test_a_callable_bool_gate_is_checked_too() -> None:
    class IsEven:
        def __call__(self, state: State) -> bool:
            return state["n"] % 2 == 0

    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", IsEven(), {False: END})
    (problem,) = problems_of(graph)
    assert problem.endswith(
        "may return True (its -> Literal[...]), which the mapping does not cover; "
        "add it to the mapping or give default="
    )


def test_an_optional_bool_gate_is_not_checked() -> None:
    # as with -> Literal[...] | None: no values to check the mapping against
    def maybe(state: State) -> bool | None:
        return True

    graph = graph_of("a").add_edge(START, "a")
    graph.add_conditional_edge("a", maybe, {True: END})
    graph.compile()


def test_a_bool_gate_without_a_mapping_names_no_node() -> None:
    graph = graph_of("a").add_edge(START, "a").add_conditional_edge("a", is_even)
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'is_even') may return True (its -> Literal[...]), "
        "which is not a node; give a mapping or name a node",
        "conditional edge from 'a' (gate 'is_even') may return False (its -> Literal[...]), "
        "which is not a node; give a mapping or name a node",
        no_end("a"),
    )


def test_gate_values_adds_bool_to_literal_values() -> None:
    def listed(state: State) -> list[bool]:
        return [True]

    def maybe(state: State) -> bool | None:
        return None

    assert gate_values(is_even) == (True, False)
    assert gate_values(listed) == (True, False)
    assert gate_values(even_or_odd) == ("even", "odd")
    assert gate_values(maybe) is None
    assert gate_values(anywhere) is None
    # literal_values keeps its contract: only a Literal names values
    assert literal_values(is_even) is None
    assert literal_values(listed) is None


# -- a sentinel spelt in another case -------------------------------------------------------


@pytest.mark.parametrize("spelling", ["end", "End", "eNd", "__END__"])
def test_an_edge_to_end_in_another_case_suggests_end(spelling: str) -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge("a", spelling)
    assert problems_of(graph) == (
        f"edge 'a' -> {spelling!r} leads to unknown node {spelling!r} (did you mean END?)",
        no_end("a"),
    )


@pytest.mark.parametrize("spelling", ["start", "Start", "__Start__"])
def test_an_edge_from_start_in_another_case_suggests_start(spelling: str) -> None:
    graph = graph_of("a").add_edge(spelling, "a").add_edge("a", END)
    assert problems_of(graph) == (
        NO_ENTRY,
        f"edge {spelling!r} -> 'a' leaves unknown node {spelling!r} (did you mean START?)",
        unreachable("a"),
    )


def test_end_is_suggested_over_a_close_node_name() -> None:
    graph = graph_of("a", "send").add_edge(START, "a").add_edge("a", "end")
    graph.add_edge("a", "send").add_edge("send", END)
    assert problems_of(graph) == (
        "edge 'a' -> 'end' leads to unknown node 'end' (did you mean END?)",
    )


def test_only_end_is_suggested_for_a_target_and_only_start_for_a_source() -> None:
    graph = graph_of("a").add_edge(START, "a").add_edge("a", END)
    graph.add_edge("a", "start").add_edge("end", "a")
    assert problems_of(graph) == (
        "edge 'a' -> 'start' leads to unknown node 'start'",
        "edge 'end' -> 'a' leaves unknown node 'end'",
    )


def test_a_join_to_end_in_another_case_suggests_end() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge(START, "b")
    graph.add_edge(["a", "b"], "End")
    assert problems_of(graph) == (
        "join ['a', 'b'] -> 'End' leads to unknown node 'End' (did you mean END?)",
        no_end("a"),
        no_end("b"),
    )


def test_a_mapping_and_a_default_naming_end_in_another_case_suggest_end() -> None:
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", even_or_odd, {"even": "b", "odd": "end"}, default="End")
    assert problems_of(graph) == (
        "conditional edge from 'a' (gate 'even_or_odd') maps 'odd' to unknown node 'end' "
        "(did you mean END?)",
        "conditional edge from 'a' (gate 'even_or_odd') has default= unknown node 'End' "
        "(did you mean END?)",
    )


def test_a_conditional_edge_from_start_in_another_case_suggests_start() -> None:
    graph = graph_of("a").add_conditional_edge("start", even_or_odd, {"even": "a", "odd": END})
    graph.add_edge("a", END)
    assert problems_of(graph) == (
        NO_ENTRY,
        "conditional edge from 'start' (gate 'even_or_odd') leaves unknown node 'start' "
        "(did you mean START?)",
        unreachable("a"),
    )


def test_end_is_suggested_even_after_the_other_suggestions_run_out() -> None:
    graph = graph_of("alpha").add_edge(START, "alpha").add_edge("alpha", END)
    for index in range(12):
        graph.add_edge("alpha", f"alpha{index}")
    graph.add_edge("alpha", "end")
    problems = problems_of(graph)
    assert problems[-1] == "edge 'alpha' -> 'end' leads to unknown node 'end' (did you mean END?)"
    assert problems[-2] == "edge 'alpha' -> 'alpha11' leads to unknown node 'alpha11'"


# -- many problems at once ---------------------------------------------------------------


def test_every_problem_is_listed_in_one_error() -> None:
    graph = graph_of("a", "b", "c", "d", "e", name="broken")
    graph.add_edge("a", "x")
    graph.add_conditional_edge("b", even_or_odd, {"even": "zz"})
    graph.add_conditional_edge("d", anywhere, {"go": "e"}, default="nowhere")
    graph.add_edge(["d", "ghost"], END)
    graph.add_edge("e", "e")
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    error = caught.value
    expected = (
        NO_ENTRY,
        "edge 'a' -> 'x' leads to unknown node 'x'",
        "join ['d', 'ghost'] -> END waits for unknown node 'ghost'",
        "conditional edge from 'b' (gate 'even_or_odd') maps 'even' to unknown node 'zz'",
        "conditional edge from 'b' (gate 'even_or_odd') may return 'odd' "
        "(its -> Literal[...]), which the mapping does not cover; add it to the mapping "
        "or give default=",
        "conditional edge from 'd' (gate 'anywhere') has default= unknown node 'nowhere'",
        no_way_out("c"),
        unreachable("a"),
        unreachable("b"),
        unreachable("c"),
        unreachable("d"),
        unreachable("e"),
    )
    assert error.problems == expected
    assert error.graph_name == "broken"
    assert str(error) == "graph 'broken' has 12 problems:\n  - " + "\n  - ".join(expected)
    assert isinstance(error, ValueError)


def test_a_reachable_graph_with_many_flow_problems() -> None:
    graph = graph_of("a", "b", "c", "d", "lonely")
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("a", "c").add_edge("b", END)
    graph.add_edge("c", "d").add_edge("d", "c")
    assert problems_of(graph) == (
        no_way_out("lonely"),
        unreachable("lonely"),
        no_end("c"),
        no_end("d"),
    )


# -- the helpers the runner and the pictures use -----------------------------------------


def test_literal_values() -> None:
    def optional(state: State) -> Literal["a"] | None:
        return None

    def union(state: State) -> Literal["a"] | Literal["b", 3]:
        return "a"

    def listed(state: State) -> list[Literal["a", "b"]]:
        return ["a"]

    class CallableGate:
        def __call__(self, state: State) -> Literal["x", "y"]:
            return "x"

    assert literal_values(even_or_odd) == ("even", "odd")
    assert literal_values(union) == ("a", "b", 3)
    assert literal_values(listed) == ("a", "b")
    assert literal_values(CallableGate()) == ("x", "y")
    assert literal_values(anywhere) is None
    assert literal_values(optional) is None
    assert literal_values(lambda state: "a") is None
    assert literal_values(len) is None


def test_a_gate_return_naming_the_undefined_is_reported() -> None:
    def gate(state: State) -> Literal[Undefined]:  # type: ignore[name-defined]  # noqa: F821
        return "a"

    class CallableGate:
        def __call__(self, state: State) -> Literal[Undefined]:  # type: ignore[name-defined]  # noqa: F821
            return "a"

    with pytest.raises(UnreadableReturn, match="NameError"):
        literal_values(gate)
    with pytest.raises(UnreadableReturn, match="NameError"):
        literal_values(CallableGate())
    graph = graph_of("a").add_edge(START, "a").add_conditional_edge("a", gate)
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    assert caught.value.problems == (
        "the return annotation of the gate of conditional edge from 'a' (gate 'gate') cannot "
        "be read (NameError: name 'Undefined' is not defined); import what it names where "
        "the gate is defined",
    )


def test_a_parameter_annotation_that_does_not_resolve_does_not_hide_the_literal_check() -> None:
    def gate(state: Unimportable) -> Literal["even", "odd"]:  # type: ignore[name-defined]  # noqa: F821
        return "even"

    assert literal_values(gate) == ("even", "odd")
    graph = graph_of("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", gate, {"even": "b"})
    with pytest.raises(GraphValidationError, match="may return 'odd'"):
        graph.compile()


def test_branch_targets() -> None:
    graph = graph_of("a", "b")
    graph.add_conditional_edge("a", even_or_odd, {"even": "b", "odd": "ghost"}, default=END)
    graph.add_conditional_edge("b", anywhere)
    mapped, free = graph.branches
    assert branch_targets(mapped, graph.nodes, ("even", "odd")) == ["b", END]
    assert branch_targets(free, graph.nodes, None) is None


# -- size --------------------------------------------------------------------------------


def chain(length: int) -> OrkesGraph[State]:
    graph = OrkesGraph(State)
    names = [f"n{index}" for index in range(length)]
    for name in names:
        graph.add_node(name, node)
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    graph.add_edge(names[-1], END)
    return graph


def timed_compile(graph: OrkesGraph[Any]) -> float:
    started = time.perf_counter()
    graph.compile()
    return time.perf_counter() - started


def test_a_5000_node_chain_compiles_in_well_under_a_second() -> None:
    assert timed_compile(chain(5_000)) < 1.0


def test_a_10000_node_graph_of_joins_and_a_free_gate_compiles_in_well_under_a_second() -> None:
    graph = chain(10_000)
    for index in range(0, 10_000 - 2, 3):
        graph.add_edge([f"n{index}", f"n{index + 1}"], f"n{index + 2}")
    graph.add_conditional_edge("n9999", anywhere)
    assert timed_compile(graph) < 1.0


def test_a_10000_node_graph_of_gates_compiles_in_well_under_a_second() -> None:
    # every node leaves through a conditional edge, as in an agent that decides at each step
    graph = graph_of(*(f"n{index}" for index in range(10_000)))
    graph.add_edge(START, "n0").add_edge("n9999", END)
    for index in range(9_999):
        graph.add_conditional_edge(f"n{index}", even_or_odd, {"even": f"n{index + 1}", "odd": END})
    assert timed_compile(graph) < 1.0


def test_a_10000_node_graph_with_problems_reports_them_quickly() -> None:
    graph = chain(10_000)
    for index in range(0, 10_000, 2):
        graph.add_node(f"orphan{index}", node)
    started = time.perf_counter()
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    assert time.perf_counter() - started < 1.0
    assert len(caught.value.problems) == 2 * 5_000
