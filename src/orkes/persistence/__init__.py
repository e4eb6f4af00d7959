"""Durable runs: where threads are kept, and how their values are stored.

``GraphRunner(compiled, checkpointer=SqliteCheckpointer("runs.db"))`` keeps every run
given a ``thread_id``; see the docs page "Memory and threads". The back-ends and the
serializer load when first named (``import orkes`` loads neither ``sqlite3`` nor them).

Example:
    >>> from orkes.persistence import MemoryCheckpointer
    >>> MemoryCheckpointer()
    MemoryCheckpointer(0 threads)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orkes.persistence.base import Checkpoint, Checkpointer, PendingWrite
    from orkes.persistence.memory import MemoryCheckpointer
    from orkes.persistence.postgres import PostgresCheckpointer
    from orkes.persistence.serde import register
    from orkes.persistence.sqlite import SqliteCheckpointer

__all__ = [
    "Checkpoint",
    "Checkpointer",
    "MemoryCheckpointer",
    "PendingWrite",
    "PostgresCheckpointer",
    "SqliteCheckpointer",
    "register",
]

_HOMES = {
    "Checkpoint": "base",
    "Checkpointer": "base",
    "PendingWrite": "base",
    "MemoryCheckpointer": "memory",
    "SqliteCheckpointer": "sqlite",
    "PostgresCheckpointer": "postgres",
    "register": "serde",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'orkes.persistence' has no attribute {name!r}")
    return getattr(importlib.import_module(f"orkes.persistence.{home}"), name)
