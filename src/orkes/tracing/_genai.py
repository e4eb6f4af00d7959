"""One LLM call as an OpenTelemetry span, named and tagged as the GenAI conventions say.

A ``chat <model>`` span of kind CLIENT: ``gen_ai.operation.name``, ``gen_ai.provider.name``
(and the older ``gen_ai.system``), ``gen_ai.request.*`` (model, and the parameters the
conventions name), ``gen_ai.response.*`` (model, id, finish reasons),
``gen_ai.usage.input_tokens`` / ``output_tokens``, ``server.address`` / ``server.port``.
Messages are not put on spans. A failed call (like any failure, :func:`record`) ends
with status ERROR and an ``exception`` event, redacted as a tracer redacts its traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from orkes.tracing._calls import secrets_of

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from orkes.tracing._clean import Cleaner

__all__ = [
    "Attributes",
    "CallSpan",
    "provider_of",
    "record",
    "reply_attributes",
    "request_attributes",
]

Attributes = dict[str, "AttributeValue"]

_PROVIDERS = {
    "OpenAIConnector": "openai",
    "AnthropicConnector": "anthropic",
    "GeminiConnector": "gcp.gemini",
    "EchoLlmConnector": "orkes.echo",
}

# A call's parameters that the GenAI conventions name (the services' spellings of each).
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "stop_sequences": "gen_ai.request.stop_sequences",
}


class CallSpan:
    """One LLM call: a ``chat <model>`` span (an :class:`orkes._observe.CallRecorder`)."""

    __slots__ = ("_cleaner", "_done", "_retries", "span")

    def __init__(
        self,
        tracer: trace.Tracer,
        cleaner: Cleaner,
        connector: object,
        parent: Span,
        where: Attributes,
    ) -> None:
        cleaner.learn(secrets_of(connector, cleaner))
        self._cleaner = cleaner
        self._done = False
        self._retries = 0
        provider = provider_of(connector)
        attributes: Attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,  # the older name of the provider, still widely read
            "orkes.connector": type(connector).__name__,
            **where,
        }
        model = getattr(connector, "model", None)
        if isinstance(model, str):
            attributes["gen_ai.request.model"] = model
        self.span = tracer.start_span(
            f"chat {model}" if isinstance(model, str) else "chat",
            trace.set_span_in_context(parent),
            SpanKind.CLIENT,
            attributes,
        )

    def sent(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        tools: Sequence[str] = (),
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        """The request: model, the parameters the conventions name, tools, server."""
        self._cleaner.learn(secrets)
        span = self.span
        if model is not None:
            span.set_attribute("gen_ai.request.model", model)
            span.update_name(f"chat {model}")
        span.set_attributes(request_attributes(params or {}))
        if tools:
            span.set_attribute("orkes.tools", list(map(str, tools)))
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.hostname:
                span.set_attribute("server.address", parts.hostname)
            if parts.port is not None:
                span.set_attribute("server.port", parts.port)

    def retried(self) -> None:
        """The request was sent again."""
        self._retries += 1

    def replied(self, message: Mapping[str, Any]) -> None:
        """The call ended with ``message``: token usage, response model and id, finish."""
        if self._done:
            return
        self.span.set_attributes(reply_attributes(message))
        self._end()

    def failed(self, error: BaseException) -> None:
        """The call ended with ``error``: status ERROR and an ``exception`` event."""
        if self._done:
            return
        record(self.span, error, self._cleaner)
        self._end()

    def _end(self) -> None:
        self._done = True
        if self._retries:
            self.span.set_attribute("orkes.retries", self._retries)
        self.span.end()


def provider_of(connector: object) -> str:
    """``gen_ai.provider.name`` of a connector: ``"openai"``, …; else its class's name."""
    for kind in type(connector).__mro__:
        if kind.__name__ in _PROVIDERS:
            return _PROVIDERS[kind.__name__]
    name = type(connector).__name__
    return name.removesuffix("Connector").lower() or name.lower()


def request_attributes(params: Mapping[str, Any]) -> Attributes:
    """The GenAI request attributes of a call's parameters (those that are numbers, stops)."""
    found: Attributes = {}
    for key, value in params.items():
        name = _REQUEST_PARAMS.get(key)
        if name is None:
            continue
        if name.endswith("stop_sequences"):
            stops = [value] if isinstance(value, str) else value
            if isinstance(stops, (list, tuple)) and all(isinstance(s, str) for s in stops):
                found[name] = list(stops)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[name] = value
    return found


def reply_attributes(message: Mapping[str, Any]) -> Attributes:
    """The GenAI response attributes of a reply: usage, model, id, finish reason."""
    found: Attributes = {}
    metadata = message.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    usage = metadata.get("usage")
    if isinstance(usage, Mapping):
        for key in ("input_tokens", "output_tokens"):
            count = usage.get(key)
            if isinstance(count, int) and not isinstance(count, bool):
                found[f"gen_ai.usage.{key}"] = count
    model, reason, ident = metadata.get("model"), metadata.get("finish_reason"), message.get("id")
    if isinstance(model, str):
        found["gen_ai.response.model"] = model
    if isinstance(reason, str):
        found["gen_ai.response.finish_reasons"] = [reason]
    if isinstance(ident, str):
        found["gen_ai.response.id"] = ident
    return found


def record(span: Span, error: BaseException, cleaner: Cleaner) -> None:
    """Status ERROR, ``error.type``, and an ``exception`` event, all redacted."""
    made = cleaner.error(error)
    span.set_attribute("error.type", made.type)
    span.add_event(
        "exception",
        {
            "exception.type": made.type,
            "exception.message": made.message,
            "exception.stacktrace": made.traceback,
        },
    )
    span.set_status(Status(StatusCode.ERROR, f"{made.type}: {made.message}"))
