"""Mermaid text: golden files for the docs' graphs, shapes, styles and safe quoting."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orkes import CompiledGraph
from orkes.viz import END, START, Branch, Destination, Edge, GraphShape, Join, Node
from orkes.viz.mermaid import mermaid_label, render_mermaid


def test_the_docs_graphs_match_their_golden_files(
    docs_graph: tuple[str, CompiledGraph[Any]], golden: Callable[[str, str], None]
) -> None:
    name, graph = docs_graph
    text = graph.draw_mermaid()
    golden(f"{name}.mmd", text)
    assert text == render_mermaid(graph.shape())


def test_the_quickstart_graph() -> None:
    shape = GraphShape(
        (Node("triage"), Node("bot"), Node("human")),
        (Edge(START, "triage"), Edge("bot", END), Edge("human", END)),
        branches=(Branch("triage", (("bot", "bot"), ("human", "human"))),),
        name="support",
    )
    assert render_mermaid(shape) == "\n".join(
        [
            "---",
            'title: "support"',
            "---",
            "flowchart TD",
            '    __start__(("START")):::terminal',
            '    triage["triage"]',
            '    bot["bot"]',
            '    human["human"]',
            '    __end__((("END"))):::terminal',
            "    __start__ --> triage",
            "    bot --> __end__",
            "    human --> __end__",
            '    triage -->|"bot"| bot',
            '    triage -->|"human"| human',
            "    classDef terminal fill:#2d3340,color:#ffffff,stroke:#2d3340",
        ]
    )


def test_joins_are_join_points_and_destinations_are_dashed() -> None:
    shape = GraphShape(
        (Node("a"), Node("b"), Node("c")),
        (Edge(START, "a"), Edge(START, "b"), Edge("c", END)),
        joins=(Join(("a", "b"), "c"),),
        destinations=(Destination("a", END),),
    )
    lines = render_mermaid(shape).splitlines()
    assert "    join_1[\\join/]:::join" in lines
    assert [line for line in lines if "join_1 " in line or line.endswith("join_1")] == [
        "    a --> join_1",
        "    b --> join_1",
        "    join_1 --> c",
    ]
    assert "    a -.-> __end__" in lines
    assert lines[-1] == "    classDef join fill:#2d3340,color:#ffffff,stroke:#2d3340"


def test_a_gate_that_may_go_anywhere_points_at_any_node_and_default_is_labelled() -> None:
    shape = GraphShape(
        (Node("a"), Node("b")),
        (Edge(START, "a"), Edge("b", END)),
        branches=(
            Branch("a", (), "b", gate="pick", anywhere=True),
            Branch("b", (("x", "a"), ("y", "a"))),
        ),
    )
    lines = render_mermaid(shape).splitlines()
    assert '    any_1>"any node"]' in lines
    assert '    a -->|"pick"| any_1' in lines
    assert '    a -->|"default"| b' in lines
    assert '    b -->|"x, y"| a' in lines  # two keys, one target: one arrow


def test_subgraphs_are_clusters_with_their_own_start_and_end() -> None:
    inner = GraphShape((Node("search"),), (Edge(START, "search"), Edge("search", END)))
    shape = GraphShape(
        (Node("research", "subgraph", inner), Node("write")),
        (Edge(START, "research"), Edge("research", "write"), Edge("write", END)),
    )
    text = render_mermaid(shape)
    assert (
        '    subgraph research ["research"]\n'
        "        direction TB\n"
        '        research__start(("START")):::terminal\n'
        '        research__search["search"]\n'
        '        research__end((("END"))):::terminal\n'
        "        research__start --> research__search\n"
        "        research__search --> research__end\n"
        "    end\n"
        '    write["write"]\n'
        '    __end__((("END"))):::terminal\n'
        "    __start__ --> research\n"
        "    research --> write\n"
    ) in text


def test_awkward_names_are_quoted_and_get_safe_ids() -> None:
    names = ['say "hi"', "a b", "x[1]", "end", "node_1", "<b>#1|`&", "línea\nnueva", "o"]
    shape = GraphShape(
        tuple(Node(name) for name in names),
        tuple(Edge(START, name) for name in names) + tuple(Edge(name, END) for name in names),
    )
    lines = render_mermaid(shape).splitlines()
    declared = lines[2 : 2 + len(names)]
    assert declared == [
        '    node_1["say #34;hi#34;"]',
        '    node_2["a b"]',
        '    node_3["x[1]"]',
        '    node_4["end"]',
        '    node_1_["node_1"]',
        '    node_5["#60;b#62;#35;1#124;#96;#38;"]',
        '    node_6["línea\ufffdnueva"]',
        '    o["o"]',
    ]
    ids = [line.split("[")[0].strip() for line in declared]
    assert len(set(ids)) == len(ids)
    for line in lines[1:]:
        assert re.fullmatch(r'    [^"]*("[^"]*"[^"]*)*', line), line  # quotes always pair up
    assert "    __start__ --> o" in lines


def test_mermaid_label_escapes_only_what_it_must() -> None:
    assert mermaid_label("plain text (ok) [ok] {ok}") == '"plain text (ok) [ok] {ok}"'
    assert mermaid_label('"') == '"#34;"'
    assert mermaid_label("#34;") == '"#35;34;"'  # an entity code in a name shows as written
