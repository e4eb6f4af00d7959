"""Anthropic's Messages API (Claude).

``POST {base_url}/v1/messages`` with ``x-api-key: <key>`` and ``anthropic-version:
2023-06-01``. The request differs from Chat Completions in ways this module hides:

* every ``system`` message, wherever it stands, is lifted into the top-level ``system``
  (joined by blank lines);
* ``max_tokens`` is required by the service, so it is always sent;
* messages carry content blocks: an assistant's tool calls become ``tool_use`` blocks after
  its text, and ``tool`` messages become ``tool_result`` blocks inside a ``user`` turn;
* an assistant message's ``metadata["anthropic_thinking"]`` blocks go first in its turn,
  unchanged: with extended thinking, the turn that called tools must carry them back;
* roles must alternate, so consecutive messages of one role (several tool results, or a
  tool result and the user's next words) are merged into one turn, tool results first;
  an empty text block is never sent, nor a message left with no block at all, nor a
  message's ``name`` (the API has no such field);
* tools are ``{"name", "description", "input_schema"}``; a ``tool_choice`` given as a
  string (``"auto"``, ``"any"``, ``"none"``, ``"required"`` or a tool's name) is written in
  the service's object shape.

The reply's ``metadata`` holds ``model``, ``finish_reason`` (Anthropic's ``stop_reason``:
``end_turn``, ``tool_use``, ``max_tokens``, …; named as in the other connectors),
``stop_sequence`` when one matched, and the token ``usage`` (``raw_usage`` keeps the
service's own object, with its cache counts), and ``anthropic_thinking`` when the model
thought (``thinking={"type": "enabled", "budget_tokens": …}``): the ``thinking`` and
``redacted_thinking`` blocks as they came, in order (streamed ones assembled from their
deltas), never in ``content`` nor among the stream's chunks. Other blocks (server tools)
are not read. ``stop_details`` are kept when the service sends them; a refusal
(``stop_reason`` ``"refusal"``) before any text or tool call raises
:class:`~orkes.errors.BadRequest` with their explanation.

Example:
    >>> connector = AnthropicConnector("claude-haiku-4-5", api_key="sk-ant-secret", temperature=0)
    >>> connector
    AnthropicConnector(model='claude-haiku-4-5', base_url='https://api.anthropic.com')
    >>> connector.max_tokens, connector.default_params
    (1024, {'temperature': 0})
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
from orkes.errors import BadRequest, ConnectorError
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["ANTHROPIC_VERSION", "AnthropicConnector"]

ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header sent with every request."""

_TOOL_CHOICE_TYPES = {"auto": "auto", "any": "any", "none": "none", "required": "any"}
_THINKING_TYPES = ("thinking", "redacted_thinking")
_REFUSING = frozenset({"refusal"})
# The blocks the service wants first in a turn, whatever the order of the merged messages.
_LEADING_BLOCKS = {"user": ("tool_result",), "assistant": _THINKING_TYPES}


class AnthropicConnector(HttpChatConnector):
    """A connector for Anthropic's Messages API.

    Args:
        model: the model name (``"claude-haiku-4-5"``, ``"claude-sonnet-4-5"``, …).
        api_key: the API key; ``ANTHROPIC_API_KEY`` when ``None``; none at all sends no
            ``x-api-key`` header (for gateways that authenticate otherwise). Never shown in
            ``repr``, errors or logs.
        base_url: the API root; requests go to ``{base_url}/v1/messages``.
        timeout: seconds to wait to connect, and for each read of the answer.
        max_retries: retries of connection failures, 429, 529 (overloaded) and other 5xx.
        max_tokens: the most tokens the reply may hold; always sent, as the service
            requires; ``max_tokens=`` in a call overrides it.
        sleep: the function that waits between retries (tests pass a recorder).
        transport: how requests reach the service (:mod:`orkes.connectors.transport`):
            a :class:`~orkes.connectors.transport.StdlibTransport` of the connector's own
            when ``None``. One may serve many connectors; it is the caller's to close.
        **default_params: sent with every call (``temperature``, ``top_k``,
            ``stop_sequences``, ``system`` as blocks, …); the ``**params`` of a call
            override them.

    Raises:
        ConnectorError: ``max_tokens`` is below 1, or another setting can't work.

    Example:
        >>> proxy = AnthropicConnector("claude-haiku-4-5", base_url="http://localhost:4000")
        >>> proxy.service, proxy.base_url
        ('Anthropic-compatible server', 'http://localhost:4000')
    """

    service = "Anthropic"
    api_key_env = ("ANTHROPIC_API_KEY",)
    official_host = "api.anthropic.com"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.anthropic.com",
        timeout: float = 60,
        max_retries: int = 3,
        max_tokens: int = 1024,
        sleep: Callable[[float], None] | None = None,
        transport: Transport | None = None,
        **default_params: Any,
    ) -> None:
        if max_tokens < 1:
            raise ConnectorError(f"max_tokens must be at least 1, got {max_tokens!r}")
        self.max_tokens = max_tokens
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
        body: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, **params}
        turns, system = _wire_conversation(messages)
        if system:
            if body.get("system") is not None:
                message = "give the system prompt as system messages or as system=, not both"
                raise BadRequest(message)
            body["system"] = system
        body["messages"] = turns
        if tools:
            body["tools"] = [_wire_tool(tool) for tool in tools]
        if isinstance(body.get("tool_choice"), str):
            body["tool_choice"] = _wire_tool_choice(body["tool_choice"])
        if stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        return HttpRequest("/v1/messages", body, headers=headers)

    def _parse_response(self, body: Any) -> OrkesMessageSchema:
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, list):
            raise self._answered_without("a content list", body)
        reply = ReplyAssembler(self.service)
        _read_message_facts(body, reply)
        usage = body.get("usage")
        if isinstance(usage, dict):
            _set_usage(reply, usage)
        thinking: list[dict[str, Any]] = []
        for block in map(as_dict, content):
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                reply.add_text(block["text"])
            elif block.get("type") in _THINKING_TYPES:
                thinking.append(block)
            elif block.get("type") == "tool_use":
                reply.add_tool_call(
                    call_id=block.get("id"),
                    name=block.get("name") or "",
                    arguments=block.get("input"),
                )
        if thinking:
            reply.metadata["anthropic_thinking"] = thinking
        _check_not_refused(reply)
        return reply.build()

    def _new_stream_decoder(self) -> StreamDecoder:
        return _EventDecoder(self.service)


class _EventDecoder(StreamDecoder):
    """Reads the Messages stream: ``message_start`` … ``message_stop``.

    Content blocks are numbered by ``index``; a ``tool_use`` block's arguments arrive as
    ``input_json_delta`` pieces that are joined per index, a ``thinking`` block's text as
    ``thinking_delta`` pieces and its signature as a ``signature_delta``. Usage counts are
    cumulative: ``message_start`` brings the input tokens, ``message_delta`` the output so far.
    """

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self._usage: dict[str, Any] = {}
        self._stop_reason_seen = False
        # The thinking blocks by index, in the order they began, and their text's pieces.
        self._thinking: dict[Hashable, dict[str, Any]] = {}
        self._thought_pieces: dict[Hashable, list[str]] = {}

    def feed(self, event: ServerSentEvent) -> list[str]:
        data = event_object(self.service, event)
        kind = data.get("type", event.event)
        if kind == "error":
            raise stream_error(self.service, data.get("error"), event.data)
        if kind == "message_start":
            started = as_dict(data.get("message"))
            _read_message_facts(started, self.reply)
            self._add_usage(started.get("usage"))
        elif kind == "content_block_start":
            return self._start_block(data.get("index", 0), as_dict(data.get("content_block")))
        elif kind == "content_block_delta":
            return self._read_delta(data.get("index", 0), as_dict(data.get("delta")))
        elif kind == "message_delta":
            _read_message_facts(as_dict(data.get("delta")), self.reply)
            self._stop_reason_seen = "finish_reason" in self.reply.metadata
            self._add_usage(data.get("usage"))
        elif kind == "message_stop":
            self.done = True
        # ping, content_block_stop and event types added later carry nothing to read.
        return []

    def _start_block(self, index: object, block: dict[str, Any]) -> list[str]:
        if block.get("type") in _THINKING_TYPES:
            key, thought = fragment_key(index), block.get("thinking")
            self._thinking[key] = block
            self._thought_pieces[key] = [thought] if isinstance(thought, str) else []
            return []
        if block.get("type") == "tool_use":
            arguments = block.get("input")
            self.reply.add_tool_call_fragment(
                fragment_key(index),
                call_id=block.get("id"),
                name=block.get("name"),
                # The input starts as {} and comes in deltas; a server that sends it whole
                # here is read too.
                arguments=json.dumps(arguments)
                if isinstance(arguments, dict) and arguments
                else "",
            )
            return []
        text = block.get("text")
        if block.get("type") == "text" and isinstance(text, str) and text:
            self.reply.add_text(text)
            return [text]
        return []

    def _read_delta(self, index: object, delta: dict[str, Any]) -> list[str]:
        if delta.get("type") == "text_delta":
            text = delta.get("text")
            if isinstance(text, str) and text:
                self.reply.add_text(text)
                return [text]
        elif delta.get("type") == "input_json_delta":
            piece = delta.get("partial_json")
            if isinstance(piece, str):
                self.reply.add_tool_call_fragment(fragment_key(index), arguments=piece)
        elif fragment_key(index) in self._thinking:
            # A thinking block's text comes in pieces; its signature, whole, at the end.
            piece, signature = delta.get("thinking"), delta.get("signature")
            if delta.get("type") == "thinking_delta" and isinstance(piece, str):
                self._thought_pieces[fragment_key(index)].append(piece)
            elif delta.get("type") == "signature_delta" and isinstance(signature, str):
                self._thinking[fragment_key(index)]["signature"] = signature
        return []

    def _add_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            self._usage.update(usage)
            _set_usage(self.reply, self._usage)

    def is_complete(self) -> bool:
        # A body that ends right after message_delta (its stop reason and final usage)
        # lacks only the message_stop marker: the reply is whole.
        return self.done or self._stop_reason_seen

    def message(self) -> OrkesMessageSchema:
        if self._thinking:
            self.reply.metadata["anthropic_thinking"] = [
                {**block, "thinking": "".join(self._thought_pieces[key])}
                if block.get("type") == "thinking"
                else block
                for key, block in self._thinking.items()
            ]
        _check_not_refused(self.reply)
        return super().message()


def _read_message_facts(document: dict[str, Any], reply: ReplyAssembler) -> None:
    """The facts beside the content: id, model, stop reason and stop sequence."""
    if isinstance(document.get("id"), str):
        reply.message_id = document["id"]
    if isinstance(document.get("model"), str):
        reply.metadata["model"] = document["model"]
    if isinstance(document.get("stop_reason"), str):
        reply.metadata["finish_reason"] = document["stop_reason"]
    if isinstance(document.get("stop_sequence"), str):
        reply.metadata["stop_sequence"] = document["stop_sequence"]
    if isinstance(document.get("stop_details"), dict):
        reply.metadata["stop_details"] = document["stop_details"]


def _check_not_refused(reply: ReplyAssembler) -> None:
    """A refusal before any text or tool call is an error, with the service's explanation."""
    explanation = as_dict(reply.metadata.get("stop_details")).get("explanation")
    refused(reply, "stop_reason", _REFUSING, explanation)


def _set_usage(reply: ReplyAssembler, usage: dict[str, Any]) -> None:
    reply.set_usage(
        input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"), raw=usage
    )


def _wire_conversation(
    messages: Sequence[OrkesMessageSchema],
) -> tuple[list[dict[str, Any]], str]:
    """The alternating ``messages`` turns, and the system prompt lifted out of them."""
    system_texts: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "system":
            if message["content"]:
                system_texts.append(message["content"])
            continue
        role, blocks = _wire_blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        # Tool results lead a user turn, thinking an assistant turn; sort is stable.
        leading = _LEADING_BLOCKS[turn["role"]]
        turn["content"].sort(key=lambda block: block.get("type") not in leading)
    return turns, "\n\n".join(system_texts)


def _wire_blocks(message: OrkesMessageSchema) -> tuple[str, list[dict[str, Any]]]:
    """The role and content blocks of one ``user``, ``assistant`` or ``tool`` message.

    The base refused any other role before the request was built.
    """
    role = message["role"]
    text = message["content"]
    if role == "tool":
        if "tool_call_id" not in message:
            raise BadRequest("a message with role 'tool' needs the 'tool_call_id' it answers")
        result = {"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": text}
        return "user", [result]
    text_blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if role == "user":
        return role, text_blocks
    thinking = as_dict(message.get("metadata")).get("anthropic_thinking")
    thinking_blocks = (
        [block for block in thinking if isinstance(block, dict)]
        if isinstance(thinking, list)
        else []
    )
    tool_uses = [
        {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["arguments"]}
        for call in message.get("tool_calls") or []
    ]
    return role, [*thinking_blocks, *text_blocks, *tool_uses]


def _wire_tool(tool: ToolDescription) -> dict[str, Any]:
    """A tool in the Messages shape."""
    wire: dict[str, Any] = {"name": tool.name}
    if tool.description:
        wire["description"] = tool.description
    wire["input_schema"] = tool.parameters
    return wire


def _wire_tool_choice(choice: str) -> dict[str, str]:
    """``"auto"``/``"any"``/``"none"`` (``"required"`` means any), else a tool's name."""
    if choice in _TOOL_CHOICE_TYPES:
        return {"type": _TOOL_CHOICE_TYPES[choice]}
    return {"type": "tool", "name": choice}
