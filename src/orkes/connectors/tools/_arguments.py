r"""A model's tool-call arguments, checked and converted in one walk.

A tool's parameters are compiled once, when its ``ToolSpec`` is made, into one
:class:`Shape` each: a JSON Schema together with what the function wants for a value that
fits it. :meth:`ArgumentReader.read` then walks a call's arguments once: it lists what is
wrong, in words a model can act on (an empty list: nothing), and converts JSON data into
what the annotations ask for where that is clearly safe: enum values into members, arrays
into tuples, ``3`` into ``3.0`` for a ``float`` and ``3.0`` into ``3`` for an ``int``.

:mod:`orkes.connectors.tools._json_schema` compiles annotations into shapes (the schema and the
conversions come from that one walk over the annotation). :func:`shape_of_schema` compiles
a hand-written JSON Schema instead: it reads the keywords that orkes writes (``type``,
``enum``, ``anyOf``, ``items``, ``properties``, ``required``, ``additionalProperties``) and
ignores the others.

Example:
    >>> schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    >>> reader = ArgumentReader(schema, None, {"n": shape_of_schema({"type": "integer"})})
    >>> converted, problems = reader.read({"n": "3", "m": 1})
    >>> problems
    ['argument \'n\' should be integer, got string "3"',
     "unexpected argument 'm' (parameters: 'n')"]
    >>> reader.read({"n": 3})
    ({'n': 3}, [])
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NOT_COMPILED",
    "ArgumentReader",
    "Convert",
    "Shape",
    "describe",
    "json_type_of",
    "shape_of_schema",
]

_SHORT_VALUE_LENGTH = 60

Convert = Callable[[Any, str, list[str]], Any]
"""Turns a value that fits a shape into what the function wants: ``(value, path, problems)``.

It appends to ``problems`` (and returns the value as it is) when it can't."""


@dataclass(frozen=True, slots=True, eq=False)
class Shape:
    """A JSON Schema compiled: what a value must be, and what the function gets for it.

    ``choices`` line up with the schema's ``enum``: an option that matches gives its choice
    (an enum member, a ``Literal`` value). ``extra`` is ``additionalProperties``: ``True``
    takes any key, ``False`` refuses unknown keys. ``convert`` runs last, on a value that
    fits.
    """

    schema: Mapping[str, Any]
    items: Shape | None = None
    properties: Mapping[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    extra: Shape | bool = True
    any_of: tuple[Shape, ...] | None = None
    choices: tuple[Any, ...] | None = None
    convert: Convert | None = None
    # Read from the schema, once.
    types: tuple[str, ...] | None = field(init=False)
    options: tuple[Any, ...] | None = field(init=False)
    expected: str = field(init=False)

    def __post_init__(self) -> None:
        kind = self.schema.get("type")
        types = (kind,) if isinstance(kind, str) else _listed(kind)
        options = _listed(self.schema.get("enum"))
        if options is not None:
            expected = "one of " + ", ".join(_to_json(option) for option in options)
        elif self.any_of is not None:
            expected = " or ".join(arm.expected for arm in self.any_of)
        elif types is None:  # only in a hand-written schema: it says more than a type
            expected = "a value that fits its schema"
        else:
            expected = " or ".join(map(str, types))
        object.__setattr__(self, "types", None if types is None else tuple(map(str, types)))
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "expected", expected)

    def described(self, schema: Mapping[str, Any]) -> Shape:
        """The same shape under another schema (one with a description, say)."""
        return dataclasses.replace(self, schema=schema)

    def takes_type(self, value: object) -> bool:
        """Say whether ``value``'s JSON type fits (an integral float counts as an integer)."""
        if self.types is None:
            return True
        actual = json_type_of(value)
        for name in self.types:
            if name == actual or (name == "number" and actual == "integer"):
                return True
            if name == "integer" and isinstance(value, float) and value.is_integer():
                return True
        return False

    def read(self, value: Any, path: str, problems: list[str]) -> Any:
        """Check ``value`` (named ``path`` in messages), appending to ``problems``; convert it.

        Where something is wrong the value is returned as it is.
        """
        if self.any_of is not None:
            return self._read_any_of(self.any_of, value, path, problems)
        if not self.takes_type(value) or (option := self._option(value)) == -1:
            problems.append(f"argument {path!r} should be {self.expected}, got {describe(value)}")
            return value
        if option is not None and self.choices is not None:
            value = self.choices[option]
        if self.items is not None and isinstance(value, list):
            items = self.items
            value = [items.read(item, f"{path}[{at}]", problems) for at, item in enumerate(value)]
        if isinstance(value, dict) and (self.properties or self.required or self.extra is not True):
            value = self._read_object(value, path, problems)
        return value if self.convert is None else self.convert(value, path, problems)

    def _option(self, value: object) -> int | None:
        """The index of the option ``value`` matches, ``-1`` for none, ``None`` if no enum."""
        if self.options is None:
            return None
        return next((at for at, option in enumerate(self.options) if _same(value, option)), -1)

    def _read_object(self, value: dict[Any, Any], path: str, problems: list[str]) -> dict[Any, Any]:
        problems += [
            f"argument {path!r} is missing required key {key!r}"
            for key in self.required
            if key not in value
        ]
        converted: dict[Any, Any] = {}
        for key, item in value.items():
            shape = self.properties.get(key, self.extra)
            if isinstance(shape, Shape):
                item = shape.read(item, f"{path}.{key}", problems)
            elif shape is False:
                problems.append(f"argument {path!r} has unexpected key {key!r}")
            converted[key] = item
        return converted

    def _read_any_of(
        self, arms: tuple[Shape, ...], value: object, path: str, problems: list[str]
    ) -> object:
        complaints: list[list[str]] = []
        for arm in arms:
            arm_problems: list[str] = []
            converted = arm.read(value, path, arm_problems)
            if not arm_problems:
                return converted
            complaints.append(arm_problems)
        # When only one arm takes the value's type, its complaint is more precise: about
        # an array's items, an object's keys, or a number too big for a float.
        typed = [
            arm_problems
            for arm, arm_problems in zip(arms, complaints, strict=True)
            if arm.takes_type(value)
        ]
        if len(typed) == 1 and (isinstance(value, list | dict) or _too_big_for_float(value)):
            problems += typed[0]
        else:
            expected = " or ".join(arm.expected for arm in arms)
            problems.append(f"argument {path!r} should be {expected}, got {describe(value)}")
        return value


def shape_of_schema(schema: object) -> Shape:
    r"""Compile a hand-written JSON Schema; a schema that is not a mapping takes anything.

    Example:
        >>> shape = shape_of_schema({"type": "array", "items": {"enum": ["a", "b"]}})
        >>> problems: list[str] = []
        >>> shape.read(["a", "c"], "letters", problems), problems
        (['a', 'c'], ['argument \'letters[1]\' should be one of "a", "b", got string "c"'])
    """
    if not isinstance(schema, Mapping):
        return Shape({})
    properties = schema.get("properties")
    arms = _listed(schema.get("anyOf"))
    return Shape(
        schema,
        items=shape_of_schema(schema["items"]) if "items" in schema else None,
        properties={
            key: shape_of_schema(value)
            for key, value in (properties.items() if isinstance(properties, Mapping) else ())
        },
        required=_keys(schema.get("required")),
        extra=_extra(schema.get("additionalProperties", True)),
        any_of=None if arms is None else tuple(map(shape_of_schema, arms)),
    )


class ArgumentReader:
    """Reads a tool's arguments: one :class:`Shape` per parameter, compiled once.

    ``parameters`` and ``fn`` are what it was compiled from (a spec whose ``parameters``
    or ``fn`` were replaced needs another reader). ``converters``, for a hand-written
    schema, convert the arguments after the schema found them sound; what they can't
    convert is passed as it is.
    """

    __slots__ = (
        "_converters",
        "_extra",
        "_fingerprint",
        "_properties",
        "_required",
        "fn",
        "parameters",
    )

    def __init__(
        self,
        parameters: Mapping[str, Any],
        fn: Callable[..., Any] | None,
        properties: Mapping[str, Shape],
        *,
        converters: Mapping[str, Shape] | None = None,
    ) -> None:
        self.parameters = parameters
        self.fn = fn
        self._fingerprint = _fingerprint(parameters)
        self._properties = properties
        self._required = _keys(parameters.get("required"))
        self._extra = _extra(parameters.get("additionalProperties", False))
        self._converters = converters or {}

    def reads(self, parameters: Mapping[str, Any], fn: Callable[..., Any] | None) -> bool:
        """Say whether this reader was compiled for exactly these ``parameters`` and ``fn``.

        A schema edited in place since (an ``enum`` added, say) needs another reader too.
        """
        return (
            parameters is self.parameters
            and fn is self.fn
            and _fingerprint(parameters) == self._fingerprint
        )

    def read(self, arguments: object) -> tuple[dict[str, Any], list[str]]:
        """Return the converted arguments and the problems (an empty list: none).

        Example:
            >>> ArgumentReader({"required": ["a"]}, None, {}).read({})
            ({}, ["missing required argument 'a'"])
        """
        if not isinstance(arguments, dict):
            return {}, [f"the arguments should be a JSON object, got {describe(arguments)}"]
        problems = [
            f"missing required argument {name!r}"
            for name in self._required
            if name not in arguments
        ]
        converted: dict[str, Any] = {}
        unexpected: list[str] = []
        for name, value in arguments.items():
            shape = self._properties.get(name, self._extra)
            if isinstance(shape, Shape):
                value = shape.read(value, name, problems)
            elif shape is False:
                unexpected.append(name)
            converted[name] = value
        if unexpected:
            known = ", ".join(map(repr, self._properties)) or "none"
            plural = "s" if len(unexpected) > 1 else ""
            listed = ", ".join(map(repr, unexpected))
            problems.append(f"unexpected argument{plural} {listed} (parameters: {known})")
        if problems or not self._converters:
            return converted, problems
        ignored: list[str] = []  # the schema, not the annotations, says what is wrong
        for name, converter in self._converters.items():
            if name in converted:
                converted[name] = converter.read(arguments[name], name, ignored)
        return converted, []


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


def describe(value: object) -> str:
    """Show a value in a message: its JSON type and a short JSON form.

    Example:
        >>> describe("x" * 80)[-10:], describe(None), describe(10**400)[:20]
        ('xxxxxxx...', 'null', 'integer 100000000000')
    """
    json_type = json_type_of(value) or type(value).__name__
    return "null" if value is None else f"{json_type} {_to_json(value)}"


def _too_big_for_float(value: object) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:
        return True
    return False


def _listed(value: object) -> tuple[Any, ...] | None:
    return tuple(value) if isinstance(value, list | tuple) else None


def _keys(value: object) -> tuple[str, ...]:
    return tuple(key for key in _listed(value) or () if isinstance(key, str))


def _extra(additional_properties: object) -> Shape | bool:
    if isinstance(additional_properties, Mapping):
        return shape_of_schema(additional_properties)
    return additional_properties is not False


def _same(value: object, option: object) -> bool:
    # In Python True == 1; in JSON a boolean is never a number.
    return value == option and isinstance(value, bool) == isinstance(option, bool)


def _to_json(value: object) -> str:
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except ValueError:  # a list that holds itself, an int too long to write out
        text = f"<{type(value).__name__}>"
    if len(text) > _SHORT_VALUE_LENGTH:
        return text[: _SHORT_VALUE_LENGTH - 3] + "..."
    return text


def _fingerprint(parameters: Mapping[str, Any]) -> str:
    return json.dumps(parameters, sort_keys=True, default=repr)


NOT_COMPILED = ArgumentReader({}, None, {})
"""A reader that reads no spec's parameters: it stands for one not compiled yet."""
