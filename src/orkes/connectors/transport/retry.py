"""Whether and when to send a request again: one pure function over what came back.

Every transport runs the same attempts (:mod:`._attempts`) and asks :func:`decide_retry`
after each failure. Connection failures, 408, 429 and 5xx answers are retried with
exponential backoff and full jitter — or exactly the wait the service asks for in
``retry-after-ms``, ``Retry-After`` or Gemini's ``RetryInfo``. A service that asks for a
longer wait than :attr:`RetryRules.max_retry_after` gets no retry: its error is raised at
once, hint included. The service's ``x-should-retry`` header, when present, decides over
the status. Other 4xx answers are not retried.

Example:
    >>> rules = RetryRules(max_retries=2)
    >>> decide_retry(rules, 1, status=503, jitter=0.5)
    RetryDecision(retry=True, delay=0.25, retry_after=None, note=None)
    >>> decide_retry(rules, 1, status=429, headers={"Retry-After": "120"}, jitter=0.5).note
    'it asks to wait 120 s, longer than max_retry_after=60 s'
    >>> decide_retry(rules, 3, status=None, jitter=0.5).retry  # the retries ran out
    False
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = [
    "RetryDecision",
    "RetryRules",
    "decide_retry",
    "is_retryable_status",
    "parse_retry_after",
    "retry_after_from_body",
    "retry_after_from_headers",
    "should_retry",
]


@dataclass(frozen=True, slots=True)
class RetryRules:
    """How many times, and how patiently, a request is sent again.

    Attributes:
        max_retries: retries after the first attempt (0: never retry).
        backoff_base: the first backoff ceiling in seconds; it doubles each attempt.
        backoff_max: the largest backoff ceiling in seconds.
        max_retry_after: the longest wait a service's hint may impose; a longer one
            raises at once instead of being waited out.
        sleep: waits between attempts (tests pass a recorder); with :func:`time.sleep`,
            a transport waits on the call's stop event instead, so a give-up cuts it short.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What :func:`decide_retry` answered.

    Attributes:
        retry: send the request again.
        delay: seconds to wait first (when ``retry``).
        retry_after: the wait the service asked for, if it did.
        note: why no retry although the failure is worth one (a hint too long to wait).
    """

    retry: bool
    delay: float
    retry_after: float | None
    note: str | None


def decide_retry(
    rules: RetryRules,
    attempt: int,
    *,
    status: int | None,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    jitter: float,
    now: float | None = None,
) -> RetryDecision:
    """Whether attempt number ``attempt`` (from 1), which failed, is followed by another.

    Args:
        rules: the limits.
        attempt: the attempt that just failed, counted from 1.
        status: the answer's status; ``None`` when no answer came (refused, reset, DNS).
        headers: the answer's headers.
        body: the start of the answer's body (Gemini says how long to wait in it).
        jitter: a number in ``[0, 1)`` that picks the backoff within its ceiling; the
            transport draws it (``random.random()``), so this function stays pure.
        now: the time (``time.time()``) against which a ``Retry-After`` date is read;
            the clock's when ``None`` (give it, and the answer depends on nothing else).
    """
    retry_after: float | None = None
    note: str | None = None
    if status is None:
        worth_it = True
    else:
        headers = headers or {}
        retry_after = retry_after_from_headers(headers, now=now)
        if retry_after is None and status == 429:
            retry_after = retry_after_from_body(body)
        worth_it = should_retry(status, headers)
        if worth_it and retry_after is not None and retry_after > rules.max_retry_after:
            note = (
                f"it asks to wait {retry_after:g} s, "
                f"longer than max_retry_after={rules.max_retry_after:g} s"
            )
    if not worth_it or note is not None or attempt > rules.max_retries:
        return RetryDecision(False, 0.0, retry_after, note)
    # A hint of 0 (or a date already past) is no hint: trying again at once would hammer
    # a service that is struggling, so the usual jittered backoff applies.
    if retry_after is not None and retry_after > 0:
        return RetryDecision(True, retry_after, retry_after, None)
    ceiling = min(rules.backoff_max, rules.backoff_base * 2 ** (attempt - 1))
    return RetryDecision(True, jitter * ceiling, retry_after, None)


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


def retry_after_from_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """The wait a service asks for: ``retry-after-ms`` (OpenAI) or ``Retry-After``.

    Example:
        >>> retry_after_from_headers({"retry-after-ms": "250", "Retry-After": "1"})
        0.25
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = parse_retry_after(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    return parse_retry_after(lowered.get("retry-after"), now=now)


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
