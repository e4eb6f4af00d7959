"""One service at one base URL, reached through a transport: what a connector holds.

:class:`HttpClient` checks the base URL once, turns each :class:`HttpRequest` (a path
below the base URL) into a transport :class:`~.protocol.Request` carrying the service's
name, timeout and retry rules, and hands it to its transport — a
:class:`~.stdlib.StdlibTransport` of its own unless one is given.

Example:
    >>> client = HttpClient("https://api.example.com/v1", service="Example", timeout=5)
    >>> client
    HttpClient('https://api.example.com/v1', service='Example')
    >>> HttpRequest("/chat", {"model": "m"}, headers={"Authorization": "Bearer sk-1"})
    HttpRequest(path='/chat', body={'model': 'm'}, method='POST')
    >>> client.close()
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from orkes.connectors._closing import Closing
from orkes.connectors.transport.protocol import EventSource, Request, Transport
from orkes.connectors.transport.retry import RetryRules
from orkes.connectors.transport.stdlib import StdlibTransport
from orkes.errors import BadRequest, ConnectorError

__all__ = ["HttpClient", "HttpRequest"]

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


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


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
        pool_size: idle connections kept (for the transport the client makes itself).
        idle_timeout: seconds an idle connection may wait in the pool and still be reused.
        ssl_context: for ``https``; the system's default trust store when ``None``.
        transport: how requests are sent; a :class:`StdlibTransport` of the client's own
            when ``None``. A transport given here is the caller's to close.

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
        transport: Transport | None = None,
    ) -> None:
        if not isinstance(base_url, str):
            raise ConnectorError(f"base_url must look like 'https://host/path', got {base_url!r}")
        # Checked before urlsplit, which silently drops tabs and line breaks.
        if (bad := _SPACE_OR_CONTROL.search(base_url)) is not None:
            message = f"base_url can't hold {bad.group()!r} (percent-encode it), got {base_url!r}"
            raise BadRequest(message)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            message = f"base_url must look like 'https://host/path', got {base_url!r}"
            raise ConnectorError(message)
        try:
            parts.port  # noqa: B018 - read for its check: a port that is no number, or too big
        except ValueError as error:
            shown = base_url.split("?")[0]  # never the query: it may hold a key
            raise ConnectorError(f"base_url has no valid port ({error}): {shown!r}") from None
        seconds_ok = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
        if not (seconds_ok and timeout > 0) or not _is_count(max_retries):
            message = f"timeout must be > 0 and max_retries >= 0, got {timeout!r}, {max_retries!r}"
            raise ConnectorError(message)
        if transport is not None and not all(
            callable(getattr(transport, method, None)) for method in ("send", "open_events")
        ):
            raise ConnectorError(
                "transport= takes a Transport (StdlibTransport(), HttpxTransport(), "
                f"InProcessTransport(handler)), got {transport!r}"
            )
        self.base_url = base_url
        self.service = service
        self.timeout = float(timeout)
        self.retry = RetryRules(max_retries, backoff_base, backoff_max, max_retry_after, sleep)
        self._root = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._base_query = parts.query
        self._owns_transport = transport is None
        self.transport: Transport = transport or StdlibTransport(
            pool_size=pool_size, idle_timeout=idle_timeout, ssl_context=ssl_context
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, service={self.service!r})"

    @property
    def max_retries(self) -> int:
        """How many times a failure worth retrying is retried."""
        return self.retry.max_retries

    def close(self) -> None:
        """Close the idle connections of the client's own transport; it stays usable."""
        if self._owns_transport:
            self.transport.close()

    @property
    def idle_connections(self) -> int:
        """How many kept-alive connections wait for the next request (0 if not known)."""
        return int(getattr(self.transport, "idle_connections", 0))

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` below the base URL (its query kept)."""
        url = f"{self._root}/{path.lstrip('/')}"
        if self._base_query:
            url += ("&" if "?" in url else "?") + self._base_query
        return url

    def request_json(self, request: HttpRequest, *, stop: threading.Event | None = None) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Setting ``stop`` (from any thread) gives up between attempts, even mid-wait.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        return self.transport.send(self._outgoing(request), stop=stop)

    def open_event_stream(
        self, request: HttpRequest, *, stop: threading.Event | None = None
    ) -> EventSource:
        """Send ``request`` (with retries) and return its answer as a stream of events.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        return self.transport.open_events(self._outgoing(request), stop=stop)

    def _outgoing(self, request: HttpRequest) -> Request:
        return Request(
            self.url(request.path),
            request.body,
            headers=request.headers,
            method=request.method,
            service=self.service,
            timeout=self.timeout,
            retry=self.retry,
            secrets=request.secrets,
            on_retry=request.on_retry,
        )
