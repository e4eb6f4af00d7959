"""GraphShape: what a compiled graph's pictures show, and the walls around orkes.viz."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, TypedDict

import pytest

from orkes import END, START, Command, CompiledGraph, OrkesGraph
from orkes.errors import GraphDefinitionError
from orkes.viz import shape as viz

SRC = Path(__file__).resolve().parents[2] / "src"


class State(TypedDict, total=False):
    n: int


def step(state: State) -> None:
    return None


def pick_route(state: State) -> Literal["bot", "human"]:
    return "bot"


def test_a_branch_with_a_mapping_is_labelled_with_its_keys() -> None:
    graph = OrkesGraph(State, name="support")
    graph.add_node("triage", step).add_node("bot", step).add_node("human", step)
    graph.add_edge(START, "triage")
    graph.add_conditional_edge("triage", pick_route, {"bot": "bot", "human": "human"})
    graph.add_edge("bot", END).add_edge("human", END)
    assert graph.compile().shape() == viz.GraphShape(
        nodes=(viz.Node("triage"), viz.Node("bot"), viz.Node("human")),
        edges=(
            viz.Edge(viz.START, "triage"),
            viz.Edge("bot", viz.END),
            viz.Edge("human", viz.END),
        ),
        branches=(viz.Branch("triage", (("bot", "bot"), ("human", "human")), None, "pick_route"),),
        name="support",
    )


def test_every_docs_graph_has_a_shape_naming_all_its_nodes(
    docs_graph: tuple[str, CompiledGraph[Any]],
) -> None:
    _, graph = docs_graph
    shape = graph.shape()
    assert [node.name for node in shape.nodes] == list(graph.nodes)
    assert len(shape.edges) == len(graph.edges)
    assert len(shape.joins) == len(graph.joins)
    assert len(shape.branches) == len(graph.branches)


def test_start_and_end_are_plain_strings_equal_to_the_sentinels() -> None:
    graph = OrkesGraph(State).add_node("a", step).add_edge(START, "a").add_edge("a", END)
    edges = graph.compile().shape().edges
    assert edges == (viz.Edge("__start__", "a"), viz.Edge("a", "__end__"))
    assert type(edges[0].source) is str
    assert viz.START == START
    assert viz.END == END


def route(state: State) -> Literal["a", "END"]:
    return "a"


def anything(state: State) -> str:
    return "a"


def test_a_gate_without_mapping_shows_its_literal_values_or_goes_anywhere() -> None:
    graph = OrkesGraph(State).add_node("a", step).add_node("b", step).add_edge(START, "b")
    graph.add_conditional_edge("b", route).add_conditional_edge("a", anything, default=END)
    branches = graph.compile().shape().branches
    assert branches == (
        viz.Branch("b", (("a", "a"), ("END", viz.END)), None, "route"),
        viz.Branch("a", (), viz.END, "anything", anywhere=True),
    )


def plan(state: State) -> Command[Literal["write", "END"]]:
    return Command(goto="END")


def test_send_and_command_destinations_are_dashed_edges() -> None:
    graph = OrkesGraph(State).add_node(plan).add_node("write", step)
    graph.add_node("check", step, destinations=["write"])
    graph.add_edge(START, "plan").add_edge(START, "check").add_edge("write", END)
    assert graph.compile().shape().destinations == (
        viz.Destination("plan", "write"),
        viz.Destination("plan", viz.END),
        viz.Destination("check", "write"),
    )


def test_a_subgraph_node_holds_the_inner_graph_shape() -> None:
    inner = OrkesGraph(State, name="inner").add_node("x", step)
    inner_app = inner.add_edge(START, "x").add_edge("x", END).compile()
    outer = OrkesGraph(State).add_node(inner_app).add_edge(START, "inner").add_edge("inner", END)
    (node,) = outer.compile().shape().nodes
    assert node.name == "inner"
    assert node.kind == "subgraph"
    assert node.subgraph == inner_app.shape()
    assert node.subgraph is not None
    assert node.subgraph.name == "inner"


def test_a_join_keeps_its_sources_in_order() -> None:
    graph = OrkesGraph(State)
    for name in ("b", "a", "c"):
        graph.add_node(name, step).add_edge(START, name)
    graph.add_edge(["b", "a"], "c").add_edge("c", END)
    assert graph.compile().shape().joins == (viz.Join(("b", "a"), "c"),)


def test_a_shape_refuses_duplicate_reserved_and_unknown_names() -> None:
    with pytest.raises(GraphDefinitionError, match="unique and not START or END, got 'a'"):
        viz.GraphShape((viz.Node("a"), viz.Node("a")))
    with pytest.raises(GraphDefinitionError, match="got '__end__'"):
        viz.GraphShape((viz.Node(viz.END),))
    with pytest.raises(GraphDefinitionError, match=r"edge 'a' -> 'b' names a node it does not"):
        viz.GraphShape((viz.Node("a"),), (viz.Edge("a", "b"),))


def _node_named_5() -> Any:
    return viz.GraphShape((viz.Node(5),))  # type: ignore[arg-type]


def _a_string_for_a_node() -> Any:
    return viz.GraphShape(("a",))  # type: ignore[arg-type]


def _a_list_of_nodes() -> Any:
    return viz.GraphShape([viz.Node("a")])  # type: ignore[arg-type]


def _a_subgraph_without_a_shape() -> Any:
    return viz.GraphShape((viz.Node("a", "subgraph"),))


def _an_edge_to_a_number() -> Any:
    return viz.GraphShape((viz.Node("a"),), (viz.Edge(START, 1),))  # type: ignore[arg-type]


def _a_route_without_a_label() -> Any:
    route: Any = ("a",)
    return viz.GraphShape((viz.Node("a"),), branches=(viz.Branch("a", route),))


def _a_number_for_a_name() -> Any:
    return viz.GraphShape((viz.Node("a"),), name=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_node_named_5, r"node.* must be named by str, got Node\(name=5"),
        (_a_string_for_a_node, r"nodes item must be a Node, got 'a'"),
        (_a_list_of_nodes, r"nodes must be a tuple of Node"),
        (_a_subgraph_without_a_shape, r'of kind "subgraph" with a GraphShape'),
        (_an_edge_to_a_number, r"edges item must be named by str"),
        (_a_route_without_a_label, r"\(label, target\) pairs"),
        (_a_number_for_a_name, r"name must be a str or None, got 3"),
    ],
)
def test_a_shape_refuses_parts_that_are_not_what_the_pictures_read(make: Any, message: str) -> None:
    with pytest.raises(GraphDefinitionError, match=message):
        make()


def test_the_renderers_refuse_what_is_not_a_shape_naming_what_they_take() -> None:
    from orkes.viz import lay_out, render_ascii, render_mermaid, render_svg

    for render in (render_ascii, render_mermaid, render_svg, lay_out):
        with pytest.raises(GraphDefinitionError, match=r"takes an orkes.viz.GraphShape.*got 'x'"):
            render("x")  # type: ignore[arg-type]
    shape = viz.GraphShape((viz.Node("a"),), (viz.Edge(START, "a"), viz.Edge("a", END)))
    with pytest.raises(GraphDefinitionError, match=r"max_width= takes an int.*got '80'"):
        render_ascii(shape, max_width="80")  # type: ignore[arg-type]


def test_shape_helpers() -> None:
    shape = viz.GraphShape(
        (viz.Node("a"), viz.Node("b")),
        (viz.Edge(viz.START, "a"), viz.Edge("a", "b"), viz.Edge("b", viz.END)),
        destinations=(viz.Destination("a", viz.END), viz.Destination("a", "b")),
        name="demo",
    )
    assert shape.successors("a") == ("b", viz.END)
    assert repr(shape) == (
        "<GraphShape 'demo': 2 nodes, 3 edges, 0 joins, 0 branches, 2 destinations>"
    )


def test_jupyter_gets_svg_mermaid_and_text() -> None:
    graph = OrkesGraph(State).add_node("a", step).add_edge(START, "a").add_edge("a", END)
    app = graph.compile()
    bundle = app._repr_mimebundle_()
    assert sorted(bundle) == ["image/svg+xml", "text/plain", "text/vnd.mermaid"]
    assert bundle["image/svg+xml"] == app.draw_svg()
    assert bundle["text/vnd.mermaid"] == app.draw_mermaid()
    assert bundle["text/plain"] == repr(app)
    assert list(app._repr_mimebundle_(include=["text/plain"])) == ["text/plain"]
    assert "image/svg+xml" not in app._repr_mimebundle_(exclude=["image/svg+xml"])


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC
    )
    return done.stdout.strip()


def test_orkes_viz_loads_nothing_of_the_engine_tracing_or_connectors() -> None:
    # ``import orkes.viz`` runs orkes/__init__.py, which loads the engine for its own
    # reasons; a bare ``orkes`` package stands in for it, so only viz's imports count.
    loaded = _run(
        "import sys, types\n"
        "bare = types.ModuleType('orkes')\n"
        f"bare.__path__ = [{str(SRC / 'orkes')!r}]\n"
        "sys.modules['orkes'] = bare\n"
        "import orkes.viz\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('orkes'))))"
    ).split()
    assert "orkes.viz.svg" in loaded
    assert [name for name in loaded if name.startswith("orkes.") and name != "orkes.errors"] == [
        name for name in loaded if name.startswith("orkes.viz")
    ]
    forbidden = ("orkes.graph", "orkes.tracing", "orkes.connectors")
    assert not [name for name in loaded if name.startswith(forbidden)]


def test_no_module_of_orkes_viz_imports_the_engine() -> None:
    for path in sorted((SRC / "orkes" / "viz").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("orkes.graph", "orkes.tracing", "orkes.connectors")), (
                    f"{path.name} imports {name}"
                )


def test_import_orkes_and_running_a_graph_do_not_load_orkes_viz() -> None:
    loaded = _run(
        "import sys\n"
        "from typing import TypedDict\n"
        "import orkes\n"
        "class S(TypedDict):\n"
        "    n: int\n"
        "g = orkes.OrkesGraph(S).add_node('a', lambda s: {'n': 1})\n"
        "app = g.add_edge(orkes.START, 'a').add_edge('a', orkes.END).compile()\n"
        "app.run({'n': 0})\n"
        "print('orkes.viz' in sys.modules)\n"
        "app.draw_mermaid()\n"
        "print('orkes.viz' in sys.modules)"
    )
    assert loaded.split() == ["False", "True"]
