"""Fixtures of the tracing tests: both drivers, a tracer, a loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orkes.tracing import Tracer
from tests.connectors.loopback import LoopbackServer, RecordingSleep
from tests.tracing.drivers import DRIVERS, Driver


@pytest.fixture(params=list(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each scenario runs once through the sync API and once through the async one."""
    name: str = request.param
    return DRIVERS[name]


@pytest.fixture
def tracer() -> Tracer:
    """A tracer that keeps its traces in memory."""
    return Tracer()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A scripted HTTP server on 127.0.0.1, closed after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    """Retries wait on this: it records the delays and returns at once."""
    return RecordingSleep()
