"""The worker threads of connector I/O: one process-wide pool, sized for waiting, not computing.

``asyncio.to_thread`` uses the event loop's default executor, at most ``min(32, cpus + 4)``
threads: on a small machine two dozen concurrent calls would wait for each other in waves.
A thread that waits on a socket costs next to nothing, so connector I/O (``ainvoke``,
``astream`` reads, sync tools in ``arun_tool_calls``) runs here instead, on up to
:data:`MAX_IO_THREADS` threads, made on first use and idle threads reused.

Example:
    >>> import asyncio
    >>> asyncio.run(in_thread(sum, [1, 2, 3]))
    6
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from orkes._threads import LazyPool

__all__ = ["MAX_IO_THREADS", "in_thread", "io_pool", "start_in_thread"]

MAX_IO_THREADS = 64
"""How many blocking I/O calls of connectors may wait at once, across every event loop."""

_P = ParamSpec("_P")
_R = TypeVar("_R")

_POOL = LazyPool(MAX_IO_THREADS, "orkes-io")


def io_pool() -> ThreadPoolExecutor:
    """The process-wide pool, made on first use (by whichever thread comes first)."""
    return _POOL.get()


def start_in_thread(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
    """Start ``fn(*args, **kwargs)`` in the I/O pool, with a copy of this context's variables.

    Called from a thread of the pool itself (a sync tool that runs an event loop of its
    own, say), the call runs right there: waiting for another thread of a pool that may
    be full of such callers could wait forever.
    """
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    if not _POOL.owns_current_thread():
        return io_pool().submit(call)
    done: Future[_R] = Future()
    try:
        done.set_result(call())
    except BaseException as error:
        done.set_exception(error)
    return done


async def in_thread(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Await ``fn(*args, **kwargs)`` run in the I/O pool, like :func:`asyncio.to_thread`.

    The call sees a copy of the caller's context variables, as with ``asyncio.to_thread``.
    Cancelling the await does not stop a call already running: it goes on to its end.
    """
    return await asyncio.wrap_future(start_in_thread(fn, *args, **kwargs))
