from __future__ import annotations

from collections.abc import Iterator

import pytest

from orkes.connectors.gemini import GeminiConnector
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from tests.connectors.gemini_wire import (
    HELLO,
    STREAM,
    TEXT_STREAM,
    TOOL_STREAM,
    call_part,
    chunk,
    connector,
    error_body,
    get_weather,
    response,
    text_part,
    usage,
)
from tests.connectors.loopback import LoopbackServer, RecordingSleep, json_response, sse_response

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py


@pytest.fixture
def gemini(loopback: LoopbackServer, recording_sleep: RecordingSleep) -> Iterator[GeminiConnector]:
    with connector(loopback, recording_sleep) as gemini_connector:
        yield gemini_connector


def test_stream_posts_to_stream_generate_content_and_yields_text(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM))
    with gemini.stream(HELLO, max_tokens=20) as stream:
        assert list(stream) == ["Hel", "lo", "!"]
    [request] = loopback.requests
    assert request.path == STREAM
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["x-goog-api-key"] == gemini._api_key
    assert request.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"maxOutputTokens": 20},
    }
    assert stream.message == {
        "role": "assistant",
        "content": "Hello!",
        "id": "resp-stream-1",
        "metadata": {
            "model": "gemini-2.5-flash",
            "finish_reason": "STOP",
            "usage": {"input_tokens": 9, "output_tokens": 6},
            "raw_usage": usage(prompt=9, candidates=2, thoughts=4),
        },
    }
    assert gemini._http.idle_connections == 1  # read to the end: the connection is reused


def test_stream_collects_function_calls_with_their_signatures(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TOOL_STREAM))
    with gemini.stream(HELLO, tools=[get_weather]) as stream:
        assert list(stream) == ["Let me check."]
        message = stream.message
    calls = message["tool_calls"]
    assert [(call["name"], call["arguments"]) for call in calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert calls[0]["id"] != calls[1]["id"]
    assert message["metadata"]["thought_signatures"] == {calls[0]["id"]: "sig-Oslo"}
    assert message["metadata"]["usage"] == {"input_tokens": 9, "output_tokens": 7}
    assert loopback.requests[0].json()["tools"][0]["functionDeclarations"][0]["name"] == (
        "get_weather"
    )


def test_the_same_answer_streamed_or_whole_gives_the_same_call_ids(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    parts = [call_part("get_weather", {"city": "Oslo"}), call_part("get_weather", {"city": "X"})]
    whole = response(*parts, response_id="resp-stream-1")
    loopback.enqueue(
        json_response(whole),
        sse_response([chunk(parts[0]), chunk(parts[1], finish_reason="STOP")]),
    )
    invoked = gemini.invoke(HELLO)
    with gemini.stream(HELLO) as stream:
        streamed = stream.final_message()
    assert invoked["tool_calls"] == streamed["tool_calls"]


def test_stream_keeps_thoughts_out_of_the_chunks(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    thought = {"text": "Let me think.", "thought": True}
    loopback.enqueue(sse_response([chunk(thought), chunk(text_part("42"), finish_reason="STOP")]))
    with gemini.stream(HELLO, thinking_config={"includeThoughts": True}) as stream:
        assert list(stream) == ["42"]
    assert stream.message["metadata"]["thoughts"] == "Let me think."
    assert loopback.requests[0].json()["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True}
    }


def test_stream_cut_in_the_middle_is_a_connection_failure(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM, cut_after=1))
    with gemini.stream(HELLO) as stream, pytest.raises(ConnectionFailed):
        list(stream)
    with pytest.raises(ConnectorError, match="the stream failed"):
        _ = stream.message


def test_stream_ending_before_a_finish_reason_is_incomplete(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM[:2]))
    with gemini.stream(HELLO) as stream, pytest.raises(ConnectionFailed, match="ended before"):
        list(stream)


def test_an_error_event_in_the_stream_is_the_matching_connector_error(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    overloaded = error_body(503, "The model is overloaded.", "UNAVAILABLE")
    loopback.enqueue(sse_response([chunk(text_part("a")), overloaded]))
    with gemini.stream(HELLO) as stream, pytest.raises(ServiceError) as caught:
        list(stream)
    assert caught.value.service_message == "The model is overloaded."
    assert "Gemini, in the middle of a stream, answered 503 UNAVAILABLE" in str(caught.value)
    quota = error_body(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
    loopback.enqueue(sse_response([quota]))
    with gemini.stream(HELLO) as stream, pytest.raises(RateLimited):
        list(stream)
    loopback.enqueue(sse_response([{"error": {"message": "odd"}}]))  # no code: no status
    with gemini.stream(HELLO) as stream, pytest.raises(ServiceError) as caught:
        list(stream)
    assert str(caught.value) == "Gemini reported an error in the middle of the stream: odd"
    assert caught.value.status is None


def test_a_blocked_prompt_in_the_stream_is_a_bad_request(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    blocked = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "responseId": "r"}
    loopback.enqueue(sse_response([blocked]))
    with gemini.stream(HELLO) as stream, pytest.raises(BadRequest) as caught:
        list(stream)
    assert caught.value.service_message == "PROHIBITED_CONTENT"


def test_a_reply_blocked_mid_stream_without_text_is_a_bad_request(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([chunk(), chunk(finish_reason="RECITATION")]))
    with gemini.stream(HELLO) as stream, pytest.raises(BadRequest, match="'RECITATION'"):
        list(stream)


@pytest.mark.parametrize("data", [b"data: {not json\n\n", b"data: [1, 2]\n\n"])
def test_a_stream_event_that_is_not_a_json_object(
    gemini: GeminiConnector, loopback: LoopbackServer, data: bytes
) -> None:
    loopback.enqueue(sse_response([data, chunk(text_part("a"), finish_reason="STOP")]))
    with gemini.stream(HELLO) as stream, pytest.raises(ResponseFormatError):
        list(stream)


def test_stream_early_close_closes_the_connection(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    words = [chunk(text_part(f"w{n} ")) for n in range(200)]
    loopback.enqueue(sse_response(words, chunk_delay=0.01))
    with gemini.stream(HELLO) as stream:
        assert next(stream) == "w0 "
    assert loopback.wait_for_hangup()
    assert gemini._http.idle_connections == 0
