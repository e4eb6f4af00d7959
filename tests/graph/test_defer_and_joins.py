"""Joins that never fire, deferred nodes, forgotten changes, and a run's memory.

Every run-time scenario goes through both drivers (``run`` and ``arun``).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph, Send
from orkes.errors import CheckpointError, RoutingError, StateError
from orkes.graph._run_memory import memory_of, restore
from orkes.graph.plan import Run

if TYPE_CHECKING:
    from tests.graph.conftest import Driver


class Research(TypedDict, total=False):
    """Which sources to search, and a log every node appends to."""

    sources: list[str]
    log: Annotated[list[str], operator.add]
    n: int


def logs(name: str) -> Any:
    def node(state: Research) -> dict[str, object]:
        return {"log": [name]}

    return node


def pick(state: Research) -> list[str]:
    return state["sources"]


def research_graph(*, defer: bool, long_papers: bool = False) -> OrkesGraph[Research]:
    """plan -> (a gate picks some of) web, papers, news -> summarize -> END.

    With ``defer``, summarize is deferred and each source has a plain edge to it;
    otherwise the three sources join into it. ``long_papers`` puts papers2 after papers.
    """
    graph = OrkesGraph(Research).add_node("plan", logs("plan"))
    for name in ("web", "papers", "news"):
        graph.add_node(name, logs(name))
    graph.add_node("summarize", logs("summarize"), defer=defer)
    graph.add_edge(START, "plan").add_conditional_edge("plan", pick)
    papers_end = "papers"
    if long_papers:
        graph.add_node("papers2", logs("papers2")).add_edge("papers", "papers2")
        papers_end = "papers2"
    ends = ["web", papers_end, "news"]
    if defer:
        for name in ends:
            graph.add_edge(name, "summarize")
    else:
        graph.add_edge(ends, "summarize")
    return graph.add_edge("summarize", END)


# --- a join that never fires ---------------------------------------------------------------------


def test_a_join_missing_a_source_is_a_routing_error_at_the_run_s_end(driver: Driver) -> None:
    runner = GraphRunner(research_graph(defer=False).compile())
    with pytest.raises(RoutingError) as caught:
        driver(runner, {"sources": ["web", "news"], "log": []})
    error = caught.value
    assert str(error) == (
        "join ['web', 'papers', 'news'] -> 'summarize' never fired: 'papers' never finished "
        "after 'web', 'news' did (the run ended after step 2); a join waits for every source. "
        "To run 'summarize' after whichever branches ran, add it with add_node(..., "
        "defer=True) and a plain edge from each source"
    )
    assert error.node == "summarize"
    assert error.value == ("papers",)


def test_a_join_fires_when_every_source_ran(driver: Driver) -> None:
    runner = GraphRunner(research_graph(defer=False).compile())
    result = driver(runner, {"sources": ["web", "papers", "news"], "log": []})
    assert result["log"] == ["plan", "news", "papers", "web", "summarize"]


# --- deferred nodes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "log"),
    [
        (["web", "news"], ["plan", "news", "web", "summarize"]),
        (["papers"], ["plan", "papers", "summarize"]),
        (["web", "papers", "news"], ["plan", "news", "papers", "web", "summarize"]),
    ],
)
def test_a_deferred_node_runs_once_after_whichever_branches_ran(
    driver: Driver, sources: list[str], log: list[str]
) -> None:
    runner = GraphRunner(research_graph(defer=True).compile())
    assert driver(runner, {"sources": sources, "log": []}) == {"sources": sources, "log": log}


def test_a_deferred_node_waits_for_the_longest_branch(driver: Driver) -> None:
    runner = GraphRunner(research_graph(defer=True, long_papers=True).compile())
    result = driver(runner, {"sources": ["web", "papers"], "log": []})
    assert result["log"] == ["plan", "papers", "web", "papers2", "summarize"]


# --- a forgotten change --------------------------------------------------------------------------


def test_a_node_changing_its_state_and_returning_none_is_a_state_error(driver: Driver) -> None:
    def forget(state: Research) -> None:
        state["n"] = 2

    graph = OrkesGraph(Research).add_node("forget", forget)
    runner = GraphRunner(graph.add_edge(START, "forget").add_edge("forget", END).compile())
    with pytest.raises(StateError) as caught:
        driver(runner, {"n": 1})
    error = caught.value
    assert (error.node, error.key) == ("forget", "n")
    assert error.message == (
        "node 'forget' returned None, but key 'n' of the state it was given now holds another "
        "value: the change is lost. Return the state (`return state`) or what changed "
        "(`return {'n': ...}`)"
    )


def test_a_node_deleting_a_key_and_returning_none_is_a_state_error(driver: Driver) -> None:
    def drop(state: Research) -> None:
        del state["n"]

    graph = OrkesGraph(Research).add_node("drop", drop)
    runner = GraphRunner(graph.add_edge(START, "drop").add_edge("drop", END).compile())
    with pytest.raises(StateError) as caught:
        driver(runner, {"n": 1})
    assert (caught.value.node, caught.value.key) == ("drop", "n")


# --- a run's memory ------------------------------------------------------------------------------


def test_run_memory_round_trips_through_restore() -> None:
    graph = research_graph(defer=True)
    graph.add_edge(["web", "news"], END)  # a join, to have some join memory
    plan = graph.compile().plan
    run = Run(plan, {"sources": ["web", "papers"], "log": []}, 100)
    tasks = run.start()
    run.begin_step(tasks)
    tasks = run.finish_step([(t, run.state, {"log": [t.name]}, None, False) for t in tasks])
    run.begin_step(tasks)
    tasks = run.finish_step([(t, run.state, {"log": [t.name]}, None, False) for t in tasks])
    assert [t.name for t in tasks] == ["summarize"]
    memory = memory_of(run)
    assert memory == {"step": 2, "join_seen": {"join:0": ["web"]}}  # only what it holds
    again = Run(plan, run.state, 100)
    restore(again, memory)
    assert memory_of(again) == memory
    assert again.step == 2


def test_run_memory_keeps_deferred_nodes() -> None:
    plan = research_graph(defer=True, long_papers=True).compile().plan
    run = Run(plan, {"sources": ["web", "papers"], "log": []}, 100)
    tasks = run.start()
    for _ in range(2):
        run.begin_step(tasks)
        tasks = run.finish_step([(t, run.state, None, None, False) for t in tasks])
    # After step 2 (papers, web): web's summarize waits while papers2 runs.
    assert [t.name for t in tasks] == ["papers2"]
    memory = memory_of(run)
    assert memory["deferred"] == [{"node": "summarize", "index": -1}]
    again = Run(plan, run.state, 100)
    restore(again, memory)
    assert memory_of(again) == memory
    again.begin_step(tasks)
    following = again.finish_step([(t, again.state, None, None, False) for t in tasks])
    assert [t.name for t in following] == ["summarize"]


def test_sends_to_a_deferred_node_from_different_steps_all_run(driver: Driver) -> None:
    def sink(arg: Any) -> dict[str, object]:
        return {"log": [f"sink {arg}"]}

    def from_a(state: Research) -> list[Any]:
        return [Send("sink", "from a"), "b"]

    def from_b(state: Research) -> list[Send]:
        return [Send("sink", "from b")]

    graph = OrkesGraph(Research).add_node("a", logs("a")).add_node("b", logs("b"))
    graph.add_node("sink", sink, defer=True).add_edge(START, "a").add_edge("sink", END)
    graph.add_conditional_edge("a", from_a).add_conditional_edge("b", from_b)
    result = driver(GraphRunner(graph.compile()), {"log": []})
    assert result == {"log": ["a", "b", "sink from a", "sink from b"]}


def test_run_memory_keeps_deferred_sends_with_their_args() -> None:
    def sink(arg: Any) -> dict[str, object]:
        return {"log": [f"sink {arg}"]}

    def fan(state: Research) -> list[Any]:
        return [Send("sink", {"n": 1}), Send("sink", "two"), "b"]

    graph = OrkesGraph(Research).add_node("a", logs("a")).add_node("b", logs("b"))
    graph.add_node("sink", sink, defer=True).add_edge(START, "a").add_edge("sink", END)
    graph.add_conditional_edge("a", fan).add_edge("b", END)
    plan = graph.compile().plan
    run = Run(plan, {"log": []}, 100)
    tasks = run.start()
    run.begin_step(tasks)
    tasks = run.finish_step([(t, run.state, None, None, False) for t in tasks])
    assert [t.name for t in tasks] == ["b"]  # the sends wait until b is done
    memory = memory_of(run)
    assert memory["deferred"] == [
        {"node": "sink", "index": 0, "arg": {"n": 1}},
        {"node": "sink", "index": 1, "arg": "two"},
    ]
    again = Run(plan, run.state, 100)
    restore(again, memory)
    assert memory_of(again) == memory
    again.begin_step(tasks)
    following = again.finish_step([(t, again.state, None, None, False) for t in tasks])
    assert [(t.name, t.arg) for t in following] == [("sink", {"n": 1}), ("sink", "two")]


def test_run_memory_that_does_not_fit_the_graph_is_a_checkpoint_error() -> None:
    plan = research_graph(defer=True, long_papers=True).compile().plan
    run = Run(plan, {"sources": [], "log": []}, 100)
    run.thread_id = "t1"
    with pytest.raises(CheckpointError, match=r"thread 't1' holds run memory this graph can't"):
        restore(run, {"passes": {}})  # no step
    with pytest.raises(CheckpointError, match="KeyError: 'gone'"):
        restore(run, {"step": 1, "deferred": [{"node": "gone", "index": -1}]})
