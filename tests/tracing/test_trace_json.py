"""A trace goes to JSON and back unchanged; what is not a trace is refused, saying why."""

from __future__ import annotations

import json
import math
import operator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orkes import END, START, EchoLlmConnector, GraphRunner, OrkesGraph
from orkes.errors import GraphDefinitionError
from orkes.tracing import (
    LLMCall,
    Repr,
    StepRecord,
    Trace,
    Tracer,
)
from tests.tracing.strategies import scalars, traces, values_with


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(traces)
def test_json_out_and_back_in_gives_an_equal_trace(trace: Trace) -> None:
    assert Trace.from_dict(json.loads(json.dumps(trace.to_dict()))) == trace


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trace=traces)
def test_a_file_round_trips_too(tmp_path: Path, trace: Trace) -> None:
    assert Trace.from_json(trace.to_json(tmp_path / "trace.json")) == trace


@settings(max_examples=40, deadline=None)
@given(value=values_with(scalars | st.sets(st.integers(), max_size=2) | st.just(math.nan)))
def test_whatever_a_node_writes_round_trips_as_the_tracer_kept_it(value: Any) -> None:
    class State(TypedDict):
        value: Any

    tracer = Tracer()
    graph = OrkesGraph(State).add_node("write", lambda state: {"value": value})
    GraphRunner(graph.add_edge(START, "write").add_edge("write", END).compile()).run(
        {"value": None}, tracer=tracer
    )
    trace = tracer.last
    assert trace is not None
    assert Trace.from_dict(json.loads(json.dumps(trace.to_dict()))) == trace


class Chat(TypedDict, total=False):
    """A state with values that are not JSON."""

    day: date
    tags: set[str]
    log: Annotated[list[str], operator.add]
    reply: str


def test_a_real_trace_with_repr_values_errors_and_calls_round_trips(tmp_path: Path) -> None:
    def plan(state: Chat) -> dict[str, Any]:
        return {"day": date(2025, 1, 31), "tags": {"a"}, "log": ["planned"]}

    def talk(state: Chat) -> dict[str, str]:
        return {"reply": EchoLlmConnector().invoke([{"role": "user", "content": "hi"}])["content"]}

    graph = OrkesGraph(Chat, name="chat").add_node(plan).add_node(talk)
    app = graph.add_edge(START, "plan").add_edge("plan", "talk").add_edge("talk", END).compile()
    tracer = Tracer(tmp_path)
    app.run({"log": []}, tracer=tracer)
    trace = tracer.last
    assert trace is not None
    assert trace.state["day"] == Repr("datetime.date(2025, 1, 31)", "datetime.date")
    assert trace.state["tags"] == Repr("{'a'}", "set")
    (call,) = trace.llm_calls
    assert call.reply == {"role": "assistant", "content": "I echo: hi"}
    (written,) = tmp_path.glob("*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["format"] == "orkes.trace/1"
    assert data["state"]["day"] == {"$repr": "datetime.date(2025, 1, 31)", "type": "datetime.date"}
    assert Trace.from_json(written) == trace


def test_a_state_key_named_like_the_mark_is_kept_as_it_is() -> None:
    trace = Trace(None, "r", "done", 1.0, 2.0, {"$repr": 1, "x": [{"$repr": "v", "type": "t"}]})
    again = Trace.from_dict(json.loads(json.dumps(trace.to_dict())))
    assert again.state == {"$repr": 1, "x": [Repr("v", "t")]}


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(GraphDefinitionError, match=r"notes\.json.* is not a JSON file"):
        Trace.from_json(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hello": 1}, "its format is None, not 'orkes.trace/1'"),
        ({"format": "orkes.trace/9"}, "its format is 'orkes.trace/9'"),
        ({"format": "orkes.trace/1", "graph": None}, "a damaged orkes trace: KeyError"),
        ([1, 2], "its format is None"),
    ],
)
def test_data_that_is_not_a_trace_is_refused(data: Any, message: str) -> None:
    with pytest.raises(GraphDefinitionError, match=message):
        Trace.from_dict(data)


def test_a_trace_is_frozen_and_its_steps_read_like_a_tuple() -> None:
    step = StepRecord(1, 1.0, 2.0)
    trace = Trace("g", "r", "done", 1.0, 3.0, {}, steps=[step])
    assert trace.steps == (step,)
    assert operator.eq(trace.steps, [step])
    assert len(trace.steps) == 1
    assert trace.steps[0] is step
    assert trace.steps[:1] == (step,)
    assert operator.ne(trace.steps, "not steps")
    assert trace.seconds == 2.0
    assert step.seconds == 1.0
    assert repr(trace.steps) == f"Steps([{step!r}])"
    with pytest.raises(AttributeError):
        trace.status = "failed"  # type: ignore[misc]


def test_an_llm_calls_usage_tool_calls_and_latency_are_read_from_its_reply() -> None:
    reply = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "add", "arguments": {}}],
        "metadata": {"usage": {"input_tokens": 3}},
    }
    call = LLMCall("C", "m", [], reply, 1.0, 1.5)
    assert (call.usage, call.tool_calls, call.seconds) == (
        {"input_tokens": 3},
        reply["tool_calls"],
        0.5,
    )
    bare = LLMCall("C", None, [], None, 1.0, 1.0)
    assert (bare.usage, bare.tool_calls) == (None, [])


def test_a_trace_pickles_and_copies_as_its_records() -> None:
    import copy
    import pickle

    tracer = Tracer()
    GraphRunner(
        OrkesGraph(Chat).add_node("note", lambda s: {"log": ["x"]}).add_edge(START, "note")
        .add_edge("note", END).compile()
    ).run({"log": []}, tracer=tracer)  # fmt: skip
    trace = tracer.last
    assert trace is not None
    assert pickle.loads(pickle.dumps(trace)) == trace
    assert copy.deepcopy(trace) == trace


def test_a_lone_surrogate_is_written_as_an_escape_so_the_file_stays_utf8(tmp_path: Path) -> None:
    class Note(TypedDict, total=False):
        text: str

    graph = OrkesGraph(Note).add_node("cut", lambda state: {"text": "half an emoji: \ud83d"})
    tracer = Tracer(tmp_path / "traces")
    graph.add_edge(START, "cut").add_edge("cut", END).compile().run({}, tracer=tracer)
    assert tracer.last is not None
    for written in (tracer.path_for(tracer.last), tracer.last.to_json(tmp_path / "one.json")):
        text = written.read_bytes().decode("utf-8")  # strict: what jq or a browser reads
        assert json.loads(text)["state"]["text"] == "half an emoji: \ud83d"
        assert Trace.from_json(written) == tracer.last


def test_a_file_that_is_not_utf8_is_refused_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "latin1.json"
    target.write_bytes('{"graph": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(GraphDefinitionError, match=r"latin1\.json.*is not a JSON file"):
        Trace.from_json(target)


class Count(TypedDict, total=False):
    n: int


def _counted() -> Trace:
    tracer = Tracer()
    app = OrkesGraph(Count).add_node("go", lambda state: {"n": 1})
    app.add_edge(START, "go").add_edge("go", END).compile().run({}, tracer=tracer)
    assert tracer.last is not None
    return tracer.last


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("status", "exploded", r"trace.status should be one of \['done'"),
        ("started", "yesterday", "trace.started should be a number"),
        ("run_id", 7, "trace.run_id should be a string"),
        ("path", [1], "trace.path should be a list of strings"),
        ("steps", [{"step": "one", "started": 0, "ended": 0, "tasks": [], "gates": []}],
         r"trace.steps\[0\].step should be an integer"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_is_refused_naming_it(
    field: str, value: Any, message: str
) -> None:
    data = {**_counted().to_dict(), field: value}
    with pytest.raises(GraphDefinitionError, match=message):
        Trace.from_dict(data)


def test_a_task_field_of_the_wrong_type_is_refused_naming_it() -> None:
    data = _counted().to_dict()
    data["steps"][0]["tasks"][0]["ended"] = "later"
    with pytest.raises(GraphDefinitionError, match=r"trace.steps\[0\].tasks\[0\].ended"):
        Trace.from_dict(data)
