"""The superstep runner, as DESIGN.md specifies it: every scenario runs through both drivers.

Concurrency (threads, barriers, contextvars, async gathering, nested runs, many callers)
lives in ``test_threads.py``; the planner driven by hand in ``test_plan.py``.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import operator
import re
import threading
import tracemalloc
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict, cast

import pytest

from orkes import END, START, CompiledGraph, GraphRunner, OrkesGraph, OrkesMessageSchema
from orkes.errors import (
    ConflictingUpdateError,
    GraphDefinitionError,
    NodeError,
    OrkesError,
    RoutingError,
    StateError,
    StepLimitExceeded,
)
from orkes.graph.reducers import add_messages

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


# --- schemas -------------------------------------------------------------------------------


class Log(TypedDict, total=False):
    """A counter and a log that parallel nodes may append to."""

    n: int
    log: Annotated[list[str], operator.add]


class Plain(TypedDict, total=False):
    """Keys with no reducer: last writer wins, parallel writes conflict."""

    a: int
    b: int
    c: int
    d: int


class Chat(TypedDict, total=False):
    """The seed's state."""

    user_input: str
    llm_response: str


class Total(TypedDict):
    """An int summed through its reducer."""

    total: Annotated[int, operator.add]


class Text(TypedDict):
    """A string concatenated through its reducer: merge order shows in the result."""

    text: Annotated[str, operator.add]


class Messages(TypedDict):
    """A chat history merged with ``add_messages``."""

    messages: Annotated[list[OrkesMessageSchema], add_messages]


class Number(TypedDict, total=False):
    """The branch story of the docs."""

    number: int
    result: str


NodeFn = Callable[[Log], Mapping[str, object] | None]


# --- helpers -------------------------------------------------------------------------------


def logs(name: str) -> NodeFn:
    """A node that appends its own name to the log."""

    def node(state: Log) -> dict[str, object]:
        return {"log": [name]}

    node.__name__ = name
    return node


def log_graph(*names: str) -> OrkesGraph[Log]:
    """A graph with one logging node per name and no edges yet."""
    graph = OrkesGraph(Log)
    for name in names:
        graph.add_node(name, logs(name))
    return graph


def chain(*names: str) -> GraphRunner[Log]:
    """START -> names[0] -> ... -> names[-1] -> END, each node logging its name."""
    graph = log_graph(*names)
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    graph.add_edge(names[-1], END)
    return GraphRunner(graph.compile())


def increment(state: Log) -> dict[str, object]:
    return {"n": state["n"] + 1}


async def increment_async(state: Log) -> dict[str, object]:
    return increment(state)


def counter_loop(
    until: int,
    *,
    max_passes: int | None = None,
    max_steps: int = 1000,
    node: Callable[[Log], Any] = increment,
) -> GraphRunner[Log]:
    """``increment`` runs again and again until ``n == until``: ``until`` supersteps."""

    def counter_gate(state: Log) -> Literal["continue", "finish"]:
        return "continue" if state["n"] < until else "finish"

    graph = OrkesGraph(Log).add_node("increment", node).add_edge(START, "increment")
    graph.add_conditional_edge(
        "increment",
        counter_gate,
        {"continue": "increment", "finish": END},
        max_passes=max_passes,
    )
    return GraphRunner(graph.compile(), max_steps=max_steps)


def diamond(join: bool) -> GraphRunner[Log]:
    """a fans out to b and c1 -> c2; both lead into d, by two edges or by a join."""
    graph = log_graph("a", "b", "c1", "c2", "d")
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("a", "c1").add_edge("c1", "c2")
    if join:
        graph.add_edge(["b", "c2"], "d")
    else:
        graph.add_edge("b", "d").add_edge("c2", "d")
    return GraphRunner(graph.add_edge("d", END).compile())


def node_error_message(node: str, error: str, step: int, exc: NodeError) -> str:
    return f"node {node!r} raised {error} (step {step}, run {exc.run_id})"


# --- sequential chains and the two update styles --------------------------------------------


def test_a_chain_runs_its_nodes_in_order(driver: Driver) -> None:
    assert driver(chain("a", "b", "c"), {"log": []}) == {"log": ["a", "b", "c"]}


def test_return_what_changed_updates_only_those_keys(driver: Driver) -> None:
    graph = OrkesGraph(Plain).add_node("set_b", lambda state: {"b": state["a"] * 10})
    runner = GraphRunner(graph.add_edge(START, "set_b").add_edge("set_b", END).compile())
    assert driver(runner, {"a": 4, "c": 7}) == {"a": 4, "c": 7, "b": 40}


def test_mutate_and_return_the_state_in_the_seeds_style(driver: Driver) -> None:
    def llm_node(state: Chat) -> Chat:
        state["llm_response"] = "I echo: " + state["user_input"]
        return state

    graph = OrkesGraph(Chat).add_node("llm", llm_node)
    runner = GraphRunner(graph.add_edge(START, "llm").add_edge("llm", END).compile())
    result = driver(runner, {"user_input": "Hello, Orkes!"})
    assert result == {"user_input": "Hello, Orkes!", "llm_response": "I echo: Hello, Orkes!"}
    assert str(result) == "{'user_input': 'Hello, Orkes!', 'llm_response': 'I echo: Hello, Orkes!'}"


def test_a_node_returning_none_changes_nothing(driver: Driver) -> None:
    calls: list[int] = []

    def look(state: Log) -> None:
        calls.append(state["n"])

    graph = OrkesGraph(Log).add_node("look", look).add_edge(START, "look").add_edge("look", END)
    assert driver(GraphRunner(graph.compile()), {"n": 3, "log": ["x"]}) == {"n": 3, "log": ["x"]}
    assert calls == [3]


def test_the_whole_state_handed_back_does_not_double_append(driver: Driver) -> None:
    def touch_n(state: Log) -> Log:
        state["n"] = 5
        return state

    def untouched(state: Log) -> Log:
        return state

    graph = log_graph("first").add_node("touch_n", touch_n).add_node("untouched", untouched)
    graph.add_edge(START, "first").add_edge("first", "touch_n").add_edge("touch_n", "untouched")
    runner = GraphRunner(graph.add_edge("untouched", END).compile())
    assert driver(runner, {"n": 0, "log": ["start"]}) == {"n": 5, "log": ["start", "first"]}


def test_a_key_set_to_a_new_object_in_the_mutate_style_goes_through_its_reducer(
    driver: Driver,
) -> None:
    def mutate(state: Log) -> Log:
        state["log"] = ["mutate"]
        return state

    graph = OrkesGraph(Log).add_node("mutate", mutate)
    runner = GraphRunner(graph.add_edge(START, "mutate").add_edge("mutate", END).compile())
    assert driver(runner, {"log": ["start"]}) == {"log": ["start", "mutate"]}


def test_a_partial_update_equal_to_the_old_value_is_still_applied(driver: Driver) -> None:
    # total was 1 and the node returns {"total": 1}: a write, so the reducer adds it.
    graph = OrkesGraph(Total).add_node("again", lambda state: {"total": 1})
    runner = GraphRunner(graph.add_edge(START, "again").add_edge("again", END).compile())
    assert driver(runner, {"total": 1}) == {"total": 2}


def test_returning_the_same_list_object_in_a_new_mapping_is_a_write(driver: Driver) -> None:
    # Return what changed: every key of a new mapping is a write, even the very same list.
    graph = OrkesGraph(Log).add_node("echo", lambda state: {"log": state["log"]})
    runner = GraphRunner(graph.add_edge(START, "echo").add_edge("echo", END).compile())
    assert driver(runner, {"log": ["x"]}) == {"log": ["x", "x"]}


def test_equal_partial_updates_from_parallel_nodes_still_conflict(driver: Driver) -> None:
    graph = OrkesGraph(Plain)
    graph.add_node("a", lambda state: {"a": 1}).add_node("b", lambda state: {"a": 1})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    with pytest.raises(ConflictingUpdateError, match=r"^nodes 'a' and 'b' both wrote key 'a'"):
        driver(GraphRunner(graph.compile()), {"a": 1})


def test_keys_a_node_left_alone_are_not_writes(driver: Driver) -> None:
    # 'a' hands back its whole state; only 'b' writes key 'c', so nothing conflicts.
    def hand_back(state: Plain) -> Plain:
        state["a"] = 2
        return state

    graph = OrkesGraph(Plain).add_node("a", hand_back).add_node("b", lambda state: {"c": 3})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    assert driver(GraphRunner(graph.compile()), {"a": 1, "c": 0}) == {"a": 2, "c": 3}


def test_parallel_nodes_handing_back_their_state_write_nothing(driver: Driver) -> None:
    def hand_back(state: Log) -> Log:
        return state

    def bump(state: Log) -> Log:
        state["n"] = state["n"] + 1
        return state

    graph = OrkesGraph(Log).add_node("a", hand_back).add_node("b", bump)
    graph.add_node("c", hand_back).add_edge(START, "a").add_edge(START, "b")
    graph.add_edge(START, "c").add_edge("a", END).add_edge("b", END).add_edge("c", END)
    assert driver(GraphRunner(graph.compile()), {"n": 1, "log": ["x"]}) == {"n": 2, "log": ["x"]}


def test_the_input_is_never_mutated_and_the_result_is_a_new_dict(driver: Driver) -> None:
    def mutate(state: Log) -> Log:
        state["n"] = state["n"] + 1
        state["log"] = ["mutate"]
        return state

    graph = OrkesGraph(Log).add_node("mutate", mutate)
    graph.add_node("left", logs("left")).add_node("right", logs("right"))
    graph.add_edge(START, "mutate").add_edge("mutate", "left").add_edge("mutate", "right")
    runner = GraphRunner(graph.add_edge("left", END).add_edge("right", END).compile())
    given: Log = {"n": 1, "log": ["given"]}
    before = copy.deepcopy(given)
    result = driver(runner, given)
    assert given == before
    assert result is not given
    assert result == {"n": 2, "log": ["given", "mutate", "left", "right"]}
    # Running a graph whose node returns the state unchanged still gives a new dict.
    passthrough = OrkesGraph(Log).add_node("same", lambda state: state)
    same = GraphRunner(passthrough.add_edge(START, "same").add_edge("same", END).compile())
    assert driver(same, given) is not given


def test_result_keys_keep_the_input_order_then_the_order_first_written(driver: Driver) -> None:
    graph = OrkesGraph(Plain)
    graph.add_node("first", lambda state: {"d": 4, "a": 1})
    graph.add_node("second", lambda state: {"b": 2, "d": 5})
    runner = GraphRunner(
        graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", END).compile()
    )
    result = driver(runner, {"c": 3})
    assert list(result.items()) == [("c", 3), ("d", 5), ("a", 1), ("b", 2)]


def test_new_keys_of_a_parallel_superstep_follow_the_merge_order(driver: Driver) -> None:
    # 'zulu' finishes first, but updates merge by node name: 'alpha''s keys come first.
    zulu_done = threading.Event()

    def alpha(state: Plain) -> dict[str, object]:
        assert zulu_done.wait(timeout=5)
        return {"d": 4, "c": 3}

    def zulu(state: Plain) -> dict[str, object]:
        zulu_done.set()
        return {"b": 2}

    graph = OrkesGraph(Plain).add_node(alpha).add_node(zulu)
    graph.add_edge(START, "alpha").add_edge(START, "zulu").add_edge("alpha", END)
    result = driver(GraphRunner(graph.add_edge("zulu", END).compile()), {"a": 1})
    assert list(result) == ["a", "d", "c", "b"]


# --- conditional edges ---------------------------------------------------------------------


def number_graph(
    mapping: Mapping[Hashable, str] | None = None, *, default: str | None = None
) -> OrkesGraph[Number]:
    def set_number(state: Number) -> Number:
        state["number"] = state["number"] + 1
        return state

    def is_even_or_odd(state: Number) -> str:
        return "even" if state["number"] % 2 == 0 else "odd"

    graph = OrkesGraph(Number).add_node(set_number)
    graph.add_node("process_even", lambda state: {"result": f"{state['number']} is even"})
    graph.add_node("process_odd", lambda state: {"result": f"{state['number']} is odd"})
    graph.add_edge(START, "set_number").add_edge("process_even", END)
    graph.add_edge("process_odd", END)
    graph.add_conditional_edge("set_number", is_even_or_odd, mapping, default=default)
    return graph


def test_a_gate_picks_a_branch_through_its_mapping(driver: Driver) -> None:
    graph = number_graph({"even": "process_even", "odd": "process_odd"})
    runner = GraphRunner(graph.compile())
    assert driver(runner, {"number": 1}) == {"number": 2, "result": "2 is even"}
    assert driver(runner, {"number": 2}) == {"number": 3, "result": "3 is odd"}


def test_a_gate_value_the_mapping_lacks_goes_to_the_default(driver: Driver) -> None:
    runner = GraphRunner(number_graph({"even": "process_even"}, default="process_odd").compile())
    assert driver(runner, {"number": 2}) == {"number": 3, "result": "3 is odd"}
    assert driver(runner, {"number": 1}) == {"number": 2, "result": "2 is even"}


def test_a_gate_value_nobody_knows_raises_routing_error(driver: Driver) -> None:
    def classify(state: Log) -> str:
        return "maybe"

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", classify, {"yes": "b", "no": END})
    with pytest.raises(RoutingError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    assert str(caught.value) == (
        "gate 'classify' of node 'a' returned 'maybe'; "
        "the mapping knows 'yes', 'no' (add it, or give default=)"
    )
    assert caught.value.node == "a"
    assert caught.value.value == "maybe"
    assert caught.value.known == ("yes", "no")
    assert isinstance(caught.value, ValueError)


def test_without_a_mapping_a_gate_returns_node_names_or_end(driver: Driver) -> None:
    answers: dict[int, object] = {0: "b", 1: END, 2: "END"}

    def pick(state: Log) -> object:
        return answers[len(state["log"]) - 1]

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("b", "a")
    runner = GraphRunner(graph.add_conditional_edge("a", pick).compile())
    # a (gate: 'b'), b, a (gate: END)
    assert driver(runner, {"log": []}) == {"log": ["a", "b", "a"]}
    # a (gate: "END")
    assert driver(runner, {"log": ["x", "y"]}) == {"log": ["x", "y", "a"]}


def test_without_a_mapping_an_unknown_name_raises_routing_error(driver: Driver) -> None:
    def pick(state: Log) -> str:
        return "nowhere"

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("b", END)
    runner = GraphRunner(graph.add_conditional_edge("a", pick).compile())
    with pytest.raises(RoutingError) as caught:
        driver(runner, {"log": []})
    assert str(caught.value) == (
        "gate 'pick' of node 'a' returned 'nowhere', which is neither a node nor END; "
        "nodes are 'a', 'b' (return one of them, or add a mapping or default=)"
    )
    assert (caught.value.node, caught.value.value) == ("a", "nowhere")
    assert caught.value.known == ("a", "b")


def test_a_routing_error_lists_at_most_twelve_names(driver: Driver) -> None:
    def pick(state: Log) -> str:
        return "nowhere"

    names = [f"n{i:02d}" for i in range(13)]
    graph = log_graph(*names).add_conditional_edge(START, pick)
    for name in names:
        graph.add_edge(name, END)
    with pytest.raises(RoutingError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    listed = ", ".join(repr(name) for name in names[:12])
    assert str(caught.value) == (
        f"gate 'pick' of node START returned 'nowhere', which is neither a node nor END; "
        f"nodes are {listed}, … (return one of them, or add a mapping or default=)"
    )
    assert caught.value.node == START
    assert len(caught.value.known) == 13


def test_the_string_end_in_a_mapping_means_end(driver: Driver) -> None:
    def done(state: Log) -> str:
        return "done"

    graph = log_graph("a").add_edge(START, "a").add_conditional_edge("a", done, {"done": "END"})
    assert driver(GraphRunner(graph.compile()), {"log": []}) == {"log": ["a"]}


def test_a_gate_returning_a_list_fans_out_in_one_superstep(driver: Driver) -> None:
    def both(state: Log) -> list[str]:
        return ["c", "b", END]

    graph = log_graph("a", "b", "c").add_edge(START, "a").add_edge("b", END).add_edge("c", END)
    runner = GraphRunner(graph.add_conditional_edge("a", both).compile())
    # b and c run together in superstep 2: two supersteps in all.
    assert driver(runner, {"log": []}, max_steps=2) == {"log": ["a", "b", "c"]}


def test_a_gate_beside_a_plain_edge_fans_out_sorted_and_once(driver: Driver) -> None:
    def more(state: Log) -> list[str]:
        return ["d", "c", "b"]

    graph = log_graph("a", "b", "c", "d").add_edge(START, "a").add_edge("a", "c")
    graph.add_edge("b", END).add_edge("c", END).add_edge("d", END)
    runner = GraphRunner(graph.add_conditional_edge("a", more).compile())
    assert driver(runner, {"log": []}, max_steps=2) == {"log": ["a", "b", "c", "d"]}


def test_a_gate_returning_a_list_of_mapped_values_fans_out(driver: Driver) -> None:
    def topics(state: Log) -> list[str]:
        return ["weather", "news", "weather"]

    graph = log_graph("a", "b", "c").add_edge(START, "a").add_edge("b", END).add_edge("c", END)
    graph.add_conditional_edge("a", topics, {"news": "c", "weather": "b"})
    assert driver(GraphRunner(graph.compile()), {"log": []}) == {"log": ["a", "b", "c"]}


def test_a_gate_on_start_returning_a_list_fans_out_sorted_and_once(driver: Driver) -> None:
    def entry(state: Log) -> list[str]:
        return ["c", "b", "c"]

    graph = log_graph("b", "c").add_edge("b", END).add_edge("c", END)
    runner = GraphRunner(graph.add_conditional_edge(START, entry).compile())
    assert driver(runner, {"log": []}, max_steps=1) == {"log": ["b", "c"]}


def test_a_literal_gate_on_start(driver: Driver) -> None:
    def entry(state: Log) -> Literal["b", "END"]:
        return "b" if state["n"] else "END"

    graph = log_graph("b").add_edge("b", END).add_conditional_edge(START, entry)
    runner = GraphRunner(graph.compile())
    # A gate on START is not a superstep: max_steps=1 suffices for b.
    assert driver(runner, {"n": 1, "log": []}, max_steps=1) == {"n": 1, "log": ["b"]}
    assert driver(runner, {"n": 0, "log": []}) == {"n": 0, "log": []}


def test_a_gate_sees_the_state_after_the_superstep_is_merged(driver: Driver) -> None:
    seen: list[dict[str, object]] = []

    def gate(state: Log) -> str:
        seen.append(dict(state))
        return END

    graph = log_graph("a", "b").add_edge(START, "a").add_edge(START, "b").add_edge("b", END)
    graph.add_conditional_edge("a", gate)
    assert driver(GraphRunner(graph.compile()), {"log": []}) == {"log": ["a", "b"]}
    assert seen == [{"log": ["a", "b"]}]


def test_a_gate_that_raises_becomes_a_node_error(driver: Driver) -> None:
    problem = ValueError("no opinion")

    def judge(state: Log) -> str:
        raise problem

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    graph.add_conditional_edge("b", judge, {"x": END})
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    exc = caught.value
    assert str(exc) == (
        f"gate 'judge' of node 'b' raised ValueError: no opinion (after step 2, run {exc.run_id})"
    )
    assert (exc.node, exc.step) == ("b", 2)
    assert exc.__cause__ is problem


def test_a_gate_on_start_that_raises_becomes_a_node_error_at_step_0(driver: Driver) -> None:
    def entry(state: Log) -> str:
        raise ValueError("x")

    graph = log_graph("a").add_edge("a", END).add_conditional_edge(START, entry)
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    exc = caught.value
    assert str(exc) == (
        f"gate 'entry' of node START raised ValueError: x (after step 0, run {exc.run_id})"
    )
    assert (exc.node, exc.step) == (START, 0)


def test_a_gate_reading_a_missing_key_becomes_a_node_error(driver: Driver) -> None:
    def gate(state: Log) -> str:
        return "b" if state["n"] else END

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("b", END)
    runner = GraphRunner(graph.add_conditional_edge("a", gate).compile())
    with pytest.raises(NodeError) as caught:
        driver(runner, {"log": []})
    assert type(caught.value.__cause__) is KeyError
    assert caught.value.node == "a"


def test_a_gate_returning_a_tuple_holding_an_unhashable_raises_routing_error(
    driver: Driver,
) -> None:
    # Not in the mapping (it cannot even be hashed), so the tuple fans out, and [1]
    # is a value the mapping does not know: a RoutingError, never a bare TypeError.
    def odd(state: Log) -> object:
        return ("b", [1])

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edge("a", odd, {"b": "b", "stop": END})
    with pytest.raises(RoutingError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    assert caught.value.node == "a"
    assert caught.value.value == [1]


# --- parallel fan-out, fan-in, joins --------------------------------------------------------


def test_several_edges_out_of_a_node_fan_out_and_fan_in_runs_once(driver: Driver) -> None:
    graph = log_graph("a", "b", "c", "d").add_edge(START, "a")
    graph.add_edge("a", "b").add_edge("a", "c").add_edge("b", "d").add_edge("c", "d")
    runner = GraphRunner(graph.add_edge("d", END).compile())
    assert driver(runner, {"log": []}, max_steps=3) == {"log": ["a", "b", "c", "d"]}


def test_fan_in_runs_once_per_superstep_in_which_a_source_ran(driver: Driver) -> None:
    # d is reached from b (step 2) and from c2 (step 3): it runs in steps 3 and 4.
    assert driver(diamond(join=False), {"log": []}) == {"log": ["a", "b", "c1", "c2", "d", "d"]}


def test_a_join_waits_for_every_source(driver: Driver) -> None:
    assert driver(diamond(join=True), {"log": []}) == {"log": ["a", "b", "c1", "c2", "d"]}


def test_a_join_whose_sources_finish_together(driver: Driver) -> None:
    graph = log_graph("a", "b", "c").add_edge(START, "a").add_edge(START, "b")
    runner = GraphRunner(graph.add_edge(["a", "b"], "c").add_edge("c", END).compile())
    assert driver(runner, {"log": []}, max_steps=2) == {"log": ["a", "b", "c"]}


def join_loop(rounds: int, *, max_passes: int | None = None) -> GraphRunner[Log]:
    """s -> a and s -> b0 -> b; [a, b] -> c; c loops back to s ``rounds`` times."""

    def again(state: Log) -> str:
        return "s" if state["log"].count("c") < rounds else END

    graph = log_graph("s", "a", "b0", "b", "c").add_edge(START, "s")
    graph.add_edge("s", "a").add_edge("s", "b0").add_edge("b0", "b")
    graph.add_edge(["a", "b"], "c", max_passes=max_passes)
    return GraphRunner(graph.add_conditional_edge("c", again).compile())


def test_a_join_inside_a_loop_forgets_what_it_saw_each_time_it_fires(driver: Driver) -> None:
    one_round = ["s", "a", "b0", "b", "c"]
    assert driver(join_loop(3), {"log": []}) == {"log": one_round * 3}


def test_the_target_running_through_another_edge_does_not_clear_the_join(driver: Driver) -> None:
    # step 1: a, b0 (the join has seen a); step 2: b1, c (c through a -> c);
    # step 3: b (the join has seen a and b: it fires); step 4: c.
    graph = log_graph("a", "b0", "b1", "b", "c").add_edge(START, "a").add_edge(START, "b0")
    graph.add_edge("b0", "b1").add_edge("b1", "b").add_edge("a", "c")
    runner = GraphRunner(graph.add_edge(["a", "b"], "c").add_edge("c", END).compile())
    assert driver(runner, {"log": []}) == {"log": ["a", "b0", "b1", "c", "b", "c"]}


def renamed_join(early: str, late: str) -> GraphRunner[Log]:
    """``early`` finishes in steps 1 and 2, ``late`` in steps 2 and 3; [early, late] -> c."""
    graph = log_graph(early, late, "e0", "l0", "l1", "c")
    graph.add_edge(START, early).add_edge(START, "e0").add_edge("e0", early)
    graph.add_edge(START, "l0").add_edge("l0", late).add_edge("l0", "l1").add_edge("l1", late)
    return GraphRunner(graph.add_edge([early, late], "c").add_edge("c", END).compile())


@pytest.mark.parametrize(
    ("early", "expected"),
    [
        ("a", ["a", "e0", "l0", "a", "l1", "x", "c", "x"]),
        ("y", ["e0", "l0", "y", "l1", "x", "y", "c", "x"]),
    ],
)
def test_a_join_does_not_depend_on_how_its_sources_are_named(
    driver: Driver, early: str, expected: list[str]
) -> None:
    # step 1: early runs (the join has seen it); step 2: early and x finish together, so
    # both have finished since the join last fired: it fires and forgets both.
    # step 3: c, and x alone: early has not finished since, so c must not run again.
    # Naming early 'y' (after 'x') instead of 'a' (before it) must change nothing.
    assert driver(renamed_join(early, "x"), {"log": []}) == {"log": expected}


def test_parallel_writes_merge_through_operator_add(driver: Driver) -> None:
    graph = log_graph("a", "b", "c").add_edge(START, "a").add_edge(START, "b")
    graph.add_edge(START, "c").add_edge("a", END).add_edge("b", END).add_edge("c", END)
    assert driver(GraphRunner(graph.compile()), {"log": ["in"]}) == {"log": ["in", "a", "b", "c"]}


def test_a_reducer_key_with_no_value_takes_its_first_write_as_is(driver: Driver) -> None:
    graph = log_graph("a", "b").add_edge(START, "a").add_edge(START, "b")
    runner = GraphRunner(graph.add_edge("a", END).add_edge("b", END).compile())
    assert driver(runner, {"n": 0}) == {"n": 0, "log": ["a", "b"]}


def test_add_messages_takes_a_single_first_message_into_a_list(driver: Driver) -> None:
    def hello(state: Messages) -> dict[str, object]:
        return {"messages": OrkesMessageSchema(role="assistant", content="Hello")}

    def hi(state: Messages) -> dict[str, object]:
        return {"messages": OrkesMessageSchema(role="user", content="Hi")}

    graph = OrkesGraph(Messages).add_node(hello).add_node(hi).add_edge(START, "hello")
    graph.add_edge(START, "hi").add_edge("hello", END).add_edge("hi", END)
    empty: Any = {}
    assert driver(GraphRunner(graph.compile()), empty) == {
        "messages": [
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Hi"},
        ]
    }


def test_parallel_writes_merge_through_add_messages(driver: Driver) -> None:
    def greet(state: Messages) -> dict[str, object]:
        return {"messages": [OrkesMessageSchema(role="assistant", content="Hello", id="2")]}

    def fix(state: Messages) -> dict[str, object]:
        return {"messages": [OrkesMessageSchema(role="user", content="Hi!", id="1")]}

    graph = OrkesGraph(Messages).add_node(greet).add_node(fix)
    graph.add_edge(START, "greet").add_edge(START, "fix").add_edge("greet", END)
    runner = GraphRunner(graph.add_edge("fix", END).compile())
    given: Messages = {"messages": [OrkesMessageSchema(role="user", content="Hi", id="1")]}
    assert driver(runner, given) == {
        "messages": [
            {"role": "user", "content": "Hi!", "id": "1"},
            {"role": "assistant", "content": "Hello", "id": "2"},
        ]
    }
    assert given["messages"] == [{"role": "user", "content": "Hi", "id": "1"}]


def test_merge_order_is_by_node_name_whatever_finishes_first(driver: Driver) -> None:
    for _ in range(5):
        zulu_done = threading.Event()

        def alpha(state: Text) -> dict[str, object]:
            assert zulu_done.wait(timeout=5)  # noqa: B023 - read while the loop body runs
            return {"text": "a"}

        def zulu(state: Text) -> dict[str, object]:
            zulu_done.set()  # noqa: B023
            return {"text": "z"}

        graph = OrkesGraph(Text).add_node(zulu).add_node(alpha)
        graph.add_edge(START, "zulu").add_edge(START, "alpha").add_edge("zulu", END)
        runner = GraphRunner(graph.add_edge("alpha", END).compile())
        assert driver(runner, {"text": ">"}) == {"text": ">az"}


def test_parallel_writes_to_a_key_without_reducer_conflict(driver: Driver) -> None:
    graph = OrkesGraph(Plain)
    graph.add_node("right", lambda state: {"c": 2, "b": 1})
    graph.add_node("left", lambda state: {"b": 0}).add_node("a_first", lambda state: None)
    graph.add_edge(START, "a_first").add_edge("a_first", "right").add_edge("a_first", "left")
    runner = GraphRunner(graph.add_edge("right", END).add_edge("left", END).compile())
    with pytest.raises(ConflictingUpdateError) as caught:
        driver(runner, {"a": 0})
    exc = caught.value
    assert str(exc) == (
        "nodes 'left' and 'right' both wrote key 'b' in step 2; a key written by parallel "
        "nodes needs a reducer: annotate it as Annotated[..., reducer] in the state schema"
    )
    assert (exc.key, exc.nodes, exc.step) == ("b", ("left", "right"), 2)
    assert isinstance(exc, OrkesError)


def test_a_failed_superstep_changes_nothing_and_the_runner_runs_again(driver: Driver) -> None:
    fail = [True]

    def writer(state: Log) -> dict[str, object]:
        return {"log": ["writer"], "n": 99}

    def breaker(state: Log) -> dict[str, object]:
        if fail[0]:
            raise RuntimeError("down")
        return {"log": ["breaker"]}

    graph = OrkesGraph(Log).add_node(writer).add_node(breaker).add_node("after", logs("after"))
    graph.add_edge(START, "writer").add_edge(START, "breaker").add_edge(
        ["writer", "breaker"], "after"
    )
    runner = GraphRunner(graph.add_edge("after", END).compile())
    given: Log = {"n": 0, "log": []}
    with pytest.raises(NodeError) as caught:
        driver(runner, given)
    assert caught.value.node == "breaker"
    assert given == {"n": 0, "log": []}
    fail[0] = False
    assert driver(runner, given) == {"n": 99, "log": ["breaker", "writer", "after"]}


def test_the_first_failing_parallel_node_by_name_is_reported(driver: Driver) -> None:
    def failing(message: str) -> NodeFn:
        def node(state: Log) -> None:
            raise ValueError(message)

        return node

    graph = OrkesGraph(Log).add_node("b", failing("b broke")).add_node("a", failing("a broke"))
    graph.add_edge(START, "b").add_edge(START, "a").add_edge("a", END).add_edge("b", END)
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {})
    assert caught.value.node == "a"
    assert str(caught.value) == node_error_message("a", "ValueError: a broke", 1, caught.value)


# --- limits --------------------------------------------------------------------------------


def test_max_steps_n_allows_exactly_n_supersteps(driver: Driver) -> None:
    runner = chain("a", "b", "c")
    assert driver(runner, {"log": []}, max_steps=3) == {"log": ["a", "b", "c"]}
    with pytest.raises(StepLimitExceeded) as caught:
        driver(runner, {"log": []}, max_steps=2)
    exc = caught.value
    assert str(exc) == (
        "the run reached max_steps=2: step 3 would run 'c'; if the graph should run longer, "
        "pass a larger max_steps= to GraphRunner(...) or run(...), else check the gate that "
        "keeps the loop going"
    )
    assert (exc.limit, exc.step, exc.node, exc.edge) == (2, 3, "c", None)
    assert isinstance(exc, RuntimeError)


def test_max_steps_counts_a_loop_s_supersteps(driver: Driver) -> None:
    assert driver(counter_loop(5), {"n": 0}, max_steps=5) == {"n": 5}
    with pytest.raises(
        StepLimitExceeded,
        match=re.escape("the run reached max_steps=4: step 5 would run 'increment';"),
    ):
        driver(counter_loop(5), {"n": 0}, max_steps=4)


def test_the_default_max_steps_is_1000(driver: Driver) -> None:
    assert driver(counter_loop(1000), {"n": 0}) == {"n": 1000}
    assert counter_loop(1).max_steps == 1000
    with pytest.raises(StepLimitExceeded, match=r"^the run reached max_steps=1000: step 1001 "):
        driver(GraphRunner(counter_loop(1001).compiled), {"n": 0})


def test_max_steps_given_to_run_overrides_the_runners(driver: Driver) -> None:
    graph = log_graph("a", "b", "c").add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    compiled = graph.add_edge("c", END).compile()
    assert driver(GraphRunner(compiled, max_steps=1), {"log": []}, max_steps=3) == {
        "log": ["a", "b", "c"]
    }
    with pytest.raises(StepLimitExceeded, match=r"^the run reached max_steps=2: step 3 "):
        driver(GraphRunner(compiled, max_steps=50), {"log": []}, max_steps=2)
    # The runner's own limit is untouched by a run's.
    with pytest.raises(StepLimitExceeded, match=r"^the run reached max_steps=1: step 2 "):
        driver(GraphRunner(compiled, max_steps=1), {"log": []})


@pytest.mark.parametrize("bad", [0, -1, True, False, 1.5, "3"])
def test_a_bad_max_steps_is_a_definition_error(driver: Driver, bad: Any) -> None:
    compiled = chain("a").compiled
    message = f"max_steps must be a positive int, got {bad!r}"
    with pytest.raises(GraphDefinitionError, match=re.escape(message)):
        GraphRunner(compiled, max_steps=bad)
    with pytest.raises(GraphDefinitionError, match=re.escape(message)):
        driver(GraphRunner(compiled), {"log": []}, max_steps=bad)


def test_max_steps_none_on_the_runner_is_a_definition_error() -> None:
    with pytest.raises(GraphDefinitionError, match=re.escape("got None")):
        GraphRunner(chain("a").compiled, max_steps=cast(int, None))


def plain_edge_loop(max_passes: int | None) -> GraphRunner[Log]:
    """a -> b by a plain edge with ``max_passes``; b loops back to a until n reaches its goal."""

    def more(state: Log) -> str:
        return "a" if state["log"].count("b") < state["n"] else END

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("a", "b", max_passes=max_passes)
    return GraphRunner(graph.add_conditional_edge("b", more).compile())


def test_max_passes_on_a_plain_edge(driver: Driver) -> None:
    runner = plain_edge_loop(3)
    assert driver(runner, {"n": 3, "log": []}) == {"n": 3, "log": ["a", "b"] * 3}
    with pytest.raises(StepLimitExceeded) as caught:
        driver(runner, {"n": 4, "log": []})
    exc = caught.value
    assert str(exc) == (
        "edge 'a' -> 'b' reached max_passes=3: pass 4 came after step 7; if it should pass "
        "more often, raise max_passes= where the edge is added, else check the gate that keeps "
        "the loop going"
    )
    assert (exc.limit, exc.step, exc.node, exc.edge) == (3, 7, "a", "edge 'a' -> 'b'")


def test_max_passes_on_a_conditional_edge_counts_every_evaluation_end_included(
    driver: Driver,
) -> None:
    # Counting to 5 evaluates the gate 5 times: 4 times "continue", once "finish" (END).
    assert driver(counter_loop(5, max_passes=5), {"n": 0}) == {"n": 5}
    with pytest.raises(StepLimitExceeded) as caught:
        driver(counter_loop(5, max_passes=4), {"n": 0})
    exc = caught.value
    assert str(exc) == (
        "conditional edge from 'increment' (gate 'counter_gate') reached max_passes=4: pass 5 "
        "came after step 5; if it should pass more often, raise max_passes= where the edge is "
        "added, else check the gate that keeps the loop going"
    )
    assert (exc.limit, exc.step, exc.node) == (4, 5, "increment")
    assert exc.edge == "conditional edge from 'increment' (gate 'counter_gate')"


def test_all_branches_of_a_conditional_edge_share_one_counter(driver: Driver) -> None:
    def alternate(state: Log) -> str:
        return "x" if len(state["log"]) % 4 == 1 else "y"

    graph = log_graph("a", "x", "y").add_edge(START, "a").add_edge("x", "a").add_edge("y", "a")
    runner = GraphRunner(graph.add_conditional_edge("a", alternate, max_passes=3).compile())
    with pytest.raises(StepLimitExceeded, match=r"reached max_passes=3: pass 4 came after step 7;"):
        driver(runner, {"log": []}, max_steps=100)


def test_max_passes_on_a_join(driver: Driver) -> None:
    assert driver(join_loop(2, max_passes=2), {"log": []})["log"].count("c") == 2
    with pytest.raises(StepLimitExceeded) as caught:
        driver(join_loop(3, max_passes=2), {"log": []})
    exc = caught.value
    assert str(exc).startswith(
        "join ['a', 'b'] -> 'c' reached max_passes=2: pass 3 came after step 11; "
    )
    assert (exc.limit, exc.step, exc.node, exc.edge) == (2, 11, "b", "join ['a', 'b'] -> 'c'")


def test_max_passes_on_edges_to_end(driver: Driver) -> None:
    # An edge (or a join) into END is followed, and counted, like any other.
    def again(state: Log) -> str:
        return "a" if state["log"].count("b") < state["n"] else END

    graph = log_graph("a", "b").add_edge(START, "a").add_edge("a", END, max_passes=2)
    graph.add_edge("a", "b").add_conditional_edge("b", again)
    runner = GraphRunner(graph.compile())
    assert driver(runner, {"n": 2, "log": []}) == {"n": 2, "log": ["a", "b", "a", "b"]}
    with pytest.raises(StepLimitExceeded) as caught:
        driver(runner, {"n": 3, "log": []})
    assert str(caught.value).startswith(
        "edge 'a' -> END reached max_passes=2: pass 3 came after step 5; "
    )

    joined = log_graph("a", "b").add_edge(START, "a").add_edge(START, "b")
    joined.add_edge(["a", "b"], END, max_passes=1)
    assert driver(GraphRunner(joined.compile()), {"log": []}) == {"log": ["a", "b"]}


def test_max_passes_none_means_no_limit_of_the_edge_s_own(driver: Driver) -> None:
    assert driver(plain_edge_loop(None), {"n": 600, "log": []}, max_steps=1200)["log"] == (
        ["a", "b"] * 600
    )


def test_passes_are_counted_per_run_never_across_runs(driver: Driver) -> None:
    runner = counter_loop(3, max_passes=3)
    for _ in range(100):
        assert driver(runner, {"n": 0}) == {"n": 3}
    edge_runner = plain_edge_loop(3)
    for _ in range(3):
        assert driver(edge_runner, {"n": 3, "log": []})["log"] == ["a", "b"] * 3


def fast_node_for(driver: Driver) -> Callable[[Log], Any]:
    """Under ``arun`` a sync node hops to the thread pool: long loops use an async one."""
    return increment_async if getattr(driver, "__name__", "") == "run_async" else increment


def test_a_100_000_step_loop_runs_without_recursion(driver: Driver) -> None:
    runner = counter_loop(100_000, max_steps=100_000, node=fast_node_for(driver))
    assert driver(runner, {"n": 0}) == {"n": 100_000}


def test_a_long_loop_runs_in_constant_memory(driver: Driver) -> None:
    def peak_bytes(steps: int) -> int:
        runner = counter_loop(steps, max_steps=steps, node=fast_node_for(driver))
        tracemalloc.start()
        try:
            assert driver(runner, {"n": 0}) == {"n": steps}
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_bytes(100)  # warm up: first-use allocations are not per-step costs
    short, long = peak_bytes(1_000), peak_bytes(30_000)
    assert long < short + 4096, (short, long)


# --- errors --------------------------------------------------------------------------------


def spy_graph(calls: list[str]) -> GraphRunner[Log]:
    def spy(state: Log) -> None:
        calls.append("spy")

    graph = OrkesGraph(Log).add_node(spy).add_edge(START, "spy").add_edge("spy", END)
    return GraphRunner(graph.compile())


def test_an_unknown_input_key_raises_before_any_node_runs(driver: Driver) -> None:
    calls: list[str] = []
    bad: Any = {"n": 1, "zzz": 2}
    with pytest.raises(StateError) as caught:
        driver(spy_graph(calls), bad)
    exc = caught.value
    assert str(exc) == "input key 'zzz' is not in the state schema Log; its keys are 'n', 'log'"
    assert (exc.key, exc.node) == ("zzz", None)
    assert isinstance(exc, KeyError)
    assert calls == []


@pytest.mark.parametrize(
    ("bad", "shown"), [(5, "int 5"), (["n"], "list ['n']"), (None, "NoneType None")]
)
def test_an_input_that_is_not_a_mapping_raises_state_error(
    driver: Driver, bad: object, shown: str
) -> None:
    calls: list[str] = []
    given: Any = bad
    with pytest.raises(StateError) as caught:
        driver(spy_graph(calls), given)
    assert str(caught.value) == f"the input state must be a mapping of Log's keys, got {shown}"
    assert calls == []


def test_an_unknown_update_key_raises_state_error(driver: Driver) -> None:
    def returns_it(state: Log) -> dict[str, object]:
        return {"n": 1, "zzz": 2}

    def sets_it(state: Log) -> Log:
        state["zzz"] = 2  # type: ignore[typeddict-unknown-key]
        return state

    for fn in (returns_it, sets_it):
        for parallel in (False, True):
            graph = OrkesGraph(Log).add_node("a", fn).add_edge(START, "a").add_edge("a", END)
            if parallel:
                graph.add_node("b", logs("b")).add_edge(START, "b").add_edge("b", END)
            with pytest.raises(StateError) as caught:
                driver(GraphRunner(graph.compile()), {"log": []})
            assert str(caught.value) == (
                "node 'a' wrote key 'zzz', which is not in the state schema Log; "
                "its keys are 'n', 'log'"
            )
            assert (caught.value.node, caught.value.key) == ("a", "zzz")


@pytest.mark.parametrize(("returned", "shown"), [(5, "int 5"), ("n", "str 'n'"), ([1], "list [1]")])
def test_a_node_returning_neither_mapping_nor_none_raises_state_error(
    driver: Driver, returned: object, shown: str
) -> None:
    graph = OrkesGraph(Log).add_node("a", lambda state: returned)  # type: ignore[arg-type]
    runner = GraphRunner(graph.add_edge(START, "a").add_edge("a", END).compile())
    with pytest.raises(StateError) as caught:
        driver(runner, {})
    assert str(caught.value) == (
        f"node 'a' returned {shown}; a node returns a mapping of the keys it changed, "
        "the state it was given, None, a Command or a list of Send"
    )
    assert caught.value.node == "a"


def test_a_node_exception_becomes_node_error_with_the_cause_chained(driver: Driver) -> None:
    problem = ValueError("boom")

    def fails(state: Log) -> None:
        raise problem

    graph = log_graph("a").add_node(fails).add_edge(START, "a").add_edge("a", "fails")
    runner = GraphRunner(graph.add_edge("fails", END).compile())
    with pytest.raises(NodeError) as caught:
        driver(runner, {"log": []})
    exc = caught.value
    assert str(exc) == node_error_message("fails", "ValueError: boom", 2, exc)
    assert (exc.node, exc.step) == ("fails", 2)
    assert re.fullmatch(r"[0-9a-f]{32}", exc.run_id)
    assert exc.__cause__ is problem
    assert isinstance(exc, RuntimeError)
    with pytest.raises(NodeError) as again:
        driver(runner, {"log": []})
    assert again.value.run_id != exc.run_id


def test_a_node_reading_a_missing_key_raises_node_error_not_key_error(driver: Driver) -> None:
    def reads(state: Log) -> None:
        state["n"]

    graph = OrkesGraph(Log).add_node(reads).add_edge(START, "reads").add_edge("reads", END)
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    assert type(caught.value) is NodeError
    assert not isinstance(caught.value, KeyError)
    assert type(caught.value.__cause__) is KeyError
    assert str(caught.value) == node_error_message("reads", "KeyError: 'n'", 1, caught.value)


@pytest.mark.parametrize(
    "problem", [KeyError("k"), AttributeError("attr"), RecursionError("deep"), ZeroDivisionError()]
)
def test_no_bare_builtin_error_escapes_from_a_node(driver: Driver, problem: Exception) -> None:
    def fails(state: Log) -> None:
        raise problem

    for parallel in (False, True):
        graph = OrkesGraph(Log).add_node(fails).add_edge(START, "fails").add_edge("fails", END)
        if parallel:
            graph.add_node("other", logs("other")).add_edge(START, "other")
            graph.add_edge("other", END)
        with pytest.raises(NodeError) as caught:
            driver(GraphRunner(graph.compile()), {"log": []})
        assert type(caught.value) is NodeError
        assert caught.value.__cause__ is problem


def test_a_real_recursion_error_in_a_node_becomes_a_node_error(driver: Driver) -> None:
    def recurse(depth: int) -> int:
        return recurse(depth + 1) + 1

    def deep(state: Log) -> dict[str, object]:
        return {"n": recurse(0)}

    graph = OrkesGraph(Log).add_node(deep).add_edge(START, "deep").add_edge("deep", END)
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    assert type(caught.value.__cause__) is RecursionError


def test_a_failing_reducer_raises_state_error_naming_key_and_node(driver: Driver) -> None:
    for parallel in (False, True):
        graph = OrkesGraph(Log).add_node("bad", lambda state: {"log": 5})
        graph.add_edge(START, "bad").add_edge("bad", END)
        if parallel:
            graph.add_node("aaa", logs("aaa")).add_edge(START, "aaa").add_edge("aaa", END)
        with pytest.raises(StateError) as caught:
            driver(GraphRunner(graph.compile()), {"log": []})
        assert str(caught.value) == (
            "the reducer 'add' of key 'log' failed on the update of node 'bad': TypeError: "
            'can only concatenate list (not "int") to list; '
            "the update's value must fit the reducer"
        )
        assert (caught.value.node, caught.value.key) == ("bad", "log")
        assert type(caught.value.__cause__) is TypeError


def test_a_failing_nested_run_is_wrapped_by_the_outer_node(driver: Driver) -> None:
    inner = chain("x", "y", "z")

    def outer(state: Log) -> dict[str, object]:
        return {"log": inner.run({"log": []}, max_steps=2)["log"]}

    graph = OrkesGraph(Log).add_node(outer).add_edge(START, "outer").add_edge("outer", END)
    with pytest.raises(NodeError) as caught:
        driver(GraphRunner(graph.compile()), {"log": []})
    assert caught.value.node == "outer"
    assert type(caught.value.__cause__) is StepLimitExceeded
    assert str(caught.value).startswith(
        "node 'outer' raised StepLimitExceeded: the run reached max_steps=2: step 3 would run 'z';"
    )


# --- sync and async specifics --------------------------------------------------------------


async def answer(state: Log) -> dict[str, object]:
    await asyncio.sleep(0)
    return {"log": ["async"]}


def test_run_runs_a_graph_with_async_nodes_too() -> None:
    graph = OrkesGraph(Log).add_node("fetch", answer).add_node("later", answer)
    graph.add_edge(START, "fetch").add_edge("fetch", "later").add_edge("later", END)
    runner = GraphRunner(graph.compile())
    assert runner.run({"log": []}) == {"log": ["async", "async"]}
    assert asyncio.run(runner.arun({"log": []})) == {"log": ["async", "async"]}


def coroutines_of(made: list[Coroutine[Any, Any, dict[str, object]]]) -> NodeFn:
    """A sync function (so not seen as async) that returns a fresh coroutine each call."""

    def node(state: Log) -> Any:
        coroutine = answer(state)
        made.append(coroutine)
        return coroutine

    return node


def closed_and_close(made: list[Coroutine[Any, Any, dict[str, object]]]) -> list[str]:
    """Each coroutine's state, then close them all (so a failing test leaks no warning)."""
    states: list[str] = [inspect.getcoroutinestate(coroutine) for coroutine in made]
    for coroutine in made:
        coroutine.close()
    return states


def test_run_refuses_a_node_that_returns_an_awaitable_and_closes_it() -> None:
    made: list[Coroutine[Any, Any, dict[str, object]]] = []
    graph = OrkesGraph(Log).add_node("sneaky", coroutines_of(made))
    runner = GraphRunner(graph.add_edge(START, "sneaky").add_edge("sneaky", END).compile())
    with pytest.raises(StateError) as caught:
        runner.run({"log": []})
    assert str(caught.value) == (
        "node 'sneaky' returned an awaitable: a missing `await` inside the node? "
        "(async nodes need `await runner.arun(state)`)"
    )
    assert closed_and_close(made) == [inspect.CORO_CLOSED]
    # arun awaits what a sync node returns.
    assert asyncio.run(runner.arun({"log": []})) == {"log": ["async"]}
    assert closed_and_close(made[1:]) == [inspect.CORO_CLOSED]


def test_run_closes_every_awaitable_returned_in_a_failed_parallel_superstep() -> None:
    made: list[Coroutine[Any, Any, dict[str, object]]] = []
    graph = OrkesGraph(Log).add_node("a", coroutines_of(made)).add_node("b", coroutines_of(made))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    with pytest.raises(StateError, match=r"^node 'a' returned an awaitable"):
        GraphRunner(graph.compile()).run({"log": []})
    assert closed_and_close(made) == [inspect.CORO_CLOSED] * 2

    made.clear()

    def fails(state: Log) -> None:
        raise ValueError("x")

    graph = OrkesGraph(Log).add_node("a", fails).add_node("b", coroutines_of(made))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    with pytest.raises(NodeError):
        GraphRunner(graph.compile()).run({"log": []})
    # b may not have started at all: once a task fails, no new task starts.
    assert closed_and_close(made) == [inspect.CORO_CLOSED] * len(made)


def test_arun_mixes_sync_and_async_nodes() -> None:
    async def slow(state: Log) -> dict[str, object]:
        await asyncio.sleep(0.001)
        return {"log": ["slow"]}

    graph = log_graph("first", "sync_side", "last").add_node(slow).add_node("tail", answer)
    graph.add_edge(START, "first").add_edge("first", "slow").add_edge("first", "sync_side")
    graph.add_edge(["slow", "sync_side"], "last").add_edge("last", "tail").add_edge("tail", END)
    runner = GraphRunner(graph.compile())
    assert asyncio.run(runner.arun({"log": []})) == {
        "log": ["first", "slow", "sync_side", "last", "async"]
    }


def test_an_async_node_exception_becomes_node_error() -> None:
    problem = LookupError("gone")

    async def fails(state: Log) -> None:
        await asyncio.sleep(0)
        raise problem

    for parallel in (False, True):
        graph = OrkesGraph(Log).add_node(fails).add_edge(START, "fails").add_edge("fails", END)
        if parallel:
            graph.add_node("other", answer).add_edge(START, "other").add_edge("other", END)
        with pytest.raises(NodeError) as caught:
            asyncio.run(GraphRunner(graph.compile()).arun({"log": []}))
        assert caught.value.__cause__ is problem
        assert str(caught.value) == node_error_message(
            "fails", "LookupError: gone", 1, caught.value
        )


def test_a_runner_needs_a_compiled_graph() -> None:
    graph = log_graph("a").add_edge(START, "a").add_edge("a", END)
    not_compiled: Any = graph
    with pytest.raises(GraphDefinitionError) as caught:
        GraphRunner(not_compiled)
    assert str(caught.value) == (
        "GraphRunner runs a compiled graph, got <OrkesGraph over Log: 1 nodes, 2 edges>; "
        "call graph.compile() first"
    )


def test_a_checkpointer_class_is_refused_for_its_instance() -> None:
    from orkes.persistence import MemoryCheckpointer

    not_made: Any = MemoryCheckpointer
    with pytest.raises(GraphDefinitionError) as caught:
        GraphRunner(chain("a").compiled, checkpointer=not_made)
    assert str(caught.value) == (
        "checkpointer= takes a Checkpointer (MemoryCheckpointer(), SqliteCheckpointer(path), "
        f"…), got {MemoryCheckpointer!r}"
    )


def test_a_runner_shows_its_graph_and_limit() -> None:
    runner = chain("a")
    assert repr(runner) == f"GraphRunner({runner.compiled!r}, max_steps=1000)"


def test_compiled_graph_shortcuts(driver: Driver) -> None:
    compiled: CompiledGraph[Log] = chain("a", "b").compiled
    assert compiled.run({"log": []}) == {"log": ["a", "b"]}
    assert asyncio.run(compiled.arun({"log": []}, max_steps=2)) == {"log": ["a", "b"]}
    with pytest.raises(StepLimitExceeded):
        compiled.run({"log": []}, max_steps=1)
    assert driver(GraphRunner(compiled), {"log": []}) == {"log": ["a", "b"]}


def test_a_gate_cannot_write_to_the_state(driver: Driver) -> None:
    def meddling_gate(state: Log) -> str:
        state["n"] = 99
        return "end"

    graph = log_graph("a").add_edge(START, "a")
    runner = GraphRunner(graph.add_conditional_edge("a", meddling_gate, {"end": END}).compile())
    with pytest.raises(
        NodeError, match=r"^gate 'meddling_gate' of node 'a' raised TypeError"
    ) as caught:
        driver(runner, {"n": 1, "log": []})
    assert isinstance(caught.value.__cause__, TypeError)
