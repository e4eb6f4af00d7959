"""The reference connector: it echoes the last user message, needs no network and no key."""

from __future__ import annotations

import re
from typing import ClassVar

from orkes._cassette import CallRequest, answer, current_tape
from orkes._observe import llm_call_recorder
from orkes.connectors._chat.checks import check_messages
from orkes.connectors._chat.recording import recorded
from orkes.events import token_publisher
from orkes.shared.schema import OrkesMessageSchema

__all__ = ["EchoLlmConnector"]

# Splits before each word that follows a space: the pieces join back to the text.
_WORD_START = re.compile(r"(?<=\s)(?=\S)")


class EchoLlmConnector:
    """Answers ``"I echo: <last user message>"``, or ``"I have nothing to echo."``.

    While a graph run streams ``"messages"`` from the node that calls it, the reply is
    also published word by word (:func:`orkes.events.token_publisher`), as a model's
    tokens would be; the message returned is the same. While a tracer records that run,
    each call is recorded (its key redacted), as a model's would be.

    Example:
        >>> EchoLlmConnector().invoke([{"role": "user", "content": "Hi"}])
        {'role': 'assistant', 'content': 'I echo: Hi'}
    """

    __slots__ = ("api_key",)

    records_llm_calls: ClassVar[bool] = True
    """Its calls made in a traced run are recorded without ``orkes.tracing.traced()``."""

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={'***' if self.api_key else ''!r})"

    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        """Return an assistant message echoing the last ``user`` message.

        Inside ``orkes.testing.record()`` the call is recorded; inside ``replay()`` the
        recording answers it.

        Raises:
            BadRequest: ``messages`` is not a list of messages with a role and a content.
        """
        messages = check_messages(messages)
        call = llm_call_recorder(self)
        if call is not None:
            call.sent(messages, model="echo", secrets=(self.api_key,))
        tape = current_tape.get()
        if tape is None:
            return recorded(call, lambda: _echo(messages))
        request = CallRequest(self, messages, model="echo", secrets=(self.api_key,))
        publish = token_publisher() if tape.replaying else None
        return recorded(call, lambda: answer(tape.take(request), lambda: _echo(messages), publish))


def _echo(messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
    last_user_message = next((m for m in reversed(messages) if m["role"] == "user"), None)
    if last_user_message is None:
        content = "I have nothing to echo."
    else:
        content = "I echo: " + last_user_message["content"]
    publish = token_publisher()
    if publish is not None:
        for word in _WORD_START.split(content):
            publish(word)
    return OrkesMessageSchema(role="assistant", content=content)
