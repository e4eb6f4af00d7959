"""Recording one LLM call: what a connector sent, each retry, and how the call ended.

A connector asks :func:`orkes._observe.llm_call_recorder` for a recorder at the start of
a call; inside a traced task it gets a :class:`CallRecording`, which cleans what it is
told at once (after learning the connector's API key, so that the key is redacted from
the request's headers and from the rest of the trace) and, when the call ends, hands one
:class:`~orkes.tracing.records.LLMCall` to the task's record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from orkes.tracing._clean import Cleaner
from orkes.tracing.records import ErrorRecord, LLMCall

__all__ = ["CallRecording", "secrets_of"]


class CallRecording:
    """One LLM call being recorded (an :class:`orkes._observe.CallRecorder`)."""

    __slots__ = (
        "_cleaner",
        "_connector",
        "_done",
        "_endpoint",
        "_headers",
        "_messages",
        "_model",
        "_params",
        "_retries",
        "_sink",
        "_started",
        "_tools",
    )

    def __init__(self, cleaner: Cleaner, connector: object, sink: Callable[[LLMCall], None]):
        self._cleaner = cleaner
        self._connector = type(connector).__name__
        self._sink = sink
        self._started = time.time()
        self._done = False
        self._retries = 0
        self._model: str | None = getattr(connector, "model", None)
        if not isinstance(self._model, str):
            self._model = None
        self._messages: list[Any] = []
        self._params: dict[str, Any] = {}
        self._tools: tuple[str, ...] = ()
        self._endpoint: str | None = None
        self._headers: dict[str, Any] = {}
        cleaner.learn(secrets_of(connector, cleaner))

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
        """Note the request (cleaned now: later changes to the messages do not show)."""
        cleaner = self._cleaner
        cleaner.learn(secrets)
        self._started = time.time()
        cleaned = cleaner.value(list(messages))
        self._messages = cleaned if isinstance(cleaned, list) else [cleaned]
        if model is not None:
            self._model = model
        self._params = cleaner.mapping(params or {})
        self._tools = tuple(map(str, tools))
        self._endpoint = None if endpoint is None else cleaner.text(endpoint)
        self._headers = cleaner.mapping(headers or {})

    def retried(self) -> None:
        """Count one more retry of the request."""
        self._retries += 1

    def replied(self, message: Mapping[str, Any]) -> None:
        """The call ended with ``message``."""
        self._end(self._cleaner.mapping(message), None)

    def failed(self, error: BaseException) -> None:
        """The call ended with ``error``."""
        self._end(None, self._cleaner.error(error))

    def _end(self, reply: dict[str, Any] | None, error: ErrorRecord | None) -> None:
        if self._done:  # a stream closed after its end, say: the call is recorded once
            return
        self._done = True
        self._sink(
            LLMCall(
                connector=self._connector,
                model=self._model,
                messages=self._messages,
                reply=reply,
                started=self._started,
                ended=time.time(),
                retries=self._retries,
                error=error,
                params=self._params,
                tools=self._tools,
                endpoint=self._endpoint,
                headers=self._headers,
            )
        )


def secrets_of(connector: object, cleaner: Cleaner) -> list[str]:
    """The strings a connector holds under names that say secret (``api_key``, ``token``)."""
    found: list[str] = []
    for name, value in _attributes(connector):
        if isinstance(value, str) and cleaner.hides(name.lstrip("_")):
            found.append(value)
    return found


def _attributes(connector: object) -> Iterator[tuple[str, object]]:
    yield from getattr(connector, "__dict__", {}).items()
    for kind in type(connector).__mro__:
        for name in kind.__dict__.get("__slots__", ()):
            if isinstance(name, str) and hasattr(connector, name):
                yield name, getattr(connector, name, None)
