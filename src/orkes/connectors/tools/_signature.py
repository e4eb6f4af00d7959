"""A Python function read as a tool: its name, its description and its parameters' schema.

:func:`describe_function` reads the signature (``self`` of a bound method is already
gone, and so are the parameters a ``functools.partial`` binds), the type hints (through
``typing.get_type_hints``, so string annotations and ``from __future__ import annotations``
work, also in a function defined inside another: see :mod:`orkes.connectors._type_hints`)
and the docstring, and compiles the reader of a call's arguments. For a schema written by
hand, :func:`reader_for_schema` compiles one from the schema, with the function's
annotations, read leniently, only for converting.

Example:
    >>> def greet(name: str, polite: bool = True) -> str:
    ...     '''Greet someone.
    ...
    ...     Args:
    ...         name: Who to greet.
    ...     '''
    ...     return f"Hello, {name}"
    >>> described = describe_function(greet)
    >>> described.name, described.description
    ('greet', 'Greet someone.')
    >>> described.parameters["properties"]
    {'name': {'type': 'string', 'description': 'Who to greet.'},
     'polite': {'type': 'boolean', 'default': True}}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orkes._type_hints import resolve_type_hints
from orkes.connectors.tools._arguments import ArgumentReader, Shape, shape_of_schema
from orkes.connectors.tools._docstrings import parse_docstring
from orkes.connectors.tools._json_schema import (
    NO_DEFAULT,
    json_default,
    lenient_shape_for,
    shape_for,
)
from orkes.errors import ToolDefinitionError

__all__ = ["FunctionDescription", "describe_function", "reader_for_schema"]

_VARIADIC = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


@dataclass(frozen=True, slots=True)
class FunctionDescription:
    """What a function says about itself: name, description, parameters' JSON Schema.

    ``reader`` checks and converts a call's arguments against ``parameters``.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    reader: ArgumentReader


def describe_function(
    fn: Callable[..., Any], *, tool_name: str | None = None
) -> FunctionDescription:
    """Read ``fn``'s name, docstring and parameters; raise if a parameter can't be described.

    A parameter a ``functools.partial`` binds, by position or by keyword, is not the
    model's to give: it is left out. ``tool_name`` (the function's name by default) is
    what messages call the tool.

    Raises:
        ToolDefinitionError: a parameter is ``*args``, ``**kwargs`` or positional-only, has
            no annotation, or has an annotation without a JSON form; or the signature or
            the annotations can't be read (a name in them can't be found).

    Example:
        >>> def f(*numbers: int) -> int:
        ...     return sum(numbers)
        >>> describe_function(f)
        Traceback (most recent call last):
        ...
        orkes.errors.ToolDefinitionError: parameter 'numbers' of function 'f' is *numbers;
        a tool takes named parameters only: list each one with its type
    """
    source = _unwrap(fn)
    function_name = _display_name(source)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(
            f"can't read the signature of function {function_name!r}: {exc}"
        ) from exc
    own_name = str(getattr(source, "__name__", function_name))
    hints = resolve_type_hints(
        _annotated_callable(source),
        function_name=function_name,
        tool_name=own_name if tool_name is None else tool_name,
    )
    docstring = parse_docstring(inspect.getdoc(source))
    bound = _bound_by_keyword(fn)  # inspect.signature drops those bound by position
    properties: dict[str, Any] = {}
    shapes: dict[str, Shape] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.name in bound and parameter.kind not in _VARIADIC:
            continue
        owner = f"parameter {parameter.name!r} of function {function_name!r}"
        if parameter.kind in _VARIADIC:
            raise ToolDefinitionError(
                f"{owner} is {_VARIADIC[parameter.kind]}{parameter.name}; a tool takes named "
                "parameters only: list each one with its type"
            )
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                f"{owner} is positional-only; a tool is called with keyword arguments: "
                "remove the '/'"
            )
        if parameter.name not in hints:
            raise ToolDefinitionError(
                f"{owner} has no type annotation; annotate it (for example "
                f"`{parameter.name}: str`) so the model knows what to send"
            )
        shape = shape_for(hints[parameter.name], owner)
        schema = dict(shape.schema)
        if "description" not in schema and parameter.name in docstring.parameters:
            schema["description"] = docstring.parameters[parameter.name]
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        elif (default := json_default(parameter.default)) is not NO_DEFAULT:
            schema["default"] = default
        properties[parameter.name] = schema
        shapes[parameter.name] = shape
    parameters = {"type": "object", "properties": properties, "required": required}
    return FunctionDescription(
        name=own_name,
        description=docstring.description,
        parameters=parameters,
        reader=ArgumentReader(parameters, fn, shapes),
    )


def reader_for_schema(parameters: dict[str, Any], fn: Callable[..., Any] | None) -> ArgumentReader:
    """Compile the reader of a hand-written ``parameters`` schema, for calls of ``fn``.

    The schema alone says whether arguments are sound. ``fn``'s annotations then convert
    them where they can, and pass on as it is what they can't (or all, where the
    annotations can't be read).

    Example:
        >>> def halve(n: float) -> float:
        ...     return n / 2
        >>> schema = {"type": "object", "properties": {"n": {}}, "required": ["n"]}
        >>> reader_for_schema(schema, halve).read({"n": 3})
        ({'n': 3.0}, [])
    """
    hints: dict[str, Any] = {}
    if fn is not None:
        source = _unwrap(fn)
        shown = _display_name(source)
        hints = resolve_type_hints(
            _annotated_callable(source), function_name=shown, tool_name=shown, strict=False
        )
    hints.pop("return", None)
    converters = {name: lenient_shape_for(hint) for name, hint in hints.items()}
    shapes = shape_of_schema(parameters).properties
    return ArgumentReader(parameters, fn, shapes, converters=converters)


def _bound_by_keyword(fn: Callable[..., Any]) -> set[str]:
    """The names that ``functools.partial`` objects, nested or not, bind by keyword."""
    bound: set[str] = set()
    while isinstance(fn, functools.partial):
        bound.update(fn.keywords)
        fn = fn.func
    return bound


def _unwrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Look through ``functools.partial`` to the function that holds the annotations."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _annotated_callable(fn: Callable[..., Any]) -> object:
    """Where the annotations live: the function itself, or a callable object's ``__call__``."""
    if inspect.isroutine(fn) or inspect.isclass(fn):
        return fn
    return type(fn).__call__


def _display_name(fn: Callable[..., Any]) -> str:
    """``fn``'s qualified name for messages, without the ``<locals>`` of enclosing functions."""
    qualified_name: str = getattr(fn, "__qualname__", type(fn).__qualname__)
    return qualified_name.rpartition("<locals>.")[2]
