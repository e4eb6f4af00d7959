"""What a failed HTTP answer means: the error class, and the service's own words.

Pure functions, no I/O: every transport calls them (through :mod:`._attempts`).

Example:
    >>> error = error_for_status(
    ...     400, "Bad Request", b'{"error": {"message": "Unknown model"}}', where="Svc at host"
    ... )
    >>> type(error).__name__, error.status, error.service_message
    ('BadRequest', 400, 'Unknown model')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from orkes.connectors._secrets import redact
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorError,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)

__all__ = [
    "error_for_status",
    "not_an_event_stream",
    "not_events",
    "service_message_from_body",
]

_MAX_MESSAGE_CHARS = 500
# Gemini answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
_INVALID_KEY_REASON = b"API_KEY_INVALID"
_REDACTED = "***"
# What a 2xx answer to a streaming request may hold instead of events, by media type.
_NOT_EVENTS = {"application/json": "JSON", "text/html": "an HTML page"}
_HTML_HINT = " (check base_url, and whether a proxy or a login page stands in the way)"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_CHARS:
        return text[: _MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _message_in(document: Any) -> str | None:
    """Find the human-readable message in the error shapes that LLM services use."""
    if isinstance(document, list) and document:
        # Some services (Gemini) wrap the error object in a list.
        return _message_in(document[0])
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict):
        inner = _message_in(error)
        if inner:
            return inner
    if isinstance(error, str) and error:
        return error
    for key in ("message", "detail", "error_description", "msg"):
        value = document.get(key)
        if isinstance(value, str) and value:
            return value
        if key == "detail" and isinstance(value, list) and value:
            # FastAPI-style validation errors: a list of {"msg": ...}.
            return "; ".join(filter(None, (_message_in(item) for item in value))) or None
    return None


def service_message_from_body(body: bytes, secrets: Iterable[str] = ()) -> str | None:
    """The service's own explanation, from a JSON error body or else from plain text.

    Example:
        >>> service_message_from_body(b'{"type": "error", "error": {"message": "Overloaded"}}')
        'Overloaded'
        >>> service_message_from_body(b"upstream connect error")
        'upstream connect error'
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        message = _message_in(json.loads(text))
    except ValueError:
        message = None if text.startswith(("{", "[")) else text
    if message is None:
        return None
    return _shorten(redact(message, secrets))


def error_for_status(
    status: int,
    reason: str,
    body: bytes,
    *,
    where: str,
    secrets: Iterable[str] = (),
    retry_after: float | None = None,
    attempts: int = 1,
    note: str | None = None,
) -> ConnectorError:
    """Build the error for a non-2xx answer; never includes a secret.

    Args:
        status: the HTTP status.
        reason: the HTTP reason phrase (``"Not Found"``).
        body: the response body, from which the service's message is taken.
        where: says who answered to what, e.g. ``"OpenAI at api.openai.com (POST /v1/x)"``.
        secrets: strings to hide should the service echo them back.
        retry_after: the parsed ``Retry-After`` hint, kept on :class:`RateLimited`.
        attempts: how many times the request was sent.
        note: why the retries stopped early, when they did (said in parentheses).
    """
    service_message = service_message_from_body(body, secrets)
    answered = f"{where} answered {status} {reason}".rstrip()
    remarks = [f"after {attempts} attempts"] if attempts > 1 else []
    if note:
        remarks.append(note)
    if remarks:
        answered += f" ({'; '.join(remarks)})"
    message = f"{answered}: {service_message}" if service_message else answered
    if status in (401, 403) or (status == 400 and _INVALID_KEY_REASON in body):
        hint = "check the API key and that it may use this model"
        return AuthenticationError(
            f"{message} ({hint})", status=status, service_message=service_message
        )
    if status == 429:
        return RateLimited(
            message, status=status, service_message=service_message, retry_after=retry_after
        )
    if 400 <= status <= 499:
        return BadRequest(message, status=status, service_message=service_message)
    if 500 <= status <= 599:
        return ServiceError(message, status=status, service_message=service_message)
    return ResponseFormatError(
        f"{message} (expected a 2xx answer)", status=status, service_message=service_message
    )


def not_events(content_type: str) -> str | None:
    """What a 2xx answer to a streaming request plainly holds instead of events, if it does.

    JSON (an error, or a whole reply) and HTML (a proxy's or a captive portal's page) are
    no stream; any other type is read as events, since some servers mislabel theirs.

    Example:
        >>> not_events("text/html; charset=utf-8"), not_events("text/event-stream")
        ('an HTML page', None)
    """
    return _NOT_EVENTS.get(content_type.partition(";")[0].strip().lower())


def not_an_event_stream(
    kind: str, body: bytes, *, where: str, status: int, secrets: Iterable[str] = ()
) -> ResponseFormatError:
    """The error for an answer of ``kind`` (:func:`not_events`) to a streaming request.

    Example:
        >>> error = not_an_event_stream("JSON", b'{"error": "off"}', where="Svc", status=200)
        >>> str(error), error.service_message
        ('Svc answered with JSON where an event stream was asked for: off', 'off')
    """
    service_message = service_message_from_body(body, secrets)
    message = f"{where} answered with {kind} where an event stream was asked for"
    if kind == _NOT_EVENTS["text/html"]:
        message += _HTML_HINT
    return ResponseFormatError(
        f"{message}: {service_message}" if service_message else message,
        status=status,
        service_message=service_message,
    )
