"""Running the tasks of one superstep at once on threads (sync nodes).

Sync nodes share one thread pool that lives as long as the process (they are I/O-bound
LLM calls in real use). Unless it must stay free to yield events, the calling thread
takes tasks too, so a run nested inside a node never waits on a full pool, and a pool
shut down at interpreter exit only means the calling thread does the work itself. A
forked child makes a pool of its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orkes._threads import LazyPool
from orkes.graph._invoke import invoke
from orkes.graph._tasks import Task
from orkes.graph.context import PauseSignal

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from orkes.graph._listen import Listener
    from orkes.graph.plan import Outcome, Run

__all__ = ["POOL_SIZE", "ThreadStep", "run_in_threads", "shared_pool"]

POOL_SIZE = 256
"""Threads at most for parallel sync nodes, in the whole process; made as needed."""

_POOL = LazyPool(POOL_SIZE, "orkes-node")


def run_in_threads(
    run: Run, tasks: Sequence[Task], listener: Listener | None, limit: int | None
) -> list[Outcome]:
    """Run sync tasks concurrently, this thread taking its share; their outcomes in order."""
    step = ThreadStep(run, tasks, listener, limit)
    step.start()
    step.take_tasks()
    return step.wait()


class ThreadStep:
    """A superstep's sync tasks on the pool: workers take them from one queue.

    Workers are woken one at a time, each waking the next before it starts a task, so
    short nodes mostly run on the first thread with no hop while slow (I/O-bound) nodes
    still each get a thread — at most ``limit`` at once. Once a task fails, or
    :meth:`stop` is called, no new task starts.
    """

    def __init__(
        self,
        run: Run,
        tasks: Sequence[Task],
        listener: Listener | None,
        limit: int | None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.run = run
        self.tasks = tasks
        self.listener = listener
        self.outcomes: list[Outcome | None] = [None] * len(tasks)
        self.queue = deque(range(len(tasks)))
        self.lock = threading.Lock()
        self.running = 0
        self.remaining = len(tasks)
        self.limit = limit or len(tasks)
        self.all_done = threading.Event()
        self.on_done = on_done
        self.context = contextvars.copy_context()
        settle_run_id(run, tasks)

    def start(self) -> None:
        """Wake the first worker."""
        self._wake()

    def stop(self) -> None:
        """Start no task that has not started yet."""
        with self.lock:
            self.remaining -= len(self.queue)
            self.queue.clear()
            if not self.remaining:
                self._finish()

    def wait(self) -> list[Outcome]:
        """Wait for every started task; the outcomes of those that ran, in task order."""
        self.all_done.wait()
        return [outcome for outcome in self.outcomes if outcome is not None]

    def take_tasks(self) -> None:
        """Run tasks from the queue until it is empty (or the limit says stop)."""
        while True:
            with self.lock:
                if not self.queue or self.running >= self.limit:
                    return  # a running task takes the next one when it ends
                index = self.queue.popleft()
                self.running += 1
                wake_another = bool(self.queue) and self.running < self.limit
            if wake_another:
                self._wake()
            # Each parallel node sees the caller's context variables, and what it sets
            # stays its own, whichever thread runs it.
            outcome = self.context.copy().run(_attempt, self.run, self.tasks[index], self.listener)
            self.outcomes[index] = outcome
            with self.lock:
                self.running -= 1
                self.remaining -= 1
                if stops(outcome) or self.run.stopping:  # start nothing more
                    self.remaining -= len(self.queue)
                    self.queue.clear()
                if not self.remaining:
                    self._finish()
                    return

    def _finish(self) -> None:
        self.all_done.set()
        if self.on_done is not None:
            self.on_done()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # interpreter exit: the pool takes no more work
            shared_pool().submit(self.take_tasks)


def settle_run_id(run: Run, tasks: Sequence[Task]) -> None:
    """Make the run's id here, once, if parallel tasks will read it from their ``RunContext``.

    ``run.run_id`` is made on first access; tasks racing for it on several threads could
    each make (and see) a different one.
    """
    if len(tasks) > 1 and any(task.node.takes_context for task in tasks):
        _ = run.run_id


def _attempt(run: Run, task: Task, listener: Listener | None) -> Outcome:
    # BaseException too: a KeyboardInterrupt on a worker must reach the caller, not the pool.
    try:
        return invoke(run, task, listener)
    except BaseException as exc:
        return task, None, None, exc, False


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for parallel sync nodes, made on first use."""
    return _POOL.get()


def stops(outcome: Outcome) -> bool:
    """Whether a finished task stops its superstep: it failed (a pause lets the rest run)."""
    error = outcome[3]
    return error is not None and not isinstance(error, PauseSignal)
