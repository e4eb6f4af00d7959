r"""Server-Sent Events: turn the bytes of a ``text/event-stream`` body into events.

The decoder follows the WHATWG rules that LLM services rely on: lines end in ``\n``,
``\r\n`` or ``\r``; a blank line dispatches the event; ``data:`` lines are joined with
``\n``; ``event:`` names the event; lines starting with ``:`` are comments (keep-alive
pings); one space after the colon is dropped; an event cut off by the end of the body is
never dispatched. A ``[DONE]`` sentinel is plain data here: the caller decides what it means.

Example:
    >>> decoder = SseDecoder()
    >>> decoder.feed(b': ping\nevent: delta\ndata: {"a":')
    []
    >>> for event in decoder.feed(b" 1}\n\ndata: [DONE]\n\n"):
    ...     print(event)
    ServerSentEvent(data='{"a": 1}', event='delta', id=None)
    ServerSentEvent(data='[DONE]', event='message', id=None)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["ServerSentEvent", "SseDecoder", "iter_sse_events"]

_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ServerSentEvent:
    r"""One dispatched event.

    Attributes:
        data: the ``data:`` lines joined with ``\n``.
        event: the ``event:`` field, ``"message"`` when the service gave none.
        id: the last ``id:`` field seen on the stream so far, if any.
    """

    data: str
    event: str = "message"
    id: str | None = None


class SseDecoder:
    """Incremental decoder: feed it the body's bytes as they arrive, get whole events back.

    Bytes may be split anywhere, even inside a line ending or a UTF-8 character.
    """

    __slots__ = (
        "_data_lines", "_event_name", "_last_event_id", "_skip_newline", "_started", "_unfinished"
    )  # fmt: skip

    def __init__(self) -> None:
        # The bytes after the last line ending, in the pieces they came in: a long line
        # is joined once when its end arrives, not copied again with every chunk.
        self._unfinished: list[bytes] = []
        self._started = False
        # The last chunk ended in "\r": a "\n" that starts the next one is the same ending.
        self._skip_newline = False
        self._data_lines: list[str] = []
        self._event_name = ""
        self._last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Take the next bytes of the body; return the events they complete, in order."""
        if not self._started:
            head = b"".join(self._unfinished) + chunk
            if len(head) < len(_BYTE_ORDER_MARK) and _BYTE_ORDER_MARK.startswith(head):
                self._unfinished = [head]
                return []
            self._started = True
            self._unfinished = []
            chunk = head.removeprefix(_BYTE_ORDER_MARK)
        if not chunk:
            return []
        if self._skip_newline:
            self._skip_newline = False
            chunk = chunk.removeprefix(b"\n")
            if not chunk:
                return []
        # Only the new chunk is searched for a line ending.
        if b"\n" not in chunk and b"\r" not in chunk:
            self._unfinished.append(chunk)
            return []
        lines = b"".join([*self._unfinished, chunk]).splitlines(keepends=True)
        # The last piece is unfinished unless it ends a line. A "\r" ends its line at once
        # (waiting to see whether "\n" follows would hold back the event it completes).
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._unfinished = [lines.pop()]
        else:
            self._unfinished = []
        self._skip_newline = chunk.endswith(b"\r")
        events: list[ServerSentEvent] = []
        for raw_line in lines:
            event = self._process_line(raw_line.rstrip(b"\r\n").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def finish(self) -> list[ServerSentEvent]:
        """Say the body has ended; return the events it completes.

        There are none: :meth:`feed` read every line that ended. An event without its
        closing blank line is discarded, as the standard says.
        """
        self._unfinished = []
        self._skip_newline = False
        return []

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field_name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field_name == "data":
            self._data_lines.append(value)
        elif field_name == "event":
            self._event_name = value
        elif field_name == "id" and "\0" not in value:
            self._last_event_id = value
        # "retry" and unknown fields are ignored: reconnection is not ours to do.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data_lines, event_name = self._data_lines, self._event_name
        self._data_lines, self._event_name = [], ""
        if not data_lines:
            return None
        return ServerSentEvent(
            data="\n".join(data_lines), event=event_name or "message", id=self._last_event_id
        )


def iter_sse_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    r"""Yield the events of a body given as an iterable of byte chunks.

    Example:
        >>> [event.data for event in iter_sse_events([b"data: a\n", b"data: b\n\n"])]
        ['a\nb']
    """
    decoder = SseDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()
