"""SVG: well-formed, self-contained, every node and edge present, no box over another.

Checked structurally with ``xml.etree`` for the docs' graphs, a generated 50-node graph
(loops, joins, conditional edges, a subgraph) and random shapes (Hypothesis), then
rendered in a headless Chromium: no console error, every label drawn inside its box.
"""

from __future__ import annotations

import random
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orkes import END, START, CompiledGraph, OrkesGraph
from orkes.viz import Edge, GraphShape, Node, lay_out, render_svg, svg_of
from orkes.viz._drawing import drawing_of
from orkes.viz._text import printable

SVG = "{http://www.w3.org/2000/svg}"
Rect = tuple[float, float, float, float]


class State(TypedDict, total=False):
    n: int


def step(state: State) -> None:
    return None


def fifty_node_graph() -> CompiledGraph[Any]:
    """10 stages of 5 nodes: random edges forward, joins, gates that loop back, a subgraph."""
    rng = random.Random(50)
    inner = OrkesGraph(State, name="inner review").add_node("read", step).add_node("judge", step)
    inner.add_edge(START, "read").add_edge("read", "judge").add_edge("judge", END)
    stages = [[f"s{stage}_{index}" for index in range(5)] for stage in range(10)]
    graph = OrkesGraph(State, name="fifty")
    for stage in stages:
        for name in stage:
            if name == "s4_2":
                graph.add_node(name, inner.compile())
            elif name == "s2_4":
                graph.add_node(name, step, destinations=["s6_4", "s7_4"])
            else:
                graph.add_node(name, step)
    pairs: set[tuple[str, str]] = set()

    def edge(source: str, target: str) -> None:
        if (source, target) not in pairs:
            pairs.add((source, target))
            graph.add_edge(source, target)

    for name in stages[0]:
        edge(START, name)
    for number, (here, following) in enumerate(pairwise(stages)):
        for name in following:
            edge(rng.choice(here), name)
        for name in here:
            if rng.random() < 0.4 or not any(source == name for source, _ in pairs):
                edge(name, rng.choice(following))
        if number in (2, 5, 7):
            graph.add_edge([here[0], here[1]], following[0])
        if number in (1, 3, 6, 8):
            mapping = {"next": following[3], "retry": stages[number - 1][1], "stop": END}
            graph.add_conditional_edge(here[3], _gate, mapping)
    for name in stages[-1]:
        edge(name, END)
    return graph.compile()


def _gate(state: State) -> str:
    return "stop"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _box(group: ET.Element) -> Rect:
    shape = next(child for child in group if child.tag in (f"{SVG}rect", f"{SVG}circle"))
    if shape.tag == f"{SVG}circle":
        radius = float(shape.attrib["r"])
        x, y = float(shape.attrib["cx"]) - radius, float(shape.attrib["cy"]) - radius
        return x, y, 2 * radius, 2 * radius
    return tuple(float(shape.attrib[key]) for key in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _groups(root: ET.Element, kind: str) -> Iterator[ET.Element]:
    return (group for group in root.iter(f"{SVG}g") if group.get("class") == kind)


def _overlap(one: Rect, other: Rect) -> bool:
    (x, y, w, h), (x2, y2, w2, h2) = one, other
    return x < x2 + w2 - 0.01 and x2 < x + w - 0.01 and y < y2 + h2 - 0.01 and y2 < y + h - 0.01


def _inside(inner: Rect, outer: Rect) -> bool:
    (x, y, w, h), (x2, y2, w2, h2) = inner, outer
    return x2 <= x and y2 <= y and x + w <= x2 + w2 and y + h <= y2 + h2


def check_svg(svg: str, shape: GraphShape) -> ET.Element:
    """Well-formed, self-contained, every box and edge there, nothing overlapping."""
    root = _parse(svg)
    assert not re.search(r"href|<script|<image|<foreignObject|<style|@import|@font", svg)
    assert re.findall(r"https?://[^\"']*", svg) == ["http://www.w3.org/2000/svg"]
    assert all(url.startswith("url(#") for url in re.findall(r"url\([^)]*\)", svg))
    nodes = {group.attrib["data-path"]: _box(group) for group in _groups(root, "orkes-node")}
    clusters = {group.attrib["data-path"]: _box(group) for group in _groups(root, "orkes-cluster")}
    _check_paths(shape, "", nodes, clusters, root)
    boxes = sorted(nodes.items())
    for number, (path, box) in enumerate(boxes):
        for other_path, other in boxes[number + 1 :]:
            assert not _overlap(box, other), f"{path!r} overlaps {other_path!r}"
        for cluster_path, cluster in clusters.items():
            if path.startswith(cluster_path + " > "):
                assert _inside(box, cluster), f"{path!r} sticks out of {cluster_path!r}"
            else:
                assert not _overlap(box, cluster), f"{path!r} overlaps cluster {cluster_path!r}"
    return root


def _check_paths(
    shape: GraphShape,
    prefix: str,
    nodes: dict[str, Rect],
    clusters: dict[str, Rect],
    root: ET.Element,
) -> None:
    drawing = drawing_of(shape)
    for item in drawing.items:
        path = printable(prefix + item.key)
        assert path in (clusters if item.subgraph is not None else nodes), path
        if item.subgraph is not None:
            _check_paths(item.subgraph, path + " > ", nodes, clusters, root)
    drawn = sorted(
        (group.attrib["data-source"], group.attrib["data-target"], group.attrib["data-style"])
        for group in _groups(root, "orkes-edge")
        if group.attrib["data-source"].startswith(printable(prefix))
        and group.attrib["data-source"].count(" > ") == prefix.count(" > ")
    )
    wanted = sorted(
        (printable(prefix + link.source), printable(prefix + link.target), link.style)
        for link in drawing.links
    )
    assert drawn == wanted


def test_the_docs_graphs_are_well_formed_and_complete(
    docs_graph: tuple[str, CompiledGraph[Any]],
) -> None:
    _, graph = docs_graph
    check_svg(graph.draw_svg(), graph.shape())


def test_every_edge_kind_is_drawn_its_way() -> None:
    shape = fifty_node_graph().shape()
    root = check_svg(render_svg(shape), shape)
    styles = {g.attrib["data-style"]: g for g in _groups(root, "orkes-edge")}
    assert sorted(styles) == ["branch", "jump", "plain"]
    dashed = styles["jump"].find(f"{SVG}path")
    assert dashed is not None
    assert dashed.get("stroke-dasharray") == "6 4"
    labels = [
        text.text or "" for g in _groups(root, "orkes-label") for text in g.iter(f"{SVG}text")
    ]
    assert sorted(set(labels)) == ["next", "retry", "stop"]
    kinds = {g.attrib["data-kind"] for g in _groups(root, "orkes-node")}
    assert kinds == {"start", "end", "node", "join"}


def test_a_50_node_graph_is_laid_out_fast_without_overlaps() -> None:
    graph = fifty_node_graph()
    assert len(graph.nodes) == 50
    shape = graph.shape()
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        layout = lay_out(shape)
        timings.append(time.perf_counter() - started)
    svg = svg_of(layout)
    check_svg(svg, shape)
    print(
        f"\n50-node layout: best {min(timings) * 1000:.1f} ms of 5; SVG {len(svg)} bytes, "
        f"{layout.width:.0f}x{layout.height:.0f} px; Mermaid {len(graph.draw_mermaid())} bytes"
    )
    assert min(timings) < 1.0


def test_text_is_escaped_and_the_output_is_deterministic() -> None:
    names = ['<script>alert("x")</script>', "a & b", "it's", "\x00\x1f", "\ud800"]
    shape = GraphShape(
        tuple(Node(name) for name in names),
        tuple(Edge(START, name) for name in names),
    )
    svg = render_svg(shape)
    root = check_svg(svg, shape)
    shown = {g.attrib["data-name"] for g in _groups(root, "orkes-node")}
    assert {'<script>alert("x")</script>', "a & b", "it's", "\ufffd\ufffd", "\ufffd"} <= shown
    assert "<script>" not in svg
    svg.encode("utf-8")  # no lone surrogate survives
    assert render_svg(shape) == svg


@given(data=st.data())
@settings(max_examples=80, deadline=None, database=None, derandomize=True)
def test_random_shapes_never_overlap_and_keep_every_node(
    random_shapes: st.SearchStrategy[GraphShape], data: st.DataObject
) -> None:
    shape = data.draw(random_shapes)
    layout = lay_out(shape)
    top_level = {box.path[0] for box in layout.boxes if len(box.path) == 1}
    assert {node.name for node in shape.nodes} <= top_level
    check_svg(svg_of(layout), shape)


def _html(svg: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{svg}</body></html>"


@pytest.mark.parametrize("which", ["twelve", "subgraph", "fifty"])
def test_chromium_draws_every_label_inside_its_box(
    which: str,
    browser_page: Any,
    tmp_path: Path,
    twelve_node_graph: CompiledGraph[Any],
) -> None:
    graph = {
        "twelve": lambda: twelve_node_graph,
        "subgraph": lambda: OrkesGraph(State).add_node(
            OrkesGraph(State, name="inner").add_node("deep", step).add_edge(START, "deep")
            .add_edge("deep", END).compile()
        ).add_edge(START, "inner").add_edge("inner", END).compile(),
        "fifty": fifty_node_graph,
    }[which]()  # fmt: skip
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_error(error: Any) -> None:
        errors.append(str(error))

    browser_page.on("console", on_console)
    browser_page.on("pageerror", on_error)
    try:
        browser_page.set_content(_html(graph.draw_svg()))
        drawn = browser_page.evaluate(
            """() => [...document.querySelectorAll('g.orkes-node, g.orkes-cluster')].map(g => {
                const text = g.querySelector(':scope > text');
                const shape = g.querySelector(':scope > rect, :scope > circle').getBBox();
                const box = text ? text.getBBox() : null;
                const style = text ? getComputedStyle(text) : null;
                return {
                    name: g.dataset.name, kind: g.dataset.kind,
                    text: text ? text.textContent : null,
                    visible: !!text && style.visibility === 'visible' && style.display !== 'none'
                        && box.width > 0 && box.height > 0,
                    fits: !box || (box.x >= shape.x - 0.5 && box.y >= shape.y - 0.5
                        && box.x + box.width <= shape.x + shape.width + 0.5
                        && box.y + box.height <= shape.y + shape.height + 0.5),
                };
            })"""
        )
        screenshot = tmp_path / f"{which}.png"
        browser_page.screenshot(path=str(screenshot), full_page=True)
        print(f"\nscreenshot of the {which!r} graph: {screenshot}")
    finally:
        browser_page.remove_listener("console", on_console)
        browser_page.remove_listener("pageerror", on_error)
    assert errors == []
    labelled = [box for box in drawn if box["kind"] not in ("join",)]
    assert {box["text"] for box in labelled} >= set(graph.nodes)
    for box in labelled:
        assert box["visible"], box
        assert box["fits"], box
    assert screenshot.stat().st_size > 1000
