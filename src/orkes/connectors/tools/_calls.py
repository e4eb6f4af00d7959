"""One tool call, from the model's request to the ``tool`` message that answers it.

:func:`prepare` checks a call before anything runs: a known tool, arguments that fit its
schema (then converted to what the function's annotations ask for). A sound call becomes a
:class:`Call`; anything else is already an :class:`Answer` that tells the model what went
wrong. :func:`run` and :func:`arun` run a :class:`Call` and never raise for what the tool
does: a failure is an :class:`Answer` too, carrying the exception as ``cause``. The callers
in :mod:`orkes.connectors.tools` decide how many run at once and whether to raise.

Example:
    >>> from orkes.connectors.tools import tool
    >>> @tool
    ... def double(n: int) -> int:
    ...     return 2 * n
    >>> call = prepare({"id": "1", "name": "double", "arguments": {"n": 2}}, {"double": double})
    >>> run(call).message
    {'role': 'tool', 'content': '4', 'tool_call_id': '1', 'name': 'double'}
    >>> prepare({"id": "2", "name": "triple", "arguments": {}}, {"double": double}).error
    "unknown tool 'triple'; the tools are: 'double'"
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from orkes.connectors._threads import in_thread
from orkes.shared.schema import OrkesMessageSchema, ToolCall

if TYPE_CHECKING:
    from orkes.connectors.tools import ToolSpec

__all__ = ["Answer", "Call", "arun", "prepare", "run"]

_ResultT = TypeVar("_ResultT")


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call found sound, ready to run: the function and the converted arguments."""

    call_id: str
    tool: str
    fn: Callable[..., Any]
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """A call's ``tool`` message; for a failure, also what went wrong and the exception."""

    message: OrkesMessageSchema
    error: str | None = None
    cause: Exception | None = None


def prepare(call: ToolCall, specs: Mapping[str, ToolSpec]) -> Call | Answer:
    """Check ``call`` against the tools in ``specs``, by name; nothing runs yet."""
    call_id, name = call.get("id", ""), call.get("name", "")
    spec = specs.get(name)
    if spec is None:
        known = ", ".join(map(repr, specs)) or "none"
        return _failed(call_id, name, f"unknown tool {name!r}; the tools are: {known}")
    if spec.fn is None:
        return _failed(call_id, name, f"tool {name!r} can't run: its ToolSpec has no fn")
    arguments = call.get("arguments")
    if arguments is None:  # some services send null for a tool without parameters
        arguments = {}
    if isinstance(arguments, str):  # as the service sent them, from a connector of your own
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            text = f"the arguments of tool {name!r} are not valid JSON ({exc}): {arguments!r:.80}"
            return _failed(call_id, name, f"{text}; send one JSON object")
    converted, problems = spec._current_reader().read(arguments)
    if problems:
        text = f"invalid arguments for tool {name!r}: {'; '.join(problems)}"
        return _failed(call_id, name, text)
    return Call(call_id, name, spec.fn, converted)


def run(call: Call) -> Answer:
    """Run ``call`` in this thread; an ``async`` tool gets an event loop of its own."""
    try:
        result = call.fn(**call.arguments)
        if inspect.isawaitable(result):
            result = _wait_for(result)
        return _answered(call, result)
    except Exception as exc:  # the model hears about it, or the caller raises
        return _crashed(call, exc)


async def arun(call: Call, limit: asyncio.Semaphore | None = None) -> Answer:
    """Await ``call``; a sync tool runs in a worker thread (of the connectors' I/O pool)."""
    async with limit or contextlib.nullcontext():
        try:
            if _is_async(call.fn):
                result = call.fn(**call.arguments)
            else:
                result = await in_thread(call.fn, **call.arguments)
            if inspect.isawaitable(result):
                result = await result
            return _answered(call, result)
        except Exception as exc:  # the model hears about it, or the caller raises
            return _crashed(call, exc)


def _answered(call: Call, result: object) -> Answer:
    if isinstance(result, str):
        content = result
    else:
        try:
            content = json.dumps(result, default=str, ensure_ascii=False)
        except (TypeError, ValueError):  # keys that are not str, a list that holds itself
            content = str(result)
    return Answer(_tool_message(call.call_id, call.tool, content))


def _crashed(call: Call, exc: Exception) -> Answer:
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return _failed(call.call_id, call.tool, f"tool {call.tool!r} failed: {detail}", exc)


def _failed(call_id: str, tool: str, error: str, cause: Exception | None = None) -> Answer:
    return Answer(_tool_message(call_id, tool, f"Error: {error}"), error, cause)


def _tool_message(call_id: str, tool: str, content: str) -> OrkesMessageSchema:
    return OrkesMessageSchema(role="tool", content=content, tool_call_id=call_id, name=tool)


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


def _wait_for(awaitable: Awaitable[_ResultT]) -> _ResultT:
    """Run ``awaitable`` to its end from sync code, on a new event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(awaitable))
    # This thread already runs an event loop, and asyncio.run can't nest: use another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        context = contextvars.copy_context()
        return pool.submit(context.run, asyncio.run, _awaited(awaitable)).result()


async def _awaited(awaitable: Awaitable[_ResultT]) -> _ResultT:
    return await awaitable
