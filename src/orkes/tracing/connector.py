"""``traced(connector)``: a connector of your own, its calls recorded in traced runs.

The shipped connectors (OpenAI, Anthropic, Gemini, echo) record their calls themselves.
Any other :class:`~orkes.shared.schema.LLMConnector` records them once wrapped: made
inside a node of a run that a tracer records, each ``invoke`` (and ``ainvoke``,
``stream``, ``astream``, where the connector has them) becomes an
:class:`~orkes.tracing.records.LLMCall` of that node's record — messages, reply, tool
calls, token usage (``reply["metadata"]["usage"]``), latency, model. Outside such a run
the wrapper only calls through. Strings the connector holds under secret-sounding names
(``api_key``, ``token``) are redacted from the whole trace.

Example:
    >>> from orkes.shared.schema import OrkesMessageSchema
    >>> from orkes.tracing import traced
    >>> class Shout:
    ...     model = "shout-1"
    ...     def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
    ...         return {"role": "assistant", "content": messages[-1]["content"].upper()}
    >>> llm = traced(Shout())
    >>> llm.invoke([{"role": "user", "content": "hi"}])
    {'role': 'assistant', 'content': 'HI'}
    >>> llm.model
    'shout-1'
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from orkes._observe import CallRecorder, llm_call_recorder, one_call
from orkes.errors import GraphDefinitionError
from orkes.shared.schema import LLMConnector, OrkesMessageSchema

__all__ = ["Traced", "traced"]

ConnectorT = TypeVar("ConnectorT", bound=LLMConnector)


def traced(connector: ConnectorT) -> Traced[ConnectorT]:
    """Wrap ``connector`` so that traced runs record its calls (see the module's docs).

    Raises:
        GraphDefinitionError: ``connector`` has no ``invoke`` method.
    """
    if not callable(getattr(connector, "invoke", None)):
        raise GraphDefinitionError(
            f"traced() takes an LLM connector (an object with invoke(messages) -> message), "
            f"got {connector!r}"
        )
    return Traced(connector)


class Traced(Generic[ConnectorT]):
    """A connector whose calls traced runs record; any other attribute is the connector's.

    ``ainvoke``, ``stream`` and ``astream`` exist when the wrapped connector has them.

    Attributes:
        wrapped: the connector itself.
    """

    __slots__ = ("wrapped",)

    def __init__(self, connector: ConnectorT) -> None:
        # traced(traced(c)) is traced(c): one wrapper, one record per call.
        inner: Any = connector.wrapped if isinstance(connector, Traced) else connector
        self.wrapped: ConnectorT = inner

    def __repr__(self) -> str:
        return f"traced({self.wrapped!r})"

    def invoke(self, messages: list[OrkesMessageSchema], **kwargs: Any) -> OrkesMessageSchema:
        """The wrapped ``invoke``, recorded when a traced run makes the call."""
        call = _recorder(self.wrapped, messages, kwargs)
        if call is None:
            return self.wrapped.invoke(messages, **kwargs)
        try:
            with one_call():
                reply = self.wrapped.invoke(messages, **kwargs)
        except BaseException as error:
            call.failed(error)
            raise
        call.replied(reply)
        return reply

    def __getattr__(self, name: str) -> Any:
        if name == "wrapped":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        found = getattr(self.wrapped, name)
        if name == "ainvoke":
            return functools.partial(_ainvoke, self.wrapped)
        if name == "stream":
            return functools.partial(_stream, self.wrapped)
        if name == "astream":
            return functools.partial(_astream, self.wrapped)
        return found


def _recorder(
    connector: object, messages: Sequence[Mapping[str, Any]], kwargs: Mapping[str, Any]
) -> CallRecorder | None:
    """A recorder of this call, told what is sent; ``None`` when nobody records it."""
    if getattr(connector, "records_llm_calls", False):  # a shipped one: it records itself
        return None
    call = llm_call_recorder(connector)
    if call is not None:
        params = {key: value for key, value in kwargs.items() if key != "tools"}
        call.sent(messages, params=params, tools=_tool_names(kwargs.get("tools")))
    return call


def _tool_names(tools: Iterable[Any] | None) -> list[str]:
    return [str(getattr(t, "name", None) or getattr(t, "__name__", t)) for t in tools or ()]


async def _ainvoke(
    connector: Any, messages: list[OrkesMessageSchema], **kwargs: Any
) -> OrkesMessageSchema:
    call = _recorder(connector, messages, kwargs)
    if call is None:
        reply: OrkesMessageSchema = await connector.ainvoke(messages, **kwargs)
        return reply
    try:
        with one_call():
            reply = await connector.ainvoke(messages, **kwargs)
    except BaseException as error:
        call.failed(error)
        raise
    call.replied(reply)
    return reply


def _stream(connector: Any, messages: list[OrkesMessageSchema], **kwargs: Any) -> Iterator[str]:
    call = _recorder(connector, messages, kwargs)
    chunks: list[str] = []
    try:
        for chunk in connector.stream(messages, **kwargs):
            chunks.append(chunk)
            yield chunk
    except BaseException as error:  # GeneratorExit too: the reader stopped early
        if call is not None:
            call.failed(error)
        raise
    if call is not None:
        call.replied({"role": "assistant", "content": "".join(chunks)})


async def _astream(
    connector: Any, messages: list[OrkesMessageSchema], **kwargs: Any
) -> AsyncIterator[str]:
    call = _recorder(connector, messages, kwargs)
    chunks: list[str] = []
    try:
        async for chunk in connector.astream(messages, **kwargs):
            chunks.append(chunk)
            yield chunk
    except BaseException as error:
        if call is not None:
            call.failed(error)
        raise
    if call is not None:
        call.replied({"role": "assistant", "content": "".join(chunks)})
