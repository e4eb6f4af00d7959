"""Tracing: a record of each run — steps, tasks, gate decisions, LLM calls, checkpoints.

Give a :class:`Tracer` to a runner or to one run; each run becomes a :class:`Trace`
(``tracer.last``), kept in memory and, with ``Tracer(directory=...)``, written as one
JSON file per run. Secrets are redacted before anything is kept (:class:`Redact`).
LLM calls made inside nodes through a shipped connector are recorded; wrap a connector
of your own in :func:`traced` to record its calls too. Off by default, and free when
off: ``import orkes`` does not even load this package.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> from orkes.tracing import Tracer
    >>> class S(TypedDict):
    ...     text: str
    >>> graph = OrkesGraph(S).add_node("shout", lambda s: {"text": s["text"].upper()})
    >>> app = graph.add_edge(START, "shout").add_edge("shout", END).compile()
    >>> tracer = Tracer()
    >>> app.run({"text": "hi"}, tracer=tracer)
    {'text': 'HI'}
    >>> task = tracer.last.tasks[0]
    >>> task.node, task.input_keys, task.update
    ('shout', ('text',), {'text': 'HI'})
"""

from orkes.tracing.connector import Traced, traced
from orkes.tracing.otel import OpenTelemetry
from orkes.tracing.records import (
    CheckpointRecord,
    ErrorRecord,
    GateRecord,
    InterruptRecord,
    LLMCall,
    Repr,
    StepRecord,
    TaskRecord,
)
from orkes.tracing.redact import REDACTED, Redact
from orkes.tracing.trace import Status, Steps, Trace
from orkes.tracing.tracer import Tracer

__all__ = [
    "REDACTED",
    "CheckpointRecord",
    "ErrorRecord",
    "GateRecord",
    "InterruptRecord",
    "LLMCall",
    "OpenTelemetry",
    "Redact",
    "Repr",
    "Status",
    "StepRecord",
    "Steps",
    "TaskRecord",
    "Trace",
    "Traced",
    "Tracer",
    "traced",
]
