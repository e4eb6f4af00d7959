"""Trace: the record of one run — its steps, tasks, gate decisions, LLM calls, end.

A tracer makes one per run (``tracer.last``). It is a frozen dataclass of records
(:mod:`orkes.tracing.records`) and redacted JSON values, so it goes to a JSON file and
back unchanged: ``Trace.from_json(trace.to_json(path)) == trace``.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> from orkes.tracing import Tracer
    >>> class S(TypedDict):
    ...     n: int
    >>> app = OrkesGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1})
    >>> app = app.add_edge(START, "inc").add_edge("inc", END).compile()
    >>> tracer = Tracer()
    >>> app.run({"n": 1}, tracer=tracer)
    {'n': 2}
    >>> trace = tracer.last
    >>> trace.status, trace.state, [(t.node, t.update) for t in trace.tasks]
    ('done', {'n': 2}, [('inc', {'n': 2})])
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from orkes.tracing.records import (
    CheckpointRecord,
    ErrorRecord,
    InterruptRecord,
    LLMCall,
    StepRecord,
    TaskRecord,
)

if TYPE_CHECKING:
    from orkes.viz.shape import GraphShape

__all__ = ["Status", "Steps", "Trace", "json_bytes", "json_text"]

Status = Literal["done", "failed", "paused", "stopped"]
"""How a run ended: reached END, raised, paused for an answer, or was stopped (a stream
closed early, a cancelled task)."""


class Steps(Sequence[StepRecord]):
    """A trace's supersteps: a read-only sequence, made into records when first read.

    A run records its steps in a compact form as it goes; they become
    :class:`~orkes.tracing.records.StepRecord` objects the first time anybody looks, so
    recording costs little (:doc:`tracing` gives the figures). Compares equal to any
    sequence of the same records.
    """

    __slots__ = ("_build", "_records")

    def __init__(
        self,
        records: Sequence[StepRecord] = (),
        build: Callable[[], tuple[StepRecord, ...]] | None = None,
    ) -> None:
        self._records: tuple[StepRecord, ...] | None = None if build else tuple(records)
        self._build = build

    def _all(self) -> tuple[StepRecord, ...]:
        records = self._records
        if records is None:
            build = self._build
            if build is None:  # another thread built them meanwhile
                return self._all()
            records = self._records = build()
            self._build = None
        return records

    @overload
    def __getitem__(self, index: int) -> StepRecord: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[StepRecord, ...]: ...
    def __getitem__(self, index: int | slice) -> StepRecord | tuple[StepRecord, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Steps):
            return self._all() == other._all()
        if isinstance(other, (tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Steps({list(self._all())!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (or copied) as the records themselves: the compact form stays behind.
        return (Steps, (self._all(),))


@dataclass(frozen=True, slots=True)
class Trace:
    """One run, recorded.

    Attributes:
        graph: the graph's name (``OrkesGraph(..., name=...)``), if it has one.
        run_id: the run's id.
        status: ``"done"``, ``"failed"``, ``"paused"`` or ``"stopped"``.
        started: when the run began (seconds since the epoch).
        ended: when it ended.
        state: the state it ended with (on failure: before the step that failed), redacted.
        steps: its supersteps, in order (step 0, when present, holds START's gates).
        thread_id: its thread, for a durable run.
        path: the subgraph node names above it (``()`` for a top-level run).
        error: why it failed (or was stopped), with the traceback.
        checkpoints: the checkpoints it wrote, in order.
        interrupts: the pauses it ended with.
        shape: the graph it ran, as its pictures draw it (an ``orkes.viz.GraphShape``),
            for :meth:`to_html`. Rebuilt from the run's plan: as ``app.shape()`` but
            for the order of plain edges and an edge to END from a node that has
            another way out too. ``None`` in the run of a subgraph node (its parent's
            shape holds it) and in files written before traces kept it.
    """

    graph: str | None
    run_id: str
    status: Status
    started: float
    ended: float
    state: dict[str, Any]
    steps: Sequence[StepRecord] = ()
    thread_id: str | None = None
    path: tuple[str, ...] = ()
    error: ErrorRecord | None = None
    checkpoints: tuple[CheckpointRecord, ...] = ()
    interrupts: tuple[InterruptRecord, ...] = ()
    shape: GraphShape | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.steps, Steps):
            object.__setattr__(self, "steps", Steps(self.steps))

    @property
    def seconds(self) -> float:
        """How long the run took."""
        return self.ended - self.started

    @property
    def tasks(self) -> tuple[TaskRecord, ...]:
        """Every task attempt of this run (not of runs nested in it), step by step."""
        return tuple(task for step in self.steps for task in step.tasks)

    @property
    def llm_calls(self) -> tuple[LLMCall, ...]:
        """Every LLM call made in the run, runs nested in its nodes included, in order."""
        return tuple(
            call for trace in self.walk() for task in trace.tasks for call in task.llm_calls
        )

    def walk(self) -> Iterator[Trace]:
        """This trace, then every trace nested in its tasks (subgraphs), depth first."""
        yield self
        for task in self.tasks:
            for nested in task.subgraphs:
                yield from nested.walk()

    def to_dict(self) -> dict[str, Any]:
        """The trace as plain JSON data (what :meth:`to_json` writes)."""
        from orkes.tracing._json import trace_to_dict

        return trace_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trace:
        """The trace that :meth:`to_dict` gave ``data``.

        Raises:
            GraphDefinitionError: ``data`` is not an orkes trace.
        """
        from orkes.tracing._json import trace_from_dict

        return trace_from_dict(data)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the trace to ``path`` as JSON (UTF-8); return the path.

        Example:
            ``Trace.from_json(trace.to_json("run.json")) == trace``
        """
        target = Path(path)
        target.write_bytes(json_bytes(self))
        return target

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace that :meth:`to_json` (or a ``Tracer(directory=...)``) wrote.

        Raises:
            GraphDefinitionError: the file is not JSON, or not an orkes trace.
            OSError: the file can't be read.
        """
        from orkes.errors import GraphDefinitionError

        try:  # surrogatepass: files written before lone surrogates were escaped
            data = json.loads(Path(path).read_text(encoding="utf-8", errors="surrogatepass"))
        except ValueError as exc:  # UnicodeDecodeError too: not UTF-8
            raise GraphDefinitionError(
                f"{os.fspath(path)!r} is not a JSON file ({exc}); give a file that "
                "trace.to_json(path) or Tracer(directory=...) wrote"
            ) from None
        return cls.from_dict(data)

    def html(self, *, shape: GraphShape | None = None) -> str:
        """The trace as one self-contained HTML page: the inspector (see :meth:`to_html`)."""
        from orkes.tracing.html import trace_html

        return trace_html(self, shape=shape)

    def to_html(self, path: str | os.PathLike[str], *, shape: GraphShape | None = None) -> Path:
        """Write the trace's inspector to ``path``: one HTML file, nothing fetched; return it.

        The page draws the graph with the path the run took and each node's time, a
        timeline of the supersteps (parallel tasks side by side), each task's input keys
        and update, its LLM calls (messages, reply, tool calls, usage, latency), the
        gates' decisions, checkpoints, pauses and errors with their tracebacks. Every
        string from the run shows as text. ``shape`` draws that graph instead of the
        one the trace keeps: ``shape=app.shape()`` draws the graph exactly as
        ``app.draw_svg()`` does, and gives a picture to a trace that keeps none.

        Example:
            ``trace.to_html("run.html")``, then open the file in a browser.
        """
        target = Path(path)
        target.write_text(self.html(shape=shape), encoding="utf-8")
        return target


def json_text(trace: Trace, *, acyclic: bool = False) -> str:
    """``trace`` as compact JSON text (non-ASCII kept as it is).

    ``acyclic``: the trace is a tracer's, whose values hold no cycle (the tracer cuts
    them), so the encoder need not look for one (a tenth faster).
    """
    return (_ACYCLIC if acyclic else _ENCODER).encode(trace.to_dict())


def json_bytes(trace: Trace, *, acyclic: bool = False) -> bytes:
    r"""``trace`` as a JSON file's UTF-8 bytes (see :func:`json_text`).

    A string of the run may hold a lone surrogate (half of an emoji cut in two), which
    UTF-8 can't encode: such a trace is written with ``\uXXXX`` escapes instead, still
    read back equal, by any JSON reader.
    """
    data = trace.to_dict()
    try:
        return (_ACYCLIC if acyclic else _ENCODER).encode(data).encode("utf-8")
    except UnicodeEncodeError:
        return _ESCAPING.encode(data).encode("ascii")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ACYCLIC = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_ESCAPING = json.JSONEncoder(separators=(",", ":"), check_circular=False)
