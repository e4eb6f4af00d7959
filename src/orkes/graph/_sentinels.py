"""START and END: the two ends of every graph."""

from __future__ import annotations

from typing import Final

__all__ = ["END", "START", "Terminal", "normalize_target"]


class Terminal(str):
    """The type of :data:`START` and :data:`END`: a string that prints as its own name.

    Being a ``str``, the sentinels fit anywhere a node name does (``dict[str, str]``
    mappings, ``add_edge`` arguments) and still compare unequal to every node name.
    """

    __slots__ = ("label",)

    label: str

    def __new__(cls, value: str, label: str) -> Terminal:
        terminal = super().__new__(cls, value)
        terminal.label = label
        return terminal

    def __repr__(self) -> str:
        return self.label

    def __reduce__(self) -> tuple[object, ...]:
        return (_terminal_by_label, (self.label,))


START: Final = Terminal("__start__", "START")
"""Where every run begins: ``graph.add_edge(START, "first_node")``."""

END: Final = Terminal("__end__", "END")
"""Where a path ends: ``graph.add_edge("last_node", END)``; ``"END"`` means it too."""

_BY_LABEL: Final = {"START": START, "END": END}
RESERVED_NAMES: Final = frozenset({"START", "END", str(START), str(END)})


def _terminal_by_label(label: str) -> Terminal:
    return _BY_LABEL[label]


def normalize_target(target: object) -> object:
    """Map the spellings of END (``END``, ``"END"``, ``"__end__"``) to :data:`END`."""
    if target == "END" or target == END:
        return END
    if target == "START" or target == START:
        return START
    return target
