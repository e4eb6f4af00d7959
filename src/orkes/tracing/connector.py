"""``traced(connector)``: a connector of your own, its calls recorded in traced runs.

The shipped connectors (OpenAI, Anthropic, Gemini, echo) record their calls themselves.
Any other :class:`~orkes.shared.schema.LLMConnector` records them once wrapped: made
inside a node of a run that a tracer records, each ``invoke`` (and ``ainvoke``,
``stream``, ``astream``, where the connector has them) becomes an
:class:`~orkes.tracing.records.LLMCall` of that node's record — messages, reply, tool
calls, token usage (``reply["metadata"]["usage"]``), latency, model. Outside such a run
the wrapper only calls through. Strings the connector holds under secret-sounding names
(``api_key``, ``token``) are redacted from the whole trace. Inside
``orkes.testing.record()`` its calls are recorded too, and inside ``replay()`` the
recording answers them.

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
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Generic, TypeVar

from orkes._cassette import CallRequest, Tape, aanswer, answer, chunks_of, current_tape, untaped
from orkes._observe import CallRecorder, llm_call_recorder, one_call
from orkes.errors import GraphDefinitionError
from orkes.events import token_publisher
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
        make = _taped(self.wrapped, messages, kwargs)
        if call is None:
            return make()
        try:
            with one_call():
                reply = make()
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
    make = _ataped(connector, messages, kwargs)
    if call is None:
        return await make()
    try:
        with one_call():
            reply = await make()
    except BaseException as error:
        call.failed(error)
        raise
    call.replied(reply)
    return reply


def _stream(connector: Any, messages: list[OrkesMessageSchema], **kwargs: Any) -> Iterator[str]:
    call = _recorder(connector, messages, kwargs)
    chunks: list[str] = []
    try:
        for chunk in _taped_chunks(connector, messages, kwargs):
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
        async for chunk in _ataped_chunks(connector, messages, kwargs):
            chunks.append(chunk)
            yield chunk
    except BaseException as error:
        if call is not None:
            call.failed(error)
        raise
    if call is not None:
        call.replied({"role": "assistant", "content": "".join(chunks)})


# --- under orkes.testing.record() / replay() ---------------------------------------------


def _tape_request(
    connector: Any, messages: Sequence[Mapping[str, Any]], kwargs: Mapping[str, Any]
) -> tuple[Tape, CallRequest] | None:
    """The tape in force and the call as it compares it.

    ``None`` when no tape is in force, or for a shipped connector: it meets the tape itself.
    """
    tape = current_tape.get()
    if tape is None or getattr(connector, "records_llm_calls", False):
        return None
    model = getattr(connector, "model", None)
    request = CallRequest(
        connector,
        messages,
        model=model if isinstance(model, str) else None,
        params={key: value for key, value in kwargs.items() if key != "tools"},
        tools=_tool_names(kwargs.get("tools")),
    )
    return tape, request


def _taped(
    connector: Any, messages: list[OrkesMessageSchema], kwargs: Mapping[str, Any]
) -> Callable[[], OrkesMessageSchema]:
    """What makes the call: the connector's ``invoke``, or the tape in force."""

    def live() -> OrkesMessageSchema:
        reply: OrkesMessageSchema = connector.invoke(messages, **kwargs)
        return reply

    taped = _tape_request(connector, messages, kwargs)
    if taped is None:
        return live
    tape, request = taped
    publish = token_publisher() if tape.replaying else None
    return lambda: answer(tape.take(request), live, publish)


def _ataped(
    connector: Any, messages: list[OrkesMessageSchema], kwargs: Mapping[str, Any]
) -> Callable[[], Awaitable[OrkesMessageSchema]]:
    """:func:`_taped` for ``ainvoke``."""

    async def live() -> OrkesMessageSchema:
        reply: OrkesMessageSchema = await connector.ainvoke(messages, **kwargs)
        return reply

    taped = _tape_request(connector, messages, kwargs)
    if taped is None:
        return live
    tape, request = taped
    publish = token_publisher() if tape.replaying else None
    return lambda: aanswer(tape.take(request), live, publish)


def _taped_chunks(
    connector: Any, messages: list[OrkesMessageSchema], kwargs: Mapping[str, Any]
) -> Iterator[str]:
    """The connector's ``stream``, or the recorded text; recording, its reply is kept."""
    taped = _tape_request(connector, messages, kwargs)
    if taped is None:
        yield from connector.stream(messages, **kwargs)
        return
    tape, request = taped
    take = tape.take(request)
    reply = take.reply
    if reply is not None:
        yield from chunks_of(reply)
        return
    pieces: list[str] = []
    with untaped():
        chunks = iter(connector.stream(messages, **kwargs))
    while True:
        with untaped():  # each read: the connector may call others while it streams
            chunk = next(chunks, None)
        if chunk is None:
            break
        pieces.append(chunk)
        yield chunk
    take.replied({"role": "assistant", "content": "".join(pieces)})


async def _ataped_chunks(
    connector: Any, messages: list[OrkesMessageSchema], kwargs: Mapping[str, Any]
) -> AsyncIterator[str]:
    """:func:`_taped_chunks` for ``astream``."""
    taped = _tape_request(connector, messages, kwargs)
    if taped is None:
        async for chunk in connector.astream(messages, **kwargs):
            yield chunk
        return
    tape, request = taped
    take = tape.take(request)
    reply = take.reply
    if reply is not None:
        for chunk in chunks_of(reply):
            yield chunk
        return
    pieces: list[str] = []
    with untaped():
        chunks = connector.astream(messages, **kwargs).__aiter__()
    while True:
        try:
            with untaped():
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            break
        pieces.append(chunk)
        yield chunk
    take.replied({"role": "assistant", "content": "".join(pieces)})
