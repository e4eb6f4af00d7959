"""Connectors to LLM services; each satisfies :class:`orkes.shared.schema.LLMConnector`.

``EchoLlmConnector`` needs no network. The others speak their service's wire format over
the standard library's HTTP client: ``OpenAIConnector`` (Chat Completions: OpenAI, vLLM,
Ollama, llama.cpp's server, LM Studio, …), ``AnthropicConnector`` (the Messages API) and
``GeminiConnector`` (generateContent).
Tools are plain Python functions (see :mod:`orkes.connectors.tools`).
"""

from orkes.connectors._stream import AsyncMessageStream, MessageStream
from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.echo import EchoLlmConnector
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec, arun_tool_calls, as_tool_specs, run_tool_calls, tool

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
