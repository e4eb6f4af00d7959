"""Schemas and gates written under ``from __future__ import annotations``.

Every annotation in this module is a string until ``typing.get_type_hints`` reads it:
state keys, ``Annotated`` reducers and ``Literal`` gates must all still work.
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, ForwardRef, Literal

import pytest
from typing_extensions import NotRequired, Required, TypedDict

from orkes import END, START, OrkesGraph
from orkes.errors import GraphDefinitionError, GraphValidationError
from orkes.graph.reducers import append
from orkes.graph.state import StateSchema
from orkes.graph.validate import literal_values
from tests.graph.decorators import logged


class FutureState(TypedDict):
    count: int
    seen: Annotated[list[int], operator.add]
    log: NotRequired[Annotated[list[str], append]]
    must: Required[Annotated[list[int], operator.add]]


class FuturePartial(TypedDict, total=False):
    seen: Annotated[list[int], operator.add]
    label: str


class Broken(TypedDict):
    text: str
    thing: Undefined  # type: ignore[name-defined]  # noqa: F821


def increment(state: FutureState) -> dict[str, object]:
    count = state["count"] + 1
    return {"count": count, "seen": [count], "log": f"at {count}", "must": [count * 10]}


def keep_counting(state: FutureState) -> Literal["again", "done"]:
    return "again" if state["count"] < 3 else "done"


def test_keys_and_reducers_read_through_string_annotations() -> None:
    assert isinstance(FutureState.__annotations__["seen"], (str, ForwardRef))
    schema = StateSchema.from_typeddict(FutureState)
    assert schema.keys == ("count", "seen", "log", "must")
    assert dict(schema.reducers) == {"seen": operator.add, "log": append, "must": operator.add}


def test_a_total_false_schema_under_the_future_import() -> None:
    schema = StateSchema.from_typeddict(FuturePartial)
    assert schema.keys == ("seen", "label")
    assert dict(schema.reducers) == {"seen": operator.add}


def test_a_literal_gate_is_read_through_string_annotations() -> None:
    assert literal_values(keep_counting) == ("again", "done")


def test_a_graph_over_a_future_annotated_schema_runs() -> None:
    graph = OrkesGraph(FutureState).add_node(increment).add_edge(START, "increment")
    graph.add_conditional_edge("increment", keep_counting, {"again": "increment", "done": END})
    result = graph.compile().run({"count": 0, "seen": [], "log": [], "must": []})
    assert result == {
        "count": 3,
        "seen": [1, 2, 3],
        "log": ["at 1", "at 2", "at 3"],
        "must": [10, 20, 30],
    }


def test_literal_coverage_is_checked_through_string_annotations() -> None:
    graph = OrkesGraph(FutureState).add_node(increment).add_edge(START, "increment")
    graph.add_conditional_edge("increment", keep_counting, {"again": "increment"})
    with pytest.raises(GraphValidationError) as caught:
        graph.compile()
    assert caught.value.problems == (
        "conditional edge from 'increment' (gate 'keep_counting') may return 'done' "
        "(its -> Literal[...]), which the mapping does not cover; add it to the mapping "
        "or give default=",
        "node 'increment' can never reach END: no path from it leads there",
    )


def test_an_annotation_naming_the_undefined_is_a_definition_error() -> None:
    message = (
        "cannot read the annotations of state schema 'Broken': name 'Undefined' is not "
        "defined; every name used in them must be importable where the schema is defined"
    )
    with pytest.raises(GraphDefinitionError, match=f"^{re.escape(message)}$") as caught:
        OrkesGraph(Broken)
    assert isinstance(caught.value.__cause__, NameError)


def test_a_decorated_gate_s_literal_is_read_with_the_gate_s_own_globals() -> None:
    @logged
    def decorated(state: FutureState) -> Literal["even", "odd"]:
        return "even"

    assert literal_values(decorated) == ("even", "odd")


def test_a_return_type_that_does_not_resolve_and_is_no_literal_means_anywhere() -> None:
    def gate(state: FutureState) -> OnlyForTypeCheckers:  # type: ignore[name-defined]  # noqa: F821
        return "a"

    assert literal_values(gate) is None
