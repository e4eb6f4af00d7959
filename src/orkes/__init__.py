"""orkes: small, fast, fully typed orchestration of LLM applications as graphs.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> class State(TypedDict):
    ...     text: str
    >>> graph = OrkesGraph(State)
    >>> graph.add_node("shout", lambda state: {"text": state["text"].upper()})  # doctest: +ELLIPSIS
    <OrkesGraph over State: 1 nodes, 0 edges>
    >>> graph.add_edge(START, "shout").add_edge("shout", END).compile().run({"text": "hi"})
    {'text': 'HI'}
"""

from typing import TYPE_CHECKING, Any

from orkes import errors, events
from orkes.connectors.echo import EchoLlmConnector
from orkes.graph._sentinels import END, START
from orkes.graph.compiled import CompiledGraph
from orkes.graph.context import RunContext
from orkes.graph.core import OrkesGraph
from orkes.graph.policies import CachePolicy, RetryPolicy
from orkes.graph.reducers import add_messages
from orkes.graph.routing import Command, Send
from orkes.graph.runner import GraphRunner
from orkes.graph.stream import AsyncRunStream, RunStream
from orkes.shared.schema import LLMConnector, OrkesMessageSchema, ToolCall

if TYPE_CHECKING:
    from orkes.graph.results import RunResult, Snapshot
    from orkes.tracing import Tracer

__version__ = "0.2.0"

__all__ = [
    "END",
    "START",
    "AsyncRunStream",
    "CachePolicy",
    "Command",
    "CompiledGraph",
    "EchoLlmConnector",
    "GraphRunner",
    "LLMConnector",
    "OrkesGraph",
    "OrkesMessageSchema",
    "RetryPolicy",
    "RunContext",
    "RunResult",
    "RunStream",
    "Send",
    "Snapshot",
    "ToolCall",
    "Tracer",
    "__version__",
    "add_messages",
    "errors",
    "events",
]


def __getattr__(name: str) -> Any:
    # RunResult and Snapshot load with the first durable run, Tracer with the first traced
    # one: not with ``import orkes``.
    if name in ("RunResult", "Snapshot"):
        from orkes.graph import results

        return getattr(results, name)
    if name == "Tracer":
        from orkes.tracing import Tracer

        return Tracer
    raise AttributeError(f"module 'orkes' has no attribute {name!r}")
