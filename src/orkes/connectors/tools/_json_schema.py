r"""Python type annotations as JSON Schema: how a tool's parameters are described to a model.

:func:`shape_for` compiles one annotation, in one walk, into a
:class:`~orkes.connectors.tools._arguments.Shape`: its JSON Schema (``.schema``) together with
the conversions that give the function what the annotation asks for. It raises
:class:`~orkes.errors.ToolDefinitionError` naming the owner (e.g. ``parameter 'x' of
function 'f'``), the annotation and what is supported. :func:`lenient_shape_for` compiles
the annotations of a function whose schema was written by hand: only to convert, and never
raising. :func:`json_default` turns a parameter's default into its JSON form, where it has
one.

Example:
    >>> from typing import Literal
    >>> shape = shape_for(list[Literal["a", "b"]], "parameter 'xs' of function 'f'")
    >>> shape.schema
    {'type': 'array', 'items': {'type': 'string', 'enum': ['a', 'b']}}
    >>> problems: list[str] = []
    >>> shape.read(["a", "c"], "xs", problems), problems
    (['a', 'c'], ['argument \'xs[1]\' should be one of "a", "b", got string "c"'])
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

from orkes.connectors.tools._arguments import Convert, Shape, describe, json_type_of
from orkes.errors import ToolDefinitionError

__all__ = [
    "NO_DEFAULT",
    "SUPPORTED",
    "json_default",
    "lenient_shape_for",
    "shape_for",
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


def _to_float(value: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(value, int):  # a float already (a bool never fits a number)
        return value
    try:
        return float(value)
    except OverflowError:
        problems.append(
            f"argument {path!r} is a number out of range (a float holds at most about "
            f"1.8e308), got {describe(value)}"
        )
        return value


def _to_int(value: Any, path: str, problems: list[str]) -> Any:
    return int(value) if isinstance(value, float) else value  # an integral float


def _to_tuple(value: Any, path: str, problems: list[str]) -> Any:
    return tuple(value) if isinstance(value, list) else value


_SCALAR_TYPES: dict[object, tuple[str, Convert | None]] = {
    str: ("string", None),
    int: ("integer", _to_int),
    float: ("number", _to_float),
    bool: ("boolean", None),
    type(None): ("null", None),
    None: ("null", None),
}


def _both_spellings(name: str) -> frozenset[object]:
    """``typing.<name>`` and ``typing_extensions.<name>``: on older Pythons they differ."""
    return frozenset(
        getattr(module, name) for module in (typing, typing_extensions) if hasattr(module, name)
    )


_ARRAY_ORIGINS: frozenset[object] = frozenset({list, tuple, collections.abc.Sequence})
_OBJECT_ORIGINS: frozenset[object] = frozenset({dict, collections.abc.Mapping})
_UNION_ORIGINS: frozenset[object] = frozenset({Union, types.UnionType})
_LITERAL_ORIGINS = _both_spellings("Literal")
_ANY = _both_spellings("Any")
_REQUIRED = _both_spellings("Required")
_NOT_REQUIRED = _both_spellings("NotRequired")
_KEY_QUALIFIERS = _REQUIRED | _NOT_REQUIRED | _both_spellings("ReadOnly")


def shape_for(annotation: object, owner: str) -> Shape:
    """Compile ``annotation``; ``owner`` names its place in error messages.

    Raises:
        ToolDefinitionError: the annotation, or a type inside it, has no JSON form.

    Example:
        >>> shape_for(int | None, "parameter 'n' of function 'f'").schema
        {'anyOf': [{'type': 'integer'}, {'type': 'null'}]}
        >>> shape_for(set[int], "parameter 'n' of function 'f'")
        Traceback (most recent call last):
        ...
        orkes.errors.ToolDefinitionError: parameter 'n' of function 'f' has an unsupported
        annotation set[int]; supported: ...
    """
    try:
        return _ShapeBuilder().build(annotation)
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


def lenient_shape_for(annotation: object) -> Shape:
    """Compile ``annotation`` only to convert values, never raising.

    A union arm without a JSON form is left out; where anything else has none, the value
    is passed as it is.

    Example:
        >>> problems: list[str] = []
        >>> lenient_shape_for(set[int] | float).read(1, "x", problems)
        1.0
        >>> lenient_shape_for(set[int]).schema
        {}
    """
    try:
        return _ShapeBuilder(lenient=True).build(annotation)
    except _Unsupported:
        return Shape({})


def json_default(value: object) -> Any:
    """Return ``value`` as JSON data (enums by value, tuples as lists), or :data:`NO_DEFAULT`.

    Only plain data has a JSON form: ``None``, ``bool``, ``int``, a finite ``float``,
    ``str``, and lists, tuples and ``str``-keyed dicts of those that do not hold themselves.

    Example:
        >>> json_default((1, "a")), json_default(object()) is NO_DEFAULT
        ([1, 'a'], True)
        >>> json_default({1: "a"}) is NO_DEFAULT, json_default(float("nan")) is NO_DEFAULT
        (True, True)
    """
    try:
        text = json.dumps(_to_json_data(value, ()), allow_nan=False)
    except (TypeError, ValueError):
        return NO_DEFAULT
    return json.loads(text)  # plain data, whatever subclasses of str, int or float it held


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


class _ShapeBuilder:
    """Walks one annotation; remembers the TypedDicts it is inside to refuse recursion."""

    __slots__ = ("_expanding", "_lenient")

    def __init__(self, *, lenient: bool = False) -> None:
        self._expanding: list[type] = []
        self._lenient = lenient

    def build(self, annotation: object) -> Shape:
        if get_origin(annotation) is Annotated:  # before hashing: its metadata may not hash
            return self._annotated(get_args(annotation))
        if not _is_hashable(annotation):
            raise _Unsupported(annotation)
        if annotation in _ANY:
            return Shape({})
        scalar = _SCALAR_TYPES.get(annotation)
        if scalar is not None:
            return Shape({"type": scalar[0]}, convert=scalar[1])
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return _enum_shape(annotation, tuple(annotation))
        if isinstance(annotation, type) and is_typeddict(annotation):
            return self._typeddict(annotation)
        supertype = getattr(annotation, "__supertype__", None)
        if supertype is not None:  # typing.NewType
            return self.build(supertype)
        origin = get_origin(annotation) or annotation
        args = get_args(annotation)
        if origin in _LITERAL_ORIGINS:
            return _enum_shape(annotation, args)
        if origin in _UNION_ORIGINS:
            return self._union(annotation, args)
        if origin in _ARRAY_ORIGINS:
            return self._array(annotation, origin, args)
        if origin in _OBJECT_ORIGINS:
            return self._object(annotation, args)
        raise _Unsupported(annotation)

    def _annotated(self, args: tuple[Any, ...]) -> Shape:
        shape = self.build(args[0])
        description = next((meta for meta in args[1:] if isinstance(meta, str)), None)
        if description is not None:
            shape = shape.described({**shape.schema, "description": description})
        return shape

    def _union(self, annotation: object, args: tuple[Any, ...]) -> Shape:
        arms: list[Shape] = []
        for arg in args:
            try:
                arms.append(self.build(arg))
            except _Unsupported:
                if not self._lenient:
                    raise
        if not arms:
            raise _Unsupported(annotation)
        return Shape({"anyOf": [arm.schema for arm in arms]}, any_of=tuple(arms))

    def _array(self, annotation: object, origin: object, args: tuple[Any, ...]) -> Shape:
        if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
            raise _Unsupported(annotation, "only tuple[T, ...] is supported, or use list[T]")
        items = self.build(args[0]) if args else None
        convert = _to_tuple if origin is tuple else None
        if items is None or not items.schema:  # any items
            return Shape({"type": "array"}, convert=convert)
        return Shape({"type": "array", "items": items.schema}, items=items, convert=convert)

    def _object(self, annotation: object, args: tuple[Any, ...]) -> Shape:
        if not args:
            return Shape({"type": "object"})
        if args[0] is not str:
            raise _Unsupported(annotation, "keys must be str, as in every JSON object")
        values = self.build(args[1])
        if not values.schema:  # any values
            return Shape({"type": "object"})
        return Shape({"type": "object", "additionalProperties": values.schema}, extra=values)

    def _typeddict(self, typeddict: type) -> Shape:
        if typeddict in self._expanding:
            raise _Unsupported(typeddict, "a TypedDict that contains itself can't be described")
        try:
            fields = typeddict_fields(typeddict)
        except Exception as exc:  # NameError for an undefined forward reference, and kin
            reason = f"its annotations can't be resolved: {type(exc).__name__}: {exc}"
            raise _Unsupported(typeddict, reason) from None
        properties: dict[str, Shape] = {}
        required: list[str] = []
        self._expanding.append(typeddict)
        try:
            for key, (value_type, is_required) in fields.items():
                properties[key] = self.build(value_type)
                if is_required:
                    required.append(key)
        finally:
            self._expanding.pop()
        schema = {
            "type": "object",
            "properties": {key: shape.schema for key, shape in properties.items()},
            "required": required,
        }
        return Shape(schema, properties=properties, required=tuple(required))


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


def _enum_shape(annotation: object, choices: tuple[Any, ...]) -> Shape:
    """An enum's members, or a ``Literal``'s values: sent by value, received as declared."""
    values = [choice.value if isinstance(choice, enum.Enum) else choice for choice in choices]
    return Shape(_enum_schema(annotation, values), choices=choices)


def _is_hashable(annotation: object) -> bool:
    """Say whether ``annotation`` can be looked up in a set (``Annotated`` metadata may not)."""
    try:
        hash(annotation)
    except TypeError:
        return False
    return True


def _to_json_data(value: object, outer: tuple[int, ...]) -> object:
    """``value`` with enums as their values; raises where it has no JSON form."""
    if isinstance(value, enum.Enum):
        return _to_json_data(value.value, outer)
    if not isinstance(value, list | tuple | dict):
        return value  # json.dumps refuses what is not JSON data
    if id(value) in outer:
        raise ValueError("a container that holds itself")
    inner = (*outer, id(value))
    if not isinstance(value, dict):
        return [_to_json_data(item, inner) for item in value]
    if not all(isinstance(key, str) for key in value):
        raise TypeError("a key that is not a str")  # json.dumps would turn 1 into "1"
    return {key: _to_json_data(item, inner) for key, item in value.items()}
