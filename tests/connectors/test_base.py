from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec
from orkes.errors import AuthenticationError, ConnectorError, ToolDefinitionError
from orkes.shared.schema import (
    AsyncLLMConnector,
    AsyncStreamingLLMConnector,
    LLMConnector,
    OrkesMessageSchema,
    StreamingLLMConnector,
)
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordingSleep,
    error_response,
    json_response,
    sse_response,
)
from tests.connectors.toy import END_EVENT, ToyConnector, text_event

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

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


def test_concurrent_ainvoke_calls_wait_side_by_side_not_in_waves(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    calls = 24
    for _ in range(calls):
        loopback.enqueue(json_response({"text": "ok"}, delay=0.5))

    async def main() -> float:
        # A small default executor, as on a machine with few CPUs: connectors don't use it.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))
        started = time.monotonic()
        replies = await asyncio.gather(*(toy.ainvoke(HELLO) for _ in range(calls)))
        assert [reply["content"] for reply in replies] == ["ok"] * calls
        return time.monotonic() - started

    assert asyncio.run(main()) < 1.5


# --- the key in errors built from 2xx answers -------------------------------------------

KEY = "sk-live-SECRET-0042"
PROVIDERS: dict[str, Callable[[LoopbackServer], HttpChatConnector]] = {
    "openai": lambda server: OpenAIConnector("m", api_key=KEY, base_url=server.url("/v1")),
    "anthropic": lambda server: AnthropicConnector("m", api_key=KEY, base_url=server.base_url),
    "gemini": lambda server: GeminiConnector("m", api_key=KEY, base_url=server.url("/v1beta")),
}
ERROR_EVENTS: dict[str, dict[str, Any]] = {
    "openai": {"error": {"message": f"bad key {KEY}", "type": "invalid_request_error"}},
    "anthropic": {"type": "error", "error": {"type": "authentication_error",
                                             "message": f"bad key {KEY}"}},
    "gemini": {"error": {"code": 400, "message": f"bad key {KEY}", "status": "INVALID_ARGUMENT"}},
}  # fmt: skip


def answer(provider: str, path: str) -> CannedResponse:
    if path == "whole answer":  # a 200 whose body is an error (proxies, compatible servers)
        return json_response({"error": {"message": f"Incorrect API key provided: {KEY}"}})
    if path == "error event":
        return sse_response([ERROR_EVENTS[provider]])
    return sse_response([f"oops {KEY}"])  # an event that is not JSON


@pytest.mark.parametrize("path", ["whole answer", "error event", "event not JSON"])
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_key_is_hidden_in_errors_built_from_what_came_back(
    loopback: LoopbackServer, provider: str, path: str
) -> None:
    loopback.enqueue(answer(provider, path))
    with PROVIDERS[provider](loopback) as connector:
        stream = connector.stream(HELLO)
        with pytest.raises(ConnectorError) as caught:
            connector.invoke(HELLO) if path == "whole answer" else list(stream)
    error = caught.value
    assert "***" in str(error)
    shown = "".join(traceback.format_exception(error))  # with its cause and context
    assert KEY not in shown
    assert KEY not in (error.service_message or "")
    if path != "whole answer":
        with pytest.raises(ConnectorError, match="the stream failed") as failed:
            _ = stream.message
        assert KEY not in "".join(traceback.format_exception(failed.value))


def test_the_key_is_hidden_from_ainvoke_and_astream_too(loopback: LoopbackServer) -> None:
    loopback.enqueue(answer("openai", "whole answer"), answer("openai", "error event"))

    async def main(connector: HttpChatConnector) -> list[str]:
        shown: list[str] = []
        try:
            await connector.ainvoke(HELLO)
        except ConnectorError as error:
            shown.append(str(error))
        try:
            async with connector.astream(HELLO) as stream:
                [chunk async for chunk in stream]
        except ConnectorError as error:
            shown.append(str(error))
        return shown

    with PROVIDERS["openai"](loopback) as connector:
        shown = asyncio.run(main(connector))
    assert len(shown) == 2
    assert all("***" in text and KEY not in text for text in shown)


# --- what a provider declares -----------------------------------------------------------


class OfficialToy(ToyConnector):
    service = "Toy"
    api_key_env = ("TOY_KEY", "TOY_OTHER_KEY")
    official_host = "api.toy.example"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"TOY_KEY": "first", "TOY_OTHER_KEY": "second"}, "first"),
        ({"TOY_KEY": "", "TOY_OTHER_KEY": "second"}, "second"),
        ({"TOY_OTHER_KEY": "second"}, "second"),
        ({}, None),
    ],
)
def test_a_missing_key_comes_from_the_first_variable_that_holds_one(
    loopback: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: str | None,
) -> None:
    for name in OfficialToy.api_key_env:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with OfficialToy("toy-1", base_url=loopback.base_url) as toy:
        assert toy._api_key == expected
    monkeypatch.setenv("TOY_KEY", "from-env")
    with OfficialToy("toy-1", base_url=loopback.base_url, api_key="") as toy:
        assert not toy.has_api_key  # a key given, even empty, wins over the environment


@pytest.mark.parametrize("connector", [OpenAIConnector, AnthropicConnector, GeminiConnector])
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"model": 3},
            "model must be the model's name, a non-empty str such as 'gpt-4o-mini', got 3",
        ),
        (
            {"model": ""},
            "model must be the model's name, a non-empty str such as 'gpt-4o-mini', got ''",
        ),
        (
            {"api_key": b"sk-secret"},
            "api_key must be a str (None: read from the environment), got bytes",
        ),
        ({"timeout": "30"}, "timeout must be > 0 and max_retries >= 0, got '30', 3"),
        ({"max_retries": 1.5}, "timeout must be > 0 and max_retries >= 0, got 60, 1.5"),
        ({"base_url": 8080}, "base_url must look like 'https://host/path', got 8080"),
        (
            {"transport": "httpx"},
            "transport= takes a Transport (StdlibTransport(), HttpxTransport(), "
            "InProcessTransport(handler)), got 'httpx'",
        ),
    ],
    ids=[
        "model-int",
        "model-empty",
        "key-bytes",
        "timeout-str",
        "retries-float",
        "url-int",
        "transport-str",
    ],
)
def test_a_setting_of_the_wrong_kind_is_refused_by_name(
    connector: Callable[..., HttpChatConnector], settings: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"model": "m", "api_key": "sk-secret", **settings}
    with pytest.raises(ConnectorError) as caught:
        connector(arguments.pop("model"), **arguments)
    assert str(caught.value) == message
    assert "sk-secret" not in str(caught.value)


def test_another_host_than_the_official_one_is_a_compatible_server() -> None:
    with OfficialToy("toy-1", base_url="https://api.toy.example/v2") as official:
        assert official.service == "Toy"
    with OfficialToy("toy-1", base_url="http://localhost:8000") as local:
        assert local.service == "Toy-compatible server"
    with ToyConnector("toy-1", base_url="http://localhost:8000") as undeclared:
        assert undeclared.service == "Toy"


def test_cancelling_ainvoke_stops_its_retries_even_mid_wait(loopback: LoopbackServer) -> None:
    loopback.enqueue(
        error_response(429, "slow down", headers={"Retry-After": "1"}),
        json_response({"text": "too late"}),
    )

    async def impatient() -> None:
        with ToyConnector("toy-1", base_url=loopback.url("/api")) as toy:  # real sleeps
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(toy.ainvoke(HELLO), 0.2)
            await asyncio.sleep(1.5)  # past the Retry-After: a retry would have gone out

    asyncio.run(impatient())
    assert len(loopback.requests) == 1


def test_closing_a_stream_stops_the_retries_of_its_request(loopback: LoopbackServer) -> None:
    loopback.enqueue(
        error_response(503, "busy", headers={"Retry-After": "1"}),
        sse_response([text_event("late"), END_EVENT]),
    )

    async def impatient() -> None:
        with ToyConnector("toy-1", base_url=loopback.url("/api")) as toy:
            stream = toy.astream(HELLO)
            first = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.2)  # the request got its 503 and waits to try again
            await stream.aclose()
            with pytest.raises((StopAsyncIteration, ConnectorError)):
                await asyncio.wait_for(first, 2)
            await asyncio.sleep(1.2)

    started = time.monotonic()
    asyncio.run(impatient())
    assert len(loopback.requests) == 1
    assert time.monotonic() - started < 2.5
