"""Text in pictures: what a name shows as, and how many columns it takes.

Node names are any ``str``: they may hold control characters, lone surrogates, wide
CJK letters or combining accents. Every picture shows :func:`printable` text, sized in
terminal columns by :func:`columns` (no font is measured: a picture's size depends on
its text alone).
"""

from __future__ import annotations

import unicodedata

__all__ = ["char_columns", "columns", "printable", "xml_escape"]

_REPLACEMENT = "\ufffd"
_HIDDEN = frozenset({"Cc", "Cs", "Cn", "Co", "Zl", "Zp"})  # no glyph, or not valid XML
# Embeddings, overrides and isolates: they would turn round the picture's text after them.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    r"""``text`` with characters that can't be shown (controls, surrogates) as U+FFFD.

    So are the controls that reorder text (a right-to-left override): in a terminal
    they would turn round the rest of the line, box edges and all.

    Example:
        >>> printable("a\nb")
        'a\ufffdb'
    """
    if text.isprintable() and text.isascii():
        return text
    return "".join(
        _REPLACEMENT if ch in _REORDERING or unicodedata.category(ch) in _HIDDEN else ch
        for ch in text
    )


def char_columns(ch: str) -> int:
    """Columns one character takes: 2 for wide CJK, 0 for combining marks, else 1."""
    if ch.isascii():
        return 1
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def columns(text: str) -> int:
    """Columns ``text`` takes in a terminal (and, times a char width, in an SVG).

    Example:
        >>> columns("plan"), columns("計画")
        (4, 4)
    """
    if text.isascii():
        return len(text)
    return sum(char_columns(ch) for ch in text)


def xml_escape(text: str) -> str:
    """``text`` made safe for XML text and attribute values (quotes included).

    Example:
        >>> xml_escape('<a href="x">&</a>')
        '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;'
    """
    return (
        printable(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )
