"""Fixtures of the record and replay tests: both drivers, a fake service, a refusing one.

Every graph scenario takes ``driver``, so it runs once through ``runner.run(state)`` and
once through ``asyncio.run(runner.arun(state))`` — the same two drivers as the runner
tests (``tests/graph/conftest.py``), whose fixture lives in that folder only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.fakes import DRIVERS, Driver, FakeOpenAI


@pytest.fixture(params=list(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each scenario runs once with ``run`` and once with ``arun``."""
    name: str = request.param
    return DRIVERS[name]


@pytest.fixture
def service() -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible service in process, answering ``"You asked: <question>"``."""
    fake = FakeOpenAI()
    yield fake
    fake.transport.close()


@pytest.fixture
def tape_file(tmp_path: Path) -> Path:
    """Where a test writes its recording."""
    return tmp_path / "recordings" / "quiz.json"
