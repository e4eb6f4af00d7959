"""Building the reply message: text, tool calls (whole or in pieces), usage, metadata.

A provider module reads its wire format and tells a :class:`ReplyAssembler` what it found;
the assembler builds the :class:`~orkes.shared.schema.OrkesMessageSchema`, so that every
connector reports tool calls and token usage in the same shape. A streaming provider
subclasses :class:`StreamDecoder`: one object per stream, fed the events one at a time.

Example:
    >>> reply = ReplyAssembler("Example")
    >>> reply.add_text("Let me add ")
    >>> reply.add_text("that.")
    >>> reply.add_tool_call_fragment(0, call_id="call_1", name="add", arguments='{"a": 1,')
    >>> reply.add_tool_call_fragment(0, arguments=' "b": 2}')
    >>> reply.set_usage(input_tokens=12, output_tokens=5)
    >>> reply.build()  # doctest: +NORMALIZE_WHITESPACE
    {'role': 'assistant', 'content': 'Let me add that.',
     'tool_calls': [{'id': 'call_1', 'name': 'add', 'arguments': {'a': 1, 'b': 2}}],
     'metadata': {'usage': {'input_tokens': 12, 'output_tokens': 5}}}
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orkes.connectors.transport.sse import ServerSentEvent
from orkes.connectors.transport.status import error_for_status, service_message_from_body
from orkes.errors import BadRequest, ConnectorError, ResponseFormatError, ServiceError
from orkes.shared.schema import OrkesMessageSchema, ToolCall

__all__ = [
    "ReplyAssembler",
    "StreamDecoder",
    "as_dict",
    "event_json",
    "event_object",
    "fragment_key",
    "parse_tool_arguments",
    "refused",
    "stream_error",
]


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one: for reading optional JSON objects."""
    return value if isinstance(value, dict) else {}


def fragment_key(index: object) -> Hashable:
    """The key that joins the pieces of a streamed tool call, from the wire's ``index``.

    A malformed (unhashable) index still gives a key.
    """
    return index if isinstance(index, int | str) else repr(index)


def parse_tool_arguments(service: str, tool_name: str, arguments: object) -> dict[str, Any]:
    """Read a tool call's arguments: a JSON object, as text or already decoded.

    Empty text means no arguments. Anything else that is not a JSON object raises
    :class:`~orkes.errors.ResponseFormatError` naming the tool.

    Example:
        >>> parse_tool_arguments("Example", "add", '{"a": 1}')
        {'a': 1}
        >>> parse_tool_arguments("Example", "add", '{"a": 1')
        Traceback (most recent call last):
        ...
        orkes.errors.ResponseFormatError: Example sent arguments for tool 'add' that are not ...
    """
    if isinstance(arguments, str):
        json_text = arguments
        if not json_text.strip():
            return {}
        try:
            arguments = json.loads(json_text)
        except ValueError as error:
            message = (
                f"{service} sent arguments for tool {tool_name!r} that are not valid JSON "
                f"({error}): {json_text[:200]!r}"
            )
            raise ResponseFormatError(message) from error
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        kind = type(arguments).__name__
        message = f"{service} sent arguments for tool {tool_name!r} as {kind}, not a JSON object"
        raise ResponseFormatError(message)
    return arguments


def event_json(service: str, event: ServerSentEvent) -> Any:
    """Decode an event's data as JSON, or raise :class:`~orkes.errors.ResponseFormatError`."""
    try:
        return json.loads(event.data)
    except ValueError as error:
        message = f"{service} sent a stream event that is not JSON: {event.data[:200]!r}"
        raise ResponseFormatError(message) from error


def event_object(service: str, event: ServerSentEvent) -> dict[str, Any]:
    """Decode an event's data as a JSON object, or raise :class:`~orkes.errors.ResponseFormatError`.

    Example:
        >>> event_object("Example", ServerSentEvent(data="[1, 2]"))
        Traceback (most recent call last):
        ...
        orkes.errors.ResponseFormatError: Example sent a stream event that is not a JSON object: ...
    """
    document = event_json(service, event)
    if not isinstance(document, dict):
        message = f"{service} sent a stream event that is not a JSON object"
        raise ResponseFormatError(f"{message}: {event.data[:200]!r}")
    return document


def stream_error(service: str, error: object, data: str) -> ConnectorError:
    """The error for an error object that a service sent in the middle of a stream.

    An error with an HTTP ``code`` (Gemini's ``{"code", "message", "status"}``, vLLM's) gets
    the class of that status, as if the service had answered it; any other is a
    :class:`~orkes.errors.ServiceError`, with the error's ``type`` (or ``status``) after
    the service's message.

    Args:
        service: the service's name, for the message.
        error: the error object of the event (its ``"error"`` field).
        data: the event's data as it came, where the service's message is read from.

    Example:
        >>> error = {"type": "overloaded_error", "message": "Overloaded"}
        >>> str(stream_error("Example", error, json.dumps({"error": error})))
        'Example reported an error in the middle of the stream: Overloaded (overloaded_error)'
        >>> error = {"code": 503, "message": "Try later", "status": "UNAVAILABLE"}
        >>> stream_error("Gemini", error, json.dumps({"error": error}))
        ServiceError('Gemini, in the middle of a stream, answered 503 UNAVAILABLE: Try later')
    """
    details = as_dict(error)
    code = details.get("code")
    kind = details.get("type") or details.get("status")
    kind = kind if isinstance(kind, str) else ""
    if isinstance(code, int) and 400 <= code <= 599:
        where = f"{service}, in the middle of a stream,"
        return error_for_status(code, kind, data.encode(), where=where)
    service_message = service_message_from_body(data.encode())
    message = f"{service} reported an error in the middle of the stream"
    if service_message:
        message += f": {service_message}"
    if kind:
        message += f" ({kind})"
    return ServiceError(message, service_message=service_message)


def refused(
    reply: ReplyAssembler, field: str, reasons: frozenset[str], explanation: object = None
) -> None:
    """Raise :class:`~orkes.errors.BadRequest` if the reply was refused before anything came.

    That is: it stopped for one of ``reasons`` (a refusal, a content filter) before any text
    or tool call. An empty message would go on as if the model had answered; a reply that
    has text keeps it, and its ``finish_reason`` says why it ends. ``explanation`` is the
    service's own.

    Example:
        >>> reply = ReplyAssembler("Example")
        >>> reply.metadata["finish_reason"] = "refusal"
        >>> refused(reply, "stop_reason", frozenset({"refusal"}))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        orkes.errors.BadRequest: Example refused the reply: stop_reason 'refusal'; nothing ...
    """
    reason = reply.metadata.get("finish_reason")
    if reason not in reasons or reply.text or reply.has_tool_calls:
        return
    said = explanation if isinstance(explanation, str) and explanation else None
    because = f" ({said})" if said else ""
    hint = "rephrase the request, or leave the refused turn out of the conversation"
    message = f"{reply.service} refused the reply: {field} {reason!r}{because}; "
    raise BadRequest(f"{message}nothing was generated; {hint}", service_message=said or reason)


# The finish reasons (OpenAI's, Anthropic's, Gemini's) of a reply cut off at max_tokens.
_CUT_OFF = frozenset({"length", "max_tokens", "MAX_TOKENS"})


@dataclass
class _PartialToolCall:
    call_id: str | None = None
    name: str | None = None
    argument_pieces: list[str] = field(default_factory=list)
    decoded_arguments: object = None


class ReplyAssembler:
    """Collects what a service sent and builds the assistant message from it.

    Attributes:
        message_id: the service's id for the reply, copied to the message's ``id``.
        metadata: extra facts for the message's ``metadata`` (model, finish reason, …).
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.message_id: str | None = None
        self.metadata: dict[str, Any] = {}
        self._text_pieces: list[str] = []
        self._tool_calls: dict[Hashable, _PartialToolCall] = {}
        self._usage: dict[str, int] | None = None
        self._raw_usage: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self._text_pieces)

    @property
    def has_tool_calls(self) -> bool:
        """Whether any tool call (or a piece of one) came."""
        return bool(self._tool_calls)

    def add_text(self, text: str) -> None:
        """Append text to the reply."""
        self._text_pieces.append(text)

    def add_tool_call(self, *, call_id: str | None, name: str, arguments: object) -> None:
        """Record a tool call that arrived whole (arguments as JSON text or a dict)."""
        self._tool_calls[object()] = _PartialToolCall(call_id, name, decoded_arguments=arguments)

    def add_tool_call_fragment(
        self,
        key: Hashable,
        *,
        call_id: str | None = None,
        name: str | None = None,
        arguments: str = "",
    ) -> None:
        """Record a piece of a streamed tool call; pieces with the same ``key`` are joined.

        Args:
            key: what ties the pieces of one call together (the wire's ``index``).
            call_id: the call's id, on whichever piece carries it.
            name: the tool's name, on whichever piece carries it.
            arguments: the next piece of the arguments' JSON text.
        """
        partial = self._tool_calls.setdefault(key, _PartialToolCall())
        if call_id:
            partial.call_id = call_id
        if name and not partial.name:
            partial.name = name
        if arguments:
            partial.argument_pieces.append(arguments)

    def set_usage(
        self,
        *,
        input_tokens: int | None,
        output_tokens: int | None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        """Record token usage; ``raw`` (the service's own usage object) is kept beside it."""
        self._usage = {"input_tokens": input_tokens or 0, "output_tokens": output_tokens or 0}
        self._raw_usage = dict(raw) if raw is not None else None

    def tool_calls(self) -> list[ToolCall]:
        """The tool calls so far, in the order they began, with their arguments decoded.

        Raises:
            ResponseFormatError: a call has no name, or arguments that are not a JSON object.
        """
        calls: list[ToolCall] = []
        for position, partial in enumerate(self._tool_calls.values()):
            if not partial.name:
                message = f"{self.service} sent a tool call without a tool name"
                raise ResponseFormatError(message)
            raw_arguments = (
                "".join(partial.argument_pieces)
                if partial.argument_pieces
                else partial.decoded_arguments
            )
            arguments = self._arguments(partial.name, raw_arguments)
            call_id = partial.call_id or f"call_{position}"
            calls.append(ToolCall(id=call_id, name=partial.name, arguments=arguments))
        return calls

    def _arguments(self, tool_name: str, raw_arguments: object) -> dict[str, Any]:
        """A call's arguments; when they can't be read, say so if max_tokens cut them off."""
        try:
            return parse_tool_arguments(self.service, tool_name, raw_arguments)
        except ResponseFormatError as error:
            reason = self.metadata.get("finish_reason")
            if reason not in _CUT_OFF:
                raise
            cut_off = f"the reply was cut off at the token limit (finish_reason {reason!r})"
            raise ResponseFormatError(f"{error}; {cut_off}: raise max_tokens") from error

    def build(self) -> OrkesMessageSchema:
        """The assistant message: content, then ``id``, ``tool_calls``, ``metadata`` if any."""
        message = OrkesMessageSchema(role="assistant", content=self.text)
        if self.message_id:
            message["id"] = self.message_id
        tool_calls = self.tool_calls()
        if tool_calls:
            message["tool_calls"] = tool_calls
        metadata = dict(self.metadata)
        if self._usage is not None:
            metadata["usage"] = dict(self._usage)
            if self._raw_usage is not None:
                metadata["raw_usage"] = self._raw_usage
        if metadata:
            message["metadata"] = metadata
        return message


class StreamDecoder(ABC):
    """Reads the events of one streamed reply; a provider subclasses it.

    :meth:`feed` takes each event and returns the text it adds (possibly nothing).
    Set :attr:`done` when the service marks the end of the reply; the stream then stops
    reading. :meth:`is_complete` says, when the body ends, whether the reply arrived
    whole (by default: whether :attr:`done` was set); if not, the stream was cut.

    Attributes:
        reply: where :meth:`feed` records what it reads; :meth:`message` builds from it.
        done: set by :meth:`feed` when the service says the reply is over.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.reply = ReplyAssembler(service)
        self.done = False

    @abstractmethod
    def feed(self, event: ServerSentEvent) -> list[str]:
        """Read one event; return the pieces of text it carries, in order.

        Raises:
            ConnectorError: the event is malformed, or reports an error of the service.
        """

    def is_complete(self) -> bool:
        """Whether the reply arrived whole, asked when the body ends."""
        return self.done

    def message(self) -> OrkesMessageSchema:
        """The final assistant message, once the stream is over."""
        return self.reply.build()
