"""RunStream / AsyncRunStream: a run as it happens, as an iterable of events.

Iterate for events; ``.result`` is the final state once the run has ended. Leaving the
``with`` block, breaking out of the loop (the stream is then collected), or ``close()``
stops the run cleanly: no node starts after that, and running ones are waited for.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> class S(TypedDict):
    ...     n: int
    >>> graph = OrkesGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1})
    >>> app = graph.add_edge(START, "inc").add_edge("inc", END).compile()
    >>> with app.stream({"n": 1}) as stream:
    ...     for event in stream:
    ...         print(event.node, dict(event.update))
    inc {'n': 2}
    >>> stream.result
    {'n': 2}
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from orkes.errors import RunStopped
from orkes.events import Event

if TYPE_CHECKING:
    from orkes.graph.plan import Run

__all__ = ["AsyncRunStream", "RunStream"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class RunStream(Generic[StateT]):
    """The events of a run, as it goes; ``.result`` is its final state."""

    __slots__ = ("_context", "_ended", "_error", "_events", "_run")

    def __init__(self, events: Iterator[Event], run: Run, context: contextvars.Context) -> None:
        self._events = events
        self._run = run
        self._context = context
        self._ended = False
        self._error: BaseException | None = None

    def __iter__(self) -> RunStream[StateT]:
        return self

    def __next__(self) -> Event:
        if self._ended:
            raise StopIteration
        try:
            return self._context.run(next, self._events)
        except StopIteration:
            self._ended = True
            raise
        except BaseException as exc:
            self._ended = True
            self._error = exc
            raise

    def __enter__(self) -> RunStream[StateT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run: no node starts after this; running nodes are waited for."""
        if not self._ended:
            self._ended = True
            self._run.stopping = True
            close = getattr(self._events, "close", None)
            if close is not None:
                self._context.run(close)

    @property
    def result(self) -> StateT:
        """The final state; if the run is still going, it runs to the end first.

        Raises:
            RunStopped: the stream was closed before the run ended.
            OrkesError: whatever stopped the run (raised again).
        """
        for _ in self:
            pass
        return cast(StateT, _final(self._run, self._error))


class AsyncRunStream(Generic[StateT]):
    """The events of a run on the event loop: ``async for``, ``async with``, ``await``.

    ``await runner.astream(state)`` gives the stream itself, so both
    ``async for event in runner.astream(state)`` and
    ``async with await runner.astream(state) as stream`` work.
    """

    __slots__ = ("_ended", "_error", "_events", "_run")

    def __init__(self, events: AsyncIterator[Event], run: Run) -> None:
        self._events = events
        self._run = run
        self._ended = False
        self._error: BaseException | None = None

    def __await__(self) -> Generator[Any, None, AsyncRunStream[StateT]]:
        return self._itself().__await__()

    async def _itself(self) -> AsyncRunStream[StateT]:
        return self

    def __aiter__(self) -> AsyncRunStream[StateT]:
        return self

    async def __anext__(self) -> Event:
        if self._ended:
            raise StopAsyncIteration
        try:
            return await self._events.__anext__()
        except StopAsyncIteration:
            self._ended = True
            raise
        except BaseException as exc:
            self._ended = True
            self._error = exc
            raise

    async def __aenter__(self) -> AsyncRunStream[StateT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the run: no node starts after this; running nodes are cancelled or awaited."""
        if not self._ended:
            self._ended = True
            self._run.stopping = True
            aclose = getattr(self._events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def aresult(self) -> StateT:
        """The final state, running the rest of the run first if it is still going."""
        async for _ in self:
            pass
        return cast(StateT, _final(self._run, self._error))

    @property
    def result(self) -> StateT:
        """The final state once the iteration has ended (else use ``await aresult()``)."""
        if not self._ended:
            raise RunStopped(
                "the run is still going: iterate the stream to its end, or "
                "`await stream.aresult()` to run the rest and get the final state"
            )
        return cast(StateT, _final(self._run, self._error))


def _final(run: Run, error: BaseException | None) -> Any:  # the caller's StateT
    if error is not None:
        raise error
    if run.stopping:
        raise RunStopped(
            f"the stream was closed after step {run.step}, before the run ended: there is no "
            "final state (iterate to the end, or read .result before closing)"
        )
    return run.state
