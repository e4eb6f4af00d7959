"""A grid of characters to draw boxes and lines on, for the ASCII pictures.

Lines are drawn by their owner (one arrow bundle each) and style; the character of a
cell is chosen at the end from everything that passes through it: a corner or a tee
of one owner is ``+``, a line of one owner crossing another's is the vertical one
(``|``), so a crossing never reads as a junction.
"""

from __future__ import annotations

from typing import Literal

from orkes.viz._text import char_columns, printable

__all__ = ["Canvas", "LineStyle"]

LineStyle = Literal["solid", "dashed"]
_VERTICAL = {"solid": "|", "dashed": ":"}
_HORIZONTAL = {"solid": "-", "dashed": "."}


class Canvas:
    """Characters in rows; text written on it covers lines."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._text: dict[tuple[int, int], str] = {}
        # cell -> owner -> [vertical, horizontal, style]
        self._lines: dict[tuple[int, int], dict[int, list[object]]] = {}

    def text(self, x: int, y: int, text: str) -> None:
        """Write ``text`` from column ``x`` of row ``y`` (wide letters take two columns)."""
        column = x
        for ch in printable(text):
            width = char_columns(ch)
            if width == 0:  # a combining mark rides on the letter before it
                self._text[column - 1, y] = self._text.get((column - 1, y), " ") + ch
                continue
            self._text[column, y] = ch
            if width == 2:
                self._text[column + 1, y] = ""
            column += width

    def vertical(self, x: int, top: int, bottom: int, owner: int, style: LineStyle) -> None:
        """A line down column ``x`` from row ``top`` to row ``bottom`` (both included)."""
        for y in range(top, bottom + 1):
            self._mark(x, y, owner, style, vertical=True)

    def horizontal(self, y: int, left: int, right: int, owner: int, style: LineStyle) -> None:
        """A line along row ``y`` from column ``left`` to ``right`` (both included)."""
        for x in range(min(left, right), max(left, right) + 1):
            self._mark(x, y, owner, style, vertical=False)

    def _mark(self, x: int, y: int, owner: int, style: LineStyle, *, vertical: bool) -> None:
        marks = self._lines.setdefault((x, y), {}).setdefault(owner, [False, False, style])
        marks[0 if vertical else 1] = True
        if style == "solid":
            marks[2] = "solid"

    def lines(self) -> list[str]:
        """The rows, trailing spaces cut."""
        grid = [[" "] * self.width for _ in range(self.height)]
        for (x, y), owners in self._lines.items():
            if 0 <= y < self.height and 0 <= x < self.width:
                grid[y][x] = _line_char(list(owners.values()))
        for (x, y), ch in self._text.items():
            if 0 <= y < self.height and 0 <= x < self.width:
                grid[y][x] = ch
        return ["".join(row).rstrip() for row in grid]


def _line_char(owners: list[list[object]]) -> str:
    if any(marks[0] and marks[1] for marks in owners):
        return "+"
    vertical = [marks[2] for marks in owners if marks[0]]
    if vertical:  # alone, or crossing a horizontal line of another owner
        return _VERTICAL["solid" if "solid" in vertical else "dashed"]
    horizontal = [marks[2] for marks in owners]
    return _HORIZONTAL["solid" if "solid" in horizontal else "dashed"]
