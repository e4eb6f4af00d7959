"""The three shipped HTTP connectors side by side, on the loopback server.

For tests of what the base gives every provider alike: each :class:`LoopbackService`
makes its connector, holds a whole answer and streams in its wire format, and tells a
streamed request from a whole one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.openai import OpenAIConnector
from tests.connectors import anthropic_wire, gemini_wire, openai_wire
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordedRequest,
    RecordingSleep,
    json_response,
    sse_response,
)


@dataclass(frozen=True)
class LoopbackService:
    """One service's connector and canned answers.

    Attributes:
        name: the service, as test ids show it.
        connect: makes the connector on the loopback server (with a key and the sleep).
        whole: a whole (not streamed) answer whose text is ``"Hello!"``.
        text_stream: the events of a streamed text reply.
        tool_stream: the events of a streamed reply with text and two tool calls.
        thinking_stream: the events of a streamed reply that thinks (or reasons) before
            its text, in the service's way; Anthropic's also calls a tool.
        streams: whether a recorded request asked for a streamed reply.
    """

    name: str
    connect: Callable[[LoopbackServer, RecordingSleep], HttpChatConnector]
    whole: CannedResponse
    text_stream: Sequence[object]
    tool_stream: Sequence[object]
    thinking_stream: Sequence[object]
    streams: Callable[[RecordedRequest], bool]

    def streamed(self, events: Sequence[object]) -> CannedResponse:
        """``events`` as an event stream answer."""
        return sse_response(events)


def _openai(loopback: LoopbackServer, sleep: RecordingSleep) -> HttpChatConnector:
    return OpenAIConnector(
        "gpt-4o-mini",
        api_key=openai_wire.OPENAI_TEST_KEY,
        base_url=loopback.url("/v1"),
        timeout=2,
        sleep=sleep,
    )


def _asks_to_stream(request: RecordedRequest) -> bool:
    return request.json().get("stream") is True


SERVICES = [
    LoopbackService(
        "OpenAI",
        _openai,
        json_response(openai_wire.completion()),
        openai_wire.TEXT_STREAM,
        openai_wire.TOOL_STREAM,
        openai_wire.REASONING_STREAM,
        _asks_to_stream,
    ),
    LoopbackService(
        "Anthropic",
        anthropic_wire.connector_on,
        json_response(anthropic_wire.message()),
        anthropic_wire.TEXT_STREAM,
        anthropic_wire.TOOL_STREAM,
        anthropic_wire.THINKING_TOOL_STREAM,
        _asks_to_stream,
    ),
    LoopbackService(
        "Gemini",
        gemini_wire.connector,
        json_response(gemini_wire.response(gemini_wire.text_part("Hello!"))),
        gemini_wire.TEXT_STREAM,
        gemini_wire.TOOL_STREAM,
        gemini_wire.THOUGHT_STREAM,
        lambda request: request.path == gemini_wire.STREAM,
    ),
]
"""OpenAI, Anthropic and Gemini."""
