"""A checkpointer wrapper that notes every call the engine makes on a store."""

from __future__ import annotations

import inspect
from typing import Any

from orkes.persistence.base import Checkpointer

__all__ = ["Spy"]

SYNC = ("put", "get", "list", "put_writes", "get_writes", "delete_thread", "prune")


class Spy:
    """Passes every call on to ``inner``; ``calls`` notes them, as ``"put"``,
    ``"aput_writes once:charge"`` (a write's kind follows the method's name)."""

    def __init__(self, inner: Checkpointer) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in SYNC and name.removeprefix("a") not in SYNC:
            return method

        def note(args: tuple[Any, ...]) -> None:
            kind = getattr(args[-1], "kind", None) if args else None
            self.calls.append(name if kind is None else f"{name} {kind}")

        if inspect.iscoroutinefunction(method):

            async def noted_async(*args: Any, **kwargs: Any) -> Any:
                note(args)
                return await method(*args, **kwargs)

            return noted_async

        def noted(*args: Any, **kwargs: Any) -> Any:
            note(args)
            return method(*args, **kwargs)

        return noted

    def blocking(self) -> list[str]:
        """The sync calls among ``calls``: each one blocked an event loop if made there."""
        return [call for call in self.calls if call.split()[0] in SYNC]

    def count(self, name: str) -> int:
        """How many calls of ``name`` (with any write kind) were made."""
        return sum(call.split()[0] == name for call in self.calls)
