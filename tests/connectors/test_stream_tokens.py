"""``stream()`` and ``astream()`` made inside a node publish each chunk as a ``Token``.

One suite, two faces: the ``face`` fixture reads a reply through ``stream`` (in a sync
node, under ``runner.stream``) or through ``astream`` (in an async node, under
``runner.astream``); each test runs both ways against the loopback servers of OpenAI,
Anthropic and Gemini. Some tests run a real graph; the others stand in for the runner's
scope with ``listening()``.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.events import Event, StreamMode, Token
from orkes.graph.core import NodeFn
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors import openai_wire
from tests.connectors.listener import NODE, STEP, listening
from tests.connectors.loopback import LoopbackServer, sse_response
from tests.connectors.services import LoopbackService

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]


class Replies(TypedDict, total=False):
    """What the nodes of the test graphs write: the text each one streamed."""

    left: str
    right: str


Read = tuple[list[str], OrkesMessageSchema]


# --- one suite, two faces ------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    """One way to stream from a connector, from a test and from a graph node.

    Attributes:
        read: iterates a stream of ``connector`` (``take`` chunks, or all when ``None``),
            then calls ``final_message()``: the chunks yielded, and the message.
        node: a node that streams the reply and writes its text under ``key``.
        run: streams a run of ``runner`` to its end: its events and its final state.
    """

    read: Callable[[HttpChatConnector, int | None], Read]
    node: Callable[[HttpChatConnector, str], NodeFn[Replies]]
    run: Callable[[GraphRunner[Replies], StreamMode], tuple[list[Event], dict[str, Any]]]


def read_sync(connector: HttpChatConnector, take: int | None) -> Read:
    with connector.stream(HELLO) as stream:
        chunks = list(itertools.islice(stream, take))
        return chunks, stream.final_message()


def read_async(connector: HttpChatConnector, take: int | None) -> Read:
    async def main() -> Read:
        async with connector.astream(HELLO) as stream:
            chunks: list[str] = []
            async for chunk in stream:
                chunks.append(chunk)
                if len(chunks) == take:
                    break
            return chunks, await stream.final_message()

    return asyncio.run(main())


def sync_node(connector: HttpChatConnector, key: str) -> NodeFn[Replies]:
    def node(state: Replies) -> dict[str, str]:
        with connector.stream(HELLO) as stream:
            return {key: "".join(stream)}

    return node


def async_node(connector: HttpChatConnector, key: str) -> NodeFn[Replies]:
    async def node(state: Replies) -> dict[str, str]:
        async with connector.astream(HELLO) as stream:
            return {key: "".join([chunk async for chunk in stream])}

    return node


def run_sync(runner: GraphRunner[Replies], mode: StreamMode) -> tuple[list[Event], dict[str, Any]]:
    with runner.stream({}, modes=mode) as stream:
        events = list(stream)
        return events, dict(stream.result)


def run_async(runner: GraphRunner[Replies], mode: StreamMode) -> tuple[list[Event], dict[str, Any]]:
    async def main() -> tuple[list[Event], dict[str, Any]]:
        async with await runner.astream({}, modes=mode) as stream:
            events = [event async for event in stream]
            return events, dict(await stream.aresult())

    return asyncio.run(main())


FACES = {
    "stream": Face(read_sync, sync_node, run_sync),
    "astream": Face(read_async, async_node, run_async),
}


@pytest.fixture(params=list(FACES))
def face(request: pytest.FixtureRequest) -> Face:
    """Each test runs once through ``stream`` and once through ``astream``."""
    name: str = request.param
    return FACES[name]


def two_nodes(face: Face, connector: HttpChatConnector, *, stream_right: bool = True) -> Any:
    """START -> left, right -> END: both stream a reply from ``connector`` at once."""
    graph = OrkesGraph(Replies).add_node("left", face.node(connector, "left"))
    graph.add_node("right", face.node(connector, "right"), stream_tokens=stream_right)
    graph.add_edge(START, "left").add_edge(START, "right")
    graph.add_edge("left", END).add_edge("right", END)
    return GraphRunner(graph.compile())


def tokens_of(events: Sequence[Event]) -> list[Token]:
    tokens = [event for event in events if isinstance(event, Token)]
    assert tokens == list(events), events
    return tokens


# --- inside a graph run --------------------------------------------------------------------


def test_a_node_that_streams_from_the_model_publishes_tokens_of_that_node(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, face: Face
) -> None:
    loopback.enqueue(sse_response(service.text_stream))
    graph = OrkesGraph(Replies).add_node("left", face.node(on_service, "left"))
    runner = GraphRunner(graph.add_edge(START, "left").add_edge("left", END).compile())
    events, result = face.run(runner, "messages")
    tokens = tokens_of(events)
    assert len(tokens) >= 2
    assert "".join(token.text for token in tokens) == result["left"] != ""
    assert {(token.node, token.step, token.path) for token in tokens} == {("left", 1, ())}
    assert len({token.message_id for token in tokens}) == 1


def test_two_parallel_nodes_that_stream_are_both_seen(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, face: Face
) -> None:
    loopback.enqueue(sse_response(service.text_stream), sse_response(service.text_stream))
    events, result = face.run(two_nodes(face, on_service), "messages")
    tokens = tokens_of(events)
    for node in ("left", "right"):
        text = "".join(token.text for token in tokens if token.node == node)
        assert text == result[node] != ""
    ids = {token.node: token.message_id for token in tokens}
    assert ids.keys() == {"left", "right"}
    assert ids["left"] != ids["right"]


@pytest.mark.parametrize(
    ("mode", "stream_right"),
    [("messages", False), ("updates", True)],
    ids=["stream_tokens=False", "no messages mode"],
)
def test_a_node_whose_tokens_nobody_wants_publishes_none(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    face: Face,
    mode: StreamMode,
    stream_right: bool,
) -> None:
    loopback.enqueue(sse_response(service.text_stream), sse_response(service.text_stream))
    events, result = face.run(two_nodes(face, on_service, stream_right=stream_right), mode)
    token_nodes = {event.node for event in events if isinstance(event, Token)}
    assert token_nodes == ({"left"} if mode == "messages" else set())
    assert result["left"] == result["right"] != ""


# --- the stream itself ---------------------------------------------------------------------


@pytest.mark.parametrize("reply_kind", ["text", "tool calls", "thinking"])
def test_each_chunk_read_is_published_once_as_invoke_publishes_it(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    face: Face,
    reply_kind: str,
) -> None:
    events = {
        "text": service.text_stream,
        "tool calls": service.tool_stream,
        "thinking": service.thinking_stream,
    }[reply_kind]
    loopback.enqueue(sse_response(events), sse_response(events))
    with listening() as by_stream:
        chunks, message = face.read(on_service, None)
    with listening() as by_invoke:
        reply = on_service.invoke(HELLO)
    assert message == reply
    # Text only: thinking and tool-call argument deltas are no tokens, for either call.
    assert [token.text for token in by_stream.tokens] == chunks
    assert [token.text for token in by_invoke.tokens] == chunks
    assert "".join(chunks) == (message["content"] or "")
    assert len({token.message_id for token in by_stream.tokens}) == (1 if chunks else 0)
    assert {(token.node, token.step) for token in by_stream.tokens} <= {(NODE, STEP)}
    # Published from the reader's thread: astream's from the event loop's, not a worker's.
    assert by_stream.threads <= {threading.get_ident()}


def test_final_message_publishes_the_chunks_it_reads(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, face: Face
) -> None:
    loopback.enqueue(sse_response(service.text_stream), sse_response(service.text_stream))
    all_chunks, _ = face.read(on_service, None)
    with listening() as listener:
        first_chunks, message = face.read(on_service, 1)
    assert first_chunks == all_chunks[:1]
    assert [token.text for token in listener.tokens] == all_chunks
    assert "".join(all_chunks) == message["content"]
    assert len({token.message_id for token in listener.tokens}) == 1


def test_two_streams_publish_under_two_message_ids(
    service: LoopbackService, on_service: HttpChatConnector, loopback: LoopbackServer, face: Face
) -> None:
    loopback.enqueue(sse_response(service.text_stream), sse_response(service.text_stream))
    with listening() as listener:
        first, _ = face.read(on_service, None)
        second, _ = face.read(on_service, None)
    ids = [token.message_id for token in listener.tokens]
    assert first == second
    assert ids == [ids[0]] * len(first) + [ids[-1]] * len(second)
    assert ids[0] != ids[-1]


@pytest.mark.parametrize("who_listens", ["nobody", "a run that wants no tokens from the node"])
def test_a_stream_nobody_listens_to_works_as_before(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    face: Face,
    who_listens: str,
) -> None:
    loopback.enqueue(sse_response(service.tool_stream), sse_response(service.tool_stream))
    with listening():
        published_chunks, published_message = face.read(on_service, None)
    if who_listens == "nobody":
        chunks, message = face.read(on_service, None)
    else:
        with listening(tokens=False) as listener:
            chunks, message = face.read(on_service, None)
        assert listener.events == []
    assert (chunks, message) == (published_chunks, published_message)
    assert "usage" in message["metadata"]
    assert message.get("tool_calls")
    assert service.streams(loopback.requests[-1])


MANY_WORDS = [
    openai_wire.chunk({"content": f"w{n} "}) for n in range(200)
] + openai_wire.TEXT_STREAM[-3:]


def test_a_publisher_that_raises_stops_the_stream_and_closes_the_connection(
    openai: OpenAIConnector, loopback: LoopbackServer, face: Face
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))

    def gone(event: Event) -> None:
        raise RuntimeError("the listener went away")

    with listening() as listener:
        listener.refuse = gone
        with pytest.raises(RuntimeError, match="the listener went away"):
            face.read(openai, None)
    assert loopback.wait_for_hangup()
