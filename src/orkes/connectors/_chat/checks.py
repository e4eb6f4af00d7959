"""What a connector checks before anything is sent: its model and key, and the messages.

Each failure is a :class:`~orkes.errors.ConnectorError` (``BadRequest`` for messages)
that names the culprit and says what would be right; an API key's value is never shown.

Example:
    >>> check_messages([{"role": "user", "content": "Hi"}])
    [{'role': 'user', 'content': 'Hi'}]
    >>> check_messages("Hi")
    Traceback (most recent call last):
    ...
    orkes.errors.BadRequest: messages must be a list of messages, such as ...
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import get_args

from orkes.connectors._secrets import Secret
from orkes.errors import BadRequest, ConnectorError
from orkes.shared.schema import OrkesMessageSchema, Role

__all__ = ["ROLES", "check_messages", "checked_model", "secret_key"]

ROLES: tuple[str, ...] = get_args(Role)
"""The roles a message may have (``system``, ``user``, ``assistant``, ``tool``); any other
is refused before a request is sent."""


def check_messages(messages: Iterable[OrkesMessageSchema]) -> list[OrkesMessageSchema]:
    """``messages`` as a list, once each is known to have a known role and a content.

    Raises:
        BadRequest: not a list of messages, or naming the message that is wrong and how.
    """
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise BadRequest(
            "messages must be a list of messages, such as [{'role': 'user', 'content': "
            f"'Hi'}}], got {type(messages).__name__} {messages!r:.80}"
        )
    conversation = list(messages)
    for index, message in enumerate(conversation):
        if not isinstance(message, Mapping):
            raise BadRequest(
                f"message {index} is {type(message).__name__} {message!r:.80}; a message is a "
                "dict with a 'role' and a 'content'"
            )
        role = message.get("role")
        if role not in ROLES:
            allowed = ", ".join(map(repr, ROLES))
            found = "has no role" if role is None else f"has the role {role!r}"
            raise BadRequest(f"message {index} {found}; a message's role is one of {allowed}")
        content = message.get("content", ...)
        if content is not None and not isinstance(content, str):
            found = "has no content" if content is ... else f"has the content {content!r:.80}"
            raise BadRequest(f"message {index} {found}; a message's content is a str ('' if none)")
    return conversation


def checked_model(model: object) -> str:
    """``model`` if it is a model's name; else a ``ConnectorError`` saying what is."""
    if not isinstance(model, str) or not model.strip():
        raise ConnectorError(
            f"model must be the model's name, a non-empty str such as 'gpt-4o-mini', got {model!r}"
        )
    return model


def secret_key(api_key: object, env: Iterable[str]) -> Secret | None:
    """The key to send: ``api_key``, else the first of ``env`` that is set; ``None``: no key.

    Raises:
        ConnectorError: ``api_key`` is not a str (its value is not shown).
    """
    if api_key is None:
        api_key = next(filter(None, map(os.environ.get, env)), None)
    elif not isinstance(api_key, str):
        kind = type(api_key).__name__
        raise ConnectorError(f"api_key must be a str (None: read from the environment), got {kind}")
    return Secret(api_key.strip()) if api_key and api_key.strip() else None
