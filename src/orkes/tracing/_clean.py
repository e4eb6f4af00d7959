"""Making a value fit for a trace: JSON, redacted, a copy that later changes do not reach.

:class:`Cleaner` applies a tracer's :class:`~orkes.tracing.redact.Redact` rules in one
walk over a value: mappings with ``str`` keys become ``dict``, lists and tuples ``list``,
``None``, ``bool``, ``int``, finite ``float`` and ``str`` stay (strings redacted), and
anything else becomes a :class:`~orkes.tracing.records.Repr` of its redacted ``repr``.
The walk copies containers, so a list a node appends to later does not change what was
recorded; it stops at cycles and at a depth of 64. Cleaning a clean value changes
nothing, so a value of immutable scalars may wait to be cleaned until it is read.
"""

from __future__ import annotations

import math
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from orkes.tracing.records import ErrorRecord, Repr
from orkes.tracing.redact import REDACTED, Redact, matcher

__all__ = ["MARKER", "SCALARS", "Cleaner", "type_name"]

MARKER = "$repr"
"""The key that marks a :class:`Repr` in JSON; a mapping holding it is kept as a ``Repr``."""

_MAX_DEPTH = 64
_MAX_KEY_VERDICTS = 4096
_PLAIN = frozenset({int, bool, type(None)})  # kept as they are, no look inside
SCALARS = frozenset({int, bool, type(None), float, str})
"""Immutable values: an update of only these may be cleaned later, when it is read."""


class Cleaner:
    """One tracer's rules, compiled; learns connectors' keys as runs go (thread-safe)."""

    __slots__ = ("_allow", "_keys", "_lock", "_secrets", "_values", "_verdicts", "_wanted")

    def __init__(self, rules: Redact) -> None:
        self._keys = matcher(rules.keys)
        self._allow = matcher(rules.allow)
        self._verdicts: dict[str, bool] = {}  # key -> hidden?, for the keys seen so far
        self._lock = threading.Lock()
        self._values = rules.values
        self._secrets: frozenset[str] = frozenset()
        self._wanted: re.Pattern[str] | None = None
        self.learn(rules.secrets)

    def learn(self, secrets: Iterable[str]) -> None:
        """Hide these exact strings too, from now on (empty and short ones are ignored)."""
        new = {s for s in secrets if isinstance(s, str) and len(s) >= 4} - self._secrets
        if not new:
            return
        with self._lock:
            known = self._secrets | new
            # Longest first: a key that contains another is hidden whole.
            exact = [re.escape(s) for s in sorted(known, key=len, reverse=True)]
            self._wanted = re.compile("|".join([*map(_group, self._values), *exact]))
            self._secrets = known

    def hides(self, key: str) -> bool:
        """Whether the value under mapping key ``key`` is hidden."""
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._keys.fullmatch(key) is not None and (self._allow.fullmatch(key) is None)
            if len(self._verdicts) < _MAX_KEY_VERDICTS:
                self._verdicts[key] = verdict
        return verdict

    def text(self, text: str) -> str:
        """``text`` with every secret in it replaced by ``"[redacted]"``."""
        wanted = self._wanted
        if wanted is None:
            if not self._values:
                return text
            wanted = self._wanted = re.compile("|".join(map(_group, self._values)))
        if wanted.search(text) is None:
            return text
        return wanted.sub(REDACTED, text)

    def mapping(self, value: Mapping[Any, Any]) -> dict[str, Any]:
        """A mapping a record holds as such (a state, an update, headers), cleaned.

        Its keys are made ``str``; unlike a mapping inside a value, it may hold any key.
        """
        verdicts = self._verdicts
        above: set[int] | None = None
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                key = str(key)
            hidden = verdicts.get(key)
            if hidden is None:
                hidden = self.hides(key)
            if hidden:
                kept[key] = REDACTED
            elif type(item) in _PLAIN:
                kept[key] = item
            elif type(item) is str:
                kept[key] = self.text(item)
            else:
                if above is None:
                    above = {id(value)}
                kept[key] = self._walk(item, 1, above)
        return kept

    def value(self, value: object) -> Any:
        """``value`` as a trace keeps it (see the module's docs)."""
        return self._walk(value, 0, set())

    def _walk(self, value: object, depth: int, above: set[int]) -> Any:
        if type(value) in _PLAIN or type(value) is Repr:  # a Repr: cleaned already
            return value
        if type(value) is str:
            return self.text(value)
        if type(value) is float:
            return value if math.isfinite(value) else self.repr_of(value)
        if isinstance(value, (Mapping, list, tuple)):
            if depth >= _MAX_DEPTH or id(value) in above:
                return Repr("...", type_name(value))  # a cycle, or too deep to be useful
            above.add(id(value))
            try:
                if isinstance(value, Mapping):
                    return self._mapping(value, depth, above)
                return [self._walk(item, depth + 1, above) for item in value]
            finally:
                above.discard(id(value))
        return self.repr_of(value)

    def _mapping(self, value: Mapping[Any, Any], depth: int, above: set[int]) -> Any:
        if not all(type(key) is str for key in value) or MARKER in value:
            return self.repr_of(value)
        return {
            key: REDACTED if self.hides(key) else self._walk(item, depth + 1, above)
            for key, item in value.items()
        }

    def repr_of(self, value: object) -> Repr:
        """``value``'s ``repr``, redacted (a ``repr`` that raises is named so)."""
        try:
            text = repr(value)
        except Exception as exc:
            text = f"<{type_name(value)} whose repr raised {type(exc).__name__}>"
        return Repr(self.text(text), type_name(value))

    def error(self, error: BaseException) -> ErrorRecord:
        """``error`` as a record: its type, message and formatted traceback, redacted."""
        try:
            message = str(error)
        except Exception:
            message = f"<{type_name(error)} whose str raised>"
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        return ErrorRecord(type_name(error), self.text(message), self.text("".join(lines)))


def type_name(value: object) -> str:
    """``"module.QualName"`` of ``value``'s type; builtins by their bare name."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _group(pattern: str) -> str:
    return f"(?:{pattern})"
