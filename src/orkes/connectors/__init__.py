"""Connectors to LLM services; each satisfies :class:`orkes.shared.schema.LLMConnector`.

``EchoLlmConnector`` needs no network. ``OpenAIConnector`` speaks the Chat Completions
wire format (OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio, …) over the standard
library's HTTP client. Tools are plain Python functions (see :mod:`orkes.connectors.tools`).
"""

from orkes.connectors._stream import AsyncMessageStream, MessageStream
from orkes.connectors.echo import EchoLlmConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec, arun_tool_calls, as_tool_specs, run_tool_calls, tool

__all__ = [
    "AsyncMessageStream",
    "EchoLlmConnector",
    "MessageStream",
    "OpenAIConnector",
    "ToolSpec",
    "arun_tool_calls",
    "as_tool_specs",
    "run_tool_calls",
    "tool",
]
