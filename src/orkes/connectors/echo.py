"""The reference connector: it echoes the last user message, needs no network and no key."""

from __future__ import annotations

from orkes.shared.schema import OrkesMessageSchema

__all__ = ["EchoLlmConnector"]


class EchoLlmConnector:
    """Answers ``"I echo: <last user message>"``, or ``"I have nothing to echo."``.

    Example:
        >>> EchoLlmConnector().invoke([{"role": "user", "content": "Hi"}])
        {'role': 'assistant', 'content': 'I echo: Hi'}
    """

    __slots__ = ("api_key",)

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={'***' if self.api_key else ''!r})"

    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        """Return an assistant message echoing the last ``user`` message."""
        last_user_message = next((m for m in reversed(messages) if m["role"] == "user"), None)
        if last_user_message is None:
            return OrkesMessageSchema(role="assistant", content="I have nothing to echo.")
        return OrkesMessageSchema(
            role="assistant", content="I echo: " + last_user_message["content"]
        )
