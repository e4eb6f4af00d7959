"""The HTTP connectors under ``orkes.testing.record()`` and ``replay()``.

Each call method of :class:`~orkes.connectors._chat.connector.HttpChatConnector` is
wrapped by one of these decorators. With no tape in force (:data:`orkes._cassette.
current_tape` is ``None``) the method runs as written: the wrapper costs one
``ContextVar`` read. Under a tape the call is described first — the request is built as
for the wire (so the messages' roles are checked and a tracer learns what is sent), and
its conversation, model, merged parameters and tools are what the tape compares:

* recording, the call goes out as ever and the tape keeps the reply;
* replaying, nothing is sent: the reply is the recorded one. ``invoke`` returns it and
  publishes its text while a run streams ``"messages"``; ``stream`` and ``astream``
  yield its text a word at a time and end with it as ``.message``. A tracer records the
  replayed call as it would a live one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from orkes._cassette import CallRequest, Take, Tape, aanswer, answer, chunks_of, current_tape
from orkes._observe import CallRecorder, llm_call_recorder
from orkes.connectors._chat.recording import ending, recorded
from orkes.connectors._chat.reply import StreamDecoder
from orkes.connectors._chat.stream import AsyncMessageStream, MessageStream, _StreamCore
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.events import token_publisher
from orkes.shared.schema import OrkesMessageSchema

if TYPE_CHECKING:
    from orkes.connectors._chat.connector import HttpChatConnector
    from orkes.connectors.tools import ToolSpec

__all__ = ["taped_ainvoke", "taped_astream", "taped_invoke", "taped_stream"]

_Method = TypeVar("_Method", bound=Callable[..., Any])


def taped_invoke(method: _Method) -> _Method:
    """``invoke``, recorded or replayed under a tape."""

    @functools.wraps(method)
    def invoke(
        self: HttpChatConnector,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Any] | None = None,
        **params: Any,
    ) -> OrkesMessageSchema:
        tape = current_tape.get()
        if tape is None:
            return cast(OrkesMessageSchema, method(self, messages, tools=tools, **params))
        specs = _specs(tools)
        if tape.replaying:
            return _replay(self, tape, messages, specs, params)
        take = tape.take(_described(self, messages, specs, params, stream=False))
        return answer(take, lambda: method(self, messages, tools=specs, **params), None)

    return cast(_Method, invoke)


def taped_ainvoke(method: _Method) -> _Method:
    """``ainvoke``, recorded or replayed under a tape (a replay waits for nothing)."""

    @functools.wraps(method)
    async def ainvoke(
        self: HttpChatConnector,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Any] | None = None,
        **params: Any,
    ) -> OrkesMessageSchema:
        tape = current_tape.get()
        if tape is None:
            return cast(OrkesMessageSchema, await method(self, messages, tools=tools, **params))
        specs = _specs(tools)
        if tape.replaying:
            return _replay(self, tape, messages, specs, params)
        take = tape.take(_described(self, messages, specs, params, stream=False))
        return await aanswer(take, lambda: method(self, messages, tools=specs, **params), None)

    return cast(_Method, ainvoke)


def _taped_streaming(
    face: type[MessageStream] | type[AsyncMessageStream],
) -> Callable[[_Method], _Method]:
    """The decorator of a method that returns ``face`` (``stream``: sync, ``astream``: async)."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def open_stream(
            self: HttpChatConnector,
            messages: Sequence[OrkesMessageSchema],
            *,
            tools: Iterable[Any] | None = None,
            **params: Any,
        ) -> MessageStream | AsyncMessageStream:
            tape = current_tape.get()
            if tape is None:
                return cast(MessageStream, method(self, messages, tools=tools, **params))
            core = _taped_core(self, tape, messages, _specs(tools), params)
            return face(core, token_publisher())

        return cast(_Method, open_stream)

    return decorate


taped_stream = _taped_streaming(MessageStream)
"""``stream``, recorded or replayed under a tape."""

taped_astream = _taped_streaming(AsyncMessageStream)
"""``astream``, recorded or replayed under a tape."""


def _specs(tools: Iterable[Any] | None) -> list[ToolSpec]:
    """The tools as specs, once: the call is described, then made, with the same list."""
    if not tools:
        return []
    from orkes.connectors.tools import as_tool_specs

    return as_tool_specs(tools)


class _Capture:
    """A :class:`~orkes._observe.CallRecorder` that keeps what is sent; passes all on."""

    __slots__ = ("forward", "sent_with")

    def __init__(self, forward: CallRecorder | None) -> None:
        self.forward = forward
        self.sent_with: dict[str, Any] = {}

    def sent(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        tools: Sequence[str] = (),
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.sent_with = {
            "messages": messages,
            "model": model,
            "params": dict(params or {}),
            "tools": tuple(tools),
            "secrets": tuple(secrets),
        }
        if self.forward is not None:
            self.forward.sent(
                messages,
                model=model,
                params=params,
                tools=tools,
                endpoint=endpoint,
                headers=headers,
                secrets=secrets,
            )

    def retried(self) -> None:
        if self.forward is not None:
            self.forward.retried()

    def replied(self, message: Mapping[str, Any]) -> None:
        if self.forward is not None:
            self.forward.replied(message)

    def failed(self, error: BaseException) -> None:
        if self.forward is not None:
            self.forward.failed(error)


def _described(
    connector: HttpChatConnector,
    messages: Sequence[OrkesMessageSchema],
    specs: list[ToolSpec],
    params: Mapping[str, Any],
    *,
    stream: bool,
    forward: CallRecorder | None = None,
) -> CallRequest:
    """The call as a tape compares it, from the request built as for the wire.

    ``forward`` (a tracer's recorder) is told what is sent, as by a live call.
    """
    capture = _Capture(forward)
    connector._request(messages, specs, params, stream=stream, call=capture)
    sent = capture.sent_with
    schemas = [
        {"name": spec.name, "description": spec.description, "parameters": spec.parameters}
        for spec in specs
    ]
    return CallRequest(
        connector,
        sent["messages"],
        model=sent["model"],
        params=sent["params"],
        tools=sent["tools"],
        schemas=schemas or None,
        secrets=sent["secrets"],
    )


def _replay(
    connector: HttpChatConnector,
    tape: Tape,
    messages: Sequence[OrkesMessageSchema],
    specs: list[ToolSpec],
    params: Mapping[str, Any],
) -> OrkesMessageSchema:
    """A whole reply from the tape; a tracer records the call as a live one."""
    publish = token_publisher()
    call = llm_call_recorder(connector)
    request = _described(connector, messages, specs, params, stream=False, forward=call)
    return recorded(call, lambda: answer(tape.take(request), _not_live, publish))


def _taped_core(
    connector: HttpChatConnector,
    tape: Tape,
    messages: Sequence[OrkesMessageSchema],
    specs: list[ToolSpec],
    params: Mapping[str, Any],
) -> _StreamCore:
    """A stream's core: live and kept (recording), or reading the recorded reply."""
    if not tape.replaying:
        take = tape.take(_described(connector, messages, specs, params, stream=True))
        core = connector._traced_core(messages, specs, params)
        _keep_at_end(core, take)
        return core
    call = llm_call_recorder(connector)
    request = _described(connector, messages, specs, params, stream=True, forward=call)
    done = None if call is None else ending(call)
    try:
        reply = tape.take(request).reply
    except BaseException as error:
        if done is not None:
            done(None, error)
        raise
    assert reply is not None  # a replaying tape answers every call it does not refuse
    pieces = chunks_of(reply)
    return _StreamCore(
        lambda given_up: _Recorded(pieces), _RecordedDecoder(connector.service, reply), (), done
    )


def _keep_at_end(core: _StreamCore, take: Take) -> None:
    """When the live stream ends with a message, the tape keeps it (then the tracer)."""
    inner = core._on_end

    def ended(message: OrkesMessageSchema | None, error: BaseException | None) -> None:
        if message is not None:
            take.replied(message)
        if inner is not None:
            inner(message, error)

    core._on_end = ended


def _not_live() -> OrkesMessageSchema:  # pragma: no cover - a replaying tape answers
    raise AssertionError("a replayed call is never made")


class _Recorded:
    """The events of a replayed stream: one per piece of the recorded text."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self._pieces = list(pieces)

    @property
    def where(self) -> str:
        return "the recording"

    def __iter__(self) -> Iterator[ServerSentEvent]:
        return self

    def __next__(self) -> ServerSentEvent:
        if not self._pieces:
            raise StopIteration
        return ServerSentEvent(self._pieces.pop(0))

    def finish(self) -> None:
        self._pieces.clear()

    def close(self) -> None:
        self._pieces.clear()


class _RecordedDecoder(StreamDecoder):
    """Reads a replayed stream: each event is a piece of text; the message is the recorded."""

    def __init__(self, service: str, reply: OrkesMessageSchema) -> None:
        super().__init__(service)
        self._reply = reply
        self._left = len(chunks_of(reply))
        self.done = self._left == 0

    def feed(self, event: ServerSentEvent) -> list[str]:
        self._left -= 1
        self.done = self._left <= 0
        return [event.data]

    def is_complete(self) -> bool:
        return True

    def message(self) -> OrkesMessageSchema:
        return self._reply
