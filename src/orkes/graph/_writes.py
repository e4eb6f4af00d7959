"""What a task wrote, and how the writes of a superstep merge into the state.

A node returns a mapping of what changed, the state it was given (then the keys whose
value is no longer the very object it received are its writes), ``None``, a ``Command``,
or a list of ``Send``. Two parallel tasks writing one key that has no reducer conflict.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import ConflictingUpdateError, RoutingError, StateError
from orkes.graph._tasks import STATE, Task
from orkes.graph.routing import NO_RESUME, Command, ParentCommand, Send
from orkes.graph.state import Reducer

if TYPE_CHECKING:
    from orkes.graph.plan import Outcome, Run

__all__ = [
    "MISSING",
    "Routes",
    "check_conflicts",
    "close",
    "one_parent_route",
    "reduced",
    "writes_of",
]

MISSING: Any = object()
_NO_WRITES: Mapping[str, Any] = {}

Routes = list[str | Send] | None
"""Where a task's ``Command`` or list of ``Send`` leads, besides its node's edges."""


def writes_of(
    run: Run, task: Task, view: Any, returned: object
) -> tuple[Mapping[str, Any], Routes]:
    """The keys ``task`` wrote, and where it routed to (``None``: only its edges)."""
    routes: Routes = None
    if returned is None:
        if task.arg is STATE:
            _check_not_forgotten(run, task, view)
        return _NO_WRITES, None
    if returned is view and task.arg is STATE:
        assert isinstance(view, dict)
        state = run.state
        writes: Mapping[str, Any] = {
            k: v for k, v in view.items() if state.get(k, MISSING) is not v
        }
    elif isinstance(returned, Mapping):
        writes = returned
    elif isinstance(returned, Command):
        if returned.resume is not NO_RESUME:
            raise RoutingError(
                f"node {task.node.name!r} returned Command(resume=...), which only a run's "
                "caller gives (runner.invoke(Command(resume=answer), thread_id=...)); a node "
                "returns Command(update=..., goto=...)",
                node=task.node.name,
                value=returned,
            )
        if returned.graph is not None:
            _to_parent(task, returned)
        writes = returned.update if returned.update is not None else _NO_WRITES
        if not isinstance(writes, Mapping):
            raise StateError(
                f"node {task.node.name!r} returned Command(update={writes!r}); "
                "update= takes a mapping of the keys to write",
                node=task.node.name,
            )
        routes = _goto_of(task, returned)
    elif isinstance(returned, (list, tuple)) and all(isinstance(s, Send) for s in returned):
        if not returned and not task.node.destinations:
            _refuse(task, returned)  # no Send in it, and the node sends nowhere: a slip
        for send in returned:
            _check_route(task, send)
        return _NO_WRITES, list(returned)  # empty: a map over nothing, only the edges go on
    else:
        _refuse(task, returned)
    if not run.key_set.issuperset(writes):
        key = next(k for k in writes if k not in run.key_set)
        raise StateError(
            f"node {task.node.name!r} wrote key {key!r}, which is not in the state schema "
            f"{run.plan.schema.schema.__name__}; its keys are "
            f"{', '.join(map(repr, run.plan.schema.keys))}",
            node=task.node.name,
            key=key,
        )
    return writes, routes


def _check_not_forgotten(run: Run, task: Task, view: dict[str, Any]) -> None:
    """A node that returned ``None`` after changing its state lost the change: say so."""
    state = run.state
    for key, value in view.items():
        if state.get(key, MISSING) is not value:
            raise StateError(
                f"node {task.node.name!r} returned None, but key {key!r} of the state it was "
                "given now holds another value: the change is lost. Return the state "
                f"(`return state`) or what changed (`return {{{key!r}: ...}}`)",
                node=task.node.name,
                key=key,
            )
    if len(view) != len(state):
        key = next(k for k in state if k not in view)
        raise StateError(
            f"node {task.node.name!r} returned None, but removed key {key!r} from the state it "
            "was given; a node cannot delete keys: return what changed instead",
            node=task.node.name,
            key=key,
        )


def _goto_of(task: Task, command: Command[Any]) -> list[str | Send]:
    """``command.goto`` as a list of node names and ``Send``; anything else is refused."""
    goto = command.goto
    if isinstance(goto, Mapping) or not isinstance(goto, (str, Send, Iterable)):
        raise RoutingError(
            f"node {task.node.name!r} returned Command(goto={goto!r}); goto= takes a node "
            "name, END, a Send, or a list of them (leave it out to follow only the node's "
            "edges)",
            node=task.node.name,
            value=command,
        )
    routes = command.targets()
    for route in routes:
        _check_route(task, route)
    return routes


def _check_route(task: Task, route: object) -> None:
    """Refuse a route that names no node at all (a list in a list, a ``Send`` to a dict)."""
    target = route.node if isinstance(route, Send) else route
    if not isinstance(target, str):
        raise RoutingError(
            f"node {task.node.name!r} routed to {target!r}, which is not a node name; name one "
            "of its declared destinations (a node, or END)",
            node=task.node.name,
            value=route,
            known=sorted(task.node.destinations),
        )


def one_parent_route(outcomes: Sequence[Outcome]) -> None:
    """Refuse a step in which several tasks route the parent graph: all but one would be lost.

    Raises:
        RoutingError: naming the nodes that did.
    """
    commands = [
        (outcome[0].node.name, outcome[2])
        for outcome in outcomes
        if isinstance(outcome[2], Command) and outcome[2].graph == Command.PARENT
    ]
    routing = [name for name, _ in commands]
    if len(routing) > 1:
        raise RoutingError(
            f"nodes {', '.join(map(repr, routing))} each returned Command(graph=Command.PARENT) "
            "in one step, and a subgraph ends at the first: only one task of a step may route "
            "the parent graph (gather them in one node that does, or write to shared keys and "
            "route in the parent)",
            node=routing[1],
            value=commands[1][1],
        )


def _to_parent(task: Task, command: Command[Any]) -> None:
    if command.graph != Command.PARENT:
        raise RoutingError(
            f"node {task.node.name!r} returned Command(graph={command.graph!r}); graph= takes "
            "only Command.PARENT (route in the parent graph)",
            node=task.node.name,
            value=command,
        )
    raise ParentCommand(task.node.name, command)


def _refuse(task: Task, returned: object) -> None:
    name = task.node.name
    if inspect.isawaitable(returned):
        close(returned)
        raise StateError(
            f"node {name!r} returned an awaitable: a missing `await` inside the node? "
            "(async nodes need `await runner.arun(state)`)",
            node=name,
        )
    raise StateError(
        f"node {name!r} returned {type(returned).__name__} {returned!r}; a node returns a "
        "mapping of the keys it changed, the state it was given, None, a Command or a list "
        "of Send",
        node=name,
    )


def check_conflicts(run: Run, all_writes: Sequence[tuple[Task, Mapping[str, Any]]]) -> None:
    """Refuse two tasks of one superstep writing a key that has no reducer."""
    writer_of: dict[str, Task] = {}
    reducers = run.reducers
    for task, writes in all_writes:
        for key in writes:
            if key in reducers:
                continue
            other = writer_of.setdefault(key, task)
            if other is not task:
                writers = (
                    f"nodes {other.node.name!r} and {task.node.name!r}"
                    if other.index < 0 and task.index < 0
                    else f"tasks {other.describe()} and {task.describe()}"
                )
                raise ConflictingUpdateError(
                    f"{writers} both wrote key {key!r} in step {run.step}; a key written by "
                    "parallel nodes needs a reducer: annotate it as Annotated[..., reducer] in "
                    "the state schema",
                    key=key,
                    nodes=(other.node.name, task.node.name),
                    step=run.step,
                )


def reduced(run: Run, all_writes: Sequence[tuple[Task, Mapping[str, Any]]]) -> dict[str, Any]:
    """Every write of a superstep, merged through the keys' reducers, nothing applied yet."""
    state = run.state
    reducers = run.reducers
    folds = run.folds
    merged: dict[str, Any] = {}
    for task, writes in all_writes:
        for key, value in writes.items():
            reducer = reducers.get(key)
            if reducer is not None:
                if folds is not None:  # a subgraph's run: remember what it added
                    folds[key] = (
                        _reduce(reducer, folds[key], value, key, task) if key in folds else value
                    )
                old = merged[key] if key in merged else state.get(key, MISSING)
                if old is not MISSING:
                    value = _reduce(reducer, old, value, key, task)
                elif key in run.plan.schema.reduce_first_write:
                    value = _reduce(reducer, None, value, key, task)
            merged[key] = value
    return merged


def _reduce(reducer: Reducer, old: object, new: object, key: Hashable, task: Task) -> object:
    try:
        return reducer(old, new)
    except Exception as exc:
        name = getattr(reducer, "__name__", repr(reducer))
        raise StateError(
            f"the reducer {name!r} of key {key!r} failed on the update of node "
            f"{task.describe()}: {type(exc).__name__}: {exc}; the update's value must fit "
            "the reducer",
            node=task.node.name,
            key=key,
        ) from exc


def close(returned: object) -> None:
    """Close a coroutine nobody will await, so Python does not warn about it."""
    if inspect.iscoroutine(returned):
        returned.close()
