"""The three shipped HTTP connectors side by side, on the loopback server, on each transport.

For tests of what the base gives every provider alike: each :class:`LoopbackService`
makes its connector, holds a whole answer and streams in its wire format, and tells a
streamed request from a whole one. :data:`TRANSPORT_KINDS` are the transports the
provider tests run on (the ``transport_kind`` fixture of ``conftest.py``).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport.httpx import HttpxTransport
from orkes.connectors.transport.stdlib import StdlibTransport
from tests.connectors import anthropic_wire, gemini_wire, openai_wire
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordedRequest,
    RecordingSleep,
    json_response,
    sse_response,
)

TRANSPORT_KINDS = ("stdlib", "httpx")
"""The transports the provider tests run on."""

TRANSPORT_CLASSES: dict[str, type[StdlibTransport | HttpxTransport]] = {
    "stdlib": StdlibTransport,
    "httpx": HttpxTransport,
}


@functools.cache
def _trust_store() -> ssl.SSLContext:
    """One default context for every test client: loading the CA bundle takes ~20 ms."""
    return ssl.create_default_context()


def httpx_like_stdlib(
    *, pool_size: int = 8, idle_timeout: float = 15.0, ssl_context: ssl.SSLContext | None = None
) -> HttpxTransport:
    """An ``HttpxTransport`` with the settings ``HttpClient`` gives its ``StdlibTransport``."""
    limits = httpx.Limits(
        max_connections=None, max_keepalive_connections=pool_size, keepalive_expiry=idle_timeout
    )
    return HttpxTransport(limits=limits, verify=ssl_context or _trust_store())


def check_transport(connector: HttpChatConnector, kind: str) -> None:
    """Fail loudly if the connector does not run on the transport the test is for."""
    expected = TRANSPORT_CLASSES[kind]
    assert isinstance(connector.transport, expected), (connector.transport, kind)


def stdlib_only(reason: str) -> pytest.MarkDecorator:
    """Run a provider test on the stdlib transport only; ``reason`` says what httpx does."""
    assert reason
    return pytest.mark.parametrize("transport_kind", ["stdlib"], indirect=True)


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
