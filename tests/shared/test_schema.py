"""Messages, tool calls and the structural connector Protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Literal, get_args

from typing_extensions import get_type_hints, is_typeddict

from orkes.connectors import EchoLlmConnector
from orkes.shared.schema import (
    AsyncLLMConnector,
    AsyncStreamingLLMConnector,
    LLMConnector,
    OrkesMessageSchema,
    Role,
    StreamingLLMConnector,
    ToolCall,
)


def test_a_message_is_a_plain_dict() -> None:
    message = OrkesMessageSchema(role="user", content="Hi")
    assert message == {"role": "user", "content": "Hi"}
    assert type(message) is dict
    assert repr(message) == "{'role': 'user', 'content': 'Hi'}"


def test_a_message_with_every_optional_key() -> None:
    call = ToolCall(id="call_1", name="add", arguments={"a": 1, "b": 2})
    assert type(call) is dict
    message = OrkesMessageSchema(
        role="assistant",
        content="",
        name="calculator",
        id="m1",
        tool_calls=[call],
        tool_call_id="call_0",
    )
    assert message == {
        "role": "assistant",
        "content": "",
        "name": "calculator",
        "id": "m1",
        "tool_calls": [{"id": "call_1", "name": "add", "arguments": {"a": 1, "b": 2}}],
        "tool_call_id": "call_0",
    }


def test_role_and_content_are_required_the_rest_optional() -> None:
    assert is_typeddict(OrkesMessageSchema)
    assert OrkesMessageSchema.__required_keys__ == frozenset({"role", "content"})
    assert frozenset({"name", "id", "tool_calls", "tool_call_id"}) <= (
        OrkesMessageSchema.__optional_keys__
    )


def test_the_annotations_resolve_at_runtime() -> None:
    hints = get_type_hints(OrkesMessageSchema)
    assert hints["role"] == Literal["system", "user", "assistant", "tool"]
    assert hints["content"] is str
    assert hints["tool_calls"] == list[ToolCall]
    assert get_args(Role) == ("system", "user", "assistant", "tool")


def test_a_tool_call_holds_id_name_and_arguments() -> None:
    assert is_typeddict(ToolCall)
    assert ToolCall.__required_keys__ == frozenset({"id", "name", "arguments"})
    assert get_type_hints(ToolCall)["arguments"].__origin__ is dict


class Shout:
    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        return OrkesMessageSchema(role="assistant", content=messages[-1]["content"].upper())


class Silent:
    def answer(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        return OrkesMessageSchema(role="assistant", content="")


class Streams:
    def stream(self, messages: list[OrkesMessageSchema]) -> Iterator[str]:
        yield "a"


class Awaits:
    async def ainvoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        return OrkesMessageSchema(role="assistant", content="")

    async def astream(self, messages: list[OrkesMessageSchema]) -> AsyncIterator[str]:
        yield "a"


def test_llm_connector_is_structural() -> None:
    assert isinstance(Shout(), LLMConnector)
    assert not isinstance(Silent(), LLMConnector)
    assert not isinstance(object(), LLMConnector)
    assert LLMConnector not in Shout.__mro__
    assert Shout().invoke([OrkesMessageSchema(role="user", content="hi")])["content"] == "HI"


def test_the_echo_connector_is_a_connector_without_inheriting() -> None:
    assert isinstance(EchoLlmConnector(), LLMConnector)
    assert EchoLlmConnector.__mro__ == (EchoLlmConnector, object)


def test_the_richer_protocols_are_structural_too() -> None:
    assert isinstance(Streams(), StreamingLLMConnector)
    assert not isinstance(Shout(), StreamingLLMConnector)
    assert isinstance(Awaits(), AsyncLLMConnector)
    assert isinstance(Awaits(), AsyncStreamingLLMConnector)
    assert not isinstance(Shout(), AsyncLLMConnector)
    assert not isinstance(EchoLlmConnector(), AsyncStreamingLLMConnector)


def test_static_conformance() -> None:
    # mypy checks these assignments: each class matches its Protocol without inheriting
    connector: LLMConnector = Shout()
    streaming: StreamingLLMConnector = Streams()
    awaiting: AsyncLLMConnector = Awaits()
    async_streaming: AsyncStreamingLLMConnector = Awaits()
    echo: LLMConnector = EchoLlmConnector(api_key="k")
    assert all((connector, streaming, awaiting, async_streaming, echo))
