r"""A model's tool-call arguments: checked against the tool's JSON Schema, then converted.

:func:`check_arguments` lists what is wrong with the arguments, in words a model can act
on (an empty list: nothing). It reads the keywords that orkes writes (``type``, ``enum``,
``anyOf``, ``items``, ``properties``, ``required``, ``additionalProperties``) and ignores
the others. :func:`convert_arguments` then turns JSON data into what the function's
annotations ask for where that is clearly safe: enum values into members, arrays into
tuples, ``3`` into ``3.0`` for a ``float`` and ``3.0`` into ``3`` for an ``int``.

Example:
    >>> schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    >>> check_arguments({"n": "3", "m": 1}, schema)
    ['argument \'n\' should be integer, got string "3"',
     "unexpected argument 'm' (parameters: 'n')"]
    >>> convert_arguments({"n": 3.0}, {"n": int})
    {'n': 3}
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin

from typing_extensions import is_typeddict

from orkes.connectors import _json_schema
from orkes.errors import ToolDefinitionError

__all__ = ["check_arguments", "convert_arguments"]

_SHORT_VALUE_LENGTH = 60


def check_arguments(arguments: object, parameters: Mapping[str, Any]) -> list[str]:
    """List the problems of ``arguments`` against the ``parameters`` object schema.

    Example:
        >>> check_arguments({}, {"type": "object", "properties": {}, "required": ["a"]})
        ["missing required argument 'a'"]
    """
    if not isinstance(arguments, dict):
        return [f"the arguments should be a JSON object, got {_describe(arguments)}"]
    properties: Mapping[str, Any] = parameters.get("properties", {})
    extra_schema = parameters.get("additionalProperties", False)
    problems = [
        f"missing required argument {name!r}"
        for name in parameters.get("required", [])
        if name not in arguments
    ]
    unexpected: list[str] = []
    for name, value in arguments.items():
        if name in properties:
            problems += _check(value, properties[name], name)
        elif extra_schema is False:
            unexpected.append(name)
        else:
            problems += _check(value, extra_schema, name)
    if unexpected:
        known = ", ".join(map(repr, properties)) or "none"
        plural = "s" if len(unexpected) > 1 else ""
        problems.append(
            f"unexpected argument{plural} {', '.join(map(repr, unexpected))} (parameters: {known})"
        )
    return problems


def convert_arguments(arguments: dict[str, Any], hints: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``arguments`` with each value converted to its parameter's annotation.

    Example:
        >>> convert_arguments({"xs": [1, 2], "other": "kept"}, {"xs": tuple[float, ...]})
        {'xs': (1.0, 2.0), 'other': 'kept'}
    """
    return {
        name: _convert(value, hints[name]) if name in hints else value
        for name, value in arguments.items()
    }


def _check(value: object, schema: object, path: str) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    if "anyOf" in schema:
        return _check_any_of(value, schema["anyOf"], path)
    if not _has_type(value, schema):
        return [f"argument {path!r} should be {_expected(schema)}, got {_describe(value)}"]
    options = schema.get("enum")
    if options is not None and not any(_same(value, option) for option in options):
        return [f"argument {path!r} should be {_expected(schema)}, got {_describe(value)}"]
    problems: list[str] = []
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += _check(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra_schema = schema.get("additionalProperties", True)
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"argument {path!r} is missing required key {key!r}")
        for key, item in value.items():
            if key in properties:
                problems += _check(item, properties[key], f"{path}.{key}")
            elif extra_schema is False:
                problems.append(f"argument {path!r} has unexpected key {key!r}")
            else:
                problems += _check(item, extra_schema, f"{path}.{key}")
    return problems


def _check_any_of(value: object, branches: list[Any], path: str) -> list[str]:
    branch_problems = [_check(value, branch, path) for branch in branches]
    if any(not problems for problems in branch_problems):
        return []
    # An array or object that only one branch takes: that branch's complaint is more precise.
    typed = [
        problems
        for branch, problems in zip(branches, branch_problems, strict=True)
        if _has_type(value, branch)
    ]
    if len(typed) == 1 and isinstance(value, list | dict):
        return typed[0]
    expected = " or ".join(_expected(branch) for branch in branches)
    return [f"argument {path!r} should be {expected}, got {_describe(value)}"]


def _has_type(value: object, schema: Mapping[str, Any]) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    names = [expected] if isinstance(expected, str) else expected
    actual = _json_schema.json_type_of(value)
    for name in names:
        if name == actual or (name == "number" and actual == "integer"):
            return True
        if name == "integer" and isinstance(value, float) and value.is_integer():
            return True
    return False


def _expected(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(_to_json(option) for option in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_expected(branch) for branch in schema["anyOf"])
    expected = schema.get("type")
    if expected is None:  # only in a hand-written schema: it says more than a type
        return "a value that fits its schema"
    return expected if isinstance(expected, str) else " or ".join(expected)


def _same(value: object, option: object) -> bool:
    # In Python True == 1; in JSON a boolean is never a number.
    return value == option and isinstance(value, bool) == isinstance(option, bool)


def _describe(value: object) -> str:
    json_type = _json_schema.json_type_of(value) or type(value).__name__
    return "null" if value is None else f"{json_type} {_to_json(value)}"


def _to_json(value: object) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    if len(text) > _SHORT_VALUE_LENGTH:
        return text[: _SHORT_VALUE_LENGTH - 3] + "..."
    return text


def _convert(value: Any, annotation: Any) -> Any:
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if origin is Annotated:
        return _convert(value, args[0])
    if not _json_schema.is_hashable(origin):
        return value
    supertype = getattr(annotation, "__supertype__", None)
    if supertype is not None:  # typing.NewType
        return _convert(value, supertype)
    if annotation is float and _json_schema.json_type_of(value) == "integer":
        return float(value)
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_member(value, list(annotation))
    if origin in _json_schema.LITERAL_ORIGINS:
        return _enum_member(value, [arg for arg in args if isinstance(arg, enum.Enum)])
    if isinstance(value, list) and origin in _json_schema.ARRAY_ORIGINS:
        items = [_convert(item, args[0]) if args else item for item in value]
        return tuple(items) if origin is tuple else items
    if isinstance(value, dict) and origin in _json_schema.OBJECT_ORIGINS and args:
        return {key: _convert(item, args[1]) for key, item in value.items()}
    if isinstance(value, dict) and is_typeddict(annotation):
        return convert_arguments(value, _typeddict_hints(annotation))
    if origin in _json_schema.UNION_ORIGINS:
        return _convert_union(value, args)
    return value


def _convert_union(value: object, args: tuple[Any, ...]) -> object:
    for arg in args:
        try:
            schema = _json_schema.schema_for(arg, "")
        except ToolDefinitionError:
            continue
        if not _check(value, schema, ""):
            return _convert(value, arg)
    return value


def _enum_member(value: object, members: list[enum.Enum]) -> object:
    return next((member for member in members if _same(member.value, value)), value)


def _typeddict_hints(typeddict: type) -> dict[str, Any]:
    try:
        fields = _json_schema.typeddict_fields(typeddict)
    except Exception:  # the schema could not be built either: leave the value as it is
        return {}
    return {key: value_type for key, (value_type, _) in fields.items()}
