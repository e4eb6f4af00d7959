"""The error hierarchy: one base, the fitting builtins, the facts as attributes."""

from __future__ import annotations

import inspect
import pickle
import re
from typing import Literal, TypedDict

import pytest

from orkes import END, START, OrkesGraph, errors
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    CheckpointConflict,
    CheckpointError,
    ConflictingUpdateError,
    ConnectionFailed,
    ConnectorError,
    ConnectorTimeout,
    GraphDefinitionError,
    GraphValidationError,
    NodeError,
    NodeTimeout,
    OrkesError,
    RateLimited,
    ResponseFormatError,
    RoutingError,
    RunInterrupted,
    RunStopped,
    SerializationError,
    ServiceError,
    StateError,
    StepLimitExceeded,
    ToolCallError,
    ToolDefinitionError,
)

# class -> (its orkes parent, the builtin it also is, or None)
HIERARCHY: dict[type[Exception], tuple[type[Exception], type[Exception] | None]] = {
    GraphDefinitionError: (OrkesError, ValueError),
    GraphValidationError: (OrkesError, ValueError),
    StateError: (OrkesError, KeyError),
    RoutingError: (OrkesError, ValueError),
    ConflictingUpdateError: (OrkesError, ValueError),
    StepLimitExceeded: (OrkesError, RuntimeError),
    NodeError: (OrkesError, RuntimeError),
    NodeTimeout: (OrkesError, TimeoutError),
    RunStopped: (OrkesError, RuntimeError),
    RunInterrupted: (OrkesError, RuntimeError),
    CheckpointError: (OrkesError, RuntimeError),
    CheckpointConflict: (CheckpointError, None),
    SerializationError: (CheckpointError, TypeError),
    ConnectorError: (OrkesError, RuntimeError),
    ConnectorTimeout: (ConnectorError, TimeoutError),
    ConnectionFailed: (ConnectorError, ConnectionError),
    RateLimited: (ConnectorError, None),
    AuthenticationError: (ConnectorError, PermissionError),
    BadRequest: (ConnectorError, ValueError),
    ServiceError: (ConnectorError, None),
    ResponseFormatError: (ConnectorError, ValueError),
    ToolDefinitionError: (OrkesError, TypeError),
    ToolCallError: (OrkesError, RuntimeError),
}


def test_every_error_is_listed() -> None:
    assert set(errors.__all__) == {cls.__name__ for cls in HIERARCHY} | {"OrkesError"}
    for name in errors.__all__:
        assert getattr(errors, name).__module__ == "orkes.errors"


def test_orkes_error_is_an_exception() -> None:
    assert OrkesError.__bases__ == (Exception,)


@pytest.mark.parametrize("cls", list(HIERARCHY))
def test_every_error_subclasses_orkes_error_and_its_builtin(cls: type[Exception]) -> None:
    parent, builtin = HIERARCHY[cls]
    assert issubclass(cls, OrkesError)
    assert issubclass(cls, parent)
    if builtin is not None:
        assert issubclass(cls, builtin)
    assert cls.__doc__


def test_the_docstring_draws_the_tree_of_the_classes() -> None:
    """Every class in the tree of ``errors.py``'s docstring, under the right parent."""
    doc = errors.__doc__
    assert doc is not None
    drawn: dict[str, tuple[str, str | None]] = {}
    parents = ["OrkesError"]
    for line in doc.splitlines():
        match = re.match(r"^\s*([│ ]*)[├└]── (\w+)(?: \((\w+)\))?", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4
        name, builtin = match.group(2), match.group(3)
        del parents[depth + 1 :]
        drawn[name] = (parents[depth], builtin)
        parents.append(name)
    expected = {
        cls.__name__: (parent.__name__, builtin.__name__ if builtin else None)
        for cls, (parent, builtin) in HIERARCHY.items()
    }
    assert drawn == expected


# -- messages and attributes -------------------------------------------------------------


def test_graph_validation_error_lists_its_problems() -> None:
    error = GraphValidationError(["first", "second"], "flow")
    assert error.problems == ("first", "second")
    assert error.graph_name == "flow"
    assert str(error) == "graph 'flow' has 2 problems:\n  - first\n  - second"


def test_graph_validation_error_with_one_problem_and_no_name() -> None:
    error = GraphValidationError(("only",))
    assert error.problems == ("only",)
    assert error.graph_name is None
    assert str(error) == "the graph has 1 problem:\n  - only"


def test_state_error_prints_its_message_plainly() -> None:
    error = StateError("node 'a' wrote unknown key 'x'", node="a", key="x")
    assert str(error) == "node 'a' wrote unknown key 'x'"  # not KeyError's quoted repr
    assert error.message == "node 'a' wrote unknown key 'x'"
    assert error.node == "a"
    assert error.key == "x"
    assert error.args == ("node 'a' wrote unknown key 'x'",)
    bare = StateError("bad input")
    assert (bare.node, bare.key) == (None, None)
    with pytest.raises(KeyError):
        raise bare


def test_routing_error_attributes() -> None:
    error = RoutingError("no", node="classify", value="maybe", known=["yes", "no"])
    assert str(error) == "no"
    assert (error.node, error.value, error.known) == ("classify", "maybe", ("yes", "no"))
    assert RoutingError("x", node="n", value=1).known == ()


def test_conflicting_update_error_attributes() -> None:
    error = ConflictingUpdateError("clash", key="k", nodes=["a", "b"], step=3)
    assert str(error) == "clash"
    assert (error.key, error.nodes, error.step) == ("k", ("a", "b"), 3)


def test_step_limit_exceeded_attributes() -> None:
    error = StepLimitExceeded("too many", limit=5, step=6, node="loop")
    assert (error.limit, error.step, error.node, error.edge) == (5, 6, "loop", None)
    edge_error = StepLimitExceeded("x", limit=1, step=2, node="a", edge="edge 'a' -> 'a'")
    assert edge_error.edge == "edge 'a' -> 'a'"


def test_node_error_attributes() -> None:
    error = NodeError("boom", node="a", step=2, run_id="r1")
    assert str(error) == "boom"
    assert (error.node, error.step, error.run_id) == ("a", 2, "r1")


def test_connector_error_attributes() -> None:
    error = ConnectorError("down", status=503, service_message="overloaded")
    assert (error.status, error.service_message) == (503, "overloaded")
    assert (ConnectorError("x").status, ConnectorError("x").service_message) == (None, None)
    limited = RateLimited("slow down", retry_after=2.5)
    assert (limited.status, limited.retry_after, limited.service_message) == (429, 2.5, None)
    assert RateLimited("x").retry_after is None
    assert ConnectorTimeout("late", status=None).status is None
    assert AuthenticationError("no", status=401).status == 401


def test_errors_with_facts_take_them_as_keywords() -> None:
    for cls in (StateError, RoutingError, ConflictingUpdateError, StepLimitExceeded, NodeError):
        parameters = list(inspect.signature(cls).parameters.values())
        assert parameters[0].name == "message"
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[1:])


# -- raised by orkes, caught as builtins -------------------------------------------------


class State(TypedDict):
    n: int


def test_a_definition_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="reserved"):
        OrkesGraph(State).add_node("END", lambda state: None)


def test_an_unknown_input_key_is_a_key_error_with_a_plain_message() -> None:
    graph = OrkesGraph(State).add_node("a", lambda state: None)
    compiled = graph.add_edge(START, "a").add_edge("a", END).compile()
    with pytest.raises(KeyError) as caught:
        compiled.run({"n": 1, "typo": 2})
    error = caught.value
    assert isinstance(error, StateError)
    assert error.key == "typo"
    assert error.node is None
    assert str(error) == "input key 'typo' is not in the state schema State; its keys are 'n'"


def test_a_routing_error_from_a_run() -> None:
    def classify(state: State) -> Literal["yes", "no"]:
        return "maybe"  # type: ignore[return-value]

    graph = OrkesGraph(State).add_node("classify", lambda state: None)
    graph.add_edge(START, "classify")
    graph.add_conditional_edge("classify", classify, {"yes": END, "no": END})
    with pytest.raises(ValueError) as caught:
        graph.compile().run({"n": 1})
    error = caught.value
    assert isinstance(error, RoutingError)
    assert str(error) == (
        "gate 'classify' of node 'classify' returned 'maybe'; the mapping knows 'yes', 'no' "
        "(add it, or give default=)"
    )
    assert (error.node, error.value, error.known) == ("classify", "maybe", ("yes", "no"))


def test_a_node_error_keeps_its_cause() -> None:
    def explode(state: State) -> None:
        raise ZeroDivisionError("division by zero")

    graph = OrkesGraph(State).add_node(explode).add_edge(START, "explode")
    compiled = graph.add_edge("explode", END).compile()
    with pytest.raises(RuntimeError) as caught:
        compiled.run({"n": 1})
    error = caught.value
    assert isinstance(error, NodeError)
    assert isinstance(error.__cause__, ZeroDivisionError)
    assert (error.node, error.step) == ("explode", 1)
    assert str(error) == (
        f"node 'explode' raised ZeroDivisionError: division by zero (step 1, run {error.run_id})"
    )


@pytest.mark.parametrize(
    "error",
    [
        NodeError("node 'a' raised", node="a", step=2, run_id="r1", attempts=3),
        NodeTimeout("node 'a' did not finish", node="a", seconds=1.5),
        StateError("input key 'x' is unknown", node=None, key="x"),
        RoutingError("gate returned 'maybe'", node="a", value="maybe", known=["yes"]),
        GraphValidationError(["one", "two"], "g"),
        StepLimitExceeded("too many", limit=3, step=4, node="a", edge="edge 'a' -> 'a'"),
    ],
)
def test_errors_survive_pickling_with_their_attributes(error: OrkesError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
