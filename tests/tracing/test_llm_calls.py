"""The shipped connectors record their calls made inside traced nodes, on loopback servers.

OpenAI, Anthropic and Gemini each answer from a scripted server speaking their wire
format; each call becomes an ``LLMCall`` of its node's record — messages, reply, token
usage, model, endpoint, redacted headers, retries — whichever way it was made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.connectors._chat.connector import HttpChatConnector
from orkes.errors import BadRequest, NodeError
from orkes.shared.schema import OrkesMessageSchema
from orkes.tracing import REDACTED, LLMCall, Trace, Tracer
from tests.connectors import openai_wire
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    error_response,
    json_response,
)
from tests.connectors.services import SERVICES, LoopbackService
from tests.tracing.drivers import Driver

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]
KEY_HEADERS = {"OpenAI": "Authorization", "Anthropic": "x-api-key", "Gemini": "x-goog-api-key"}


class Chat(TypedDict, total=False):
    """What the node writes: the model's reply."""

    reply: str


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> LoopbackService:
    """Each shipped HTTP connector's service in turn."""
    chosen: LoopbackService = request.param
    return chosen


@pytest.fixture
def connector(
    service: LoopbackService, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> Iterator[HttpChatConnector]:
    """The service's connector on the loopback server, with a key."""
    with service.connect(loopback, recording_sleep) as made:
        yield made


def one_node(node: Any) -> GraphRunner[Chat]:
    graph = OrkesGraph(Chat).add_node("ask", node)
    return GraphRunner(graph.add_edge(START, "ask").add_edge("ask", END).compile())


def the_call(tracer: Tracer) -> LLMCall:
    trace = tracer.last
    assert trace is not None
    (task,) = trace.tasks
    (call,) = task.llm_calls
    return call


def test_a_call_in_a_node_is_recorded_with_its_usage(
    driver: Driver,
    tracer: Tracer,
    service: LoopbackService,
    connector: HttpChatConnector,
    loopback: LoopbackServer,
) -> None:
    loopback.enqueue(service.whole)

    def ask(state: Chat) -> dict[str, str]:
        return {"reply": connector.invoke(HELLO, temperature=0)["content"]}

    assert driver.run(one_node(ask), {}, tracer) == {"reply": "Hello!"}
    call = the_call(tracer)
    assert call.connector == type(connector).__name__
    assert call.model == connector.model
    assert call.messages == HELLO
    assert call.reply is not None
    assert call.reply["content"] == "Hello!"
    usage = call.usage
    assert usage is not None
    assert usage["input_tokens"] == 12
    assert usage["output_tokens"] > 0
    raw = call.reply["metadata"]["raw_usage"]
    assert REDACTED not in str(raw)  # token counts are kept, whatever the service calls them
    assert call.params == {"temperature": 0}
    assert call.retries == 0
    assert call.error is None
    assert call.endpoint == loopback.base_url + loopback.requests[0].path
    assert call.headers[KEY_HEADERS[service.name]] == REDACTED
    assert call.started <= call.ended


def test_ainvoke_in_an_async_node_is_recorded(
    tracer: Tracer, service: LoopbackService, connector: HttpChatConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(service.whole, service.whole)

    async def ask(state: Chat) -> dict[str, str]:
        replies = await asyncio.gather(connector.ainvoke(HELLO), connector.ainvoke(HELLO))
        return {"reply": " ".join(reply["content"] for reply in replies)}

    asyncio.run(one_node(ask).arun({}, tracer=tracer))
    trace = tracer.last
    assert trace is not None
    assert [call.reply["content"] for call in trace.llm_calls if call.reply] == ["Hello!", "Hello!"]


def test_a_run_streaming_messages_records_each_call_once(
    tracer: Tracer, service: LoopbackService, connector: HttpChatConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(service.streamed(service.text_stream))

    def ask(state: Chat) -> dict[str, str]:
        return {"reply": connector.invoke(HELLO)["content"]}

    with one_node(ask).stream({}, modes="messages", tracer=tracer) as stream:
        tokens = [token.text for token in stream]
    call = the_call(tracer)
    assert call.reply is not None
    assert call.reply["content"] == "".join(tokens)
    assert tokens
    assert call.reply["content"].startswith("Hello")
    assert call.usage is not None


def test_a_stream_made_in_a_node_is_recorded_when_it_ends(
    driver: Driver,
    tracer: Tracer,
    service: LoopbackService,
    connector: HttpChatConnector,
    loopback: LoopbackServer,
) -> None:
    loopback.enqueue(service.streamed(service.tool_stream))

    def ask(state: Chat) -> dict[str, str]:
        with connector.stream(HELLO, tools=[openai_wire.get_weather]) as stream:
            text = "".join(stream)
        return {"reply": text}

    driver.run(one_node(ask), {}, tracer)
    call = the_call(tracer)
    assert call.tools == ("get_weather",)
    assert [tool_call["name"] for tool_call in call.tool_calls] == ["get_weather", "get_weather"]


def test_an_async_stream_closed_early_is_recorded_as_cut_short(
    tracer: Tracer, service: LoopbackService, connector: HttpChatConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(service.streamed(service.text_stream))

    async def ask(state: Chat) -> dict[str, str]:
        async with connector.astream(HELLO) as stream:
            first = await stream.__anext__()
        return {"reply": first}

    asyncio.run(one_node(ask).arun({}, tracer=tracer))
    call = the_call(tracer)
    assert call.reply is None
    assert call.error is not None
    assert call.error.message == "the stream was closed before its end"


def test_retries_are_counted(
    driver: Driver, tracer: Tracer, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    openai = SERVICES[0].connect(loopback, recording_sleep)
    loopback.enqueue(
        error_response(429, "slow down", headers={"Retry-After": "0.01"}),
        error_response(503, "busy"),
        json_response(openai_wire.completion()),
    )

    def ask(state: Chat) -> dict[str, str]:
        return {"reply": openai.invoke(HELLO)["content"]}

    with openai:
        driver.run(one_node(ask), {}, tracer)
    call = the_call(tracer)
    assert call.retries == 2
    assert len(recording_sleep.delays) == 2
    assert call.reply is not None
    assert call.reply["content"] == "Hello!"


def test_a_refused_call_is_recorded_with_the_services_error(
    driver: Driver, tracer: Tracer, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    openai = SERVICES[0].connect(loopback, recording_sleep)
    loopback.enqueue(error_response(400, "max_tokens is too large"))

    def ask(state: Chat) -> dict[str, str]:
        return {"reply": openai.invoke(HELLO, max_tokens=10**9)["content"]}

    with openai, pytest.raises(NodeError, match="max_tokens is too large"):
        driver.run(one_node(ask), {}, tracer)
    call = the_call(tracer)
    assert call.reply is None
    assert call.error is not None
    assert call.error.type == f"{BadRequest.__module__}.BadRequest"
    assert "max_tokens is too large" in call.error.message
    assert call.params == {"max_tokens": 10**9}
    trace = tracer.last
    assert isinstance(trace, Trace)
    assert trace.status == "failed"


def test_a_message_the_connector_refuses_to_send_is_recorded_as_failed(
    tracer: Tracer, connector: HttpChatConnector
) -> None:
    def ask(state: Chat) -> dict[str, str]:
        bad: Any = [{"role": "wizard", "content": "Hi"}]
        try:
            connector.invoke(bad)
        except BadRequest:
            return {"reply": "refused"}
        return {"reply": "sent"}

    one_node(ask).run({}, tracer=tracer)
    call = the_call(tracer)
    assert call.error is not None
    assert "wizard" in call.error.message
    assert call.reply is None


def test_an_untraced_run_records_nothing_and_sends_the_same(
    service: LoopbackService, connector: HttpChatConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(service.whole, service.whole)

    def ask(state: Chat) -> dict[str, str]:
        return {"reply": connector.invoke(HELLO)["content"]}

    tracer = Tracer()
    assert one_node(ask).run({}) == one_node(ask).run({}, tracer=tracer)
    first, second = loopback.requests
    assert (first.path, first.json()) == (second.path, second.json())
    assert len(tracer.traces) == 1
