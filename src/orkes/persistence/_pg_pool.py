"""A small pool of async PostgreSQL connections that any event loop may borrow from.

psycopg's own async pool runs background tasks on the loop that opened it, so it dies
with that loop; a checkpointer outlives loops (a script calls ``asyncio.run`` again and
again, a test suite once per case). Here idle connections wait in a list under a thread
lock, and each is lent to one task at a time: psycopg's ``AsyncConnection`` waits with
whichever loop is running, and its internal lock, never contended, never binds to one.
At most ``size`` connections are lent at once within one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

__all__ = ["AsyncPool", "PoolClosed", "hung_up"]

_IDLE = 0  # libpq's PQTRANS_IDLE: connected, no query running, no transaction open


class PoolClosed(Exception):
    """A connection was asked of a closed :class:`AsyncPool`."""


class AsyncPool:
    """Idle async connections made by ``connect``, lent one task at a time.

    A connection that comes back closed, broken, or not idle (a task cancelled in the
    middle of a query or a transaction) is closed instead of kept.

    Args:
        connect: makes a new connection (``psycopg.AsyncConnection.connect(...)``).
        size: how many connections one event loop may hold at once.
    """

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._limits = weakref.WeakKeyDictionary()
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """Borrow a connection for the ``async with`` block.

        Raises:
            PoolClosed: the pool was closed.
        """
        async with self._limit():
            connection = self._take() or await self._connect()
            try:
                yield connection
            finally:
                self._give(connection)

    def close(self) -> None:
        """Close the idle connections, and each lent one as it comes back; lend none after."""
        for connection in self._shut():
            _finish(connection)

    async def aclose(self) -> None:
        """:meth:`close` for async code (each connection closed by psycopg's ``close``)."""
        for connection in self._shut():
            await connection.close()

    def _shut(self) -> list[Any]:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        return idle

    def _limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise PoolClosed("the connection pool is closed")
            limit = self._limits.get(loop)
            if limit is None:
                limit = self._limits[loop] = asyncio.Semaphore(self._size)
            return limit

    def _take(self) -> Any:
        with self._lock:
            if self._closed:
                raise PoolClosed("the connection pool is closed")
            while self._idle:
                connection = self._idle.pop()
                if connection.pgconn.transaction_status == _IDLE and not hung_up(connection):
                    return connection
                _finish(connection)  # libpq saw it die (the server went away)
        return None

    def _give(self, connection: Any) -> None:
        with self._lock:
            if not self._closed and connection.pgconn.transaction_status == _IDLE:
                self._idle.append(connection)
                return
        _finish(connection)


def hung_up(connection: Any) -> bool:
    """Whether the server closed this idle connection while it waited to be lent.

    A server restarted, a backend terminated, an idle timeout: the server says so and
    hangs up, and libpq learns of it only at the next query, which then fails. An idle
    connection is sent nothing unasked, so anything to read means it is gone. Asked of
    the socket without waiting: no round trip.
    """
    try:
        socket = connection.pgconn.socket
        if hasattr(select, "poll"):  # select() refuses descriptors past FD_SETSIZE (1024)
            poller = select.poll()
            poller.register(socket, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([socket], [], [], 0)  # pragma: no cover - Windows
    except Exception:  # no socket any more (psycopg's OperationalError), or a closed one
        return True
    return bool(readable)


def _finish(connection: Any) -> None:
    """Close ``connection`` without a loop: its socket is closed at once."""
    connection.pgconn.finish()
