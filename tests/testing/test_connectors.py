"""Every connector meets the tape: the echo one, the other HTTP ones, yours in ``traced()``."""

from __future__ import annotations

import asyncio
import json
import operator
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from orkes import END, START, EchoLlmConnector, GraphRunner, OrkesGraph, Send
from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.transport import Request
from orkes.events import Token
from orkes.shared.schema import OrkesMessageSchema
from orkes.testing import InProcessTransport, ReplayMismatch, Reply, record, replay
from orkes.tracing import Tracer, traced
from tests.testing.fakes import Driver, FakeOpenAI, offline

HI: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi there"}]


class Chat(TypedDict):
    reply: str


def one_node(llm: Any) -> GraphRunner[Chat]:
    def talk(state: Chat) -> dict[str, str]:
        return {"reply": llm.invoke(HI)["content"]}

    graph = OrkesGraph(Chat).add_node("talk", talk)
    return GraphRunner(graph.add_edge(START, "talk").add_edge("talk", END).compile())


def test_the_echo_connector_records_and_replays(driver: Driver, tape_file: Path) -> None:
    with record(tape_file) as recording:
        live = driver(one_node(EchoLlmConnector(api_key="echo-key-1234")), {"reply": ""})
    assert live == {"reply": "I echo: Hi there"}
    assert (recording[0].connector, recording[0].model) == ("EchoLlmConnector", "echo")
    assert "echo-key-1234" not in tape_file.read_text(encoding="utf-8")
    with replay(tape_file):
        assert driver(one_node(EchoLlmConnector()), {"reply": ""}) == live
    with pytest.raises(ReplayMismatch) as caught, replay(tape_file):
        EchoLlmConnector().invoke(HI)
    assert str(caught.value) == (
        "call #1 made outside any node; the recording has none made outside any node "
        "(it has calls of node 'talk')"
    )
    with replay(tape_file):  # replayed word by word while the run streams "messages"
        events = list(one_node(EchoLlmConnector()).stream({"reply": ""}, modes="messages"))
    assert [e.text for e in events if isinstance(e, Token)] == ["I ", "echo: ", "Hi ", "there"]


def anthropic_service(request: Request) -> Reply:
    said = request.body["messages"][-1]["content"]
    text = said if isinstance(said, str) else said[0]["text"]
    return Reply(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": f"Claude heard: {text}"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 3},
        }
    )


def gemini_service(request: Request) -> Reply:
    text = request.body["contents"][-1]["parts"][0]["text"]
    candidate = {"content": {"role": "model", "parts": [{"text": f"Gemini heard: {text}"}]}}
    return Reply({"candidates": [{**candidate, "finishReason": "STOP"}]})


def test_the_anthropic_and_gemini_connectors_replay_without_a_key(
    tape_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = AnthropicConnector(
        "claude-haiku-4-5",
        api_key="sk-ant-secret-99",
        max_tokens=64,
        transport=InProcessTransport(anthropic_service),
    )
    gemini = GeminiConnector(
        "gemini-2.5-flash", api_key="AIza-secret-123", transport=InProcessTransport(gemini_service)
    )
    with record(tape_file):
        heard = (claude.invoke(HI)["content"], gemini.invoke(HI, temperature=0)["content"])
    assert heard == ("Claude heard: Hi there", "Gemini heard: Hi there")
    text = tape_file.read_text(encoding="utf-8")
    assert "sk-ant-secret-99" not in text
    assert "AIza-secret-123" not in text
    calls = json.loads(text)["calls"]
    assert [(c["connector"], c["model"], c["params"]) for c in calls] == [
        ("AnthropicConnector", "claude-haiku-4-5", {}),
        ("GeminiConnector", "gemini-2.5-flash", {"temperature": 0}),
    ]

    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    keyless = [
        AnthropicConnector("claude-haiku-4-5", max_tokens=64, base_url="http://127.0.0.1:9"),
        GeminiConnector("gemini-2.5-flash", base_url="http://127.0.0.1:9/v1beta"),
    ]
    assert not any(connector.has_api_key for connector in keyless)
    with replay(tape_file):
        again = (keyless[0].invoke(HI)["content"], keyless[1].invoke(HI, temperature=0)["content"])
    assert again == heard


class Shout:
    """A connector of one's own: no tape knows it unless it is wrapped in ``traced()``."""

    model = "shout-1"

    def __init__(self) -> None:
        self.api_key = "shout-secret-42"
        self.calls = 0

    def invoke(self, messages: list[OrkesMessageSchema], **params: Any) -> OrkesMessageSchema:
        self.calls += 1
        return {"role": "assistant", "content": messages[-1]["content"].upper()}

    async def ainvoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        return self.invoke(messages)

    def stream(self, messages: list[OrkesMessageSchema]) -> Iterator[str]:
        self.calls += 1
        yield from messages[-1]["content"].upper().split(" ")

    async def astream(self, messages: list[OrkesMessageSchema]) -> AsyncIterator[str]:
        for word in self.stream(messages):
            yield word


def test_a_traced_connector_of_your_own_records_and_replays(tape_file: Path) -> None:
    async def asked_async(llm: Any) -> tuple[str, str]:
        reply = await llm.ainvoke(HI)
        return reply["content"], "/".join([chunk async for chunk in llm.astream(HI)])

    def asked(llm: Any) -> tuple[str, str, str, str]:
        first = llm.invoke(HI, temperature=0)["content"]
        second = "/".join(llm.stream(HI))
        return (first, second, *asyncio.run(asked_async(llm)))

    shout = Shout()
    with record(tape_file) as recording:
        live = asked(traced(shout))
    assert live == ("HI THERE", "HI/THERE", "HI THERE", "HI/THERE")
    assert shout.calls == 4
    assert [(c.connector, c.model, c.params) for c in recording] == [
        ("Shout", "shout-1", {"temperature": 0}),
        ("Shout", "shout-1", {}),
        ("Shout", "shout-1", {}),
        ("Shout", "shout-1", {}),
    ]
    assert recording[1].reply == {"role": "assistant", "content": "HITHERE"}
    assert "shout-secret-42" not in tape_file.read_text(encoding="utf-8")

    quiet = Shout()
    with replay(tape_file):
        replayed = asked(traced(quiet))
    assert quiet.calls == 0
    assert replayed == ("HI THERE", "HITHERE", "HI THERE", "HITHERE")  # one piece each

    with record() as untraced:
        Shout().invoke(HI)
    assert len(untraced) == 0  # not wrapped: nothing records it


def test_a_connector_wrapping_a_shipped_one_is_recorded_once(
    service: FakeOpenAI, tape_file: Path
) -> None:
    class Polite:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
            reply: OrkesMessageSchema = self.inner.invoke(messages)
            return {"role": "assistant", "content": reply["content"] + " Thank you."}

    tracer = Tracer()
    runner = one_node(traced(Polite(service.connector())))
    runner.tracer = tracer
    with record(tape_file) as recording:
        live = runner.run({"reply": ""})
    assert live == {"reply": "You asked: Hi there Thank you."}
    assert [(call.connector, call.where) for call in recording] == [("Polite", "node 'talk'")]
    assert tracer.last is not None
    assert len(tracer.last.llm_calls) == 1
    with replay(tape_file):
        assert one_node(traced(Polite(offline()))).run({"reply": ""}) == live


class Essay(TypedDict, total=False):
    topics: list[str]
    paragraphs: Annotated[list[str], operator.add]


def essay(llm: Any, *, late: Sequence[str] = (), lines: int = 1) -> GraphRunner[Essay]:
    """``write`` runs once per topic (``Send``), its tasks in parallel threads.

    Each task asks for ``lines`` lines, one call each; the tasks of the topics in ``late``
    make their calls after the others, the first the latest.
    """
    started = threading.Barrier(3, timeout=5)

    def write(arg: Any) -> dict[str, list[str]]:  # called with a Send's arg
        started.wait()  # the three tasks are running at once
        topic = arg["topic"]
        if topic in late:
            time.sleep(0.05 * (len(late) - late.index(topic)))
        said = []
        for line in range(1, lines + 1):
            ask = f"Line {line} on {topic}."
            said.append(llm.invoke([{"role": "user", "content": ask}])["content"])
        return {"paragraphs": [" ".join(said)]}

    def fan_out(state: Essay) -> list[Send]:
        return [Send("write", {"topic": topic}) for topic in state["topics"]]

    graph = OrkesGraph(Essay).add_node("write", write)
    graph.add_conditional_edge(START, fan_out).add_edge("write", END)
    return GraphRunner(graph.compile())


def test_send_tasks_of_one_node_replay_in_any_order(
    driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    state = {"topics": ["owls", "bats", "moths"], "paragraphs": []}
    with record(tape_file) as recording:
        live = driver(essay(service.connector()), state)
    assert live["paragraphs"] == [
        "You asked: Line 1 on owls.",
        "You asked: Line 1 on bats.",
        "You asked: Line 1 on moths.",
    ]
    assert [(call.node, call.number) for call in recording] == [("write", n) for n in (1, 2, 3)]
    for _ in range(3):
        with replay(tape_file):
            assert driver(essay(offline()), state) == live


def test_send_tasks_are_recorded_in_the_same_order_whichever_calls_first(
    driver: Driver, service: FakeOpenAI, tmp_path: Path
) -> None:
    state = {"topics": ["owls", "bats", "moths"], "paragraphs": []}
    texts = []
    for late in (["owls", "bats"], ["moths", "bats"]):
        tape = tmp_path / f"after-{'-'.join(late)}.json"
        with record(tape) as recording:
            driver(essay(service.connector(), late=late, lines=2), state)
        texts.append(tape.read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    asked = [(call.number, call.messages[0]["content"]) for call in recording]
    assert asked == [
        (1, "Line 1 on bats."),
        (2, "Line 2 on bats."),
        (3, "Line 1 on moths."),
        (4, "Line 2 on moths."),
        (5, "Line 1 on owls."),
        (6, "Line 2 on owls."),
    ]
    with replay(tape):
        assert driver(essay(offline(), late=["owls"], lines=2), state)["paragraphs"] == [
            "You asked: Line 1 on owls. You asked: Line 2 on owls.",
            "You asked: Line 1 on bats. You asked: Line 2 on bats.",
            "You asked: Line 1 on moths. You asked: Line 2 on moths.",
        ]
