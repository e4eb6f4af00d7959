"""HTTP on the standard library: kept-alive connections, timeouts, retries, event streams.

:class:`HttpClient` talks to one service (one base URL). It keeps a small pool of idle
connections so that successive calls skip the TCP and TLS handshakes, puts a timeout on
every connect and read, and retries connection failures, 429 and 5xx answers with
exponential backoff and full jitter — or exactly the wait the service asks for in
``Retry-After`` (capped). Other 4xx answers are not retried. Every failure becomes one of
the :class:`~orkes.errors.ConnectorError` classes, with the service's own message and
never a secret.

A read timeout is not retried: the service got the request and may still be working on
it, and a second try would only double the wait.

Example:
    >>> client = HttpClient("https://api.example.com/v1", service="Example", timeout=5)
    >>> client
    HttpClient('https://api.example.com/v1', service='Example')
    >>> HttpRequest("/chat", {"model": "m"}, headers={"Authorization": "Bearer sk-1"})
    HttpRequest(path='/chat', body={'model': 'm'}, method='POST')
    >>> client.close()
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from orkes.connectors._closing import Closing
from orkes.connectors._connection import ConnectionPool, Exchange, release
from orkes.connectors._event_stream import EventStream
from orkes.connectors._status import (
    error_for_status,
    is_retryable_status,
    retry_after_from_body,
    retry_after_from_headers,
    service_message_from_body,
)
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    ConnectorTimeout,
    ResponseFormatError,
)

__all__ = ["HttpClient", "HttpRequest"]

logger = logging.getLogger("orkes.connectors.http")

_USER_AGENT = "orkes (python)"
_MAX_ERROR_BODY = 1024 * 1024
_STALE_CONNECTION_ERRORS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


@dataclass(frozen=True)
class HttpRequest:
    """One JSON request to a service; headers and secrets never show in its ``repr``.

    Attributes:
        path: the path below the client's base URL (``"/chat/completions"``).
        body: the JSON body.
        headers: extra headers, such as authentication.
        secrets: strings (API keys) to hide should the service echo them in an error.
        method: the HTTP method.
    """

    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    method: str = "POST"


class _TransportFailure(Exception):
    """The request did not get an answer (refused, reset, DNS): worth another try."""


class HttpClient(Closing):
    """A thread-safe JSON-over-HTTP client for one service.

    Args:
        base_url: ``scheme://host[:port][/path][?query]``; request paths go below it.
        service: a short name for messages (``"OpenAI"``).
        timeout: seconds to wait to connect, and for each read of the answer.
        max_retries: how many times to retry a failure worth retrying (0: never).
        sleep: the function that waits between attempts; tests pass a recorder.
        backoff_base: the first backoff ceiling in seconds; it doubles each attempt.
        backoff_max: the largest backoff ceiling in seconds.
        max_retry_after: the longest wait that a ``Retry-After`` header can impose.
        pool_size: how many idle connections to keep.
        ssl_context: for ``https``; the system's default trust store when ``None``.

    Raises:
        ConnectorError: the base URL or a setting can't work.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str = "the service",
        timeout: float = 60.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        pool_size: int = 8,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            message = f"base_url must look like 'https://host/path', got {base_url!r}"
            raise ConnectorError(message)
        if not timeout > 0 or max_retries < 0:
            message = f"timeout must be > 0 and max_retries >= 0, got {timeout!r}, {max_retries!r}"
            raise ConnectorError(message)
        self.base_url = base_url
        self.service = service
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.sleep = sleep
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base_path = parts.path.rstrip("/")
        self._base_query = parts.query
        self._ssl_context = ssl_context
        self._ssl_lock = threading.Lock()
        self._pool = ConnectionPool(self._new_connection, pool_size)
        # Close idle sockets when the client is collected, so forgetting close() leaks nothing.
        self._finalizer = weakref.finalize(self, self._pool.close)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, service={self.service!r})"

    def close(self) -> None:
        """Close the idle connections; the client stays usable and opens new ones."""
        self._pool.close()

    @property
    def idle_connections(self) -> int:
        """How many kept-alive connections wait for the next request."""
        return self._pool.idle_count

    def request_json(self, request: HttpRequest) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        exchange = self._send(request, accept="application/json")
        try:
            body = exchange.response.read()
        except TimeoutError as error:
            message = f"{exchange.where} did not finish its answer within {self.timeout:g} s"
            raise ConnectorTimeout(message) from error
        except (OSError, http.client.HTTPException) as error:
            message = f"the connection to {exchange.where} broke while reading the answer"
            raise ConnectionFailed(message) from error
        finally:
            release(exchange, self._pool)
        try:
            return json.loads(body)
        except ValueError as error:
            snippet = service_message_from_body(body, request.secrets)
            message = f"{exchange.where} answered with a body that is not JSON: {snippet!r}"
            raise ResponseFormatError(message, status=exchange.response.status) from error

    def open_event_stream(self, request: HttpRequest) -> EventStream:
        """Send ``request`` (with retries) and return its answer as a stream of events.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        exchange = self._send(request, accept="text/event-stream")
        content_type = exchange.response.getheader("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                body = exchange.response.read(_MAX_ERROR_BODY)
            except (OSError, http.client.HTTPException):
                body = b""
            release(exchange, self._pool)
            service_message = service_message_from_body(body, request.secrets)
            message = f"{exchange.where} answered with JSON where an event stream was asked for"
            raise ResponseFormatError(
                f"{message}: {service_message}" if service_message else message,
                status=exchange.response.status,
                service_message=service_message,
            )
        return EventStream(exchange, self._pool, self.timeout)

    def _new_connection(self) -> http.client.HTTPConnection:
        if not self._https:
            return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        with self._ssl_lock:
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
        return http.client.HTTPSConnection(
            self._host, self._port, timeout=self.timeout, context=self._ssl_context
        )

    def _target(self, path: str) -> str:
        target = f"{self._base_path}/{path.lstrip('/')}"
        if self._base_query:
            target += ("&" if "?" in target else "?") + self._base_query
        return target

    def _send(self, request: HttpRequest, *, accept: str) -> Exchange:
        """Send until a 2xx answer comes or the retries run out; return its exchange."""
        target = self._target(request.path)
        where = (
            f"{self.service} at {self._host}:{self._port} ({request.method} {target.split('?')[0]})"
        )
        try:
            payload = json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise BadRequest(f"the request to {where} can't be written as JSON: {error}") from error
        headers = {"Content-Type": "application/json", "Accept": accept, "User-Agent": _USER_AGENT}
        for name, value in request.headers.items():
            for default_name in [known for known in headers if known.lower() == name.lower()]:
                del headers[default_name]
            headers[name] = value
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                exchange = self._send_once(request.method, target, payload.encode(), headers, where)
            except _TransportFailure as failure:
                if attempt > self.max_retries:
                    tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                    message = f"could not reach {where} after {tries}: {failure}"
                    raise ConnectionFailed(message) from failure.__cause__
                reason = str(failure)
            else:
                response = exchange.response
                if 200 <= response.status <= 299:
                    return exchange
                try:
                    body = response.read(_MAX_ERROR_BODY)
                except (OSError, http.client.HTTPException):
                    body = b""
                release(exchange, self._pool)
                retry_after = retry_after_from_headers(dict(response.getheaders()))
                if retry_after is None and response.status == 429:
                    retry_after = retry_after_from_body(body)
                if not is_retryable_status(response.status) or attempt > self.max_retries:
                    raise error_for_status(
                        response.status,
                        response.reason,
                        body,
                        where=where,
                        secrets=request.secrets,
                        retry_after=retry_after,
                        attempts=attempt,
                    )
                reason = f"answered {response.status} {response.reason}"
            delay = self._delay_before_retry(attempt, retry_after)
            logger.info(
                "%s: %s; retry %d of %d in %.2f s", where, reason, attempt, self.max_retries, delay
            )
            self.sleep(delay)

    def _delay_before_retry(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0.0, ceiling)

    def _send_once(
        self, method: str, target: str, payload: bytes, headers: dict[str, str], where: str
    ) -> Exchange:
        """One request and the head of its answer.

        A pooled connection that the server closed meanwhile is dropped and the request
        resent on the next one, silently: that is no failure of the service.
        """
        while True:
            connection, reused = self._pool.acquire()
            try:
                if connection.sock is None:
                    connection.connect()
            except TimeoutError as error:
                connection.close()
                raise _TransportFailure(f"no connection within {self.timeout:g} s") from error
            except OSError as error:
                connection.close()
                raise _TransportFailure(str(error) or type(error).__name__) from error
            sock = connection.sock
            unsendable = False
            try:
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
            except TimeoutError as error:
                connection.close()
                message = f"{where} did not answer within {self.timeout:g} s"
                raise ConnectorTimeout(f"{message} (raise timeout= for slow models)") from error
            except (*_STALE_CONNECTION_ERRORS, http.client.RemoteDisconnected) as error:
                connection.close()
                if reused:
                    continue
                raise _TransportFailure(str(error) or type(error).__name__) from error
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise _TransportFailure(str(error) or type(error).__name__) from error
            except ValueError:
                # http.client quotes the bad header value (an API key!) in its message,
                # so the error is raised outside this block, with no context to leak it.
                connection.close()
                unsendable = True
            if unsendable:
                message = (
                    f"the request to {where} can't be sent: a header holds characters that "
                    "HTTP does not allow (check the API key for stray spaces or line breaks)"
                )
                raise BadRequest(message)
            return Exchange(connection, response, sock, where)
