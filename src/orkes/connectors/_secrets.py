"""Secret handling for every connector, in one place: keys held, hidden, and redacted.

An API key lives in a :class:`Secret` until the request is built; header values travel
as :class:`HiddenValue` until they are written to the socket; any text that may quote a
key (a service's error message, an error event) goes through :func:`redact`, and an
error that showed one is replaced by :func:`without_secrets`. Whatever records a frame's
locals (``pytest -l``, Sentry, ``TracebackException(capture_locals=True)``) uses
``repr``, so it records ``'***'``.

Example:
    >>> key = Secret("sk-1")
    >>> key, key.value
    (Secret('***'), 'sk-1')
    >>> HiddenValue("Bearer sk-1")
    '***'
    >>> redact("Incorrect API key provided: sk-1", ["sk-1"])
    'Incorrect API key provided: ***'
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from orkes.errors import ConnectorError

__all__ = [
    "REDACTED",
    "HeaderValue",
    "HiddenValue",
    "Secret",
    "redact",
    "without_frames",
    "without_secrets",
]

REDACTED = "***"
"""What a secret is replaced with."""


class Secret:
    """Holds an API key; its ``repr`` (and so ``vars()`` of its owner) shows ``***``."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('***')"


class HiddenValue:
    """A header value (it may hold an API key) that ``repr`` shows as ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "'***'"

    def reveal(self) -> str:
        """The value itself: pass it straight on as an argument, never bind it to a name."""
        return self._value


HeaderValue: TypeAlias = str | HiddenValue


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def without_frames(error: BaseException) -> BaseException:
    """``error`` with its traceback dropped, for use as the cause of our own error.

    http.client's frames hold the request's header bytes (``msg`` in ``_send_output``),
    the API key among them; the cause keeps its type and message, which hold no header.
    """
    return error.with_traceback(None)


def without_secrets(error: ConnectorError, secrets: Iterable[str]) -> ConnectorError:
    """``error`` itself, or a copy with ``***`` for each secret its text shows.

    The message (``args[0]``) and ``service_message`` are redacted; the copy keeps the
    class and the other attributes, but neither the cause nor the traceback, whose
    frames' locals may hold what was redacted.

    Example:
        >>> from orkes.errors import ServiceError
        >>> without_secrets(ServiceError("bad key sk-1", service_message="bad key sk-1"), ["sk-1"])
        ServiceError('bad key ***')
    """
    secrets = [secret for secret in secrets if secret]
    message = str(error.args[0]) if error.args else ""
    hidden_message = redact(message, secrets)
    service_message = error.service_message
    hidden_service_message = None if service_message is None else redact(service_message, secrets)
    if hidden_message == message and hidden_service_message == service_message:
        return error
    hidden = copy.copy(error)
    hidden.args = (hidden_message, *error.args[1:])
    hidden.service_message = hidden_service_message
    hidden.__cause__ = None
    hidden.__suppress_context__ = True
    hidden.__traceback__ = None
    return hidden
