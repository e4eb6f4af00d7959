"""Python type annotations as JSON Schema: how a tool's parameters are described to a model.

:func:`schema_for` turns one annotation into a JSON Schema ``dict``, or raises
:class:`~orkes.errors.ToolDefinitionError` naming the owner (e.g. ``parameter 'x' of
function 'f'``), the annotation and what is supported. :func:`json_default` turns a
parameter's default into its JSON form, where it has one. The other helpers here are
shared with :mod:`orkes.connectors._arguments`, which reads the same annotations back.

Example:
    >>> from typing import Literal
    >>> schema_for(list[Literal["a", "b"]], "parameter 'xs' of function 'f'")
    {'type': 'array', 'items': {'type': 'string', 'enum': ['a', 'b']}}
"""

from __future__ import annotations

import collections.abc
import enum
import json
import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import typing_extensions
from typing_extensions import is_typeddict

from orkes.errors import ToolDefinitionError

__all__ = [
    "ARRAY_ORIGINS",
    "LITERAL_ORIGINS",
    "NO_DEFAULT",
    "OBJECT_ORIGINS",
    "SUPPORTED",
    "UNION_ORIGINS",
    "is_hashable",
    "json_default",
    "json_type_of",
    "schema_for",
    "type_name",
    "typeddict_fields",
]

SUPPORTED = (
    "str, int, float, bool, None, Any, Literal[...], Enum subclasses, list[T], Sequence[T], "
    "tuple[T, ...], dict[str, T], Optional[T], Union[...] (or X | Y), TypedDict, "
    'Annotated[T, "description"]'
)
"""The annotations a tool parameter may have, as error messages list them."""

NO_DEFAULT: Any = object()
"""Returned by :func:`json_default` for a default that has no JSON form."""

_SCALAR_TYPES: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    None: "null",
}


def _both_spellings(name: str) -> frozenset[object]:
    """``typing.<name>`` and ``typing_extensions.<name>``: on older Pythons they differ."""
    return frozenset(
        getattr(module, name) for module in (typing, typing_extensions) if hasattr(module, name)
    )


ARRAY_ORIGINS: frozenset[object] = frozenset({list, tuple, collections.abc.Sequence})
OBJECT_ORIGINS: frozenset[object] = frozenset({dict, collections.abc.Mapping})
UNION_ORIGINS: frozenset[object] = frozenset({Union, types.UnionType})
LITERAL_ORIGINS = _both_spellings("Literal")
_ANY = _both_spellings("Any")
_REQUIRED = _both_spellings("Required")
_NOT_REQUIRED = _both_spellings("NotRequired")
_KEY_QUALIFIERS = _REQUIRED | _NOT_REQUIRED | _both_spellings("ReadOnly")


def json_type_of(value: object) -> str | None:
    """Name the JSON type of a Python value (``bool`` is ``"boolean"``, not ``"integer"``).

    Example:
        >>> json_type_of(True), json_type_of(3), json_type_of([1]), json_type_of(object())
        ('boolean', 'integer', 'array', None)
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def is_hashable(annotation: object) -> bool:
    """Say whether ``annotation`` can be looked up in a set (``Annotated`` metadata may not)."""
    try:
        hash(annotation)
    except TypeError:
        return False
    return True


def schema_for(annotation: object, owner: str) -> dict[str, Any]:
    """Describe ``annotation`` as JSON Schema; ``owner`` names its place in error messages.

    Raises:
        ToolDefinitionError: the annotation, or a type inside it, has no JSON form.

    Example:
        >>> schema_for(int | None, "parameter 'n' of function 'f'")
        {'anyOf': [{'type': 'integer'}, {'type': 'null'}]}
        >>> schema_for(set[int], "parameter 'n' of function 'f'")
        Traceback (most recent call last):
        ...
        orkes.errors.ToolDefinitionError: parameter 'n' of function 'f' has an unsupported
        annotation set[int]; supported: ...
    """
    try:
        return _SchemaBuilder().build(annotation)
    except _Unsupported as problem:
        if problem.annotation is annotation:
            detail = f" ({problem.reason})" if problem.reason else ""
        else:
            reason = problem.reason or "is not supported"
            separator = ": " if problem.reason else " "
            detail = f" ({type_name(problem.annotation)}{separator}{reason})"
        raise ToolDefinitionError(
            f"{owner} has an unsupported annotation {type_name(annotation)}{detail}; "
            f"supported: {SUPPORTED}"
        ) from None


def json_default(value: object) -> Any:
    """Return ``value`` as JSON data (enums by value, tuples as lists), or :data:`NO_DEFAULT`.

    Example:
        >>> json_default((1, "a")), json_default(object()) is NO_DEFAULT
        ([1, 'a'], True)
    """
    converted = _to_json_data(value)
    try:
        json.dumps(converted, allow_nan=False)
    except (TypeError, ValueError):
        return NO_DEFAULT
    return converted


def type_name(annotation: object) -> str:
    """Spell an annotation as a reader would write it: ``Point``, ``list[set[int]]``.

    Example:
        >>> from typing import Optional
        >>> type_name(int), type_name(Optional[list[int]])
        ('int', 'Optional[list[int]]')
    """
    if isinstance(annotation, type) and get_origin(annotation) is None:
        return annotation.__qualname__
    return repr(annotation).replace("typing_extensions.", "").replace("typing.", "")


class _Unsupported(Exception):
    """Internal: ``annotation`` (maybe nested in the one asked about) has no JSON form."""

    def __init__(self, annotation: object, reason: str = "") -> None:
        super().__init__(annotation, reason)
        self.annotation = annotation
        self.reason = reason


class _SchemaBuilder:
    """Walks one annotation; remembers the TypedDicts it is inside to refuse recursion."""

    __slots__ = ("_expanding",)

    def __init__(self) -> None:
        self._expanding: list[type] = []

    def build(self, annotation: object) -> dict[str, Any]:
        if get_origin(annotation) is Annotated:  # before hashing: its metadata may not hash
            return self._annotated(get_args(annotation))
        if not is_hashable(annotation):
            raise _Unsupported(annotation)
        if annotation in _ANY:
            return {}
        scalar_type = _SCALAR_TYPES.get(annotation)
        if scalar_type is not None:
            return {"type": scalar_type}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return _enum_schema(annotation, [member.value for member in annotation])
        if isinstance(annotation, type) and is_typeddict(annotation):
            return self._typeddict(annotation)
        supertype = getattr(annotation, "__supertype__", None)
        if supertype is not None:  # typing.NewType
            return self.build(supertype)
        origin = get_origin(annotation) or annotation
        args = get_args(annotation)
        if origin in LITERAL_ORIGINS:
            return _enum_schema(annotation, [_literal_value(arg) for arg in args])
        if origin in UNION_ORIGINS:
            return {"anyOf": [self.build(arg) for arg in args]}
        if origin in ARRAY_ORIGINS:
            return self._array(annotation, origin, args)
        if origin in OBJECT_ORIGINS:
            return self._object(annotation, args)
        raise _Unsupported(annotation)

    def _annotated(self, args: tuple[Any, ...]) -> dict[str, Any]:
        schema = self.build(args[0])
        description = next((meta for meta in args[1:] if isinstance(meta, str)), None)
        if description is not None:
            schema = {**schema, "description": description}
        return schema

    def _array(self, annotation: object, origin: object, args: tuple[Any, ...]) -> dict[str, Any]:
        if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
            raise _Unsupported(annotation, "only tuple[T, ...] is supported, or use list[T]")
        items = self.build(args[0]) if args else {}
        return {"type": "array", "items": items} if items else {"type": "array"}

    def _object(self, annotation: object, args: tuple[Any, ...]) -> dict[str, Any]:
        if not args:
            return {"type": "object"}
        if args[0] is not str:
            raise _Unsupported(annotation, "keys must be str, as in every JSON object")
        values = self.build(args[1])
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}

    def _typeddict(self, typeddict: type) -> dict[str, Any]:
        if typeddict in self._expanding:
            raise _Unsupported(typeddict, "a TypedDict that contains itself can't be described")
        try:
            fields = typeddict_fields(typeddict)
        except Exception as exc:  # NameError for an undefined forward reference, and kin
            reason = f"its annotations can't be resolved: {type(exc).__name__}: {exc}"
            raise _Unsupported(typeddict, reason) from None
        properties: dict[str, Any] = {}
        required: list[str] = []
        self._expanding.append(typeddict)
        for key, (value_type, is_required) in fields.items():
            properties[key] = self.build(value_type)
            if is_required:
                required.append(key)
        self._expanding.pop()
        return {"type": "object", "properties": properties, "required": required}


def typeddict_fields(typeddict: type) -> dict[str, tuple[Any, bool]]:
    """Map each key of ``typeddict`` to its value type and whether it is required.

    Raises whatever ``typing.get_type_hints`` raises for annotations it can't resolve.

    Example:
        >>> from typing_extensions import NotRequired, TypedDict
        >>> Movie = TypedDict("Movie", {"title": str, "year": NotRequired[int]})
        >>> typeddict_fields(Movie)
        {'title': (<class 'str'>, True), 'year': (<class 'int'>, False)}
    """
    required_keys: frozenset[str] = getattr(typeddict, "__required_keys__", frozenset())
    fields: dict[str, tuple[Any, bool]] = {}
    for key, hint in get_type_hints(typeddict, include_extras=True).items():
        value_type, is_required = hint, key in required_keys
        # Required and NotRequired are read from the hint as well: with string
        # annotations, `__required_keys__` does not see them.
        while get_origin(value_type) in _KEY_QUALIFIERS:
            qualifier = get_origin(value_type)
            if qualifier in _REQUIRED or qualifier in _NOT_REQUIRED:
                is_required = qualifier in _REQUIRED
            value_type = get_args(value_type)[0]
        fields[key] = (value_type, is_required)
    return fields


def _enum_schema(annotation: object, values: list[Any]) -> dict[str, Any]:
    json_types: list[str] = []
    for value in values:
        json_type = json_type_of(value)
        if json_type not in {"string", "integer", "number", "boolean", "null"}:
            raise _Unsupported(
                annotation, f"value {value!r} is not a str, int, float, bool or None"
            )
        if json_type not in json_types:
            json_types.append(json_type)
    if not json_types:
        return {"enum": values}
    return {"type": json_types[0] if len(json_types) == 1 else json_types, "enum": values}


def _literal_value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _to_json_data(value: object) -> object:
    if isinstance(value, enum.Enum):
        return _to_json_data(value.value)
    if isinstance(value, list | tuple):
        return [_to_json_data(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json_data(item) for key, item in value.items()}
    return value
