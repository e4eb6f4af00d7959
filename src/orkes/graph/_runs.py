"""The four ways to run a graph, written once for ``GraphRunner`` and ``CompiledGraph``.

``run``, ``arun``, ``stream`` and ``astream`` live here with their docs and types; each
hands over to a ``GraphRunner`` (the runner itself, or a new one for a compiled graph).
A stream's events are typed by its modes: ``"updates"`` alone (the default) gives
``Update`` events, ``"messages"`` alone ``Token`` events, anything else the ``Event``
union, to narrow with ``match`` or ``isinstance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union, overload

if TYPE_CHECKING:
    from orkes.events import Event, Interrupt, StreamMode, Token, Update
    from orkes.graph.routing import Command
    from orkes.graph.runner import GraphRunner
    from orkes.graph.stream import AsyncRunStream, RunStream
    from orkes.tracing import Tracer

__all__ = ["RunMethods"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])

UpdatesOnly = Union[Literal["updates"], tuple[Literal["updates"]]]  # noqa: UP007
MessagesOnly = Union[Literal["messages"], tuple[Literal["messages"]]]  # noqa: UP007
AnyModes = Union[Iterable["StreamMode"], "StreamMode"]


class RunMethods(Generic[StateT]):
    """``run``, ``arun``, ``stream``, ``astream``: what a runner and a compiled graph share."""

    __slots__ = ()

    def _runner(self) -> GraphRunner[StateT]:
        raise NotImplementedError  # pragma: no cover - both subclasses define it

    def run(
        self,
        state: Mapping[str, Any] | Command[Any],
        *,
        thread_id: str | None = None,
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> StateT:
        """Run the graph from ``state`` to END and return the final state (a new dict).

        ``state`` may leave keys out (a node may write them later), but may not name a
        key the schema lacks. Works anywhere: a graph with async nodes runs on an event
        loop of its own, on a thread of its own if this thread already runs one (a
        Jupyter cell); ``await arun(state)`` is the way not to block that loop.

        Args:
            state: the input; never changed.
            thread_id: the thread to run in, for a runner with a checkpointer: the input
                merges into the thread's stored state, and every superstep is stored
                (see :meth:`GraphRunner.invoke`).
            max_steps: supersteps this run may take (default: the runner's, 1000).
            max_concurrency: tasks of one superstep that may run at once (default: the
                runner's; ``None``: all).
            tracer: records this run as a ``Trace`` (an ``orkes.tracing.Tracer``; default:
                the runner's, if it has one). See :mod:`orkes.tracing`.

        Raises:
            StateError: ``state`` or a node's update has a key the schema lacks.
            RoutingError: a gate returned a value its mapping does not know.
            ConflictingUpdateError: parallel nodes wrote one key that has no reducer.
            StepLimitExceeded: the run passed ``max_steps``, or an edge its ``max_passes``.
            NodeError: a node or gate raised; the original is ``__cause__``.
        """
        return self._runner()._start_run(state, max_steps, max_concurrency, thread_id, tracer)

    async def arun(
        self,
        state: Mapping[str, Any] | Command[Any],
        *,
        thread_id: str | None = None,
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> StateT:
        """Run the graph like :meth:`run`, awaiting async nodes; sync nodes may mix in.

        Nothing blocks the event loop: async nodes are awaited on it, sync nodes run on
        the thread pool — even a lone one, since a sync node that calls a model would
        otherwise hold up every other coroutine. Cancelling the caller cancels the
        running async nodes and waits for running sync ones: nothing runs on after.
        """
        return await self._runner()._start_arun(
            state, max_steps, max_concurrency, thread_id, tracer
        )

    @overload
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: None = ...,
        modes: UpdatesOnly = ...,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> RunStream[StateT, Update]: ...
    @overload
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: None = ...,
        modes: MessagesOnly,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> RunStream[StateT, Token]: ...
    @overload
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str,
        modes: UpdatesOnly = ...,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> RunStream[StateT, Update | Interrupt]: ...
    @overload
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str,
        modes: MessagesOnly,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> RunStream[StateT, Token | Interrupt]: ...
    @overload
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = ...,
        modes: AnyModes,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> RunStream[StateT, Event]: ...
    def stream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = None,
        modes: AnyModes = ("updates",),
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> RunStream[StateT, Any]:
        """Run the graph, yielding events as they happen; ``.result`` is the final state.

        Args:
            state: the input, as for :meth:`run`; ``None`` resumes the thread.
            thread_id: as for :meth:`run`.
            modes: any of ``"updates"``, ``"values"``, ``"custom"``, ``"messages"``,
                ``"tasks"`` (see :mod:`orkes.events`); their events interleave in the
                order they happened. ``"updates"`` alone yields ``Update`` events and
                ``"messages"`` alone ``Token`` events, for the type checker too (with a
                ``thread_id``, also the ``Interrupt`` a paused run ends with).
            max_steps: as for :meth:`run`.
            max_concurrency: as for :meth:`run`.
            tracer: as for :meth:`run`.

        Example:
            ``for token in runner.stream(state, modes="messages"): print(token.text)``
        """
        return self._runner()._start_stream(
            state, modes, max_steps, max_concurrency, thread_id, tracer
        )

    @overload
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: None = ...,
        modes: UpdatesOnly = ...,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> AsyncRunStream[StateT, Update]: ...
    @overload
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: None = ...,
        modes: MessagesOnly,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> AsyncRunStream[StateT, Token]: ...
    @overload
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str,
        modes: UpdatesOnly = ...,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> AsyncRunStream[StateT, Update | Interrupt]: ...
    @overload
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str,
        modes: MessagesOnly,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> AsyncRunStream[StateT, Token | Interrupt]: ...
    @overload
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = ...,
        modes: AnyModes,
        max_steps: int | None = ...,
        max_concurrency: int | None = ...,
        tracer: Tracer | None = ...,
    ) -> AsyncRunStream[StateT, Event]: ...
    def astream(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = None,
        modes: AnyModes = ("updates",),
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> AsyncRunStream[StateT, Any]:
        """:meth:`stream` for async code: ``async for event in runner.astream(state)``."""
        return self._runner()._start_astream(
            state, modes, max_steps, max_concurrency, thread_id, tracer
        )
