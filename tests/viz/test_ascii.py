"""ASCII art: golden files for the docs' graphs, widths, loops, odd names, determinism."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orkes import CompiledGraph
from orkes.errors import GraphDefinitionError
from orkes.viz import (
    END,
    START,
    Branch,
    Edge,
    GraphShape,
    Node,
    render_ascii,
    render_mermaid,
    render_svg,
)
from orkes.viz._text import columns, printable


def test_the_docs_graphs_match_their_golden_files(
    docs_graph: tuple[str, CompiledGraph[Any]], golden: Callable[[str, str], None]
) -> None:
    name, graph = docs_graph
    text = graph.draw_ascii()
    golden(f"{name}.txt", text)
    for node in graph.nodes:
        assert node in text


def test_a_twelve_node_graph_fits_in_100_columns(twelve_node_graph: CompiledGraph[Any]) -> None:
    assert len(twelve_node_graph.nodes) == 12
    text = twelve_node_graph.draw_ascii()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text == twelve_node_graph.draw_ascii(max_width=100)


def _fan(count: int) -> GraphShape:
    names = [f"worker_{number:02}" for number in range(count)]
    return GraphShape(
        (Node("split"), *(Node(name) for name in names)),
        (Edge(START, "split"), *(Edge("split", n) for n in names), *(Edge(n, END) for n in names)),
        name="wide",
    )


def test_a_graph_too_wide_is_refused_with_what_to_do_instead() -> None:
    with pytest.raises(GraphDefinitionError) as caught:
        render_ascii(_fan(12))
    assert str(caught.value) == (
        "graph 'wide' needs 178 columns as ASCII art, more than max_width=100; draw it with "
        "draw_mermaid() or draw_svg() instead, or pass a larger max_width="
    )
    assert isinstance(caught.value, ValueError)
    assert max(len(line) for line in render_ascii(_fan(12), max_width=178).splitlines()) == 178


def test_a_loop_to_itself_is_drawn_beside_its_box() -> None:
    shape = GraphShape(
        (Node("count"),),
        (Edge(START, "count"),),
        branches=(Branch("count", (("again", "count"), ("done", END))),),
    )
    assert render_ascii(shape) == "\n".join(
        [
            " (START)",
            "    v",
            "+-------+--.",
            "| count |  | again",
            "+-------+<-'",
            "    |",
            "   done",
            "    v",
            "  (END)",
        ]
    )


def test_a_loop_back_goes_up_with_its_arrow_under_its_target() -> None:
    shape = GraphShape(
        (Node("write"), Node("check")),
        (Edge(START, "write"), Edge("write", "check"), Edge("check", "write"), Edge("check", END)),
    )
    assert render_ascii(shape) == "\n".join(
        [
            " (START)",
            "    v",
            "+-------+",
            "| write |",
            "+-------+",
            "   v ^",
            "+-------+",
            "| check |",
            "+-------+",
            "    v",
            "  (END)",
        ]
    )


def test_wide_letters_and_control_characters_keep_the_columns_straight() -> None:
    shape = GraphShape(
        (Node("計画"), Node("tab\there"), Node("é")),
        (Edge(START, "計画"), Edge("計画", "tab\there"), Edge("tab\there", "é"), Edge("é", END)),
    )
    text = render_ascii(shape)
    assert "| 計画 |" in text
    assert "| tab\ufffdhere |" in text
    boxes = [line for line in text.splitlines() if line.strip().startswith(("+", "|"))]
    assert len({columns(line) for line in boxes[:3]}) == 1  # 計画 is two columns a letter


def test_a_right_to_left_override_in_a_name_cannot_turn_the_line_round() -> None:
    name = "evil\u202egnp.exe"  # shows as "evilexe.png" where the override is obeyed
    shape = GraphShape((Node(name),), (Edge(START, name), Edge(name, END)))
    for picture in (render_ascii(shape), render_mermaid(shape), render_svg(shape)):
        assert not any(ch in picture for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069")
    assert "| evil\ufffdgnp.exe |" in render_ascii(shape)


def test_the_picture_is_the_same_whatever_the_hash_seed() -> None:
    script = (
        "from orkes.viz import *\n"
        "names = [f'n{i}' for i in range(9)]\n"
        "edges = [Edge(START, 'n0')] + [Edge(a, b) for a in names for b in names\n"
        "    if hash(a) and (int(a[1:]) * 7 + int(b[1:])) % 5 == 0 and a != b]\n"
        "edges += [Edge(n, END) for n in names]\n"
        "print(render_ascii(GraphShape(tuple(map(Node, names)), tuple(edges)), max_width=500))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout
        for seed in (0, 1, 2, 3)
    }
    assert len(outputs) == 1


@given(data=st.data())
@settings(max_examples=80, deadline=None, database=None, derandomize=True)
def test_every_node_is_drawn_whatever_the_graph(
    random_shapes: st.SearchStrategy[GraphShape], data: st.DataObject
) -> None:
    shape = data.draw(random_shapes)
    text = render_ascii(shape, max_width=10_000)
    for node in shape.nodes:
        assert printable(node.name) in text
    assert ("(START)" in text) == any(START in link for link in shape.links())
