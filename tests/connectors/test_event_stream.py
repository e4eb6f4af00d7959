from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from orkes.connectors.transport._event_stream import EventStream
from orkes.connectors.transport.client import HttpClient, HttpRequest
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import (
    ConnectionFailed,
    ConnectorTimeout,
    ResponseFormatError,
)
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    error_response,
    json_response,
    sse_response,
)

SECRET = "sk-test-secret-42"
REQUEST = HttpRequest(
    "/chat",
    {"model": "m", "prompt": "héllo"},
    headers={"Authorization": f"Bearer {SECRET}"},
    secrets=(SECRET,),
)

MakeClient = Callable[..., HttpClient]


def _events(client: HttpClient) -> EventStream:
    """The stdlib transport's own event stream for ``REQUEST`` (its closing and draining)."""
    events = client.open_event_stream(REQUEST)
    assert isinstance(events, EventStream)
    return events


def test_event_stream_yields_events_and_pools_the_connection_at_the_end(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(
        sse_response([b": ping\n\n", {"n": 1}, b"event: named\ndata: two\n", b"\n"]),
        json_response({"after": True}),
    )
    client = make_client()
    with _events(client) as events:
        assert list(events) == [
            ServerSentEvent('{"n": 1}'),
            ServerSentEvent("two", event="named"),
        ]
    assert loopback.requests[0].headers["accept"] == "text/event-stream"
    assert client.idle_connections == 1
    assert client.request_json(REQUEST) == {"after": True}
    assert loopback.connections_opened == 1


def test_event_stream_finish_drains_the_end_and_pools_the_connection(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(sse_response([b"data: a\n\n", b"data: [DONE]\n\n", b": bye\n\n"]))
    client = make_client()
    events = _events(client)
    assert [next(events).data, next(events).data] == ["a", "[DONE]"]
    events.finish()
    events.finish()  # twice is harmless
    assert client.idle_connections == 1
    assert not events.closed


def test_event_stream_finish_gives_up_on_a_server_that_keeps_streaming(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(sse_response([b"data: [DONE]\n\n", b"data: more\n\n"], chunk_delay=1.0))
    client = make_client()
    events = _events(client)
    assert next(events).data == "[DONE]"
    started = time.monotonic()
    events.finish(grace=0.1)
    assert time.monotonic() - started < 0.8
    assert events.closed
    assert client.idle_connections == 0


def test_closing_an_event_stream_early_drops_the_connection(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(sse_response([{"n": n} for n in range(200)], chunk_delay=0.01))
    client = make_client()
    with _events(client) as events:
        assert json.loads(next(events).data) == {"n": 0}
    assert events.closed
    assert list(events) == []
    assert client.idle_connections == 0
    assert loopback.wait_for_hangup()


def test_a_stream_cut_mid_way_raises_connection_failed(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(sse_response([{"n": 1}, {"n": 2}, {"n": 3}], cut_after=2))
    events = _events(make_client())
    assert [next(events).data, next(events).data] == ['{"n": 1}', '{"n": 2}']
    with pytest.raises(ConnectionFailed, match="broke in the middle of a stream"):
        next(events)
    assert events.closed


def test_a_stream_that_stalls_times_out(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.enqueue(sse_response([{"n": 1}, {"n": 2}], chunk_delay=2.0))
    events = _events(make_client(timeout=0.2))
    assert next(events).data == '{"n": 1}'
    with pytest.raises(ConnectorTimeout, match=r"sent nothing for 0\.2 s"):
        next(events)


def test_closing_from_another_thread_wakes_a_waiting_read(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(sse_response([{"n": 1}, {"n": 2}], chunk_delay=1.5))
    events = _events(make_client(timeout=5))
    assert next(events).data == '{"n": 1}'
    threading.Timer(0.1, events.close).start()
    started = time.monotonic()
    with pytest.raises(ConnectionFailed, match="was closed"):
        next(events)
    assert time.monotonic() - started < 1.0


def test_an_event_stream_request_is_retried_like_any_other(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(
        error_response(503, "warming up", headers={"Retry-After": "1"}), sse_response([{"n": 1}])
    )
    with _events(make_client()) as events:
        assert [event.data for event in events] == ['{"n": 1}']
    assert recording_sleep.delays == [1.0]


def test_json_where_a_stream_was_asked_for_is_a_response_format_error(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({"error": {"message": "streaming unsupported"}}))
    with pytest.raises(ResponseFormatError, match="streaming unsupported") as caught:
        _events(make_client())
    assert caught.value.service_message == "streaming unsupported"
