"""The shared body of every HTTP connector; a provider module describes only its wire format.

A provider subclasses :class:`HttpChatConnector`, sets :attr:`~HttpChatConnector.service`
and writes three methods:

* ``_build_request(messages, tools, params, stream=...)`` → :class:`HttpRequest`: path,
  JSON body and headers (authentication included) for a whole or a streamed reply;
* ``_parse_response(body)`` → the assistant message, from the decoded JSON answer;
* ``_new_stream_decoder()`` → a :class:`~orkes.connectors._chat.reply.StreamDecoder` that reads
  the streamed events.

It may also set :attr:`~HttpChatConnector.api_key_env` (where a missing key is looked
up) and :attr:`~HttpChatConnector.official_host` (any other host is named
``"<service>-compatible server"`` in messages).

The base gives it ``invoke``, ``ainvoke``, ``stream`` and ``astream``, the merge of default
and per-call parameters, the check of the messages' roles, tool conversion, retries and
timeouts (through :class:`~orkes.connectors.transport.client.HttpClient`), and keeps the API key out
of ``repr`` and out of every error message: those of the transport, and those the provider
raises while it reads an answer or an event (which may quote a key the service echoed
back). While a graph run streams ``"messages"`` from the node that calls ``invoke`` or
``ainvoke`` (:func:`orkes.events.token_publisher`), the reply is streamed under the hood:
each chunk of text is published as it arrives, and the call still returns the whole
message. A ``stream`` or ``astream`` made in such a node publishes each chunk as it is
read; either way one publisher serves the call, so no chunk is published twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from orkes._observe import CallRecorder, llm_call_recorder
from orkes.connectors._chat.checks import ROLES, check_messages, checked_model, secret_key
from orkes.connectors._chat.recording import arecorded, ending, recorded
from orkes.connectors._chat.reply import StreamDecoder
from orkes.connectors._chat.stream import (
    AsyncMessageStream,
    MessageStream,
    _StreamCore,
    acollect,
    collect,
)
from orkes.connectors._chat.taped import taped_ainvoke, taped_astream, taped_invoke, taped_stream
from orkes.connectors._closing import Closing
from orkes.connectors._secrets import without_secrets
from orkes.connectors._threads import in_thread
from orkes.connectors.transport.client import HttpClient, HttpRequest
from orkes.connectors.transport.protocol import Transport
from orkes.connectors.transport.status import service_message_from_body
from orkes.errors import ConnectorError, ResponseFormatError
from orkes.events import token_publisher
from orkes.shared.schema import OrkesMessageSchema

if TYPE_CHECKING:
    from orkes.connectors.tools import ToolSpec

__all__ = ["ROLES", "HttpChatConnector", "ToolDescription"]


class ToolDescription(Protocol):
    """What a provider reads of a tool: the fields of :class:`orkes.connectors.tools.ToolSpec`."""

    @property
    def name(self) -> str:
        """The tool's name, as the model will call it."""
        ...

    @property
    def description(self) -> str:
        """What the tool does, for the model."""
        ...

    @property
    def parameters(self) -> dict[str, Any]:
        """A JSON Schema object describing the arguments."""
        ...


def _tool_descriptions(tools: Iterable[Callable[..., Any] | ToolSpec] | None) -> list[ToolSpec]:
    if not tools:
        return []
    # Imported here so that a connector used without tools never loads the tool machinery.
    from orkes.connectors.tools import as_tool_specs

    return as_tool_specs(tools)


class HttpChatConnector(Closing, ABC):
    """Base of the connectors that speak an LLM service's HTTP API.

    Args:
        model: the model name sent with every request (a call may override it).
        base_url: the service's API root.
        api_key: sent by the provider's ``_build_request``; never shown or logged. When
            ``None``, the first of :attr:`api_key_env` that is set and not empty.
        timeout: seconds to wait to connect, and for each read of the answer.
        max_retries: retries of connection failures and of 408, 429 and 5xx answers (or
            whatever the service's ``x-should-retry`` header says).
        default_params: parameters sent with every call; per-call ``**params`` win.
        sleep: the function that waits between retries (tests pass a recorder).
        transport: how requests reach the service (:mod:`orkes.connectors.transport`):
            a :class:`~orkes.connectors.transport.StdlibTransport` of the connector's own
            when ``None``. One may serve many connectors; it is the caller's to close.
    """

    service: str = "the service"
    """A short name for the service in messages (``"OpenAI"``); set before ``__init__``."""

    api_key_env: ClassVar[tuple[str, ...]] = ()
    """The environment variables that hold the key when ``api_key=None``, in order."""

    official_host: ClassVar[str | None] = None
    """The service's own host; at any other, :attr:`service` gets ``"-compatible server"``."""

    records_llm_calls: ClassVar[bool] = True
    """Its calls made in a traced run are recorded without ``orkes.tracing.traced()``."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        default_params: Mapping[str, Any],
        sleep: Callable[[float], None] | None = None,
        transport: Transport | None = None,
    ) -> None:
        if (
            self.official_host is not None
            and urlsplit(str(base_url)).hostname != self.official_host
        ):
            self.service = f"{self.service}-compatible server"
        self.model = checked_model(model)
        self.base_url = base_url
        self.default_params = dict(default_params)
        self._secret_key = secret_key(api_key, self.api_key_env)
        self._http = HttpClient(
            base_url,
            service=self.service,
            timeout=timeout,
            max_retries=max_retries,
            sleep=sleep or time.sleep,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def timeout(self) -> float:
        """Seconds to wait to connect, and for each read of the answer."""
        return self._http.timeout

    @property
    def transport(self) -> Transport:
        """How the connector's requests reach the service."""
        return self._http.transport

    @property
    def max_retries(self) -> int:
        """Retries of connection failures and of 408, 429 and 5xx answers."""
        return self._http.max_retries

    @property
    def has_api_key(self) -> bool:
        """Whether a key will be sent (the key itself is never shown)."""
        return self._secret_key is not None

    @property
    def _api_key(self) -> str | None:
        """The key itself, for ``_build_request`` only."""
        return self._secret_key.value if self._secret_key is not None else None

    def close(self) -> None:
        """Close the kept-alive connections of its own transport; it stays usable."""
        self._http.close()

    @taped_invoke
    def invoke(
        self,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Callable[..., Any] | ToolSpec] | None = None,
        **params: Any,
    ) -> OrkesMessageSchema:
        """Send the conversation and return the assistant's reply.

        Args:
            messages: the conversation so far.
            tools: functions or tool specs the model may call; its calls come back in
                ``reply["tool_calls"]``.
            **params: service parameters for this call (``temperature=0``, …).

        While a graph run streams ``"messages"`` from the node making this call, the
        request streams: each chunk of text is published as a ``Token`` as it arrives,
        and the reply returned is the same whole message. A tracer records the call
        (``orkes.tracing``); inside ``orkes.testing.replay()`` a recording answers it.

        Raises:
            BadRequest: a message's role is not one of :data:`ROLES` (nothing is sent),
                or the service refused the request.
            ConnectorError: the subclass that says what went wrong.
        """
        publish = token_publisher()
        call = llm_call_recorder(self)
        if publish is not None:
            return recorded(
                call, lambda: collect(self._stream_core(messages, tools, params, call), publish)
            )
        return recorded(call, lambda: self._invoke(messages, tools, params, call=call))

    def _invoke(
        self,
        messages: Sequence[OrkesMessageSchema],
        tools: Iterable[Callable[..., Any] | ToolSpec] | None,
        params: Mapping[str, Any],
        given_up: threading.Event | None = None,
        call: CallRecorder | None = None,
    ) -> OrkesMessageSchema:
        request = self._request(messages, tools, params, stream=False, call=call)
        body = self._http.request_json(request, stop=given_up)
        try:
            return self._parse_response(body)
        except ConnectorError as error:
            failure = without_secrets(error, request.secrets)
        raise failure  # outside the except block: the unredacted error is not its context

    @taped_ainvoke
    async def ainvoke(
        self,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Callable[..., Any] | ToolSpec] | None = None,
        **params: Any,
    ) -> OrkesMessageSchema:
        """Like :meth:`invoke`, in a worker thread: the event loop keeps running.

        Cancelling the await stops the retries (even mid-wait), but does not recall a
        request already sent: its answer, when it comes, is dropped. Tokens are published
        as with :meth:`invoke`, from the event loop's thread.
        """
        publish = token_publisher()
        call = llm_call_recorder(self)
        if publish is not None:
            return await arecorded(
                call, lambda: acollect(self._stream_core(messages, tools, params, call), publish)
            )
        given_up = threading.Event()
        try:
            return await arecorded(
                call, lambda: in_thread(self._invoke, messages, tools, params, given_up, call)
            )
        except asyncio.CancelledError:
            given_up.set()
            raise

    @taped_stream
    def stream(
        self,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Callable[..., Any] | ToolSpec] | None = None,
        **params: Any,
    ) -> MessageStream:
        """Stream the reply: iterate for text chunks, then read ``.message``.

        The request goes out when the first chunk is asked for. Use ``with`` to close the
        connection should you stop early. While a graph run streams ``"messages"`` from
        the node making this call, each chunk is also published as a ``Token`` when it is
        read.
        """
        return MessageStream(self._traced_core(messages, tools, params), token_publisher())

    @taped_astream
    def astream(
        self,
        messages: Sequence[OrkesMessageSchema],
        *,
        tools: Iterable[Callable[..., Any] | ToolSpec] | None = None,
        **params: Any,
    ) -> AsyncMessageStream:
        """Stream the reply asynchronously: ``async for`` chunks, then read ``.message``.

        Tokens are published as with :meth:`stream`, from the event loop's thread.
        """
        core = self._traced_core(messages, tools, params)
        return AsyncMessageStream(core, token_publisher())

    def _traced_core(
        self,
        messages: Sequence[OrkesMessageSchema],
        tools: Iterable[Callable[..., Any] | ToolSpec] | None,
        params: Mapping[str, Any],
    ) -> _StreamCore:
        """A stream's core; in a traced run, the call is recorded when the stream ends."""
        call = llm_call_recorder(self)
        if call is None:
            return self._stream_core(messages, tools, params)
        done = ending(call)
        try:
            return self._stream_core(messages, tools, params, call, done)
        except BaseException as error:
            done(None, error)
            raise

    def _stream_core(
        self,
        messages: Sequence[OrkesMessageSchema],
        tools: Iterable[Callable[..., Any] | ToolSpec] | None,
        params: Mapping[str, Any],
        call: CallRecorder | None = None,
        on_end: Callable[[OrkesMessageSchema | None, BaseException | None], None] | None = None,
    ) -> _StreamCore:
        request = self._request(messages, tools, params, stream=True, call=call)
        return _StreamCore(
            lambda given_up: self._http.open_event_stream(request, stop=given_up),
            self._new_stream_decoder(),
            request.secrets,
            on_end,
        )

    def _request(
        self,
        messages: Sequence[OrkesMessageSchema],
        tools: Iterable[Callable[..., Any] | ToolSpec] | None,
        params: Mapping[str, Any],
        *,
        stream: bool,
        call: CallRecorder | None = None,
    ) -> HttpRequest:
        conversation = check_messages(messages)
        merged_params = {**self.default_params, **params}
        descriptions = _tool_descriptions(tools)
        request = self._build_request(conversation, descriptions, merged_params, stream=stream)
        if self._api_key is not None:
            request = dataclasses.replace(request, secrets=(*request.secrets, self._api_key))
        if call is None:
            return request
        call.sent(
            conversation,
            model=str(request.body.get("model", self.model)),
            params=merged_params,
            tools=[tool.name for tool in descriptions],
            endpoint=f"{self.base_url.rstrip('/')}/{request.path.lstrip('/')}",
            headers=request.headers,
            secrets=request.secrets,
        )
        return dataclasses.replace(request, on_retry=call.retried)

    def _answered_without(self, what: str, body: object) -> ResponseFormatError:
        """The error for a 2xx answer that lacks ``what``: it quotes the service's message."""
        found = service_message_from_body(json.dumps(body).encode()) or repr(body)[:200]
        return ResponseFormatError(f"{self.service} answered without {what}: {found}")

    @abstractmethod
    def _build_request(
        self,
        messages: list[OrkesMessageSchema],
        tools: Sequence[ToolDescription],
        params: dict[str, Any],
        *,
        stream: bool,
    ) -> HttpRequest:
        """Path, JSON body and headers for one call (``params``: defaults and per-call)."""

    @abstractmethod
    def _parse_response(self, body: Any) -> OrkesMessageSchema:
        """The assistant message from a whole (not streamed) JSON answer.

        Raises:
            ResponseFormatError: the answer is not in the documented shape.
        """

    @abstractmethod
    def _new_stream_decoder(self) -> StreamDecoder:
        """A fresh decoder for the events of one streamed reply."""
