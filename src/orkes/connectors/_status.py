"""What a failed HTTP answer means: retry or not, the error class, the service's own words.

Pure functions, no I/O: the transport in :mod:`orkes.connectors._http` calls them.

Example:
    >>> error = error_for_status(
    ...     400, "Bad Request", b'{"error": {"message": "Unknown model"}}', where="Svc at host"
    ... )
    >>> type(error).__name__, error.status, error.service_message
    ('BadRequest', 400, 'Unknown model')
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

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
    "is_retryable_status",
    "parse_retry_after",
    "redact",
    "retry_after_from_body",
    "retry_after_from_headers",
    "service_message_from_body",
    "should_retry",
]

_MAX_MESSAGE_CHARS = 500
# Gemini answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
_INVALID_KEY_REASON = b"API_KEY_INVALID"
_REDACTED = "***"


def is_retryable_status(status: int) -> bool:
    """408 (request timeout), 429 (too many requests) and 5xx are worth another try.

    409 is not: the chat APIs document it for no transient condition (OpenAI's and
    Anthropic's own SDKs retry it as a "lock timeout"; those services then say so with
    ``x-should-retry: true``, which :func:`should_retry` obeys).
    """
    return status in (408, 429) or 500 <= status <= 599


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a failed answer is worth another try: the service's own word, else its status.

    OpenAI and Anthropic say it in ``x-should-retry: true|false``; it wins over the status.

    Example:
        >>> should_retry(503, {"X-Should-Retry": "false"}), should_retry(409, {})
        (False, False)
        >>> should_retry(409, {"x-should-retry": "true"}), should_retry(408, {})
        (True, True)
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    verdict = lowered.get("x-should-retry", "").strip().lower()
    if verdict in ("true", "false"):
        return verdict == "true"
    return is_retryable_status(status)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` by ``***``.

    Example:
        >>> redact("Incorrect API key provided: sk-123", ["sk-123"])
        'Incorrect API key provided: ***'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


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


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP-date.

    Returns ``None`` when the header is missing or unreadable, and never less than 0.

    Example:
        >>> parse_retry_after("2.5")
        2.5
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
        10.0
        >>> parse_retry_after("soon") is None
        True
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # "-0000" dates come back naive; they mean UTC.
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


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


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """The wait a service asks for: ``retry-after-ms`` (OpenAI) or ``Retry-After``.

    Example:
        >>> retry_after_from_headers({"retry-after-ms": "250", "Retry-After": "1"})
        0.25
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = parse_retry_after(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    return parse_retry_after(lowered.get("retry-after"))


def retry_after_from_body(body: bytes) -> float | None:
    """The wait a JSON error body asks for: Gemini's ``RetryInfo`` detail (``"33s"``).

    Example:
        >>> retry_after_from_body(b'{"error": {"code": 429, "details": ['
        ...     b'{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "33s"}]}}')
        33.0
        >>> retry_after_from_body(b"slow down") is None
        True
    """
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, list) and document:
        document = document[0]
    error = document.get("error") if isinstance(document, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            return parse_retry_after(delay[:-1])
    return None
