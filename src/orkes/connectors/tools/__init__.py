"""Python functions as tools a model can call, and the running of the calls it makes.

A tool is described to the model by a :class:`ToolSpec`: a name, a description and a JSON
Schema of its parameters, all read from a plain function (its signature, type hints and
docstring). When the model answers with ``tool_calls``, :func:`run_tool_calls` (or
:func:`arun_tool_calls`) runs them, in parallel, and returns one ``tool`` message per call.

Example:
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.'''
    ...     return a + b
    >>> add.parameters
    {'type': 'object', 'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer'}},
     'required': ['a', 'b']}
    >>> reply = {"role": "assistant", "content": "",
    ...          "tool_calls": [{"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 3}}]}
    >>> run_tool_calls(reply, [add])
    [{'role': 'tool', 'content': '5', 'tool_call_id': 'call_1', 'name': 'add'}]
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, overload

from orkes.connectors.tools import _calls as _tool_calls
from orkes.connectors.tools._arguments import NOT_COMPILED, ArgumentReader
from orkes.connectors.tools._signature import describe_function, reader_for_schema
from orkes.errors import ToolCallError, ToolDefinitionError
from orkes.shared.schema import OrkesMessageSchema

__all__ = [
    "ToolCallError",
    "ToolSpec",
    "arun_tool_calls",
    "as_tool_specs",
    "run_tool_calls",
    "tool",
]

# What OpenAI, Anthropic and Gemini all accept as a function name.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a model sees it, plus the function that runs it.

    ``parameters`` is a JSON Schema object: ``{"type": "object", "properties": {...},
    "required": [...]}``. ``fn`` is left out of equality and ``repr``. Calling a spec
    calls ``fn``, so a function decorated with :func:`tool` can still be called. A spec
    made by hand checks the model's arguments against ``parameters``, then converts them
    where ``fn``'s annotations say how.

    Example:
        >>> def shout(text: str) -> str:
        ...     '''Say it louder.'''
        ...     return text.upper()
        >>> spec = ToolSpec.from_function(shout)
        >>> spec
        ToolSpec(name='shout', description='Say it louder.', parameters={'type': 'object',
                 'properties': {'text': {'type': 'string'}}, 'required': ['text']})
        >>> spec("hi")
        'HI'
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    # Checks and converts a call's arguments; compiled once, for these parameters and fn.
    _reader: ArgumentReader = field(default=NOT_COMPILED, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        self._current_reader()

    def _current_reader(self) -> ArgumentReader:
        """What checks and converts a call's arguments.

        Compiled once, and again only if ``parameters`` were edited in place since.
        """
        if not self._reader.reads(self.parameters, self.fn):
            object.__setattr__(self, "_reader", reader_for_schema(self.parameters, self.fn))
        return self._reader

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> ToolSpec:
        """Describe ``fn`` from its signature, type hints and docstring.

        The name defaults to the function's ``__name__``; the description to its
        docstring without the parameter section (``""`` when there is no docstring: the
        model still sees the name). Each parameter's description comes from
        ``Annotated[T, "text"]`` or else from the docstring (Google ``Args:`` or reST
        ``:param x:``). A parameter with a default is not required; a default with a JSON
        form is shown as ``default``. Bound methods leave out ``self``, and a
        ``functools.partial`` the parameters it binds: the model neither sees nor sets
        them (an API key bound with ``partial(search, api_key=key)`` stays yours).
        ``async`` functions are welcome. Given a ``ToolSpec``, returns it with ``name``
        and ``description`` replaced where given. The names in string annotations are
        resolved as ``fn``'s own frame would: in its module, its closure, and (for a
        function defined inside another, with names imported there) the locals of the
        functions running when the spec is made.

        Raises:
            ToolDefinitionError: ``fn`` is not callable, has a name no service accepts,
                takes ``*args``, ``**kwargs`` or positional-only parameters, has a
                parameter without annotation, an annotation without a JSON form, or one
                that names what can't be found (the message names the parameter and the
                name).

        Example:
            >>> from typing import Annotated
            >>> def search(query: Annotated[str, "What to find."], limit: int = 10) -> list[str]:
            ...     return []
            >>> ToolSpec.from_function(search, description="Search the web.").parameters
            {'type': 'object',
             'properties': {'query': {'type': 'string', 'description': 'What to find.'},
                            'limit': {'type': 'integer', 'default': 10}},
             'required': ['query']}
        """
        if isinstance(fn, ToolSpec):
            return dataclasses.replace(
                fn,
                name=fn.name if name is None else _checked_name(name),
                description=fn.description if description is None else description,
            )
        if not callable(fn):
            raise ToolDefinitionError(f"a tool must be a function or a ToolSpec, got {fn!r}")
        described = describe_function(fn, tool_name=name)
        return cls(
            name=_checked_name(described.name if name is None else name),
            description=described.description if description is None else description,
            parameters=described.parameters,
            fn=fn,
            _reader=described.reader,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function behind the tool (``TypeError`` if there is none)."""
        if self.fn is None:
            raise TypeError(f"tool {self.name!r} has no function to call (its fn is None)")
        return self.fn(*args, **kwargs)


@overload
def tool(
    fn: Callable[..., Any], /, *, name: str | None = None, description: str | None = None
) -> ToolSpec: ...
@overload
def tool(
    fn: None = None, /, *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], ToolSpec]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> ToolSpec | Callable[[Callable[..., Any]], ToolSpec]:
    """Turn a function into a :class:`ToolSpec`; a decorator, with or without arguments.

    Example:
        >>> @tool(name="weather", description="Today's weather in a city.")
        ... def get_weather(city: str) -> str:
        ...     return f"Sunny in {city}"
        >>> get_weather.name, get_weather("Oslo")
        ('weather', 'Sunny in Oslo')
    """
    if fn is None:
        return functools.partial(ToolSpec.from_function, name=name, description=description)
    return ToolSpec.from_function(fn, name=name, description=description)


def as_tool_specs(tools: Iterable[Callable[..., Any] | ToolSpec]) -> list[ToolSpec]:
    """Make a list of :class:`ToolSpec` from functions and specs, checking names are unique.

    Raises:
        ToolDefinitionError: two tools share a name, or one can't be described.

    Example:
        >>> def ping() -> str:
        ...     return "pong"
        >>> [spec.name for spec in as_tool_specs([ping, tool(ping, name="ping2")])]
        ['ping', 'ping2']
        >>> as_tool_specs([ping, ping])
        Traceback (most recent call last):
        ...
        orkes.errors.ToolDefinitionError: two tools are named 'ping'; tool names must be
        unique (rename one with tool(fn, name=...))
    """
    if isinstance(tools, ToolSpec) or callable(tools):
        raise ToolDefinitionError(f"expected a list of tools, got the single tool {tools!r}")
    specs: list[ToolSpec] = []
    names: set[str] = set()
    for item in tools:
        spec = item if isinstance(item, ToolSpec) else ToolSpec.from_function(item)
        if spec.name in names:
            raise ToolDefinitionError(
                f"two tools are named {spec.name!r}; tool names must be unique "
                "(rename one with tool(fn, name=...))"
            )
        names.add(spec.name)
        specs.append(spec)
    return specs


def run_tool_calls(
    message: OrkesMessageSchema,
    tools: Iterable[Callable[..., Any] | ToolSpec],
    *,
    raise_errors: bool = False,
    max_workers: int | None = None,
) -> list[OrkesMessageSchema]:
    """Run every call in ``message["tool_calls"]``; return one ``tool`` message per call.

    The answers come in the order of the calls. Several calls run at once, in threads
    (``max_workers`` of them; ``None``: one per call); a single call runs in the calling
    thread. ``async`` tools run through ``asyncio.run`` (in another thread if this one
    already runs an event loop). A result is sent as is when it is a ``str``, else as JSON
    (``json.dumps(..., default=str)``). The context variables of the caller are visible
    inside the tools.

    An unknown tool, arguments that do not fit the schema, or a tool that raises gives an
    answer starting ``"Error: "`` that says what went wrong, so the model can try again,
    unless ``raise_errors`` is true: then :class:`ToolCallError` is raised instead, before
    any tool runs if the calls themselves are wrong, else after every call has finished.

    Raises:
        ToolCallError: with ``raise_errors=True``, for the first call that failed.
        ToolDefinitionError: a tool can't be described, or two share a name; or
            ``message`` is not one message whose ``tool_calls`` is a list of calls.

    Example:
        >>> def divide(a: float, b: float) -> float:
        ...     return a / b
        >>> reply = {"role": "assistant", "content": "", "tool_calls": [
        ...     {"id": "1", "name": "divide", "arguments": {"a": 1, "b": 4}},
        ...     {"id": "2", "name": "divide", "arguments": {"a": 1, "b": 0}},
        ...     {"id": "3", "name": "divide", "arguments": {"a": "one", "b": 2}},
        ... ]}
        >>> for answer in run_tool_calls(reply, [divide]):
        ...     print(answer["tool_call_id"], answer["content"])
        1 0.25
        2 Error: tool 'divide' failed: ZeroDivisionError: float division by zero
        3 Error: invalid arguments for tool 'divide': argument 'a' should be number,
          got string "one"
    """
    plan = _plan(message, tools, raise_errors, max_workers)
    calls = [step for step in plan if isinstance(step, _tool_calls.Call)]
    if len(calls) <= 1:  # no thread for one call; a context copy, as a thread would have
        answers = [contextvars.copy_context().run(_tool_calls.run, call) for call in calls]
    else:
        with ThreadPoolExecutor(max_workers=max_workers or len(calls)) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, _tool_calls.run, call) for call in calls
            ]
            answers = [future.result() for future in futures]
    return _finish(plan, answers, raise_errors)


async def arun_tool_calls(
    message: OrkesMessageSchema,
    tools: Iterable[Callable[..., Any] | ToolSpec],
    *,
    raise_errors: bool = False,
    max_workers: int | None = None,
) -> list[OrkesMessageSchema]:
    """Like :func:`run_tool_calls`, without blocking the event loop.

    ``async`` tools are awaited, the others run on orkes' I/O thread pool (64 threads
    shared by the process), all at once with ``asyncio.gather`` (at most
    ``max_workers`` at a time, if given).

    Example:
        >>> import asyncio
        >>> async def fetch(url: str) -> dict[str, str]:
        ...     return {"url": url, "status": "ok"}
        >>> reply = {"role": "assistant", "content": "",
        ...          "tool_calls": [{"id": "1", "name": "fetch", "arguments": {"url": "a.io"}}]}
        >>> asyncio.run(arun_tool_calls(reply, [fetch]))[0]["content"]
        '{"url": "a.io", "status": "ok"}'
    """
    plan = _plan(message, tools, raise_errors, max_workers)
    limit = asyncio.Semaphore(max_workers) if max_workers is not None else None
    calls = [step for step in plan if isinstance(step, _tool_calls.Call)]
    answers = await asyncio.gather(*(_tool_calls.arun(call, limit) for call in calls))
    return _finish(plan, answers, raise_errors)


def _plan(
    message: OrkesMessageSchema,
    tools: Iterable[Callable[..., Any] | ToolSpec],
    raise_errors: bool,
    max_workers: int | None,
) -> list[_tool_calls.Call | _tool_calls.Answer]:
    """Check every call before any runs: a sound one becomes a ``Call``, others answers."""
    if max_workers is not None and max_workers < 1:
        raise ToolDefinitionError(f"max_workers must be at least 1, got {max_workers!r}")
    specs = {spec.name: spec for spec in as_tool_specs(tools)}
    plan = [_tool_calls.prepare(call, specs) for call in _calls_of(message)]
    if raise_errors:
        _raise_first_error(plan)
    return plan


def _calls_of(message: object) -> list[Any]:
    """The tool calls of ``message`` (the model's reply), each a mapping; else refused."""
    if not isinstance(message, Mapping):
        raise ToolDefinitionError(
            "run_tool_calls takes the model's reply, one message (messages[-1]), got "
            f"{type(message).__name__} {message!r:.80}"
        )
    calls = message.get("tool_calls") or []
    if not isinstance(calls, (list, tuple)) or not all(isinstance(c, Mapping) for c in calls):
        raise ToolDefinitionError(
            "a message's tool_calls is a list of {'id': ..., 'name': ..., 'arguments': {...}}, "
            f"got {calls!r:.80}"
        )
    return list(calls)


def _finish(
    plan: list[_tool_calls.Call | _tool_calls.Answer],
    answers: Iterable[_tool_calls.Answer],
    raise_errors: bool,
) -> list[OrkesMessageSchema]:
    """Put the answers of the calls that ran in the places of their calls, in order."""
    ran = iter(answers)
    complete = [next(ran) if isinstance(step, _tool_calls.Call) else step for step in plan]
    if raise_errors:
        _raise_first_error(complete)
    return [answer.message for answer in complete]


def _raise_first_error(plan: Iterable[_tool_calls.Call | _tool_calls.Answer]) -> None:
    for step in plan:
        if isinstance(step, _tool_calls.Answer) and step.error is not None:
            error = ToolCallError(
                step.error,
                tool=step.message.get("name", ""),
                call_id=step.message.get("tool_call_id", ""),
            )
            raise error from step.cause


def _checked_name(name: str) -> str:
    if not _TOOL_NAME.fullmatch(name):
        raise ToolDefinitionError(
            f"tool name {name!r} is not allowed: use 1 to 64 letters, digits, '_' or '-' "
            "(give another with tool(fn, name=...))"
        )
    return name
