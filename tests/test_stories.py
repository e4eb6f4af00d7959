"""The documentation's two stories, written as a user would: a branch and a loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Literal, TypedDict

import pytest

from orkes import GraphRunner, OrkesGraph
from orkes.errors import RoutingError

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"

# -- (a) a branch ------------------------------------------------------------------------


class NumberState(TypedDict):
    number: int
    result: str


def set_number(state: NumberState) -> NumberState:
    state["number"] = state["number"] + 1
    return state


def is_even_or_odd(state: NumberState) -> Literal["even", "odd"]:
    return "even" if state["number"] % 2 == 0 else "odd"


def process_even(state: NumberState) -> NumberState:
    state["result"] = f"{state['number']} is even"
    return state


def process_odd(state: NumberState) -> NumberState:
    state["result"] = f"{state['number']} is odd"
    return state


def branching_runner() -> GraphRunner[NumberState]:
    graph = OrkesGraph(NumberState)
    graph.add_node("set_number", set_number)
    graph.add_node("process_even", process_even)
    graph.add_node("process_odd", process_odd)
    graph.add_edge(graph.START, "set_number")
    graph.add_conditional_edge(
        "set_number", is_even_or_odd, {"even": "process_even", "odd": "process_odd"}
    )
    graph.add_edge("process_even", graph.END)
    graph.add_edge("process_odd", "END")
    return GraphRunner(graph.compile())


def test_branch_takes_the_even_path() -> None:
    assert branching_runner().run({"number": 41, "result": ""}) == {
        "number": 42,
        "result": "42 is even",
    }


def test_branch_takes_the_odd_path() -> None:
    assert branching_runner().run({"number": 20, "result": ""}) == {
        "number": 21,
        "result": "21 is odd",
    }


def test_branch_runs_only_the_chosen_node() -> None:
    visited: list[str] = []

    def record(name: str) -> None:
        visited.append(name)

    graph = OrkesGraph(NumberState)
    graph.add_node("set_number", set_number)
    graph.add_node("process_even", lambda state: record("process_even"))
    graph.add_node("process_odd", lambda state: record("process_odd"))
    graph.add_edge(graph.START, "set_number")
    graph.add_conditional_edge(
        "set_number", is_even_or_odd, {"even": "process_even", "odd": "process_odd"}
    )
    graph.add_edge("process_even", graph.END).add_edge("process_odd", graph.END)
    runner = GraphRunner(graph.compile())
    runner.run({"number": 1, "result": ""})
    runner.run({"number": 2, "result": ""})
    assert visited == ["process_even", "process_odd"]


def test_branch_with_an_unmapped_answer() -> None:
    def wrong(state: NumberState) -> str:
        return "maybe"

    graph = OrkesGraph(NumberState).add_node("set_number", set_number)
    graph.add_node("process_even", process_even).add_node("process_odd", process_odd)
    graph.add_edge(graph.START, "set_number")
    graph.add_conditional_edge("set_number", wrong, {"even": "process_even", "odd": "process_odd"})
    graph.add_edge("process_even", graph.END).add_edge("process_odd", graph.END)
    with pytest.raises(RoutingError) as caught:
        graph.compile().run({"number": 1, "result": ""})
    assert str(caught.value) == (
        "gate 'wrong' of node 'set_number' returned 'maybe'; the mapping knows 'even', 'odd' "
        "(add it, or give default=)"
    )


# -- (b) a loop --------------------------------------------------------------------------


class CounterState(TypedDict):
    count: int


def increment_node(state: CounterState) -> CounterState:
    state["count"] += 1
    return state


def counter_gate(state: CounterState) -> Literal["continue", "finish"]:
    return "continue" if state["count"] < 5 else "finish"


@pytest.mark.parametrize("finish", ["graph.END", "END"])
def test_loop_counts_until_five(finish: str) -> None:
    graph = OrkesGraph(CounterState)
    graph.add_node("increment_node", increment_node)
    graph.add_edge(graph.START, "increment_node")
    end = graph.END if finish == "graph.END" else "END"
    graph.add_conditional_edge(
        "increment_node", counter_gate, {"continue": "increment_node", "finish": end}
    )
    runner = GraphRunner(graph.compile())
    assert runner.run({"count": 0}) == {"count": 5}
    assert runner.run({"count": 3}) == {"count": 5}
    assert runner.run({"count": 9}) == {"count": 10}  # the node runs once before the gate


def test_loop_visits_every_count() -> None:
    seen: list[int] = []

    def counting(state: CounterState) -> CounterState:
        state["count"] += 1
        seen.append(state["count"])
        return state

    graph = OrkesGraph(CounterState).add_node("increment_node", counting)
    graph.add_edge(graph.START, "increment_node")
    graph.add_conditional_edge(
        "increment_node", counter_gate, {"continue": "increment_node", "finish": graph.END}
    )
    graph.compile().run({"count": 0})
    assert seen == [1, 2, 3, 4, 5]


# -- the stories as examples -------------------------------------------------------------


def run_example(name: str) -> str:
    path = EXAMPLES / name
    source = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": source}
    completed = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return completed.stdout


def test_the_branching_example() -> None:
    assert run_example("branching.py") == (
        "{'number': 22, 'result': '22 is even'}\n{'number': 41, 'result': '41 is odd'}\n"
    )


def test_the_loop_example() -> None:
    assert run_example("loop.py") == "{'count': 5, 'seen': [1, 2, 3, 4, 5]}\n"
