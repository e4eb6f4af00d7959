"""The Server-Sent Events of one answer streamed by httpx, and httpx's errors made safe.

A thread of the stream's own reads the body as it comes and queues the chunks; iterating
takes them from the queue. So :meth:`HttpxEvents.close` never blocks and wakes a waiting
read at once, over HTTP/2 too, where the socket carries other streams. Over HTTP/1.1 it
also shuts the socket down, so that the reading thread (and the service) stop at once.
Over HTTP/2 that would end every stream on the connection, so the reading thread lets go
of the stream only when its next bytes come (or at the timeout); until then it still
takes turns at reading the connection with the other streams. Only the reading thread
touches the response once it has started.

The socket is shut down only while the stream still holds its connection: the response's
byte stream is wrapped so that, whoever closes it (httpx itself at the end of the body,
before ``iter_bytes`` returns), it first says so under the lock that :meth:`close` takes.
A close that comes later leaves the socket alone (it may carry another request by then);
one that came sooner shut down a socket that was still this stream's.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from typing_extensions import Self

from orkes.connectors._closing import Closing
from orkes.connectors._secrets import redact
from orkes.connectors.transport.protocol import Request
from orkes.connectors.transport.sse import ServerSentEvent, SseDecoder
from orkes.errors import ConnectionFailed, ConnectorError, ConnectorTimeout

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpxEvents", "caused", "clean"]

_MAX_DRAIN = 64 * 1024


class HttpxEvents(Closing):
    """The events of one streamed answer, read as they arrive.

    Reading to the end hands the connection back to the client's pool; :meth:`close`
    (or leaving a ``with`` block) before the end drops it. :meth:`close` may be called
    from any thread: a read waiting in another thread then ends at once.
    """

    def __init__(self, response: httpx.Response, where: str, request: Request) -> None:
        import httpx

        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _handing_back()(response.stream, self._let_go)
        self._response = response
        self._where = where
        self._request = request
        self._decoder = SseDecoder()
        self._pending: deque[ServerSentEvent] = deque()
        self._chunks: queue.SimpleQueue[bytes | ConnectorError] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._read_all = False  # the reading thread is done (the end, a failure or a close)
        self._closed = False  # closed before the end
        self._done = False  # the end (or a failure) was taken from the queue
        self._socket: socket.socket | None = None
        stream = response.extensions.get("network_stream")
        if response.http_version != "HTTP/2" and stream is not None:
            self._socket = stream.get_extra_info("socket")  # this stream's alone: HTTP/1.1
        name = f"orkes-httpx-events ({where})"
        threading.Thread(target=self._read_body, name=name, daemon=True).start()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ServerSentEvent:
        while not self._pending:
            if self._done or self._closed:
                raise StopIteration
            chunk = self._take(None)
            if chunk:
                self._pending.extend(self._decoder.feed(chunk))
            else:
                self._pending.extend(self._decoder.finish())
                self._done = True
        return self._pending.popleft()

    @property
    def closed(self) -> bool:
        """Whether the stream was closed before its end (the connection is gone)."""
        return self._closed

    @property
    def where(self) -> str:
        """Who is streaming, for messages: ``"OpenAI at host:443 (POST /v1/...)"``."""
        return self._where

    def finish(self, grace: float = 1.0) -> None:
        """Take what is left after the service's end marker, then let the connection go.

        A service that keeps the stream open after it said it was done gets ``grace``
        seconds before the connection is closed instead.
        """
        drained = 0
        try:
            while not (self._done or self._closed) and drained < _MAX_DRAIN:
                leftover = self._take(min(grace, self._request.timeout))
                if leftover is None:  # still open after the grace: drop it
                    break
                if not leftover:
                    self._done = True
                drained += len(leftover)
        except ConnectorError:
            return  # it broke or was closed: the reading thread has let go of it
        if not self._done:
            self.close()

    def close(self) -> None:
        """Drop the connection (before the end); never blocks. Safe to call twice."""
        with self._lock:
            if self._closed or self._done:
                return
            self._closed = True
            if not self._read_all and self._socket is not None:
                # Wakes the reading thread, which closes the response itself. Done under
                # the lock: once read to the end, the socket may carry another request.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
        self._chunks.put(ConnectionFailed(f"the stream from {self._where} was closed"))

    def _let_go(self) -> None:
        """Say that the connection is about to be pooled or closed: the socket is not ours."""
        with self._lock:
            self._read_all = True

    def _take(self, timeout: float | None) -> bytes | None:
        """The next chunk (``b""`` at the end); ``None`` if none came within ``timeout``."""
        if self._closed:
            raise ConnectionFailed(f"the stream from {self._where} was closed")
        try:
            item = self._chunks.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, ConnectorError):
            self._done = True
            raise item
        return item

    def _read_body(self) -> None:
        """Queue the body's chunks, then ``b""`` or the failure; nothing escapes."""
        import httpx

        timeout, secrets = self._request.timeout, self._request.secrets
        failure: ConnectorError | None = None
        try:
            for chunk in self._response.iter_bytes():
                if self._closed:
                    break
                self._chunks.put(chunk)
        except httpx.TimeoutException as error:
            message = f"{self._where} sent nothing for {timeout:g} s in the middle of a stream"
            failure = caused(ConnectorTimeout(message), error, secrets)
        except Exception as error:
            message = f"the connection to {self._where} broke in the middle of a stream"
            failure = caused(ConnectionFailed(message), error, secrets)
        self._let_go()  # done already if httpx closed the response at the end of the body
        with contextlib.suppress(Exception):
            self._response.close()  # pooled if read to the end, else closed
        self._chunks.put(b"" if failure is None or self._closed else failure)


@functools.cache
def _handing_back() -> Callable[[httpx.SyncByteStream, Callable[[], None]], httpx.SyncByteStream]:
    """The wrapper of a byte stream that calls ``letting_go`` before the stream is closed.

    Made on first use: this module is imported where httpx may not be installed.
    """
    import httpx

    class HandingBack(httpx.SyncByteStream):
        def __init__(self, stream: httpx.SyncByteStream, letting_go: Callable[[], None]) -> None:
            self._stream = stream
            self._letting_go = letting_go

        def __iter__(self) -> Iterator[bytes]:
            return iter(self._stream)

        def close(self) -> None:
            self._letting_go()  # first: once closed, the connection may serve another request
            self._stream.close()

    return HandingBack


def clean(error: Exception, secrets: Iterable[str]) -> Exception:
    """A copy of httpx's ``error`` with its message only: no request, cause or traceback.

    httpx's errors hold the request (its headers: the API key), and their tracebacks
    hold h11's frames (the header bytes): neither may hang off an orkes error.
    """
    message = redact(str(error), secrets)
    try:
        return type(error)(message)
    except Exception:
        return ConnectionError(message)


def caused(failure: ConnectorError, error: Exception, secrets: Iterable[str]) -> ConnectorError:
    """``failure``, with a clean copy of ``error`` as its cause (raise it outside ``except``)."""
    failure.__cause__ = clean(error, secrets)
    return failure
