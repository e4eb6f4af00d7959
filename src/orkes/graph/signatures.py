"""The shapes of the functions a graph is made of: nodes and gates, as mypy sees them.

A node or a gate takes the state, and may declare a second parameter to receive the
run's :class:`~orkes.graph.context.RunContext`; ``compile()`` reads which from the
signature. ``OrkesGraph.add_node`` and ``add_conditional_edge`` accept both shapes.

Example:
    >>> from typing import TypedDict
    >>> from orkes import RunContext
    >>> class State(TypedDict):
    ...     n: int
    >>> def node(state: State, ctx: RunContext) -> dict[str, int]:
    ...     return {"n": state["n"] + ctx.step}
    >>> def gate(state: State) -> bool:
    ...     return state["n"] > 3
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, Union

from orkes.graph.context import RunContext
from orkes.graph.routing import Command, Send

__all__ = ["GateFn", "NodeFn", "NodeUpdate"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])

NodeUpdate = Union[Mapping[str, Any], None, Command[Any], Sequence[Send]]  # noqa: UP007
"""What a node may return: what changed, the state it was given, ``None``, a
``Command``, or a list of ``Send``."""

NodeFn = Union[  # noqa: UP007
    Callable[[StateT], NodeUpdate | Awaitable[NodeUpdate]],
    Callable[[StateT, RunContext], NodeUpdate | Awaitable[NodeUpdate]],
]
"""A node: takes the state (and, if it declares one, a ``RunContext``); returns a
``NodeUpdate``, or an awaitable of one (``async def``)."""

GateFn = Union[  # noqa: UP007
    Callable[[StateT], object],
    Callable[[StateT, RunContext], object],
]
"""A gate: takes the state (and, if it declares one, a ``RunContext``); returns a key of
its mapping, a node name or ``END``, a list of them, or ``Send``s."""
