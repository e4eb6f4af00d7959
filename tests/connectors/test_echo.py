"""EchoLlmConnector: the reference connector, exactly as the seed page describes it."""

from __future__ import annotations

import copy

import pytest

from orkes import EchoLlmConnector, OrkesMessageSchema


def message(role: str, content: str) -> OrkesMessageSchema:
    return {"role": role, "content": content}  # type: ignore[typeddict-item]


def test_echoes_the_user_message() -> None:
    reply = EchoLlmConnector().invoke([OrkesMessageSchema(role="user", content="Hello, Orkes!")])
    assert reply == {"role": "assistant", "content": "I echo: Hello, Orkes!"}
    assert type(reply) is dict


def test_echoes_the_last_user_message() -> None:
    conversation = [
        message("system", "Be brief."),
        message("user", "first"),
        message("assistant", "I echo: first"),
        message("user", "second"),
        message("assistant", "something after"),
        message("tool", "a tool result"),
    ]
    before = copy.deepcopy(conversation)
    assert EchoLlmConnector().invoke(conversation) == {
        "role": "assistant",
        "content": "I echo: second",
    }
    assert conversation == before


@pytest.mark.parametrize(
    "conversation",
    [[], [message("system", "Be brief.")], [message("assistant", "hi"), message("tool", "x")]],
)
def test_nothing_to_echo(conversation: list[OrkesMessageSchema]) -> None:
    assert EchoLlmConnector().invoke(conversation) == {
        "role": "assistant",
        "content": "I have nothing to echo.",
    }


def test_an_empty_user_message_is_still_echoed() -> None:
    assert EchoLlmConnector().invoke([message("user", "")]) == {
        "role": "assistant",
        "content": "I echo: ",
    }


def test_the_api_key_defaults_to_empty() -> None:
    assert EchoLlmConnector().api_key == ""
    assert EchoLlmConnector("dummy_key").api_key == "dummy_key"
    assert EchoLlmConnector(api_key="dummy_key").api_key == "dummy_key"


def test_the_key_never_shows_in_repr_or_str() -> None:
    connector = EchoLlmConnector(api_key="sk-very-secret")
    for shown in (repr(connector), str(connector), f"{connector}", f"{connector!r}"):
        assert "sk-very-secret" not in shown
    assert repr(connector) == "EchoLlmConnector(api_key='***')"
    assert repr(EchoLlmConnector()) == "EchoLlmConnector(api_key='')"


def test_the_key_never_shows_in_the_reply() -> None:
    reply = EchoLlmConnector(api_key="sk-very-secret").invoke([message("user", "hi")])
    assert "sk-very-secret" not in repr(reply)


def test_a_connector_is_reusable() -> None:
    connector = EchoLlmConnector()
    assert [connector.invoke([message("user", str(n))])["content"] for n in range(3)] == [
        "I echo: 0",
        "I echo: 1",
        "I echo: 2",
    ]
