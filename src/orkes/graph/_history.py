"""A runner's threads, looked at and changed: state, history, updates, deletion, pruning.

``GraphRunner`` takes these from :class:`ThreadMethods`; each reads or writes the
runner's checkpointer, and ``update_state`` moves a thread on as if a node had written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from orkes.errors import CheckpointError, GraphDefinitionError
from orkes.graph._run_memory import restore
from orkes.graph._writes import reduced
from orkes.graph.routing import Command

if TYPE_CHECKING:
    from datetime import timedelta

    from orkes.events import Interrupt
    from orkes.graph._durable import Saver
    from orkes.graph.plan import GraphPlan
    from orkes.graph.results import Snapshot
    from orkes.persistence.base import Checkpoint, Checkpointer, PendingWrite

__all__ = ["ThreadMethods"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class ThreadMethods(Generic[StateT]):
    """What a runner with a checkpointer can do with its threads besides running them."""

    __slots__ = ()

    def _store(self) -> Checkpointer:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    def _plan(self) -> GraphPlan:
        raise NotImplementedError  # pragma: no cover - GraphRunner defines it

    def get_state(self, thread_id: str, checkpoint_id: str | None = None) -> Snapshot[StateT]:
        """The thread where it stands (or at ``checkpoint_id``).

        Raises:
            CheckpointError: the thread (or that checkpoint of it) does not exist.
        """
        store = self._store()
        found = _found(store.get(thread_id, checkpoint_id), thread_id)
        return _snapshot(found, store.get_writes(thread_id, found.checkpoint_id))

    async def aget_state(
        self, thread_id: str, checkpoint_id: str | None = None
    ) -> Snapshot[StateT]:
        """:meth:`get_state` for async code."""
        store = self._store()
        found = _found(await store.aget(thread_id, checkpoint_id), thread_id)
        return _snapshot(found, await store.aget_writes(thread_id, found.checkpoint_id))

    def history(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Snapshot[StateT]]:
        """The thread's checkpoints, newest first (at most ``limit``): time travel's map.

        ``filter`` keeps those whose ``source`` or ``step`` equal its values
        (``{"source": "input"}``: where each run began). Give a snapshot's
        ``checkpoint_id`` to ``invoke(None, thread_id=..., checkpoint_id=...)`` to go on
        from there as a new branch.
        """
        store = self._store()
        return [
            _snapshot(found, store.get_writes(thread_id, found.checkpoint_id))
            for found in store.list(thread_id, limit=limit, filter=filter)
        ]

    async def ahistory(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Snapshot[StateT]]:
        """:meth:`history` for async code."""
        store = self._store()
        return [
            _snapshot(found, await store.aget_writes(thread_id, found.checkpoint_id))
            for found in await store.alist(thread_id, limit=limit, filter=filter)
        ]

    def update_state(
        self, thread_id: str, values: Mapping[str, Any], *, as_node: str | None = None
    ) -> str:
        """Write ``values`` into the thread as a new checkpoint; return its id.

        They merge through the reducers. With ``as_node``, as if that node had returned
        them: the run then goes on along that node's edges. Without, the tasks that were
        due stay due. A person correcting an agent's state between two runs does this.

        Raises:
            CheckpointError: the thread does not exist.
            CheckpointConflict: another worker moved the thread meanwhile.
        """
        store = self._store()
        head = _found(store.get(thread_id), thread_id)
        checkpoint, saver = self._updated(head, values, as_node)
        store.put(checkpoint, expected_head=saver.expected)
        if as_node is None:  # the same tasks stay due: a breakpoint passed stays passed
            for write in _passed(store.get_writes(head.thread_id, head.checkpoint_id)):
                store.put_writes(head.thread_id, checkpoint.checkpoint_id, write)
        return checkpoint.checkpoint_id

    async def aupdate_state(
        self, thread_id: str, values: Mapping[str, Any], *, as_node: str | None = None
    ) -> str:
        """:meth:`update_state` for async code."""
        store = self._store()
        head = _found(await store.aget(thread_id), thread_id)
        checkpoint, saver = self._updated(head, values, as_node)
        await store.aput(checkpoint, expected_head=saver.expected)
        if as_node is None:
            kept = await store.aget_writes(head.thread_id, head.checkpoint_id)
            for write in _passed(kept):
                await store.aput_writes(head.thread_id, checkpoint.checkpoint_id, write)
        return checkpoint.checkpoint_id

    def delete_thread(self, thread_id: str) -> None:
        """Forget the thread: every checkpoint, value and kept write of it."""
        self._store().delete_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` for async code."""
        await self._store().adelete_thread(thread_id)

    def prune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """Delete old checkpoints (of one thread, or of all); never a thread's newest.

        ``keep_last=N`` keeps each thread's newest N; ``older_than`` deletes those
        written longer ago. Returns how many were deleted.
        """
        return self._store().prune(thread_id, keep_last=keep_last, older_than=older_than)

    async def aprune(
        self,
        thread_id: str | None = None,
        *,
        keep_last: int | None = None,
        older_than: timedelta | None = None,
    ) -> int:
        """:meth:`prune` for async code."""
        return await self._store().aprune(thread_id, keep_last=keep_last, older_than=older_than)

    def _updated(
        self, head: Checkpoint, values: Mapping[str, Any], as_node: str | None
    ) -> tuple[Checkpoint, Saver]:
        from orkes.graph._durable import Saver, tasks_of
        from orkes.graph.plan import Run

        plan = self._plan()
        Run(plan, values, 1)  # checks the keys of ``values``
        run = Run(plan, head.state, head.step + 1)
        run.thread_id = head.thread_id
        restore(run, head.memory)
        run.listen()
        saver = Saver(self._store(), head.thread_id, head)
        if as_node is None:
            run.state.update(reduced(run, [(plan.start.task, values)]))
            due = tasks_of(run, head.next_tasks, head.thread_id)
            return saver.checkpoint(run, due, "update", list(values)), saver
        node = plan.nodes.get(as_node)
        if node is None:
            raise GraphDefinitionError(
                f"update_state(..., as_node={as_node!r}): no such node; the nodes are "
                f"{', '.join(map(repr, plan.nodes))}"
            )
        run.begin_step([node.task])
        following = run.finish_step([(node.task, None, Command(update=dict(values)), None, False)])
        written = [key for _, writes, _ in run.report or () for key in writes]
        return saver.checkpoint(run, following, "update", written), saver


def _passed(kept: Sequence[PendingWrite]) -> list[PendingWrite]:
    """The breakpoints (``interrupt_before``) a thread stands at: passed on resume."""
    return [w for w in kept if w.kind.startswith("interrupt:") and w.kind.endswith(":before")]


def _found(checkpoint: Checkpoint | None, thread_id: str) -> Checkpoint:
    if checkpoint is None:
        raise CheckpointError(
            f"thread {thread_id!r} has no such checkpoint; runner.history({thread_id!r}) lists "
            "the ones it has (none if it never ran)"
        )
    return checkpoint


def _snapshot(checkpoint: Checkpoint, kept: Sequence[PendingWrite]) -> Snapshot[Any]:
    """The snapshot of ``checkpoint``; ``kept``: the writes kept for the step after it."""
    from orkes.graph.results import Snapshot

    return Snapshot(
        state=cast(Any, dict(checkpoint.state)),
        checkpoint_id=checkpoint.checkpoint_id,
        parent_id=checkpoint.parent_id,
        step=checkpoint.step,
        source=checkpoint.source,
        writers=tuple(checkpoint.writers),
        next=tuple(str(entry.get("node")) for entry in checkpoint.next_tasks),
        interrupts=_waiting(checkpoint, kept),
        created_at=checkpoint.created_at,
    )


def _waiting(checkpoint: Checkpoint, kept: Sequence[PendingWrite]) -> tuple[Interrupt, ...]:
    """The pauses kept for the step after ``checkpoint`` that no answer was given for."""
    from orkes.events import Interrupt

    answered = {w.kind.partition(":")[2] for w in kept if w.kind.startswith("answer:")}
    waiting: list[Interrupt] = []
    for write in kept:
        kind, _, interrupt_id = write.kind.partition(":")
        if kind != "interrupt" or interrupt_id in answered:
            continue
        pause = write.writes
        step = pause.get("step")
        waiting.append(
            Interrupt(
                interrupt_id,
                str(pause.get("node") or write.node),
                pause.get("payload"),
                step=step if isinstance(step, int) else checkpoint.step + 1,
                path=tuple(map(str, pause.get("path") or ())),
            )
        )
    return tuple(waiting)
