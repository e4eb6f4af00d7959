"""A plain invoke (or ainvoke) streams under the hood while a run streams ``"messages"``.

The scope the runner sets around a node is stood in for by ``listening()``; each test
runs against the loopback servers of OpenAI, Anthropic and Gemini, through ``invoke``
and through ``ainvoke``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.errors import ConnectionFailed
from orkes.events import Event
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors import openai_wire
from tests.connectors.listener import NODE, STEP, listening
from tests.connectors.loopback import LoopbackServer, sse_response
from tests.connectors.services import LoopbackService

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]

Ask = Callable[[HttpChatConnector, list[OrkesMessageSchema]], OrkesMessageSchema]


def by_invoke(
    connector: HttpChatConnector, messages: list[OrkesMessageSchema]
) -> OrkesMessageSchema:
    return connector.invoke(messages)


def by_ainvoke(
    connector: HttpChatConnector, messages: list[OrkesMessageSchema]
) -> OrkesMessageSchema:
    return asyncio.run(connector.ainvoke(messages))


@pytest.fixture(params=[by_invoke, by_ainvoke], ids=["invoke", "ainvoke"])
def ask(request: pytest.FixtureRequest) -> Ask:
    """Calls the connector one way or the other, and returns the reply."""
    call: Ask = request.param
    return call


def streamed_by_hand(
    connector: HttpChatConnector, loopback: LoopbackServer, events: Sequence[object]
) -> tuple[list[str], OrkesMessageSchema]:
    """The chunks and the message that ``stream()`` gives for ``events``."""
    loopback.enqueue(sse_response(events))
    with connector.stream(HELLO) as stream:
        chunks = list(stream)
    return chunks, stream.message


@pytest.mark.parametrize("reply_kind", ["text", "tool calls"])
def test_invoke_publishes_each_chunk_and_returns_what_a_stream_assembles(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    ask: Ask,
    reply_kind: str,
) -> None:
    events = service.text_stream if reply_kind == "text" else service.tool_stream
    chunks, streamed_message = streamed_by_hand(on_service, loopback, events)
    loopback.enqueue(sse_response(events))
    with listening() as listener:
        reply = ask(on_service, HELLO)
    assert reply == streamed_message  # content, tool calls, id, metadata and usage alike
    assert ("tool_calls" in reply) is (reply_kind == "tool calls")
    assert "usage" in reply["metadata"]
    tokens = listener.tokens
    assert [token.text for token in tokens] == chunks
    assert "".join(token.text for token in tokens) == reply["content"]
    assert len({token.message_id for token in tokens}) == (1 if chunks else 0)
    assert {(token.node, token.step, token.path) for token in tokens} <= {(NODE, STEP, ())}
    # Published from the caller's thread: ainvoke's from the event loop's, not a worker's.
    assert listener.threads <= {threading.get_ident()}
    assert service.streams(loopback.requests[-1])


def test_the_text_of_a_reply_comes_in_several_tokens(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, ask: Ask
) -> None:
    loopback.enqueue(sse_response(service.text_stream))
    with listening() as listener:
        reply = ask(on_service, HELLO)
    assert len(listener.tokens) >= 2
    assert "".join(token.text for token in listener.tokens) == reply["content"] != ""


def test_two_calls_publish_under_two_message_ids(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, ask: Ask
) -> None:
    loopback.enqueue(sse_response(service.text_stream), sse_response(service.text_stream))
    with listening() as listener:
        first = ask(on_service, HELLO)
        second = ask(on_service, HELLO)
    ids = [token.message_id for token in listener.tokens]
    count = len(ids) // 2
    assert first["content"] == second["content"] != ""
    assert ids == [ids[0]] * count + [ids[-1]] * count
    assert ids[0] != ids[-1]


@pytest.mark.parametrize("who_listens", ["nobody", "a run that wants no tokens from the node"])
def test_without_a_publisher_the_request_is_not_streamed(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    ask: Ask,
    who_listens: str,
) -> None:
    loopback.enqueue(service.whole)
    if who_listens == "nobody":
        reply = ask(on_service, HELLO)
        events: list[Event] = []
    else:
        with listening(tokens=False) as listener:
            reply = ask(on_service, HELLO)
        events = listener.events
    assert reply["content"] == "Hello!"
    assert events == []
    [request] = loopback.requests
    assert not service.streams(request)


def test_a_stream_cut_short_raises_from_invoke(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, ask: Ask
) -> None:
    loopback.enqueue(sse_response(service.text_stream, cut_after=2))
    with listening(), pytest.raises(ConnectionFailed):
        ask(on_service, HELLO)


MANY_WORDS = [
    openai_wire.chunk({"content": f"w{n} "}) for n in range(200)
] + openai_wire.TEXT_STREAM[-3:]


def test_a_publisher_that_raises_stops_the_call_and_closes_the_connection(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))

    def gone(event: Event) -> None:
        raise RuntimeError("the listener went away")

    with listening() as listener:
        listener.refuse = gone
        with pytest.raises(RuntimeError, match="the listener went away"):
            openai.invoke(HELLO)
    assert loopback.wait_for_hangup()


def test_cancelling_ainvoke_closes_the_streamed_request(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))

    async def give_up_soon() -> None:
        await asyncio.wait_for(openai.ainvoke(HELLO), 0.2)

    with listening() as listener, pytest.raises(asyncio.TimeoutError):
        asyncio.run(give_up_soon())
    assert loopback.wait_for_hangup()
    assert 0 < len(listener.tokens) < len(MANY_WORDS)
