"""Running the tasks of one superstep at once: sync nodes on threads, async ones on the loop.

Sync nodes share one thread pool that lives as long as the process (they are I/O-bound
LLM calls in real use). The calling thread takes tasks too, so a run nested inside a
node never waits on a full pool, and a pool shut down at interpreter exit only means the
calling thread does the work itself. A forked child makes a pool of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from orkes._threads import LazyPool
from orkes.errors import NodeError
from orkes.graph.plan import NodePlan, Run, TaskResult

__all__ = ["POOL_SIZE", "gather_tasks", "node_error", "run_in_threads"]

POOL_SIZE = 256
"""Threads at most for parallel sync nodes, in the whole process; made as needed."""

Outcome = tuple[object, BaseException | None]

_POOL = LazyPool(POOL_SIZE, "orkes-node")


def run_in_threads(run: Run, tasks: Sequence[NodePlan]) -> list[TaskResult]:
    """Run sync tasks concurrently: this thread and pool workers take them from one queue.

    Workers are woken one at a time, each waking the next before it starts a task, so
    short nodes mostly run here with no thread hop while slow (I/O-bound) nodes still
    each get a thread. Once a task fails, no new task starts.
    """
    views = [dict(run.state) for _ in tasks]
    outcomes: list[Outcome] = [(None, None)] * len(tasks)
    queue = deque(range(len(tasks)))
    lock = threading.Lock()
    remaining = [len(tasks)]
    all_done = threading.Event()
    caller_context = contextvars.copy_context()

    def take_tasks(on_worker: bool) -> None:
        while True:
            with lock:
                if not queue:
                    return
                index = queue.popleft()
                wake_another = on_worker and bool(queue)
            if wake_another:
                _submit(take_tasks, True)
            # Each parallel node sees the caller's context variables, and what it sets
            # stays its own, whichever thread runs it.
            outcome = caller_context.copy().run(_attempt, tasks[index].fn, views[index])
            outcomes[index] = outcome
            with lock:
                remaining[0] -= 1
                if outcome[1] is not None:  # a failure: start nothing more
                    remaining[0] -= len(queue)
                    queue.clear()
                if not remaining[0]:
                    all_done.set()

    _submit(take_tasks, True)
    take_tasks(False)
    all_done.wait()
    return _results(run, tasks, views, outcomes)


async def gather_tasks(run: Run, tasks: Sequence[NodePlan]) -> list[TaskResult]:
    """Run tasks concurrently on the event loop; sync ones go to the thread pool.

    At the first failure the tasks still running are cancelled.
    """
    loop = asyncio.get_running_loop()
    views = [dict(run.state) for _ in tasks]

    async def attempt(task: NodePlan, view: dict[str, Any]) -> object:
        if task.is_async:
            returned = task.fn(view)
        else:
            context = contextvars.copy_context()
            try:
                running = loop.run_in_executor(_shared_pool(), context.run, task.fn, view)
            except RuntimeError:  # the pool takes no more work (interpreter exit): run here
                returned = context.run(task.fn, view)
            else:
                returned = await running
        if inspect.isawaitable(returned):
            returned = await returned
        return returned

    running = [asyncio.ensure_future(attempt(t, v)) for t, v in zip(tasks, views, strict=True)]
    stopped: set[asyncio.Future[object]] = set()
    try:
        await asyncio.wait(running, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        stopped.update(future for future in running if not future.done())
        for future in stopped:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    outcomes: list[Outcome] = []
    for future in running:
        if future in stopped:
            outcomes.append((None, None))  # stopped because a sibling failed
        elif future.cancelled():  # the node's own code was cancelled: as for a lone node
            outcomes.append((None, asyncio.CancelledError()))
        else:
            error = future.exception()
            outcomes.append((None if error else future.result(), error))
    return _results(run, tasks, views, outcomes)


def node_error(run: Run, task: NodePlan, exc: Exception) -> NodeError:
    """The ``NodeError`` for ``task`` failing with ``exc`` (chain it with ``from exc``)."""
    return NodeError(
        f"node {task.name!r} raised {type(exc).__name__}: {exc} "
        f"(step {run.step}, run {run.run_id})",
        node=task.name,
        step=run.step,
        run_id=run.run_id,
    )


def _attempt(fn: Any, view: dict[str, Any]) -> Outcome:
    # BaseException too: a KeyboardInterrupt on a worker must reach the caller, not the pool.
    try:
        return fn(view), None
    except BaseException as exc:
        return None, exc


def _results(
    run: Run,
    tasks: Sequence[NodePlan],
    views: Sequence[dict[str, Any]],
    outcomes: Sequence[Outcome],
) -> list[TaskResult]:
    """Pair tasks with what they returned, or raise the failure.

    An interrupt (``KeyboardInterrupt``, ``SystemExit``) wins over node errors; among
    node errors, the first in task order is raised.
    """
    failures = [(task, error) for task, (_, error) in zip(tasks, outcomes, strict=True) if error]
    if failures:
        for returned, _ in outcomes:
            if inspect.iscoroutine(returned):
                returned.close()  # a sync node's coroutine nobody will await now
        for _, error in failures:
            if not isinstance(error, Exception):
                raise error
        task, error = failures[0]
        assert isinstance(error, Exception)
        raise node_error(run, task, error) from error
    return [
        (task, view, returned)
        for task, view, (returned, _) in zip(tasks, views, outcomes, strict=True)
    ]


def _submit(take_tasks: Any, on_worker: bool) -> None:
    """Wake a pool worker to take tasks; if the pool is shut down, the caller does them."""
    with contextlib.suppress(RuntimeError):  # interpreter exit: the pool takes no more work
        _shared_pool().submit(take_tasks, on_worker)


def _shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for parallel sync nodes, made on first use."""
    return _POOL.get()
