"""Documented Chat Completions shapes, shared by the OpenAI connector's tests."""

from __future__ import annotations

from typing import Any

from orkes.connectors.tools import tool
from orkes.shared.schema import OrkesMessageSchema

OPENAI_TEST_KEY = "sk-proj-test-9f8e7d"
HELLO: list[OrkesMessageSchema] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi", "name": "ada"},
]


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: The city's name.
    """
    return f"Sunny in {city}"


def completion(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """A chat.completion object as documented."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """A chat.completion.chunk object as documented (with include_usage: usage is null)."""
    return {
        "id": "chatcmpl-456",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }


USAGE_CHUNK = {
    "id": "chatcmpl-456",
    "object": "chat.completion.chunk",
    "choices": [],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}
DONE = b"data: [DONE]\n\n"
TEXT_STREAM = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, finish_reason="stop"),
    USAGE_CHUNK,
    DONE,
]
TOOL_STREAM = [
    chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_A", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}},
    ]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
    chunk({"tool_calls": [
        {"index": 1, "id": "call_B", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city":'}},
    ]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "function": {"arguments": ' "Rome"}'}}]}),
    chunk({}, finish_reason="tool_calls"),
    USAGE_CHUNK,
    DONE,
]  # fmt: skip
REASONING_STREAM = [
    chunk({"role": "assistant", "content": "", "reasoning_content": "Let me think."}),
    chunk({"reasoning_content": " Six times seven."}),
    chunk({"content": "42"}),
    chunk({}, finish_reason="stop"),
    USAGE_CHUNK,
    DONE,
]
"""A reply with ``reasoning_content`` deltas first, as DeepSeek and vLLM stream them."""
