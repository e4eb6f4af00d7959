"""Whether and when a request is sent again: the pure decision every transport consults."""

from __future__ import annotations

import pytest

from orkes.connectors.transport.retry import (
    RetryRules,
    decide_retry,
    is_retryable_status,
    parse_retry_after,
    retry_after_from_headers,
    should_retry,
)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (599, True),
        (400, False),
        (401, False),
        (404, False),
        (409, False),
    ],
)
def test_only_408_429_and_5xx_are_retryable(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


@pytest.mark.parametrize(
    ("status", "headers", "retry"),
    [
        (503, {"x-should-retry": "false"}, False),
        (429, {"X-Should-Retry": " FALSE "}, False),
        (409, {"x-should-retry": "true"}, True),
        (401, {"x-should-retry": "true"}, True),
        (409, {}, False),
        (503, {"x-should-retry": "maybe"}, True),
        (400, {"x-should-retry": "maybe"}, False),
    ],
)
def test_x_should_retry_wins_over_the_status(
    status: int, headers: dict[str, str], retry: bool
) -> None:
    assert should_retry(status, headers) is retry


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 -0000", None),
        ("later", None),
        ("inf", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=1445412480.0) == expected


def test_parse_retry_after_uses_the_clock_for_dates() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT") == 0.0  # long past


def test_retry_after_headers_prefer_milliseconds() -> None:
    assert retry_after_from_headers({"Retry-After-Ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_from_headers({"retry-after": "2"}) == 2.0
    assert retry_after_from_headers({"Retry-After-Ms": "soon", "Retry-After": "2"}) == 2.0
    assert retry_after_from_headers({}) is None


def test_a_retry_after_date_is_read_against_the_time_given() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}
    decision = decide_retry(
        RetryRules(), 1, status=503, headers=headers, jitter=0.0, now=1445412480.0
    )
    assert (decision.retry, decision.delay, decision.retry_after) == (True, 10.0, 10.0)
