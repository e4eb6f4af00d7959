"""``arun``'s stretches of sync steps: run on one pool thread, not a hop to a thread each.

Under ``arun`` a sync node must not block the event loop, so it runs on the pool; a hop
to a thread and back costs tens of microseconds (two wake-ups), which a graph of sync
nodes used to pay on every step. Instead, the loop gives one pool thread the steps
themselves: it runs them as ``run`` would, until a step has an async task, a sync node
hands back an awaitable, the run is stopped, or it ends; then the loop takes over again.
Cancelling ``arun`` meanwhile stops the run before its next node and waits for the
running sync node, as it always has.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orkes.graph._aparallel import awaited, off_loop
from orkes.graph._invoke import invoke, node_error
from orkes.graph._parallel import run_in_threads
from orkes.graph._tasks import STATE
from orkes.graph.routing import ParentCommand

if TYPE_CHECKING:
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Outcome, Run

__all__ = ["awaited_all", "sync_steps", "sync_steps_off_loop"]

Stretch = tuple[tuple["Task", ...], "list[Outcome] | None"]
"""Where a stretch stopped: the next step's tasks, and its outcomes if it ran but holds
awaitables (its tasks then still to be finished by the loop)."""


def sync_steps(run: Run, tasks: Sequence[Task], limit: int | None) -> Stretch:
    """Run the steps whose tasks are all sync, here; stop before the first that is not."""
    tasks = tuple(tasks)
    while tasks and not run.stopping:
        for task in tasks:
            if task.node.is_async:
                return tasks, None
        run.begin_step(tasks)
        task = tasks[0]
        node = task.node
        if len(tasks) == 1 and node.plain:  # as ``run`` calls it
            view = dict(run.state) if task.arg is STATE else task.arg
            try:
                returned = node.fn(view)
            except ParentCommand as signal:
                returned = signal.command
            except Exception as exc:
                raise node_error(run, task, exc) from exc
            if type(returned) is not dict and inspect.isawaitable(returned):
                return tasks, [(task, view, returned, None, False)]
            tasks = run.finish_one(task, view, returned)
            continue
        if len(tasks) == 1:
            outcomes = [invoke(run, task, None)]
        else:
            outcomes = run_in_threads(run, tasks, None, limit)
        if any(outcome[3] is None and inspect.isawaitable(outcome[2]) for outcome in outcomes):
            return tasks, outcomes
        tasks = run.finish_step(outcomes)
    return tasks, None


async def sync_steps_off_loop(run: Run, tasks: Sequence[Task], limit: int | None) -> Stretch:
    """:func:`sync_steps` on a pool thread; if cancelled, stop the run and wait for it."""
    return await off_loop(run, sync_steps, run, tasks, limit)


async def awaited_all(run: Run, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """A step's outcomes, with the awaitables its sync nodes handed back awaited at once."""
    return list(await asyncio.gather(*(awaited(run, outcome) for outcome in outcomes)))
