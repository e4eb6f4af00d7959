"""The back-ends every persistence test runs on: ``checkpointer`` is each in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orkes.persistence import MemoryCheckpointer, SqliteCheckpointer
from orkes.persistence.base import Checkpointer

BACKENDS = ["memory", "sqlite-file", "sqlite-memory"]


@pytest.fixture(params=BACKENDS)
def checkpointer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Checkpointer]:
    """A fresh, empty store of each kind."""
    store: Checkpointer
    if request.param == "memory":
        store = MemoryCheckpointer()
    elif request.param == "sqlite-file":
        store = SqliteCheckpointer(tmp_path / "threads.db")
    else:
        store = SqliteCheckpointer(":memory:")
    yield store
    store.close()
