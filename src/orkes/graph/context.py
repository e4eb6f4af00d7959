"""RunContext: what a node (or gate) that asks for it learns about the run it is part of.

A node that declares a second parameter gets one::

    def write(state: State, ctx: RunContext) -> dict[str, str]:
        ctx.emit({"progress": 0.5})          # a Custom event for "custom" streams
        return {"text": f"step {ctx.step}, attempt {ctx.attempt}"}

Whether a node takes it is read once from its signature, by ``add_node`` (for a gate,
by ``compile()``), never per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orkes.events import Custom, TaskScope

__all__ = ["RunContext"]


@dataclass(frozen=True, slots=True)
class RunContext:
    """The run as a node sees it; frozen, one per attempt of a task.

    Attributes:
        run_id: the run's id (a subgraph run has its own).
        step: the superstep the node runs in (1 for the first).
        node: the node's name (for a gate: the node its edge leaves).
        path: the subgraph node names above this graph (``()`` at the top).
        attempt: 1, then 2, 3 … when a ``RetryPolicy`` calls the node again.
        thread_id: the conversation thread of a durable run (``None`` until checkpoints
            are in use).
    """

    run_id: str
    step: int
    node: str
    path: tuple[str, ...] = ()
    attempt: int = 1
    thread_id: str | None = None
    _scope: TaskScope | None = field(default=None, repr=False, compare=False)
    # The run's max_steps and max_concurrency: a subgraph node runs under the same.
    _limits: tuple[int, int | None] = field(default=(1000, None), repr=False, compare=False)

    def emit(self, payload: Any) -> None:
        """Send ``payload`` to whoever streams this run with mode ``"custom"``.

        Does nothing when nobody does, so nodes can report progress unconditionally.
        """
        scope = self._scope
        if scope is not None and "custom" in scope.modes:
            scope.emit(Custom(self.node, payload, step=self.step, path=self.path))
