from __future__ import annotations

from collections.abc import Iterator

import pytest

from orkes.connectors.anthropic import AnthropicConnector
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    ResponseFormatError,
    ServiceError,
)
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.anthropic_wire import (
    HELLO,
    MESSAGE_STOP,
    OVERLOADED,
    PING,
    REDACTED_THOUGHT,
    TEXT_STREAM,
    THINKING_TOOL_STREAM,
    THOUGHT,
    TOOL_STREAM,
    WEATHER_CALL,
    anthropic_error,
    block_start,
    block_stop,
    connector_on,
    event,
    get_weather,
    json_delta,
    message,
    message_delta,
    message_start,
    text_delta,
)
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    json_response,
    sse_event,
    sse_response,
)

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py


@pytest.fixture
def anthropic(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> Iterator[AnthropicConnector]:
    with connector_on(loopback, recording_sleep) as connector:
        yield connector


def test_stream_sends_stream_true_and_yields_text(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM))
    with anthropic.stream(HELLO) as stream:
        assert list(stream) == ["Hel", "lo"]
    [request] = loopback.requests
    assert request.path == "/v1/messages"
    assert request.headers["accept"] == "text/event-stream"
    body = request.json()
    assert (body["stream"], body["max_tokens"], body["system"]) == (True, 1024, "Be brief.")
    assert stream.message == {
        "role": "assistant",
        "content": "Hello",
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        "metadata": {
            "model": "claude-haiku-4-5-20251001",
            "finish_reason": "end_turn",
            "usage": {"input_tokens": 25, "output_tokens": 15},
            "raw_usage": {"input_tokens": 25, "output_tokens": 15},
        },
    }


def test_stream_assembles_tool_inputs_split_across_json_deltas(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TOOL_STREAM))
    with anthropic.stream(HELLO, tools=[get_weather]) as stream:
        assert list(stream) == ["Let me check."]
        message = stream.message
    assert message["content"] == "Let me check."
    assert message["tool_calls"] == [
        {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"id": "toolu_B", "name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    assert message["metadata"]["finish_reason"] == "tool_use"
    assert message["metadata"]["usage"] == {"input_tokens": 472, "output_tokens": 89}
    assert loopback.requests[0].json()["tools"][0]["name"] == "get_weather"


def test_stream_reads_events_named_only_by_their_type_and_skips_the_unknown(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    thinking = {"type": "thinking", "thinking": "", "signature": ""}
    thought = {"type": "thinking_delta", "thinking": "Hmm."}
    loopback.enqueue(sse_response([
        sse_event({"type": "message_start", "message": {"id": "msg_X", "usage": {}}}),
        PING,
        block_start(0, thinking),
        event({"type": "content_block_delta", "index": 0, "delta": thought}),
        block_stop(0),
        block_start(1, {"type": "text", "text": "Hi"}),
        text_delta(1, ""),
        text_delta(1, " there"),
        event({"type": "future_event", "index": 1}),
        message_delta(),
        MESSAGE_STOP,
    ]))  # fmt: skip
    with anthropic.stream(HELLO) as stream:
        assert list(stream) == ["Hi", " there"]
    assert stream.message["id"] == "msg_X"
    assert stream.message["content"] == "Hi there"
    assert stream.message["metadata"]["anthropic_thinking"] == [
        {"type": "thinking", "thinking": "Hmm.", "signature": ""}
    ]


def test_stream_assembles_thinking_blocks_from_their_deltas_and_yields_none_of_it(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(THINKING_TOOL_STREAM), json_response(message()))
    thinking = {"type": "enabled", "budget_tokens": 2000}
    with anthropic.stream(HELLO, tools=[get_weather], thinking=thinking) as stream:
        assert list(stream) == ["Let me check."]
    asked = stream.message
    assert asked["content"] == "Let me check."
    assert asked["tool_calls"] == [
        {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}}
    ]
    assert asked["metadata"]["anthropic_thinking"] == [THOUGHT, REDACTED_THOUGHT]
    answer: OrkesMessageSchema = {"role": "tool", "content": "Sunny", "tool_call_id": "toolu_A"}
    anthropic.invoke([*HELLO, asked, answer], tools=[get_weather], thinking=thinking)
    assert loopback.requests[1].json()["messages"][1] == {
        "role": "assistant",
        "content": [THOUGHT, REDACTED_THOUGHT, {"type": "text", "text": "Let me check."},
                    WEATHER_CALL],
    }  # fmt: skip


def test_stream_tool_input_sent_whole_at_the_block_start(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    whole = {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {"city": "Oslo"}}
    loopback.enqueue(sse_response([message_start(), block_start(0, whole), block_stop(0),
                                   message_delta("tool_use"), MESSAGE_STOP]))  # fmt: skip
    with anthropic.stream(HELLO) as stream:
        assert stream.final_message()["tool_calls"] == [
            {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}}
        ]


def test_stream_tool_without_input_has_empty_arguments(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    now = {"type": "tool_use", "id": "toolu_N", "name": "now", "input": {}}
    events = [message_start(), block_start(0, now), json_delta(0, ""), block_stop(0)]
    loopback.enqueue(sse_response([*events, message_delta("tool_use"), MESSAGE_STOP]))
    with anthropic.stream(HELLO) as stream:
        assert stream.final_message()["tool_calls"] == [
            {"id": "toolu_N", "name": "now", "arguments": {}}
        ]


def test_stream_with_malformed_tool_input_raises_naming_the_tool(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    start = {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}
    events = [message_start(), block_start(0, start), json_delta(0, '{"ci'), block_stop(0)]
    loopback.enqueue(sse_response([*events, message_delta("tool_use"), MESSAGE_STOP]))
    with (
        anthropic.stream(HELLO) as stream,
        pytest.raises(ResponseFormatError, match="arguments for tool 'get_weather'"),
    ):
        list(stream)


def test_a_stream_refused_before_any_text_is_a_bad_request(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([message_start(), message_delta("refusal", 0), MESSAGE_STOP]))
    with anthropic.stream(HELLO) as stream, pytest.raises(BadRequest) as caught:
        list(stream)
    assert str(caught.value).startswith(
        "Anthropic-compatible server refused the reply: stop_reason 'refusal'; nothing was "
        "generated; rephrase the request"
    )
    assert caught.value.service_message == "refusal"


def test_an_error_event_in_the_stream_is_a_service_error(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([message_start(), block_start(0, {"type": "text", "text": ""}),
                                   text_delta(0, "Hel"), OVERLOADED]))  # fmt: skip
    with anthropic.stream(HELLO) as stream:
        assert next(stream) == "Hel"
        with pytest.raises(ServiceError) as caught:
            next(stream)
    assert caught.value.service_message == "Overloaded"
    assert str(caught.value) == (
        "Anthropic-compatible server reported an error in the middle of the stream: "
        "Overloaded (overloaded_error)"
    )
    with pytest.raises(ConnectorError, match="the stream failed, so it has no final message"):
        _ = stream.message


def test_an_error_event_without_details_is_still_a_service_error(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([message_start(), event({"type": "error"})]))
    with anthropic.stream(HELLO) as stream, pytest.raises(ServiceError) as caught:
        list(stream)
    assert str(caught.value).endswith("in the middle of the stream")
    assert caught.value.service_message is None


def test_a_failed_status_before_the_stream_is_retried(
    anthropic: AnthropicConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(
        anthropic_error(529, "overloaded_error", "Overloaded"), sse_response(TEXT_STREAM)
    )
    with anthropic.stream(HELLO) as stream:
        assert "".join(stream) == "Hello"
    assert len(recording_sleep.delays) == 1
    assert len(loopback.requests) == 2


def test_stream_ending_after_the_message_delta_without_message_stop_is_complete(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM[:-1]))
    with anthropic.stream(HELLO) as stream:
        assert list(stream) == ["Hel", "lo"]
    assert stream.message["metadata"]["usage"] == {"input_tokens": 25, "output_tokens": 15}


def test_stream_cut_before_the_end_is_a_connection_failure(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM, cut_after=4))
    with anthropic.stream(HELLO) as stream, pytest.raises(ConnectionFailed):
        list(stream)
    loopback.enqueue(sse_response(TEXT_STREAM[:5]))
    with anthropic.stream(HELLO) as stream, pytest.raises(ConnectionFailed, match="ended before"):
        list(stream)


@pytest.mark.parametrize("data", [b"event: ping\ndata: {not json\n\n", b"data: [1, 2]\n\n"])
def test_a_stream_event_that_is_not_a_json_object(
    anthropic: AnthropicConnector, loopback: LoopbackServer, data: bytes
) -> None:
    loopback.enqueue(sse_response([message_start(), data, MESSAGE_STOP]))
    with anthropic.stream(HELLO) as stream, pytest.raises(ResponseFormatError, match="not"):
        list(stream)


def test_stream_early_close_closes_the_connection(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    words = [text_delta(0, f"w{n} ") for n in range(200)]
    start = [message_start(), block_start(0, {"type": "text", "text": ""})]
    loopback.enqueue(sse_response([*start, *words], chunk_delay=0.01))
    with anthropic.stream(HELLO) as stream:
        assert next(stream) == "w0 "
    assert loopback.wait_for_hangup()


def test_stream_without_usage_or_with_odd_pieces_still_builds_the_message(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    start = {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}
    odd_piece = {"type": "input_json_delta", "partial_json": None}
    loopback.enqueue(sse_response([
        event({"type": "message_start", "message": {"id": "msg_Y"}}),
        block_start(0, start),
        event({"type": "content_block_delta", "index": 0, "delta": odd_piece}),
        json_delta(0, '{"city": "Oslo"}'),
        event({"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
        MESSAGE_STOP,
    ]))  # fmt: skip
    with anthropic.stream(HELLO) as stream:
        message = stream.final_message()
    assert message == {
        "role": "assistant",
        "content": "",
        "id": "msg_Y",
        "tool_calls": [{"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}}],
        "metadata": {"finish_reason": "tool_use"},
    }
