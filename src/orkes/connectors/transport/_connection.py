"""Kept-alive connections: a pool of idle ones, one exchange in progress, the request written.

Example:
    >>> import http.client
    >>> pool = ConnectionPool(lambda: http.client.HTTPConnection("127.0.0.1", 9), size=2)
    >>> connection, reused = pool.acquire()
    >>> reused, pool.idle_count
    (False, 0)
    >>> connection.close()
    >>> pool.close()
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from orkes.connectors._secrets import HeaderValue, HiddenValue
from orkes.errors import BadRequest, ConnectorError

__all__ = [
    "ConnectionPool",
    "Exchange",
    "UrlParts",
    "check_target",
    "encode_body",
    "merge_headers",
    "read_error_body",
    "release",
    "split_url",
    "write_request",
]

_MAX_ERROR_BODY = 1024 * 1024

# What http.client refuses in a URL (spaces, control characters), and anything not ASCII.
_NOT_IN_URL = re.compile(r"[^\x21-\x7e]")


def merge_headers(
    defaults: Mapping[str, str], own: Mapping[str, str]
) -> list[tuple[str, HeaderValue]]:
    """``defaults``, each overridden by a header of ``own`` whatever its case; ``own`` hidden.

    The values of ``own`` are wrapped as they are read (``map``, not a loop variable): they
    carry the API key, which no frame that a traceback might record may hold.

    Example:
        >>> merge_headers({"Accept": "a/b"}, {"accept": "c/d", "Authorization": "Bearer sk"})
        [('accept', '***'), ('Authorization', '***')]
    """
    merged: dict[str, tuple[str, HeaderValue]] = {
        name.lower(): (name, value) for name, value in defaults.items()
    }
    for name, hidden in zip(own.keys(), map(HiddenValue, own.values()), strict=True):
        merged[name.lower()] = (name, hidden)
    return list(merged.values())


def check_target(target: str, service_at: str) -> None:
    """Refuse a path (a model name, say) that no URL can carry, before anything is sent.

    The path is quoted with ``repr`` (a raw line break would forge a log line); the query is
    not quoted at all, as it may hold a key.
    """
    bad = _NOT_IN_URL.search(target)
    if bad is None:
        return
    path = target.partition("?")[0]
    if bad.start() < len(path):
        culprit = f"path {path!r} holds {bad.group()!r}"
    else:
        culprit = f"query holds {bad.group()!r}"
    message = (
        f"the request to {service_at} can't be sent: its {culprit}, which a URL can't carry "
        "unencoded (check the model name and base_url)"
    )
    raise BadRequest(message)


def write_request(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    payload: bytes,
    headers: Sequence[tuple[str, HeaderValue]],
) -> None:
    """Send the request line, the headers and the body, as ``connection.request`` would.

    A hidden value is revealed only as the argument of ``putheader``, so no frame of ours
    holds it, even while http.client raises.
    """
    names = {name.lower() for name, _ in headers}
    connection.putrequest(
        method,
        target,
        skip_host="host" in names,
        skip_accept_encoding="accept-encoding" in names,
    )
    connection.putheader("Content-Length", str(len(payload)))
    for name, value in headers:
        connection.putheader(name, value.reveal() if isinstance(value, HiddenValue) else value)
    connection.endheaders(payload)


class ConnectionPool:
    """Idle kept-alive connections to one host, shared by threads.

    A connection that waited longer than ``max_idle`` seconds is closed instead of reused:
    a NAT or load balancer may have forgotten it without telling either end, and a request
    sent on it would vanish until the read timeout.
    """

    def __init__(
        self,
        new_connection: Callable[[], http.client.HTTPConnection],
        size: int,
        *,
        max_idle: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_connection = new_connection
        self._size = size
        self._max_idle = max_idle
        self._clock = clock
        # (connection, when it went idle), oldest first: release appends, acquire pops.
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def acquire(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (``True``: it was used before) or a new one (``False``)."""
        with self._lock:
            now = self._clock()
            expired = 0
            while expired < len(self._idle) and now - self._idle[expired][1] > self._max_idle:
                expired += 1
            stale = [connection for connection, _ in self._idle[:expired]]
            del self._idle[:expired]
            reusable = self._idle.pop()[0] if self._idle else None
        for connection in stale:
            connection.close()
        if reusable is not None:
            return reusable, True
        return self._new_connection(), False

    def release(self, connection: http.client.HTTPConnection) -> None:
        """Keep a connection whose last response was read to the end, if there is room."""
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append((connection, self._clock()))
                return
        connection.close()

    @property
    def idle_count(self) -> int:
        """How many connections wait in the pool."""
        return len(self._idle)

    def close(self) -> None:
        """Close every idle connection (those in use are pooled again when released)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()


@dataclass
class Exchange:
    """A request sent and the head of its answer, on a connection we own until released."""

    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse
    sock: socket.socket | None
    where: str


def release(exchange: Exchange, pool: ConnectionPool) -> None:
    """Pool the connection if its answer was read to the end and it stays open, else close."""
    response = exchange.response
    if response.isclosed() and not response.will_close:
        pool.release(exchange.connection)
    else:
        response.close()
        exchange.connection.close()


def encode_body(body: Mapping[str, Any], where: str) -> bytes:
    """The request's JSON in UTF-8, or a :class:`BadRequest` that says what can't be written."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise BadRequest(f"the request to {where} can't be written as JSON: {error}") from error
    try:
        return text.encode()
    except UnicodeEncodeError as error:
        culprit = error.object[error.start : error.end]
        before = error.object[max(0, error.start - 20) : error.start]
        message = (
            f"the request to {where} can't be written as UTF-8: it holds the lone surrogate "
            f"{culprit!r} after {before!r} (text decoded with errors='surrogateescape', "
            "or half of an escaped emoji?)"
        )
        raise BadRequest(message) from error


def read_error_body(response: http.client.HTTPResponse) -> bytes:
    """The start of an error answer's body; a connection that broke meanwhile leaves none."""
    try:
        return response.read(_MAX_ERROR_BODY)
    except (OSError, http.client.HTTPException):
        return b""


@dataclass(frozen=True)
class UrlParts:
    """An absolute URL taken apart: where to connect, and what to ask for there."""

    scheme: str
    host: str
    port: int
    path_and_query: str  # as given: check it with :func:`check_target` before sending


def split_url(url: str, service: str) -> UrlParts:
    """``url``'s parts; the path and query are cut off by hand, so nothing in them is lost.

    (``urlsplit`` silently drops tabs and line breaks: :func:`check_target` must see them.)

    Raises:
        ConnectorError: not an ``http``/``https`` URL with a host, or a port that is no
            number; the message never shows the query, which may hold a key.
    """
    scheme, separator, rest = url.partition("://")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    parts = urlsplit(f"{scheme}://{rest[:cut]}")
    shown = url.split("?")[0]
    if not separator or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(
            f"{service}: the URL must look like 'https://host/path', got {shown!r}"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise ConnectorError(f"{service}: {error} in {shown!r}") from None
    path_and_query = rest[cut:]
    if not path_and_query.startswith("/"):
        path_and_query = "/" + path_and_query
    return UrlParts(parts.scheme, parts.hostname, port, path_and_query)
