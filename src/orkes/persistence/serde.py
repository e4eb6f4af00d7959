"""The checkpoint serializer: JSON with typed extensions, that can never run code on load.

Plain JSON values are stored as themselves, so a stored state stays readable. Other
values are tagged: ``{"__orkes__": "tuple", "v": [...]}``. The tags cover bytes,
datetime / date / time / timedelta, UUID, Decimal, tuple, set, frozenset, non-finite
floats, dicts whose keys are not all strings, and the dataclasses, Enum classes and
model classes (anything with ``model_dump`` / ``model_validate``, as pydantic's) that
you :func:`register`. Loading looks a type's name up in that registry only: it never
imports a module, never calls a constructor the data names, never unpickles.

A value of any other type is refused when it is written, naming where it is, so it is
never silently turned into a string.

Example:
    >>> from datetime import date
    >>> text = dumps({"when": date(2026, 11, 28), "tags": ("a", "b")})
    >>> text
    '{"when":{"__orkes__":"date","v":"2026-11-28"},"tags":{"__orkes__":"tuple","v":["a","b"]}}'
    >>> loads(text)
    {'when': datetime.date(2026, 11, 28), 'tags': ('a', 'b')}
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from orkes.errors import CheckpointError, SerializationError

__all__ = ["dumps", "loads", "register"]

TAG = "__orkes__"
MAX_DEPTH = 200
"""How deep values may nest (stored or loaded): deeper is refused, never a RecursionError."""

T = TypeVar("T", bound=type)

_registry: dict[str, type] = {}
_names: dict[type, str] = {}


def register(cls: T, *, name: str | None = None) -> T:
    """Let checkpoints store instances of ``cls``: a dataclass, an Enum, or a model class.

    A model class is one with ``model_dump()`` and ``model_validate(data)`` (pydantic's).
    The stored name is ``module.qualname`` unless ``name`` is given; loading rebuilds an
    instance only for a name registered in this process. A ``TypedDict`` needs no
    registering: its values are dicts. Usable as a decorator.

    Example:
        >>> @register
        ... @dataclasses.dataclass
        ... class Point:
        ...     x: int
        ...     y: int
        >>> loads(dumps([Point(1, 2)]))
        [Point(x=1, y=2)]
    """
    is_model = callable(getattr(cls, "model_dump", None)) and callable(
        getattr(cls, "model_validate", None)
    )
    if not isinstance(cls, type) or not (
        dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum) or is_model
    ):
        raise SerializationError(
            f"register() takes a dataclass, an Enum class or a model class (with model_dump "
            f"and model_validate), got {cls!r}"
        )
    key = name or f"{cls.__module__}.{cls.__qualname__}"
    known = _registry.get(key)
    if known is not None and known is not cls:
        raise SerializationError(
            f"the name {key!r} is registered for {known!r} already; give {cls!r} another "
            "with register(cls, name=...)"
        )
    _registry[key] = cls
    _names[cls] = key
    return cls


def dumps(value: object, *, where: str = "the value") -> str:
    """``value`` as compact JSON text.

    Raises:
        SerializationError: ``value`` holds something of a type checkpoints cannot store;
            the message starts with ``where`` and names the type and its place.
    """
    try:
        tree = _encode(value, where, None, 0)
    except RecursionError:  # a value that holds itself, or deeper than the stack allows
        raise SerializationError(f"{where} nests too deep (or holds itself)") from None
    return json.dumps(tree, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """The value :func:`dumps` made ``text`` from.

    Raises:
        CheckpointError: ``text`` is not what :func:`dumps` makes (broken JSON, an unknown
            tag or type name, a wrong shape, too deep, a number too long).
    """
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError, TypeError) as exc:
        raise CheckpointError(f"stored data is not readable JSON: {_short(exc)}") from None
    try:
        return _decode(tree, 0)
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError("stored data nests too deep") from None
    except (ValueError, TypeError, KeyError, OverflowError, decimal.InvalidOperation) as exc:
        raise CheckpointError(f"stored data has a wrong shape: {_short(exc)}") from None


def _encode(given: object, where: str, path: Any, depth: int) -> Any:
    value: Any = given
    if depth > MAX_DEPTH:
        raise SerializationError(
            f"{where} nests deeper than {MAX_DEPTH} levels at {_render(path) or '.'}"
        )
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else {TAG: "float", "v": repr(value)}
    if kind is list:
        return [_encode(item, where, (path, "[", i), depth + 1) for i, item in enumerate(value)]
    if kind is dict:
        items: dict[Any, Any] = value
        if all(type(key) is str for key in items) and TAG not in items:
            return {
                key: _encode(item, where, (path, "k", key), depth + 1)
                for key, item in items.items()
            }
        return {
            TAG: "dict",
            "v": [
                [_encode(key, where, (path, "<", None), depth + 1),
                 _encode(item, where, (path, "k", key), depth + 1)]
                for key, item in items.items()
            ],
        }  # fmt: skip
    name = _names.get(kind)
    if name is not None:
        return _encode_registered(value, name, where, path, depth)
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return {TAG: simple[0], "v": simple[1](value)}
    if kind in (tuple, set, frozenset):
        items_list: list[Any] = list(value)
        encoded = [
            _encode(item, where, (path, "[", i), depth + 1) for i, item in enumerate(items_list)
        ]
        return {TAG: kind.__name__, "v": encoded}
    place = _render(path) or "its top"
    raise SerializationError(
        f"{where} holds a {kind.__module__}.{kind.__qualname__} at {place}, which "
        "checkpoints cannot store: store plain data (str, numbers, lists, dicts, …), or "
        f"register the type with orkes.persistence.register({kind.__qualname__})"
    )


def _encode_registered(value: Any, name: str, where: str, path: Any, depth: int) -> Any:
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "type": name, "v": _encode(value.value, where, path, depth + 1)}
    if dataclasses.is_dataclass(value):
        fields = {
            field.name: _encode(
                getattr(value, field.name), where, (path, ".", field.name), depth + 1
            )
            for field in dataclasses.fields(value)
            if field.init
        }
        return {TAG: "dataclass", "type": name, "v": fields}
    dumped = value.model_dump()
    return {TAG: "model", "type": name, "v": _encode(dumped, where, path, depth + 1)}


def _render(path: Any) -> str:
    """A value's place, for messages: ``['docs'][2].owner`` (kept as links while encoding)."""
    parts: list[str] = []
    while path is not None:
        path, kind, part = path
        parts.append({"[": f"[{part}]", "k": f"[{part!r}]", "<": "<key>", ".": f".{part}"}[kind])
    return "".join(reversed(parts))


_SIMPLE: dict[type, tuple[str, Callable[[Any], Any]]] = {
    bytes: ("bytes", lambda v: base64.b64encode(v).decode("ascii")),
    dt.datetime: ("datetime", lambda v: _datetime_parts(v)),
    dt.date: ("date", lambda v: v.isoformat()),
    dt.time: ("time", lambda v: v.isoformat()),
    dt.timedelta: ("timedelta", lambda v: [v.days, v.seconds, v.microseconds]),
    uuid.UUID: ("uuid", str),
    decimal.Decimal: ("decimal", str),
}

_LOADERS: dict[str, Callable[[Any], Any]] = {
    "bytes": lambda v: base64.b64decode(_text(v), validate=True),
    "datetime": lambda v: _datetime_of(v),
    "date": lambda v: dt.date.fromisoformat(_text(v)),
    "time": lambda v: dt.time.fromisoformat(_text(v)),
    "timedelta": lambda v: dt.timedelta(*[_int(part) for part in _list(v, 3)]),
    "uuid": lambda v: uuid.UUID(_text(v)),
    "decimal": lambda v: decimal.Decimal(_text(v)),
    "float": lambda v: float(_choice(v, ("nan", "inf", "-inf"))),
}


def _decode(tree: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CheckpointError(f"stored data nests deeper than {MAX_DEPTH} levels")
    kind = type(tree)
    if kind is list:
        return [_decode(item, depth + 1) for item in tree]
    if kind is not dict:
        return tree  # str, int, float, bool, None: what JSON gives
    tag = tree.get(TAG)
    if tag is None:
        return {key: _decode(item, depth + 1) for key, item in tree.items()}
    value = tree.get("v")
    if tag in ("tuple", "set", "frozenset", "dict"):
        items = [_decode(item, depth + 1) for item in _list(value)]
        if tag == "dict":
            return dict(_pair(item) for item in items)
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
    loader = _LOADERS.get(tag) if isinstance(tag, str) else None
    if loader is not None:
        return loader(value)
    if tag in ("enum", "dataclass", "model"):
        return _decode_registered(tag, tree.get("type"), value, depth)
    raise CheckpointError(f"stored data has the unknown tag {str(tag)[:40]!r}")


def _decode_registered(tag: str, name: object, value: Any, depth: int) -> Any:
    cls = _registry.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CheckpointError(
            f"stored data names the type {str(name)[:80]!r}, which is not registered in this "
            "process: call orkes.persistence.register(TheClass) before loading"
        )
    if tag == "enum" and issubclass(cls, enum.Enum):
        return cls(_decode(value, depth + 1))
    if tag == "dataclass" and dataclasses.is_dataclass(cls):
        if not isinstance(value, dict):
            raise CheckpointError(f"stored data for {name!r} is not a mapping of fields")
        return cls(**{str(key): _decode(item, depth + 1) for key, item in value.items()})
    if tag == "model" and hasattr(cls, "model_validate"):
        return cls.model_validate(_decode(value, depth + 1))
    raise CheckpointError(f"stored data calls {name!r} a {tag}, which it is not")


def _datetime_parts(value: dt.datetime) -> Any:
    """ISO text; with a named zone (``zoneinfo``), the zone's key and the fold as well."""
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str) and type(value.tzinfo).__module__ == "zoneinfo":
        naive = value.replace(tzinfo=None).isoformat()
        return [naive, key, value.fold]
    return value.isoformat()


def _datetime_of(value: Any) -> dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    naive, key, fold = _list(value, 3)
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(_text(key))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise CheckpointError(
            f"stored data names the unknown time zone {str(key)[:40]!r}"
        ) from None
    moment = dt.datetime.fromisoformat(_text(naive)).replace(tzinfo=zone)
    return moment.replace(fold=_choice_int(fold))


def _choice_int(value: Any) -> int:
    if value not in (0, 1) or type(value) is not int:
        raise CheckpointError("stored data has a wrong fold for a time")
    return int(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CheckpointError(f"stored data has {type(value).__name__} where text belongs")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise CheckpointError(f"stored data has {type(value).__name__} where an int belongs")
    return value


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise CheckpointError("stored data has a wrong shape where a list belongs")
    return value


def _pair(item: Any) -> tuple[Any, Any]:
    if not isinstance(item, list) or len(item) != 2:
        raise CheckpointError("stored data has a wrong shape where a key and value belong")
    key, value = item
    try:
        hash(key)
    except TypeError:
        raise CheckpointError("stored data has an unhashable dict key") from None
    return key, value


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CheckpointError(f"stored data has {str(value)[:20]!r} where one of {allowed} belongs")
    return str(value)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:120]}"
