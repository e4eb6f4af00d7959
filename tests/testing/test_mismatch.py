"""A call that is not the recorded one fails, naming the node, the call and what differs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph, RetryPolicy
from orkes.connectors.tools import ToolSpec
from orkes.errors import GraphDefinitionError, NodeError, OrkesError
from orkes.shared.schema import OrkesMessageSchema
from orkes.testing import Recording, ReplayMismatch, record, replay
from tests.testing.fakes import Driver, FakeOpenAI, offline, quiz

TWO = {"questions": ["What is 1+1?", "What is 2+2?"], "answers": []}


@pytest.fixture
def quiz_file(service: FakeOpenAI, tape_file: Path) -> Path:
    """The quiz graph's two calls, recorded (``temperature=0``)."""
    with record(tape_file):
        quiz(service.connector(), temperature=0).run(TWO)
    return tape_file


def mismatch_of(error: pytest.ExceptionInfo[NodeError]) -> ReplayMismatch:
    """What a run that failed on a replay mismatch raised: a NodeError caused by it."""
    cause = error.value.__cause__
    assert isinstance(cause, ReplayMismatch)
    return cause


def test_a_changed_prompt_names_the_node_the_call_and_the_first_difference(
    driver: Driver, quiz_file: Path
) -> None:
    changed = {"questions": ["What is 1+1?", "What is 3+3?"], "answers": []}
    with pytest.raises(NodeError) as caught, replay(quiz_file):
        driver(quiz(offline(), temperature=0), changed)
    expected = (
        "node 'answer' call #2 does not match the recording: "
        "messages[1].content was 'What is 2+2?', now 'What is 3+3?'"
    )
    assert str(mismatch_of(caught)) == expected
    assert str(caught.value).startswith(f"node 'answer' raised ReplayMismatch: {expected} (step 1")
    assert (mismatch_of(caught).node, mismatch_of(caught).number) == ("answer", 2)
    assert caught.value.node == "answer"


def test_a_call_beyond_the_recorded_ones(driver: Driver, quiz_file: Path) -> None:
    three = {"questions": [*TWO["questions"], "What is 3+3?"], "answers": []}
    with pytest.raises(NodeError) as caught, replay(quiz_file):
        driver(quiz(offline(), temperature=0), three)
    assert (
        str(mismatch_of(caught)) == "node 'answer' made call #3; the recording has 2 calls for it"
    )


def test_recorded_calls_never_made_fail_the_block_when_it_ends(
    driver: Driver, quiz_file: Path
) -> None:
    one = {"questions": ["What is 1+1?"], "answers": []}
    with pytest.raises(ReplayMismatch) as caught, replay(quiz_file):
        assert driver(quiz(offline(), temperature=0), one)["answers"] == ["You asked: What is 1+1?"]
    assert str(caught.value) == (
        "the block ended before 1 recorded call was made: node 'answer' call #2; "
        "pass complete=False to replay() if the runs may stop short"
    )
    assert caught.value.node == "answer"
    with replay(quiz_file, complete=False):
        assert driver(quiz(offline(), temperature=0), one)["answers"] == ["You asked: What is 1+1?"]


def test_the_calls_not_made_do_not_hide_the_error_the_block_raises(quiz_file: Path) -> None:
    with pytest.raises(NodeError, match="raised KeyError: 'questions'"), replay(quiz_file):
        quiz(offline(), temperature=0).run({"answers": []})  # no call made: a KeyError


@pytest.mark.parametrize(
    ("model", "params", "difference"),
    [
        ("gpt-4o", {"temperature": 0}, "model was 'gpt-4o-mini', now 'gpt-4o'"),
        ("gpt-4o-mini", {"temperature": 0.5}, "params.temperature was 0, now 0.5"),
        ("gpt-4o-mini", {}, "params.temperature was 0, now absent"),
        (
            "gpt-4o-mini",
            {"temperature": 0, "top_p": 1},
            "params.top_p was absent, now 1",
        ),
    ],
)
def test_another_model_or_other_params_do_not_match(
    quiz_file: Path, model: str, params: dict[str, Any], difference: str
) -> None:
    with pytest.raises(NodeError) as caught, replay(quiz_file):
        quiz(offline(model), **params).run(TWO)
    message = f"node 'answer' call #1 does not match the recording: {difference}"
    assert str(mismatch_of(caught)) == message


class Answers(TypedDict):
    answers: list[str]


class Sum(TypedDict):
    messages: list[OrkesMessageSchema]


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def sub(a: int, b: int) -> int:
    """Subtract b from a."""
    return a - b


def tool_graph(llm: Any, tools: list[Any]) -> GraphRunner[Sum]:
    def model(state: Sum) -> dict[str, list[OrkesMessageSchema]]:
        return {"messages": [*state["messages"], llm.invoke(state["messages"], tools=tools)]}

    graph = OrkesGraph(Sum).add_node("model", model)
    return GraphRunner(graph.add_edge(START, "model").add_edge("model", END).compile())


def test_other_tools_do_not_match(service: FakeOpenAI, tape_file: Path) -> None:
    start = {"messages": [{"role": "user", "content": "2+2?"}]}
    with record(tape_file):
        tool_graph(service.connector(), [add]).run(start)
    with pytest.raises(NodeError) as caught, replay(tape_file):
        tool_graph(offline(), [add, sub]).run(start)
    assert str(mismatch_of(caught)).endswith(": tools[1] was absent, now 'sub'")

    def add_ints(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    renamed = ToolSpec.from_function(add_ints)
    described_anew = ToolSpec("add", renamed.description, renamed.parameters, add_ints)
    with pytest.raises(NodeError) as caught, replay(tape_file):
        tool_graph(offline(), [described_anew]).run(start)
    assert str(mismatch_of(caught)) == (
        "node 'model' call #1 does not match the recording: "
        "tool_schemas[0].description was 'Add two numbers.', now 'Add two integers.'"
    )


def test_a_mismatch_the_node_catches_fails_the_block_all_the_same(quiz_file: Path) -> None:
    llm = offline()

    def careful(state: dict[str, Any]) -> dict[str, list[str]]:
        try:
            return quiz(llm, temperature=0).run(state)  # type: ignore[return-value]
        except NodeError:
            return {"answers": ["a fallback"]}

    with pytest.raises(ReplayMismatch) as caught, replay(quiz_file):
        assert careful({"questions": ["What is 5+5?"], "answers": []}) == {
            "answers": ["a fallback"]
        }
    assert str(caught.value) == (
        "node 'answer' call #1 does not match the recording: "
        "messages[1].content was 'What is 1+1?', now 'What is 5+5?'"
    )
    assert isinstance(caught.value.__cause__, ReplayMismatch)


def test_a_retried_node_fails_with_its_first_mismatch(quiz_file: Path) -> None:
    llm = offline()

    def answer(state: Answers) -> dict[str, list[str]]:
        reply = llm.invoke([{"role": "user", "content": "What is 9+9?"}], temperature=0)
        return {"answers": [reply["content"]]}

    retry = RetryPolicy(max_attempts=3, initial_delay=0, jitter=False, retry_on=(Exception,))
    graph = OrkesGraph(Answers).add_node("answer", answer, retry=retry)
    app = graph.add_edge(START, "answer").add_edge("answer", END).compile()
    with pytest.raises(NodeError) as caught, replay(quiz_file):
        app.run({"answers": []})
    assert caught.value.attempts == 3
    assert str(mismatch_of(caught)) == (
        "node 'answer' call #1 does not match the recording: "
        "messages[0].content was 'Answer in one line.', now 'What is 9+9?'"
    )


def test_a_node_the_recording_does_not_know(quiz_file: Path) -> None:
    llm = offline()

    def summarize(state: Answers) -> dict[str, list[str]]:
        return {"answers": [llm.invoke([{"role": "user", "content": "Sum up."}])["content"]]}

    graph = OrkesGraph(Answers).add_node("summarize", summarize)
    app = graph.add_edge(START, "summarize").add_edge("summarize", END).compile()
    with pytest.raises(NodeError) as caught, replay(quiz_file):
        app.run({"answers": []})
    assert str(mismatch_of(caught)) == (
        "node 'summarize' made call #1; the recording has no calls for it "
        "(it has calls of node 'answer')"
    )


def test_calls_outside_any_node_are_named_so(service: FakeOpenAI, tape_file: Path) -> None:
    hi: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]
    with record(tape_file):
        service.connector().invoke(hi)
    with pytest.raises(ReplayMismatch) as caught, replay(tape_file):
        offline().invoke([{"role": "user", "content": "Hello"}])
    assert str(caught.value) == (
        "call #1 made outside any node does not match the recording: "
        "messages[0].content was 'Hi', now 'Hello'"
    )
    assert (caught.value.node, caught.value.number) == (None, 1)

    def ask_twice() -> None:
        offline().invoke(hi)
        offline().invoke(hi)

    with pytest.raises(ReplayMismatch) as caught, replay(tape_file):
        ask_twice()
    assert str(caught.value) == (
        "call #2 made outside any node; the recording has 1 call made outside any node"
    )


def test_a_long_text_shows_where_it_parts(service: FakeOpenAI, tape_file: Path) -> None:
    prompt = "You are a careful assistant. " * 4 + "Answer in French. Be brief."
    with record(tape_file):
        service.connector().invoke([{"role": "system", "content": prompt}])
    changed = prompt.replace("French", "German")
    with pytest.raises(ReplayMismatch) as caught, replay(tape_file):
        offline().invoke([{"role": "system", "content": changed}])
    assert str(caught.value).endswith(
        ": messages[0].content differs from character 126: "
        "was '...ssistant. Answer in French. Be brief.', "
        "now '...ssistant. Answer in German. Be brief.'"
    )


def test_replay_mismatch_is_an_orkes_error_and_an_assertion_error() -> None:
    error = ReplayMismatch(
        "node 'a' made call #2; the recording has 1 call for it", node="a", number=2
    )
    assert isinstance(error, OrkesError)
    assert isinstance(error, AssertionError)
    copied = pickle.loads(pickle.dumps(error))
    assert (str(copied), copied.node, copied.number) == (str(error), "a", 2)


def test_replay_says_what_it_takes(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError) as caught, replay(missing):
        pass
    hint = f"make it once with orkes.testing.record({missing!r})"
    assert str(caught.value) == f"no recording at {missing!r}: {hint}"
    with pytest.raises(GraphDefinitionError, match="replay\\(\\) takes a file"), replay(42):  # type: ignore[arg-type]
        pass
    other = tmp_path / "other.json"
    other.write_text('{"format": "something/1"}', encoding="utf-8")
    with pytest.raises(
        GraphDefinitionError, match="not an orkes recording: its format is 'something/1'"
    ):
        Recording.from_json(other)
    other.write_text("not json", encoding="utf-8")
    with pytest.raises(GraphDefinitionError, match="is not a JSON file"):
        Recording.from_json(other)
    other.write_text('{"format": "orkes.recording/1", "calls": [{"node": "a"}]}', encoding="utf-8")
    with pytest.raises(GraphDefinitionError, match="a damaged orkes recording: calls\\[0\\]"):
        Recording.from_json(other)


CALL = {
    "connector": "EchoLlmConnector",
    "messages": [{"content": "Hi", "role": "user"}],
    "model": "echo",
    "node": None,
    "number": 1,
    "params": {},
    "path": [],
    "reply": {"content": "I echo: Hi", "role": "assistant"},
    "tools": [],
}


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"format": "orkes.recording/2"}, "its format is 'orkes.recording/2', not 'orkes"),
        ({"calls": None}, "its 'calls' should be a list of calls, got null"),
        ({"calls": [CALL, 7]}, "calls[1]: a call should be a JSON object, got 7"),
        ({"reply": None}, "calls[0]: the call has no 'reply'"),
        ({"messages": "Hi"}, "calls[0]: the call's 'messages' should be the list of messages"),
        ({"path": "ab"}, "calls[0]: the call's 'path' should be a list of the subgraph node"),
        ({"node": 5}, "calls[0]: the call's 'node' should be the node's name, or null"),
        ({"number": 1.5}, "calls[0]: the call's 'number' should be the node's call number"),
        ({"number": 0}, "calls[0]: the call's 'number' should be 1 or more, got 0"),
        ({"reply": [["content", "x"]]}, "calls[0]: the call's 'reply' should be the message"),
        ({"tools": "search"}, "calls[0]: the call's 'tools' should be a list of tool names"),
        ({"params": []}, "calls[0]: the call's 'params' should be an object"),
    ],
)
def test_a_recording_edited_by_hand_says_what_is_wrong_where(
    tmp_path: Path, edit: dict[str, Any], problem: str
) -> None:
    data: dict[str, Any] = {"format": "orkes.recording/1", "calls": [CALL]}
    call = {**CALL, **{key: value for key, value in edit.items() if key in CALL}}
    if edit.get("reply", "") is None:
        del call["reply"]
    data.update({key: value for key, value in edit.items() if key not in CALL})
    data["calls"] = [call] if data["calls"] == [CALL] else data["calls"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GraphDefinitionError) as caught, replay(edited):
        pass
    assert str(caught.value).startswith(f"{str(edited)!r}: ")
    assert problem in str(caught.value)


def test_a_recording_that_is_not_utf_8_is_refused_as_no_json(tmp_path: Path) -> None:
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"format": "orkes.recording/1", "calls": [], "note": "caf\xe9"}')
    with pytest.raises(GraphDefinitionError, match=r"is not a JSON file .*can't decode byte 0xe9"):
        Recording.from_json(latin)
