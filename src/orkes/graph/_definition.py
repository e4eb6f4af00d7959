"""What the builder records: plain edges, joins and conditional edges, before validation."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Branch", "Edge", "Join", "describe_gate", "is_async_callable"]

Gate = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class Edge:
    """``source -> target``: after ``source`` runs, ``target`` runs in the next superstep."""

    source: str
    target: str
    max_passes: int | None

    def describe(self) -> str:
        """Name the edge the way error messages do: ``edge 'a' -> 'b'``."""
        return f"edge {self.source!r} -> {self.target!r}"


@dataclass(frozen=True, slots=True)
class Join:
    """``[a, b] -> target``: fires once every source has finished since it last fired."""

    sources: tuple[str, ...]
    target: str
    max_passes: int | None

    def describe(self) -> str:
        """Name the join the way error messages do: ``join ['a', 'b'] -> 'c'``."""
        return f"join {list(self.sources)!r} -> {self.target!r}"


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: ``gate(state)`` picks the next node(s) after ``source``."""

    source: str
    gate: Gate
    mapping: Mapping[Hashable, str] | None
    default: str | None
    max_passes: int | None

    def describe(self) -> str:
        """Name the edge the way error messages do, with its gate."""
        return f"conditional edge from {self.source!r} (gate {describe_gate(self.gate)})"


def describe_gate(gate: Callable[..., object]) -> str:
    """A gate's name for messages: ``'is_even'``, or its ``repr`` when it has no name."""
    name = getattr(gate, "__name__", None)
    return repr(name) if isinstance(name, str) else repr(gate)


def is_async_callable(fn: object) -> bool:
    """``async def`` functions, and objects whose ``__call__`` is ``async def``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )
