"""The drivers of the core loop: one for sync code, one for async; only "execute" differs.

``drive`` is a generator: ``run`` exhausts it (with nobody listening it yields nothing;
a run that only a tracer records goes through ``recorded``), ``stream`` iterates it for
events. ``adrive`` is the same for the event loop. The rules
— what runs next, how updates merge, limits — are the planner's (``plan.py``); calling a
node is the invoke path's (``_invoke.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterator, Sequence
from time import perf_counter as clock
from typing import TYPE_CHECKING, Any

from orkes._observe import IMMUTABLE, EachTaskObserved
from orkes.events import Event, Update, Values, current_scope
from orkes.graph._invoke import invoke, node_error
from orkes.graph._listen import UpdateDraft, events_while_running, live_step
from orkes.graph._parallel import run_in_threads
from orkes.graph._tasks import STATE
from orkes.graph.context import StepPaused
from orkes.graph.routing import ParentCommand

if TYPE_CHECKING:
    from orkes._observe import RunObserver
    from orkes.graph._listen import Listener
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Outcome, Run

__all__ = ["adrive", "drive", "recorded"]

_new = object.__new__


def drive(
    run: Run, listener: Listener | None, limit: int | None, first: Sequence[Task] | None = None
) -> Iterator[Event]:
    """Run sync nodes to the end; yield events as ``listener`` collects them.

    ``first``: the tasks of the first superstep, when a durable run resumes (else START's).
    """
    if listener is None:
        tasks = run.start() if first is None else tuple(first)
        while tasks:
            run.begin_step(tasks)
            if len(tasks) == 1:
                task = tasks[0]
                node = task.node
                if node.plain:  # the hot path: a plain call, nothing around it
                    view = dict(run.state) if task.arg is STATE else task.arg
                    try:
                        returned = node.fn(view)
                    except ParentCommand as signal:
                        returned = signal.command
                    except Exception as exc:
                        raise node_error(run, task, exc) from exc
                    tasks = run.finish_one(task, view, returned)
                else:
                    tasks = run.finish_step((invoke(run, task, None),))
            else:
                tasks = run.finish_step(run_in_threads(run, tasks, None, limit))
        run.finish()
        return
    trace = listener.trace
    rows = None if trace is None else trace.rows
    if rows is not None and not listener.modes and listener.saver is None:
        assert trace is not None
        recorded(run, listener, trace, rows, limit, first)  # run(tracer=...): nothing to yield
        return
    listener.started(run)
    try:
        tasks = run.start() if first is None else tuple(first)
        buffer = listener.buffer  # None in a nested run: its events go to the parent's listener
        if buffer:
            yield from listener.drain()
        live = listener.live and buffer is not None
        # A step of one plain task runs inline (the hot path) unless events come from
        # inside nodes, or the observer must see each task begin (OpenTelemetry).
        inline = not live and not isinstance(trace, EachTaskObserved)
        updates, values, path = (
            "updates" in listener.modes,
            "values" in listener.modes,
            listener.path,
        )
        tokens = listener.tokens  # only in a nested run: "messages" makes a top-level one live
        saver = listener.saver
        # A top-level stream without a saver or a tracer reads the report only to yield
        # ``Update``s; an inline task that returned a dict of its own needs none (``own``).
        direct = updates and buffer is not None and saver is None and trace is None
        if direct:
            run.report = None
        own: dict[str, Any] | None = None
        scope = listener.inline_scope(run)
        scope_token = current_scope.set(scope)  # for runs nested in a node run here
        try:
            while tasks and not run.stopping:
                run.begin_step(tasks)
                task = tasks[0]
                node = task.node
                if (  # run()'s hot path, a durable run's too where no write is kept nor paused for
                    len(tasks) == 1
                    and node.plain
                    and inline
                    and (saver is None or not (saver.kept or run.plan.interrupt_before))
                ):
                    scope.node = node.name  # the moving scope, pointed at this task
                    scope.step = run.step
                    scope.tokens = tokens and node.stream_tokens
                    view = dict(run.state) if task.arg is STATE else task.arg
                    if trace is None:
                        try:
                            returned = node.fn(view)
                        except ParentCommand as signal:
                            returned = signal.command
                        except Exception as exc:
                            raise node_error(run, task, exc) from exc
                        scope.node = ""  # the gate after it runs in no node's name
                        if direct:
                            if type(returned) is dict and returned is not view:
                                own = returned
                            else:
                                run.report = []
                        tasks = run.finish_one(task, view, returned)
                    else:  # the same step, its times and its end told to the tracer
                        started = clock()
                        try:
                            returned = node.fn(view)
                        except ParentCommand as signal:
                            returned = signal.command
                        except Exception as exc:
                            trace.failed_one(run, task, started, exc)
                            raise node_error(run, task, exc) from exc
                        ended = clock()
                        scope.node = ""
                        try:
                            tasks = run.finish_one(task, view, returned)
                        except Exception:  # a wrong update, or a failing gate: the run's error
                            trace.failed_one(run, task, started, None)
                            raise
                        trace.ran_one(
                            run, task, started, ended, run.report[0][1] if run.report else {}
                        )
                else:
                    if direct:
                        run.report = []
                    if saver is not None and run.plan.interrupt_before:
                        run.paused = saver.before(run, tasks)
                        if run.paused:
                            yield from run.paused
                            break
                    outcomes: list[Outcome]
                    to_run, kept = (tasks, []) if saver is None else saver.split(run, tasks)
                    if not to_run:
                        outcomes = []
                    elif live:
                        outcomes = yield from live_step(run, to_run, listener, limit)
                    elif len(to_run) == 1:
                        outcomes = [invoke(run, to_run[0], listener)]
                    else:
                        outcomes = run_in_threads(run, to_run, listener, limit)
                    if buffer:
                        yield from listener.drain()
                    try:
                        tasks = run.finish_step(in_task_order(tasks, kept, outcomes))
                    except StepPaused as paused:
                        if saver is None:
                            raise
                        run.paused = saver.interrupts(paused.signals, run)
                        yield from run.paused  # every stream sees them, whatever its modes
                        break
                    if trace is not None:
                        trace.stepped(run)
                if saver is not None:
                    saver.stepped(run, tasks)
                if buffer is None:  # a nested run: the step's events go to the parent's listener
                    listener.stepped(run)
                    continue
                if buffer:  # what runs nested in this step's nodes sent
                    yield from listener.drain()
                # The step's own events, yielded straight from here: ``listener.stepped`` and
                # ``new_update`` inlined (a stream pays for them on every step).
                if own is not None:
                    event: Any = _new(UpdateDraft)
                    event.node = task.node.name
                    event.update = own.copy()
                    event.cached = False
                    event.step = run.step
                    event.path = path
                    event.__class__ = Update
                    own = None
                    yield event
                elif updates:
                    step = run.step
                    for done, writes, cached in run.report or ():
                        event = _new(UpdateDraft)
                        event.node = done.node.name
                        event.update = dict(writes)
                        event.cached = cached
                        event.step = step
                        event.path = path
                        event.__class__ = Update
                        yield event
                    if direct:
                        run.report = None
                if values:
                    yield Values(dict(run.state), step=run.step, path=path)
                if saver is not None and run.plan.interrupt_after and tasks:
                    run.paused = saver.after(run)  # after the step's own events
                    if run.paused:
                        yield from run.paused
                        break
        finally:
            current_scope.reset(scope_token)
        if not run.stopping and not run.paused:
            run.finish()
    except BaseException as exc:
        if trace is not None:
            trace.ended(run, exc)
        raise
    if trace is not None:
        trace.ended(run, None)


def recorded(
    run: Run,
    listener: Listener,
    trace: RunObserver,
    rows: list[Any],
    limit: int | None,
    first: Sequence[Task] | None = None,
) -> None:
    """``drive`` for a run that ``trace`` records and nothing streams: ``run(tracer=...)``.

    The loop of an unlistened run, each step told to the tracer: a step of one plain task
    runs inline and goes to ``rows`` (see ``RunObserver.rows``); any other takes the
    invoke path. ``run.report`` is kept only for a step whose writes must be worked out.
    """
    run.trace = trace
    trace.started(run)
    ran_one, keep = trace.ran_one, rows.append
    run.report = None
    try:
        tasks = run.start() if first is None else tuple(first)
        scope = listener.inline_scope(run)
        scope_token = current_scope.set(scope)  # for runs nested in a node run here
        try:
            while tasks:  # no stream: nothing stops the run but its end
                run.begin_step(tasks)
                task = tasks[0]
                node = task.node
                if len(tasks) == 1 and node.plain:
                    scope.node = node.name
                    view = dict(run.state) if task.arg is STATE else task.arg
                    started = clock()
                    try:
                        returned = node.fn(view)
                    except ParentCommand as signal:
                        returned = signal.command
                    except Exception as exc:
                        trace.failed_one(run, task, started, exc)
                        raise node_error(run, task, exc) from exc
                    ended = clock()
                    scope.node = ""  # the gate after it runs in no node's name
                    fresh = type(returned) is dict and returned is not view  # its own writes
                    if not fresh:
                        run.report = []
                    try:
                        tasks = run.finish_one(task, view, returned)
                    except Exception:  # a wrong update, or a failing gate: the run's error
                        trace.failed_one(run, task, started, None)
                        raise
                    writes: Any = returned
                    if not fresh:
                        writes = run.report[0][1] if run.report else {}
                        run.report = None
                    for value in writes.values():
                        if type(value) not in IMMUTABLE:  # may change later: the tracer copies
                            ran_one(run, task, started, ended, writes)
                            break
                    else:  # a node's own dict may change after the run: copied
                        keep((run.step, task, started, ended, writes.copy() if fresh else writes))
                else:
                    run.report = []
                    if len(tasks) == 1:
                        tasks = run.finish_step((invoke(run, task, listener),))
                    else:
                        tasks = run.finish_step(run_in_threads(run, tasks, listener, limit))
                    trace.stepped(run)
                    run.report = None
        finally:
            current_scope.reset(scope_token)
        run.finish()
    except BaseException as exc:
        trace.ended(run, exc)
        raise
    trace.ended(run, None)


async def adrive(
    run: Run, listener: Listener | None, limit: int | None, first: Sequence[Task] | None = None
) -> AsyncGenerator[Event, None]:
    """Run the graph on the event loop; yield events as ``listener`` collects them."""
    from orkes.graph._aparallel import gather_tasks

    if listener is None:
        from orkes.graph._sync_stretch import awaited_all, sync_steps_off_loop

        tasks = run.start() if first is None else tuple(first)
        while tasks and not run.stopping:
            if any(task.node.is_async for task in tasks):
                run.begin_step(tasks)
                tasks = run.finish_step(await gather_tasks(run, tasks, None, limit))
                continue
            tasks, begun = await sync_steps_off_loop(run, tasks, limit)  # steps up to an async one
            if begun is not None:  # a sync node handed back an awaitable
                tasks = run.finish_step(await awaited_all(run, begun))
        run.finish()
        return
    listener.started(run)
    trace = listener.trace
    try:
        tasks = run.start() if first is None else tuple(first)
        for event in listener.drain():
            yield event
        saver = listener.saver
        while tasks and not run.stopping:
            run.begin_step(tasks)
            if saver is not None and run.plan.interrupt_before:
                run.paused = await saver.abefore(run, tasks)
                if run.paused:
                    for event in run.paused:
                        yield event
                    break
            outcomes: list[Outcome] = []
            to_run, kept = (tasks, []) if saver is None else saver.split(run, tasks)
            if to_run:
                # Closed with this generator, so that a stream closed mid-step stops it now.
                running = events_while_running(run, to_run, listener, limit, outcomes)
                async with contextlib.aclosing(running):
                    async for event in running:
                        yield event
            for event in listener.drain():
                yield event
            try:
                tasks = run.finish_step(in_task_order(tasks, kept, outcomes))
            except StepPaused as paused:
                if saver is None:
                    raise
                run.paused = saver.interrupts(paused.signals, run)
                for event in run.paused:
                    yield event
                break
            if trace is not None:
                trace.stepped(run)
            if saver is not None:
                await saver.astepped(run, tasks)
            listener.stepped(run)
            for event in listener.drain():
                yield event
            if saver is not None and run.plan.interrupt_after and tasks:
                run.paused = await saver.aafter(run)  # after the step's own events
                if run.paused:
                    for event in run.paused:
                        yield event
                    break
        if not run.stopping and not run.paused:
            run.finish()
    except BaseException as exc:
        if trace is not None:
            trace.ended(run, exc)
        raise
    if trace is not None:
        trace.ended(run, None)


def in_task_order(
    tasks: Sequence[Task], kept: Sequence[Outcome], outcomes: Sequence[Outcome]
) -> Sequence[Outcome]:
    """A step's outcomes in its tasks' order: those kept from before a resume, and the new."""
    if not kept:
        return outcomes
    position = {id(task): number for number, task in enumerate(tasks)}
    return sorted([*kept, *outcomes], key=lambda outcome: position[id(outcome[0])])
