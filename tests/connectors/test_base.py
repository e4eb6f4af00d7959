from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from orkes.connectors.tools import ToolSpec
from orkes.errors import AuthenticationError, ToolDefinitionError
from orkes.shared.schema import (
    AsyncLLMConnector,
    AsyncStreamingLLMConnector,
    LLMConnector,
    OrkesMessageSchema,
    StreamingLLMConnector,
)
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    error_response,
    json_response,
    sse_response,
)
from tests.connectors.toy import END_EVENT, ToyConnector, text_event

SECRET = "toy-secret-123"
HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def toy(loopback: LoopbackServer, recording_sleep: RecordingSleep) -> Iterator[ToyConnector]:
    with ToyConnector(
        "toy-1", base_url=loopback.url("/api"), api_key=f"  {SECRET}\n", sleep=recording_sleep
    ) as connector:
        yield connector


def test_a_connector_satisfies_every_connector_protocol(toy: ToyConnector) -> None:
    assert isinstance(toy, LLMConnector)
    assert isinstance(toy, AsyncLLMConnector)
    assert isinstance(toy, StreamingLLMConnector)
    assert isinstance(toy, AsyncStreamingLLMConnector)


def test_repr_and_settings_never_show_the_key(toy: ToyConnector, loopback: LoopbackServer) -> None:
    assert repr(toy) == f"ToyConnector(model='toy-1', base_url='{loopback.url('/api')}')"
    assert SECRET not in repr(vars(toy))
    assert toy.has_api_key
    assert (toy.timeout, toy.max_retries) == (5.0, 2)


def test_invoke_sends_the_provider_request_and_parses_the_reply(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response({"text": "Hello!", "tokens": [5, 2]}))
    assert toy.invoke(HELLO) == {
        "role": "assistant",
        "content": "Hello!",
        "metadata": {"usage": {"input_tokens": 5, "output_tokens": 2}},
    }
    [request] = loopback.requests
    assert request.path == "/api/toy"
    assert request.headers["x-toy-key"] == SECRET  # stripped of stray whitespace
    assert request.json() == {
        "model": "toy-1",
        "input": [["user", "Hi"]],
        "tools": [],
        "stream": False,
    }


def test_default_params_merge_with_call_params_which_win(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(json_response({"text": ""}), json_response({"text": ""}))
    with ToyConnector("toy-1", base_url=loopback.base_url, temperature=0.5, top_k=3) as toy:
        toy.invoke(HELLO)
        toy.invoke(HELLO, temperature=0, seed=7)
    first, second = (request.json() for request in loopback.requests)
    assert (first["temperature"], first["top_k"]) == (0.5, 3)
    assert (second["temperature"], second["top_k"], second["seed"]) == (0, 3, 7)
    assert toy.default_params == {"temperature": 0.5, "top_k": 3}
    assert "x-toy-key" not in loopback.requests[0].headers
    assert not toy.has_api_key


def test_tools_may_be_functions_or_specs(toy: ToyConnector, loopback: LoopbackServer) -> None:
    def get_weather(city: str) -> str:
        """Today's weather."""
        return "sunny"

    spec = ToolSpec("add", "Add.", {"type": "object", "properties": {}})
    loopback.enqueue(
        json_response({"text": "", "calls": [{"id": "c1", "name": "add", "args": '{"a": 1}'}]})
    )
    reply = toy.invoke(HELLO, tools=[get_weather, spec])
    assert loopback.requests[0].json()["tools"] == ["get_weather", "add"]
    assert reply["tool_calls"] == [{"id": "c1", "name": "add", "arguments": {"a": 1}}]


def test_tool_problems_are_raised_before_anything_is_sent(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    def twin() -> None:
        """A tool."""

    with pytest.raises(ToolDefinitionError):
        toy.invoke(HELLO, tools=[twin, twin])
    with pytest.raises(ToolDefinitionError):
        toy.stream(HELLO, tools=[twin, twin])
    assert loopback.requests == []


def test_the_key_is_redacted_from_errors_the_service_echoes(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(error_response(401, f"bad key {SECRET}"))
    with pytest.raises(AuthenticationError) as caught:
        toy.invoke(HELLO)
    assert SECRET not in str(caught.value)
    assert caught.value.service_message == "bad key ***"


def test_retries_use_the_injected_sleep(
    toy: ToyConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(
        error_response(429, "later", headers={"Retry-After": "7"}), json_response({"text": "ok"})
    )
    assert toy.invoke(HELLO)["content"] == "ok"
    assert recording_sleep.delays == [7.0]


def test_stream_yields_text_and_then_holds_the_message(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("Hel"), text_event("lo"), END_EVENT]))
    with toy.stream(HELLO, temperature=0) as stream:
        assert list(stream) == ["Hel", "lo"]
    assert stream.message["content"] == "Hello"
    assert loopback.requests[0].json()["stream"] is True
    assert loopback.requests[0].json()["temperature"] == 0


def test_ainvoke_and_astream_run_the_same_wire_format(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(
        json_response({"text": "whole"}),
        sse_response([text_event("pie"), text_event("ce"), END_EVENT]),
    )

    async def main() -> tuple[OrkesMessageSchema, list[str], OrkesMessageSchema]:
        whole = await toy.ainvoke(HELLO)
        async with toy.astream(HELLO) as stream:
            chunks = [chunk async for chunk in stream]
        return whole, chunks, stream.message

    whole, chunks, streamed = asyncio.run(main())
    assert whole["content"] == "whole"
    assert chunks == ["pie", "ce"]
    assert streamed["content"] == "piece"


def test_ainvoke_does_not_block_the_event_loop(toy: ToyConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response({"text": "slow"}, delay=0.3))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> OrkesMessageSchema:
        ticking = asyncio.create_task(ticker())
        try:
            return await toy.ainvoke(HELLO)
        finally:
            ticking.cancel()

    started = time.monotonic()
    assert asyncio.run(main())["content"] == "slow"
    assert time.monotonic() - started >= 0.3
    assert ticks >= 10


def test_close_drops_idle_connections_and_the_connector_stays_usable(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response({"text": "1"}), json_response({"text": "2"}))
    toy.invoke(HELLO)
    toy.close()
    assert toy.invoke(HELLO)["content"] == "2"
    assert loopback.connections_opened == 2
