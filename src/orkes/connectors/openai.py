"""OpenAI's Chat Completions API, and every server that speaks it.

``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``. Streaming sends
``"stream": true`` and ``"stream_options": {"include_usage": true}`` and reads the
``chat.completion.chunk`` events up to ``data: [DONE]``. Point ``base_url`` at vLLM,
Ollama (``http://localhost:11434/v1``), llama.cpp's server or LM Studio to use a local
model; they need no key, and with none given (nor ``OPENAI_API_KEY`` set) no
``Authorization`` header is sent. A server that refuses ``stream_options`` takes
``stream_options=None`` (as a default or per call).

A ``tool_choice`` given as a tool's name is sent in the API's object shape
(``{"type": "function", "function": {"name": ...}}``); ``"auto"``, ``"none"`` and
``"required"`` go as they are. A refusal, whole or streamed, is in ``metadata["refusal"]``;
a reply the content filter stopped (``finish_reason`` ``"content_filter"``) before any text
or tool call raises :class:`~orkes.errors.BadRequest`.

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
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from orkes.connectors._chat.connector import HttpChatConnector, ToolDescription
from orkes.connectors._chat.reply import (
    ReplyAssembler,
    StreamDecoder,
    as_dict,
    event_object,
    fragment_key,
    refused,
    stream_error,
)
from orkes.connectors.transport.client import HttpRequest
from orkes.connectors.transport.protocol import Transport
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import BadRequest
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["OpenAIConnector"]

# The tool_choice words of the API; any other string is taken as a tool's name.
_TOOL_CHOICE_WORDS = frozenset({"auto", "none", "required"})
# Finish reasons that, with nothing generated, mean the reply was refused.
_REFUSING = frozenset({"content_filter"})


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
        transport: how requests reach the service (:mod:`orkes.connectors.transport`):
            a :class:`~orkes.connectors.transport.StdlibTransport` of the connector's own
            when ``None``. One may serve many connectors; it is the caller's to close.
        **default_params: sent with every call (``temperature``, ``max_tokens``, …);
            the ``**params`` of a call override them.

    Example:
        >>> local = OpenAIConnector("llama3.2", base_url="http://localhost:11434/v1")
        >>> local.service, local.base_url
        ('OpenAI-compatible server', 'http://localhost:11434/v1')
    """

    service = "OpenAI"
    api_key_env = ("OPENAI_API_KEY",)
    official_host = "api.openai.com"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.openai.com/v1",
        timeout: float = 60,
        max_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
        transport: Transport | None = None,
        **default_params: Any,
    ) -> None:
        super().__init__(
            model,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            default_params=default_params,
            sleep=sleep,
            transport=transport,
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
        choice = body.get("tool_choice")
        if isinstance(choice, str) and choice not in _TOOL_CHOICE_WORDS:
            body["tool_choice"] = {"type": "function", "function": {"name": choice}}
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
            raise self._answered_without("choices[0].message", body)
        reply = ReplyAssembler(self.service)
        _read_envelope(body, reply)
        if isinstance(message.get("content"), str):
            reply.add_text(message["content"])
        if isinstance(message.get("refusal"), str):
            reply.metadata["refusal"] = message["refusal"]
        for tool_call in message.get("tool_calls") or []:
            function = as_dict(as_dict(tool_call).get("function"))
            reply.add_tool_call(
                call_id=as_dict(tool_call).get("id"),
                name=function.get("name") or "",
                arguments=function.get("arguments"),
            )
        if isinstance(first_choice, dict) and first_choice.get("finish_reason"):
            reply.metadata["finish_reason"] = first_choice["finish_reason"]
        _check_not_filtered(reply)
        return reply.build()

    def _new_stream_decoder(self) -> StreamDecoder:
        return _ChunkDecoder(self.service)


class _ChunkDecoder(StreamDecoder):
    """Reads ``chat.completion.chunk`` events; ``data: [DONE]`` ends the stream.

    A tool call comes in fragments tied by their ``index``. Servers that send each call
    whole leave ``index`` out (Gemini's OpenAI-compatible endpoint): then a fragment with
    an ``id`` not seen before begins a call, and one without an ``id`` continues the last.
    """

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self._finish_reason_seen = False
        self._call_keys: dict[str, Hashable] = {}  # a call's id → its fragments' key
        self._last_call_key: Hashable = 0

    def feed(self, event: ServerSentEvent) -> list[str]:
        if event.data.strip() == "[DONE]":
            self.done = True
            return []
        chunk = event_object(self.service, event)
        if chunk.get("error") is not None:
            raise stream_error(self.service, chunk["error"], event.data)
        _read_envelope(chunk, self.reply)
        texts: list[str] = []
        for choice in chunk.get("choices") or []:
            # With n > 1 several choices stream side by side; the reply is the first one.
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = as_dict(choice.get("delta"))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.reply.add_text(content)
                texts.append(content)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                metadata = self.reply.metadata
                metadata["refusal"] = metadata.get("refusal", "") + refusal
            for fragment in delta.get("tool_calls") or []:
                self._read_tool_call_fragment(as_dict(fragment))
            if choice.get("finish_reason"):
                self.reply.metadata["finish_reason"] = choice["finish_reason"]
                self._finish_reason_seen = True
        return texts

    def _read_tool_call_fragment(self, fragment: dict[str, Any]) -> None:
        function = as_dict(fragment.get("function"))
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the whole object at once
            arguments = json.dumps(arguments)
        call_id = fragment.get("id")
        call_id = call_id if isinstance(call_id, str) and call_id else None
        index = fragment.get("index")
        if index is not None:
            key = fragment_key(index)
        elif call_id is not None:
            key = self._call_keys.get(call_id, ("id", call_id))
        else:
            key = self._last_call_key
        if call_id is not None:
            self._call_keys.setdefault(call_id, key)
        self._last_call_key = key
        self.reply.add_tool_call_fragment(
            key,
            call_id=call_id,
            name=function.get("name"),
            arguments=arguments if isinstance(arguments, str) else "",
        )

    def is_complete(self) -> bool:
        # A server that ends the body right after the finish reason, without [DONE],
        # still sent the whole reply (only the usage chunk may be missing).
        return self.done or self._finish_reason_seen

    def message(self) -> OrkesMessageSchema:
        _check_not_filtered(self.reply)
        return super().message()


def _check_not_filtered(reply: ReplyAssembler) -> None:
    """A reply the content filter stopped before anything came is an error.

    A refusal the model wrote itself, in ``refusal``, is the documented answer: it is kept.
    """
    if "refusal" not in reply.metadata:
        refused(reply, "finish_reason", _REFUSING)


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
