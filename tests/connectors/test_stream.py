from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

from orkes.connectors._chat.stream import AsyncMessageStream, MessageStream, _StreamCore
from orkes.connectors.transport._event_stream import EventStream
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import ConnectionFailed, ConnectorError, ConnectorTimeout, ResponseFormatError
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    error_response,
    sse_response,
)
from tests.connectors.services import stdlib_only
from tests.connectors.toy import END_EVENT, ToyConnector, text_event

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]
CALL_PIECES = [
    b'event: call\ndata: {"key": 0, "id": "c1", "name": "add", "piece": "{\\"a\\""}\n\n',
    b'event: call\ndata: {"key": 1, "id": "c2", "name": "neg", "piece": ""}\n\n',
    b'event: call\ndata: {"key": 0, "piece": ": 1}"}\n\n',
    b'event: call\ndata: {"key": 1, "piece": "{\\"x\\": 2}"}\n\n',
]
MANY_WORDS = [text_event(f"w{n} ") for n in range(200)]


@pytest.fixture
def toy(loopback: LoopbackServer) -> Iterator[ToyConnector]:
    with ToyConnector("toy-1", base_url=loopback.base_url, timeout=2) as connector:
        yield connector


def test_chunks_then_the_final_message_with_tool_calls_and_usage(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("Sure"), *CALL_PIECES, text_event("."), END_EVENT]))
    stream = toy.stream(HELLO)
    assert isinstance(stream, MessageStream)
    assert iter(stream) is stream
    assert list(stream) == ["Sure", "."]
    assert stream.message == {
        "role": "assistant",
        "content": "Sure.",
        "tool_calls": [
            {"id": "c1", "name": "add", "arguments": {"a": 1}},
            {"id": "c2", "name": "neg", "arguments": {"x": 2}},
        ],
        "metadata": {
            "usage": {"input_tokens": 3, "output_tokens": 4},
            "raw_usage": {"tokens": [3, 4]},
        },
    }
    assert toy._http.idle_connections == 1  # read to the end: the connection is reused


def test_nothing_is_sent_until_the_first_chunk_is_asked_for(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), END_EVENT]))
    stream = toy.stream(HELLO)
    assert loopback.requests == []
    assert next(stream) == "a"
    assert len(loopback.requests) == 1
    stream.close()


def test_message_before_the_end_says_how_to_get_it(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), text_event("b"), END_EVENT]))
    with toy.stream(HELLO) as stream:
        assert next(stream) == "a"
        with pytest.raises(ConnectorError, match=r"has not ended yet: .* call final_message\(\)"):
            _ = stream.message
        assert stream.final_message()["content"] == "ab"
        assert stream.message["content"] == "ab"
        assert list(stream) == []


def test_closing_early_closes_the_connection(toy: ToyConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))
    with toy.stream(HELLO) as stream:
        assert next(stream) == "w0 "
    assert loopback.wait_for_hangup()
    assert toy._http.idle_connections == 0
    assert list(stream) == []
    stream.close()  # twice is harmless
    with pytest.raises(ConnectorError, match="closed before its end, so it has no final message"):
        _ = stream.message


def test_breaking_out_of_a_for_loop_inside_with_closes_the_connection(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))
    with toy.stream(HELLO) as stream:
        for chunk in stream:
            if chunk == "w2 ":
                break
    assert loopback.wait_for_hangup()


def test_a_stream_dropped_half_read_closes_its_connection(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))
    stream = toy.stream(HELLO)
    next(stream)
    del stream
    gc.collect()
    assert loopback.wait_for_hangup()


def test_a_cut_stream_raises_and_the_message_says_why(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), text_event("b"), END_EVENT], cut_after=2))
    stream = toy.stream(HELLO)
    with pytest.raises(ConnectionFailed, match="broke in the middle of a stream"):
        list(stream)
    with pytest.raises(ConnectorError, match="the stream failed, so it has no final message"):
        _ = stream.message
    assert list(stream) == []


def test_a_body_that_ends_before_the_end_event_is_a_cut_stream(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a")]))
    with pytest.raises(ConnectionFailed, match="ended before the reply was complete"):
        list(toy.stream(HELLO))


@pytest.mark.parametrize(
    "chunks", [None, (b"<html><head><title>Sign in</title>", b"</head></html>")]
)
def test_an_html_page_where_events_were_asked_for_says_so(
    toy: ToyConnector, loopback: LoopbackServer, chunks: tuple[bytes, ...] | None
) -> None:
    # A captive portal or a proxy's login page, with a 200: not a stream that was cut.
    page = b"<html><head><title>Sign in</title></head></html>\n"
    html = {"Content-Type": "text/html; charset=utf-8"}
    loopback.enqueue(CannedResponse(headers=html, body=page, chunks=chunks))
    with pytest.raises(ResponseFormatError) as caught:
        list(toy.stream(HELLO))
    assert str(caught.value).startswith(
        f"Toy at 127.0.0.1:{loopback.url().rsplit(':', 1)[1]} (POST /toy) answered with an "
        "HTML page where an event stream was asked for (check base_url, and whether a proxy "
        "or a login page stands in the way): <html>"
    )
    assert caught.value.status == 200


@stdlib_only("httpx reads ahead: a body that had all come leaves its connection reusable")
def test_a_malformed_event_raises_and_drops_the_connection(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([b"event: text\ndata: {oops\n\n", END_EVENT]))
    with pytest.raises(ResponseFormatError, match="not JSON"):
        list(toy.stream(HELLO))
    assert toy._http.idle_connections == 0


def test_an_error_status_is_raised_on_the_first_chunk(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(error_response(400, "no such model"))
    stream = toy.stream(HELLO)
    with pytest.raises(ConnectorError, match="no such model"):
        next(stream)


def test_a_stream_that_stalls_times_out(loopback: LoopbackServer) -> None:
    loopback.enqueue(sse_response([text_event("a"), END_EVENT], chunk_delay=2))
    with ToyConnector("toy-1", base_url=loopback.base_url, timeout=0.2) as toy:
        stream = toy.stream(HELLO)
        assert next(stream) == "a"
        with pytest.raises(ConnectorTimeout):
            next(stream)


# --- async ---------------------------------------------------------------------------


def test_astream_yields_chunks_and_the_final_message(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), *CALL_PIECES, text_event("b"), END_EVENT]))

    async def main() -> tuple[list[str], OrkesMessageSchema]:
        stream = toy.astream(HELLO)
        assert isinstance(stream, AsyncMessageStream)
        assert stream.__aiter__() is stream
        chunks = [chunk async for chunk in stream]
        return chunks, stream.message

    chunks, message = asyncio.run(main())
    assert chunks == ["a", "b"]
    assert message["content"] == "ab"
    assert [call["arguments"] for call in message.get("tool_calls", [])] == [{"a": 1}, {"x": 2}]


def test_async_final_message_reads_the_rest(toy: ToyConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(sse_response([text_event("a"), text_event("b"), END_EVENT]))

    async def main() -> OrkesMessageSchema:
        async with toy.astream(HELLO) as stream:
            assert await stream.__anext__() == "a"
            with pytest.raises(ConnectorError, match="has not ended yet"):
                _ = stream.message
            return await stream.final_message()

    assert asyncio.run(main())["content"] == "ab"


def test_leaving_async_with_early_closes_the_connection(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(MANY_WORDS, chunk_delay=0.01))

    async def main() -> None:
        async with toy.astream(HELLO) as stream:
            async for chunk in stream:
                if chunk == "w1 ":
                    break
        await stream.aclose()  # twice is harmless

    asyncio.run(main())
    assert loopback.wait_for_hangup()
    assert toy._http.idle_connections == 0


def test_the_event_loop_keeps_running_while_chunks_are_slow(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), text_event("b"), END_EVENT], chunk_delay=0.15))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> list[str]:
        ticking = asyncio.create_task(ticker())
        try:
            async with toy.astream(HELLO) as stream:
                return [chunk async for chunk in stream]
        finally:
            ticking.cancel()

    assert asyncio.run(main()) == ["a", "b"]
    assert ticks >= 15


def test_cancelling_a_task_waiting_for_a_chunk_closes_the_stream_at_once(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), text_event("b"), END_EVENT], chunk_delay=1.5))
    got: list[str] = []

    async def consume() -> None:
        async with toy.astream(HELLO) as stream:
            async for chunk in stream:
                got.append(chunk)

    async def main() -> float:
        task = asyncio.create_task(consume())
        while not got:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # now the worker thread waits for the slow chunk
        started = time.monotonic()
        task.cancel()
        # asyncio.wait, not pytest.raises: under a tracer (coverage) CPython 3.11 may let
        # a CancelledError escape a suppressing with-block in a coroutine.
        await asyncio.wait({task})
        assert task.cancelled()
        return time.monotonic() - started

    assert asyncio.run(main()) < 0.5
    assert got == ["a"]
    assert toy._http.idle_connections == 0


def test_closing_while_the_request_is_still_being_sent(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([text_event("a"), END_EVENT], delay=0.3))

    async def main() -> None:
        stream = toy.astream(HELLO)
        first_chunk = asyncio.create_task(stream.__anext__())
        await asyncio.sleep(0.05)  # the request is out, the answer not yet
        first_chunk.cancel()
        await stream.aclose()
        await asyncio.wait({first_chunk})
        assert first_chunk.cancelled()
        with pytest.raises(ConnectorError, match="closed before its end"):
            _ = stream.message

    asyncio.run(main())  # returns once the worker thread has seen the answer and closed it
    assert toy._http.idle_connections == 0


# --- one read at a time ----------------------------------------------------------------

WORDS = ["alpha ", "beta ", "gamma "]
WORD_EVENTS = [*map(text_event, WORDS), END_EVENT]


async def timed_out(awaitable: Awaitable[Any], seconds: float = 0.05) -> bool:
    """Whether ``asyncio.wait_for`` gave up on ``awaitable`` (it never returns early here)."""
    try:
        await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        return True
    return False


def test_an_await_that_times_out_leaves_its_read_to_the_next_one(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(WORD_EVENTS, chunk_delay=0.25))

    async def main() -> tuple[list[str], int, str]:
        chunks: list[str] = []
        timeouts = 0
        async with toy.astream(HELLO) as stream:
            while True:  # an idle-time watchdog around each chunk
                try:
                    chunks.append(await asyncio.wait_for(stream.__anext__(), 0.05))
                except asyncio.TimeoutError:
                    timeouts += 1
                except StopAsyncIteration:
                    break
            return chunks, timeouts, stream.message["content"]

    chunks, timeouts, content = asyncio.run(main())
    assert chunks == WORDS
    assert content == "alpha beta gamma "
    assert timeouts >= 3
    assert toy._http.idle_connections == 1  # read whole by one reader: the connection is kept


def test_a_chunk_that_came_after_its_await_timed_out_is_the_next_one(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(WORD_EVENTS, delay=0.2))

    async def main() -> list[str]:
        async with toy.astream(HELLO) as stream:
            assert await timed_out(stream.__anext__())
            await asyncio.sleep(0.3)  # the read ends meanwhile, in its worker thread
            return [chunk async for chunk in stream]

    assert asyncio.run(main()) == WORDS


def test_final_message_takes_over_a_read_whose_await_timed_out(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(WORD_EVENTS, delay=0.2))

    async def main() -> OrkesMessageSchema:
        async with toy.astream(HELLO) as stream:
            assert await timed_out(stream.__anext__())
            return await stream.final_message()

    assert asyncio.run(main())["content"] == "alpha beta gamma "


def test_a_final_message_that_times_out_reads_on_for_the_next_call(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(WORD_EVENTS, chunk_delay=0.1))

    async def main() -> tuple[OrkesMessageSchema, list[str]]:
        async with toy.astream(HELLO) as stream:
            assert await stream.__anext__() == "alpha "
            assert await timed_out(stream.final_message())
            message = await stream.final_message()
            return message, [chunk async for chunk in stream]

    message, rest = asyncio.run(main())
    assert message["content"] == "alpha beta gamma "
    assert rest == []  # final_message() skips the chunks, cancelled or not
    assert toy._http.idle_connections == 1


def test_two_tasks_may_not_wait_for_chunks_of_one_stream_at_once(
    toy: ToyConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(WORD_EVENTS, delay=0.2))

    async def main() -> tuple[str, str]:
        async with toy.astream(HELLO) as stream:
            first = asyncio.create_task(stream.__anext__())
            await asyncio.sleep(0.05)
            try:
                await stream.__anext__()
            except ConnectorError as error:
                refusal = str(error)
            return await first, refusal

    first, refusal = asyncio.run(main())
    assert first == "alpha "
    assert refusal == "another task is waiting for a chunk of this stream: read it from one task"


class SlowEvents:
    """Stands for an :class:`EventStream`; notes whether two threads ever read at once."""

    where = "Toy at test"

    def __init__(self, events: list[ServerSentEvent]) -> None:
        self._events = iter(events)
        self._lock = threading.Lock()
        self._readers = 0
        self.overlapped = False

    def __iter__(self) -> SlowEvents:
        return self

    def __next__(self) -> ServerSentEvent:
        with self._lock:
            self._readers += 1
            self.overlapped = self.overlapped or self._readers > 1
        try:
            time.sleep(0.01)
            return next(self._events)
        finally:
            with self._lock:
                self._readers -= 1

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_two_threads_reading_one_stream_read_one_after_the_other(toy: ToyConnector) -> None:
    texts = [f"w{n} " for n in range(20)]
    events = SlowEvents(
        [ServerSentEvent(json.dumps({"t": text}), "text") for text in texts]
        + [ServerSentEvent('{"tokens": [3, 4]}', "end")]
    )
    stream = MessageStream(
        _StreamCore(lambda given_up: cast(EventStream, events), toy._new_stream_decoder())
    )
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: list(stream), range(2))
    assert not events.overlapped
    assert sorted(first + second) == sorted(texts)  # each chunk once, to one of them
    assert stream.message["content"] == "".join(texts)
