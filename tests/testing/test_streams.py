"""Replayed replies behave like live ones: streams, tokens, tool calls, traces."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.connectors.openai import OpenAIConnector
from orkes.errors import NodeError
from orkes.events import Token
from orkes.prebuilt import tool_agent
from orkes.shared.schema import OrkesMessageSchema
from orkes.testing import record, replay
from orkes.tracing import Tracer
from tests.testing.fakes import Driver, FakeOpenAI, offline

HI: list[OrkesMessageSchema] = [{"role": "user", "content": "Why is the sky blue?"}]
WORDS = ["You ", "asked: ", "Why ", "is ", "the ", "sky ", "blue?"]


class Chat(TypedDict):
    reply: str


def talking(llm: OpenAIConnector, how: str) -> GraphRunner[Chat]:
    """One node, ``talk``, that asks ``llm`` by ``how``: invoke, ainvoke, stream, astream."""

    def talk(state: Chat) -> dict[str, str]:
        if how == "stream":
            with llm.stream(HI) as stream:
                text = "".join(stream)
            assert stream.message["content"] == text
            return {"reply": text}
        return {"reply": llm.invoke(HI)["content"]}

    async def atalk(state: Chat) -> dict[str, str]:
        if how == "astream":
            async with llm.astream(HI) as stream:
                text = "".join([chunk async for chunk in stream])
            assert stream.message["content"] == text
            return {"reply": text}
        return {"reply": (await llm.ainvoke(HI))["content"]}

    node = atalk if how in ("ainvoke", "astream") else talk
    graph = OrkesGraph(Chat).add_node("talk", node)
    return GraphRunner(graph.add_edge(START, "talk").add_edge("talk", END).compile())


def tokens(runner: GraphRunner[Chat], *, asynchronous: bool) -> list[Token]:
    """The ``Token`` events of a run streamed in ``"messages"`` mode."""
    if not asynchronous:
        return [e for e in runner.stream({"reply": ""}, modes="messages") if isinstance(e, Token)]

    async def collect() -> list[Token]:
        stream = runner.astream({"reply": ""}, modes="messages")
        return [event async for event in stream if isinstance(event, Token)]

    return asyncio.run(collect())


HOWS = ["invoke", "ainvoke", "stream", "astream"]


@pytest.mark.parametrize("how", HOWS)
def test_each_way_of_calling_replays(
    how: str, driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    with record(tape_file) as recording:
        live = driver(talking(service.connector(), how), {"reply": ""})
    assert live == {"reply": "You asked: Why is the sky blue?"}
    assert (recording[0].where, recording[0].reply["content"]) == ("node 'talk'", live["reply"])
    with replay(tape_file):
        assert driver(talking(offline(), how), {"reply": ""}) == live


@pytest.mark.parametrize("how", HOWS)
def test_a_replayed_reply_still_streams_its_tokens(
    how: str, service: FakeOpenAI, tape_file: Path
) -> None:
    asynchronous = how in ("ainvoke", "astream")
    with record(tape_file):
        live = tokens(talking(service.connector(), how), asynchronous=asynchronous)
    assert "".join(token.text for token in live) == "You asked: Why is the sky blue?"
    with replay(tape_file):
        replayed = tokens(talking(offline(), how), asynchronous=asynchronous)
    assert [token.text for token in replayed] == WORDS
    assert {(token.node, token.step) for token in replayed} == {("talk", 1)}
    assert len({token.message_id for token in replayed}) == 1


def test_streams_outside_any_node_replay_word_by_word(service: FakeOpenAI, tape_file: Path) -> None:
    with record(tape_file):
        with service.connector().stream(HI) as stream:
            live = list(stream)
        message = stream.message

    async def astreamed() -> tuple[list[str], OrkesMessageSchema]:
        async with offline().astream(HI) as replayed:
            return [chunk async for chunk in replayed], replayed.message

    with replay(tape_file, complete=False):
        with offline().stream(HI) as replayed:
            assert list(replayed) == WORDS
        assert replayed.message == message
    with replay(tape_file):
        assert asyncio.run(astreamed()) == (WORDS, message)
    assert "".join(live) == "".join(WORDS)
    with replay(tape_file):
        assert offline().stream(HI).final_message() == message


def test_a_tool_agent_loop_replays_its_tool_calls(
    driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    ran: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        ran.append((a, b))
        return a + b

    start = {"messages": [{"role": "user", "content": "What is 2+2?"}]}
    service.tool_call = {"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 2}}
    with record(tape_file) as recording:
        live = driver(GraphRunner(tool_agent(service.connector(), [add])), start)
    assert [call.number for call in recording.of("model")] == [1, 2]
    assert recording[0].reply["tool_calls"] == [
        {"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 2}}
    ]
    assert recording[1].messages[-1]["content"] == "4"
    with replay(tape_file):
        replayed = driver(GraphRunner(tool_agent(offline(), [add])), start)
    assert replayed == live
    assert ran == [(2, 2), (2, 2)]  # the tool runs again: only the model is replayed


def test_a_tracer_records_replayed_calls(
    driver: Driver, service: FakeOpenAI, tape_file: Path
) -> None:
    with record(tape_file):
        driver(talking(service.connector(), "invoke"), {"reply": ""})
    tracer = Tracer()
    runner = talking(offline(), "invoke")
    runner.tracer = tracer
    with replay(tape_file):
        driver(runner, {"reply": ""})
    trace = tracer.last
    assert trace is not None
    (call,) = trace.llm_calls
    assert (call.connector, call.model, call.messages) == ("OpenAIConnector", "gpt-4o-mini", HI)
    assert call.reply is not None
    assert call.reply["content"] == "You asked: Why is the sky blue?"
    assert call.usage == {"input_tokens": 9, "output_tokens": 4}


def test_a_traced_stream_that_mismatches_is_recorded_as_failed(tape_file: Path) -> None:
    with record(tape_file) as recording:
        pass
    assert len(recording) == 0
    tracer = Tracer()
    runner = talking(offline(), "stream")
    runner.tracer = tracer
    with pytest.raises(NodeError) as caught, replay(tape_file):
        runner.run({"reply": ""})
    assert str(caught.value.__cause__) == (
        "node 'talk' made call #1; the recording has no calls for it"
    )
    trace = tracer.last
    assert trace is not None
    (call,) = trace.llm_calls
    assert call.reply is None
    assert call.error is not None
    assert call.error.type == "orkes.testing.ReplayMismatch"
