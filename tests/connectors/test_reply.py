from __future__ import annotations

import pytest

from orkes.connectors._reply import (
    ReplyAssembler,
    StreamDecoder,
    event_json,
    parse_tool_arguments,
)
from orkes.connectors._sse import ServerSentEvent
from orkes.errors import ResponseFormatError
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


@pytest.mark.parametrize("arguments", ["[1, 2]", "3", [1], 7])
def test_tool_arguments_that_are_not_an_object_are_refused(arguments: object) -> None:
    with pytest.raises(ResponseFormatError, match=r"for tool 'weather' as .*, not a JSON object"):
        parse_tool_arguments("Svc", "weather", arguments)


def test_event_json() -> None:
    assert event_json("Svc", ServerSentEvent('{"a": 1}')) == {"a": 1}
    with pytest.raises(ResponseFormatError, match="Svc sent a stream event that is not JSON: 'x'"):
        event_json("Svc", ServerSentEvent("x"))


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
