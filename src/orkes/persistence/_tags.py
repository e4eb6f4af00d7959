"""The serializer's typed scalars: how each is written as JSON, and read back with care.

A scalar is a value that holds no other values: bytes, the datetime family, UUID,
Decimal, the floats JSON has no word for, and ints too long for plain JSON. ``WRITERS``
maps its exact type to its tag and a function giving JSON; ``READERS`` maps the tag to a
function taking that JSON back. A reader is handed whatever the stored data holds, so it
checks every shape and raises ``CheckpointError`` for what does not fit (or lets a
``ValueError`` / ``TypeError`` / ``OverflowError`` of the stdlib pass, which
:func:`~orkes.persistence.serde.loads` turns into one).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any

from orkes.errors import CheckpointError

__all__ = ["PLAIN_INT_BITS", "READERS", "WRITERS", "list_of", "text_of"]

PLAIN_INT_BITS = 13_000
"""Ints up to this many bits (about 3,900 digits) are written as JSON numbers.

Longer ones are written in hex: Python refuses to read a decimal int longer than
``sys.get_int_max_str_digits()`` (4,300 digits by default), and reading one is slow.
"""

_HEX_INT = re.compile(r"-?[0-9a-f]+")
# The names the IANA database uses: no dots, no leading "/", no "..": a key read from
# stored data can only name a zone file, never a path or module elsewhere.
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]{1,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}")


def text_of(value: Any) -> str:
    """``value`` if it is a ``str``; else ``CheckpointError``."""
    if type(value) is not str:
        raise CheckpointError(f"stored data has {type(value).__name__} where text belongs")
    return value


def list_of(value: Any, length: int | None = None) -> list[Any]:
    """``value`` if it is a list (of ``length`` items, if given); else ``CheckpointError``."""
    if type(value) is not list or (length is not None and len(value) != length):
        raise CheckpointError("stored data has a wrong shape where a list belongs")
    return value


def _int_of(value: Any) -> int:
    if type(value) is not int:
        raise CheckpointError(f"stored data has {type(value).__name__} where an int belongs")
    return value


def _moment_parts(value: dt.datetime | dt.time) -> Any:
    """ISO text; ``[text, zone key or None, fold]`` where ISO text would lose something.

    ISO text keeps only the offset and drops ``fold``: a ``datetime`` in
    ``Europe/Paris`` would come back in ``UTC+01:00`` (wrong once the clocks change), a
    ``time`` in it naive, the second 01:30 of a night the clocks go back as the first.
    """
    zone = value.tzinfo
    key = getattr(zone, "key", None)
    if isinstance(key, str) and type(zone).__module__ == "zoneinfo":
        return [value.replace(tzinfo=None).isoformat(), key, value.fold]
    if value.fold:
        return [value.isoformat(), None, value.fold]
    return value.isoformat()


def _datetime_of(stored: Any) -> dt.datetime:
    if type(stored) is str:
        return dt.datetime.fromisoformat(stored)
    text, key, fold = list_of(stored, 3)
    moment = dt.datetime.fromisoformat(text_of(text))
    zone = moment.tzinfo if key is None else _zone(key)
    return moment.replace(tzinfo=zone, fold=_fold(fold))


def _time_of(stored: Any) -> dt.time:
    if type(stored) is str:
        return dt.time.fromisoformat(stored)
    text, key, fold = list_of(stored, 3)
    moment = dt.time.fromisoformat(text_of(text))
    zone = moment.tzinfo if key is None else _zone(key)
    return moment.replace(tzinfo=zone, fold=_fold(fold))


def _zone(key: Any) -> dt.tzinfo:
    import zoneinfo  # loaded by the threads that store named zones only

    name = text_of(key)
    if _ZONE_KEY.fullmatch(name) is not None:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise CheckpointError(f"stored data names the unknown time zone {name[:40]!r}")


def _fold(value: Any) -> int:
    if type(value) is not int or value not in (0, 1):
        raise CheckpointError("stored data has a wrong fold for a time")
    return value


def _float_of(stored: Any) -> float:
    if stored not in ("nan", "inf", "-inf"):
        raise CheckpointError(f"stored data has {str(stored)[:20]!r} for a float")
    return float(stored)


def _int_from_hex(stored: Any) -> int:
    text = text_of(stored)
    if _HEX_INT.fullmatch(text) is None:
        raise CheckpointError(f"stored data has {text[:20]!r} for a long int")
    return int(text, 16)  # linear in the digits, unlike base 10: no limit needed


WRITERS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    bytes: ("bytes", lambda value: base64.b64encode(value).decode("ascii")),
    dt.datetime: ("datetime", _moment_parts),
    dt.date: ("date", lambda value: value.isoformat()),
    dt.time: ("time", _moment_parts),
    dt.timedelta: ("timedelta", lambda value: [value.days, value.seconds, value.microseconds]),
    uuid.UUID: ("uuid", str),
    decimal.Decimal: ("decimal", str),
    float: ("float", repr),  # only nan, inf and -inf: finite floats are plain JSON
    int: ("int", lambda value: format(value, "x")),  # only ints over PLAIN_INT_BITS
}
"""Exact type -> (tag, function giving the JSON stored under ``"v"``)."""

READERS: dict[str, Callable[[Any], Any]] = {
    "bytes": lambda stored: base64.b64decode(text_of(stored), validate=True),
    "datetime": _datetime_of,
    "date": lambda stored: dt.date.fromisoformat(text_of(stored)),
    "time": _time_of,
    "timedelta": lambda stored: dt.timedelta(*map(_int_of, list_of(stored, 3))),
    "uuid": lambda stored: uuid.UUID(text_of(stored)),
    "decimal": lambda stored: decimal.Decimal(text_of(stored)),
    "float": _float_of,
    "int": _int_from_hex,
}
"""Tag -> function taking the JSON stored under ``"v"`` back to the value."""
