"""Text for the inspector: every string of a run escaped, values and times made readable.

Every string that reaches the page from a run goes through :func:`esc` (or
:func:`pre`, which calls it): ``&``, ``<``, ``>`` and both quotes become entities, so
the text can't open a tag or leave an attribute, and characters that are no text at
all (NUL, other controls, lone surrogates) show as U+FFFD, as do the controls that
reorder text (a right-to-left override, an isolate): one in a node's name would
otherwise turn round the page's own words after it. The page is built only of such
text and of markup written here.

Example:
    >>> esc("</script><script>alert(1)</script>")
    '&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> print(pretty({"n": 1, "tags": ["a", "b"]}))
    {
      "n": 1,
      "tags": ["a", "b"]
    }
    >>> duration(0.0123), duration(2.5)
    ('12.3 ms', '2.50 s')
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from typing import Any

from orkes.tracing.records import Repr

__all__ = ["INSIDE", "LIMIT", "TIMES", "duration", "esc", "moment", "pre", "pretty"]

INSIDE = " \u203a "
"""Between the names of a path (a right-pointing angle quotation mark)."""

TIMES = "\u00d7"
"""Before the count of a node's attempts (the multiplication sign)."""

LIMIT = 100_000
"""The most characters a value shows; the rest is cut, saying how much."""

_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = 72  # a list of scalars this long (or shorter) shows on one line


def esc(text: object) -> str:
    """``text`` (or ``str(text)``) safe as HTML text and as a quoted attribute value."""
    value = text if isinstance(text, str) else str(text)
    return html.escape(_NOT_TEXT.sub("\ufffd", value), quote=True)


def pre(text: str, kind: str = "value") -> str:
    """``text`` in a ``<pre>`` of class ``kind``, escaped, cut at :data:`LIMIT`."""
    if len(text) > LIMIT:
        text = f"{text[:LIMIT]}\n… ({len(text) - LIMIT:,} more characters)"
    return f'<pre class="{kind}">{esc(text)}</pre>'


def pretty(value: Any) -> str:
    """A value of a trace as indented JSON; a :class:`Repr` as its text; a text as it is.

    A string with line breaks shows as it is (a model's answer, a document) rather
    than as one long JSON line with its breaks escaped.
    """
    if isinstance(value, str) and "\n" in value:
        return value
    return _pretty(value, "")


def _pretty(value: Any, pad: str) -> str:
    if type(value) is Repr:
        return value.text
    inner = pad + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{inner}{_scalar(str(key))}: {_pretty(item, inner)}" for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if not any(isinstance(item, (dict, list)) for item in value):
            line = "[" + ", ".join(_pretty(item, inner) for item in value) + "]"
            if len(line) <= _SHORT and "\n" not in line:
                return line
        return "[\n" + ",\n".join(inner + _pretty(item, inner) for item in value) + f"\n{pad}]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON after all: a hand-made trace
        return repr(value)


def duration(seconds: float) -> str:
    """``seconds`` as people read a span: µs, ms, s or minutes."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(seconds, 0.0)
    if seconds < 1e-5:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def moment(epoch: float) -> str:
    """A time (seconds since the epoch) as UTC: ``2025-01-31 12:00:00.123 UTC``."""
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
    except (OverflowError, OSError, ValueError):
        return repr(epoch)
    return f"{stamp}.{int(epoch % 1 * 1000):03d} UTC"
