"""HTTP on the standard library: kept-alive connections, timeouts, retries, event streams.

:class:`HttpClient` talks to one service (one base URL). It keeps a small pool of idle
connections so that successive calls skip the TCP and TLS handshakes, puts a timeout on
every connect and read, and retries connection failures, 408, 429 and 5xx answers with
exponential backoff and full jitter — or exactly the wait the service asks for in
``Retry-After``. A service that asks for a longer wait than ``max_retry_after`` gets no
retry: its error is raised at once, hint included. The service's ``x-should-retry``
header, when present, decides over the status. Other 4xx answers are not retried. Every
failure becomes one of the :class:`~orkes.errors.ConnectorError` classes, with the
service's own message and never a secret.

A read timeout is not retried: the service got the request and may still be working on
it, and a second try would only double the wait. Nor is a request that can't be written
(a lone surrogate in the body, a space in the URL): that is a :class:`BadRequest` at once.

The request's header values (the API key among them) stay wrapped until they are handed
to ``putheader``: a traceback that records frame locals (``pytest -l``, Sentry) shows
``'***'``, never the key.

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
import re
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from orkes.connectors._closing import Closing
from orkes.connectors._connection import (
    ConnectionPool,
    Exchange,
    HeaderValue,
    check_target,
    encode_body,
    merge_headers,
    read_error_body,
    release,
    without_frames,
    write_request,
)
from orkes.connectors._event_stream import EventStream
from orkes.connectors._status import (
    error_for_status,
    retry_after_from_body,
    retry_after_from_headers,
    service_message_from_body,
    should_retry,
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
_STALE_CONNECTION_ERRORS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
# What http.client refuses anywhere in a URL (non-ASCII paths are caught per request: a
# non-ASCII host is fine, it goes out IDNA-encoded).
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class HttpRequest:
    """One JSON request to a service; headers and secrets never show in its ``repr``.

    Attributes:
        path: the path below the client's base URL (``"/chat/completions"``).
        body: the JSON body.
        headers: extra headers, such as authentication.
        secrets: strings (API keys) to hide should the service echo them in an error.
        method: the HTTP method.
        on_retry: called each time the request is sent again (a tracer counts retries).
    """

    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    method: str = "POST"
    on_retry: Callable[[], None] | None = field(default=None, repr=False, compare=False)


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
        max_retry_after: the longest wait that a ``Retry-After`` hint may impose; a longer
            one raises at once instead of being waited out.
        pool_size: how many idle connections to keep.
        idle_timeout: seconds an idle connection may wait in the pool and still be reused.
        ssl_context: for ``https``; the system's default trust store when ``None``.

    Raises:
        ConnectorError: the base URL or a setting can't work (:class:`BadRequest` for a
            base URL with a space or a control character).
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
        idle_timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # Checked before urlsplit, which silently drops tabs and line breaks.
        if (bad := _SPACE_OR_CONTROL.search(base_url)) is not None:
            message = f"base_url can't hold {bad.group()!r} (percent-encode it), got {base_url!r}"
            raise BadRequest(message)
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
        self._pool = ConnectionPool(self._new_connection, pool_size, max_idle=idle_timeout)
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

    def request_json(self, request: HttpRequest, *, stop: threading.Event | None = None) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Setting ``stop`` (from any thread) gives up between attempts, even mid-wait.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        exchange = self._send(request, accept="application/json", stop=stop)
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
        except ValueError:
            snippet = service_message_from_body(body, request.secrets)
        # Raised outside the except, with the body gone from this frame: the decoder's error
        # and the frame's locals would show the whole body, an echoed key included.
        del body
        message = f"{exchange.where} answered with a body that is not JSON: {snippet!r}"
        raise ResponseFormatError(message, status=exchange.response.status)

    def open_event_stream(
        self, request: HttpRequest, *, stop: threading.Event | None = None
    ) -> EventStream:
        """Send ``request`` (with retries) and return its answer as a stream of events.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        exchange = self._send(request, accept="text/event-stream", stop=stop)
        content_type = exchange.response.getheader("Content-Type", "")
        if content_type.startswith("application/json"):
            body = read_error_body(exchange.response)
            release(exchange, self._pool)
            service_message = service_message_from_body(body, request.secrets)
            del body  # what is left of it is redacted; the frame's locals stay clean
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

    def _send(
        self, request: HttpRequest, *, accept: str, stop: threading.Event | None = None
    ) -> Exchange:
        """Send until a 2xx answer comes, the retries run out or ``stop`` is set."""
        target = self._target(request.path)
        service_at = f"{self.service} at {self._host}:{self._port}"
        check_target(target, service_at)
        where = f"{service_at} ({request.method} {target.split('?')[0]})"
        payload = encode_body(request.body, where)
        defaults = {"Content-Type": "application/json", "Accept": accept, "User-Agent": _USER_AGENT}
        headers = merge_headers(defaults, request.headers)
        attempt = 0
        while True:
            if stop is not None and stop.is_set():
                raise ConnectorError(f"{where}: the call was given up before an answer came")
            attempt += 1
            retry_after: float | None = None
            try:
                exchange = self._send_once(request.method, target, payload, headers, where)
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
                body = read_error_body(response)
                release(exchange, self._pool)
                answer_headers = dict(response.getheaders())
                retry_after = retry_after_from_headers(answer_headers)
                if retry_after is None and response.status == 429:
                    retry_after = retry_after_from_body(body)
                long_wait_note = None
                if retry_after is not None and retry_after > self.max_retry_after:
                    long_wait_note = (
                        f"it asks to wait {retry_after:g} s, "
                        f"longer than max_retry_after={self.max_retry_after:g} s"
                    )
                retryable = should_retry(response.status, answer_headers)
                if long_wait_note or not retryable or attempt > self.max_retries:
                    error = error_for_status(
                        response.status,
                        response.reason,
                        body,
                        where=where,
                        secrets=request.secrets,
                        retry_after=retry_after,
                        attempts=attempt,
                        note=long_wait_note,
                    )
                    del body  # the error holds it redacted; the frame's locals stay clean
                    raise error
                reason = f"answered {response.status} {response.reason}"
            delay = self._delay_before_retry(attempt, retry_after)
            if request.on_retry is not None:
                request.on_retry()
            logger.info(
                "%s: %s; retry %d of %d in %.2f s", where, reason, attempt, self.max_retries, delay
            )
            if stop is not None and self.sleep is time.sleep:
                stop.wait(delay)  # the same wait, but one that a give-up cuts short
            else:
                self.sleep(delay)

    def _delay_before_retry(self, attempt: int, retry_after: float | None) -> float:
        # A hint of 0 (or a date already past) is no hint: trying again at once would
        # hammer a service that is struggling, so the usual jittered backoff applies.
        if retry_after is not None and retry_after > 0:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0.0, ceiling)

    def _send_once(
        self,
        method: str,
        target: str,
        payload: bytes,
        headers: list[tuple[str, HeaderValue]],
        where: str,
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
                write_request(connection, method, target, payload, headers)
                response = connection.getresponse()
            except TimeoutError as error:
                connection.close()
                message = f"{where} did not answer within {self.timeout:g} s"
                cause = without_frames(error)
                raise ConnectorTimeout(f"{message} (raise timeout= for slow models)") from cause
            except (*_STALE_CONNECTION_ERRORS, http.client.RemoteDisconnected) as error:
                connection.close()
                if reused:
                    continue
                failure = str(error) or type(error).__name__
                raise _TransportFailure(failure) from without_frames(error)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failure = str(error) or type(error).__name__
                raise _TransportFailure(failure) from without_frames(error)
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
