"""Streamed replies: iterate the text as it arrives, then read the whole message.

:class:`MessageStream` (sync) and :class:`AsyncMessageStream` (async) share one core that
does the blocking work; the async face runs each blocking step in a worker thread, so the
event loop never waits on the network. The request is sent when the first chunk is asked
for; closing the stream before its end closes the connection.

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
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType

from typing_extensions import Self

from orkes.connectors._closing import Closing
from orkes.connectors._event_stream import EventStream
from orkes.connectors._reply import StreamDecoder
from orkes.errors import ConnectionFailed, ConnectorError
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["AsyncMessageStream", "MessageStream"]


class _StreamCore:
    """The blocking state machine behind both faces: open, read events, finish, close.

    ``close`` may be called from another thread while ``next_chunk`` waits on a read.
    """

    def __init__(self, open_events: Callable[[], EventStream], decoder: StreamDecoder) -> None:
        self._open_events = open_events
        self._decoder = decoder
        self._events: EventStream | None = None
        self._pending_chunks: deque[str] = deque()
        self._message: OrkesMessageSchema | None = None
        self._failure: ConnectorError | None = None
        self._closed = False
        self._lock = threading.Lock()

    def next_chunk(self) -> str | None:
        """The next piece of text, or ``None`` once the stream is over (or closed)."""
        while not self._pending_chunks:
            if self._message is not None or self._closed or self._failure is not None:
                return None
            try:
                self._read_one_event()
            except ConnectorError as error:
                if self._closed:  # closed from another thread: not a failure
                    return None
                self._failure = error
                self.close()
                raise
        return self._pending_chunks.popleft()

    def _read_one_event(self) -> None:
        events = self._events or self._open()
        event = next(events, None)
        if event is None:
            if not self._decoder.is_complete():
                message = f"the stream from {events.where} ended before the reply was complete"
                raise ConnectionFailed(message)
            self._message = self._decoder.message()
            return
        self._pending_chunks.extend(chunk for chunk in self._decoder.feed(event) if chunk)
        if self._decoder.done:
            events.finish()
            self._message = self._decoder.message()

    def _open(self) -> EventStream:
        events = self._open_events()
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

    def drain(self) -> OrkesMessageSchema:
        while self.next_chunk() is not None:
            pass
        return self.message

    def close(self) -> None:
        """Stop; before the end, drop the connection. Never blocks; any thread may call it."""
        with self._lock:
            self._closed = self._closed or self._message is None
            events = self._events
        if events is not None and self._closed:
            events.close()


class MessageStream(Closing, Iterator[str]):
    """The text of a reply as it arrives; then the whole message in :attr:`message`.

    Iterate it for the chunks of text. Once it is exhausted, :attr:`message` holds the
    final :class:`~orkes.shared.schema.OrkesMessageSchema`, with the tool calls assembled
    and the token usage in ``metadata["usage"]``. Use it in a ``with`` block (or call
    :meth:`close`) to drop the connection when you stop early.
    """

    def __init__(self, core: _StreamCore) -> None:
        self._core = core
        # A stream that is dropped half-read still closes its connection.
        weakref.finalize(self, core.close)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        chunk = self._core.next_chunk()
        if chunk is None:
            raise StopIteration
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
        return self._core.drain()

    def close(self) -> None:
        """Stop reading; before the end this closes the connection. Safe to call twice."""
        self._core.close()


class AsyncMessageStream(AsyncIterator[str]):
    """The async twin of :class:`MessageStream`: ``async for`` and ``async with``.

    Each read happens in a worker thread; the event loop never blocks. Leaving the
    ``async with`` block (or ``await stream.aclose()``) drops the connection, also when
    the task is cancelled in the middle of a read.
    """

    def __init__(self, core: _StreamCore) -> None:
        self._core = core
        weakref.finalize(self, core.close)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        chunk = await asyncio.to_thread(self._core.next_chunk)
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
        """Read the rest of the stream (its chunks are not yielded) and return the message."""
        return await asyncio.to_thread(self._core.drain)

    async def aclose(self) -> None:
        """Stop reading; before the end this closes the connection. Safe to call twice."""
        # Closing never blocks: a read waiting in a worker thread is woken and frees
        # the connection itself.
        self._core.close()
