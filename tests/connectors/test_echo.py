"""EchoLlmConnector: the reference connector, exactly as the seed page describes it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orkes import EchoLlmConnector, OrkesMessageSchema
from orkes.errors import BadRequest
from tests.connectors.listener import NODE, listening


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


@pytest.mark.parametrize(
    ("conversation", "message"),
    [
        (
            "Hello",
            "messages must be a list of messages, such as [{'role': 'user', 'content': 'Hi'}], "
            "got str 'Hello'",
        ),
        ([{"content": "Hello"}], "message 0 has no role; a message's role is one of "),
        ([{"role": "user"}], "message 0 has no content; a message's content is a str"),
    ],
)
def test_what_is_not_a_conversation_is_refused_by_name(conversation: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        EchoLlmConnector().invoke(conversation)
    assert str(caught.value).startswith(message)


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


@pytest.mark.parametrize(
    ("conversation", "words"),
    [
        ([message("user", "Hello, Orkes!")], ["I ", "echo: ", "Hello, ", "Orkes!"]),
        ([message("user", "  two  spaces ")], ["I ", "echo:   ", "two  ", "spaces "]),
        ([message("user", "")], ["I ", "echo: "]),
        ([], ["I ", "have ", "nothing ", "to ", "echo."]),
    ],
)
def test_while_a_run_streams_messages_the_reply_is_published_word_by_word(
    conversation: list[OrkesMessageSchema], words: list[str]
) -> None:
    connector = EchoLlmConnector()
    with listening() as listener:
        reply = connector.invoke(conversation)
    assert reply == connector.invoke(conversation)  # the same message as without a listener
    tokens = listener.tokens
    assert [token.text for token in tokens] == words
    assert "".join(words) == reply["content"]
    assert len({token.message_id for token in tokens}) == 1
    assert {token.node for token in tokens} == {NODE}


def test_each_call_publishes_under_its_own_message_id() -> None:
    connector = EchoLlmConnector()
    with listening() as listener:
        connector.invoke([message("user", "one")])
        connector.invoke([message("user", "two")])
    ids = [token.message_id for token in listener.tokens]
    assert ids == [ids[0]] * 3 + [ids[-1]] * 3
    assert ids[0] != ids[-1]


def test_nothing_is_published_for_a_node_that_wants_no_tokens() -> None:
    with listening(tokens=False) as listener:
        reply = EchoLlmConnector().invoke([message("user", "Hi")])
    assert reply == {"role": "assistant", "content": "I echo: Hi"}
    assert listener.events == []
