"""Running the async loop from sync code: with or without an event loop already running.

``run`` of a graph with async nodes runs the loop to completion on this thread when no
loop is running here, and on a thread of its own when one is (a Jupyter cell, an async
web handler): no "asyncio.run() cannot be called from a running event loop", no
``nest_asyncio``. ``stream`` of such a graph runs the loop on a thread of its own and
hands events over as they come.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["events_of", "run_to_end"]

T = TypeVar("T")
_END: Any = object()


def run_to_end(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to its end from sync code, wherever this is called."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: list[T] = []
    failure: list[BaseException] = []
    context = contextvars.copy_context()

    def on_thread() -> None:
        try:
            result.append(context.run(asyncio.run, make()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=on_thread, name="orkes-run", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def events_of(make: Callable[[], AsyncIterator[T]], on_stop: Callable[[], None]) -> Iterator[T]:
    """Iterate, from sync code, the async iterator ``make()`` run on a thread's own loop.

    Closing this generator stops the iteration (``on_stop`` is called, the async
    iterator is closed) and waits for the thread to end.
    """
    import asyncio

    handed: queue.SimpleQueue[Any] = queue.SimpleQueue()
    loop_box: list[asyncio.AbstractEventLoop] = []
    task_box: list[asyncio.Task[None]] = []
    wanted_box: list[asyncio.Event] = []
    ready = threading.Event()
    ended: list[bool] = []
    context = contextvars.copy_context()

    async def pump() -> None:
        # One event per request: the async iterator goes no further than the consumer
        # has asked, so a consumer that stops early starts no later node.
        loop_box.append(asyncio.get_running_loop())
        task = asyncio.current_task()
        assert task is not None
        task_box.append(task)
        wanted = asyncio.Event()
        wanted_box.append(wanted)
        ready.set()
        events = make()
        try:
            while True:
                await wanted.wait()
                wanted.clear()
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                handed.put(event)
        except BaseException as exc:
            handed.put(_Failure(exc))
        finally:
            try:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                handed.put(_END)

    def run_loop() -> None:
        try:
            context.run(asyncio.run, pump())
        finally:
            ready.set()

    thread = threading.Thread(target=run_loop, name="orkes-stream", daemon=True)
    thread.start()
    ready.wait()
    try:
        while True:
            if loop_box and wanted_box:
                with contextlib.suppress(RuntimeError):  # the loop has already ended
                    loop_box[0].call_soon_threadsafe(wanted_box[0].set)
            item = handed.get()
            if item is _END:
                ended.append(True)
                break
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        if thread.is_alive():
            if not ended:  # the consumer stopped early (after _END the loop is just closing)
                on_stop()
            if loop_box and task_box:
                with contextlib.suppress(RuntimeError):
                    loop_box[0].call_soon_threadsafe(task_box[0].cancel)
            thread.join()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error
