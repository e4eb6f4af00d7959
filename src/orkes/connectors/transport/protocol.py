"""What a transport is: one JSON exchange, and one stream of Server-Sent Events.

A connector builds a :class:`Request` and hands it to its transport: :meth:`Transport.send`
for a whole answer, :meth:`Transport.open_events` for a streamed one. The transport sends
it, retries what :func:`~orkes.connectors.transport.retry.decide_retry` says to retry,
and turns every failure into a :class:`~orkes.errors.ConnectorError`. The shipped ones:
:class:`~orkes.connectors.transport.stdlib.StdlibTransport` (the default, on
``http.client``), :class:`~orkes.connectors.transport.httpx.HttpxTransport` (extra
``orkes[httpx]``) and :class:`~orkes.connectors.transport.in_process.InProcessTransport`
(answers from a Python function; for tests).

Example:
    >>> from orkes.connectors.transport import Request
    >>> Request("https://api.example.com/v1/chat", {"model": "m"}, headers={"x-api-key": "k"})
    Request(url='https://api.example.com/v1/chat', body={'model': 'm'}, method='POST')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orkes.connectors.transport.retry import RetryRules
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import BadRequest

__all__ = ["EventSource", "Request", "Transport"]


@dataclass(frozen=True)
class Request:
    """One JSON request; its headers and secrets never show in its ``repr``.

    Attributes:
        url: the absolute URL.
        body: the JSON body.
        headers: headers of the connector's own (authentication among them); a transport
            adds ``Content-Type``, ``Accept`` and ``User-Agent`` unless given here.
        method: the HTTP method.
        service: who answers, for messages (``"OpenAI"``).
        timeout: seconds to wait to connect, and for each read of the answer.
        retry: how failures are retried.
        secrets: strings (API keys) that no error message may show, should the service
            echo them back.
        on_retry: called each time the request is sent again (a tracer counts retries).
    """

    url: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    method: str = "POST"
    service: str = field(default="the service", repr=False)
    timeout: float = field(default=60.0, repr=False)
    retry: RetryRules = field(default_factory=RetryRules, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    on_retry: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.timeout > 0:  # also refuses NaN
            raise BadRequest(f"{self.service}: timeout must be > 0 seconds, got {self.timeout!r}")


class EventSource(Protocol):
    """The events of one streamed answer, read as they arrive.

    Iterating to the end frees the connection for the next request; :meth:`close` before
    the end drops it. :meth:`close` may be called from any thread while another waits
    for the next event, and never blocks: the waiting read then ends at once.
    """

    @property
    def where(self) -> str:
        """Who is streaming, as messages name it (``"OpenAI at host:443 (POST /v1/...)"``)."""
        ...

    def __iter__(self) -> Iterator[ServerSentEvent]:
        """The events, in order."""
        ...

    def __next__(self) -> ServerSentEvent:
        """The next event; :class:`StopIteration` at the end of the answer."""
        ...

    def finish(self) -> None:
        """The reply is complete: read what is left (briefly), then free the connection."""
        ...

    def close(self) -> None:
        """Stop before the end and drop the connection; safe to call twice."""
        ...


class Transport(Protocol):
    """How a connector's requests reach the service.

    Methods are called from any thread, several at once. ``stop``, when set from another
    thread, gives up between attempts, even mid-wait.
    """

    def send(self, request: Request, *, stop: threading.Event | None = None) -> Any:
        """Send ``request`` (with retries) and return the decoded JSON answer.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        ...

    def open_events(self, request: Request, *, stop: threading.Event | None = None) -> EventSource:
        """Send ``request`` (with retries) and return its answer's events as they come.

        Raises:
            ConnectorError: the subclass that says what went wrong.
        """
        ...

    def close(self) -> None:
        """Close idle connections."""
        ...
