from __future__ import annotations

import pytest

from orkes.connectors.transport.status import (
    error_for_status,
    service_message_from_body,
)
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorError,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)

WHERE = "Svc at host:443 (POST /v1/chat)"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error": {"message": "Invalid model", "type": "invalid_request_error"}}',
            "Invalid model",
        ),
        (
            b'{"type": "error", "error": {"type": "overloaded", "message": "Overloaded"}}',
            "Overloaded",
        ),
        (
            b'[{"error": {"code": 400, "message": "API key not valid", "status": "X"}}]',
            "API key not valid",
        ),
        (b'{"error": "model \\"x\\" not found"}', 'model "x" not found'),
        (b'{"object": "error", "message": "vLLM says no"}', "vLLM says no"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (
            b'{"detail": [{"msg": "field required"}, {"msg": "bad type"}]}',
            "field required; bad type",
        ),
        (b'{"error": {"code": 5}}', None),
        (b'{"unrelated": 1}', None),
        (b"[]", None),
        (b"42", None),
        (b"{not json", None),
        (b"", None),
        (b"  Bad   Gateway \n", "Bad Gateway"),
    ],
)
def test_service_message_is_found_in_common_error_shapes(body: bytes, expected: str | None) -> None:
    assert service_message_from_body(body) == expected


def test_service_message_is_shortened_and_redacted() -> None:
    body = b'{"error": {"message": "bad key sk-secret-1 ' + b"x" * 2000 + b'"}}'
    message = service_message_from_body(body, ["sk-secret-1"])
    assert message is not None
    assert "sk-secret-1" not in message
    assert message.startswith("bad key *** x")
    assert len(message) == 500
    assert message.endswith("…")


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequest),
        (404, BadRequest),
        (422, BadRequest),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (429, RateLimited),
        (500, ServiceError),
        (503, ServiceError),
        (302, ResponseFormatError),
    ],
)
def test_error_class_follows_the_status(status: int, error_class: type[ConnectorError]) -> None:
    error = error_for_status(status, "Reason", b'{"error": {"message": "why"}}', where=WHERE)
    assert type(error) is error_class
    assert error.status == status
    assert error.service_message == "why"
    assert f"{WHERE} answered {status} Reason" in str(error)
    assert "why" in str(error)


def test_error_message_exact_text() -> None:
    error = error_for_status(
        400, "Bad Request", b'{"error": {"message": "Unknown model x"}}', where=WHERE
    )
    assert str(error) == f"{WHERE} answered 400 Bad Request: Unknown model x"
    auth = error_for_status(401, "Unauthorized", b"", where=WHERE)
    assert str(auth) == (
        f"{WHERE} answered 401 Unauthorized (check the API key and that it may use this model)"
    )
    assert auth.service_message is None


def test_rate_limited_keeps_retry_after_and_attempts_are_counted() -> None:
    error = error_for_status(
        429, "Too Many Requests", b"", where=WHERE, retry_after=2.0, attempts=4
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0
    assert str(error) == f"{WHERE} answered 429 Too Many Requests (after 4 attempts)"


def test_a_note_says_why_the_retries_stopped_next_to_the_attempts() -> None:
    error = error_for_status(
        429, "Too Many Requests", b"", where=WHERE, retry_after=90.0, attempts=2, note="too long"
    )
    assert str(error) == f"{WHERE} answered 429 Too Many Requests (after 2 attempts; too long)"
    alone = error_for_status(503, "Service Unavailable", b"busy", where=WHERE, note="too long")
    assert str(alone) == f"{WHERE} answered 503 Service Unavailable (too long): busy"


def test_error_never_contains_a_secret_echoed_by_the_service() -> None:
    body = b'{"error": {"message": "Incorrect API key provided: sk-live-123"}}'
    error = error_for_status(401, "Unauthorized", body, where=WHERE, secrets=["sk-live-123"])
    assert "sk-live-123" not in str(error)
    assert error.service_message == "Incorrect API key provided: ***"
