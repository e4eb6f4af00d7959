"""A trace is a recording too: replay a run from ``tracer.last`` or from its JSON file."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import NodeError
from orkes.shared.schema import LLMConnector
from orkes.testing import Recording, ReplayMismatch, replay
from orkes.tracing import Trace, Tracer
from tests.testing.fakes import QUESTIONS, Driver, FakeOpenAI, offline, quiz


def test_a_run_replays_from_its_trace(driver: Driver, service: FakeOpenAI) -> None:
    tracer = Tracer()
    runner = quiz(service.connector(), temperature=0)
    runner.tracer = tracer
    live = driver(runner, QUESTIONS)
    trace = tracer.last
    assert trace is not None
    with replay(trace) as recording:
        assert driver(quiz(offline(), temperature=0), QUESTIONS) == live
    assert [(call.where, call.number, call.tool_schemas) for call in recording] == [
        ("node 'answer'", 1, None),
        ("node 'answer'", 2, None),
    ]
    assert recording[0].params == {"temperature": 0}


def test_a_run_replays_from_a_trace_file(
    driver: Driver, service: FakeOpenAI, tmp_path: Path
) -> None:
    tracer = Tracer(directory=tmp_path / "traces")
    runner = quiz(service.connector())
    runner.tracer = tracer
    live = driver(runner, QUESTIONS)
    (written,) = (tmp_path / "traces").iterdir()
    with replay(written):
        assert driver(quiz(offline()), QUESTIONS) == live
    assert Recording.from_json(written) == Recording.from_trace(Trace.from_json(written))


def test_a_replay_from_a_trace_checks_the_calls(service: FakeOpenAI) -> None:
    tracer = Tracer()
    runner = quiz(service.connector())
    runner.tracer = tracer
    runner.run(QUESTIONS)
    assert tracer.last is not None
    changed = {"questions": ["What is 2+2?", "Why is the sea blue?"], "answers": []}
    with pytest.raises(NodeError) as caught, replay(tracer.last):
        quiz(offline()).run(changed)
    assert isinstance(caught.value.__cause__, ReplayMismatch)
    assert str(caught.value.__cause__) == (
        "node 'answer' call #2 does not match the recording: "
        "messages[1].content was 'Why is the sky blue?', now 'Why is the sea blue?'"
    )


class Text(TypedDict):
    text: str


def research(llm: LLMConnector) -> GraphRunner[Text]:
    """``research`` is a subgraph whose ``search`` node calls ``llm``."""

    def search(state: Text) -> dict[str, str]:
        return {"text": llm.invoke([{"role": "user", "content": state["text"]}])["content"]}

    inner = OrkesGraph(Text).add_node("search", search)
    inner.add_edge(START, "search").add_edge("search", END)
    outer = OrkesGraph(Text).add_node("research", inner.compile())
    return GraphRunner(outer.add_edge(START, "research").add_edge("research", END).compile())


def test_a_subgraph_s_calls_replay_under_its_path(driver: Driver, service: FakeOpenAI) -> None:
    tracer = Tracer()
    runner = research(service.connector())
    runner.tracer = tracer
    assert driver(runner, {"text": "tides"}) == {"text": "You asked: tides"}
    assert tracer.last is not None
    recording = Recording.from_trace(tracer.last)
    assert [(call.path, call.node, call.where) for call in recording] == [
        (("research",), "search", "node 'research > search'")
    ]
    with replay(recording):
        assert driver(research(offline()), {"text": "tides"}) == {"text": "You asked: tides"}
    with pytest.raises(NodeError) as caught, replay(recording):
        driver(research(offline()), {"text": "waves"})
    assert str(caught.value.__cause__) == (
        "node 'research > search' call #1 does not match the recording: "
        "messages[0].content was 'tides', now 'waves'"
    )
    assert caught.value.node == "research > search"
