"""``invoke``, ``ainvoke``, ``resume``, ``aresume``: runs that say how they ended.

``GraphRunner`` takes these from :class:`ThreadRunMethods`; the work is the runner's
(``_durable`` for a thread, ``_start_run`` for a plain run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from orkes.errors import CheckpointError, GraphDefinitionError

if TYPE_CHECKING:
    from orkes.graph.results import RunResult
    from orkes.graph.routing import Command
    from orkes.persistence.base import Checkpointer
    from orkes.tracing import Tracer

__all__ = ["NO_ANSWER", "ThreadRunMethods", "resume_input"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])

NO_ANSWER: Any = object()
"""``resume``'s default: no answer given (after a crash or a failure)."""


class ThreadRunMethods(Generic[StateT]):
    """How a runner runs and resumes threads, and reports how a run ended."""

    __slots__ = ()

    def _thread(self, thread_id: str | None) -> tuple[Checkpointer, str] | None:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    def _start_run(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
        tracer: Tracer | None = None,
    ) -> StateT:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    async def _start_arun(
        self,
        state: Mapping[str, Any] | Command[Any],
        max_steps: int | None,
        max_concurrency: int | None,
        thread_id: str | None,
        tracer: Tracer | None = None,
    ) -> StateT:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    def _durable(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    async def _adurable(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        thread_id: str | None,
        max_steps: int | None,
        max_concurrency: int | None,
        checkpoint_id: str | None = None,
        answer: object = NO_ANSWER,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    def invoke(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = None,
        checkpoint_id: str | None = None,
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        """Run the graph like :meth:`run`, and say how it ended: a :class:`RunResult`.

        With a thread (``GraphRunner(..., checkpointer=...)`` and ``thread_id=``), the
        state is stored at every superstep boundary: ``state`` merges into the thread's
        stored state through the reducers and the run starts from START; ``state=None``
        resumes the thread where it stands (after a crash, or a node that failed: the
        tasks that finished before are not run again). With ``checkpoint_id`` (one of
        :meth:`history`'s), the run goes on from that older checkpoint instead: a fork,
        a new branch of the thread; the later checkpoints stay readable. ``tracer``
        records the run, as for :meth:`run`.

        Raises:
            CheckpointError: ``state=None`` for a thread with nothing to resume, or a
                thread written by a graph with other state keys.
            CheckpointConflict: another worker advanced the thread meanwhile.
        """
        if self._thread(thread_id) is None:
            if state is None:
                raise GraphDefinitionError("invoke(None) resumes a thread: give thread_id=")
            from orkes.graph.results import RunResult

            final = self._start_run(state, max_steps, max_concurrency, None, tracer)
            return RunResult(final, True)
        return self._durable(
            state, thread_id, max_steps, max_concurrency, checkpoint_id, tracer=tracer
        )

    async def ainvoke(
        self,
        state: Mapping[str, Any] | Command[Any] | None,
        *,
        thread_id: str | None = None,
        checkpoint_id: str | None = None,
        max_steps: int | None = None,
        max_concurrency: int | None = None,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        """:meth:`invoke` on the event loop."""
        if self._thread(thread_id) is None:
            if state is None:
                raise GraphDefinitionError("ainvoke(None) resumes a thread: give thread_id=")
            final = await self._start_arun(state, max_steps, max_concurrency, None, tracer)
            from orkes.graph.results import RunResult

            return RunResult(final, True)
        return await self._adurable(
            state, thread_id, max_steps, max_concurrency, checkpoint_id, tracer=tracer
        )

    def resume(
        self,
        thread_id: str,
        answer: object = NO_ANSWER,
        *,
        max_steps: int | None = None,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        """Go on with a thread where it stands; give ``answer`` to a paused node.

        After a crash or a failure, ``resume(thread_id)`` runs what did not finish.
        After ``ctx.interrupt``, ``resume(thread_id, answer)`` runs the paused node again
        and its ``ctx.interrupt`` returns ``answer``; with several interrupts waiting,
        answer them by id: ``resume(thread_id, {interrupt_id: answer, ...})``.
        ``tracer`` records the run, as for :meth:`run`.

        Raises:
            CheckpointError: nothing to resume, an answer for no waiting interrupt, or
                one value for several.
        """
        return self._durable(None, thread_id, max_steps, None, None, answer, tracer)

    async def aresume(
        self,
        thread_id: str,
        answer: object = NO_ANSWER,
        *,
        max_steps: int | None = None,
        tracer: Tracer | None = None,
    ) -> RunResult[StateT]:
        """:meth:`resume` on the event loop."""
        return await self._adurable(None, thread_id, max_steps, None, None, answer, tracer)


def resume_input(
    state: Mapping[str, Any] | Command[Any] | None,
    answer: object,
    thread_id: str | None = None,
    checkpoint_id: str | None = None,
) -> tuple[Mapping[str, Any] | None, object]:
    """A run's input and answer; ``Command(resume=value)`` is no input and ``value``.

    Raises:
        GraphDefinitionError: a ``Command`` input with more than ``resume=``.
        CheckpointError: an answer with ``checkpoint_id``: a fork's interrupts ask anew.
    """
    from orkes.graph.routing import NO_RESUME, Command

    if not isinstance(state, Command):
        return state, answer
    if checkpoint_id is not None:
        raise CheckpointError(
            f"Command(resume=...) with checkpoint_id={checkpoint_id!r} of thread "
            f"{thread_id!r}: a fork from there runs again and its interrupts ask anew, so "
            "there is nothing to answer yet; fork with invoke(None, thread_id=..., "
            "checkpoint_id=...), then answer with resume(thread_id, answer)"
        )
    if state.resume is NO_RESUME or state.update is not None or state.goto != () or state.graph:
        raise GraphDefinitionError(
            f"a run's input may be a Command with resume= only, got {state!r}: to change the "
            "state before going on, call update_state(thread_id, values) first; a node "
            "returns Command(update=..., goto=...)"
        )
    return None, state.resume
