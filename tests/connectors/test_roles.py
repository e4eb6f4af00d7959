"""Every shipped HTTP connector refuses a role no service takes, before sending anything."""

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
