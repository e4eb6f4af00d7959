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
    ...         print(event.node, event.update)
    inc {'n': 2}
    >>> stream.result
    {'n': 2}
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from itertools import repeat
from types import GenericAlias, TracebackType
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import TypeVar

from orkes.errors import RunStopped
from orkes.events import Event

if TYPE_CHECKING:
    from orkes.graph.plan import Run

__all__ = ["AsyncRunStream", "RunStream"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])
EventT = TypeVar("EventT", default=Event)
"""The events a stream yields: ``Update`` for ``"updates"`` alone, ``Token`` for
``"messages"`` alone, else the union ``Event``."""


if TYPE_CHECKING:
    _EventMap = map
else:

    class _EventMap(map):  # ``map``, subscriptable like a generic class
        __slots__ = ()
        __class_getitem__ = classmethod(GenericAlias)


class RunStream(_EventMap[EventT], Generic[StateT, EventT]):
    """The events of a run, as it goes; ``.result`` is its final state.

    Iterating it is ``map``'s loop, in C, calling ``context.run(next, events)``: each
    event is made inside the run's own context (what nodes set in ``contextvars`` stays
    in the run), and no method of the stream runs per event.
    """

    __slots__ = ("_context", "_ending", "_events", "_run")
    _context: contextvars.Context
    _ending: list[BaseException | None]  # empty while going; then None, or the failure
    _events: Generator[EventT, None, None]
    _run: Run

    def __new__(
        cls, events: Iterator[EventT], run: Run, context: contextvars.Context
    ) -> RunStream[StateT, EventT]:
        """The stream of ``events`` (made by ``GraphRunner.stream``), run in ``context``."""
        ending: list[BaseException | None] = []
        watched = _watched(events, ending)
        self = super().__new__(cls, context.run, repeat(next), repeat(watched))
        self._context = context
        self._ending = ending
        self._events = watched
        self._run = run
        return self

    def __enter__(self) -> RunStream[StateT, EventT]:
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
        """Stop the run: no node starts after this; running nodes are waited for.

        From another thread than the one iterating, while it waits for a node: the run
        stops there, and that thread's loop ends once the node has.
        """
        if not self._ending:
            self._run.stop()
            try:
                self._context.run(self._events.close)
            except (RuntimeError, ValueError):
                if not getattr(self._events, "gi_running", False):  # not iterated elsewhere now
                    raise

    @property
    def result(self) -> StateT:
        """The final state; if the run is still going, it runs to the end first.

        Raises:
            RunStopped: the stream was closed before the run ended.
            OrkesError: whatever stopped the run (raised again).
        """
        for _ in self:
            pass
        return cast(StateT, _final(self._run, self._ending[0] if self._ending else None))


def _watched(
    events: Iterator[EventT], ending: list[BaseException | None]
) -> Generator[EventT, None, None]:
    """``events``; when they end, ``ending`` gets ``None``, or the failure that ended them."""
    try:
        yield from events
    except GeneratorExit:  # closed: stopped, not ended
        raise
    except BaseException as exc:
        ending.append(exc)
        raise
    ending.append(None)


class AsyncRunStream(Generic[StateT, EventT]):
    """The events of a run on the event loop: ``async for``, ``async with``, ``await``.

    ``await runner.astream(state)`` gives the stream itself, so both
    ``async for event in runner.astream(state)`` and
    ``async with await runner.astream(state) as stream`` work.
    """

    __slots__ = ("_ended", "_error", "_events", "_run")

    def __init__(self, events: AsyncIterator[EventT], run: Run | None) -> None:
        self._events = events
        self._run = run  # None until a thread's run is opened by the first event
        self._ended = False
        self._error: BaseException | None = None

    def started(self, run: Run) -> None:
        """The run has been opened (a thread's is opened asynchronously, by ``events``)."""
        self._run = run

    def __await__(self) -> Generator[Any, None, AsyncRunStream[StateT, EventT]]:
        return self._itself().__await__()

    async def _itself(self) -> AsyncRunStream[StateT, EventT]:
        return self

    def __aiter__(self) -> AsyncRunStream[StateT, EventT]:
        return self

    async def __anext__(self) -> EventT:
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

    async def __aenter__(self) -> AsyncRunStream[StateT, EventT]:
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
            if self._run is not None:
                self._run.stop()
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


def _final(run: Run | None, error: BaseException | None) -> Any:  # the caller's StateT
    if error is not None:
        raise error
    if run is None or run.stopping:
        raise RunStopped(
            f"the stream was closed after step {run.step if run else 0}, before the run "
            "ended: there is no final state (iterate to the end, or read .result before "
            "closing)"
        )
    return run.state
