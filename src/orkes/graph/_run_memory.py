"""A run's memory as plain data: what a checkpoint keeps so another process can go on.

Besides the state, a run remembers between supersteps its step count, how often each
limited edge was passed, which sources of each join have finished, which joins fired,
and the deferred tasks waiting for the run to go quiet. :func:`memory_of` gives that as
plain data (only the parts that hold something); :func:`restore` takes it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError
from orkes.graph._tasks import STATE, Task

if TYPE_CHECKING:
    from orkes.graph.plan import Run

__all__ = ["memory_of", "restore", "task_entry"]


def memory_of(run: Run) -> dict[str, Any]:
    """What ``run`` must remember between steps: its step, and what else it holds."""
    memory: dict[str, Any] = {"step": run.step}
    if run.passes:
        memory["passes"] = dict(run.passes)
    if run.join_seen:
        memory["join_seen"] = {key: sorted(seen) for key, seen in run.join_seen.items()}
    if run.joins_fired:
        memory["joins_fired"] = sorted(run.joins_fired)
    if run.deferred:
        deferred = run.deferred
        memory["deferred"] = [task_entry(deferred[key]) for key in sorted(deferred)]
    return memory


def restore(run: Run, memory: Mapping[str, Any]) -> None:
    """Give ``run`` back what :func:`memory_of` took (in another process, say).

    Raises:
        CheckpointError: the memory does not fit this graph (damaged, or naming a node
            the graph no longer has).
    """
    try:
        run.step = int(memory["step"])
        run.passes = dict(memory.get("passes", {}))
        run.join_seen = {key: set(seen) for key, seen in memory.get("join_seen", {}).items()}
        run.joins_fired = set(memory.get("joins_fired", ()))
        run.deferred = {}
        for entry in memory.get("deferred", ()):
            node = run.plan.nodes[entry["node"]]
            index = int(entry["index"])
            task = node.task if index < 0 else Task(node, entry["arg"], index)
            run.deferred[f"{node.name}#{index}"] = task
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(
            f"thread {run.thread_id!r} holds run memory this graph can't read "
            f"({type(exc).__name__}: {exc}): the store is damaged, or a node it names is gone"
        ) from exc


def task_entry(task: Task) -> dict[str, Any]:
    """A task as plain data: its node, its index, and a ``Send``'s argument."""
    if task.arg is STATE:
        return {"node": task.node.name, "index": task.index}
    return {"node": task.node.name, "index": task.index, "arg": task.arg}
