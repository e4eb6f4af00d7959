"""OpenTelemetry: each run as spans — run, superstep, task attempt, LLM call.

Needs the extra ``orkes[otel]`` (``opentelemetry-api``; add ``opentelemetry-sdk`` and an
exporter to send the spans somewhere). Give an :class:`OpenTelemetry` where a
:class:`~orkes.tracing.Tracer` goes — ``GraphRunner(app, tracer=OpenTelemetry())`` for
every run, or ``app.run(state, tracer=OpenTelemetry())`` for one::

    run <graph>             orkes.graph, orkes.run_id, orkes.thread_id, orkes.status, …
    └── step <n>            orkes.step, orkes.nodes
        └── node <name>     orkes.node, orkes.step, orkes.task_id, orkes.attempt, orkes.path
            ├── chat <model>    gen_ai.operation.name, gen_ai.provider.name, gen_ai.usage.*, …
            └── run <subgraph>  a run started inside the node, and so on down

While a node runs, its span is the current one, so that spans it opens itself
(``tracer.start_as_current_span(...)``) nest under it — in sync nodes, async nodes, and
nodes on the thread pool alike. A run started inside a span of yours nests under it.
An error ends its span with status ERROR and an ``exception`` event, redacted as a
tracer's traces are (:class:`~orkes.tracing.redact.Redact`).

This module imports ``opentelemetry`` only when an :class:`OpenTelemetry` is made, and
``import orkes.tracing`` never does.

Example:
    >>> from typing import TypedDict
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> from orkes import END, START, OrkesGraph
    >>> from orkes.tracing.otel import OpenTelemetry
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> class S(TypedDict):
    ...     text: str
    >>> graph = OrkesGraph(S).add_node("shout", lambda s: {"text": s["text"].upper()})
    >>> app = graph.add_edge(START, "shout").add_edge("shout", END).compile()
    >>> app.run({"text": "hi"}, tracer=OpenTelemetry(provider))
    {'text': 'HI'}
    >>> [span.name for span in exporter.get_finished_spans()]
    ['node shout', 'step 1', 'run']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orkes.errors import GraphDefinitionError
from orkes.tracing.redact import Redact
from orkes.tracing.tracer import Tracer

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from orkes.tracing._spans import RunSpans

__all__ = ["INSTALL", "OpenTelemetry"]

INSTALL = 'pip install "orkes[otel]"'
"""What installs what this module needs."""


class OpenTelemetry(Tracer):
    """A tracer that sends each run it is given to OpenTelemetry, as spans.

    It keeps no :class:`~orkes.tracing.trace.Trace` (:attr:`traces` stays empty): the
    spans go to the provider's span processors and exporters.

    Args:
        tracer_provider: makes the spans; ``None``: the global provider
            (``opentelemetry.trace.set_tracer_provider``), also one set later.
        redact: what to hide in the error messages and tracebacks put on spans
            (:class:`~orkes.tracing.redact.Redact`; its defaults when ``None``).

    Raises:
        GraphDefinitionError: ``opentelemetry-api`` is not installed (the message says
            ``pip install "orkes[otel]"``), or ``tracer_provider`` is not a provider.

    Example:
        ``runner = GraphRunner(app, tracer=OpenTelemetry())``
    """

    __slots__ = ("_otel_tracer", "tracer_provider")

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, redact: Redact | None = None
    ) -> None:
        trace = _opentelemetry_trace()
        if tracer_provider is not None and not isinstance(tracer_provider, trace.TracerProvider):
            raise GraphDefinitionError(
                f"OpenTelemetry(tracer_provider=...) takes an opentelemetry TracerProvider "
                f"(opentelemetry.sdk.trace.TracerProvider(), …) or None, got {tracer_provider!r}"
            )
        super().__init__(redact=redact, keep=None)
        from orkes import __version__

        self.tracer_provider = tracer_provider
        self._otel_tracer = trace.get_tracer("orkes", __version__, tracer_provider)

    def __repr__(self) -> str:
        return f"OpenTelemetry(tracer_provider={self.tracer_provider!r})"

    def _observe(self, graph: str | None, path: tuple[str, ...]) -> RunSpans:
        """The engine's hook: the spans of a run of ``graph`` at ``path``."""
        from orkes.tracing._spans import RunSpans

        return RunSpans(self._otel_tracer, self._cleaner, graph, path)


def _opentelemetry_trace() -> Any:
    """``opentelemetry.trace``, or the error that says which extra to install."""
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise GraphDefinitionError(
            f"OpenTelemetry needs the OpenTelemetry API, which is not installed: {INSTALL}"
        ) from exc
    return trace
