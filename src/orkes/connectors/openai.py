"""OpenAI's Chat Completions API, and every server that speaks it.

``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``. Streaming sends
``"stream": true`` and ``"stream_options": {"include_usage": true}`` and reads the
``chat.completion.chunk`` events up to ``data: [DONE]``. Point ``base_url`` at vLLM,
Ollama (``http://localhost:11434/v1``), llama.cpp's server or LM Studio to use a local
model; they need no key, and with none given (nor ``OPENAI_API_KEY`` set) no
``Authorization`` header is sent. A server that refuses ``stream_options`` takes
``stream_options=None`` (as a default or per call).

Example:
    >>> connector = OpenAIConnector("gpt-4o-mini", api_key="sk-secret", temperature=0)
    >>> connector
    OpenAIConnector(model='gpt-4o-mini', base_url='https://api.openai.com/v1')
    >>> connector.default_params
    {'temperature': 0}
    >>> connector.close()
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from orkes.connectors._base import HttpChatConnector, ToolDescription
from orkes.connectors._http import HttpRequest
from orkes.connectors._reply import ReplyAssembler, StreamDecoder, event_json
from orkes.connectors._sse import ServerSentEvent
from orkes.connectors._status import service_message_from_body
from orkes.errors import BadRequest, ResponseFormatError, ServiceError
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["OpenAIConnector"]

_OPENAI_HOST = "api.openai.com"


class OpenAIConnector(HttpChatConnector):
    """A connector for OpenAI's Chat Completions API and the servers compatible with it.

    Args:
        model: the model name (``"gpt-4o-mini"``, or what a local server serves).
        api_key: the API key; ``OPENAI_API_KEY`` when ``None``; none at all sends no
            ``Authorization`` header. Never shown in ``repr``, errors or logs.
        base_url: the API root, ``.../v1``.
        timeout: seconds to wait to connect, and for each read of the answer.
        max_retries: retries of connection failures, 429 and 5xx answers.
        sleep: the function that waits between retries (tests pass a recorder).
        **default_params: sent with every call (``temperature``, ``max_tokens``, …);
            the ``**params`` of a call override them.

    Example:
        >>> local = OpenAIConnector("llama3.2", base_url="http://localhost:11434/v1")
        >>> local.service, local.base_url
        ('OpenAI-compatible server', 'http://localhost:11434/v1')
    """

    service = "OpenAI"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.openai.com/v1",
        timeout: float = 60,
        max_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
        **default_params: Any,
    ) -> None:
        if urlsplit(base_url).hostname != _OPENAI_HOST:
            self.service = "OpenAI-compatible server"
        super().__init__(
            model,
            base_url=base_url,
            api_key=os.environ.get("OPENAI_API_KEY") if api_key is None else api_key,
            timeout=timeout,
            max_retries=max_retries,
            default_params=default_params,
            sleep=sleep,
        )

    def _build_request(
        self,
        messages: list[OrkesMessageSchema],
        tools: Sequence[ToolDescription],
        params: dict[str, Any],
        *,
        stream: bool,
    ) -> HttpRequest:
        body: dict[str, Any] = {"model": self.model, **params}
        body["messages"] = [_wire_message(message) for message in messages]
        if tools:
            body["tools"] = [_wire_tool(tool) for tool in tools]
        if stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
            if body["stream_options"] is None:  # stream_options=None: servers that refuse it
                del body["stream_options"]
        else:
            # The service refuses stream_options on a request that does not stream.
            body.pop("stream", None)
            body.pop("stream_options", None)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        return HttpRequest("/chat/completions", body, headers=headers)

    def _parse_response(self, body: Any) -> OrkesMessageSchema:
        choices = body.get("choices") if isinstance(body, dict) else None
        first_choice = choices[0] if isinstance(choices, list) and choices else None
        message = first_choice.get("message") if isinstance(first_choice, dict) else None
        if not isinstance(message, dict):
            found = service_message_from_body(json.dumps(body).encode()) or repr(body)[:200]
            raise ResponseFormatError(
                f"{self.service} answered without choices[0].message: {found}"
            )
        reply = ReplyAssembler(self.service)
        _read_envelope(body, reply)
        if isinstance(message.get("content"), str):
            reply.add_text(message["content"])
        if isinstance(message.get("refusal"), str):
            reply.metadata["refusal"] = message["refusal"]
        for tool_call in message.get("tool_calls") or []:
            function = _as_dict(_as_dict(tool_call).get("function"))
            reply.add_tool_call(
                call_id=_as_dict(tool_call).get("id"),
                name=function.get("name") or "",
                arguments=function.get("arguments"),
            )
        if isinstance(first_choice, dict) and first_choice.get("finish_reason"):
            reply.metadata["finish_reason"] = first_choice["finish_reason"]
        return reply.build()

    def _new_stream_decoder(self) -> StreamDecoder:
        return _ChunkDecoder(self.service)


class _ChunkDecoder(StreamDecoder):
    """Reads ``chat.completion.chunk`` events; ``data: [DONE]`` ends the stream."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self._finish_reason_seen = False

    def feed(self, event: ServerSentEvent) -> list[str]:
        if event.data.strip() == "[DONE]":
            self.done = True
            return []
        chunk = event_json(self.service, event)
        if not isinstance(chunk, dict):
            message = f"{self.service} sent a stream event that is not a JSON object"
            raise ResponseFormatError(f"{message}: {event.data[:200]!r}")
        if chunk.get("error") is not None:
            service_message = service_message_from_body(event.data.encode())
            message = f"{self.service} reported an error in the middle of the stream"
            raise ServiceError(f"{message}: {service_message}", service_message=service_message)
        _read_envelope(chunk, self.reply)
        texts: list[str] = []
        for choice in chunk.get("choices") or []:
            # With n > 1 several choices stream side by side; the reply is the first one.
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = _as_dict(choice.get("delta"))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.reply.add_text(content)
                texts.append(content)
            for fragment in delta.get("tool_calls") or []:
                self._read_tool_call_fragment(_as_dict(fragment))
            if choice.get("finish_reason"):
                self.reply.metadata["finish_reason"] = choice["finish_reason"]
                self._finish_reason_seen = True
        return texts

    def _read_tool_call_fragment(self, fragment: dict[str, Any]) -> None:
        function = _as_dict(fragment.get("function"))
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the whole object at once
            arguments = json.dumps(arguments)
        self.reply.add_tool_call_fragment(
            fragment.get("index", 0),
            call_id=fragment.get("id"),
            name=function.get("name"),
            arguments=arguments if isinstance(arguments, str) else "",
        )

    def is_complete(self) -> bool:
        # A server that ends the body right after the finish reason, without [DONE],
        # still sent the whole reply (only the usage chunk may be missing).
        return self.done or self._finish_reason_seen


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _read_envelope(document: dict[str, Any], reply: ReplyAssembler) -> None:
    """The facts beside the message: id, model, usage (``prompt``/``completion`` tokens)."""
    if isinstance(document.get("id"), str):
        reply.message_id = document["id"]
    if isinstance(document.get("model"), str):
        reply.metadata["model"] = document["model"]
    usage = document.get("usage")
    if isinstance(usage, dict):
        reply.set_usage(
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            raw=usage,
        )


def _wire_message(message: OrkesMessageSchema) -> dict[str, Any]:
    """One message in the Chat Completions shape."""
    role = message["role"]
    wire: dict[str, Any] = {"role": role, "content": message["content"]}
    if role == "tool":
        if "tool_call_id" not in message:
            raise BadRequest("a message with role 'tool' needs the 'tool_call_id' it answers")
        wire["tool_call_id"] = message["tool_call_id"]
    elif "name" in message:
        wire["name"] = message["name"]
    tool_calls = message.get("tool_calls")
    if role == "assistant" and tool_calls:
        wire["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }
            for call in tool_calls
        ]
        if not message["content"]:
            wire["content"] = None
    return wire


def _wire_tool(tool: ToolDescription) -> dict[str, Any]:
    """A tool in the Chat Completions shape."""
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    return {"type": "function", "function": function}
