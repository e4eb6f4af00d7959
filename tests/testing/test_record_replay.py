"""Record a graph's LLM calls once, then replay them offline: same answers, nothing sent."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import GraphDefinitionError
from orkes.shared.schema import OrkesMessageSchema
from orkes.testing import RecordedCall, Recording, Reply, record, replay
from tests.connectors.loopback import LoopbackServer, json_response
from tests.testing.fakes import (
    KEY,
    QUESTIONS,
    SYSTEM,
    Driver,
    FakeOpenAI,
    offline,
    pair,
    quiz,
    unreachable,
)


def test_a_replayed_run_answers_as_the_recorded_one_and_sends_nothing(
    driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    with record(tape_file) as recording:
        live = driver(quiz(service.connector()), QUESTIONS)
    assert live["answers"] == ["You asked: What is 2+2?", "You asked: Why is the sky blue?"]
    assert len(service.requests) == 2
    assert [(call.node, call.number) for call in recording] == [("answer", 1), ("answer", 2)]

    replayer = offline()
    with replay(tape_file):
        replayed = driver(quiz(replayer), QUESTIONS)
    assert replayed == live
    assert replayer.transport.requests == []  # type: ignore[attr-defined]
    assert len(service.requests) == 2


def test_a_replay_needs_no_network(driver: Driver, service: FakeOpenAI, tape_file: Path) -> None:
    with record(tape_file):
        live = driver(quiz(service.connector()), QUESTIONS)
    with replay(tape_file):
        assert driver(quiz(unreachable()), QUESTIONS) == live
    with pytest.raises(Exception, match="node 'answer' raised ConnectionFailed"):
        driver(quiz(unreachable()), QUESTIONS)  # outside the block the port is really closed


def test_the_file_holds_each_call_and_no_key(service: FakeOpenAI, tape_file: Path) -> None:
    with record(tape_file):
        quiz(service.connector(temperature=0)).run(QUESTIONS)
    text = tape_file.read_text(encoding="utf-8")
    assert KEY not in text
    data = json.loads(text)
    assert data["format"] == "orkes.recording/1"
    first = data["calls"][0]
    assert first == {
        "connector": "OpenAIConnector",
        "messages": [dict(SYSTEM), {"role": "user", "content": "What is 2+2?"}],
        "model": "gpt-4o-mini",
        "node": "answer",
        "number": 1,
        "params": {"temperature": 0},
        "path": [],
        "reply": {
            "role": "assistant",
            "content": "You asked: What is 2+2?",
            "metadata": {
                "finish_reason": "stop",
                "usage": {"input_tokens": 9, "output_tokens": 4},
                "raw_usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
            },
        },
        "tools": [],
    }
    # Stable text: sorted keys, two spaces of indent, a final newline.
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_a_key_in_a_prompt_is_redacted_and_still_matches(
    service: FakeOpenAI, tape_file: Path
) -> None:
    leaky = {"questions": [f"is {KEY} my key?"], "answers": []}
    with record(tape_file):
        live = quiz(service.connector()).run(leaky)
    assert KEY not in tape_file.read_text(encoding="utf-8")
    with replay(tape_file):
        replayed = quiz(offline()).run(leaky)
    # The reply quoted the key: the recording keeps it redacted, so the replay answers so.
    assert live["answers"] == [f"You asked: is {KEY} my key?"]
    assert replayed["answers"] == ["You asked: is [redacted] my key?"]


def test_recording_the_same_runs_again_writes_the_same_file(
    service: FakeOpenAI, tmp_path: Path
) -> None:
    texts = []
    for attempt in range(2):
        with record(tmp_path / f"run{attempt}.json"):
            pair(service.connector(), calls=2).run({"topic": "tea", "left": "", "right": ""})
        texts.append((tmp_path / f"run{attempt}.json").read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    numbered = [(c["node"], c["number"]) for c in json.loads(texts[0])["calls"]]
    assert numbered == [("left", 1), ("left", 2), ("right", 1), ("right", 2)]


def test_a_failed_call_is_not_kept_and_the_next_takes_its_number(tape_file: Path) -> None:
    from orkes.connectors.openai import OpenAIConnector
    from orkes.errors import BadRequest
    from orkes.testing import InProcessTransport

    answers = iter([Reply({"error": {"message": "no"}}, status=400), *[_hello()] * 2])
    llm = OpenAIConnector("m", api_key=KEY, transport=InProcessTransport(lambda _: next(answers)))
    with record(tape_file) as recording:
        with pytest.raises(BadRequest):
            llm.invoke([{"role": "user", "content": "1"}])
        llm.invoke([{"role": "user", "content": "2"}])
        llm.invoke([{"role": "user", "content": "3"}])
    kept = [(call.number, call.messages[0]["content"]) for call in recording]
    assert kept == [(1, "2"), (2, "3")]
    assert [call["number"] for call in json.loads(tape_file.read_text())["calls"]] == [1, 2]


def _hello() -> Reply:
    return Reply({"choices": [{"message": {"role": "assistant", "content": "Hello"}}]})


def test_a_file_reads_back_as_the_same_recording(service: FakeOpenAI, tape_file: Path) -> None:
    with record(tape_file) as recording:
        quiz(service.connector()).run(QUESTIONS)
    again = Recording.from_json(tape_file)
    assert again == recording
    assert Recording.from_dict(again.to_dict()) == again
    assert again.of("answer")[1].messages[1] == {"role": "user", "content": "Why is the sky blue?"}
    assert repr(again) == "Recording(2 calls: node 'answer')"


def test_the_file_is_written_when_the_block_raises(service: FakeOpenAI, tape_file: Path) -> None:
    def run_then_fail() -> None:
        quiz(service.connector()).run(QUESTIONS)
        raise RuntimeError("after the first run")

    with pytest.raises(RuntimeError, match="after the first run"), record(tape_file):
        run_then_fail()
    assert [call.number for call in Recording.from_json(tape_file)] == [1, 2]


def test_parallel_nodes_replay_whatever_order_their_threads_take(
    driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    state = {"topic": "tea", "left": "", "right": ""}
    with record(tape_file):
        live = driver(pair(service.connector(), calls=3), state)
    assert (
        live["left"]
        == "You asked: left 1: tea? | You asked: left 2: tea? | You asked: left 3: tea?"
    )
    for _ in range(5):
        with replay(tape_file):
            assert driver(pair(offline(), calls=3), state) == live


def test_calls_outside_any_node_are_recorded_and_replayed(
    service: FakeOpenAI, tape_file: Path
) -> None:
    question: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]
    with record(tape_file) as recording:
        live = service.connector().invoke(question)
    assert recording[0].node is None
    assert recording[0].where == "outside any node"
    with replay(tape_file):
        assert offline().invoke(question) == live


def test_a_replayed_reply_is_a_fresh_copy_each_time(tape_file: Path) -> None:
    call = RecordedCall(
        node=None,
        path=(),
        number=1,
        connector="OpenAIConnector",
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        reply={"role": "assistant", "content": "Hello"},
    )
    recording = Recording([call, dataclasses.replace(call, number=2)])
    with replay(recording):
        first = offline().invoke([{"role": "user", "content": "Hi"}])
        first["content"] = "changed"
        second = offline().invoke([{"role": "user", "content": "Hi"}])
    assert second["content"] == "Hello"
    assert recording[0].reply == {"role": "assistant", "content": "Hello"}


def test_record_without_a_path_writes_nothing_and_its_recording_replays(
    service: FakeOpenAI, tmp_path: Path
) -> None:
    with record() as recording:
        live = quiz(service.connector()).run(QUESTIONS)
    assert list(tmp_path.iterdir()) == []
    with replay(recording):
        assert quiz(offline()).run(QUESTIONS) == live


def test_record_refuses_what_is_no_path_before_the_block_runs() -> None:
    ran: list[str] = []
    not_a_path: Any = 3
    with pytest.raises(GraphDefinitionError) as caught, record(not_a_path):
        ran.append("block")
    assert ran == []
    assert str(caught.value) == (
        "record() takes the JSON file to write (a str or a pathlib.Path), or None to write "
        "nothing; got 3"
    )


def test_a_connector_on_a_real_loopback_server_is_recorded_and_replayed(
    driver: Driver, tape_file: Path
) -> None:
    from orkes.connectors.openai import OpenAIConnector

    with LoopbackServer() as server:
        for text in ("four", "scattering"):
            message = {"role": "assistant", "content": text}
            server.enqueue(json_response({"choices": [{"message": message}]}))
        llm = OpenAIConnector("gpt-4o-mini", base_url=server.url("/v1"), api_key=KEY)
        with record(tape_file):
            live = driver(quiz(llm), QUESTIONS)
        assert live["answers"] == ["four", "scattering"]
        assert len(server.requests) == 2
        with replay(tape_file):
            assert driver(quiz(llm), QUESTIONS) == live
        assert len(server.requests) == 2  # nothing more reached the server
        llm.close()
    assert KEY not in tape_file.read_text(encoding="utf-8")


def test_a_node_run_on_a_pool_thread_for_its_timeout_is_named_in_the_recording(
    driver: Driver, service: FakeOpenAI
) -> None:
    class Asked(TypedDict):
        reply: str

    model = service.connector()

    def ask(state: Asked) -> dict[str, str]:
        answer = model.invoke([{"role": "user", "content": "ping"}])
        return {"reply": str(answer["content"])}

    graph = OrkesGraph(Asked).add_node("ask", ask, timeout=5.0)
    runner = GraphRunner(graph.add_edge(START, "ask").add_edge("ask", END).compile())
    with record() as recording:
        assert driver(runner, {"reply": ""}) == {"reply": "You asked: ping"}
    assert [(call.node, call.number) for call in recording] == [("ask", 1)]


@pytest.mark.parametrize("how", ["run", "traced", "stream"])
def test_a_call_made_by_a_gate_is_made_outside_any_node_however_the_run_is_driven(
    service: FakeOpenAI, how: str
) -> None:
    from orkes.tracing import Tracer

    class Routed(TypedDict):
        reply: str

    model = service.connector()

    def first(state: Routed) -> dict[str, str]:
        return {"reply": "first"}

    def decide(state: Routed) -> str:
        verdict = model.invoke([{"role": "user", "content": "which way?"}])
        return "END" if verdict["content"] else "first"

    graph = OrkesGraph(Routed).add_node("first", first).add_edge(START, "first")
    runner = GraphRunner(graph.add_conditional_edge("first", decide, {"END": END}).compile())
    with record() as recording:
        if how == "run":
            runner.run({"reply": ""})
        elif how == "traced":
            runner.run({"reply": ""}, tracer=Tracer())
        else:
            list(runner.stream({"reply": ""}, modes=("updates", "messages")))
    assert [(call.node, call.number) for call in recording] == [(None, 1)]
