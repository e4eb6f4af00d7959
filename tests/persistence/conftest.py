"""The back-ends every persistence test runs on: ``checkpointer`` is each in turn.

PostgreSQL is a real server on loopback, started once per session
(``postgres_server.py``); each test gets a fresh database. Without PostgreSQL
installed, its cases are skipped with the reason — except under ``CI=1`` (``.ci/run``
sets it and installs the server), where failing to start it is an error.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orkes.persistence import MemoryCheckpointer, SqliteCheckpointer
from orkes.persistence.base import Checkpointer

if TYPE_CHECKING:
    from orkes.persistence.postgres import PostgresCheckpointer

BACKENDS = ["memory", "sqlite-file", "sqlite-memory", "postgres"]
_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of the session's PostgreSQL server (started here, stopped at the end)."""
    import importlib.util
    import sys

    path = Path(__file__).with_name("postgres_server.py")
    spec = importlib.util.spec_from_file_location("orkes_test_postgres_server", path)
    assert spec is not None
    assert spec.loader is not None
    server = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = server
    spec.loader.exec_module(server)
    try:
        dsn, stop = server.start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server could be started here: {exc}")
    yield dsn
    stop()


@pytest.fixture(params=BACKENDS)
def checkpointer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Checkpointer]:
    """A fresh, empty store of each kind."""
    store: Checkpointer
    if request.param == "memory":
        store = MemoryCheckpointer()
    elif request.param == "sqlite-file":
        store = SqliteCheckpointer(tmp_path / "threads.db")
    elif request.param == "sqlite-memory":
        store = SqliteCheckpointer(":memory:")
    else:
        store = fresh_postgres(request.getfixturevalue("postgres_dsn"))
    yield store
    store.close()


def fresh_postgres(dsn: str) -> PostgresCheckpointer:
    """A ``PostgresCheckpointer`` on a new, empty database of the server at ``dsn``."""
    import psycopg

    name = f"orkes_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    from orkes.persistence.postgres import PostgresCheckpointer

    return PostgresCheckpointer(dsn.replace("dbname=postgres", f"dbname={name}"), max_connections=4)
