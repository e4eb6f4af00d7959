"""Opening a thread for a run: from new input, where it stands, or from an old checkpoint.

What the run starts from, and its :class:`~orkes.graph._durable.Saver`, with what that
thread kept: finished tasks' writes, pauses, answers, ``ctx.once`` results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError, GraphDefinitionError
from orkes.graph._durable import Saver, tasks_of
from orkes.graph._run_memory import restore
from orkes.graph._writes import reduced

if TYPE_CHECKING:
    from orkes._observe import RunObserver
    from orkes.graph._tasks import Task
    from orkes.graph.plan import GraphPlan, Run
    from orkes.persistence.base import Checkpoint, Checkpointer, PendingWrite

__all__ = ["Upgrade", "aopen_thread", "open_thread", "thread_of"]

Upgrade = Callable[[dict[str, Any]], Mapping[str, Any]]
"""``GraphRunner(upgrade=...)``: the stored state of an older graph -> this graph's."""


def thread_of(
    checkpointer: Checkpointer | None, thread_id: str | None
) -> tuple[Checkpointer, str] | None:
    """The checkpointer and the thread of a durable run; ``None`` for a plain run."""
    if thread_id is None:
        if checkpointer is not None:
            raise GraphDefinitionError(
                "this runner keeps threads (it has a checkpointer): give each run a "
                "thread_id=, e.g. run(state, thread_id='user-42')"
            )
        return None
    if checkpointer is None:
        raise GraphDefinitionError(
            f"thread_id={thread_id!r} needs a checkpointer to keep the thread in: "
            "GraphRunner(compiled, checkpointer=SqliteCheckpointer('runs.db'))"
        )
    if not isinstance(thread_id, str) or not thread_id:
        raise GraphDefinitionError(f"thread_id must be a non-empty str, got {thread_id!r}")
    return checkpointer, thread_id


def open_thread(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    state: Mapping[str, Any] | None,
    max_steps: int,
    checkpoint_id: str | None = None,
    upgrade: Upgrade | None = None,
    trace: RunObserver | None = None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    """A run of ``thread_id``, its saver, and its first tasks.

    From new input (merged into the stored state; the run starts from START), or, with
    ``state=None``, resumed where the thread stands — or, given an older
    ``checkpoint_id``, where it stood then: a fork (see :func:`_forks`). ``trace``: a
    tracer's observer of the run, told of START's gates and of every checkpoint.
    """
    head = checkpointer.get(thread_id)
    start = head if checkpoint_id is None else checkpointer.get(thread_id, checkpoint_id)
    _check_found(thread_id, checkpoint_id, start)
    if state is None:
        fork = _forks(start, head)
        kept = checkpointer.get_writes(thread_id, start.checkpoint_id) if start and not fork else ()
        opened = _resumed(plan, checkpointer, thread_id, start, head, kept, max_steps, upgrade,
                          trace)  # fmt: skip
        if fork:
            opened[1].forked(opened[0], opened[2])
        return opened
    run, saver, tasks = _with_input(
        plan, checkpointer, thread_id, start, head, state, max_steps, upgrade, trace
    )
    saver.started(run, tasks, "input")
    return run, saver, tasks


async def aopen_thread(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    state: Mapping[str, Any] | None,
    max_steps: int,
    checkpoint_id: str | None = None,
    upgrade: Upgrade | None = None,
    trace: RunObserver | None = None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    """:func:`open_thread` for async code."""
    head = await checkpointer.aget(thread_id)
    start = head if checkpoint_id is None else await checkpointer.aget(thread_id, checkpoint_id)
    _check_found(thread_id, checkpoint_id, start)
    if state is None:
        fork = _forks(start, head)
        kept = (
            await checkpointer.aget_writes(thread_id, start.checkpoint_id)
            if start and not fork
            else ()
        )
        opened = _resumed(plan, checkpointer, thread_id, start, head, kept, max_steps, upgrade,
                          trace)  # fmt: skip
        if fork:
            await opened[1].aforked(opened[0], opened[2])
        return opened
    run, saver, tasks = _with_input(
        plan, checkpointer, thread_id, start, head, state, max_steps, upgrade, trace
    )
    await saver.astarted(run, tasks, "input")
    return run, saver, tasks


def _forks(start: Checkpoint | None, head: Checkpoint | None) -> bool:
    """Whether a resume from ``start`` is a fork: it goes on from an older checkpoint.

    A fork is a new branch: what the old branch kept for the step after ``start`` (its
    tasks' writes, pauses, answers, ``ctx.once`` results) is not reused, and the fork's
    own checkpoint (a copy of ``start``) becomes the head before any task runs, so the
    fork's pauses and writes are kept where ``resume`` finds them.
    """
    return start is not None and head is not None and start.checkpoint_id != head.checkpoint_id


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
    upgrade: Upgrade | None,
    trace: RunObserver | None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    from orkes.graph.plan import Run

    if start is None or head is None:
        raise CheckpointError(
            f"thread {thread_id!r} has no checkpoint, so there is nothing to resume; start it "
            "with run(state, thread_id=...)"
        )
    stored, upgraded = _stored_state(plan, start, upgrade)
    run = Run(plan, stored, max_steps)
    run.thread_id = thread_id
    restore(run, start.memory)
    run.listen()
    tasks = tasks_of(run, start.next_tasks, thread_id)
    if not tasks:
        raise CheckpointError(
            f"thread {thread_id!r} has nothing pending: its run reached END at step "
            f"{start.step} (checkpoint {start.checkpoint_id}); give it new input to run it again"
        )
    run.trace = trace
    saver = Saver(checkpointer, thread_id, start, head.checkpoint_id)
    saver.trace = trace
    if upgraded:
        _mark_upgraded(saver, start)
    for write in kept:
        kind, _, name = write.kind.partition(":")
        if kind == "writes":
            saver.kept[write.task_id] = write
        elif kind == "interrupt":
            saver.paused_at[name] = write
        elif kind == "answer":
            saver.answers[name] = write.writes.get("value")
        elif kind == "once":
            saver.onces.setdefault(write.task_id, {})[name] = write.writes.get("value")
    return run, saver, tuple(tasks)


def _with_input(
    plan: GraphPlan,
    checkpointer: Checkpointer,
    thread_id: str,
    start: Checkpoint | None,
    head: Checkpoint | None,
    state: Mapping[str, Any],
    max_steps: int,
    upgrade: Upgrade | None,
    trace: RunObserver | None,
) -> tuple[Run, Saver, tuple[Task, ...]]:
    from orkes.graph.plan import Run

    run = Run(plan, state, max_steps)  # checks the input's keys
    run.trace = trace  # before run.start(): START's gates are recorded
    upgraded = False
    if start is not None:  # the input merges into the stored state through the reducers
        stored, upgraded = _stored_state(plan, start, upgrade)
        given = dict(run.state)
        run.state = stored
        run.state.update(reduced(run, [(plan.start.task, given)]))
    run.thread_id = thread_id
    run.listen()
    saver = Saver(checkpointer, thread_id, start, head.checkpoint_id if head else None)
    saver.trace = trace
    if upgraded and start is not None:
        _mark_upgraded(saver, start)
    return run, saver, run.start()


def _stored_state(
    plan: GraphPlan, head: Checkpoint, upgrade: Upgrade | None
) -> tuple[dict[str, Any], bool]:
    """The thread's state for this graph, and whether ``upgrade`` had to make it."""
    unknown = [key for key in head.schema_keys if key not in plan.schema.key_set]
    if not unknown:
        return dict(head.state), False
    keys = ", ".join(map(repr, unknown))
    if upgrade is None:
        raise CheckpointError(
            f"thread {head.thread_id!r} was written by a graph whose state has the keys "
            f"{keys}, which this graph's state {plan.schema.schema.__name__} lacks; run it "
            "with the graph that wrote it, add those keys to the state, or give the runner "
            "upgrade= (a function from the stored state to this graph's)"
        )
    try:
        upgraded = dict(upgrade(dict(head.state)))
    except Exception as exc:
        raise CheckpointError(
            f"upgrade= failed on thread {head.thread_id!r}: {type(exc).__name__}: {exc}"
        ) from exc
    stray = [key for key in upgraded if key not in plan.schema.key_set]
    if stray:
        raise CheckpointError(
            f"upgrade= gave thread {head.thread_id!r} the key {stray[0]!r}, which this "
            f"graph's state {plan.schema.schema.__name__} lacks (it still had {keys})"
        )
    return upgraded, True


def _mark_upgraded(saver: Saver, start: Checkpoint) -> None:
    """Every key is written anew by the next checkpoint, which records the upgrade."""
    saver.versions = {}
    saver.note = {"upgraded_from": list(start.schema_keys)}
