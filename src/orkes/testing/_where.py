"""Which node makes an LLM call: its name, and the subgraph nodes above it.

Inside ``record()`` or ``replay()`` every run gives each task it runs a scope
(:data:`orkes.events.current_scope`) naming its node and its path, as a run that a
tracer or a stream listens to does. A call made outside any task — outside any run, in
a gate, in a thread a node started without copying its context — is made outside any
node (``None``).
"""

from __future__ import annotations

from orkes.events import current_scope

__all__ = ["Site", "call_site"]

Site = tuple[tuple[str, ...], str | None]
"""Where a call is made: the subgraph path above the node, and the node (``None``: none)."""


def call_site() -> Site:
    """Where the code running here is: its node and path, or ``((), None)`` outside nodes."""
    scope = current_scope.get()
    if scope is None:
        return (), None
    return scope.path, scope.node or None  # "": between tasks, or a gate
