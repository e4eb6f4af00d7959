"""A scripted HTTP/1.1 server on 127.0.0.1, for testing connectors without a network.

Queue the answers a test needs, point a connector at ``server.base_url``, then assert on
``server.requests`` (method, path, headers, JSON body) — the documented request shapes::

    with LoopbackServer() as server:
        server.enqueue(json_response({"ok": True}), error_response(429, "slow down"))
        ...
        assert server.requests[0].json()["model"] == "gpt-4o-mini"

Answers can be JSON, an event stream sent chunk by chunk (with pauses, or cut off by
closing the socket mid-way), any status with any headers (429 with ``Retry-After``, 500,
401), slow (a pause before the status line, for timeouts), or missing (a hang-up).
Connections are kept alive, and the server counts how many it accepted and how many
clients hung up mid-answer.
The ``loopback`` fixture in ``conftest.py`` gives each test a fresh server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from typing_extensions import Self

__all__ = [
    "CannedResponse",
    "LoopbackServer",
    "RecordedRequest",
    "RecordingSleep",
    "error_response",
    "hang_up",
    "json_response",
    "sse_event",
    "sse_response",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, decoded as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class CannedResponse:
    """One scripted answer.

    Attributes:
        status: the HTTP status.
        headers: extra headers (``Content-Type``, ``Retry-After``, …).
        body: sent whole with a ``Content-Length`` (when ``chunks`` is ``None``).
        chunks: sent one by one with ``Transfer-Encoding: chunked``.
        delay: seconds to wait before the status line (for timeouts).
        chunk_delay: seconds to wait before each chunk after the first.
        cut_after: close the socket after this many chunks, without ending the body.
        close_after: close the connection after the answer, though it looked kept-alive.
        hang_up: close the connection at once, without any answer.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: tuple[bytes, ...] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None
    close_after: bool = False
    hang_up: bool = False


def json_response(
    document: object,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    close_after: bool = False,
) -> CannedResponse:
    """An answer with a JSON body."""
    return CannedResponse(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(document).encode(),
        delay=delay,
        close_after=close_after,
    )


def error_response(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> CannedResponse:
    """An error answer in the common ``{"error": {"message": ...}}`` shape."""
    return json_response(
        {"error": {"message": message, "type": "test_error"}}, status=status, headers=headers
    )


def hang_up() -> CannedResponse:
    """No answer at all: the server closes the connection after reading the request."""
    return CannedResponse(hang_up=True)


def sse_event(data: object, *, event: str | None = None) -> bytes:
    """One Server-Sent Event: ``data`` as JSON unless it is a ``str``, an optional name."""
    text = data if isinstance(data, str) else json.dumps(data)
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in text.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def sse_response(
    events: Iterable[object],
    *,
    chunk_delay: float = 0.0,
    cut_after: int | None = None,
    delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
) -> CannedResponse:
    """An event stream, one chunk per item: ``bytes`` are sent as they are, anything
    else goes through :func:`sse_event`.
    """
    chunks = tuple(item if isinstance(item, bytes) else sse_event(item) for item in events)
    return CannedResponse(
        headers={"Content-Type": "text/event-stream", **(headers or {})},
        chunks=chunks,
        delay=delay,
        chunk_delay=chunk_delay,
        cut_after=cut_after,
    )


class RecordingSleep:
    """A stand-in for ``time.sleep`` that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # an idle kept-alive connection ends by itself at the latest then
    disable_nagle_algorithm = True  # small writes go out at once, as from a real server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: tests do not want access logs on stderr."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.loopback.record(RecordedRequest(self.command, self.path, headers, body))
        canned = self.server.loopback.next_response()
        stopping = self.server.loopback.stopping
        if canned.hang_up or (canned.delay and stopping.wait(canned.delay)):
            self.close_connection = True
            return
        try:
            self._send(canned, stopping)
        except OSError:  # the client hung up (broken pipe, reset)
            self.server.loopback.note_hangup()
            self.close_connection = True

    def _send(self, canned: CannedResponse, stopping: threading.Event) -> None:
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        if canned.close_after:
            self.close_connection = True  # ...without saying so in a header
        if canned.chunks is None:
            self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            self.wfile.write(canned.body)
            self.wfile.flush()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for position, chunk in enumerate(canned.chunks):
            if canned.cut_after is not None and position >= canned.cut_after:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if position and canned.chunk_delay and stopping.wait(canned.chunk_delay):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives a test
    # The listen backlog: socketserver's 5 drops the connections of a burst of concurrent
    # clients beyond it, and their SYN is sent again only a second later.
    request_queue_size = 128

    def __init__(self, loopback: LoopbackServer) -> None:
        self.loopback = loopback
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.add(connection)
        self.loopback.note_connection()

    def untrack(self, connection: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops a kept-alive connection is a case the tests make on purpose;
        # anything else is a real fault of the server and is printed as usual.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    def wake_handlers(self) -> None:
        """Shut down every connection so that handlers waiting to read return."""
        with self._sockets_lock:
            open_sockets = list(self._open_sockets)
        for connection in open_sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LoopbackServer:
    """The scripted server; a context manager that starts it and stops it.

    Attributes:
        requests: every request received, in order.
        connections_opened: how many TCP connections the server accepted.
        hangups: how many times a client hung up while an answer was being sent.
        stopping: set when the server is closing (handlers stop waiting).
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self.hangups = 0
        self.stopping = threading.Event()
        self._hung_up = threading.Event()
        self._responses: deque[CannedResponse] = deque()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "") -> str:
        """The base URL with ``path`` appended (``server.url("/v1")``)."""
        return self.base_url + path

    def enqueue(self, *responses: CannedResponse) -> Self:
        """Queue answers, sent in order, one per request."""
        with self._lock:
            self._responses.extend(responses)
        return self

    @property
    def pending_responses(self) -> int:
        """How many queued answers no request has taken yet."""
        return len(self._responses)

    def next_response(self) -> CannedResponse:
        with self._lock:
            if self._responses:
                return self._responses.popleft()
        return error_response(500, "the loopback server has no answer queued for this request")

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def note_connection(self) -> None:
        with self._lock:
            self.connections_opened += 1

    def note_hangup(self) -> None:
        with self._lock:
            self.hangups += 1
        self._hung_up.set()

    def wait_for_hangup(self, timeout: float = 5.0) -> bool:
        """Wait until a client hangs up in the middle of an answer; ``False`` on timeout."""
        return self._hung_up.wait(timeout)

    def close(self) -> None:
        """Stop serving, wake every handler, join their threads."""
        self.stopping.set()
        self._server.shutdown()
        self._server.wake_handlers()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
