from __future__ import annotations

import json

import pytest

from orkes.connectors._chat.reply import (
    ReplyAssembler,
    StreamDecoder,
    as_dict,
    event_json,
    event_object,
    fragment_key,
    parse_tool_arguments,
    stream_error,
)
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import (
    BadRequest,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from orkes.shared.schema import OrkesMessageSchema


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Oslo"}', {"city": "Oslo"}),
        ({"city": "Oslo"}, {"city": "Oslo"}),
        ("", {}),
        ("   ", {}),
        (None, {}),
        ("{}", {}),
    ],
)
def test_tool_arguments_are_read_as_a_json_object(arguments: object, expected: object) -> None:
    assert parse_tool_arguments("Svc", "weather", arguments) == expected


def test_malformed_tool_arguments_name_the_tool() -> None:
    with pytest.raises(ResponseFormatError) as caught:
        parse_tool_arguments("Svc", "weather", '{"city": "Os')
    assert str(caught.value).startswith(
        "Svc sent arguments for tool 'weather' that are not valid JSON ("
    )
    assert str(caught.value).endswith(': \'{"city": "Os\'')
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("reason", ["length", "max_tokens", "MAX_TOKENS"])
def test_arguments_cut_off_at_the_token_limit_say_to_raise_max_tokens(reason: str) -> None:
    reply = ReplyAssembler("Svc")
    reply.add_tool_call_fragment(0, call_id="c1", name="weather", arguments='{"city": "Os')
    reply.metadata["finish_reason"] = reason
    with pytest.raises(ResponseFormatError) as caught:
        reply.build()
    assert str(caught.value).startswith("Svc sent arguments for tool 'weather' that are not valid")
    assert str(caught.value).endswith(
        f"; the reply was cut off at the token limit (finish_reason {reason!r}): raise max_tokens"
    )


@pytest.mark.parametrize("arguments", ["[1, 2]", "3", [1], 7])
def test_tool_arguments_that_are_not_an_object_are_refused(arguments: object) -> None:
    with pytest.raises(ResponseFormatError, match=r"for tool 'weather' as .*, not a JSON object"):
        parse_tool_arguments("Svc", "weather", arguments)


def test_event_json() -> None:
    assert event_json("Svc", ServerSentEvent('{"a": 1}')) == {"a": 1}
    with pytest.raises(ResponseFormatError, match="Svc sent a stream event that is not JSON: 'x'"):
        event_json("Svc", ServerSentEvent("x"))


def test_event_object() -> None:
    assert event_object("Svc", ServerSentEvent('{"a": 1}')) == {"a": 1}
    with pytest.raises(ResponseFormatError) as caught:
        event_object("Svc", ServerSentEvent("[1, 2]"))
    assert str(caught.value) == "Svc sent a stream event that is not a JSON object: '[1, 2]'"
    with pytest.raises(ResponseFormatError, match="not JSON: 'x'"):
        event_object("Svc", ServerSentEvent("x"))


def test_as_dict_and_fragment_key() -> None:
    assert as_dict({"a": 1}) == {"a": 1}
    assert as_dict([1]) == {} == as_dict(None)
    assert (fragment_key(0), fragment_key("a"), fragment_key([1])) == (0, "a", "[1]")


def error_data(error: object) -> str:
    return json.dumps({"error": error})


def test_a_stream_error_with_an_http_code_has_the_class_of_that_status() -> None:
    error = {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}
    failure = stream_error("Gemini", error, error_data(error))
    assert isinstance(failure, RateLimited)
    assert (failure.status, failure.service_message) == (429, "Resource has been exhausted")
    assert str(failure) == (
        "Gemini, in the middle of a stream, answered 429 RESOURCE_EXHAUSTED: "
        "Resource has been exhausted"
    )
    error = {"object": "error", "message": "bad input", "type": "BadRequestError", "code": 400}
    assert isinstance(stream_error("vLLM", error, error_data(error)), BadRequest)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"message": "The server had an error", "type": "server_error"},
         "Svc reported an error in the middle of the stream: The server had an error "
         "(server_error)"),
        ({"message": "odd", "code": "weird_code"},
         "Svc reported an error in the middle of the stream: odd"),
        ({}, "Svc reported an error in the middle of the stream"),
        ("a string", "Svc reported an error in the middle of the stream: a string"),
    ],
)  # fmt: skip
def test_any_other_stream_error_is_a_service_error(error: object, expected: str) -> None:
    failure = stream_error("Svc", error, error_data(error))
    assert type(failure) is ServiceError
    assert str(failure) == expected
    assert failure.status is None


def test_a_plain_text_reply() -> None:
    reply = ReplyAssembler("Svc")
    reply.add_text("Hel")
    reply.add_text("lo")
    assert reply.text == "Hello"
    assert reply.build() == {"role": "assistant", "content": "Hello"}


def test_id_metadata_and_usage() -> None:
    reply = ReplyAssembler("Svc")
    reply.message_id = "msg_1"
    reply.metadata["model"] = "m-1"
    reply.set_usage(input_tokens=10, output_tokens=None, raw={"in": 10})
    assert reply.build() == {
        "role": "assistant",
        "content": "",
        "id": "msg_1",
        "metadata": {
            "model": "m-1",
            "usage": {"input_tokens": 10, "output_tokens": 0},
            "raw_usage": {"in": 10},
        },
    }


def test_fragments_of_interleaved_tool_calls_are_joined_in_order_of_first_piece() -> None:
    reply = ReplyAssembler("Svc")
    reply.add_tool_call_fragment(1, call_id="call_b", name="second", arguments='{"x"')
    reply.add_tool_call_fragment(0, call_id="call_a", name="first", arguments="")
    reply.add_tool_call_fragment(0, arguments='{"y": ')
    reply.add_tool_call_fragment(1, arguments=": 1}")
    reply.add_tool_call_fragment(0, name="first", arguments="2}")  # a repeated name is fine
    reply.add_tool_call(call_id=None, name="third", arguments={"z": 3})
    assert reply.tool_calls() == [
        {"id": "call_b", "name": "second", "arguments": {"x": 1}},
        {"id": "call_a", "name": "first", "arguments": {"y": 2}},
        {"id": "call_2", "name": "third", "arguments": {"z": 3}},
    ]


def test_a_tool_call_without_a_name_is_refused() -> None:
    reply = ReplyAssembler("Svc")
    reply.add_tool_call_fragment(0, call_id="call_1", arguments="{}")
    with pytest.raises(ResponseFormatError, match="Svc sent a tool call without a tool name"):
        reply.build()


class _Decoder(StreamDecoder):
    def feed(self, event: ServerSentEvent) -> list[str]:
        self.reply.add_text(event.data)
        self.done = event.event == "end"
        return [event.data]


def test_a_stream_decoder_is_complete_once_done_and_builds_the_message() -> None:
    decoder = _Decoder("Svc")
    assert decoder.feed(ServerSentEvent("a")) == ["a"]
    assert not decoder.is_complete()
    decoder.feed(ServerSentEvent("b", event="end"))
    assert decoder.is_complete()
    assert decoder.message() == OrkesMessageSchema(role="assistant", content="ab")
