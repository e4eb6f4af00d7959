"""Every compile-time check of a graph: collect all problems, then raise once.

Runs in time linear in nodes + edges, so a 10,000-node graph compiles in well under a
second.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, Literal, Union, get_args, get_origin, get_type_hints

from orkes.errors import GraphValidationError
from orkes.graph._definition import Branch
from orkes.graph._sentinels import END, START, Terminal, normalize_target

if TYPE_CHECKING:
    from orkes.graph.spec import GraphSpec

__all__ = ["UnreadableReturn", "branch_targets", "gate_values", "literal_values", "validate"]

ANYWHERE = None
"""What ``branch_targets`` returns for a gate that may go to any node."""

_MAX_SUGGESTIONS = 10


def validate(graph: GraphSpec) -> None:
    """Raise one ``GraphValidationError`` listing every problem of ``graph``, if it has any.

    It reads the frozen description ``compile()`` made, so what was checked is what runs.
    """
    literals = _GateLiterals()
    problems = list(_edge_problems(graph, literals))
    problems.extend(_flow_problems(graph, literals))
    problems.extend(literals.problems)
    if problems:
        raise GraphValidationError(problems, graph.name)


class UnreadableReturn(Exception):
    """A gate's return annotation names something that can't be imported where it is."""


def literal_values(gate: Callable[..., object]) -> tuple[object, ...] | None:
    """The values a gate's ``-> Literal[...]`` (or ``-> list[Literal[...]]``) allows, if any.

    Only the return annotation is read (with the gate's own globals), so a parameter
    annotation that can't be resolved does not hide the check. A ``-> bool`` gate has no
    ``Literal``: see :func:`gate_values` for what the compile-time checks assume.

    Raises:
        UnreadableReturn: the return annotation is a string naming ``Literal`` that does
            not resolve (any other unresolvable return just means "no Literal").
    """
    returns = _return_hint(gate)
    if returns is _NO_HINT:
        return None
    values: list[object] = []
    for member in _union_members(returns):
        if get_origin(member) is not Literal:
            return None
        values.extend(get_args(member))
    return tuple(values) or None


def gate_values(gate: Callable[..., object]) -> tuple[object, ...] | None:
    """The values ``compile()`` checks a gate's mapping against, if its return names them.

    Those of :func:`literal_values`, and ``(True, False)`` for a gate annotated
    ``-> bool`` (or ``-> list[bool]``), which is checked as ``-> Literal[True, False]``.
    ``-> bool | None`` names no values, as ``-> Literal[...] | None`` does not.

    Raises:
        UnreadableReturn: as :func:`literal_values`.
    """
    if _return_hint(gate) is bool:
        return (True, False)
    return literal_values(gate)


_NO_HINT: Final = object()
"""What ``_return_hint`` returns for a gate without a readable return annotation."""


def _return_hint(gate: Callable[..., object]) -> object:
    """A gate's resolved return annotation (the element type of a list), or ``_NO_HINT``."""
    is_plain = inspect.isfunction(gate) or inspect.ismethod(gate)
    target: Any = gate if is_plain else getattr(type(gate), "__call__", None)  # noqa: B004
    annotations = getattr(target, "__annotations__", None)
    if not isinstance(annotations, dict) or "return" not in annotations:
        return _NO_HINT
    written = annotations["return"]
    holder = SimpleNamespace(__annotations__={"return": written})
    globalns = getattr(inspect.unwrap(target), "__globals__", None)  # a decorator's target
    try:
        returns = get_type_hints(holder, globalns=globalns)["return"]
    except Exception as exc:
        if isinstance(written, str) and "Literal" in written:
            raise UnreadableReturn(f"{type(exc).__name__}: {exc}") from exc
        return _NO_HINT  # e.g. a type imported only under TYPE_CHECKING: no Literal to check
    if get_origin(returns) in (list, tuple, Sequence) and get_args(returns):
        returns = get_args(returns)[0]
    return returns


class _GateLiterals:
    """Each gate's literals, read once per validation (many edges share one gate)."""

    def __init__(self) -> None:
        self._by_gate: dict[int, tuple[object, ...] | None] = {}
        self.problems: list[str] = []

    def of(self, branch: Branch) -> tuple[object, ...] | None:
        key = id(branch.gate)
        if key not in self._by_gate:
            try:
                self._by_gate[key] = gate_values(branch.gate)
            except UnreadableReturn as exc:
                self._by_gate[key] = None
                self.problems.append(
                    f"the return annotation of the gate of {branch.describe()} cannot be read "
                    f"({exc}); import what it names where the gate is defined"
                )
        return self._by_gate[key]


def branch_targets(
    branch: Branch, nodes: Container[str], literals: tuple[object, ...] | None
) -> list[str] | None:
    """Where ``branch`` may lead (``END`` included), or ``None`` when it may go anywhere.

    ``literals`` are the values of its gate's ``Literal`` return, if it has one.
    """
    if branch.mapping is not None:
        targets = list(branch.mapping.values())
    else:
        if literals is None:
            return ANYWHERE
        targets = [t for t in map(normalize_target, literals) if isinstance(t, str)]
    if branch.default is not None:
        targets.append(branch.default)
    return [t for t in targets if t is END or t in nodes]


def _union_members(hint: object) -> tuple[object, ...]:
    origin = get_origin(hint)
    if origin is Union or type(hint).__name__ == "UnionType":
        return get_args(hint)
    return (hint,)


def _edge_problems(graph: GraphSpec, literals: _GateLiterals) -> Iterator[str]:
    nodes = graph.nodes
    suggestions_left = [_MAX_SUGGESTIONS]

    def unknown(name: str, meant: Terminal | None = None) -> str:
        # ``meant``: the sentinel a case variant of whose name this may be ("end" for END).
        if meant is not None and _spells(name, meant):
            return f"unknown node {name!r} (did you mean {meant!r}?)"
        # difflib is linear in the nodes: suggest for the first few unknown names only.
        if suggestions_left[0] <= 0:
            return f"unknown node {name!r}"
        suggestions_left[0] -= 1
        return f"unknown node {name!r}{_did_you_mean(name, nodes)}"

    if not any(e.source is START for e in graph.edges) and not any(
        b.source is START for b in graph.branches
    ):
        yield "no entry edge: add graph.add_edge(START, '<first node>')"
    for edge in graph.edges:
        if edge.source is not START and edge.source not in nodes:
            yield f"{edge.describe()} leaves {unknown(edge.source, START)}"
        if edge.target is not END and edge.target not in nodes:
            yield f"{edge.describe()} leads to {unknown(edge.target, END)}"
    for join in graph.joins:
        for source in join.sources:
            if source not in nodes:
                yield f"{join.describe()} waits for {unknown(source)}"
        if join.target is not END and join.target not in nodes:
            yield f"{join.describe()} leads to {unknown(join.target, END)}"
    for name, spec in graph.nodes.items():
        for destination in spec.destinations:
            if destination is not END and destination not in nodes:
                yield f"node {name!r} declares destination {unknown(destination, END)}"
    for where, names in (
        ("interrupt_before", graph.interrupt_before),
        ("interrupt_after", graph.interrupt_after),
    ):
        for name in names:
            if name not in nodes:
                yield f"compile({where}=...) names {unknown(name)}"
    for branch in graph.branches:
        where = branch.describe()
        if branch.source is not START and branch.source not in nodes:
            yield f"{where} leaves {unknown(branch.source, START)}"
        for key, target in (branch.mapping or {}).items():
            if target is not END and target not in nodes:
                yield f"{where} maps {key!r} to {unknown(target, END)}"
        default = branch.default
        if default is not None and default is not END and default not in nodes:
            yield f"{where} has default= {unknown(default, END)}"
        yield from _literal_problems(branch, nodes, literals.of(branch))


def _literal_problems(
    branch: Branch, nodes: Mapping[str, Any], literals: tuple[object, ...] | None
) -> Iterator[str]:
    if literals is None or branch.default is not None:
        return
    if branch.mapping is not None:
        missing = [value for value in literals if value not in branch.mapping]
        if missing:
            yield (
                f"{branch.describe()} may return "
                f"{', '.join(map(repr, missing))} (its -> Literal[...]), which the mapping "
                f"does not cover; add {'them' if len(missing) > 1 else 'it'} to the mapping "
                "or give default="
            )
        return
    for value in literals:
        target = normalize_target(value)
        if target is not END and target not in nodes:
            yield (
                f"{branch.describe()} may return {value!r} (its -> Literal[...]), "
                "which is not a node; give a mapping or name a node"
            )


def _flow_problems(graph: GraphSpec, literals: _GateLiterals) -> Iterator[str]:
    """Nodes with no way out, nodes START can't reach, nodes that can't reach END."""
    names = list(graph.nodes)
    successors: dict[str, list[str]] = {name: [] for name in [START, *names]}
    goes_anywhere: set[str] = set()
    has_way_out: set[str] = set()
    for edge in graph.edges:
        if edge.source in successors:
            has_way_out.add(edge.source)
            successors[edge.source].append(edge.target)
    for join in graph.joins:
        for source in join.sources:
            if source in successors:
                has_way_out.add(source)
                successors[source].append(join.target)
    for name, spec in graph.nodes.items():
        if spec.destinations:  # where its Command / Send may go: edges like any other
            has_way_out.add(name)
            successors[name].extend(d for d in spec.destinations if d is END or d in graph.nodes)
    for branch in graph.branches:
        if branch.source not in successors:
            continue
        has_way_out.add(branch.source)
        targets = branch_targets(branch, graph.nodes, literals.of(branch))
        if targets is ANYWHERE:
            goes_anywhere.add(branch.source)
        else:
            successors[branch.source].extend(targets)
    for name in names:
        if name not in has_way_out:
            yield f"node {name!r} has no way out: add an edge from it (to END if it is the last)"
    reached = _reach(START, successors, everything=names, jumps_to_all=goes_anywhere)
    for name in names:
        if name not in reached:
            yield f"node {name!r} cannot be reached from START: add an edge to it, or remove it"
    predecessors: dict[str, list[str]] = {name: [] for name in [END, *names]}
    for source, targets in successors.items():
        for target in targets:
            if target in predecessors:
                predecessors[target].append(source)
    for source in goes_anywhere:
        predecessors[END].append(source)
    reaches_end = _reach(END, predecessors, everything=(), jumps_to_all=set())
    for name in names:
        if name in reached and name in has_way_out and name not in reaches_end:
            yield f"node {name!r} can never reach END: no path from it leads there"


def _reach(
    origin: str,
    neighbours: dict[str, list[str]],
    *,
    everything: Sequence[str],
    jumps_to_all: set[str],
) -> set[str]:
    seen = {origin}
    queue = deque([origin])
    while queue:
        current = queue.popleft()
        following: Iterable[str] = neighbours.get(current, ())
        if current in jumps_to_all:
            following = everything
            jumps_to_all = set()  # everything is queued once; no need to do it again
        for name in following:
            if name not in seen:
                seen.add(name)
                queue.append(name)
    return seen


def _spells(name: str, terminal: Terminal) -> bool:
    """Whether ``name`` is ``terminal``'s name in other letter case: "end", "End", "__END__"."""
    return name.casefold() in (terminal.label.casefold(), str(terminal).casefold())


def _did_you_mean(name: str, nodes: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(nodes), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
