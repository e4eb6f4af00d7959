"""A durable run's saver: checkpoints at superstep boundaries, each finished task at once.

The loops call it at three points of a run with a thread: before a superstep (tasks that
already finished before a crash or a failure are not run again: their kept writes stand
in for them), when a task finishes (its writes are kept at once, keyed by the checkpoint
the superstep started from), and after the superstep (a new checkpoint, the thread's new
head). The rules of what runs next stay the planner's; the storage, the checkpointer's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError
from orkes.graph._tasks import STATE, Task
from orkes.graph._writes import reduced, writes_of
from orkes.graph.routing import Command, Send
from orkes.persistence.base import Checkpoint, PendingWrite, new_checkpoint_id

if TYPE_CHECKING:
    from orkes.graph.plan import GraphPlan, Outcome, Run
    from orkes.persistence.base import Checkpointer

__all__ = ["Saver", "aopen_thread", "open_thread", "task_entry", "tasks_of"]


class Saver:
    """Writes one thread's checkpoints for one run.

    Attributes:
        checkpointer: where they go.
        thread_id: the thread.
        head_id: the checkpoint the run stands at (the parent of its next checkpoint).
        expected: the thread's head as this run last saw it: a ``put`` finding another
            head fails with ``CheckpointConflict`` (another worker moved the thread).
            It differs from ``head_id`` only while a fork has written nothing yet.
        versions: key -> the checkpoint id holding its current value.
    """

    __slots__ = ("checkpointer", "expected", "head_id", "kept", "thread_id", "versions")

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

    # --- what a checkpoint holds -----------------------------------------------------------

    def checkpoint(
        self, run: Run, tasks: Sequence[Task], source: str, written: Sequence[str]
    ) -> Checkpoint:
        """The checkpoint of ``run`` now, ``tasks`` due next; ``written``: keys written."""
        new_id = new_checkpoint_id()
        for key in written:
            self.versions[key] = new_id
        for key in run.state:
            self.versions.setdefault(key, new_id)
        writers = (
            tuple(dict.fromkeys(task.node.name for task, _, _ in run.report or ()))
            if source in ("loop", "update")
            else ()
        )
        return Checkpoint(
            thread_id=self.thread_id,
            checkpoint_id=new_id,
            parent_id=self.head_id,
            step=run.step,
            source=source,
            writers=writers,
            state=dict(run.state),
            versions=dict(self.versions),
            schema_keys=tuple(run.plan.schema.keys),
            memory=run.memory(),
            next_tasks=tuple(task_entry(task) for task in tasks),
            created_at=time.time(),
        )

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

    def task_done(self, run: Run, task: Task, view: Any, returned: object) -> None:
        """Keep a finished task's writes now: a crash later does not run it again."""
        write = self.pending(run, task, view, returned)
        if write is not None and self.head_id is not None:
            self.checkpointer.put_writes(self.thread_id, self.head_id, write)

    def stepped(self, run: Run, tasks: Sequence[Task]) -> None:
        """A superstep completed: its checkpoint becomes the thread's head."""
        written = [key for _, writes, _ in run.report or () for key in writes]
        self._put(self.checkpoint(run, tasks, "loop", written))

    def _put(self, checkpoint: Checkpoint) -> None:
        self.checkpointer.put(checkpoint, expected_head=self.expected)
        self.head_id = self.expected = checkpoint.checkpoint_id

    # --- async -----------------------------------------------------------------------------

    async def astarted(self, run: Run, tasks: Sequence[Task], source: str) -> None:
        """:meth:`started` for async code."""
        await self._aput(self.checkpoint(run, tasks, source, list(run.state)))

    async def atask_done(self, run: Run, task: Task, view: Any, returned: object) -> None:
        """:meth:`task_done` for async code."""
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

    # --- resuming --------------------------------------------------------------------------

    def split(self, run: Run, tasks: Sequence[Task]) -> tuple[list[Task], list[Outcome]]:
        """The tasks still to run this step, and the outcomes of those that finished before.

        Only the first step after a resume has kept writes; every later step runs all.
        """
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


def task_entry(task: Task) -> dict[str, Any]:
    """A task due next, as plain data: its node, its index, and a ``Send``'s argument."""
    if task.arg is STATE:
        return {"node": task.node.name, "index": task.index}
    return {"node": task.node.name, "index": task.index, "arg": task.arg}


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


def open_thread(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    state: Mapping[str, Any] | None,
    max_steps: int,
    checkpoint_id: str | None = None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    """A run of ``thread_id``, its saver, and its first tasks.

    From new input (merged into the stored state; the run starts from START), or, with
    ``state=None``, resumed where the thread stands — or, given ``checkpoint_id``, where
    it stood then: a fork, whose checkpoints follow that one.
    """
    head = checkpointer.get(thread_id)
    start = head if checkpoint_id is None else checkpointer.get(thread_id, checkpoint_id)
    _check_found(thread_id, checkpoint_id, start)
    if state is None:
        kept = checkpointer.get_writes(thread_id, start.checkpoint_id) if start else ()
        return _resumed(plan, checkpointer, thread_id, start, head, kept, max_steps)
    run, saver, tasks = _with_input(plan, checkpointer, thread_id, start, head, state, max_steps)
    saver.started(run, tasks, "input")
    return run, saver, tasks


async def aopen_thread(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    state: Mapping[str, Any] | None,
    max_steps: int,
    checkpoint_id: str | None = None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    """:func:`open_thread` for async code."""
    head = await checkpointer.aget(thread_id)
    start = head if checkpoint_id is None else await checkpointer.aget(thread_id, checkpoint_id)
    _check_found(thread_id, checkpoint_id, start)
    if state is None:
        kept = await checkpointer.aget_writes(thread_id, start.checkpoint_id) if start else ()
        return _resumed(plan, checkpointer, thread_id, start, head, kept, max_steps)
    run, saver, tasks = _with_input(plan, checkpointer, thread_id, start, head, state, max_steps)
    await saver.astarted(run, tasks, "input")
    return run, saver, tasks


def _check_found(thread_id: str, checkpoint_id: str | None, start: Checkpoint | None) -> None:
    if checkpoint_id is not None and start is None:
        raise CheckpointError(
            f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}; runner.history("
            f"{thread_id!r}) lists the ones it has"
        )


def _resumed(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    start: Checkpoint | None,
    head: Checkpoint | None,
    kept: Sequence[PendingWrite],
    max_steps: int,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    from orkes.graph.plan import Run

    if start is None or head is None:
        raise CheckpointError(
            f"thread {thread_id!r} has no checkpoint, so there is nothing to resume; start it "
            "with run(state, thread_id=...)"
        )
    _check_keys(plan, start)
    run = Run(plan, start.state, max_steps)
    run.thread_id = thread_id
    run.restore(start.memory)
    run.listen()
    tasks = tasks_of(run, start.next_tasks, thread_id)
    if not tasks:
        raise CheckpointError(
            f"thread {thread_id!r} has nothing pending: its run reached END at step "
            f"{start.step} (checkpoint {start.checkpoint_id}); give it new input to run it again"
        )
    saver = Saver(checkpointer, thread_id, start, head.checkpoint_id)
    saver.kept = {write.task_id: write for write in kept if write.kind == "writes"}
    return run, saver, tuple(tasks)


def _with_input(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    start: Checkpoint | None,
    head: Checkpoint | None,
    state: Mapping[str, Any],
    max_steps: int,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    from orkes.graph.plan import Run

    run = Run(plan, state, max_steps)  # checks the input's keys
    if start is not None:  # the input merges into the stored state through the reducers
        _check_keys(plan, start)
        given = dict(run.state)
        run.state = dict(start.state)
        run.state.update(reduced(run, [(plan.start.task, given)]))
    run.thread_id = thread_id
    run.listen()
    saver = Saver(checkpointer, thread_id, start, head.checkpoint_id if head else None)
    return run, saver, run.start()


def _check_keys(plan: GraphPlan, head: Checkpoint) -> None:
    unknown = [key for key in head.schema_keys if key not in plan.schema.key_set]
    if unknown:
        raise CheckpointError(
            f"thread {head.thread_id!r} was written by a graph whose state has the keys "
            f"{', '.join(map(repr, unknown))}, which this graph's state "
            f"{plan.schema.schema.__name__} lacks; run it with the graph that wrote it, or "
            "add those keys to the state"
        )
