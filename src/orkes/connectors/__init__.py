"""Connectors to LLM services; each satisfies :class:`orkes.shared.schema.LLMConnector`.

``EchoLlmConnector`` needs no network. The others speak their service's wire format over
the standard library's HTTP client: ``OpenAIConnector`` (Chat Completions: OpenAI, vLLM,
Ollama, llama.cpp's server, LM Studio, …), ``AnthropicConnector`` (the Messages API) and
``GeminiConnector`` (generateContent).
Tools are plain Python functions (see :mod:`orkes.connectors.tools`).

Only the echo connector is imported with ``orkes``; the HTTP ones (and ``http.client``,
``ssl``, ``asyncio``) load on first use, so a graph that needs none of them starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orkes.connectors.echo import EchoLlmConnector

if TYPE_CHECKING:
    from orkes.connectors._chat.stream import AsyncMessageStream, MessageStream
    from orkes.connectors.anthropic import AnthropicConnector
    from orkes.connectors.gemini import GeminiConnector
    from orkes.connectors.openai import OpenAIConnector
    from orkes.connectors.tools import (
        ToolSpec,
        arun_tool_calls,
        as_tool_specs,
        run_tool_calls,
        tool,
    )

__all__ = [
    "AnthropicConnector",
    "AsyncMessageStream",
    "EchoLlmConnector",
    "GeminiConnector",
    "MessageStream",
    "OpenAIConnector",
    "ToolSpec",
    "arun_tool_calls",
    "as_tool_specs",
    "run_tool_calls",
    "tool",
]

_HOME = {
    "AnthropicConnector": "orkes.connectors.anthropic",
    "AsyncMessageStream": "orkes.connectors._chat.stream",
    "GeminiConnector": "orkes.connectors.gemini",
    "MessageStream": "orkes.connectors._chat.stream",
    "OpenAIConnector": "orkes.connectors.openai",
    "ToolSpec": "orkes.connectors.tools",
    "arun_tool_calls": "orkes.connectors.tools",
    "as_tool_specs": "orkes.connectors.tools",
    "run_tool_calls": "orkes.connectors.tools",
    "tool": "orkes.connectors.tools",
}


def __getattr__(name: str) -> Any:
    """Import a connector (or the tools) when it is first asked for."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'orkes.connectors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
