"""Conditional edges at run time: ask the gate, look its answer up, name the next tasks."""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from orkes.errors import NodeError, RoutingError
from orkes.graph._definition import Branch, describe_gate, takes_context
from orkes.graph._sentinels import END
from orkes.graph.routing import Send

if TYPE_CHECKING:
    from orkes.graph._tasks import NodePlan, Task
    from orkes.graph.plan import Run

__all__ = ["GatePlan"]


class GatePlan:
    """A conditional edge with every answer its gate may give looked up in advance."""

    __slots__ = ("branch", "default", "key", "nodes", "table", "takes_context")

    def __init__(
        self,
        key: str,
        branch: Branch,
        nodes: Mapping[str, NodePlan],
        any_node: Mapping[Hashable, tuple[Task, ...]],
    ) -> None:
        """Look up ``branch``'s answers ahead of time.

        ``key`` is the edge's stable id. ``any_node`` is the graph's one table of every
        node name (and END's spellings), shared by all the gates without a mapping.
        """
        self.key = key
        self.branch = branch
        self.nodes = nodes
        self.takes_context = takes_context(branch.gate, f"the gate of {branch.describe()}")
        self.table: Mapping[Hashable, tuple[Task, ...]] = any_node
        if branch.mapping is not None:
            self.table = {
                answer: _tasks_for(target, nodes) for answer, target in branch.mapping.items()
            }
        self.default = None if branch.default is None else _tasks_for(branch.default, nodes)

    @staticmethod
    def any_node_table(nodes: Mapping[str, NodePlan]) -> dict[Hashable, tuple[Task, ...]]:
        """Every node's name -> its task, and END's spellings -> nothing: built once."""
        table: dict[Hashable, tuple[Task, ...]] = {
            name: (plan.task,) for name, plan in nodes.items()
        }
        table.update({"END": (), str(END): ()})
        return table

    def route(self, state: Mapping[str, Any], run: Run) -> tuple[Task, ...]:
        """Ask the gate where to go from ``state``; a list answer fans out."""
        try:
            if self.takes_context:
                answer = self.branch.gate(MappingProxyType(state), self._context(run))
            else:
                answer = self.branch.gate(MappingProxyType(state))  # gates read, never write
        except Exception as exc:
            raise NodeError(
                f"gate {describe_gate(self.branch.gate)} of node {self.branch.source!r} raised "
                f"{type(exc).__name__}: {exc} (after step {run.step}, run {run.run_id})",
                node=self.branch.source,
                step=run.step,
                run_id=run.run_id,
            ) from exc
        try:
            tasks = self.table[answer]
        except (KeyError, TypeError):  # not a known answer, or a list (unhashable)
            if inspect.isawaitable(answer):
                if inspect.iscoroutine(answer):
                    answer.close()
                raise RoutingError(
                    f"gate {describe_gate(self.branch.gate)} of node {self.branch.source!r} "
                    "returned an awaitable; a gate must be a plain function that decides from "
                    "the state (do the awaiting in a node)",
                    node=self.branch.source,
                    value=answer,
                ) from None
            tasks = self._route_slowly(answer, run)
        if run.trace is not None:
            run.trace.routed(self, answer, tasks, run)
        return tasks

    def _context(self, run: Run) -> object:
        from orkes.graph.context import RunContext

        return RunContext(
            run.run_id, run.step, self.branch.source, run.path, 1, run.thread_id, run.gate_scope
        )

    def _route_slowly(self, answer: object, run: Run) -> tuple[Task, ...]:
        answers = list(answer) if isinstance(answer, (list, tuple)) else [answer]
        tasks: list[Task] = []
        where = f"gate {describe_gate(self.branch.gate)} of node {self.branch.source!r}"
        for value in answers:
            if isinstance(value, Send):
                tasks.append(run.send_task(value, where, self.branch.source))
            else:
                tasks.extend(self._tasks_of(value))
        return tuple(tasks)

    def _tasks_of(self, value: object) -> tuple[Task, ...]:
        if isinstance(value, Hashable) and not isinstance(value, Send):
            try:
                return self.table[value]
            except (KeyError, TypeError):  # TypeError: a tuple holding something unhashable
                pass
        if self.default is not None:
            return self.default
        branch = self.branch
        gate = describe_gate(branch.gate)
        if branch.mapping is not None:
            raise RoutingError(
                f"gate {gate} of node {branch.source!r} returned {value!r}; "
                f"the mapping knows {_listed(branch.mapping)} (add it, or give default=)",
                node=branch.source,
                value=value,
                known=list(branch.mapping),
            )
        raise RoutingError(
            f"gate {gate} of node {branch.source!r} returned {value!r}, which is neither a node "
            f"nor END; nodes are {_listed(self.nodes)} (return one of them, or add a mapping "
            "or default=)",
            node=branch.source,
            value=value,
            known=list(self.nodes),
        )


def _tasks_for(target: str, nodes: Mapping[str, NodePlan]) -> tuple[Task, ...]:
    return () if target is END else (nodes[target].task,)


def _listed(names: Iterable[object], limit: int = 12) -> str:
    """``'a', 'b', 'c'``, cut short after ``limit`` names."""
    shown = [repr(name) for name, _ in zip(names, range(limit + 1), strict=False)]
    return ", ".join(shown[:limit]) + (", …" if len(shown) > limit else "")
