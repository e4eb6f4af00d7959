"""Documented Messages API shapes, shared by the Anthropic connector's tests."""

from __future__ import annotations

from typing import Any

from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.tools import tool
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.loopback import CannedResponse, LoopbackServer, RecordingSleep, json_response
from tests.connectors.loopback import sse_event as _sse_event

ANTHROPIC_TEST_KEY = "sk-ant-api03-test-4c3b2a"
MODEL = "claude-haiku-4-5"
HELLO: list[OrkesMessageSchema] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi", "name": "ada"},
]


def connector_on(loopback: LoopbackServer, sleep: RecordingSleep) -> AnthropicConnector:
    """An ``AnthropicConnector`` on the loopback server, with a key and a recording sleep."""
    return AnthropicConnector(
        MODEL, api_key=ANTHROPIC_TEST_KEY, base_url=loopback.base_url, timeout=2, sleep=sleep
    )


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: The city's name.
    """
    return f"Sunny in {city}"


USAGE = {
    "input_tokens": 12,
    "output_tokens": 6,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def message(
    content: list[dict[str, Any]] | None = None, *, stop_reason: str = "end_turn"
) -> dict[str, Any]:
    """A Message object as documented."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "Hello!"}] if content is None else content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": USAGE,
    }


def anthropic_error(status: int, error_type: str, text: str, **headers: str) -> CannedResponse:
    """An error answer in the documented ``{"type": "error", "error": {...}}`` shape."""
    body = {
        "type": "error",
        "error": {"type": error_type, "message": text},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    return json_response(
        body, status=status, headers={"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy", **headers}
    )


def event(data: dict[str, Any]) -> bytes:
    """A named stream event, as the service sends them: ``event: <type>`` and its JSON."""
    return _sse_event(data, event=data["type"])


def message_start(input_tokens: int = 25) -> bytes:
    """``message_start``: the Message with empty content; usage holds the input tokens."""
    started: dict[str, Any] = {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-haiku-4-5-20251001",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    return event({"type": "message_start", "message": started})


def block_start(index: int, block: dict[str, Any]) -> bytes:
    """``content_block_start`` for the block at ``index``."""
    return event({"type": "content_block_start", "index": index, "content_block": block})


def text_delta(index: int, text: str) -> bytes:
    """``content_block_delta`` carrying a ``text_delta``."""
    delta = {"type": "text_delta", "text": text}
    return event({"type": "content_block_delta", "index": index, "delta": delta})


def json_delta(index: int, partial_json: str) -> bytes:
    """``content_block_delta`` carrying an ``input_json_delta`` (a piece of a tool's input)."""
    delta = {"type": "input_json_delta", "partial_json": partial_json}
    return event({"type": "content_block_delta", "index": index, "delta": delta})


def thinking_delta(index: int, thinking: str) -> bytes:
    """``content_block_delta`` carrying a ``thinking_delta`` (a piece of the thinking text)."""
    delta = {"type": "thinking_delta", "thinking": thinking}
    return event({"type": "content_block_delta", "index": index, "delta": delta})


def signature_delta(index: int, signature: str) -> bytes:
    """``content_block_delta`` carrying a ``signature_delta`` (a thinking block's signature)."""
    delta = {"type": "signature_delta", "signature": signature}
    return event({"type": "content_block_delta", "index": index, "delta": delta})


def block_stop(index: int) -> bytes:
    """``content_block_stop`` for the block at ``index``."""
    return event({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str = "end_turn", output_tokens: int = 15) -> bytes:
    """``message_delta``: the stop reason and the cumulative output usage."""
    delta = {"stop_reason": stop_reason, "stop_sequence": None}
    usage = {"output_tokens": output_tokens}
    return event({"type": "message_delta", "delta": delta, "usage": usage})


THOUGHT: dict[str, Any] = {
    "type": "thinking",
    "thinking": "The user wants the weather in Oslo.",
    "signature": "EqQBCkgIARABGAIiQL2mFkTmk4wqN2nXg0Ps",
}
"""A ``thinking`` block, as extended thinking (``thinking={"type": "enabled", …}``) sends it."""
REDACTED_THOUGHT: dict[str, Any] = {
    "type": "redacted_thinking",
    "data": "EmwKAhgBEgy3va3pzix0ZbLqN4UaDGMs",
}
"""A ``redacted_thinking`` block: thinking the service encrypted."""
WEATHER_CALL: dict[str, Any] = {
    "type": "tool_use",
    "id": "toolu_A",
    "name": "get_weather",
    "input": {"city": "Oslo"},
}

PING = event({"type": "ping"})
MESSAGE_STOP = event({"type": "message_stop"})
OVERLOADED = event(
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)
TEXT_STREAM = [
    message_start(),
    block_start(0, {"type": "text", "text": ""}),
    PING,
    text_delta(0, "Hel"),
    text_delta(0, "lo"),
    block_stop(0),
    message_delta(),
    MESSAGE_STOP,
]
TOOL_STREAM = [
    message_start(472),
    block_start(0, {"type": "text", "text": ""}),
    text_delta(0, "Let me check."),
    block_stop(0),
    block_start(1, {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}),
    json_delta(1, ""),
    json_delta(1, '{"ci'),
    json_delta(1, 'ty": "Os'),
    json_delta(1, 'lo"}'),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_B", "name": "get_weather", "input": {}}),
    json_delta(2, '{"city":'),
    json_delta(2, ' "Rome"}'),
    block_stop(2),
    message_delta("tool_use", 89),
    MESSAGE_STOP,
]
THINKING_TOOL_STREAM = [
    message_start(),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    thinking_delta(0, "The user wants "),
    thinking_delta(0, "the weather in Oslo."),
    signature_delta(0, THOUGHT["signature"]),
    block_stop(0),
    block_start(1, REDACTED_THOUGHT),
    block_stop(1),
    block_start(2, {"type": "text", "text": ""}),
    text_delta(2, "Let me check."),
    block_stop(2),
    block_start(3, {**WEATHER_CALL, "input": {}}),
    json_delta(3, '{"city": "Oslo"}'),
    block_stop(3),
    message_delta("tool_use", 89),
    MESSAGE_STOP,
]
"""A streamed reply with extended thinking: thinking, redacted thinking, text, a tool call."""
