"""Messages, tool calls and the connector Protocol that every LLM service speaks to.

``OrkesMessageSchema`` is a ``TypedDict``: calling it builds a plain ``dict``.

Example:
    >>> from orkes.shared.schema import OrkesMessageSchema
    >>> OrkesMessageSchema(role="user", content="Hi")
    {'role': 'user', 'content': 'Hi'}
"""

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal, Protocol, runtime_checkable

from typing_extensions import NotRequired, TypedDict

__all__ = [
    "AsyncLLMConnector",
    "AsyncStreamingLLMConnector",
    "LLMConnector",
    "OrkesMessageSchema",
    "Role",
    "StreamingLLMConnector",
    "ToolCall",
    "ToolCallingLLMConnector",
]

Role = Literal["system", "user", "assistant", "tool"]
"""Who wrote a message."""


class ToolCall(TypedDict):
    """A model's request to call one tool.

    Example:
        >>> ToolCall(id="call_1", name="add", arguments={"a": 1, "b": 2})
        {'id': 'call_1', 'name': 'add', 'arguments': {'a': 1, 'b': 2}}
    """

    id: str
    name: str
    arguments: dict[str, Any]


class OrkesMessageSchema(TypedDict):
    """One chat message, as every connector takes and returns it.

    ``role`` and ``content`` are required; ``name``, ``id``, ``tool_calls`` (what an
    assistant asks to run) and ``tool_call_id`` (which call a ``tool`` message answers)
    are optional. ``metadata`` holds what a service reports beside the text, such as
    token usage (``{"usage": {"input_tokens": 12, "output_tokens": 3}}``).
    """

    role: Role
    content: str
    name: NotRequired[str]
    id: NotRequired[str]
    tool_calls: NotRequired[list[ToolCall]]
    tool_call_id: NotRequired[str]
    metadata: NotRequired[dict[str, Any]]


@runtime_checkable
class LLMConnector(Protocol):
    """Anything with ``invoke(messages) -> message`` is a connector: nothing to inherit.

    Example:
        >>> class Shout:
        ...     def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        ...         text = messages[-1]["content"].upper()
        ...         return OrkesMessageSchema(role="assistant", content=text)
        >>> isinstance(Shout(), LLMConnector)
        True
    """

    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        """Send the conversation to the model and return its reply."""
        ...


@runtime_checkable
class AsyncLLMConnector(Protocol):
    """A connector that can also be awaited: ``await connector.ainvoke(messages)``."""

    async def ainvoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        """Send the conversation to the model without blocking the event loop."""
        ...


@runtime_checkable
class StreamingLLMConnector(Protocol):
    """A connector that yields the reply's text as it arrives.

    Example:
        >>> from collections.abc import Iterator
        >>> class Words:
        ...     def stream(self, messages: list[OrkesMessageSchema]) -> Iterator[str]:
        ...         yield from messages[-1]["content"].split()
        >>> isinstance(Words(), StreamingLLMConnector)
        True
    """

    def stream(self, messages: list[OrkesMessageSchema]) -> Iterator[str]:
        """Yield chunks of the reply's text in order."""
        ...


@runtime_checkable
class AsyncStreamingLLMConnector(Protocol):
    """A connector that yields the reply's text asynchronously: ``async for chunk in ...``."""

    def astream(self, messages: list[OrkesMessageSchema]) -> AsyncIterator[str]:
        """Yield chunks of the reply's text in order, without blocking the event loop."""
        ...


@runtime_checkable
class ToolCallingLLMConnector(Protocol):
    """A connector that offers tools to the model: ``invoke(messages, tools=[...])``.

    ``tools`` holds plain functions or ``ToolSpec`` objects; the model's requests to call them
    come back in the reply's ``tool_calls``. Every shipped HTTP connector is one.
    """

    def invoke(
        self, messages: list[OrkesMessageSchema], *, tools: Iterable[Any] | None = None
    ) -> OrkesMessageSchema:
        """Send the conversation, offering ``tools``, and return the model's reply."""
        ...
