"""The checkpoint serializer: JSON with typed extensions, that can never run code on load.

Plain JSON values are stored as themselves, so a stored state stays readable. Other
values are tagged: ``{"__orkes__": "tuple", "v": [...]}``. The tags cover bytes,
datetime / date / time / timedelta, UUID, Decimal, tuple, set, frozenset, non-finite
floats, ints too long for plain JSON, dicts whose keys are not all strings (and dicts
that use the key ``"__orkes__"`` themselves), and the dataclasses, Enum classes and
model classes (anything with ``model_dump`` / ``model_validate``, as pydantic's) that
you :func:`register`. Loading looks a type's name up in that registry only: it never
imports a module, never calls a constructor the data names, never unpickles.

A value of any other type is refused when it is written, naming where it is, so it is
never silently turned into a string. Stored data that is not what :func:`dumps` makes
gives ``CheckpointError``, whatever it holds.

Example:
    >>> from datetime import date
    >>> text = dumps({"when": date(2026, 11, 28), "tags": ("a", "b")})
    >>> text
    '{"when":{"__orkes__":"date","v":"2026-11-28"},"tags":{"__orkes__":"tuple","v":["a","b"]}}'
    >>> loads(text)
    {'when': datetime.date(2026, 11, 28), 'tags': ('a', 'b')}
"""

from __future__ import annotations

import dataclasses
import decimal
import enum
import json
import math
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from typing_extensions import is_typeddict

from orkes.errors import CheckpointError, SerializationError
from orkes.persistence._tags import PLAIN_INT_BITS, READERS, WRITERS, list_of

__all__ = ["dumps", "loads", "register"]

TAG = "__orkes__"
"""The key that marks a tagged value; a user's dict holding it is stored tagged itself."""

MAX_DEPTH = 200
"""How deep values may nest (stored or loaded): deeper is refused, never a RecursionError.

A level costs at most three Python frames, or three levels of JSON: the deepest value
needs about 600 of Python's default recursion limit of 1,000, and the caller may
already be 350 frames deep: whatever :func:`dumps` writes, :func:`loads` reads. (Past
the limit, either raises its own error, never ``RecursionError``.)
"""


T = TypeVar("T", bound=type)


class _Model(Protocol):
    """A pydantic-like model class (registering one is how it is known: never by name)."""

    @classmethod
    def model_validate(cls, data: Any) -> Any: ...

    def model_dump(self) -> Any: ...


_registry: dict[str, type] = {}
_names: dict[type, str] = {}
_COLLECTIONS: dict[str, type[tuple[Any, ...] | set[Any] | frozenset[Any]]] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
}


def register(cls: T, *, name: str | None = None) -> T:
    """Let checkpoints store instances of ``cls``: a dataclass, an Enum, or a model class.

    A model class is one with ``model_dump()`` and ``model_validate(data)`` (pydantic's).
    The stored name is ``module.qualname`` unless ``name`` is given; loading rebuilds an
    instance only for a name registered in this process, by calling this class. Fields
    and values inside must be storable too (plain data, or registered). A ``TypedDict``
    is accepted but needs no registering: its values are plain dicts. Usable as a
    decorator.

    Raises:
        SerializationError: ``cls`` is none of these, or another class is registered
            under the same name.

    Example:
        >>> @register
        ... @dataclasses.dataclass
        ... class Point:
        ...     x: int
        ...     y: int
        >>> loads(dumps([Point(1, 2)]))
        [Point(x=1, y=2)]
    """
    if _kind(cls) is None:
        if isinstance(cls, type) and is_typeddict(cls):
            return cls
        raise SerializationError(
            "register() takes a dataclass, an Enum class, a TypedDict or a model class (with "
            f"model_dump and model_validate), got {cls!r}"
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
    """``value`` as compact JSON text (plain JSON stays as it is).

    Raises:
        SerializationError: ``value`` holds something of a type checkpoints cannot store,
            or nests deeper than ``MAX_DEPTH``; the message starts with ``where`` and
            names the type and its place in ``value``.

    Example:
        >>> dumps({"seen": [(1, 2), {3: b"hi"}]})
        '{"seen":[{"__orkes__":"tuple","v":[1,2]},{"__orkes__":"dict","v":[[3,{"__orkes__":...}]]}]}'
        >>> dumps({"f": [object()]}, where="key 'f'")
        Traceback (most recent call last):
        ...
        orkes.errors.SerializationError: key 'f' holds a builtins.object at ['f'][0], which ...
    """
    try:
        tree = value if _plain(value, 0) else _encode(value, where, None, 0)
        return json.dumps(tree, separators=(",", ":"), allow_nan=False)
    except RecursionError:  # a model_dump() that recursed, or a stack already near its end
        raise SerializationError(f"{where} nests too deep to store here") from None


def loads(text: str | bytes) -> Any:
    """The value :func:`dumps` made ``text`` from.

    Raises:
        CheckpointError: ``text`` is not what :func:`dumps` makes (broken JSON, an unknown
            tag or type name, a wrong shape, too deep, a number too long, a registered
            class that refused the stored fields); never another exception.

    Example:
        >>> loads('{"__orkes__":"tuple","v":[1,{"__orkes__":"float","v":"inf"}]}')
        (1, inf)
        >>> loads('{"__orkes__":"dataclass","type":"os.system","v":{"command":"ls"}}')
        Traceback (most recent call last):
        ...
        orkes.errors.CheckpointError: stored data names the type 'os.system', which is not ...
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


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` is JSON as it stands (most states are): then nothing is rebuilt."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH or TAG in value:
            return False
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) is not str and item is not None and not _plain(item, depth + 1):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        for item in value:
            if type(item) is not str and item is not None and not _plain(item, depth + 1):
                return False
        return True
    if kind is int:
        return int.bit_length(value) <= PLAIN_INT_BITS
    if kind is float:
        return math.isfinite(value)
    return kind is str or kind is bool or value is None


def _encode(given: object, where: str, path: Any, depth: int) -> Any:
    # ``path`` is a linked list of (parent, kind, part), rendered only for a message.
    value: Any = given
    if depth > MAX_DEPTH:
        raise SerializationError(
            f"{where} nests deeper than {MAX_DEPTH} levels (or holds itself) at {_render(path)}",
            at=_render(path),
        )
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if (kind is int and value.bit_length() <= PLAIN_INT_BITS) or (
        kind is float and math.isfinite(value)
    ):
        return value
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
    writer = WRITERS.get(kind)
    if writer is not None:
        return {TAG: writer[0], "v": writer[1](value)}
    if kind in (tuple, set, frozenset):
        return {
            TAG: kind.__name__,
            "v": [_encode(item, where, (path, "[", i), depth + 1) for i, item in enumerate(value)],
        }
    raise SerializationError(
        f"{where} holds a {kind.__module__}.{kind.__qualname__} at {_render(path)}, which "
        "checkpoints cannot store: store plain data (str, numbers, lists, dicts, …), or "
        f"register the type with orkes.persistence.register({kind.__qualname__})",
        type_name=f"{kind.__module__}.{kind.__qualname__}",
        at=_render(path),
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
    """A value's place, for messages: ``['docs'][2].owner``; a very long one cut short."""
    parts: list[str] = []
    while path is not None:
        path, kind, part = path
        parts.append({"[": f"[{part}]", "k": f"[{part!r}]", "<": "<key>", ".": f".{part}"}[kind])
    parts.reverse()
    if len(parts) > 12:
        parts[6:-4] = [f"…({len(parts) - 10} more)…"]
    return "".join(parts) or "its top"


def _decode(tree: Any, depth: int) -> Any:
    """The value ``tree`` (fresh from ``json.loads``, so ours to change) was made from."""
    if depth > MAX_DEPTH:
        raise CheckpointError(f"stored data nests deeper than {MAX_DEPTH} levels")
    if type(tree) is list:
        for index, item in enumerate(tree):
            if type(item) is list or type(item) is dict:
                tree[index] = _decode(item, depth + 1)
        return tree
    if type(tree) is not dict:
        return tree  # str, int, float, bool, None: what JSON gives
    if TAG in tree:
        return _decode_tagged(tree, depth)
    for key, item in tree.items():  # replacing values while iterating is allowed
        if type(item) is list or type(item) is dict:
            tree[key] = _decode(item, depth + 1)
    return tree


def _decode_tagged(tree: dict[str, Any], depth: int) -> Any:
    # Values inside are decoded here, not in helpers: two frames a level, not three.
    tag = tree[TAG]
    stored = tree.get("v")
    if type(tag) is not str:
        raise CheckpointError(f"stored data has the tag {str(tag)[:40]!r}, which is not text")
    collection = _COLLECTIONS.get(tag)
    if collection is not None:
        items = list_of(stored)
        for index, item in enumerate(items):
            items[index] = _decode(item, depth + 1)
        return collection(items)
    if tag == "dict":
        result: dict[Any, Any] = {}
        for pair in list_of(stored):
            key, item = list_of(pair, 2)
            result[_decode(key, depth + 1)] = _decode(item, depth + 1)
        return result
    reader = READERS.get(tag)
    if reader is not None:
        return reader(stored)
    if tag not in ("enum", "dataclass", "model"):
        raise CheckpointError(f"stored data has the unknown tag {tag[:40]!r}")
    name, cls = _registered(tag, tree.get("type"))
    if tag == "dataclass":
        if type(stored) is not dict:
            raise CheckpointError(f"stored data for {name!r} is not a mapping of fields")
        for key, item in stored.items():
            stored[key] = _decode(item, depth + 1)
        return _rebuild(name, cls, **stored)
    if tag == "enum":
        return _rebuild(name, cls, _decode(stored, depth + 1))
    return _rebuild(name, cast("type[_Model]", cls).model_validate, _decode(stored, depth + 1))


def _registered(tag: str, name: object) -> tuple[str, type]:
    """The class registered as ``name``, if it is stored as ``tag``; never another."""
    cls = _registry.get(name) if type(name) is str else None
    if cls is None:
        raise CheckpointError(
            f"stored data names the type {str(name)[:80]!r}, which is not registered in this "
            "process: call orkes.persistence.register(TheClass) before loading"
        )
    if _kind(cls) != tag:
        raise CheckpointError(f"stored data calls {name!r} a {tag}, which it is not")
    return str(name), cls


def _rebuild(name: object, build: Callable[..., Any], /, *args: Any, **fields: Any) -> Any:
    """Call a registered class (never one the data names) on what was stored for it."""
    try:
        return build(*args, **fields)
    except Exception as exc:  # the class refused the stored fields, as its own code decided
        raise CheckpointError(
            f"stored data for {name!r} could not be rebuilt: {_short(exc)}"
        ) from exc


def _kind(cls: object) -> str | None:
    """``"enum"``, ``"dataclass"`` or ``"model"``: how instances of ``cls`` are stored."""
    if not isinstance(cls, type):
        return None
    if issubclass(cls, enum.Enum):
        return "enum"
    if dataclasses.is_dataclass(cls):
        return "dataclass"
    if callable(getattr(cls, "model_dump", None)) and callable(
        getattr(cls, "model_validate", None)
    ):
        return "model"
    return None


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:120]}"
