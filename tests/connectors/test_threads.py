from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from orkes._threads import LazyPool
from orkes.connectors import _threads
from orkes.connectors._threads import MAX_IO_THREADS, in_thread, io_pool, start_in_thread
from orkes.connectors.tools import arun_tool_calls
from orkes.shared.schema import OrkesMessageSchema

REQUEST_ID = contextvars.ContextVar("REQUEST_ID", default="none")


def test_in_thread_runs_in_the_io_pool_and_sees_the_callers_context() -> None:
    def where_and_what(suffix: str, *, twice: bool) -> tuple[str, str]:
        value = REQUEST_ID.get() + suffix
        return threading.current_thread().name, value * 2 if twice else value

    async def main() -> tuple[str, str]:
        REQUEST_ID.set("r-1")
        return await in_thread(where_and_what, "!", twice=False)

    name, value = asyncio.run(main())
    assert name.startswith("orkes-io")
    assert value == "r-1!"


def test_start_in_thread_gives_a_future_with_the_result() -> None:
    assert start_in_thread(sum, [1, 2, 3]).result(timeout=5) == 6


def test_one_pool_for_the_process_sized_for_io() -> None:
    assert io_pool() is io_pool()
    assert MAX_IO_THREADS == 64
    assert io_pool()._max_workers == MAX_IO_THREADS


def test_threads_that_race_to_make_the_pool_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_POOL", LazyPool(_threads.MAX_IO_THREADS, "orkes-io"))
    start = threading.Barrier(8)

    def make() -> ThreadPoolExecutor:
        start.wait()
        return io_pool()

    with ThreadPoolExecutor(8) as racers:
        pools = set(racers.map(lambda _: make(), range(8)))
    assert len(pools) == 1
    pools.pop().shutdown()


def test_blocking_calls_wait_side_by_side_beyond_the_default_executor() -> None:
    async def main() -> float:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
        started = time.monotonic()
        await asyncio.gather(*(in_thread(time.sleep, 0.3) for _ in range(48)))
        return time.monotonic() - started

    assert asyncio.run(main()) < 0.9


def test_sync_tools_of_arun_tool_calls_run_in_the_io_pool() -> None:
    def wait(seconds: float) -> str:
        time.sleep(seconds)
        return threading.current_thread().name

    calls = 24
    reply: OrkesMessageSchema = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": f"call_{n}", "name": "wait", "arguments": {"seconds": 0.5}} for n in range(calls)
        ],
    }

    async def main() -> tuple[list[OrkesMessageSchema], float]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))
        started = time.monotonic()
        answers = await arun_tool_calls(reply, [wait])
        return answers, time.monotonic() - started

    answers, seconds = asyncio.run(main())
    assert seconds < 1.5
    assert all(answer["content"].startswith("orkes-io") for answer in answers)


def test_a_call_made_from_a_thread_of_the_pool_runs_there_and_never_waits_on_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_threads, "_POOL", LazyPool(1, "orkes-io"))

    def tool_with_its_own_loop(number: int) -> str:
        """A sync tool that calls async code: it runs an event loop of its own."""
        return str(asyncio.run(in_thread(lambda: number * 2)))

    reply = OrkesMessageSchema(
        role="assistant",
        content="",
        tool_calls=[
            {"id": f"c{i}", "name": "tool_with_its_own_loop", "arguments": {"number": i}}
            for i in range(3)
        ],
    )
    done: list[list[OrkesMessageSchema]] = []
    worker = threading.Thread(
        target=lambda: done.append(asyncio.run(arun_tool_calls(reply, [tool_with_its_own_loop]))),
        daemon=True,
    )
    worker.start()
    worker.join(10)
    assert done, "deadlock: the pool's only thread waited on itself"
    assert [answer["content"] for answer in done[0]] == ["0", "2", "4"]
