"""The graphs of the README and the docs, golden files, and a headless browser page.

``docs_graph`` is parametrized over every graph the README, the docs pages and the
examples build (rebuilt here with the same nodes and edges); ``golden`` compares a
picture with its file under ``golden/`` — run with ``ORKES_UPDATE_GOLDEN=1`` to write
the files afresh. ``browser_page`` is a Playwright page on the system's Chromium: where
it cannot start, the test is skipped with the reason, except under ``CI=1``, where that
is an error.

Test modules do not import from here (``--import-mode=importlib``): they take fixtures.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from tests.browser import chromium_page

from orkes import END, START, Command, CompiledGraph, OrkesGraph, Send
from orkes.viz import Branch, Destination, Edge, GraphShape, Join, Node

GOLDEN = Path(__file__).with_name("golden")


class State(TypedDict, total=False):
    text: str
    log: Annotated[list[str], operator.add]


def step(state: State) -> None:
    return None


def named(name: str) -> Callable[[State], None]:
    def node(state: State) -> None:
        return None

    node.__name__ = name
    return node


def readme_chat() -> CompiledGraph[Any]:
    return (
        OrkesGraph(State)
        .add_node("llm", step)
        .add_edge(START, "llm")
        .add_edge("llm", END)
        .compile()
    )


def readme_research() -> CompiledGraph[Any]:
    def plan(state: State) -> list[Send]:
        return []

    graph = OrkesGraph(State).add_node(plan, destinations=["look_up"]).add_node("look_up", step)
    return graph.add_edge(START, "plan").add_edge("look_up", END).compile()


def route(state: State) -> Literal["answer", "END"]:
    return "END"


def index_taste() -> CompiledGraph[Any]:
    graph = OrkesGraph(State).add_node("classify", step).add_node("answer", step)
    graph.add_edge(START, "classify").add_conditional_edge("classify", route)
    return graph.add_edge("answer", END).compile()


def pick_route(state: State) -> Literal["bot", "human"]:
    return "bot"


def quickstart_support() -> CompiledGraph[Any]:
    graph = OrkesGraph(State, name="support")
    graph.add_node("triage", step).add_node("bot", step).add_node("human", step)
    graph.add_edge(START, "triage")
    graph.add_conditional_edge("triage", pick_route, {"bot": "bot", "human": "human"})
    return graph.add_edge("bot", END).add_edge("human", END).compile()


def topics(state: State) -> list[str]:
    return []


def concepts_tickets() -> CompiledGraph[Any]:
    tickets = OrkesGraph(State).add_node("read", step).add_edge(START, "read")
    for name in ["billing", "tech", "general"]:
        tickets.add_node(name, step).add_edge(name, END)
    tickets.add_conditional_edge(
        "read", topics, {"invoice": "billing", "crash": "tech", "spam": END}, default="general"
    )
    return tickets.compile()


def concepts_join() -> CompiledGraph[Any]:
    graph = OrkesGraph(State)
    for name in ["a", "b", "c", "c2", "d"]:
        graph.add_node(name, step)
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("a", "c").add_edge("c", "c2")
    return graph.add_edge(["b", "c2"], "d").add_edge("d", END).compile()


def again(state: State) -> Literal["fan", "END"]:
    return "END"


def concepts_rounds() -> CompiledGraph[Any]:
    rounds = OrkesGraph(State).add_node("fan", step)
    for name in ["x", "y", "merge"]:
        rounds.add_node(name, step)
    rounds.add_edge(START, "fan").add_edge("fan", "x").add_edge("fan", "y")
    return rounds.add_edge(["x", "y"], "merge").add_conditional_edge("merge", again).compile()


def concepts_fan_out() -> CompiledGraph[Any]:
    fan_out = OrkesGraph(State).add_node("split", step).add_edge(START, "split")
    for name in ["branch_1", "branch_2", "branch_10"]:
        fan_out.add_node(name, step).add_edge("split", name).add_edge(name, END)
    return fan_out.compile()


def keep_going(state: State) -> Literal["again", "done"]:
    return "done"


def concepts_counter() -> CompiledGraph[Any]:
    counter = OrkesGraph(State).add_node("increment", step).add_edge(START, "increment")
    counter.add_conditional_edge("increment", keep_going, {"again": "increment", "done": END})
    return counter.compile()


def one_per_topic(state: State) -> list[Send]:
    return []


def routing_essay() -> CompiledGraph[Any]:
    essay = OrkesGraph(State).add_node("outline", step).add_node("write", step)
    essay.add_node("combine", step).add_edge(START, "outline")
    essay.add_conditional_edge("outline", one_per_topic)
    return essay.add_edge("write", "combine").add_edge("combine", END).compile()


def triage(state: State) -> Command[Literal["pager", "queue", "END"]]:
    return Command(goto="END")


def routing_command() -> CompiledGraph[Any]:
    tickets = OrkesGraph(State).add_node(triage)
    tickets.add_node("pager", step).add_node("queue", step)
    tickets.add_edge(START, "triage").add_edge("pager", END).add_edge("queue", END)
    return tickets.compile()


def routing_join() -> CompiledGraph[Any]:
    graph = OrkesGraph(State).add_node("plan", step)
    for name in ("web", "papers", "news"):
        graph.add_node(name, step)
    graph.add_node("summarize", step)
    graph.add_edge(START, "plan").add_conditional_edge("plan", topics)
    graph.add_edge(["web", "papers", "news"], "summarize")
    return graph.add_edge("summarize", END).compile()


def subgraphs_writer() -> CompiledGraph[Any]:
    research = OrkesGraph(State, name="research").add_node("plan_queries", step)
    research.add_node("search", step).add_edge(START, "plan_queries")
    research.add_edge("plan_queries", "search").add_edge("search", END)
    writer = OrkesGraph(State).add_node(research.compile()).add_node("write", step)
    writer.add_edge(START, "research").add_edge("research", "write").add_edge("write", END)
    return writer.compile()


def subgraphs_desk() -> CompiledGraph[Any]:
    review = OrkesGraph(State, name="review").add_node("read", step).add_node("decide", step)
    review.add_edge(START, "read").add_edge("read", "decide").add_edge("decide", END)
    desk = OrkesGraph(State).add_node(review.compile(), destinations=["publish", "escalate"])
    desk.add_node("publish", step).add_node("escalate", step)
    return (
        desk.add_edge(START, "review").add_edge("publish", END).add_edge("escalate", END).compile()
    )


def is_even_or_odd(state: State) -> Literal["even", "odd"]:
    return "even"


def examples_branching() -> CompiledGraph[Any]:
    graph = OrkesGraph(State)
    for name in ("set_number", "process_even", "process_odd"):
        graph.add_node(name, step)
    graph.add_edge(START, "set_number")
    graph.add_conditional_edge(
        "set_number", is_even_or_odd, {"even": "process_even", "odd": "process_odd"}
    )
    return graph.add_edge("process_even", END).add_edge("process_odd", "END").compile()


def counter_gate(state: State) -> Literal["continue", "finish"]:
    return "finish"


def examples_loop() -> CompiledGraph[Any]:
    graph = OrkesGraph(State).add_node("increment_node", step).add_edge(START, "increment_node")
    graph.add_conditional_edge(
        "increment_node", counter_gate, {"continue": "increment_node", "finish": END}
    )
    return graph.compile()


def review_verdict(state: State) -> Literal["approve", "revise", "reject"]:
    return "approve"


def twelve_nodes() -> CompiledGraph[Any]:
    """A 12-node support pipeline: fan-out, a join, a gate with a loop, a Send, a default."""
    graph = OrkesGraph(State, name="pipeline")
    names = [
        "intake", "classify", "search_docs", "search_tickets", "search_web", "rank",
        "draft", "review", "revise", "escalate", "send_reply", "log_outcome",
    ]  # fmt: skip
    graph.add_node("intake", step)
    for name in names[1:]:
        graph.add_node(name, step, destinations=["escalate"] if name == "classify" else None)
    graph.add_edge(START, "intake").add_edge("intake", "classify")
    for name in ("search_docs", "search_tickets", "search_web"):
        graph.add_edge("classify", name)
    graph.add_edge(["search_docs", "search_tickets", "search_web"], "rank")
    graph.add_edge("rank", "draft").add_edge("draft", "review")
    graph.add_conditional_edge(
        "review", review_verdict, {"approve": "send_reply", "revise": "revise"}, default="escalate"
    )
    graph.add_edge("revise", "review").add_edge("escalate", "log_outcome")
    graph.add_edge("send_reply", "log_outcome").add_edge("log_outcome", END)
    return graph.compile()


DOCS_GRAPHS: dict[str, Callable[[], CompiledGraph[Any]]] = {
    builder.__name__: builder
    for builder in (
        readme_chat, readme_research, index_taste, quickstart_support, concepts_tickets,
        concepts_join, concepts_rounds, concepts_fan_out, concepts_counter, routing_essay,
        routing_command, routing_join, subgraphs_writer, subgraphs_desk, examples_branching,
        examples_loop, twelve_nodes,
    )
}  # fmt: skip


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "docs_graph" in metafunc.fixturenames:
        metafunc.parametrize("docs_graph", list(DOCS_GRAPHS), indirect=True)


@pytest.fixture
def docs_graph(request: pytest.FixtureRequest) -> tuple[str, CompiledGraph[Any]]:
    """``(name, compiled graph)`` for each graph of the README and the docs."""
    name: str = request.param
    return name, DOCS_GRAPHS[name]()


@pytest.fixture
def twelve_node_graph() -> CompiledGraph[Any]:
    return twelve_nodes()


@pytest.fixture(scope="session")
def golden() -> Callable[[str, str], None]:
    """``golden(file_name, text)``: assert ``text`` is the file's; write it when updating."""

    def check(file_name: str, text: str) -> None:
        path = GOLDEN / file_name
        if os.environ.get("ORKES_UPDATE_GOLDEN") == "1":
            path.write_text(text + "\n", encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; run with ORKES_UPDATE_GOLDEN=1"
        assert text + "\n" == path.read_text(encoding="utf-8"), (
            f"{file_name} changed; if that is right, run with ORKES_UPDATE_GOLDEN=1"
        )

    return check


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A Playwright page on the system's headless Chromium (see ``tests/browser.py``)."""
    with chromium_page() as page:
        yield page


@st.composite
def _shapes(draw: st.DrawFn, depth: int = 0) -> GraphShape:
    """Random DAG-ish shapes: edges mostly forward, some back, joins, gates, a subgraph."""
    count = draw(st.integers(min_value=1, max_value=12 if depth == 0 else 4))
    names = draw(
        st.lists(
            st.sampled_from(NAME_POOL) | st.text(min_size=1, max_size=12),
            min_size=count,
            max_size=count,
            unique=True,
        ).filter(lambda found: not {START, END} & set(found))
    )
    nodes: list[Node] = []
    for name in names:
        if depth == 0 and draw(st.integers(0, 9)) == 0:
            nodes.append(Node(name, "subgraph", draw(_shapes(depth=1))))
        else:
            nodes.append(Node(name))
    ends = [START, *names]
    targets = [*names, END]

    def pair() -> tuple[str, str]:
        return draw(st.sampled_from(ends)), draw(st.sampled_from(targets))

    edges = [Edge(START, names[0])] + [
        Edge(*pair()) for _ in range(draw(st.integers(0, 2 * count)))
    ]
    joins = [
        Join(tuple(draw(st.lists(st.sampled_from(names), min_size=2, max_size=3, unique=True))),
             draw(st.sampled_from(targets)))
        for _ in range(draw(st.integers(0, 2)) if count > 1 else 0)
    ]  # fmt: skip
    branches = [
        Branch(
            draw(st.sampled_from(ends)),
            tuple(
                (draw(st.sampled_from(["yes", "no", "maybe", "a long label", "é"])), target)
                for target in draw(st.lists(st.sampled_from(targets), min_size=0, max_size=3))
            ),
            draw(st.none() | st.sampled_from(targets)),
            anywhere=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    destinations = [
        Destination(draw(st.sampled_from(names)), draw(st.sampled_from(targets)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return GraphShape(
        tuple(nodes), tuple(edges), tuple(joins), tuple(branches), tuple(destinations)
    )


NAME_POOL = ["a", "b", "plan", "write it", 'say "hi"', "<tag>", "計画", "x" * 30, "loop", "é"]


@pytest.fixture(scope="session")
def random_shapes() -> st.SearchStrategy[GraphShape]:
    """Hypothesis' strategy for random graph shapes (draw it with ``st.data()``)."""
    return _shapes()


@pytest.fixture(scope="session")
def hypothesis_settings() -> settings:
    return settings(max_examples=80, deadline=None, database=None, derandomize=True)
