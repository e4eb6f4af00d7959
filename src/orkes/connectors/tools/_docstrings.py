"""A tool's docstring, read for the model: what the tool does, and what each parameter means.

Three styles are understood. Google style lists parameters under an ``Args:`` (or
``Arguments:``, ``Parameters:``, ``Keyword Args:``, ...) heading, one ``name (type): text``
entry per parameter, with indented continuation lines. NumPy style underlines a
``Parameters`` (or ``Other Parameters``, ...) heading with dashes and gives each parameter
a ``name : type`` line (``a, b : int`` for two), its text indented below. reST style uses
``:param name: text`` fields (``:param int name:`` too); ``:type name:`` fields are
dropped, since the schema already carries the types. Everything else in the docstring,
other sections included, is the tool's description.

Example:
    >>> doc = '''Add two numbers.
    ...
    ... Args:
    ...     a: The first number.
    ...     b (int): The second one,
    ...         which may be negative.
    ... '''
    >>> parsed = parse_docstring(doc)
    >>> parsed.description
    'Add two numbers.'
    >>> parsed.parameters
    {'a': 'The first number.', 'b': 'The second one, which may be negative.'}
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["ParsedDocstring", "parse_docstring"]

_PARAMETER_SECTIONS = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "other parameters",
    }
)
_SECTION_HEADING = re.compile(r"^(?P<title>[A-Za-z][A-Za-z ]*):\s*$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?:\([^)]*\))?\s*:(?P<text>.*)$")
_REST_FIELD = re.compile(
    r"^:(?P<kind>param|parameter|arg|argument|key|keyword|type)\s+"
    r"(?:[^:]*\s)?\*{0,2}(?P<name>\w+)\s*:(?P<text>.*)$"
)


@dataclass(frozen=True, slots=True)
class ParsedDocstring:
    """A docstring split into the tool's description and one description per parameter."""

    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


def parse_docstring(docstring: str | None) -> ParsedDocstring:
    r"""Split ``docstring`` into the description and the parameters' descriptions.

    Example:
        >>> parse_docstring(":param city: Where to look.\n:type city: str")
        ParsedDocstring(description='', parameters={'city': 'Where to look.'})
        >>> parse_docstring(None)
        ParsedDocstring(description='', parameters={})
    """
    if not docstring:
        return ParsedDocstring()
    lines = [line.rstrip() for line in inspect.cleandoc(docstring).splitlines()]
    description_lines: list[str] = []
    parameters: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _SECTION_HEADING.match(line)
        if heading and heading["title"].strip().lower() in _PARAMETER_SECTIONS:
            index = _read_google_entries(lines, index + 1, parameters)
            continue
        if _numpy_heading(lines, index) in _PARAMETER_SECTIONS:
            index = _read_numpy_entries(lines, index + 2, parameters)
            continue
        rest_field = _REST_FIELD.match(line)
        if rest_field:
            parts = [rest_field["text"]]
            index += 1
            # A field goes on over the following indented lines.
            while index < len(lines) and lines[index][:1].isspace():
                parts.append(lines[index])
                index += 1
            if rest_field["kind"] != "type":
                parameters[rest_field["name"]] = _join(parts)
            continue
        description_lines.append(line)
        index += 1
    description = re.sub(r"\n{3,}", "\n\n", "\n".join(description_lines)).strip()
    return ParsedDocstring(description, parameters)


def _read_google_entries(lines: list[str], start: int, parameters: dict[str, str]) -> int:
    """Read the entries of an ``Args:`` section into ``parameters``; return where it ends."""
    entry_indent: int | None = None
    name: str | None = None
    parts: list[str] = []
    index = start
    while index < len(lines):
        line = lines[index]
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped and indent == 0:
            break  # the next section, or the description going on
        if stripped:
            if entry_indent is None:
                entry_indent = indent
            entry = _GOOGLE_ENTRY.match(stripped) if indent == entry_indent else None
            if entry:
                if name is not None:
                    parameters[name] = _join(parts)
                name, parts = entry["name"], [entry["text"]]
            else:
                parts.append(stripped)
        index += 1
    if name is not None:
        parameters[name] = _join(parts)
    return index


def _numpy_heading(lines: list[str], index: int) -> str | None:
    """The title of the NumPy section that starts at ``index`` (a line, then dashes), if any."""
    if index + 1 < len(lines) and _UNDERLINE.match(lines[index + 1]) and lines[index].strip():
        return lines[index].strip().lower()
    return None


def _read_numpy_entries(lines: list[str], start: int, parameters: dict[str, str]) -> int:
    """Read the entries of a NumPy ``Parameters`` section into ``parameters``; return its end."""
    names: list[str] = []
    parts: list[str] = []
    index = start
    while index < len(lines) and _numpy_heading(lines, index) is None:
        line = lines[index]
        if line and not line[0].isspace():
            entry = _NUMPY_ENTRY.match(line)
            if entry is None:
                break  # the description going on
            for name in names:
                parameters[name] = _join(parts)
            names = [name.strip().lstrip("*") for name in entry["names"].split(",")]
            parts = []
        else:
            parts.append(line)
        index += 1
    for name in names:
        parameters[name] = _join(parts)
    return index


def _join(parts: list[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())
