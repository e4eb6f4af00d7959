"""Routing decided at run time: ``Send`` fan-outs, ``Command`` gotos, ``Command.PARENT``.

Every run-time scenario goes through both drivers (``run`` and ``arun``).
"""

from __future__ import annotations

import operator
import re
import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import pytest

from orkes import END, START, Command, GraphRunner, OrkesGraph, RunContext, Send
from orkes.errors import (
    ConflictingUpdateError,
    GraphDefinitionError,
    GraphValidationError,
    NodeError,
    RoutingError,
    StateError,
)

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class Fan(TypedDict, total=False):
    """Topics fanned out; results gathered in order; one key with no reducer."""

    topics: list[str]
    results: Annotated[list[Any], operator.add]
    solo: str
    n: int


def runner_of(graph: OrkesGraph[Fan]) -> GraphRunner[Fan]:
    return GraphRunner(graph.compile())


def noop(state: Fan) -> None:
    return None


def logs(name: str) -> Any:
    def node(state: Fan) -> dict[str, object]:
        return {"results": [name]}

    return node


# --- Send from a gate ------------------------------------------------------------------------


def test_a_gate_of_sends_runs_the_node_once_per_send_with_its_arg(driver: Driver) -> None:
    seen: list[tuple[object, int]] = []
    lock = threading.Lock()

    def work(arg: Any, ctx: RunContext) -> dict[str, object]:
        with lock:
            seen.append((arg, ctx.step))
        return {"results": [f"done {arg['topic']}"]}

    def fan(state: Fan) -> list[Send]:
        return [Send("work", {"topic": t}) for t in state["topics"]]

    graph = OrkesGraph(Fan).add_node("start", noop).add_node("work", work)
    graph.add_edge(START, "start").add_conditional_edge("start", fan).add_edge("work", END)
    result = driver(runner_of(graph), {"topics": ["c", "a", "b"], "results": []})
    # Merged in Send order, not in name or finishing order.
    assert result == {"topics": ["c", "a", "b"], "results": ["done c", "done a", "done b"]}
    # Each call got its Send's argument (not the state), all in the same superstep.
    assert sorted(arg["topic"] for arg, _ in seen) == ["a", "b", "c"]  # type: ignore[index]
    assert {step for _, step in seen} == {2}


def test_sends_of_one_superstep_run_in_parallel(driver: Driver) -> None:
    barrier = threading.Barrier(3, timeout=5)

    def work(arg: Any) -> dict[str, object]:
        barrier.wait()  # only passes when all three calls run at once
        return {"results": [arg]}

    def fan(state: Fan) -> list[Send]:
        return [Send("work", t) for t in ("x", "y", "z")]

    graph = OrkesGraph(Fan).add_node("start", noop).add_node("work", work)
    graph.add_edge(START, "start").add_conditional_edge("start", fan).add_edge("work", END)
    assert driver(runner_of(graph), {"results": []}) == {"results": ["x", "y", "z"]}


def test_a_fan_out_of_a_thousand_sends_gathers_every_update_in_order(driver: Driver) -> None:
    def work(arg: Any) -> dict[str, object]:
        return {"results": [arg]}

    def fan(state: Fan) -> list[Send]:
        return [Send("work", i) for i in range(1000)]

    graph = OrkesGraph(Fan).add_node("start", noop).add_node("work", work)
    graph.add_edge(START, "start").add_conditional_edge("start", fan).add_edge("work", END)
    result = driver(runner_of(graph), {"results": []})
    assert result["results"] == list(range(1000))


def test_a_send_to_an_unknown_node_names_the_gate_and_the_target(driver: Driver) -> None:
    def fan(state: Fan) -> list[Send]:
        return [Send("work", 1), Send("ghost", 2)]

    graph = OrkesGraph(Fan).add_node("start", noop).add_node("work", logs("work"))
    graph.add_edge(START, "start").add_conditional_edge("start", fan).add_edge("work", END)
    with pytest.raises(RoutingError) as caught:
        driver(runner_of(graph), {"results": []})
    assert str(caught.value) == (
        "gate 'fan' of node 'start' sent to 'ghost', which is not a node of the graph; "
        "nodes are 'start', 'work'"
    )
    assert caught.value.node == "start"
    assert caught.value.value == Send("ghost", 2)


def test_two_sends_writing_a_key_without_reducer_conflict(driver: Driver) -> None:
    def work(arg: Any) -> dict[str, object]:
        return {"solo": arg}

    def fan(state: Fan) -> list[Send]:
        return [Send("work", "x"), Send("work", "y")]

    graph = OrkesGraph(Fan).add_node("start", noop).add_node("work", work)
    graph.add_edge(START, "start").add_conditional_edge("start", fan).add_edge("work", END)
    with pytest.raises(ConflictingUpdateError) as caught:
        driver(runner_of(graph), {})
    assert str(caught.value) == (
        "tasks 'work' (Send #0) and 'work' (Send #1) both wrote key 'solo' in step 2; a key "
        "written by parallel nodes needs a reducer: annotate it as Annotated[..., reducer] in "
        "the state schema"
    )
    assert caught.value.key == "solo"
    assert caught.value.step == 2


# --- Send and Command returned by a node -----------------------------------------------------


def test_a_node_returning_a_list_of_sends_fans_out(driver: Driver) -> None:
    def plan(state: Fan) -> list[Send]:
        return [Send("work", t.upper()) for t in state["topics"]]

    def work(arg: Any) -> dict[str, object]:
        return {"results": [arg]}

    graph = OrkesGraph(Fan).add_node("plan", plan, destinations=["work"])
    graph.add_node("work", work).add_edge(START, "plan").add_edge("work", END)
    result = driver(runner_of(graph), {"topics": ["b", "a"], "results": []})
    assert result == {"topics": ["b", "a"], "results": ["B", "A"]}


def test_a_node_returning_no_sends_maps_over_nothing(driver: Driver) -> None:
    def plan(state: Fan) -> list[Send]:
        return [Send("work", t) for t in state["topics"]]

    graph = OrkesGraph(Fan).add_node("plan", plan, destinations=["work"])
    graph.add_node("work", logs("work")).add_node("after", logs("after"))
    graph.add_edge(START, "plan").add_edge("plan", "after").add_edge("work", END)
    graph.add_edge("after", END)
    assert driver(runner_of(graph), {"topics": [], "results": []}) == {
        "topics": [],
        "results": ["after"],
    }


def test_an_empty_list_from_a_node_that_sends_nowhere_is_refused(driver: Driver) -> None:
    graph = OrkesGraph(Fan).add_node("plan", lambda state: [])
    graph.add_edge(START, "plan").add_edge("plan", END)
    with pytest.raises(StateError, match="node 'plan' returned list \\[\\]"):
        driver(runner_of(graph), {})


def test_a_node_sending_to_an_undeclared_node_is_a_routing_error(driver: Driver) -> None:
    def plan(state: Fan) -> list[Send]:
        return [Send("work", 1)]

    graph = OrkesGraph(Fan).add_node("plan", plan).add_node("work", logs("work"))
    graph.add_edge(START, "plan").add_edge("plan", END).add_edge("work", END)
    graph.add_edge(START, "work")
    with pytest.raises(RoutingError) as caught:
        driver(runner_of(graph), {"results": []})
    assert str(caught.value) == (
        "node 'plan' routed to 'work', which is not among its declared destinations (none); "
        "declare it with add_node(..., destinations=[...]) or a -> Command[Literal[...]] "
        "return annotation"
    )


def ab_graph(route: Any, **options: Any) -> OrkesGraph[Fan]:
    """START -> route; a and b log their names; route reaches them only by its Command."""
    graph = OrkesGraph(Fan).add_node("route", route, **options)
    graph.add_node("a", logs("a")).add_node("b", logs("b"))
    return graph.add_edge(START, "route").add_edge("a", END).add_edge("b", END)


def test_command_updates_and_goes_to_a_declared_destination(driver: Driver) -> None:
    def route(state: Fan) -> Command[Literal["a", "b"]]:
        return Command(update={"n": 1}, goto="b")

    graph = ab_graph(route, destinations=["a", "b"])
    assert driver(runner_of(graph), {"results": []}) == {"results": ["b"], "n": 1}


def test_command_destinations_come_from_the_return_annotation(driver: Driver) -> None:
    def route(state: Fan) -> Command[Literal["a", "b"]]:
        return Command(update={"n": 2}, goto="a")

    graph = ab_graph(route)
    assert graph.node_specs["route"].destinations == ("a", "b")
    assert driver(runner_of(graph), {"results": []}) == {"results": ["a"], "n": 2}


def test_a_command_annotation_naming_local_imports_is_read() -> None:
    from typing import Literal as LocalLiteral

    from orkes import Command as LocalCommand

    def route(state: Fan) -> LocalCommand[LocalLiteral["a", "b"]]:
        return LocalCommand(goto="a")

    route.__annotations__["return"] = 'LocalCommand[LocalLiteral["a", "b"]]'  # as under PEP 563
    assert ab_graph(route).node_specs["route"].destinations == ("a", "b")


def test_a_command_annotation_that_cannot_be_resolved_names_the_node() -> None:
    def route(state: Fan) -> Command[Literal["a"]]:
        return Command(goto="a")

    route.__annotations__["return"] = 'Command[Literal["a"]] | Nowhere'
    with pytest.raises(GraphDefinitionError) as caught:
        ab_graph(route)
    message = str(caught.value)
    assert message.startswith(
        "node 'route' is annotated -> Command[Literal[\"a\"]] | Nowhere, which can't be resolved"
    )
    assert "destinations=[...]" in message


def test_command_goto_end_stops_the_path(driver: Driver) -> None:
    def route(state: Fan) -> Command[Literal["a", "b"]]:
        return Command(update={"n": 3}, goto=END)  # type: ignore[arg-type]

    graph = ab_graph(route, destinations=["a", "b", END])
    assert driver(runner_of(graph), {"results": []}) == {"results": [], "n": 3}


def test_command_goto_a_list_runs_them_all_in_the_next_superstep(driver: Driver) -> None:
    steps: list[int] = []

    def a(state: Fan, ctx: RunContext) -> dict[str, object]:
        steps.append(ctx.step)
        return {"results": ["a"]}

    def route(state: Fan) -> Command[Literal["a", "b"]]:
        return Command(goto=["b", "a"])

    graph = OrkesGraph(Fan).add_node("route", route).add_node("a", a)
    graph.add_node("b", logs("b")).add_edge(START, "route").add_edge("a", END)
    graph.add_edge("b", END)
    assert driver(runner_of(graph), {"results": []}) == {"results": ["a", "b"]}
    assert steps == [2]


def test_command_goto_a_send_calls_the_node_with_its_arg(driver: Driver) -> None:
    def route(state: Fan) -> Command[Any]:
        return Command(update={"n": 4}, goto=Send("work", "payload"))

    def work(arg: Any) -> dict[str, object]:
        return {"results": [arg]}

    graph = OrkesGraph(Fan).add_node("route", route, destinations=["work"])
    graph.add_node("work", work).add_edge(START, "route").add_edge("work", END)
    assert driver(runner_of(graph), {"results": []}) == {"results": ["payload"], "n": 4}


def test_command_goto_an_undeclared_node_is_a_routing_error(driver: Driver) -> None:
    def route(state: Fan) -> Command[Any]:
        return Command(goto="b")

    graph = ab_graph(route, destinations=["a"]).add_edge("a", "b")
    with pytest.raises(RoutingError) as caught:
        driver(runner_of(graph), {"results": []})
    assert str(caught.value) == (
        "node 'route' routed to 'b', which is not among its declared destinations ('a'); "
        "declare it with add_node(..., destinations=[...]) or a -> Command[Literal[...]] "
        "return annotation"
    )
    assert caught.value.node == "route"
    assert caught.value.value == "b"


@pytest.mark.parametrize(
    ("goto", "message"),
    [
        (3, "node 'route' returned Command(goto=3); goto= takes a node name, END, a Send"),
        (None, "node 'route' returned Command(goto=None); goto= takes a node name, END"),
        ({"a": 1}, "node 'route' returned Command(goto={'a': 1}); goto= takes a node name"),
        ([["a"]], "node 'route' routed to ['a'], which is not a node name; name one of its"),
        (Send(["a"], 1), "node 'route' routed to ['a'], which is not a node name"),  # type: ignore[arg-type]
    ],
)
def test_a_command_goto_that_names_no_node_is_a_routing_error(
    driver: Driver, goto: Any, message: str
) -> None:
    def route(state: Fan) -> Command[Any]:
        return Command(goto=goto)

    with pytest.raises(RoutingError, match=re.escape(message)) as caught:
        driver(runner_of(ab_graph(route, destinations=["a", "b"])), {"results": []})
    assert caught.value.node == "route"


def test_a_send_from_a_node_that_names_no_node_is_a_routing_error(driver: Driver) -> None:
    def plan(state: Fan) -> list[Send]:
        return [Send("a", 1), Send({"node": "a"}, 2)]  # type: ignore[arg-type]

    graph = ab_graph(plan, destinations=["a", "b"])
    with pytest.raises(RoutingError, match=r"routed to \{'node': 'a'\}, which is not a node name"):
        driver(runner_of(graph), {"results": []})


# --- validation ------------------------------------------------------------------------------


def test_a_node_whose_only_way_out_is_its_destinations_compiles() -> None:
    def route(state: Fan) -> Command[Any]:
        return Command(goto="a")

    ab_graph(route, destinations=["a", "b"]).compile()  # no problem raised


def test_an_unknown_destination_is_a_validation_problem() -> None:
    def route(state: Fan) -> Command[Any]:
        return Command(goto="a")

    graph = ab_graph(route, destinations=["a", "b", "ghost"])
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    assert caught.value.problems == ("node 'route' declares destination unknown node 'ghost'",)


# --- Command.PARENT ----------------------------------------------------------------------------


def escaping_subgraph() -> OrkesGraph[Fan]:
    """A subgraph whose node 'escape' routes in the parent to 'after'."""

    def inside(state: Fan) -> dict[str, object]:
        return {"results": ["inside"]}

    def escape(state: Fan) -> Command[Any]:
        return Command(graph=Command.PARENT, update={"n": 7}, goto="after")

    inner = OrkesGraph(Fan).add_node("inside", inside).add_node("escape", escape)
    inner.add_edge(START, "inside").add_edge("inside", "escape").add_edge("escape", END)
    return inner


def test_command_parent_routes_in_the_parent_graph(driver: Driver) -> None:
    inner = escaping_subgraph().compile()
    graph = OrkesGraph(Fan).add_node("sub", inner, destinations=["after", "other"])
    graph.add_node("after", logs("after")).add_node("other", logs("other"))
    graph.add_edge(START, "sub").add_edge("after", END).add_edge("other", END)
    result = driver(runner_of(graph), {"results": []})
    # The parent takes the command as the node's return: its update, then its goto; what
    # the subgraph wrote before it escaped stays inside.
    assert result == {"results": ["after"], "n": 7}


def test_command_parent_to_an_undeclared_node_of_the_parent_is_a_routing_error(
    driver: Driver,
) -> None:
    inner = escaping_subgraph().compile()
    graph = OrkesGraph(Fan).add_node("sub", inner, destinations=["other"])
    graph.add_node("after", logs("after")).add_node("other", logs("other"))
    graph.add_edge(START, "sub").add_edge(START, "after").add_edge("after", END)
    graph.add_edge("other", END)
    with pytest.raises(RoutingError) as caught:
        driver(runner_of(graph), {"results": []})
    assert str(caught.value).startswith(
        "node 'sub' routed to 'after', which is not among its declared destinations ('other')"
    )


def test_two_tasks_of_a_subgraph_step_routing_the_parent_is_a_routing_error(
    driver: Driver,
) -> None:
    def escape(arg: Any) -> Command[Any]:
        return Command(graph=Command.PARENT, update={"n": arg["i"]}, goto="after")

    inner = OrkesGraph(Fan).add_node("escape", escape)
    inner.add_conditional_edge(START, lambda s: [Send("escape", {"i": i}) for i in (1, 2)])
    compiled = inner.add_edge("escape", END).compile()
    graph = OrkesGraph(Fan).add_node("sub", compiled, destinations=["after"])
    graph.add_node("after", logs("after")).add_edge(START, "sub").add_edge("after", END)
    with pytest.raises(NodeError) as caught:  # one of the two would have been lost
        driver(runner_of(graph), {"results": []})
    assert "nodes 'escape', 'escape' each returned Command(graph=Command.PARENT) in one step" in (
        str(caught.value)
    )
    assert isinstance(caught.value.__cause__, RoutingError)


def test_command_parent_at_the_top_level_is_a_routing_error(driver: Driver) -> None:
    graph = escaping_subgraph()
    with pytest.raises(RoutingError) as caught:
        driver(runner_of(graph), {"results": []})
    assert str(caught.value) == (
        "node 'escape' returned Command(graph=Command.PARENT, ...), but its graph is not "
        "running as a subgraph: there is no parent graph to route in"
    )
    assert caught.value.node == "escape"
