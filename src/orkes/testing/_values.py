"""What a recording keeps of a call, and the first thing that tells two calls apart.

A call is kept as plain JSON data — its messages, model, parameters, tools and reply —
cleaned by the rules of a tracer (:class:`orkes.tracing.Redact`'s defaults): values under
secret-sounding keys, strings that look like API keys, and every key the connector
holds are replaced by ``"[redacted]"``; tuples become lists, and a value that is not JSON
becomes ``{"$repr": ..., "type": ...}``, as in a trace file. A live call is cleaned the
same way before it is compared with the recorded one, so a secret in a prompt compares
equal without ever being written down.

:func:`first_difference` walks two calls in a fixed order (messages, model, params,
tools, tool schemas) and names the first place they differ, as a path into the call:
``messages[1].content``, ``params.temperature``, ``tools[0]``.

Example:
    >>> first_difference({"model": "a", "messages": [{"content": "2+2?"}]},
    ...                  {"model": "a", "messages": [{"content": "3+3?"}]})
    "messages[0].content was '2+2?', now '3+3?'"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orkes._cassette import CallRequest
from orkes.tracing._calls import secrets_of
from orkes.tracing._clean import MARKER, Cleaner
from orkes.tracing.records import Repr
from orkes.tracing.redact import Redact

__all__ = ["FIELDS", "Cleaning", "first_difference", "plain"]

FIELDS = ("messages", "model", "params", "tools", "tool_schemas")
"""What a call is compared on, in the order differences are looked for."""

_SHOWN = 70  # characters of a value that a message shows


class Cleaning:
    """One tape's cleaning: the default redaction rules, and the keys of the connectors seen."""

    __slots__ = ("_cleaner",)

    def __init__(self) -> None:
        self._cleaner = Cleaner(Redact())

    def call(self, request: CallRequest) -> dict[str, Any]:
        """``request`` as a recording holds it (the fields of :data:`FIELDS`)."""
        cleaner = self._cleaner
        cleaner.learn([*request.secrets, *secrets_of(request.connector, cleaner)])
        schemas = request.schemas
        return {
            "messages": self.value(list(request.messages)),
            "model": request.model,
            "params": self.value(dict(request.params)),
            "tools": [str(name) for name in request.tools],
            "tool_schemas": None if schemas is None else self.value(list(schemas)),
        }

    def value(self, value: object) -> Any:
        """``value`` cleaned, as plain JSON data."""
        return plain(self._cleaner.value(value))


def plain(value: Any) -> Any:
    """A cleaned value as JSON data: each :class:`~orkes.tracing.Repr` made a marked object."""
    if isinstance(value, Repr):
        return {MARKER: value.text, "type": value.type}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def first_difference(recorded: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
    """Where ``live`` first differs from ``recorded``: ``"<path> was <value>, now <value>"``.

    Both are calls as :class:`Cleaning` makes them; ``None`` if they are the same. Tool
    schemas are compared only when both calls have them (a trace keeps none).
    """
    for name in FIELDS:
        was, now = recorded.get(name), live.get(name)
        if name == "tool_schemas" and (was is None or now is None):
            continue
        found = _difference(name, was, now)
        if found is not None:
            return found
    return None


def _difference(where: str, was: Any, now: Any) -> str | None:
    if isinstance(was, Mapping) and isinstance(now, Mapping):
        for key in [*was, *(key for key in now if key not in was)]:
            inner = f"{where}.{key}" if str(key).isidentifier() else f"{where}[{key!r}]"
            if key not in now:
                return f"{inner} was {_shown(was[key])}, now absent"
            if key not in was:
                return f"{inner} was absent, now {_shown(now[key])}"
            found = _difference(inner, was[key], now[key])
            if found is not None:
                return found
        return None
    if isinstance(was, list) and isinstance(now, list):
        for index in range(max(len(was), len(now))):
            inner = f"{where}[{index}]"
            if index >= len(now):
                return f"{inner} was {_shown(was[index])}, now absent"
            if index >= len(was):
                return f"{inner} was absent, now {_shown(now[index])}"
            found = _difference(inner, was[index], now[index])
            if found is not None:
                return found
        return None
    if type(was) is type(now) and was == now:  # strict: 1, 1.0 and True are not the same
        return None
    if isinstance(was, str) and isinstance(now, str) and max(len(was), len(now)) > _SHOWN:
        return _text_difference(where, was, now)
    return f"{where} was {_shown(was)}, now {_shown(now)}"


def _text_difference(where: str, was: str, now: str) -> str:
    """Two long texts: where they part, and a little of each from just before there."""
    shorter = min(len(was), len(now))
    at = next((i for i in range(shorter) if was[i] != now[i]), shorter)
    start = max(0, at - 20)

    def excerpt(text: str) -> str:
        piece = text[start : at + 40]
        return ("..." if start else "") + piece + ("..." if at + 40 < len(text) else "")

    return f"{where} differs from character {at}: was {excerpt(was)!r}, now {excerpt(now)!r}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
