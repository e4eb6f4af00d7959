"""The one invoke path: every call of a node goes through here (but the plain hot path).

It gives the node its input (a copy of the state, or a ``Send``'s argument) and, if it
asks, a ``RunContext``; applies its cache, timeout and retry policy; publishes
``TaskStart`` / ``TaskEnd`` and makes the node's ``ctx.emit`` and LLM tokens reach whoever
listens; times the call; and turns a failure into a ``NodeError`` naming the node (its
whole path inside subgraphs). ``invoke`` serves sync nodes (inline, or on a pool thread),
``ainvoke`` async ones; both share every rule below.

A plain node (no context, no policy, nobody listening) is called by the loop directly,
with the same error handling (:func:`node_error`, :class:`ParentCommand`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError, GraphDefinitionError, NodeError, NodeTimeout
from orkes.events import Event, TaskEnd, TaskScope, TaskStart, current_scope
from orkes.graph._tasks import STATE, Task
from orkes.graph._writes import writes_of
from orkes.graph.context import Pauses, PauseSignal, RunContext
from orkes.graph.routing import ParentCommand

if TYPE_CHECKING:
    from orkes._observe import AttemptObserver
    from orkes.graph._listen import Listener
    from orkes.graph.plan import Outcome, Run

__all__ = ["ainvoke", "invoke", "node_error"]


def invoke(run: Run, task: Task, listener: Listener | None) -> Outcome:
    """Call a sync node under its policies; the outcome carries a failure, never raises one."""
    node = task.node
    view = _input(run, task)
    cache_key: object = None
    if node.cache is not None:
        hit, cache_key = _cached(run, task, view)
        if hit is not None:
            return hit
    attempt = 1
    while True:
        started, scope_token, watch = _begin(run, task, attempt, listener)
        try:
            args = _args(run, task, view, attempt, listener)
            if node.timeout is None:
                returned = node.fn(*args)
            else:
                returned = _call_with_timeout(run, task, args, node.timeout)
        except ParentCommand as signal:  # a subgraph routes in this graph
            returned = signal.command
        except PauseSignal as signal:  # ctx.interrupt: the run pauses after this step
            return _paused(run, task, view, signal, listener, watch)
        except Exception as exc:
            delay = _failed(run, task, attempt, exc, started, listener, watch)
            if delay is None or not _waited(run, delay):
                return task, view, None, node_error(run, task, exc, attempt), False
            attempt += 1
            view = _input(run, task)  # the failed attempt may have changed its copy
            continue
        finally:
            if scope_token is not None:
                current_scope.reset(scope_token)
        if listener is not None and listener.saver is not None:
            try:
                listener.saver.task_done(run, task, view, returned)
            except CheckpointError as exc:  # e.g. a value that can't be stored: the step fails
                if watch is not None:
                    watch.ended(exc)
                return task, view, None, exc, False
        return _succeeded(run, task, view, returned, attempt, started, listener, cache_key, watch)


async def ainvoke(run: Run, task: Task, listener: Listener | None) -> Outcome:
    """Await an async node under its policies: :func:`invoke`'s rules, for coroutines."""
    import asyncio

    node = task.node
    view = _input(run, task)
    cache_key: object = None
    if node.cache is not None:
        hit, cache_key = _cached(run, task, view)
        if hit is not None:
            return hit
    attempt = 1
    while True:
        started, scope_token, watch = _begin(run, task, attempt, listener)
        try:
            args = _args(run, task, view, attempt, listener)
            if node.timeout is None:
                returned = await node.fn(*args)
            else:
                try:
                    returned = await asyncio.wait_for(node.fn(*args), node.timeout)
                except asyncio.TimeoutError:
                    raise _timeout(task, node.timeout) from None
        except ParentCommand as signal:
            returned = signal.command
        except PauseSignal as signal:  # ctx.interrupt: the run pauses after this step
            _name_pause(run, task, signal)
            if watch is not None:
                watch.paused()
            if listener is not None and listener.saver is not None:
                await listener.saver.apaused(run, task, signal)
            return task, view, None, signal, False
        except Exception as exc:
            delay = _failed(run, task, attempt, exc, started, listener, watch)
            if delay is None:
                return task, view, None, node_error(run, task, exc, attempt), False
            await asyncio.sleep(delay)
            if run.stopping:
                return task, view, None, node_error(run, task, exc, attempt), False
            attempt += 1
            view = _input(run, task)
            continue
        finally:
            if scope_token is not None:
                current_scope.reset(scope_token)
        if listener is not None and listener.saver is not None:
            try:
                await listener.saver.atask_done(run, task, view, returned)
            except CheckpointError as exc:
                if watch is not None:
                    watch.ended(exc)
                return task, view, None, exc, False
        return _succeeded(run, task, view, returned, attempt, started, listener, cache_key, watch)


def _waited(run: Run, delay: float) -> bool:
    """Sleep ``delay`` seconds before a retry; ``False`` if the run was stopped meanwhile."""
    end = time.monotonic() + delay
    while not run.stopping:
        left = end - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 0.02))  # a closed stream waits no longer than this
    return False


def _pauses(run: Run, task: Task, listener: Listener | None) -> Pauses | None:
    """A durable task's pauses: its own, or, inside a subgraph, under its parent task's."""
    if listener is None:
        return None
    if listener.saver is not None:
        return listener.saver.pauses_for(run, task)
    parent = listener.pauses
    return parent.child(task.task_id(run.step)) if parent is not None else None


def _paused(
    run: Run,
    task: Task,
    view: Any,
    signal: PauseSignal,
    listener: Listener | None,
    watch: AttemptObserver | None,
) -> Outcome:
    _name_pause(run, task, signal)
    if watch is not None:
        watch.paused()
    if listener is not None and listener.saver is not None:
        listener.saver.paused(run, task, signal)
    return task, view, None, signal, False


def _name_pause(run: Run, task: Task, signal: PauseSignal) -> None:
    """The node that asked and its subgraph path, if no deeper run named them."""
    if not signal.node:
        signal.node, signal.path = task.node.name, run.path


def node_error(run: Run, task: Task, exc: Exception, attempts: int = 1) -> NodeError:
    """The ``NodeError`` for ``task`` failing with ``exc``; chain it to ``__cause__``.

    A ``NodeError`` rising out of a subgraph run inside the node is named by its whole
    path (``'research > search'``) and chained to the innermost cause.
    """
    name = task.node.name
    cause: BaseException = exc
    if isinstance(exc, NodeError):
        name = f"{name} > {exc.node}"
        cause = exc.__cause__ if exc.__cause__ is not None else exc
    who = task.describe() if name == task.node.name else repr(name)
    tries = f" on attempt {attempts}" if attempts > 1 else ""
    error = NodeError(
        f"node {who} raised {type(cause).__name__}: {cause}{tries} "
        f"(step {run.step}, run {run.run_id})",
        node=name,
        step=run.step,
        run_id=run.run_id,
        attempts=attempts,
    )
    error.__cause__ = cause
    return error


def _input(run: Run, task: Task) -> Any:
    return dict(run.state) if task.arg is STATE else task.arg


def _args(
    run: Run, task: Task, view: Any, attempt: int, listener: Listener | None
) -> tuple[Any, ...]:
    if not task.node.takes_context:
        return (view,)
    scope = current_scope.get() if listener is not None else None
    context = RunContext(
        run.run_id,
        run.step,
        task.node.name,
        run.path,
        attempt,
        run.thread_id,
        scope,
        (run.max_steps, run.max_concurrency),
        _pauses(run, task, listener),
        run,
    )
    return view, context


def _begin(
    run: Run, task: Task, attempt: int, listener: Listener | None
) -> tuple[float, Any, AttemptObserver | None]:
    """Start an attempt: publish ``TaskStart`` and point in-node events at the listener.

    Returns the start time, the scope's reset token, and the tracer's observer of the
    attempt (``None`` when no tracer records the run).
    """
    if listener is None:
        return time.perf_counter(), None, None
    node = task.node
    watch = None if listener.trace is None else listener.trace.attempt(run, task, attempt)
    scope = TaskScope(
        listener.emit if node.timeout is None or node.is_async else _Until(listener.emit),
        listener.modes,
        node.name,
        run.path,
        run.step,
        listener.tokens and node.stream_tokens,
        watch,
    )
    if "tasks" in listener.modes:
        listener.emit(
            TaskStart(node.name, attempt, task.task_id(run.step), step=run.step, path=run.path)
        )
    return time.perf_counter(), current_scope.set(scope), watch


def _failed(
    run: Run,
    task: Task,
    attempt: int,
    exc: Exception,
    started: float,
    listener: Listener | None,
    watch: AttemptObserver | None,
) -> float | None:
    """End a failed attempt; the seconds to wait before the next, or ``None``: give up."""
    _end(run, task, attempt, started, exc, listener, watch)
    retry = task.node.retry
    if retry is None or run.stopping:
        return None
    delay: float | None = retry.delay_after(attempt, exc)
    return delay


def _succeeded(
    run: Run,
    task: Task,
    view: Any,
    returned: object,
    attempt: int,
    started: float,
    listener: Listener | None,
    cache_key: object,
    watch: AttemptObserver | None,
) -> Outcome:
    _end(run, task, attempt, started, None, listener, watch)
    if task.node.cache is not None and (returned is None or isinstance(returned, Mapping)):
        try:
            writes, _ = writes_of(run, task, view, returned)
        except Exception as exc:
            return task, view, None, exc, False
        task.node.cache.put(cache_key, writes)
    return task, view, returned, None, False


def _end(
    run: Run,
    task: Task,
    attempt: int,
    started: float,
    error: BaseException | None,
    listener: Listener | None,
    watch: AttemptObserver | None,
) -> None:
    if watch is not None:
        watch.ended(error)
    if listener is not None and "tasks" in listener.modes:
        seconds = time.perf_counter() - started
        listener.emit(
            TaskEnd(
                task.node.name,
                attempt,
                seconds,
                error,
                task.task_id(run.step),
                step=run.step,
                path=run.path,
            )
        )


def _cached(run: Run, task: Task, view: Any) -> tuple[Outcome | None, object]:
    cache = task.node.cache
    assert cache is not None
    try:
        key = cache.key_of(view)
    except Exception as exc:
        return (task, view, None, node_error(run, task, exc), False), None
    try:
        hash(key)
    except TypeError:
        unhashable = GraphDefinitionError(
            f"the cache key of node {task.node.name!r} is {key!r}, which is not hashable; "
            "CachePolicy(key=...) must return a hashable value (a str, a number, a tuple)"
        )
        return (task, view, None, node_error(run, task, unhashable), False), None
    update = cache.get(key)
    if update is None:
        return None, key
    return (task, view, dict(update), None, True), key


def _call_with_timeout(run: Run, task: Task, args: tuple[Any, ...], seconds: float) -> object:
    """Wait at most ``seconds`` for a sync node on a pool thread; its late result is dropped.

    A subgraph it runs starts no further node.
    """
    import contextvars
    from concurrent.futures import TimeoutError as FutureTimeout

    from orkes.graph._parallel import shared_pool

    future = shared_pool().submit(contextvars.copy_context().run, task.node.fn, *args)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        scope = current_scope.get()
        if scope is not None and isinstance(scope.emit, _Until):
            scope.emit.close()  # what the abandoned call emits from now on reaches nobody
        for child, owner in tuple(run.children.items()):
            if owner is args[-1]:  # started by this call (its RunContext)
                child.stop()
        raise _timeout(task, seconds) from None


class _Until:
    """A sync attempt's ``emit`` under a timeout: silent once the attempt is given up on.

    Its thread runs on; its events (``ctx.emit``, tokens, a subgraph's) must not
    follow its ``TaskEnd`` into the stream, among the next attempt's.
    """

    __slots__ = ("emit", "lock", "open")

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self.emit = emit
        self.lock = threading.Lock()
        self.open = True

    def __call__(self, event: Event) -> None:
        with self.lock:
            if self.open:
                self.emit(event)

    def close(self) -> None:
        with self.lock:
            self.open = False


def _timeout(task: Task, seconds: float) -> NodeTimeout:
    what_happened = (
        "it was cancelled"
        if task.node.is_async
        else "its thread runs on until it returns, as Python cannot stop a thread, and its "
        "late result is discarded"
    )
    return NodeTimeout(
        f"node {task.describe()} did not finish within its timeout of {seconds:g} s "
        f"({what_happened}); raise timeout= in add_node(...) if it needs longer",
        node=task.node.name,
        seconds=seconds,
    )
