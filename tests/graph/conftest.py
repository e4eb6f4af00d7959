"""Fixtures shared by the runner tests: one suite, two drivers (sync and async).

Every runner scenario takes the ``driver`` fixture, so it runs once through
``runner.run(state)`` and once through ``asyncio.run(runner.arun(state))``. The fixture is
session-scoped (a driver holds no state), which also lets Hypothesis tests use it.

Test modules import :class:`Driver` under ``TYPE_CHECKING`` only: with
``--import-mode=importlib`` a conftest is not importable at run time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, cast

import pytest

from orkes import GraphRunner

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class Driver(Protocol):
    """Runs ``runner`` on ``state`` to the end and returns the final state.

    ``state`` is any mapping, not ``StateT``: the result's type comes from the runner
    alone (mypy cannot solve ``StateT`` from a runner and a dict literal at once), and
    tests may hand in wrong input on purpose. ``tests/typing`` checks ``run``'s own types.
    """

    def __call__(
        self,
        runner: GraphRunner[StateT],
        state: Mapping[str, Any],
        /,
        *,
        max_steps: int | None = None,
    ) -> StateT: ...


def run_sync(
    runner: GraphRunner[StateT], state: Mapping[str, Any], /, *, max_steps: int | None = None
) -> StateT:
    return runner.run(cast(StateT, state), max_steps=max_steps)


def run_async(
    runner: GraphRunner[StateT], state: Mapping[str, Any], /, *, max_steps: int | None = None
) -> StateT:
    return asyncio.run(runner.arun(cast(StateT, state), max_steps=max_steps))


DRIVERS: dict[str, Driver] = {"sync": run_sync, "async": run_async}


@pytest.fixture(scope="session", params=list(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each runner scenario runs once with ``run`` and once with ``arun``."""
    name: str = request.param
    return DRIVERS[name]


@pytest.fixture(scope="session")
def drivers() -> Mapping[str, Driver]:
    """Both drivers at once, for tests that compare them."""
    return DRIVERS
