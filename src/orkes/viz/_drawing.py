"""What every picture draws: boxes (items) and arrows (links), made from a GraphShape.

A join becomes a join point of its own (its sources lead to it, it leads to the
target); a gate that may go anywhere leads to one "any node" marker; the routes of a
gate that share a target become one arrow with their labels joined. The Mermaid text,
the ASCII art and the SVG all draw exactly this, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orkes.viz.shape import END, START, GraphShape

__all__ = ["ANY_NODE", "Drawing", "Item", "ItemKind", "Link", "LinkStyle", "drawing_of"]

ItemKind = Literal["node", "subgraph", "start", "end", "join", "anywhere"]
LinkStyle = Literal["plain", "branch", "jump"]
ANY_NODE = "any node"


@dataclass(frozen=True, slots=True)
class Item:
    """A box of the picture: a node, START, END, a join point or an "any node" marker.

    Attributes:
        key: unique in its graph: the node's name, START, END, or a made-up key.
        label: the text shown.
        kind: what shape it is drawn as.
        subgraph: the inner graph of a subgraph node.
    """

    key: str
    label: str
    kind: ItemKind
    subgraph: GraphShape | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """An arrow between two items (by key): solid, labelled, or dashed for a jump."""

    source: str
    target: str
    style: LinkStyle
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Drawing:
    """The items (START first, END last) and links of one graph, in a fixed order."""

    items: tuple[Item, ...]
    links: tuple[Link, ...]

    def index(self) -> dict[str, int]:
        """Item key -> its position in ``items``."""
        return {item.key: number for number, item in enumerate(self.items)}

    def link_ends(self) -> list[tuple[int, int, bool]]:
        """Each link as ``(source position, target position, has a label)``."""
        index = self.index()
        return [
            (index[link.source], index[link.target], link.label is not None) for link in self.links
        ]


def drawing_of(shape: GraphShape) -> Drawing:
    """The items and links that picture ``shape``."""
    names = {node.name for node in shape.nodes}
    made_up = _KeyMaker(names)
    middle: list[Item] = []
    links: list[Link] = [Link(edge.source, edge.target, "plain") for edge in shape.edges]
    for join in shape.joins:
        point = Item(made_up("join"), "join", "join")
        middle.append(point)
        links += [Link(source, point.key, "plain") for source in join.sources]
        links.append(Link(point.key, join.target, "plain"))
    for branch in shape.branches:
        if branch.anywhere:
            marker = Item(made_up("any"), ANY_NODE, "anywhere")
            middle.append(marker)
            links.append(Link(branch.source, marker.key, "branch", branch.gate))
        labels: dict[str, list[str]] = {}
        for label, target in branch.routes:
            labels.setdefault(target, []).append(label)
        if branch.default is not None:
            labels.setdefault(branch.default, []).append("default")
        links += [
            Link(branch.source, target, "branch", ", ".join(dict.fromkeys(shown)))
            for target, shown in labels.items()
        ]
    links += [Link(jump.source, jump.target, "jump") for jump in shape.destinations]
    links = list(dict.fromkeys(links))  # the same arrow twice is drawn once
    used = {key for link in links for key in (link.source, link.target)}
    items = [Item(START, "START", "start")] if START in used else []
    items += [
        Item(node.name, node.name, "node")
        if node.subgraph is None
        else Item(node.name, node.name, "subgraph", node.subgraph)
        for node in shape.nodes
    ]
    items += middle
    if END in used:
        items.append(Item(END, "END", "end"))
    return Drawing(tuple(items), tuple(links))


class _KeyMaker:
    """Keys for join points and markers that no node name can clash with."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.count = 0

    def __call__(self, what: str) -> str:
        self.count += 1
        key = f"{what}_{self.count}"
        while key in self.taken:
            key += "_"
        self.taken.add(key)
        return key
