"""A transport that answers from a Python function: connector tests without a socket.

Where the wire itself is not what a test is about, give a connector an
:class:`InProcessTransport` instead of a loopback server. The function gets each
:class:`~.protocol.Request` (URL, JSON body, headers) and returns a :class:`Reply`: a
JSON body, or the events of a stream. Failures go through the same retry decision as on
the network: a 503 reply is retried, a ``ConnectionError`` the function raises counts as
no answer at all.

Example:
    >>> from orkes.connectors.openai import OpenAIConnector
    >>> def answer(request: Request) -> Reply:
    ...     said = request.body["messages"][-1]["content"]
    ...     return Reply({"choices": [{"message": {"role": "assistant", "content": said[::-1]}}]})
    >>> fake = InProcessTransport(answer)
    >>> llm = OpenAIConnector("gpt-4o-mini", api_key="sk-test", transport=fake)
    >>> llm.invoke([{"role": "user", "content": "stressed"}])["content"]
    'desserts'
    >>> fake.requests[0].url
    'https://api.openai.com/v1/chat/completions'
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import Self

from orkes.connectors.transport._attempts import NoAnswer, send_with_retries
from orkes.connectors.transport.protocol import EventSource, Request
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.errors import ConnectionFailed, ConnectorError, ResponseFormatError

__all__ = ["InProcessTransport", "Reply"]


@dataclass(frozen=True)
class Reply:
    """What the function answers to one request.

    Attributes:
        body: the JSON answer (a whole reply, or the error body of a failed one).
        events: the events of a streamed answer; a string is an event's ``data``.
        status: the HTTP status.
        headers: the answer's headers (``Retry-After``, ``x-should-retry``, …).
    """

    body: Any = None
    events: Sequence[ServerSentEvent | str] = ()
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        events = self.events
        if not isinstance(events, Sequence) or isinstance(events, (str, bytes)):
            hint = (
                " (the body comes first: Reply(body, status=...))"
                if isinstance(self.body, int)
                else ""
            )
            raise ConnectorError(
                f"Reply(events=...) takes a list of events (str data or ServerSentEvent), "
                f"got {events!r:.80}{hint}"
            )
        status = self.status
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ConnectorError(
                f"Reply(status=...) takes an HTTP status such as 200 or 503, got {status!r:.80}"
            )

    @property
    def reason(self) -> str:
        """No reason phrase: the status says it all."""
        return ""

    def header_map(self) -> Mapping[str, str]:
        """The headers, as the retry decision reads them."""
        return self.headers

    def error_body(self) -> bytes:
        """The body as the service would have sent it."""
        return json.dumps(self.body, default=repr).encode()


class _Events:
    """A reply's events, handed out one by one until the end or a close."""

    def __init__(self, events: Sequence[ServerSentEvent | str], where: str) -> None:
        self._events = deque(
            event if isinstance(event, ServerSentEvent) else ServerSentEvent(event)
            for event in events
        )
        self._where = where
        self._closed = False

    @property
    def where(self) -> str:
        return self._where

    def __iter__(self) -> Iterator[ServerSentEvent]:
        return self

    def __next__(self) -> ServerSentEvent:
        if self._closed:
            raise ConnectionFailed(f"the stream from {self._where} was closed")
        if not self._events:
            raise StopIteration
        return self._events.popleft()

    def finish(self) -> None:
        self._events.clear()

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class InProcessTransport:
    """Answers every request with ``handler(request)``; keeps the requests it got.

    Args:
        handler: returns the :class:`Reply` to a request; raising ``ConnectionError``
            stands for a request that got no answer (retried like a refused connection).

    Attributes:
        requests: every request received, in order (retries included).
    """

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        if not callable(handler):
            raise ConnectorError(
                f"InProcessTransport takes a function of the Request that returns a Reply, "
                f"got {handler!r}"
            )
        self._handler = handler
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self._handler, '__name__', self._handler)!r})"

    def send(self, request: Request, *, stop: threading.Event | None = None) -> Any:
        """The handler's JSON body for ``request`` (failures retried as on the network)."""
        reply = self._exchange(request, stop)
        if reply.events:
            where = _where(request)
            raise ResponseFormatError(f"{where} answered with events where JSON was asked for")
        return reply.body

    def open_events(self, request: Request, *, stop: threading.Event | None = None) -> EventSource:
        """The handler's events for ``request``, one at a time."""
        reply = self._exchange(request, stop)
        where = _where(request)
        if not reply.events:
            message = f"{where} answered with JSON where an event stream was asked for"
            raise ResponseFormatError(message, status=reply.status)
        return _Events(reply.events, where)

    def close(self) -> None:
        """Nothing to close: there are no connections."""

    def _exchange(self, request: Request, stop: threading.Event | None) -> Reply:
        def send_once() -> Reply:
            with self._lock:
                self.requests.append(request)
            try:
                reply = self._handler(request)
            except ConnectionError as error:
                raise NoAnswer(str(error) or type(error).__name__) from error
            if not isinstance(reply, Reply):
                message = f"the handler of {self!r} must return a Reply, got {reply!r}"
                raise ConnectorError(message)
            return reply

        return send_with_retries(request, _where(request), send_once, stop)


def _where(request: Request) -> str:
    return f"{request.service} in process ({request.method} {request.url.split('?')[0]})"
