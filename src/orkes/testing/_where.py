"""Which node makes an LLM call: its name, and the subgraph nodes above it.

Inside ``record()`` or ``replay()`` every run gives each task it runs a scope
(:data:`orkes.events.current_scope`) naming its node and its path, as a run that a
tracer or a stream listens to does. A call made outside any task — outside any run, in
a gate, in a thread a node started without copying its context — is made outside any
node (``None``).

A recording also needs to know which calls one task made, and which tasks ran side by
side (the ``Send`` tasks of one node, in one step of one run): :func:`call_place` says.
"""

from __future__ import annotations

from dataclasses import dataclass

from orkes.events import current_scope

__all__ = ["Place", "Site", "call_place", "call_site"]

Site = tuple[tuple[str, ...], str | None]
"""Where a call is made: the subgraph path above the node, and the node (``None``: none)."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a call is made, closer than its site: which run, which step, which task.

    ``run`` and ``task`` are the objects that stand for them (compared by identity;
    whoever keeps a place keeps them alive, so that no other takes their ``id``);
    ``None`` outside any task.
    """

    site: Site
    run: object
    step: int
    task: object


def call_site() -> Site:
    """Where the code running here is: its node and path, or ``((), None)`` outside nodes."""
    return call_place().site


def call_place() -> Place:
    """Where the code running here is: its site, and its run, step and task."""
    scope = current_scope.get()
    if scope is None:
        return Place(((), None), None, 0, None)
    # The run's listener holds every task's emit; a timed-out attempt's is wrapped.
    emit = getattr(scope.emit, "emit", scope.emit)
    run = getattr(emit, "__self__", emit)
    return Place((scope.path, scope.node or None), run, scope.step, scope)  # "": a gate
