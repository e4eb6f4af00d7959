"""The hook of :mod:`orkes.testing`: the recording or the replay in force, and its helpers.

``orkes.testing.record()`` and ``replay()`` put a :class:`Tape` in :data:`current_tape`
for the block they open; every run started inside it copies the variable into its
threads and tasks. A connector reads the variable once per call (``None``: nothing to
do) and, when a tape is there, describes the call to it (:class:`CallRequest`) and gets
a :class:`Take`: the recorded reply (replaying), or nothing (recording: make the call
and tell the take the reply). :func:`answer` and :func:`aanswer` do the rest for a call
that returns a whole message. Nothing here imports ``orkes.testing``: a program that
never records nor replays never loads it.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from orkes.shared.schema import OrkesMessageSchema

__all__ = [
    "CallRequest",
    "Take",
    "Tape",
    "aanswer",
    "answer",
    "chunks_of",
    "current_tape",
    "untaped",
]

# Splits before each word that follows a space: the pieces join back to the text.
_WORD_START = re.compile(r"(?<=\s)(?=\S)")


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One LLM call as a tape compares it: what the connector sends, not how.

    Attributes:
        connector: the connector making the call (its class names it in a recording).
        messages: the conversation sent.
        model: the model asked for, where the connector says.
        params: the call's parameters (defaults and per-call ones merged).
        tools: the names of the tools offered.
        schemas: the tools as the model sees them (name, description, parameters),
            where the connector builds them; ``None`` otherwise.
        secrets: strings that must never be written (the connector's API key).
    """

    connector: object
    messages: Sequence[Mapping[str, Any]]
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tools: Sequence[str] = ()
    schemas: Sequence[Mapping[str, Any]] | None = None
    secrets: Sequence[str] = ()


class Take(Protocol):
    """A tape's answer to one call."""

    @property
    def reply(self) -> OrkesMessageSchema | None:
        """Replaying: a fresh copy of the recorded reply. Recording: ``None``."""
        ...

    def replied(self, message: Mapping[str, Any]) -> None:
        """Recording: the call ended with ``message``; keep it."""
        ...


class Tape(Protocol):
    """What ``record()`` or ``replay()`` puts in :data:`current_tape`."""

    @property
    def replaying(self) -> bool:
        """Whether calls are answered from the tape (else they go out and are kept)."""
        ...

    def take(self, request: CallRequest) -> Take:
        """The tape's answer to ``request``, made now by the code running here.

        Raises:
            orkes.testing.ReplayMismatch: replaying, and the call is not the one recorded.
        """
        ...


current_tape: contextvars.ContextVar[Tape | None] = contextvars.ContextVar(
    "orkes_tape", default=None
)
"""The recording or replay in force here, if any."""


def chunks_of(message: Mapping[str, Any]) -> list[str]:
    """The text of a replayed reply in the pieces it streams in: one per word."""
    content = message.get("content")
    if not isinstance(content, str) or not content:
        return []
    return _WORD_START.split(content)


@contextmanager
def untaped() -> Iterator[None]:
    """Inside the block no tape is in force: a call being recorded is recorded once."""
    token = current_tape.set(None)
    try:
        yield
    finally:
        current_tape.reset(token)


def answer(
    take: Take,
    live: Callable[[], OrkesMessageSchema],
    publish: Callable[[str], None] | None,
) -> OrkesMessageSchema:
    """The reply to a call a tape saw: recorded (its text published), or ``live()``'s, kept."""
    reply = take.reply
    if reply is not None:
        return _replayed(reply, publish)
    with untaped():  # a connector that calls another: the outer call is the one kept
        reply = live()
    take.replied(reply)
    return reply


async def aanswer(
    take: Take,
    live: Callable[[], Awaitable[OrkesMessageSchema]],
    publish: Callable[[str], None] | None,
) -> OrkesMessageSchema:
    """:func:`answer` for a call that is awaited."""
    reply = take.reply
    if reply is not None:
        return _replayed(reply, publish)
    with untaped():
        reply = await live()
    take.replied(reply)
    return reply


def _replayed(
    reply: OrkesMessageSchema, publish: Callable[[str], None] | None
) -> OrkesMessageSchema:
    """A recorded reply, its text published as a live one's would be while a run streams."""
    if publish is not None:
        for chunk in chunks_of(reply):
            publish(chunk)
    return reply
