from __future__ import annotations

from typing import Any

import pytest

from orkes.connectors.openai import OpenAIConnector
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ResponseFormatError,
    ServiceError,
)
from tests.connectors.loopback import (
    LoopbackServer,
    sse_response,
)
from tests.connectors.openai_wire import (
    DONE,
    HELLO,
    TEXT_STREAM,
    TOOL_STREAM,
    USAGE_CHUNK,
    chunk,
    get_weather,
)

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

# --- streams ------------------------------------------------------------------------------


def test_stream_sends_stream_options_and_yields_text(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM))
    with openai.stream(HELLO) as stream:
        assert list(stream) == ["Hel", "lo"]
    body = loopback.requests[0].json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert loopback.requests[0].headers["accept"] == "text/event-stream"
    assert stream.message == {
        "role": "assistant",
        "content": "Hello",
        "id": "chatcmpl-456",
        "metadata": {
            "model": "gpt-4o-mini-2024-07-18",
            "finish_reason": "stop",
            "usage": {"input_tokens": 9, "output_tokens": 2},
            "raw_usage": USAGE_CHUNK["usage"],
        },
    }


def test_stream_options_can_be_overridden_for_servers_that_refuse_them(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM))
    with openai.stream(HELLO, stream_options=None) as stream:
        list(stream)
    assert "stream_options" not in loopback.requests[0].json()


def test_stream_assembles_tool_call_arguments_split_across_chunks(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TOOL_STREAM))
    with openai.stream(HELLO, tools=[get_weather]) as stream:
        assert list(stream) == []
        message = stream.message
    assert message["tool_calls"] == [
        {"id": "call_A", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"id": "call_B", "name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    assert message["metadata"]["finish_reason"] == "tool_calls"
    assert message["metadata"]["usage"] == {"input_tokens": 9, "output_tokens": 2}


def test_stream_tool_arguments_sent_whole_as_an_object(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    whole = {
        "index": 0,
        "id": "c",
        "function": {"name": "get_weather", "arguments": {"city": "Oslo"}},
    }
    loopback.enqueue(sse_response([chunk({"tool_calls": [whole]}, "tool_calls"), DONE]))
    with openai.stream(HELLO) as stream:
        assert stream.final_message()["tool_calls"][0]["arguments"] == {"city": "Oslo"}


def whole_call(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    """A tool call fragment without ``index``, as Gemini's OpenAI-compatible endpoint sends."""
    function = {"name": name, "arguments": arguments} if name else {"arguments": arguments}
    fragment: dict[str, Any] = {"type": "function", "function": function}
    if call_id:
        fragment["id"] = call_id
    return fragment


def test_stream_tool_calls_without_an_index_are_told_apart_by_their_id(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([
        chunk({"tool_calls": [whole_call("call_1", "get_weather", '{"city": "Oslo"}')]}),
        chunk({"tool_calls": [whole_call("call_2", "get_time", '{"tz":')]}),
        chunk({"tool_calls": [whole_call(None, None, ' "CET"}')]}),  # no id: the last call
        chunk({"tool_calls": [whole_call("call_1", None, "")]}),  # a known id: that call
        chunk({}, finish_reason="tool_calls"),
        DONE,
    ]))  # fmt: skip
    with openai.stream(HELLO) as stream:
        assert stream.final_message()["tool_calls"] == [
            {"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}},
            {"id": "call_2", "name": "get_time", "arguments": {"tz": "CET"}},
        ]


def test_a_stream_the_content_filter_stopped_before_any_text_is_a_bad_request(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([
        chunk({"role": "assistant", "content": ""}),
        chunk({}, finish_reason="content_filter"),
        USAGE_CHUNK,
        DONE,
    ]))  # fmt: skip
    with openai.stream(HELLO) as stream, pytest.raises(BadRequest, match="'content_filter'"):
        list(stream)


def test_stream_refusal_is_kept_in_metadata(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([
        chunk({"role": "assistant", "content": None, "refusal": ""}),
        chunk({"refusal": "I can't "}),
        chunk({"refusal": "help with that."}),
        chunk({}, finish_reason="stop"),
        DONE,
    ]))  # fmt: skip
    with openai.stream(HELLO) as stream:
        assert list(stream) == []
    assert stream.message["content"] == ""
    assert stream.message["metadata"]["refusal"] == "I can't help with that."


def test_stream_with_malformed_tool_arguments_raises_naming_the_tool(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    broken = {"index": 0, "id": "c", "function": {"name": "get_weather", "arguments": '{"ci'}}
    loopback.enqueue(sse_response([chunk({"tool_calls": [broken]}, "tool_calls"), DONE]))
    with openai.stream(HELLO) as stream, pytest.raises(ResponseFormatError, match="'get_weather'"):
        list(stream)


def test_stream_ignores_other_choices_and_comments(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    second_choice = chunk({"content": "other"})
    second_choice["choices"][0]["index"] = 1
    loopback.enqueue(sse_response([b": OPENROUTER PROCESSING\n\n", second_choice,
                                   chunk({"content": "mine"}, "stop"), DONE]))  # fmt: skip
    with openai.stream(HELLO) as stream:
        assert list(stream) == ["mine"]


def test_stream_ending_after_the_finish_reason_without_done_is_complete(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response([chunk({"content": "a"}), chunk({}, finish_reason="length")]))
    with openai.stream(HELLO) as stream:
        assert list(stream) == ["a"]
    assert stream.message["metadata"]["finish_reason"] == "length"


def test_stream_cut_before_the_finish_is_a_connection_failure(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(sse_response(TEXT_STREAM, cut_after=2))
    with openai.stream(HELLO) as stream, pytest.raises(ConnectionFailed):
        list(stream)
    loopback.enqueue(sse_response(TEXT_STREAM[:2]))
    with openai.stream(HELLO) as stream, pytest.raises(ConnectionFailed, match="ended before"):
        list(stream)


def test_an_error_event_in_the_stream_is_a_service_error(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    error = {"error": {"message": "The server had an error", "type": "server_error"}}
    loopback.enqueue(sse_response([chunk({"content": "a"}), error]))
    with openai.stream(HELLO) as stream, pytest.raises(ServiceError) as caught:
        list(stream)
    assert caught.value.service_message == "The server had an error"


@pytest.mark.parametrize("data", [b"data: {not json\n\n", b"data: [1, 2]\n\n"])
def test_a_stream_event_that_is_not_a_json_object(
    openai: OpenAIConnector, loopback: LoopbackServer, data: bytes
) -> None:
    loopback.enqueue(sse_response([data, DONE]))
    with openai.stream(HELLO) as stream, pytest.raises(ResponseFormatError):
        list(stream)


def test_stream_early_close_closes_the_connection(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    words = [chunk({"content": f"w{n} "}) for n in range(200)]
    loopback.enqueue(sse_response(words, chunk_delay=0.01))
    with openai.stream(HELLO) as stream:
        assert next(stream) == "w0 "
    assert loopback.wait_for_hangup()
