"""Every shipped HTTP connector refuses a malformed conversation before sending anything.

A role no service takes, a message without content, a string for the list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.errors import BadRequest
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.listener import listening
from tests.connectors.loopback import LoopbackServer
from tests.connectors.services import LoopbackService

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

ALLOWED = "'system', 'user', 'assistant', 'tool'"


def invoke(connector: HttpChatConnector, messages: list[OrkesMessageSchema]) -> object:
    return connector.invoke(messages)


def ainvoke(connector: HttpChatConnector, messages: list[OrkesMessageSchema]) -> object:
    return asyncio.run(connector.ainvoke(messages))


def stream(connector: HttpChatConnector, messages: list[OrkesMessageSchema]) -> object:
    with connector.stream(messages) as chunks:
        return list(chunks)


def astream(connector: HttpChatConnector, messages: list[OrkesMessageSchema]) -> object:
    async def read() -> list[str]:
        async with connector.astream(messages) as chunks:
            return [chunk async for chunk in chunks]

    return asyncio.run(read())


def invoke_while_tokens_are_streamed(
    connector: HttpChatConnector, messages: list[OrkesMessageSchema]
) -> object:
    with listening():
        return connector.invoke(messages)


CALLS = [invoke, ainvoke, stream, astream, invoke_while_tokens_are_streamed]


@pytest.mark.parametrize("call", CALLS, ids=[call.__name__ for call in CALLS])
@pytest.mark.parametrize(
    ("odd", "found"),
    [
        ({"role": "developer", "content": "Be terse."}, "has the role 'developer'"),
        ({"role": "function", "content": "42"}, "has the role 'function'"),
        ({"role": "User", "content": "Hi"}, "has the role 'User'"),
        ({"content": "Hi"}, "has no role"),
    ],
)
def test_a_message_with_an_unknown_role_is_refused_before_sending(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    call: Callable[[HttpChatConnector, list[OrkesMessageSchema]], object],
    odd: dict[str, Any],
    found: str,
) -> None:
    conversation: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        odd,
    ]
    loopback.enqueue(service.whole)
    with pytest.raises(BadRequest) as caught:
        call(on_service, conversation)
    assert str(caught.value) == f"message 2 {found}; a message's role is one of {ALLOWED}"
    assert caught.value.status is None  # no service answered: nothing was sent
    assert loopback.requests == []
    assert loopback.connections_opened == 0


@pytest.mark.parametrize("call", CALLS, ids=[call.__name__ for call in CALLS])
@pytest.mark.parametrize(
    ("conversation", "message"),
    [
        (
            "Hi",
            "messages must be a list of messages, such as [{'role': 'user', 'content': 'Hi'}], "
            "got str 'Hi'",
        ),
        (
            {"role": "user", "content": "Hi"},
            "messages must be a list of messages, such as [{'role': 'user', 'content': 'Hi'}], "
            "got dict {'role': 'user', 'content': 'Hi'}",
        ),
        (
            [("user", "Hi")],
            "message 0 is tuple ('user', 'Hi'); a message is a dict with a 'role' and a 'content'",
        ),
        (
            [{"role": "user", "content": "Hi"}, {"role": "user"}],
            "message 1 has no content; a message's content is a str ('' if none)",
        ),
        (
            [{"role": "user", "content": 42}],
            "message 0 has the content 42; a message's content is a str ('' if none)",
        ),
    ],
    ids=["str", "one-message", "tuple", "no-content", "int-content"],
)
def test_a_conversation_that_is_not_a_list_of_messages_is_refused_before_sending(
    service: LoopbackService,
    on_service: HttpChatConnector,
    loopback: LoopbackServer,
    call: Callable[[HttpChatConnector, Any], object],
    conversation: Any,
    message: str,
) -> None:
    loopback.enqueue(service.whole)
    with pytest.raises(BadRequest) as caught:
        call(on_service, conversation)
    assert str(caught.value) == message
    assert loopback.requests == []
