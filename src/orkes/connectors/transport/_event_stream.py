"""The Server-Sent Events of one streaming answer, read from its connection as they arrive.

Two threads may meet here: the one that reads and one that closes (an async task that was
cancelled while a worker thread waits for the next chunk). Only one of them ever touches
the response and the connection after the stream is closed: the closer when no read is
in flight, else the reader, once the socket shutdown has woken it. So :meth:`close`
never blocks, and http.client's objects are never used by two threads at once.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections import deque

from typing_extensions import Self

from orkes.connectors._closing import Closing
from orkes.connectors.transport._connection import ConnectionPool, Exchange, release
from orkes.connectors.transport.sse import ServerSentEvent, SseDecoder
from orkes.errors import ConnectionFailed, ConnectorError, ConnectorTimeout

__all__ = ["EventStream"]

_READ_SIZE = 64 * 1024
_MAX_DRAIN = 64 * 1024


class EventStream(Closing):
    """The Server-Sent Events of one streaming answer, read as they arrive.

    Iterate it for :class:`~orkes.connectors.transport.sse.ServerSentEvent` objects. Reading to the
    end hands the connection back to the pool; :meth:`close` (or leaving a ``with``
    block) before the end closes the connection instead. :meth:`close` may be called
    from any thread: a read waiting in another thread then returns at once.
    """

    def __init__(self, exchange: Exchange, pool: ConnectionPool, timeout: float) -> None:
        self._exchange = exchange
        self._pool = pool
        self._timeout = timeout
        self._decoder = SseDecoder()
        self._pending: deque[ServerSentEvent] = deque()
        self._lock = threading.Lock()
        self._reading = False  # a read is in flight (in whichever thread)
        self._ended = False  # read to the end; the connection went back to the pool
        self._closed = False  # closed before the end; the connection is dropped

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ServerSentEvent:
        while not self._pending:
            if self._ended or self._closed:
                raise StopIteration
            chunk = self._read()
            if chunk:
                self._pending.extend(self._decoder.feed(chunk))
            else:
                self._pending.extend(self._decoder.finish())
                self._end()
        return self._pending.popleft()

    @property
    def closed(self) -> bool:
        """Whether the stream was closed before its end (the connection is gone)."""
        return self._closed

    @property
    def where(self) -> str:
        """Who is streaming, for messages: ``"OpenAI at host:443 (POST /v1/...)"``."""
        return self._exchange.where

    def finish(self, grace: float = 1.0) -> None:
        """Read what is left after the service's end marker, then pool the connection.

        A service that keeps the stream open after it said it was done gets ``grace``
        seconds before the connection is closed instead.
        """
        if self._ended or self._closed:
            return
        self._set_socket_timeout(min(grace, self._timeout))
        drained = 0
        try:
            while drained < _MAX_DRAIN:
                leftover = self._read()
                if not leftover:
                    self._set_socket_timeout(self._timeout)
                    self._end()
                    return
                drained += len(leftover)
        except ConnectorError:
            return  # _read() has closed the stream
        self.close()

    def close(self) -> None:
        """Drop the connection (before the end); never blocks. Safe to call twice."""
        with self._lock:
            if self._ended or self._closed:
                return
            self._closed = True
            read_in_flight = self._reading
        if read_in_flight:
            # Wake the reader; it frees the connection itself (see _read). This is the
            # socket's own shutdown: it takes no buffer lock, and a TLS socket keeps
            # its state for the reader that is still inside it.
            if self._exchange.sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._exchange.sock, socket.SHUT_RDWR)
        else:
            self._free()

    def _read(self) -> bytes:
        where = self._exchange.where
        with self._lock:
            if self._closed:
                raise ConnectionFailed(f"the stream from {where} was closed")
            self._reading = True
        try:
            return self._exchange.response.read1(_READ_SIZE)
        except TimeoutError as error:
            self.close()
            message = f"{where} sent nothing for {self._timeout:g} s in the middle of a stream"
            raise ConnectorTimeout(message) from error
        except (OSError, ValueError, http.client.HTTPException) as error:
            closed_by_another_thread = self._closed
            self.close()
            if closed_by_another_thread:
                raise ConnectionFailed(f"the stream from {where} was closed") from error
            message = f"the connection to {where} broke in the middle of a stream"
            raise ConnectionFailed(message) from error
        finally:
            with self._lock:
                self._reading = False
                closed_meanwhile = self._closed
            if closed_meanwhile:
                self._free()

    def _end(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._ended = True
        release(self._exchange, self._pool)

    def _free(self) -> None:
        self._exchange.response.close()
        self._exchange.connection.close()

    def _set_socket_timeout(self, seconds: float) -> None:
        if self._exchange.sock is not None:
            with contextlib.suppress(OSError):
                self._exchange.sock.settimeout(seconds)
