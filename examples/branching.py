"""A branch: a gate sends the state to one of two nodes.

``set_number`` moves to the next number, and the gate ``is_even_or_odd`` picks
``process_even`` or ``process_odd``. Run it with ``python examples/branching.py``.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from orkes import OrkesGraph


class NumberState(TypedDict):
    """A number and what the graph made of it."""

    number: int
    result: str


def set_number(state: NumberState) -> NumberState:
    """Move on to the next number (in the seed's style: change the state, return it)."""
    state["number"] = state["number"] + 1
    return state


def is_even_or_odd(state: NumberState) -> Literal["even", "odd"]:
    """Say which branch to take."""
    return "even" if state["number"] % 2 == 0 else "odd"


def process_even(state: NumberState) -> dict[str, str]:
    """Handle an even number."""
    return {"result": f"{state['number']} is even"}


def process_odd(state: NumberState) -> dict[str, str]:
    """Handle an odd number."""
    return {"result": f"{state['number']} is odd"}


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
compiled_graph = graph.compile()

if __name__ == "__main__":
    print(compiled_graph.run({"number": 21, "result": ""}))
    print(compiled_graph.run({"number": 40, "result": ""}))
