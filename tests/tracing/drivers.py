"""One tracing suite, two drivers: every scenario runs through the sync and the async API.

A :class:`Driver` runs a graph (``run`` / ``arun``), a durable run (``invoke`` /
``ainvoke``) and a resume (``resume`` / ``aresume``), each with a tracer; the
``driver`` fixture in ``conftest.py`` gives each in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from orkes import GraphRunner
from orkes.graph.results import RunResult
from orkes.tracing import Tracer


class Driver(Protocol):
    """Runs graphs one way: with ``run``/``invoke``/``resume``, or their ``a``-twins."""

    name: str

    def run(self, runner: GraphRunner[Any], state: Mapping[str, Any], tracer: Tracer) -> Any:
        """Run to the end; the final state."""
        ...

    def invoke(
        self, runner: GraphRunner[Any], state: Mapping[str, Any] | None, tracer: Tracer, thread: str
    ) -> RunResult[Any]:
        """A durable run of ``thread``; how it ended."""
        ...

    def resume(
        self, runner: GraphRunner[Any], thread: str, answer: object, tracer: Tracer
    ) -> RunResult[Any]:
        """Answer the thread's pause and go on."""
        ...


class SyncDriver:
    """``run``, ``invoke``, ``resume``."""

    name = "sync"

    def run(self, runner: GraphRunner[Any], state: Mapping[str, Any], tracer: Tracer) -> Any:
        return runner.run(state, tracer=tracer)

    def invoke(
        self, runner: GraphRunner[Any], state: Mapping[str, Any] | None, tracer: Tracer, thread: str
    ) -> RunResult[Any]:
        return runner.invoke(state, thread_id=thread, tracer=tracer)

    def resume(
        self, runner: GraphRunner[Any], thread: str, answer: object, tracer: Tracer
    ) -> RunResult[Any]:
        return runner.resume(thread, answer, tracer=tracer)


class AsyncDriver:
    """``arun``, ``ainvoke``, ``aresume``, each in ``asyncio.run``."""

    name = "async"

    def run(self, runner: GraphRunner[Any], state: Mapping[str, Any], tracer: Tracer) -> Any:
        return asyncio.run(runner.arun(state, tracer=tracer))

    def invoke(
        self, runner: GraphRunner[Any], state: Mapping[str, Any] | None, tracer: Tracer, thread: str
    ) -> RunResult[Any]:
        return asyncio.run(runner.ainvoke(state, thread_id=thread, tracer=tracer))

    def resume(
        self, runner: GraphRunner[Any], thread: str, answer: object, tracer: Tracer
    ) -> RunResult[Any]:
        return asyncio.run(runner.aresume(thread, answer, tracer=tracer))


DRIVERS: dict[str, Driver] = {"sync": SyncDriver(), "async": AsyncDriver()}
