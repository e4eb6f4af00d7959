"""Each connector against its real service: opt-in, skipped unless the service's key is set.

``ORKES_<SERVICE>_TEST_MODEL`` picks the model (a small, current one by default).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from orkes.connectors import AnthropicConnector, GeminiConnector, OpenAIConnector
from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.tools import tool
from orkes.shared.schema import OrkesMessageSchema


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: The city's name.
    """
    return f"Sunny in {city}"


@dataclass(frozen=True)
class Service:
    """How to reach one service for real, and how to make its model call a tool."""

    name: str
    key_variables: tuple[str, ...]
    connect: Callable[[], HttpChatConnector]
    force_a_tool: dict[str, Any]


SERVICES = [
    Service(
        "OpenAI",
        ("OPENAI_API_KEY",),
        lambda: OpenAIConnector(
            os.environ.get("ORKES_OPENAI_TEST_MODEL", "gpt-4o-mini"), temperature=0, max_tokens=200
        ),
        {"tool_choice": "required"},
    ),
    Service(
        "Anthropic",
        ("ANTHROPIC_API_KEY",),
        lambda: AnthropicConnector(
            os.environ.get("ORKES_ANTHROPIC_TEST_MODEL", "claude-haiku-4-5"),
            max_tokens=200,
            temperature=0,
        ),
        {"tool_choice": "required"},
    ),
    Service(
        "Gemini",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        lambda: GeminiConnector(
            os.environ.get("ORKES_GEMINI_TEST_MODEL", "gemini-2.5-flash"),
            temperature=0,
            max_tokens=512,
        ),
        {"tool_config": {"functionCallingConfig": {"mode": "ANY"}}},
    ),
]


@pytest.mark.parametrize(
    "service",
    [
        pytest.param(
            service,
            id=service.name,
            marks=pytest.mark.skipif(
                not any(os.environ.get(name) for name in service.key_variables),
                reason=f"set {' or '.join(service.key_variables)} to run against {service.name}",
            ),
        )
        for service in SERVICES
    ],
)
def test_invoke_stream_and_a_tool_round_trip(service: Service) -> None:
    with service.connect() as connector:
        reply = connector.invoke([{"role": "user", "content": "Say just the word: pong"}])
        assert "pong" in reply["content"].lower()
        assert reply["metadata"]["usage"]["input_tokens"] > 0
        with connector.stream([{"role": "user", "content": "Count: 1, 2, 3"}]) as stream:
            assert "".join(stream) == stream.message["content"]
        assert stream.message["metadata"]["usage"]["output_tokens"] > 0
        question: OrkesMessageSchema = {"role": "user", "content": "Weather in Oslo? Use the tool."}
        with connector.stream([question], tools=[get_weather], **service.force_a_tool) as stream:
            asked = stream.final_message()
        call = asked["tool_calls"][0]
        assert (call["name"], "city" in call["arguments"]) == ("get_weather", True)
        answer: OrkesMessageSchema = {
            "role": "tool",
            "content": get_weather(**call["arguments"]),
            "tool_call_id": call["id"],
            "name": "get_weather",
        }
        final = connector.invoke([question, asked, answer], tools=[get_weather])
        assert "sunny" in final["content"].lower()
