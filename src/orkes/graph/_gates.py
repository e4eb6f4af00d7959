"""Evaluate a conditional edge's gate and turn its answer into the next tasks."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from orkes.errors import NodeError, RoutingError
from orkes.graph._definition import Branch, describe_gate
from orkes.graph._sentinels import END, normalize_target

if TYPE_CHECKING:
    from orkes.graph.plan import NodePlan, Run

__all__ = ["resolve_gate"]


def resolve_gate(
    branch: Branch, state: Mapping[str, Any], nodes: Mapping[str, NodePlan], run: Run
) -> list[NodePlan]:
    """Ask ``branch``'s gate where to go from ``state``; a list answer fans out."""
    try:
        answer = branch.gate(state)
    except Exception as exc:
        raise NodeError(
            f"gate {describe_gate(branch.gate)} of {branch.describe()} raised "
            f"{type(exc).__name__}: {exc} (after step {run.step}, run {run.run_id})",
            node=branch.source,
            step=run.step,
            run_id=run.run_id,
        ) from exc
    mapping = branch.mapping
    if isinstance(answer, list) or (
        isinstance(answer, tuple) and (mapping is None or answer not in mapping)
    ):
        answers: list[object] = list(answer)
    else:
        answers = [answer]
    targets: list[NodePlan] = []
    for value in answers:
        target = _target_of(branch, value, nodes)
        if target is not END:
            targets.append(nodes[target])
    return targets


def _target_of(branch: Branch, value: object, nodes: Mapping[str, NodePlan]) -> str:
    mapping = branch.mapping
    if mapping is not None:
        target = None
        if isinstance(value, Hashable):
            try:
                target = mapping.get(value)
            except TypeError:  # a tuple holding something unhashable
                target = None
        if target is not None:
            return target
        if branch.default is not None:
            return branch.default
        known = _listed(mapping)
        raise RoutingError(
            f"gate {describe_gate(branch.gate)} of node {branch.source!r} returned {value!r}; "
            f"the mapping knows {known} (add it, or give default=)",
            node=branch.source,
            value=value,
            known=list(mapping),
        )
    name = normalize_target(value)
    if name is END:
        return END
    if isinstance(name, str) and name in nodes:
        return name
    if branch.default is not None:
        return branch.default
    raise RoutingError(
        f"gate {describe_gate(branch.gate)} of node {branch.source!r} returned {value!r}, "
        f"which is neither a node nor END; nodes are {_listed(nodes)} "
        "(return one of them, or add a mapping or default=)",
        node=branch.source,
        value=value,
        known=list(nodes),
    )


def _listed(names: Iterable[object], limit: int = 12) -> str:
    """``'a', 'b', 'c'``, cut short after ``limit`` names."""
    shown = [repr(name) for name, _ in zip(names, range(limit + 1), strict=False)]
    return ", ".join(shown[:limit]) + (", …" if len(shown) > limit else "")
