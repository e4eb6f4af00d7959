"""Mermaid: a graph's picture as ``flowchart TD`` text, for Markdown, GitHub and notebooks.

Node names are shown in quotes with Mermaid's entity codes for the characters that
could end a label or be read as markup (``"``, ``#``, ``<``, ``>``, ``|``, `````, ``&``);
node ids are the names themselves where that is safe, made-up ids where not.

Example:
    >>> from orkes.viz.shape import END, START, Branch, Edge, GraphShape, Node
    >>> shape = GraphShape(
    ...     nodes=(Node("ask"), Node("say yes")),
    ...     edges=(Edge(START, "ask"), Edge("say yes", END)),
    ...     branches=(Branch("ask", (("yes", "say yes"), ("no", END))),),
    ... )
    >>> print(render_mermaid(shape))
    flowchart TD
        __start__(("START")):::terminal
        ask["ask"]
        node_1["say yes"]
        __end__((("END"))):::terminal
        __start__ --> ask
        node_1 --> __end__
        ask -->|"yes"| node_1
        ask -->|"no"| __end__
        classDef terminal fill:#2d3340,color:#ffffff,stroke:#2d3340
"""

from __future__ import annotations

import json
import re

from orkes.viz._drawing import Drawing, Item, drawing_of
from orkes.viz._text import printable
from orkes.viz.shape import END, START, GraphShape, shape_arg

__all__ = ["mermaid_label", "render_mermaid"]

_INDENT = "    "
_SAFE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Words Mermaid's flowchart grammar reads as keywords: never a node id.
_KEYWORDS = frozenset(
    {
        "end", "subgraph", "graph", "flowchart", "direction", "style", "linkstyle",
        "classdef", "class", "click", "call", "href", "default", "interpolate",
        "accdescr", "acctitle", "td", "tb", "bt", "lr", "rl",
    }
)  # fmt: skip
_ESCAPES = {ch: f"#{ord(ch)};" for ch in '#"<>|`&'}
_ARROWS = {"plain": "-->", "branch": "-->", "jump": "-.->"}


def render_mermaid(shape: GraphShape) -> str:
    """The Mermaid ``flowchart TD`` text of ``shape``.

    START and END are circles (END a double one), a join is a small trapezoid its
    sources lead into, a subgraph is a ``subgraph`` cluster holding its own graph,
    conditional edges carry their labels and ``Send`` / ``Command`` edges are dashed.

    Raises:
        GraphDefinitionError: ``shape`` is not a ``GraphShape``.
    """
    shape = shape_arg(shape, "render_mermaid()")
    lines: list[str] = []
    if shape.name:
        lines += ["---", f"title: {json.dumps(printable(shape.name))}", "---"]
    lines.append("flowchart TD")
    _graph(shape, drawing_of(shape), _Ids(), "", _INDENT, lines)
    for kind in ("terminal", "join"):
        if any(line.endswith(f":::{kind}") for line in lines):
            lines.append(f"{_INDENT}classDef {kind} fill:#2d3340,color:#ffffff,stroke:#2d3340")
    return "\n".join(lines)


def mermaid_label(text: str) -> str:
    """``text`` quoted for a Mermaid label, its special characters as entity codes.

    Example:
        >>> mermaid_label('say "hi" #1')
        '"say #34;hi#34; #35;1"'
    """
    shown = "".join(_ESCAPES.get(ch, ch) for ch in printable(text))
    return f'"{shown}"'


class _Ids:
    """Mermaid ids, unique across the whole chart (subgraphs share one namespace)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.made_up = 0

    def new(self, prefix: str, key: str) -> str:
        if key == START:
            wanted = f"{prefix}__start__" if not prefix else f"{prefix}start"
        elif key == END:
            wanted = f"{prefix}__end__" if not prefix else f"{prefix}end"
        elif _SAFE_ID.match(key) and key.casefold() not in _KEYWORDS:
            wanted = prefix + key
        else:
            self.made_up += 1
            wanted = f"{prefix}node_{self.made_up}"
        found = wanted
        while found in self.taken or found.casefold() in _KEYWORDS:
            found += "_"
        self.taken.add(found)
        return found


def _graph(
    shape: GraphShape, drawing: Drawing, ids: _Ids, prefix: str, indent: str, lines: list[str]
) -> None:
    id_of = {item.key: ids.new(prefix, item.key) for item in drawing.items}
    for item in drawing.items:
        if item.subgraph is None:
            lines.append(indent + _declare(item, id_of[item.key]))
            continue
        name = id_of[item.key]
        lines.append(f"{indent}subgraph {name} [{mermaid_label(item.label)}]")
        lines.append(f"{indent}{_INDENT}direction TB")
        inner = item.subgraph
        _graph(inner, drawing_of(inner), ids, f"{name}__", indent + _INDENT, lines)
        lines.append(f"{indent}end")
    for link in drawing.links:
        arrow = _ARROWS[link.style]
        if link.label is not None:
            arrow += f"|{mermaid_label(link.label)}|"
        lines.append(f"{indent}{id_of[link.source]} {arrow} {id_of[link.target]}")


def _declare(item: Item, node_id: str) -> str:
    if item.kind == "start":
        return f'{node_id}(("START")):::terminal'
    if item.kind == "end":
        return f'{node_id}((("END"))):::terminal'
    if item.kind == "join":
        return f"{node_id}[\\join/]:::join"
    if item.kind == "anywhere":
        return f"{node_id}>{mermaid_label(item.label)}]"
    return f"{node_id}[{mermaid_label(item.label)}]"
