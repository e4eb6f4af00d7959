"""A tool-using agent: the model answers, its tool calls run, and the model goes on.

::

    START -> model -> (asks for tools? tools : END)
             tools -> model
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from typing_extensions import TypedDict

from orkes.connectors.tools import ToolSpec, as_tool_specs, run_tool_calls
from orkes.errors import GraphDefinitionError, ResponseFormatError, StepLimitExceeded
from orkes.graph.compiled import CompiledGraph
from orkes.graph.core import END, START, OrkesGraph
from orkes.graph.reducers import add_messages
from orkes.shared.schema import OrkesMessageSchema, ToolCallingLLMConnector

__all__ = ["AgentState", "tool_agent"]


class AgentState(TypedDict):
    """The conversation; every node appends to it through :func:`add_messages`."""

    messages: Annotated[list[OrkesMessageSchema], add_messages]


def tool_agent(
    connector: ToolCallingLLMConnector,
    tools: Iterable[Callable[..., Any] | ToolSpec],
    *,
    system_prompt: str | None = None,
    max_turns: int = 10,
    name: str = "tool_agent",
    interrupt_before: Iterable[Literal["model", "tools"]] = (),
    interrupt_after: Iterable[Literal["model", "tools"]] = (),
) -> CompiledGraph[AgentState]:
    """Build a graph that lets the model call ``tools`` until it answers in plain text.

    The ``model`` node sends the conversation (after ``system_prompt``, when given and the
    conversation has no system message of its own) with the tools on offer; when the reply
    asks for tools, the ``tools`` node runs every call (in parallel) and appends one
    ``tool`` message per call, and the model goes on. A tool that raises or gets bad
    arguments answers the model with the error instead of stopping the run.

    Args:
        connector: any connector whose ``invoke`` takes ``tools=`` (every shipped one).
        tools: plain functions or ``ToolSpec`` objects; their schemas are read once, here.
        system_prompt: instructions put first in every request.
        max_turns: how many times the model may be asked in one run; a model that still
            asks for tools after that many turns stops the run with ``StepLimitExceeded``
            (raised from the ``tools`` node, inside a ``NodeError``).
        name: the graph's name.
        interrupt_before: nodes before which a durable run pauses (a checkpointer and a
            ``thread_id``): ``["tools"]`` lets a person see, change or refuse the tool
            calls before they run. See ``OrkesGraph.compile``.
        interrupt_after: nodes after which a durable run pauses.

    Returns:
        A compiled graph over :class:`AgentState`: ``graph.run({"messages": [...]})``.

    Raises:
        GraphDefinitionError: ``connector`` has no ``invoke``, or one that takes no
            ``tools=``; ``max_turns`` is not a positive int.
        GraphValidationError: ``interrupt_before`` or ``interrupt_after`` names another
            node than ``"model"`` and ``"tools"``.
        ToolDefinitionError: a tool can't be described, or two share a name.

    Example:
        >>> from orkes import EchoLlmConnector
        >>> class Echo(EchoLlmConnector):  # a connector that takes tools=, and ignores them
        ...     def invoke(self, messages, *, tools=None):
        ...         return super().invoke(messages)
        >>> agent = tool_agent(Echo(), [])
        >>> agent.run({"messages": [{"role": "user", "content": "hi"}]})["messages"][-1]
        {'role': 'assistant', 'content': 'I echo: hi'}
    """
    if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
        raise GraphDefinitionError(f"max_turns must be a positive int, got {max_turns!r}")
    _check_connector(connector)
    specs = as_tool_specs(tools)
    system = [OrkesMessageSchema(role="system", content=system_prompt)] if system_prompt else []

    def model(state: AgentState) -> dict[str, list[OrkesMessageSchema]]:
        messages = state["messages"]
        if system and not any(message.get("role") == "system" for message in messages):
            messages = [*system, *messages]
        reply = connector.invoke(messages, tools=specs or None)
        if not isinstance(reply, Mapping) or reply.get("role") != "assistant":
            raise ResponseFormatError(
                f"the agent's connector {connector!r} answered {reply!r:.200}; a model turn "
                "is a message with role 'assistant' (its text in 'content', any tool calls "
                "in 'tool_calls')"
            )
        return {"messages": [reply]}

    def tools_node(state: AgentState) -> dict[str, list[OrkesMessageSchema]]:
        reply = state["messages"][-1]
        turns = _model_turns(state["messages"])
        if turns >= max_turns:
            asked = ", ".join(repr(call["name"]) for call in reply.get("tool_calls", []))
            raise StepLimitExceeded(
                f"the agent reached max_turns={max_turns}: after {turns} turns the model still "
                f"asks for tools {asked}; pass a larger max_turns= to tool_agent(...)",
                limit=max_turns,
                step=turns,
                node="tools",
            )
        return {"messages": run_tool_calls(reply, specs)}

    def asks_for_tools(state: AgentState) -> Literal["tools", "done"]:
        reply = state["messages"][-1]
        return "tools" if reply["role"] == "assistant" and reply.get("tool_calls") else "done"

    description = "the model calls tools until it answers in plain text"
    graph = OrkesGraph(AgentState, name=name, description=description)
    graph.add_node("model", model).add_node("tools", tools_node)
    graph.add_edge(START, "model").add_edge("tools", "model")
    graph.add_conditional_edge("model", asks_for_tools, {"tools": "tools", "done": END})
    return graph.compile(interrupt_before=interrupt_before, interrupt_after=interrupt_after)


def _check_connector(connector: object) -> None:
    """Refuse what has no ``invoke``, or an ``invoke`` that takes no ``tools=``."""
    invoke = getattr(connector, "invoke", None)
    if not callable(invoke):
        raise GraphDefinitionError(
            "tool_agent takes a connector, such as OpenAIConnector('gpt-4o-mini') or "
            f"AnthropicConnector('claude-haiku-4-5'), got {connector!r}"
        )
    try:
        parameters = inspect.signature(invoke).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the first call tell
        return
    if not any(p.name == "tools" or p.kind is p.VAR_KEYWORD for p in parameters):
        raise GraphDefinitionError(
            f"tool_agent needs a connector whose invoke takes tools=; the invoke of "
            f"{connector!r} does not: use one that offers tools to its model (every shipped "
            "HTTP connector does), or give yours a tools=None parameter"
        )


def _model_turns(messages: list[OrkesMessageSchema]) -> int:
    """How many assistant replies came since the last user message."""
    turns = 0
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        turns += message.get("role") == "assistant"
    return turns
