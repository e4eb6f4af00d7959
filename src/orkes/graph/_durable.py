"""A durable run's saver: checkpoints at superstep boundaries, each finished task at once.

The loops call it at three points of a run with a thread: before a superstep (tasks that
already finished before a crash or a failure are not run again: their kept writes stand
in for them), when a task finishes (its writes are kept at once, keyed by the checkpoint
the superstep started from), and after the superstep (a new checkpoint, the thread's new
head). The rules of what runs next stay the planner's; the storage, the checkpointer's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError
from orkes.graph._pausing import Pausing
from orkes.graph._run_memory import memory_of, task_entry
from orkes.graph._tasks import Task
from orkes.graph._writes import writes_of
from orkes.graph.routing import Command, Send
from orkes.persistence.base import Checkpoint, PendingWrite, new_checkpoint_id

if TYPE_CHECKING:
    from orkes._observe import RunObserver
    from orkes.graph.plan import Outcome, Run
    from orkes.persistence.base import Checkpointer

__all__ = ["Saver", "tasks_of"]


class Saver(Pausing):
    """Writes one thread's checkpoints for one run.

    Attributes:
        checkpointer: where they go.
        thread_id: the thread.
        head_id: the checkpoint the run stands at (the parent of its next checkpoint).
        expected: the thread's head as this run last saw it: a ``put`` finding another
            head fails with ``CheckpointConflict`` (another worker moved the thread).
            It differs from ``head_id`` only while a fork has written nothing yet.
        versions: key -> the checkpoint id holding its current value.
        trace: the observer of a tracer recording the run (told of each checkpoint).
    """

    __slots__ = (
        "answers",
        "checkpointer",
        "expected",
        "head_id",
        "kept",
        "note",
        "onces",
        "paused_at",
        "solo",
        "thread_id",
        "trace",
        "versions",
    )

    def __init__(
        self,
        checkpointer: Checkpointer,
        thread_id: str,
        head: Checkpoint | None,
        expected: str | None = None,
    ) -> None:
        self.checkpointer = checkpointer
        self.thread_id = thread_id
        self.head_id = head.checkpoint_id if head is not None else None
        self.expected = self.head_id if expected is None else expected
        self.versions: dict[str, str] = dict(head.versions) if head is not None else {}
        # The writes kept for the first step after a resume (task id -> write).
        self.kept: dict[str, PendingWrite] = {}
        self.answers: dict[str, Any] = {}  # interrupt id -> the answer given on resume
        self.onces: dict[str, dict[str, Any]] = {}  # task id -> name -> ctx.once's result
        self.paused_at: dict[str, PendingWrite] = {}  # interrupt id -> the pause kept
        self.note: dict[str, Any] = {}  # metadata for the next checkpoint (an upgrade)
        # The step runs one task: its checkpoint, written as it ends, keeps its writes.
        self.solo = False
        self.trace: RunObserver | None = None

    # --- what a checkpoint holds -----------------------------------------------------------

    def checkpoint(
        self, run: Run, tasks: Sequence[Task], source: str, written: Iterable[str]
    ) -> Checkpoint:
        """The checkpoint of ``run`` now, ``tasks`` due next; ``written``: keys written."""
        now = time.time_ns()
        new_id = new_checkpoint_id(now)
        versions = self.versions
        for key in written:
            versions[key] = new_id
        if len(versions) != len(run.state):  # keys never leave a state: only new ones lack one
            for key in run.state:
                versions.setdefault(key, new_id)
        report = run.report or ()
        if source not in ("loop", "update"):
            writers: tuple[str, ...] = ()
        elif len(report) == 1:
            writers = (report[0][0].node.name,)
        else:
            writers = tuple(dict.fromkeys(task.node.name for task, _, _ in report))
        return Checkpoint(  # positional, in field order: a durable run makes one per step
            self.thread_id,
            new_id,
            self.head_id,
            run.step,
            source,
            writers,
            dict(run.state),
            dict(versions),
            run.plan.schema.keys,
            memory_of(run),
            tuple([task_entry(task) for task in tasks]),
            now / 1e9,
            self._taken_note() if self.note else {},
        )

    def _taken_note(self) -> dict[str, Any]:
        note, self.note = self.note, {}
        return note

    def pending(self, run: Run, task: Task, view: Any, returned: object) -> PendingWrite | None:
        """What a finished task wrote, to keep; ``None`` if its return is wrong.

        (The step fails on a wrong return anyway.)
        """
        try:
            writes, routes = writes_of(run, task, view, returned)
        except Exception:
            return None
        return PendingWrite(
            task.task_id(run.step),
            task.node.name,
            dict(writes),
            routes=tuple(_route_entry(route) for route in routes or ()),
        )

    # --- sync ------------------------------------------------------------------------------

    def started(self, run: Run, tasks: Sequence[Task], source: str) -> None:
        """Write the checkpoint a run starts from (its input merged)."""
        self._put(self.checkpoint(run, tasks, source, list(run.state)))

    def forked(self, run: Run, tasks: Sequence[Task]) -> None:
        """Write a fork's first checkpoint: the old one's state, the thread's new head."""
        self._put(self.checkpoint(run, tasks, "fork", ()))

    def task_done(self, run: Run, task: Task, view: Any, returned: object) -> None:
        """Keep a finished task's writes now: a crash later does not run it again.

        A step of one task keeps them in the checkpoint that ends it, written at once:
        one write per superstep, not two.
        """
        if self.solo:
            return
        write = self.pending(run, task, view, returned)
        if write is not None and self.head_id is not None:
            self.checkpointer.put_writes(self.thread_id, self.head_id, write)

    def stepped(self, run: Run, tasks: Sequence[Task]) -> None:
        """A superstep completed: its checkpoint becomes the thread's head."""
        report = run.report or ()
        written = (
            report[0][1] if len(report) == 1 else [key for _, writes, _ in report for key in writes]
        )
        self._put(self.checkpoint(run, tasks, "loop", written))

    def _put(self, checkpoint: Checkpoint) -> None:
        self.checkpointer.put(checkpoint, expected_head=self.expected)
        self.head_id = self.expected = checkpoint.checkpoint_id
        if self.trace is not None:
            self.trace.checkpointed(checkpoint.checkpoint_id, checkpoint.step)

    # --- async -----------------------------------------------------------------------------

    async def astarted(self, run: Run, tasks: Sequence[Task], source: str) -> None:
        """:meth:`started` for async code."""
        await self._aput(self.checkpoint(run, tasks, source, list(run.state)))

    async def aforked(self, run: Run, tasks: Sequence[Task]) -> None:
        """:meth:`forked` for async code."""
        await self._aput(self.checkpoint(run, tasks, "fork", ()))

    async def atask_done(self, run: Run, task: Task, view: Any, returned: object) -> None:
        """:meth:`task_done` for async code."""
        if self.solo:
            return
        write = self.pending(run, task, view, returned)
        if write is not None and self.head_id is not None:
            await self.checkpointer.aput_writes(self.thread_id, self.head_id, write)

    async def astepped(self, run: Run, tasks: Sequence[Task]) -> None:
        """:meth:`stepped` for async code."""
        written = [key for _, writes, _ in run.report or () for key in writes]
        await self._aput(self.checkpoint(run, tasks, "loop", written))

    async def _aput(self, checkpoint: Checkpoint) -> None:
        await self.checkpointer.aput(checkpoint, expected_head=self.expected)
        self.head_id = self.expected = checkpoint.checkpoint_id
        if self.trace is not None:
            self.trace.checkpointed(checkpoint.checkpoint_id, checkpoint.step)

    # --- resuming --------------------------------------------------------------------------

    def split(self, run: Run, tasks: Sequence[Task]) -> tuple[list[Task], list[Outcome]]:
        """The tasks still to run this step, and the outcomes of those that finished before.

        Only the first step after a resume has kept writes; every later step runs all.
        """
        self.solo = len(tasks) == 1
        if not self.kept:
            return list(tasks), []
        to_run: list[Task] = []
        done: list[Outcome] = []
        for task in tasks:
            write = self.kept.get(task.task_id(run.step))
            if write is None:
                to_run.append(task)
            else:
                returned = Command(update=dict(write.writes), goto=_routes_of(write.routes))
                done.append((task, None, returned, None, False))
        self.kept = {}
        return to_run, done


def tasks_of(run: Run, entries: Sequence[Mapping[str, Any]], thread_id: str) -> list[Task]:
    """The tasks that :func:`task_entry` entries name, in the plan of ``run``."""
    tasks: list[Task] = []
    for entry in entries:
        node = run.plan.nodes.get(str(entry.get("node")))
        if node is None:
            raise CheckpointError(
                f"thread {thread_id!r} has a task due at node {entry.get('node')!r}, which this "
                f"graph does not have; its nodes are {', '.join(map(repr, run.plan.nodes))}"
            )
        index = int(entry.get("index", -1))
        tasks.append(node.task if index < 0 else Task(node, entry.get("arg"), index))
    return tasks


def _route_entry(route: str | Send) -> Any:
    return {"send": route.node, "arg": route.arg} if isinstance(route, Send) else str(route)


def _routes_of(entries: Sequence[Any]) -> list[Any]:
    return [
        Send(entry["send"], entry.get("arg")) if isinstance(entry, Mapping) else entry
        for entry in entries
    ]
