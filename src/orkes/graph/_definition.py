"""What the builder records: plain edges, joins and conditional edges, before validation."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from orkes.errors import GraphDefinitionError

__all__ = [
    "Branch",
    "Edge",
    "Join",
    "NodeSpec",
    "check_name_list",
    "command_destinations",
    "describe_gate",
    "is_async_callable",
    "takes_context",
]

Gate = Callable[..., object]


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as added: its function and the options ``add_node`` was given.

    Attributes:
        name: the node's name.
        fn: what is called (for a subgraph, the compiled graph's adapter).
        is_async: ``fn`` must be awaited.
        takes_context: ``fn`` declares a second parameter, a ``RunContext``.
        destinations: where a ``Command`` or ``Send`` it returns may lead.
        retry: its ``RetryPolicy``, if any.
        timeout: seconds it may run, if limited.
        cache: its ``CachePolicy``, if any.
        stream_tokens: whether its LLM tokens reach ``"messages"`` streams.
        defer: it waits until nothing else is pending.
        subgraph: the ``CompiledGraph`` it runs, when it is a subgraph.
    """

    name: str
    fn: Callable[..., Any]
    is_async: bool = False
    takes_context: bool = False
    destinations: tuple[str, ...] = ()
    retry: Any = None
    timeout: float | None = None
    cache: Any = None
    stream_tokens: bool = True
    defer: bool = False
    subgraph: Any = None


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


def check_name_list(value: object, what: str) -> None:
    """Refuse a lone name (or anything not iterable) where a list of node names belongs.

    ``what`` names the argument: ``"compile(interrupt_before=...)"``.
    """
    if isinstance(value, str) or (value is not None and not isinstance(value, Iterable)):
        raise GraphDefinitionError(f"{what} takes a list of node names, got {value!r}")


def describe_gate(gate: Callable[..., object]) -> str:
    """A gate's name for messages: ``'is_even'``, or its ``repr`` when it has no name."""
    name = getattr(gate, "__name__", None)
    return repr(name) if isinstance(name, str) else repr(gate)


def is_async_callable(fn: object) -> bool:
    """``async def`` functions, and objects whose ``__call__`` is ``async def``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


def takes_context(fn: Callable[..., Any], what: str) -> bool:
    """Whether ``fn`` declares a second parameter (a ``RunContext``); raise if it can't be called.

    ``what`` names it in the error: ``"node 'llm'"`` or ``"the gate of ..."``.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: assume fn(state)
        return False
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    required_keywords = [
        p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    ]
    takes_any = positional or any(p.kind is p.VAR_POSITIONAL for p in parameters)
    if not takes_any or len(required) > 2 or required_keywords:
        shown = f"{getattr(fn, '__name__', repr(fn))}{signature}"
        raise GraphDefinitionError(
            f"{what} has the signature {shown}; it must take the state, and optionally a "
            "RunContext as a second parameter: def fn(state) or def fn(state, ctx)"
        )
    return len(positional) >= 2


def command_destinations(fn: Callable[..., Any], what: str) -> tuple[str, ...]:
    """The node names of a ``-> Command[Literal["a", "b"]]`` return annotation, if any.

    ``what`` names ``fn`` in the error (``"node 'plan'"``).

    Raises:
        GraphDefinitionError: the annotation names ``Command`` but can't be resolved.
    """
    target: Any = fn if inspect.isroutine(fn) else getattr(type(fn), "__call__", None)  # noqa: B004
    annotations = getattr(target, "__annotations__", None)
    if not isinstance(annotations, dict) or "return" not in annotations:
        return ()
    written = annotations["return"]
    if isinstance(written, str) and "Command" not in written:
        return ()
    from orkes._type_hints import resolve_return_hint

    try:
        returns = resolve_return_hint(fn)
    except NameError as exc:
        if not isinstance(written, str) or "Command" not in written:
            return ()
        raise GraphDefinitionError(
            f"{what} is annotated -> {written}, which can't be resolved ({exc}); import "
            "what it names at module level, or give the destinations to "
            "add_node(..., destinations=[...])"
        ) from exc
    found: list[str] = []
    for member in _members(returns):
        if getattr(get_origin(member), "__name__", None) == "Command" and get_args(member):
            for literal in _members(get_args(member)[0]):
                if get_origin(literal) is Literal:
                    found.extend(str(v) for v in get_args(literal))
    return tuple(dict.fromkeys(found))


def _members(hint: object) -> tuple[object, ...]:
    origin = get_origin(hint)
    if origin is Union or type(hint).__name__ == "UnionType":
        return get_args(hint)
    if get_origin(hint) is not None and getattr(origin, "__name__", None) == "Awaitable":
        return _members(get_args(hint)[0])
    return (hint,)
