"""The default transport, on the standard library's ``http.client``.

It keeps a small pool of idle connections per host, so that successive calls skip the
TCP and TLS handshakes, and puts the request's timeout on every connect and read. It
honours ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (or one
``proxy=`` for every request): an https request goes through a ``CONNECT`` tunnel, so
the proxy sees only the host; a plain http request is sent to the proxy whole.

A read timeout is not retried: the service got the request and may still be working on
it, and a second try would only double the wait. Nor is a request that can't be written
(a lone surrogate in the body, a space in the URL): that is a :class:`BadRequest` at once.
Header values (the API key among them) stay wrapped until they are handed to
``putheader``: a traceback that records frame locals shows ``'***'``, never the key.

Example:
    >>> transport = StdlibTransport(proxy="http://proxy.corp:3128")
    >>> transport
    StdlibTransport(proxy=Proxy('proxy.corp', 3128))
    >>> transport.close()
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import ssl
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from orkes.connectors._closing import Closing
from orkes.connectors._secrets import HeaderValue, without_frames
from orkes.connectors.transport._attempts import NoAnswer, send_with_retries
from orkes.connectors.transport._connection import (
    ConnectionPool,
    Exchange,
    check_target,
    encode_body,
    merge_headers,
    read_error_body,
    release,
    split_url,
    write_request,
)
from orkes.connectors.transport._event_stream import EventStream
from orkes.connectors.transport._proxy import Proxy, parse_proxy, proxy_for
from orkes.connectors.transport.protocol import EventSource, Request
from orkes.connectors.transport.status import (
    not_an_event_stream,
    not_events,
    service_message_from_body,
)
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ConnectorTimeout,
    ResponseFormatError,
)

__all__ = ["USER_AGENT", "StdlibTransport"]

USER_AGENT = "orkes (python)"
_STALE_CONNECTION_ERRORS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


@dataclass(frozen=True)
class _Origin:
    """Where connections go for one ``scheme://host:port``: direct, or through a proxy."""

    https: bool
    host: str
    port: int
    proxy: Proxy | None

    def target(self, path_and_query: str) -> str:
        """The request line's target: the path, or the whole URL for a plain-HTTP proxy."""
        if self.proxy is None or self.https:
            return path_and_query
        return f"http://{self.host}:{self.port}{path_and_query}"


class _Head:
    """An :class:`Exchange`'s status and headers, as the attempts loop reads them."""

    __slots__ = ("exchange", "pool")

    def __init__(self, exchange: Exchange, pool: ConnectionPool) -> None:
        self.exchange = exchange
        self.pool = pool

    @property
    def status(self) -> int:
        return self.exchange.response.status

    @property
    def reason(self) -> str:
        return self.exchange.response.reason

    def header_map(self) -> dict[str, str]:
        return dict(self.exchange.response.getheaders())

    def error_body(self) -> bytes:
        body = read_error_body(self.exchange.response)
        release(self.exchange, self.pool)
        return body


class StdlibTransport(Closing):
    """HTTP/1.1 on ``http.client``: pooled connections, timeouts, retries, proxies.

    Args:
        pool_size: idle connections kept per host.
        idle_timeout: seconds an idle connection may wait and still be reused.
        ssl_context: for ``https``; the system's default trust store when ``None``.
        proxy: one proxy URL (``http://user:password@host:port``) for every request;
            when ``None``, the environment's ``*_PROXY`` variables decide.
        trust_env: read the ``*_PROXY`` variables (when ``proxy`` is ``None``).

    Raises:
        ConnectorError: ``proxy`` names no host or a scheme other than ``http``.
    """

    def __init__(
        self,
        *,
        pool_size: int = 8,
        idle_timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> None:
        self._pool_size = pool_size
        self._idle_timeout = idle_timeout
        self._tls = _TlsContext(ssl_context)
        self._proxy = None if proxy is None else parse_proxy(proxy)
        self._trust_env = trust_env
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str, int], tuple[_Origin, ConnectionPool]] = {}
        # Close idle sockets when the transport is collected: forgetting close() leaks nothing.
        self._finalizer = weakref.finalize(self, _close_pools, self._pools)

    def __repr__(self) -> str:
        shown = "" if self._proxy is None else f"proxy={self._proxy!r}"
        return f"{type(self).__name__}({shown})"

    def close(self) -> None:
        """Close the idle connections; the transport stays usable and opens new ones."""
        _close_pools(self._pools)

    @property
    def idle_connections(self) -> int:
        """How many kept-alive connections wait for the next request, all hosts together."""
        return sum(pool.idle_count for _, pool in list(self._pools.values()))

    def send(self, request: Request, *, stop: threading.Event | None = None) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        head = self._send(request, accept="application/json", stop=stop)
        exchange = head.exchange
        try:
            body = exchange.response.read()
        except TimeoutError as error:
            message = f"{exchange.where} did not finish its answer within {request.timeout:g} s"
            raise ConnectorTimeout(message) from error
        except (OSError, http.client.HTTPException) as error:
            message = f"the connection to {exchange.where} broke while reading the answer"
            raise ConnectionFailed(message) from error
        finally:
            release(exchange, head.pool)
        try:
            return json.loads(body)
        except ValueError:
            snippet = service_message_from_body(body, request.secrets)
        # Raised outside the except, with the body gone from this frame: the decoder's error
        # and the frame's locals would show the whole body, an echoed key included.
        del body
        message = f"{exchange.where} answered with a body that is not JSON: {snippet!r}"
        raise ResponseFormatError(message, status=exchange.response.status)

    def open_events(self, request: Request, *, stop: threading.Event | None = None) -> EventSource:
        """Send ``request`` (with retries) and return its answer as a stream of events.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        head = self._send(request, accept="text/event-stream", stop=stop)
        exchange = head.exchange
        kind = not_events(exchange.response.getheader("Content-Type", ""))
        if kind is not None:
            body = read_error_body(exchange.response)
            release(exchange, head.pool)
            error = not_an_event_stream(
                kind, body, where=exchange.where, status=head.status, secrets=request.secrets
            )
            del body  # what is left of it is redacted; the frame's locals stay clean
            raise error
        return EventStream(exchange, head.pool, request.timeout)

    def _origin(self, request: Request) -> tuple[_Origin, ConnectionPool, str]:
        """The request's origin and pool, and its path with the query (as given: unchecked)."""
        url = split_url(request.url, request.service)
        https, port = url.scheme == "https", url.port
        key = (url.scheme, url.host, port)
        found = self._pools.get(key)
        if found is None:
            proxy = self._proxy
            if proxy is None and self._trust_env:
                proxy = proxy_for(url.scheme, url.host, port, os.environ)
            origin = _Origin(https, url.host, port, proxy)
            connect = functools.partial(_new_connection, origin, self._tls)
            pool = ConnectionPool(connect, self._pool_size, max_idle=self._idle_timeout)
            with self._lock:
                found = self._pools.setdefault(key, (origin, pool))
        return found[0], found[1], url.path_and_query

    def _send(self, request: Request, *, accept: str, stop: threading.Event | None) -> _Head:
        origin, pool, path_and_query = self._origin(request)
        service_at = f"{request.service} at {origin.host}:{origin.port}"
        check_target(path_and_query, service_at)
        where = f"{service_at} ({request.method} {path_and_query.split('?')[0]})"
        payload = encode_body(request.body, where)
        defaults = {"Content-Type": "application/json", "Accept": accept, "User-Agent": USER_AGENT}
        own = dict(request.headers)
        proxy = origin.proxy
        if proxy is not None and not origin.https and proxy.authorization is not None:
            own["Proxy-Authorization"] = proxy.authorization.value
        headers = merge_headers(defaults, own)
        del own
        target = origin.target(path_and_query)

        def send_once() -> _Head:
            exchange = self._send_once(pool, origin, request, target, payload, headers, where)
            return _Head(exchange, pool)

        return send_with_retries(request, where, send_once, stop)

    def _send_once(
        self,
        pool: ConnectionPool,
        origin: _Origin,
        request: Request,
        target: str,
        payload: bytes,
        headers: list[tuple[str, HeaderValue]],
        where: str,
    ) -> Exchange:
        """One request and the head of its answer.

        A pooled connection that the server closed meanwhile is dropped and the request
        resent on the next one, silently: that is no failure of the service.
        """
        timeout = request.timeout
        while True:
            connection, reused = pool.acquire()
            connection.timeout = timeout
            # Causes lose their frames: http.client's tunnel code holds the proxy's
            # credentials in a local. A refused tunnel is raised outside the except
            # block, so that not even its context keeps them.
            tunnel = None
            try:
                if connection.sock is None:
                    connection.connect()
                else:
                    connection.sock.settimeout(timeout)
            except TimeoutError as error:
                connection.close()
                cause = without_frames(error)
                raise NoAnswer(f"no connection within {timeout:g} s") from cause
            except OSError as error:
                connection.close()
                tunnel = _tunnel_refusal(error, origin)
                if tunnel is None:
                    failure = _via(str(error) or type(error).__name__, origin)
                    raise NoAnswer(failure) from without_frames(error)
            if tunnel is not None:
                raise ConnectionFailed(tunnel)
            sock = connection.sock
            unsendable = False
            try:
                write_request(connection, request.method, target, payload, headers)
                response = connection.getresponse()
            except TimeoutError as error:
                connection.close()
                message = f"{where} did not answer within {timeout:g} s"
                cause = without_frames(error)
                raise ConnectorTimeout(f"{message} (raise timeout= for slow models)") from cause
            except (*_STALE_CONNECTION_ERRORS, http.client.RemoteDisconnected) as error:
                connection.close()
                if reused:
                    continue
                failure = str(error) or type(error).__name__
                raise NoAnswer(failure) from without_frames(error)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failure = str(error) or type(error).__name__
                raise NoAnswer(failure) from without_frames(error)
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
            if response.status == 407 and origin.proxy is not None and not origin.https:
                response.close()  # the proxy's own answer: not the service's, not retried
                connection.close()
                answer = f"{response.status} {response.reason}".rstrip()
                raise ConnectionFailed(_proxy_refusal(origin, "forward requests to", answer))
            return Exchange(connection, response, sock, where)


class _TlsContext:
    """The SSL context, made on the first https connection (loading the trust store is slow)."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self._context = context
        self._lock = threading.Lock()

    def get(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = ssl.create_default_context()
            return self._context


def _new_connection(origin: _Origin, tls: _TlsContext) -> http.client.HTTPConnection:
    proxy = origin.proxy
    host, port = (origin.host, origin.port) if proxy is None else (proxy.host, proxy.port)
    if not origin.https:
        return http.client.HTTPConnection(host, port)
    connection = http.client.HTTPSConnection(host, port, context=tls.get())
    if proxy is not None:
        tunnel_headers = {}
        if proxy.authorization is not None:
            tunnel_headers["Proxy-Authorization"] = proxy.authorization.value
        connection.set_tunnel(origin.host, origin.port, headers=tunnel_headers)
    return connection


def _via(failure: str, origin: _Origin) -> str:
    if origin.proxy is None:
        return failure
    return f"{failure} (through the proxy at {origin.proxy.address})"


def _tunnel_refusal(error: OSError, origin: _Origin) -> str | None:
    """The message for a proxy that answered ``CONNECT`` with an error (not worth a retry)."""
    text = str(error)
    if origin.proxy is None or not text.startswith("Tunnel connection failed"):
        return None
    answer = text.partition(":")[2].strip() or "an error"
    return _proxy_refusal(origin, "open a tunnel to", answer)


def _proxy_refusal(origin: _Origin, what: str, answer: str) -> str:
    """Says that the proxy would not ``what`` (``"open a tunnel to"``) the origin, and why."""
    address = "the proxy" if origin.proxy is None else f"the proxy at {origin.proxy.address}"
    hint = " (check the proxy's user and password)" if answer.startswith("407") else ""
    return f"{address} refused to {what} {origin.host}:{origin.port}: it answered {answer}{hint}"


def _close_pools(pools: dict[tuple[str, str, int], tuple[_Origin, ConnectionPool]]) -> None:
    for _, pool in list(pools.values()):
        pool.close()
