"""A loop: a node runs again and again until its gate says ``finish``.

Run it with ``python examples/loop.py``; it counts to 5.
"""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from orkes import GraphRunner, OrkesGraph


class CounterState(TypedDict):
    """A counter and the values it went through."""

    count: int
    seen: Annotated[list[int], operator.add]


def increment_node(state: CounterState) -> dict[str, object]:
    """Add one to the counter and remember the new value."""
    count = state["count"] + 1
    return {"count": count, "seen": [count]}


def counter_gate(state: CounterState) -> Literal["continue", "finish"]:
    """Keep counting until 5."""
    return "continue" if state["count"] < 5 else "finish"


graph = OrkesGraph(CounterState)
graph.add_node("increment_node", increment_node)
graph.add_edge(graph.START, "increment_node")
graph.add_conditional_edge(
    "increment_node", counter_gate, {"continue": "increment_node", "finish": graph.END}
)
runner = GraphRunner(graph.compile())

if __name__ == "__main__":
    print(runner.run({"count": 0, "seen": []}))
