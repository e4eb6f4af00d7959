"""Kept-alive connections: a pool of idle ones, and one exchange in progress.

Example:
    >>> import http.client
    >>> pool = ConnectionPool(lambda: http.client.HTTPConnection("127.0.0.1", 9), size=2)
    >>> connection, reused = pool.acquire()
    >>> reused, pool.idle_count
    (False, 0)
    >>> connection.close()
    >>> pool.close()
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ConnectionPool", "Exchange", "release"]


class ConnectionPool:
    """Idle kept-alive connections to one host, shared by threads."""

    def __init__(self, new_connection: Callable[[], http.client.HTTPConnection], size: int) -> None:
        self._new_connection = new_connection
        self._size = size
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def acquire(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (``True``: it was used before) or a new one (``False``)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new_connection(), False

    def release(self, connection: http.client.HTTPConnection) -> None:
        """Keep a connection whose last response was read to the end, if there is room."""
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(connection)
                return
        connection.close()

    @property
    def idle_count(self) -> int:
        """How many connections wait in the pool."""
        return len(self._idle)

    def close(self) -> None:
        """Close every idle connection (those in use are pooled again when released)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


@dataclass
class Exchange:
    """A request sent and the head of its answer, on a connection we own until released."""

    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse
    sock: socket.socket | None
    where: str


def release(exchange: Exchange, pool: ConnectionPool) -> None:
    """Pool the connection if its answer was read to the end and it stays open, else close."""
    response = exchange.response
    if response.isclosed() and not response.will_close:
        pool.release(exchange.connection)
    else:
        response.close()
        exchange.connection.close()
