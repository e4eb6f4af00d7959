"""Streamed replies: iterate the text as it arrives, then read the whole message.

:class:`MessageStream` (sync) and :class:`AsyncMessageStream` (async) share one core that
does the blocking work; the async face runs each blocking step in a worker thread of the
connectors' I/O pool, so the event loop never waits on the network. The request is sent
when the first chunk is asked for; closing the stream before its end closes the
connection. The core reads in one thread at a time, and the async face never starts a
read while another is in flight: an await that is cancelled leaves its read running, and
the next await takes what it brings.

A face given a ``publish`` function (:func:`orkes.events.token_publisher`'s, while a run
streams ``"messages"`` from the node) hands it each chunk of text as the chunk leaves the
core: yielded, or read by ``final_message()``. Each chunk is published once, from the
thread that reads the stream (the async face: the event loop's); without one, a chunk
costs one ``is None`` test more.

Example:
    >>> from orkes.connectors.openai import OpenAIConnector
    >>> with OpenAIConnector("m", base_url="http://127.0.0.1:9", api_key="") as connector:
    ...     stream = connector.stream([{"role": "user", "content": "Hi"}])
    ...     stream.close()  # nothing was sent: the request goes out on the first chunk
    ...     stream.message
    Traceback (most recent call last):
    ...
    orkes.errors.ConnectorError: the stream was closed before its end, so it has no final message
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType

from typing_extensions import Self

from orkes.connectors._chat.reply import StreamDecoder
from orkes.connectors._closing import Closing
from orkes.connectors._secrets import without_secrets
from orkes.connectors._threads import start_in_thread
from orkes.connectors.transport.protocol import EventSource
from orkes.errors import ConnectionFailed, ConnectorError
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["AsyncMessageStream", "MessageStream", "acollect", "collect"]


class _StreamCore:
    """The blocking state machine behind both faces: open, read events, finish, close.

    ``close`` may be called from another thread while ``next_chunk`` waits on a read; two
    threads that call ``next_chunk`` at once read one after the other, never together.
    An error it raises shows none of ``secrets`` (the API key): a service may echo the key
    in an error event, and the decoder quotes what it could not read. ``on_end`` (a
    tracer's) is called once, when the stream ends: with the message, or with the error
    (a failure, or a close before the end).
    """

    def __init__(
        self,
        open_events: Callable[[threading.Event], EventSource],
        decoder: StreamDecoder,
        secrets: Iterable[str] = (),
        on_end: Callable[[OrkesMessageSchema | None, BaseException | None], None] | None = None,
    ) -> None:
        self._open_events = open_events
        self._decoder = decoder
        self._secrets = tuple(secrets)
        self._events: EventSource | None = None
        self._pending_chunks: deque[str] = deque()
        self._message: OrkesMessageSchema | None = None
        self._failure: ConnectorError | None = None
        self._closed = False
        self._given_up = threading.Event()  # set by close(): the request's retries stop
        self._lock = threading.Lock()  # guards _closed and _events, for close()
        self._read_lock = threading.Lock()  # one reader at a time: http.client is not shared
        self._on_end = on_end

    def next_chunk(self) -> str | None:
        """The next piece of text, or ``None`` once the stream is over (or closed)."""
        with self._read_lock:
            while not self._pending_chunks:
                if self._message is not None or self._closed or self._failure is not None:
                    return None
                try:
                    self._read_one_event()
                    continue
                except ConnectorError as error:
                    if self._closed:  # closed from another thread: not a failure
                        return None
                    failure = without_secrets(error, self._secrets)
                # Raised outside the except block: the unredacted error is not its context.
                self._failure = failure
                self.close()
                self._ended()
                raise failure
            return self._pending_chunks.popleft()

    def _read_one_event(self) -> None:
        events = self._events or self._open()
        event = next(events, None)
        if event is None:
            if not self._decoder.is_complete():
                message = f"the stream from {events.where} ended before the reply was complete"
                raise ConnectionFailed(message)
            self._message = self._decoder.message()
            self._ended()
            return
        self._pending_chunks.extend(chunk for chunk in self._decoder.feed(event) if chunk)
        if self._decoder.done:
            events.finish()
            self._message = self._decoder.message()
            self._ended()

    def _ended(self) -> None:
        """Tell ``on_end`` how the stream ended, once."""
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            if self._message is not None:
                on_end(self._message, None)
            else:
                closed = ConnectorError("the stream was closed before its end")
                on_end(None, self._failure or closed)

    def _open(self) -> EventSource:
        events = self._open_events(self._given_up)
        with self._lock:
            closed_meanwhile = self._closed
            if not closed_meanwhile:
                self._events = events
        if closed_meanwhile:
            events.close()
            raise ConnectionFailed("the stream was closed while its request was being sent")
        return events

    @property
    def message(self) -> OrkesMessageSchema:
        if self._message is not None:
            return self._message
        if self._failure is not None:
            message = f"the stream failed, so it has no final message: {self._failure}"
            raise ConnectorError(message) from self._failure
        if self._closed:
            raise ConnectorError("the stream was closed before its end, so it has no final message")
        raise ConnectorError(
            "the stream has not ended yet: iterate it to the end, or call final_message()"
        )

    def skip_to_end(self) -> None:
        """Read the rest; its chunks are not returned (the message holds their text)."""
        while self.next_chunk() is not None:
            pass

    def drain(self) -> OrkesMessageSchema:
        self.skip_to_end()
        return self.message

    def close(self) -> None:
        """Stop; before the end, drop the connection. Never blocks; any thread may call it."""
        with self._lock:
            self._closed = self._closed or self._message is None
            events = self._events
        if self._closed:
            self._given_up.set()
        if events is not None and self._closed:
            events.close()
        if self._closed and self._failure is None:
            self._ended()


class MessageStream(Closing, Iterator[str]):
    """The text of a reply as it arrives; then the whole message in :attr:`message`.

    Iterate it for the chunks of text. Once it is exhausted, :attr:`message` holds the
    final :class:`~orkes.shared.schema.OrkesMessageSchema`, with the tool calls assembled
    and the token usage in ``metadata["usage"]``. Use it in a ``with`` block (or call
    :meth:`close`) to drop the connection when you stop early.

    Made inside a node of a run streamed in ``"messages"`` mode, it publishes each chunk
    as a ``Token`` of that node when the chunk is read (by iteration or by
    :meth:`final_message`).
    """

    def __init__(self, core: _StreamCore, publish: Callable[[str], None] | None = None) -> None:
        self._core = core
        self._publish = publish
        # A stream that is dropped half-read still closes its connection.
        weakref.finalize(self, core.close)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        chunk = self._core.next_chunk()
        if chunk is None:
            raise StopIteration
        if self._publish is not None:
            self._publish(chunk)
        return chunk

    @property
    def message(self) -> OrkesMessageSchema:
        """The final message, once the stream is exhausted.

        Raises:
            ConnectorError: the stream has not ended, was closed early, or failed.
        """
        return self._core.message

    def final_message(self) -> OrkesMessageSchema:
        """Read the rest of the stream (its chunks are not yielded) and return the message."""
        if self._publish is None:
            return self._core.drain()
        for _chunk in self:  # read one by one: each is published as it arrives
            pass
        return self._core.message

    def close(self) -> None:
        """Stop reading; before the end this closes the connection. Safe to call twice."""
        self._core.close()


class AsyncMessageStream(AsyncIterator[str]):
    """The async twin of :class:`MessageStream`: ``async for`` and ``async with``.

    Each read happens in a worker thread; the event loop never blocks. Leaving the
    ``async with`` block (or ``await stream.aclose()``) drops the connection, also when
    the task is cancelled in the middle of a read.

    Cancelling an await of ``__anext__`` or :meth:`final_message` (a timeout around it,
    say) does not cancel the read behind it: that read goes on, and the next await takes
    its outcome, so no text is lost or read twice. An idle-time watchdog works::

        while True:
            try:
                chunk = await asyncio.wait_for(anext(stream), 10)
            except asyncio.TimeoutError:
                continue  # no chunk for 10 s: the same read goes on
            except StopAsyncIteration:
                break

    A stream is read by one task at a time; a second task that asks for a chunk while
    another waits for one gets a :class:`~orkes.errors.ConnectorError`.

    Made inside a node of a run streamed in ``"messages"`` mode, it publishes each chunk
    as a ``Token`` of that node when an await takes it, from the event loop's thread.
    """

    def __init__(self, core: _StreamCore, publish: Callable[[str], None] | None = None) -> None:
        self._core = core
        self._publish = publish
        # The read running in a worker thread, until an await has taken its outcome.
        self._read_in_flight: concurrent.futures.Future[str | None] | None = None
        self._waiting: asyncio.Future[str | None] | None = None
        weakref.finalize(self, core.close)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        chunk = await self._read(self._core.next_chunk)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def message(self) -> OrkesMessageSchema:
        """The final message, once the stream is exhausted.

        Raises:
            ConnectorError: the stream has not ended, was closed early, or failed.
        """
        return self._core.message

    async def final_message(self) -> OrkesMessageSchema:
        """Read the rest of the stream (its chunks are not yielded) and return the message.

        Cancelled (a timeout around it, say), its read goes on; another ``final_message()``
        takes it over and returns the message.
        """
        # Without a listener the rest is read in one step; with one, chunk by chunk, so that
        # each is published as it arrives. A chunk of a read that an earlier __anext__
        # began comes first either way: it is in the message already.
        read_rest = self._core.skip_to_end if self._publish is None else self._core.next_chunk
        while await self._read(read_rest) is not None:
            pass
        return self._core.message

    async def aclose(self) -> None:
        """Stop reading; before the end this closes the connection. Safe to call twice."""
        # Closing never blocks: a read waiting in a worker thread is woken and frees
        # the connection itself.
        self._core.close()

    async def _read(self, step: Callable[[], str | None]) -> str | None:
        """The outcome of the read in flight, else of ``step`` run in a worker thread."""
        if self._waiting is not None and not self._waiting.done():
            message = "another task is waiting for a chunk of this stream: read it from one task"
            raise ConnectorError(message)
        read = self._read_in_flight
        if read is None:
            read = self._read_in_flight = start_in_thread(step)
        # shield: cancelling this await must not cancel the read, whose outcome waits for
        # the next call; only an outcome handed over here ends the read in flight.
        self._waiting = asyncio.shield(asyncio.wrap_future(read))
        try:
            outcome = await self._waiting
        except asyncio.CancelledError:
            if read.cancelled():  # the read itself was cancelled (the pool shut down)
                self._read_in_flight = None
            raise
        except BaseException:
            self._read_in_flight = None
            raise
        self._read_in_flight = None
        # Published here, where a chunk is handed over, so each is published exactly once.
        if outcome is not None and self._publish is not None:
            self._publish(outcome)
        return outcome


def collect(core: _StreamCore, publish: Callable[[str], None]) -> OrkesMessageSchema:
    """Read a stream to its end, handing each chunk of text to ``publish``; the message.

    What ``invoke`` does while a run streams ``"messages"``: the caller gets the whole
    reply, and the chunks reach the stream's listener as they arrive. Should ``publish``
    or a read raise, the connection is closed.
    """
    with MessageStream(core, publish) as stream:
        return stream.final_message()


async def acollect(core: _StreamCore, publish: Callable[[str], None]) -> OrkesMessageSchema:
    """The async twin of :func:`collect`: reads in worker threads, publishes on the loop.

    Cancelling the await closes the connection (and stops the request's retries).
    """
    async with AsyncMessageStream(core, publish) as stream:
        return await stream.final_message()
