"""Google's Gemini API (``generativelanguage`` v1beta): ``generateContent`` and its stream.

``POST {base_url}/models/{model}:generateContent`` with the key in the ``x-goog-api-key``
header, never in the URL. Streaming posts to ``:streamGenerateContent?alt=sse`` and reads
one ``GenerateContentResponse`` per Server-Sent Event until the body ends (there is no
end marker: a stream is whole once a candidate has brought its ``finishReason``).

How orkes messages travel (see :mod:`orkes.connectors._chat.gemini_request`): ``system``
messages become the ``systemInstruction``; ``assistant`` turns have the role ``model`` and
carry their tool calls as ``functionCall`` parts; ``tool`` messages become
``functionResponse`` parts of a ``user`` turn, consecutive ones in the same turn. A tool's
result that is a JSON object is sent as the response object; any other result is wrapped
as ``{"result": "<content>"}``. Parameters go into ``generationConfig``: ``max_tokens``,
``stop`` and ``n`` are translated, other names are Gemini's own, in snake_case or
camelCase; ``safety_settings``, ``tool_config`` and ``cached_content`` go beside it.

What comes back: the text of ``candidates[0]`` (thought summaries apart, in
``metadata["thoughts"]``), its ``functionCall`` parts as ``tool_calls``, and in
``metadata``: ``model`` (``modelVersion``), ``finish_reason`` (Gemini's own, such as
``"STOP"``), ``usage`` (``promptTokenCount``; ``candidatesTokenCount`` plus
``thoughtsTokenCount``, since thinking is billed as output), ``raw_usage`` and, for tool
calls that carry one, ``thought_signatures`` (sent back with the calls on the next turn,
as Gemini asks). The message ``id`` is the ``responseId``. Gemini may send calls without
an id: they get an id made from the response (the same answer gives the same ids),
starting with ``orkes_call_``; such ids are never sent back to the service, the ids it
issued always are.

A prompt that Gemini blocks (``promptFeedback.blockReason``), or a reply it stops for
safety, recitation or a blocklist without any text or call, raises
:class:`~orkes.errors.BadRequest` (the request's content is what was refused), with the
reason as ``service_message``. A reply that is nothing but a tool call Gemini could not
deliver (``MALFORMED_FUNCTION_CALL``, ``UNEXPECTED_TOOL_CALL``, ``TOO_MANY_TOOL_CALLS``)
raises :class:`~orkes.errors.ResponseFormatError`, with the ``finishMessage``.

Example:
    >>> connector = GeminiConnector("gemini-2.5-flash", api_key="AIza-secret", temperature=0)
    >>> connector  # doctest: +NORMALIZE_WHITESPACE
    GeminiConnector(model='gemini-2.5-flash',
                    base_url='https://generativelanguage.googleapis.com/v1beta')
    >>> connector.default_params, connector.has_api_key
    ({'temperature': 0}, True)
    >>> connector.close()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from orkes.connectors._chat.connector import HttpChatConnector, ToolDescription
from orkes.connectors._chat.gemini_request import (
    GENERATED_CALL_ID_PREFIX,
    THOUGHT_SIGNATURES,
    build_contents,
    function_declarations,
    split_params,
)
from orkes.connectors._chat.reply import (
    ReplyAssembler,
    StreamDecoder,
    as_dict,
    event_object,
    stream_error,
)
from orkes.connectors.transport.client import HttpRequest
from orkes.connectors.transport.protocol import Transport
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import BadRequest, ResponseFormatError
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["GeminiConnector"]

_GEMINI_API = "https://generativelanguage.googleapis.com/v1beta"
# Finish reasons that mean "refused": with nothing generated, they are an error.
_BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
     "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
)  # fmt: skip
# Finish reasons that mean "the model's tool call went wrong": with nothing else, an error.
_BROKEN_CALL_FINISH_REASONS = frozenset(
    {"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"}
)


class GeminiConnector(HttpChatConnector):
    """A connector for Google's Gemini API (Google AI Studio keys).

    Args:
        model: the model name (``"gemini-2.5-flash"``); a name with a ``/`` in it
            (``"tunedModels/my-model"``) is used as the resource path as it is.
        api_key: the API key; when ``None``, ``GEMINI_API_KEY`` or else ``GOOGLE_API_KEY``;
            none at all (``""``) sends no key. Never shown in ``repr``, errors or logs.
        base_url: the API root, ``.../v1beta``.
        timeout: seconds to wait to connect, and for each read of the answer.
        max_retries: retries of connection failures, 429 and 5xx answers.
        sleep: the function that waits between retries (tests pass a recorder).
        transport: how requests reach the service (:mod:`orkes.connectors.transport`):
            a :class:`~orkes.connectors.transport.StdlibTransport` of the connector's own
            when ``None``. One may serve many connectors; it is the caller's to close.
        **default_params: sent with every call (``temperature``, ``max_tokens``,
            ``safety_settings``, ``thinking_config``, …); the ``**params`` of a call
            override them, and ``model=`` picks another model for one call.

    Example:
        >>> gemini = GeminiConnector("gemini-2.5-flash", api_key="", max_tokens=256)
        >>> gemini.service, gemini.has_api_key, gemini.default_params
        ('Gemini', False, {'max_tokens': 256})
    """

    service = "Gemini"
    api_key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str = _GEMINI_API,
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
        params = dict(params)
        model = params.pop("model", None) or self.model
        request_fields, generation_config = split_params(params)
        contents, system_instruction = build_contents(messages)
        body: dict[str, Any] = {"contents": contents}
        if system_instruction is not None:
            body["systemInstruction"] = system_instruction
        if tools:
            body["tools"] = function_declarations(tools)
        body.update(request_fields)
        if generation_config:
            body["generationConfig"] = generation_config
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = {"x-goog-api-key": self._api_key} if self._api_key else {}
        return HttpRequest(f"/{_model_resource(str(model))}:{method}", body, headers=headers)

    def _parse_response(self, body: Any) -> OrkesMessageSchema:
        reply = ReplyAssembler(self.service)
        if isinstance(body, dict):
            _ResponseReader(self.service, reply).read(body)
        candidates = body.get("candidates") if isinstance(body, dict) else None
        if not isinstance(candidates, list) or not candidates:
            raise self._answered_without("candidates", body)
        return reply.build()

    def _new_stream_decoder(self) -> StreamDecoder:
        return _ChunkDecoder(self.service)


def _model_resource(model: str) -> str:
    """``gemini-2.5-flash`` → ``models/gemini-2.5-flash``; ``tunedModels/x`` stays."""
    name = model.strip().strip("/")
    return quote(name if "/" in name else f"models/{name}", safe="/")


class _ResponseReader:
    """Reads ``GenerateContentResponse`` documents into a reply.

    One document is a whole answer; or the chunks of a stream come one after the other.

    Attributes:
        finish_reason: the first candidate's ``finishReason``, once one came.
    """

    def __init__(self, service: str, reply: ReplyAssembler) -> None:
        self.service = service
        self.reply = reply
        self.finish_reason: str | None = None
        self._response_id = ""
        self._call_count = 0

    def read(self, document: dict[str, Any]) -> list[str]:
        """Record what ``document`` holds; return the pieces of answer text in it.

        Raises:
            BadRequest: Gemini blocked the prompt, or the reply before anything came.
            ResponseFormatError: a tool call's arguments are not a JSON object.
        """
        self._read_envelope(document)
        feedback = as_dict(document.get("promptFeedback"))
        if feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            raise _blocked(self.service, "the prompt", "blockReason", reason, feedback)
        candidates = document.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            return []
        # With candidateCount > 1 several candidates come side by side; the reply is the first.
        candidate = as_dict(candidates[0])
        texts: list[str] = []
        for part in _as_list(as_dict(candidate.get("content")).get("parts")):
            texts.extend(self._read_part(as_dict(part)))
        finish_reason = candidate.get("finishReason")
        if isinstance(finish_reason, str) and finish_reason:
            self.finish_reason = finish_reason
            self.reply.metadata["finish_reason"] = finish_reason
            nothing_came = not self.reply.text and not self._call_count
            if finish_reason in _BLOCKING_FINISH_REASONS and nothing_came:
                raise _blocked(self.service, "the reply", "finishReason", finish_reason, candidate)
            if finish_reason in _BROKEN_CALL_FINISH_REASONS and nothing_came:
                raise _broken_call(self.service, finish_reason, candidate.get("finishMessage"))
        return texts

    def _read_envelope(self, document: dict[str, Any]) -> None:
        response_id = document.get("responseId")
        if isinstance(response_id, str) and response_id:
            self._response_id = response_id
            self.reply.message_id = response_id
        if isinstance(document.get("modelVersion"), str):
            self.reply.metadata["model"] = document["modelVersion"]
        usage = document.get("usageMetadata")
        if isinstance(usage, dict):
            output_tokens = _count(usage.get("candidatesTokenCount")) + _count(
                usage.get("thoughtsTokenCount")
            )
            self.reply.set_usage(
                input_tokens=_count(usage.get("promptTokenCount")),
                output_tokens=output_tokens,
                raw=usage,
            )

    def _read_part(self, part: dict[str, Any]) -> list[str]:
        text = part.get("text")
        if isinstance(text, str) and text:
            if part.get("thought") is True:  # a thought summary, not the answer
                self.reply.metadata["thoughts"] = self.reply.metadata.get("thoughts", "") + text
                return []
            self.reply.add_text(text)
            return [text]
        function_call = part.get("functionCall")
        if isinstance(function_call, dict):
            self._read_function_call(function_call, part.get("thoughtSignature"))
        return []

    def _read_function_call(self, function_call: dict[str, Any], signature: object) -> None:
        name = function_call.get("name")
        name = name if isinstance(name, str) else ""
        arguments = function_call.get("args")
        call_id = function_call.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = self._made_up_id(name, arguments)
        self._call_count += 1
        self.reply.add_tool_call(call_id=call_id, name=name, arguments=arguments)
        if isinstance(signature, str) and signature:
            self.reply.metadata.setdefault(THOUGHT_SIGNATURES, {})[call_id] = signature

    def _made_up_id(self, name: str, arguments: object) -> str:
        """An id for a call that came without one: the same answer gives the same ids."""
        seed = [self._response_id, self._call_count, name, arguments]
        digest = hashlib.sha256(json.dumps(seed, sort_keys=True, default=str).encode())
        return GENERATED_CALL_ID_PREFIX + digest.hexdigest()[:24]


class _ChunkDecoder(StreamDecoder):
    """Reads the ``GenerateContentResponse`` chunks of ``streamGenerateContent?alt=sse``."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self._reader = _ResponseReader(service, self.reply)

    def feed(self, event: ServerSentEvent) -> list[str]:
        chunk = event_object(self.service, event)
        if chunk.get("error") is not None:
            raise stream_error(self.service, chunk["error"], event.data)
        return self._reader.read(chunk)

    def is_complete(self) -> bool:
        # No end marker: the last chunk is the one that brings the finish reason.
        return self._reader.finish_reason is not None


def _blocked(service: str, what: str, field: str, reason: str, rated: dict[str, Any]) -> BadRequest:
    """The error for a refusal; ``rated`` holds the ``safetyRatings`` that may say why."""
    flagged = [
        rating["category"]
        for rating in map(as_dict, _as_list(rated.get("safetyRatings")))
        if isinstance(rating.get("category"), str)
        and (rating.get("blocked") is True or rating.get("probability") in ("MEDIUM", "HIGH"))
    ]
    because = f" ({', '.join(flagged)})" if flagged else ""
    hint = "nothing was generated; rephrase it, or see safety_settings= for the thresholds"
    message = f"{service} blocked {what}: {field} {reason!r}{because}; {hint}"
    return BadRequest(message, service_message=reason)


def _broken_call(service: str, reason: str, said: object) -> ResponseFormatError:
    """The error for a reply that was only a tool call Gemini could not deliver."""
    said = said if isinstance(said, str) and said else None
    because = f" ({said})" if said else ""
    hint = "nothing else was generated; try the call again, or offer simpler tools"
    message = f"{service} wrote a tool call it could not deliver: finishReason {reason!r}"
    return ResponseFormatError(f"{message}{because}; {hint}", service_message=said)


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
