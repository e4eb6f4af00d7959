"""Running the tasks of one superstep at once on the event loop (``arun``, ``astream``).

Async nodes are awaited on the loop; sync ones run on the thread pool of
:mod:`orkes.graph._parallel`, so nothing blocks the loop. At the first failure the
tasks still running are cancelled. When the caller is cancelled, the async tasks are
cancelled and the sync ones are waited for: nothing keeps running in the background.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.graph._invoke import ainvoke, node_error
from orkes.graph._parallel import settle_run_id, shared_pool, stops
from orkes.graph._tasks import Task

if TYPE_CHECKING:
    from orkes.graph._listen import Listener
    from orkes.graph.plan import Outcome, Run

__all__ = ["awaited", "gather_tasks", "off_loop"]

T = TypeVar("T")


async def gather_tasks(
    run: Run, tasks: Sequence[Task], listener: Listener | None, limit: int | None
) -> list[Outcome]:
    """Run ``tasks`` concurrently (at most ``limit`` at once); their outcomes in task order."""
    if len(tasks) == 1:
        return [await _one(run, tasks[0], listener)]
    settle_run_id(run, tasks)
    outcomes: list[Outcome | None] = [None] * len(tasks)
    settled = asyncio.Event()
    remaining = [len(tasks)]
    gate = asyncio.Semaphore(limit) if limit is not None and limit < len(tasks) else None
    stopping = [False]

    async def attempt(index: int) -> None:
        try:
            if gate is None:
                outcome = await _one(run, tasks[index], listener, finish=True)
            else:
                async with gate:
                    outcome = await _one(run, tasks[index], listener, finish=True)
        except asyncio.CancelledError as exc:
            if stopping[0]:
                raise
            outcome = (tasks[index], None, None, exc, False)  # the node's own doing
        except BaseException as exc:
            outcome = (tasks[index], None, None, exc, False)
        outcomes[index] = outcome
        remaining[0] -= 1
        if stops(outcome) or not remaining[0]:
            settled.set()

    running = [asyncio.ensure_future(attempt(i)) for i in range(len(tasks))]
    try:
        await settled.wait()
    finally:
        stopping[0] = True
        for future in running:
            future.cancel()  # a failure, or the caller cancelled: stop the rest
        await asyncio.gather(*running, return_exceptions=True)
    return [outcome for outcome in outcomes if outcome is not None]


async def _one(run: Run, task: Task, listener: Listener | None, finish: bool = False) -> Outcome:
    if task.node.is_async:
        return await ainvoke(run, task, listener)
    from orkes.graph._parallel import _attempt

    # With ``finish``, a task cancelled while it runs still gives its outcome once it ends
    # (a sibling's failure cancelled it; which failure is reported depends on its outcome
    # too); without, the cancellation goes on once it has ended.
    outcome = await off_loop(run, _attempt, run, task, listener, finish=finish)
    return await awaited(run, outcome)


async def awaited(run: Run, outcome: Outcome) -> Outcome:
    """A sync node's outcome, the awaitable it handed back (if any) awaited."""
    task, view, returned, error, cached = outcome
    if error is not None or not inspect.isawaitable(returned):
        return outcome
    try:
        returned = await returned
    except Exception as exc:
        return task, view, None, node_error(run, task, exc), False
    return task, view, returned, None, cached


async def off_loop(run: Run, fn: Callable[..., T], *args: Any, finish: bool = False) -> T:
    """``fn(*args)`` on the pool, in a copy of this context, awaited without blocking the loop.

    If the caller is cancelled while ``fn`` runs, the run stops (no node starts after it)
    and ``fn`` is waited for all the same, a thread being unstoppable; then the
    cancellation goes on or, with ``finish``, ``fn``'s result is returned.
    """
    context = contextvars.copy_context()
    try:
        running = shared_pool().submit(context.run, fn, *args)
    except RuntimeError:  # the pool takes no more work (interpreter exit): run here
        return context.run(fn, *args)
    ending = asyncio.wrap_future(running)
    try:
        return await asyncio.shield(ending)
    except asyncio.CancelledError:
        if not running.cancel():  # it is running: a thread cannot be stopped, wait for it
            run.stop()
            while not ending.done():
                try:
                    await asyncio.wait((ending,))
                except asyncio.CancelledError:
                    continue
            if finish:
                return running.result()
            if not ending.cancelled():
                ending.exception()  # abandoned with the run: its failure too
        raise
