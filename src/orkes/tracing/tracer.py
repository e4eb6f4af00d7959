"""Tracer: records runs as traces, in memory and, if asked, as one JSON file per run.

Give one to a runner (``GraphRunner(app, tracer=tracer)``: every run) or to a run
(``app.run(state, tracer=tracer)``, and ``arun``, ``invoke``, ``stream``, …). Without a
tracer nothing is recorded, and a run takes the same path as ever.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, GraphRunner, OrkesGraph
    >>> from orkes.tracing import Tracer
    >>> class S(TypedDict):
    ...     n: int
    >>> graph = OrkesGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1})
    >>> tracer = Tracer()
    >>> runner = GraphRunner(graph.add_edge(START, "inc").add_edge("inc", END).compile(),
    ...                      tracer=tracer)
    >>> runner.run({"n": 1})
    {'n': 2}
    >>> len(tracer.traces), tracer.last.status, len(tracer.last.steps)
    (1, 'done', 1)
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from orkes.errors import GraphDefinitionError
from orkes.tracing._clean import Cleaner
from orkes.tracing._recorder import RunRecorder
from orkes.tracing.redact import Redact
from orkes.tracing.trace import Trace, json_bytes

if TYPE_CHECKING:
    from orkes._observe import RunObserver

__all__ = ["Tracer"]

logger = logging.getLogger("orkes.tracing")


class Tracer:
    """Keeps a :class:`~orkes.tracing.trace.Trace` of every run it is given to.

    Args:
        directory: where to write each run's trace as a JSON file (made if missing);
            ``None`` keeps traces in memory only.
        redact: what to hide (:class:`~orkes.tracing.redact.Redact`; its defaults when
            ``None``): API keys, ``Authorization`` headers, ``*token*`` keys, …
        keep: how many traces :attr:`traces` holds (the oldest go first); ``None``: all.

    Raises:
        GraphDefinitionError: ``directory`` can't be made or written to, or ``redact`` or
            ``keep`` is not what it should be.

    A tracer may record many runs at once, on any threads. A trace that can't be
    written (a full disk) is logged on the ``orkes.tracing`` logger and kept in memory.
    """

    __slots__ = ("_cleaner", "_traces", "directory", "keep", "redact")

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        redact: Redact | None = None,
        keep: int | None = 1000,
    ) -> None:
        self.directory = None if directory is None else _writable(directory)
        if redact is None:
            redact = Redact()
        elif not isinstance(redact, Redact):
            raise GraphDefinitionError(
                f"redact= takes an orkes.tracing.Redact (Redact(keys=..., values=..., "
                f"secrets=...)), got {redact!r}"
            )
        if keep is not None and (not isinstance(keep, int) or isinstance(keep, bool) or keep < 1):
            raise GraphDefinitionError(f"keep= takes a positive int or None, got {keep!r}")
        self.redact = redact
        self.keep = keep
        self._cleaner = Cleaner(redact)
        # A run's recorder until its trace is asked for: made then (see RunRecorder.trace).
        self._traces: deque[RunRecorder] = deque(maxlen=keep)

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}, " if self.directory else ""
        return f"Tracer({where}traces={len(self._traces)})"

    @property
    def traces(self) -> list[Trace]:
        """The traces kept, oldest first (a new list: runs may add to the tracer meanwhile)."""
        return [done.trace() for done in list(self._traces)]

    @property
    def last(self) -> Trace | None:
        """The trace of the run that ended last, or ``None`` before any."""
        try:
            done = self._traces[-1]
        except IndexError:
            return None
        return done.trace()

    def clear(self) -> None:
        """Forget the traces kept in memory (files stay)."""
        self._traces.clear()

    def path_for(self, trace: Trace) -> Path:
        """The file a trace of this tracer is written to: ``<UTC time>-<run id>.json``.

        Raises:
            GraphDefinitionError: the tracer has no directory.
        """
        if self.directory is None:
            raise GraphDefinitionError(
                "this tracer writes no files: give it a directory, Tracer(directory='traces')"
            )
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(trace.started))
        micros = int(trace.started % 1 * 1_000_000)
        return self.directory / f"{stamp}.{micros:06d}Z-{trace.run_id}.json"

    def _observe(self, graph: str | None, path: tuple[str, ...]) -> RunObserver:
        """The engine's hook: a recorder for a run of ``graph`` at ``path``."""
        return RunRecorder(self._cleaner, graph, path, self._keep)

    def _keep(self, done: RunRecorder) -> None:
        self._traces.append(done)
        if self.directory is not None:
            self._write(done.trace())

    def _write(self, trace: Trace) -> None:
        target = self.path_for(trace)
        partial = target.with_name(f".{target.name}.part")
        try:
            partial.write_bytes(json_bytes(trace, acyclic=True))
            os.replace(partial, target)  # readers never see half a file
        except (OSError, ValueError, TypeError) as exc:
            logger.warning(
                "could not write the trace of run %s to %s: %s", trace.run_id, target, exc
            )


def _writable(directory: str | os.PathLike[str]) -> Path:
    """``directory`` as a ``Path``, made if missing; refused if it can't be written to."""
    if not isinstance(directory, (str, os.PathLike)):
        raise GraphDefinitionError(
            f"Tracer(directory=...) takes a path (a str or a pathlib.Path), got {directory!r}"
        )
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraphDefinitionError(
            f"Tracer(directory={os.fspath(directory)!r}): can't make that directory "
            f"({exc.strerror or exc}); give a directory you can write to"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise GraphDefinitionError(
            f"Tracer(directory={os.fspath(directory)!r}): that directory is not writable; "
            "give a directory you can write to"
        )
    return path
