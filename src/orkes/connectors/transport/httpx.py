"""A transport on httpx, for those who already use it: HTTP/2, its proxies, its TLS settings.

Needs the extra ``orkes[httpx]`` (add ``h2`` for ``http2=True``). Give one to a connector
as ``transport=``; one transport may serve many connectors. Requests go through the same
attempts as on :class:`~orkes.connectors.transport.stdlib.StdlibTransport` and fail with
the same errors: a connection refused, reset or timed out before an answer is retried,
a read timeout is not (:class:`~orkes.errors.ConnectorTimeout`), a header that HTTP does
not allow is a :class:`~orkes.errors.BadRequest` at once. No message, cause or ``repr``
shows an API key: the causes are copies of httpx's errors without their request and
traceback.

Example:
    >>> from orkes.connectors.openai import OpenAIConnector
    >>> transport = HttpxTransport(http2=True, proxy="http://user:secret@proxy.corp:3128")
    >>> transport
    HttpxTransport(http2=True, proxy=...)
    >>> llm = OpenAIConnector("gpt-4o-mini", api_key="sk-test", transport=transport)
    >>> llm.transport is transport
    True
    >>> transport.close()
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from orkes.connectors._closing import Closing
from orkes.connectors._secrets import HeaderValue, HiddenValue, redact
from orkes.connectors.transport._attempts import NoAnswer, send_with_retries
from orkes.connectors.transport._connection import (
    check_target,
    encode_body,
    merge_headers,
    split_url,
)
from orkes.connectors.transport._httpx_events import HttpxEvents, caused, clean
from orkes.connectors.transport.protocol import Request
from orkes.connectors.transport.status import (
    not_an_event_stream,
    not_events,
    service_message_from_body,
)
from orkes.connectors.transport.stdlib import USER_AGENT
from orkes.errors import (
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    ConnectorTimeout,
    ResponseFormatError,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["INSTALL", "HttpxTransport"]

INSTALL = "pip install 'orkes[httpx]'"
"""What installs what this module needs."""

_MAX_ERROR_BODY = 1024 * 1024
# What h11 and h2 refuse in a header value: control characters, and blanks at either end.
_ILLEGAL_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")
_UNSENDABLE = (
    "a header holds characters that HTTP does not allow "
    "(check the API key for stray spaces or line breaks)"
)


def _require_httpx() -> None:
    """Check that httpx is installed, or raise the error that says which extra to install."""
    try:
        import httpx  # noqa: F401
    except ImportError as error:
        message = f"HttpxTransport needs httpx, which is not installed: {INSTALL}"
        raise ConnectorError(message) from error


class HttpxTransport(Closing):
    """Requests sent by an ``httpx.Client``: yours, or one of its own.

    Args:
        client: the client to send with; it stays yours to close. When ``None``, the
            transport makes its own from ``client_options``.
        **client_options: ``httpx.Client`` arguments for its own client (``http2=True``,
            ``proxy="http://host:3128"``, ``verify=ssl_context``, ``limits=...``). The
            timeout is each request's own (the connector's ``timeout=``).

    Raises:
        ConnectorError: httpx (or what an option needs, such as ``h2``) is not
            installed, or both a client and options were given.
    """

    def __init__(self, client: httpx.Client | None = None, **client_options: Any) -> None:
        _require_httpx()
        if client is not None and client_options:
            message = "HttpxTransport takes a client or options for a client of its own, not both"
            raise ConnectorError(message)
        self._options = client_options
        self._given = client
        self._lock = threading.Lock()
        self._own: httpx.Client | None = None
        if client is None:
            self._own = self._new_client()

    def __repr__(self) -> str:
        if self._given is not None:
            return f"{type(self).__name__}(client={self._given!r})"
        shown = (
            f"{name}={value!r}" if isinstance(value, bool) else f"{name}=..."
            for name, value in self._options.items()
        )
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def client(self) -> httpx.Client:
        """The client requests go through (its own is made again after :meth:`close`)."""
        if self._given is not None:
            return self._given
        with self._lock:
            if self._own is None:
                self._own = self._new_client()
            return self._own

    def close(self) -> None:
        """Close its own client and its connections, those of answers still being read too.

        The next request makes a new client. A client given to the transport is left
        alone: it is the caller's to close.
        """
        with self._lock:
            own, self._own = self._own, None
        if own is not None:
            own.close()

    @property
    def idle_connections(self) -> int:
        """How many kept-alive connections wait for a request (0 if httpx won't say)."""
        client: Any = self._given or self._own
        transports = [getattr(client, "_transport", None)]
        transports += list(getattr(client, "_mounts", {}).values())
        pools = [getattr(transport, "_pool", None) for transport in transports]
        return sum(
            1
            for pool in pools
            for connection in getattr(pool, "connections", ())
            if connection.is_idle()
        )

    def send(self, request: Request, *, stop: threading.Event | None = None) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        import httpx

        head = self._send(request, accept="application/json", stop=stop)
        failure: ConnectorError | None = None
        body = b""
        try:
            body = head.response.read()
        except httpx.TimeoutException as error:
            message = f"{head.where} did not finish its answer within {request.timeout:g} s"
            failure = caused(ConnectorTimeout(message), error, request.secrets)
        except httpx.DecodingError as error:
            message = f"{head.where} answered with a body that can't be decoded"
            failure = caused(ResponseFormatError(message), error, request.secrets)
        except (httpx.HTTPError, httpx.StreamError) as error:
            message = f"the connection to {head.where} broke while reading the answer"
            failure = caused(ConnectionFailed(message), error, request.secrets)
        finally:
            head.response.close()
        if failure is not None:
            raise failure
        try:
            return json.loads(body)
        except ValueError:
            snippet = service_message_from_body(body, request.secrets)
        del body  # the decoder's error and this frame's locals would show it, a key included
        message = f"{head.where} answered with a body that is not JSON: {snippet!r}"
        raise ResponseFormatError(message, status=head.status)

    def open_events(self, request: Request, *, stop: threading.Event | None = None) -> HttpxEvents:
        """Send ``request`` (with retries) and return its answer as a stream of events.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        head = self._send(request, accept="text/event-stream", stop=stop)
        kind = not_events(head.response.headers.get("Content-Type", ""))
        if kind is not None:
            body = head.error_body()
            error = not_an_event_stream(
                kind, body, where=head.where, status=head.status, secrets=request.secrets
            )
            del body  # what is left of it is redacted; the frame's locals stay clean
            raise error
        return HttpxEvents(head.response, head.where, request)

    def _new_client(self) -> httpx.Client:
        import httpx

        try:
            return httpx.Client(**self._options)
        except ImportError as error:  # http2=True without h2, a SOCKS proxy without socksio
            raise ConnectorError(f"HttpxTransport: {error}") from error

    def _send(self, request: Request, *, accept: str, stop: threading.Event | None) -> _Head:
        import httpx

        url = split_url(request.url, request.service)
        path_and_query = url.path_and_query
        service_at = f"{request.service} at {url.host}:{url.port}"
        check_target(path_and_query, service_at)
        where = f"{service_at} ({request.method} {path_and_query.split('?')[0]})"
        payload = encode_body(request.body, where)
        defaults = {"Content-Type": "application/json", "Accept": accept, "User-Agent": USER_AGENT}
        headers = _encoded(merge_headers(defaults, request.headers))
        if headers is None:
            raise BadRequest(f"the request to {where} can't be sent: {_UNSENDABLE}")
        dialled = _Dialled()
        outgoing = self.client.build_request(
            request.method,
            request.url,
            content=payload,
            headers=headers,
            timeout=httpx.Timeout(request.timeout),
            extensions={"trace": dialled},
        )
        del headers
        origin = f"{url.host}:{url.port}"

        def send_once() -> _Head:
            resent = False
            while True:
                dialled.reset()
                failure: Exception | None = None
                try:
                    response = self.client.send(outgoing, stream=True)
                except httpx.LocalProtocolError:  # h11 quotes the header value: the key
                    failure = BadRequest(f"the request to {where} can't be sent: {_UNSENDABLE}")
                except (httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                    failure = NoAnswer(f"no connection within {request.timeout:g} s")
                    failure.__cause__ = clean(error, request.secrets)
                except httpx.TimeoutException as error:
                    message = f"{where} did not answer within {request.timeout:g} s"
                    failure = ConnectorTimeout(f"{message} (raise timeout= for slow models)")
                    failure = caused(failure, error, request.secrets)
                except httpx.ProxyError as error:  # its answer to CONNECT: not retried
                    answer = redact(str(error), request.secrets) or "an error"
                    failure = ConnectionFailed(
                        _proxy_refusal(dialled.address, "open a tunnel to", origin, answer)
                    )
                except httpx.TransportError as error:
                    stale = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
                    if dialled.reused and not resent and isinstance(error, stale):
                        resent = True  # once: a fresh connection failing is the service's
                        continue  # a kept-alive connection the server had closed: no failure
                    said = redact(str(error), request.secrets) or type(error).__name__
                    if dialled.address not in (None, origin):
                        said += f" (through the proxy at {dialled.address})"
                    failure = NoAnswer(said)
                    failure.__cause__ = clean(error, request.secrets)
                except RuntimeError as error:  # a given client that its owner closed
                    failure = ConnectorError(f"{where} can't be reached: {error}")
                if failure is not None:
                    raise failure  # outside the except block: httpx's error is not its context
                if response.status_code == 407:  # the proxy's own answer, not the service's
                    response.close()
                    answer = f"407 {response.reason_phrase}"
                    proxy = dialled.address if dialled.address != origin else None
                    message = _proxy_refusal(proxy, "forward requests to", origin, answer)
                    raise ConnectionFailed(message)
                return _Head(response, where)

        return send_with_retries(request, where, send_once, stop)


class _Head:
    """An httpx response's status and headers, as the attempts loop reads them."""

    __slots__ = ("response", "where")

    def __init__(self, response: httpx.Response, where: str) -> None:
        self.response = response
        self.where = where

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def reason(self) -> str:
        return self.response.reason_phrase

    def header_map(self) -> dict[str, str]:
        return dict(self.response.headers)

    def error_body(self) -> bytes:
        """Up to 1 MiB of the body; a connection that broke meanwhile leaves what came."""
        chunks: list[bytes] = []
        size = 0
        with contextlib.suppress(Exception), contextlib.closing(self.response):
            for chunk in self.response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= _MAX_ERROR_BODY:
                    break
        return b"".join(chunks)[:_MAX_ERROR_BODY]


class _HiddenHeaders(list[tuple[bytes, bytes]]):
    """Headers as httpx takes them, that ``repr`` (and so a traceback's locals) shows as ``***``."""

    def __repr__(self) -> str:
        return "'***'"


def _encoded(headers: Iterable[tuple[str, HeaderValue]]) -> _HiddenHeaders | None:
    """The headers as bytes, or ``None`` if one can't be sent (no error, so no key quoted)."""
    try:
        encoded = _HiddenHeaders(
            (name.encode("ascii"), _revealed(value)) for name, value in headers
        )
    except UnicodeEncodeError:
        return None
    if any(_ILLEGAL_VALUE.search(value) for _, value in encoded):
        return None
    return encoded


def _revealed(value: HeaderValue) -> bytes:
    """The header value's bytes, as http.client would send them (Latin-1)."""
    return (value.reveal() if isinstance(value, HiddenValue) else value).encode("latin-1")


class _Dialled:
    """The trace hook of httpx: the address an attempt connected to, if it dialled.

    Whether the connection was reused is known only when httpcore traced the request: a
    mock, WSGI or custom transport never calls the hook, and then nothing is "reused".
    """

    __slots__ = ("address", "traced")

    def __init__(self) -> None:
        self.address: str | None = None
        self.traced = False

    @property
    def reused(self) -> bool:
        """Whether the request went out on a kept-alive connection (traced, not dialled)."""
        return self.traced and self.address is None

    def reset(self) -> None:
        """Forget the last send: the next one is traced anew."""
        self.address = None
        self.traced = False

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        self.traced = True
        if event == "connection.connect_tcp.started":
            self.address = f"{info.get('host')}:{info.get('port')}"
        elif event.startswith("connection.connect_"):
            self.address = self.address or "a socket"


def _proxy_refusal(proxy: str | None, what: str, origin: str, answer: str) -> str:
    """Says that the proxy would not ``what`` (``"open a tunnel to"``) the origin, and why."""
    address = "the proxy" if proxy is None else f"the proxy at {proxy}"
    hint = " (check the proxy's user and password)" if answer.startswith("407") else ""
    return f"{address} refused to {what} {origin}: it answered {answer}{hint}"
