"""A compiled graph used as a node of another: what goes in, and what comes back.

Keys the two schemas share pass in; what comes back is the node's update: for a key the
subgraph merges through a reducer, only what the subgraph added (so nothing is applied
twice by the parent's reducer); for any other shared key, its final value where the
subgraph wrote it. The subgraph's other keys stay inside it. Its events reach the
parent's stream with the node's name on their path; its errors name the whole path. It
runs under the calling run's ``max_steps`` (counting its own steps) and
``max_concurrency``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orkes.errors import GraphDefinitionError, RunStopped, StateError
from orkes.graph._listen import Listener
from orkes.graph._writes import MISSING
from orkes.graph.context import StepPaused
from orkes.graph.plan import Run

if TYPE_CHECKING:
    from orkes.graph.compiled import CompiledGraph
    from orkes.graph.context import RunContext
    from orkes.graph.state import StateSchema

__all__ = ["SubgraphNode", "subgraph_of"]


class SubgraphNode:
    """Calls a compiled graph as a node: ``__call__`` for sync graphs, ``acall`` for async."""

    __slots__ = ("compiled", "parent_keys", "shared")

    def __init__(self, parent: StateSchema, compiled: CompiledGraph[Any], name: str) -> None:
        self.compiled = compiled
        self.parent_keys = parent.key_set
        self.shared = tuple(k for k in compiled.schema.keys if k in parent.key_set)
        inner = compiled.schema.reducers
        for key in self.shared:
            if (key in inner) != (key in parent.reducers):
                raise GraphDefinitionError(
                    f"subgraph node {name!r}: key {key!r} has a reducer in "
                    f"{'the subgraph' if key in inner else 'the parent'}'s state only; a shared "
                    "key needs a reducer in both schemas or in neither (else its values are "
                    "added twice or lost): annotate both alike"
                )

    def __repr__(self) -> str:
        return f"<subgraph {self.compiled!r}>"

    def __call__(self, state: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
        """Run the subgraph to its end on ``state``'s shared keys; return its update."""
        from orkes.graph._loops import drive

        run, listener, given = self._new_run(state, ctx)
        try:
            for _ in drive(run, listener, run.max_concurrency):
                pass
        except StepPaused as paused:  # a node inside asked: the parent's task pauses
            raise paused.signals[0][1] from None
        finally:
            _leave(run, ctx)
        return self._update(run, given)

    async def acall(self, state: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
        """:meth:`__call__` on the event loop."""
        from orkes.graph._loops import adrive

        run, listener, given = self._new_run(state, ctx)
        try:
            async for _ in adrive(run, listener, run.max_concurrency):
                pass
        except StepPaused as paused:
            raise paused.signals[0][1] from None
        finally:
            _leave(run, ctx)
        return self._update(run, given)

    def _new_run(
        self, state: Mapping[str, Any], ctx: RunContext
    ) -> tuple[Run, Listener | None, dict[str, Any]]:
        given = self._given(state, ctx.node)
        max_steps, run_max_concurrency = ctx._limits  # the calling run's limits
        run = Run(self.compiled.plan, given, max_steps)
        run.max_concurrency = run_max_concurrency
        run.path = (*ctx.path, ctx.node)
        run.thread_id = ctx.thread_id
        run.collect_folds()
        if ctx._run is not None:  # stopped when the calling run is
            ctx._run.children[run] = ctx
            if ctx._run.stopping:
                run.stop()
        listener = Listener.of_parent(self.compiled.name)
        if listener is not None:
            listener.pauses = ctx._pauses
            run.listen()
        return run, listener, given

    def _given(self, state: object, node: str) -> dict[str, Any]:
        """The subgraph's input: the parent's state (its shared keys), or a ``Send``'s arg.

        A ``Send``'s arg may also hold keys only the subgraph has; a key of neither schema
        is refused, as is an arg that is no mapping.
        """
        schema = self.compiled.schema
        inner = schema.key_set
        if not isinstance(state, Mapping):
            raise StateError(
                f"subgraph node {node!r} was sent {type(state).__name__} {state!r}; a Send to "
                f"a subgraph gives its input: a mapping of {schema.schema.__name__}'s keys",
                node=node,
            )
        given = {key: value for key, value in state.items() if key in inner}
        if len(given) < len(state):
            for key in state:
                if key not in inner and key not in self.parent_keys:
                    raise StateError(
                        f"subgraph node {node!r} was sent key {key!r}, which is in neither "
                        f"state schema; the subgraph's keys are {', '.join(map(repr, inner))}",
                        node=node,
                        key=key,
                    )
        return given

    def _update(self, run: Run, given: dict[str, Any]) -> dict[str, Any]:
        if run.stopping:  # its loop ended early: there is no update to give
            raise RunStopped(f"the run was stopped after its step {run.step}")
        folds = run.folds or {}
        update: dict[str, Any] = {}
        for key in self.shared:
            if key in folds:
                update[key] = folds[key]
            elif key not in run.reducers:
                value = run.state.get(key, MISSING)
                if value is not MISSING and value is not given.get(key, MISSING):
                    update[key] = value
        return update


def _leave(run: Run, ctx: RunContext) -> None:
    if ctx._run is not None:
        ctx._run.children.pop(run, None)


def subgraph_of(fn: object) -> CompiledGraph[Any] | None:
    """The compiled graph ``fn`` is, or whose bound ``run`` / ``arun`` it is."""
    from orkes.graph.compiled import CompiledGraph

    if isinstance(fn, CompiledGraph):
        return fn
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, CompiledGraph) and getattr(fn, "__func__", None) in (
        CompiledGraph.run,
        CompiledGraph.arun,
    ):
        return owner
    return None
