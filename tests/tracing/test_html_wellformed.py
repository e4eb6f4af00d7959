"""Whatever a trace holds, its inspector page is well-formed and no run text becomes markup."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any, TypedDict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.tracing import Trace, Tracer
from orkes.tracing._html_assets import SCRIPT, STYLE
from orkes.tracing._html_text import esc
from tests.tracing.strategies import HOSTILE, shapes, traces, values

VOID = {"meta"}  # the only void element the page uses
TAGS = {
    # the page's own
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "main",
    "section", "div", "span", "p", "i", "b", "code", "pre", "button", "details", "summary",
    "article", "table", "tr", "td", "th", "ul", "li", "script",
    # the picture's
    "svg", "defs", "marker", "path", "rect", "circle", "g", "text",
}  # fmt: skip


class Page(HTMLParser):
    """Every tag in order, the text, the script's and style sheet's text; unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.markup = 0  # tags, end tags and declarations: each began with one "<"
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.markup += 1
        if tag not in TAGS:
            self.problems.append(f"<{tag}> is not a tag the page makes")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.markup += 1
        if tag not in TAGS:
            self.problems.append(f"<{tag}/> is not a tag the page makes")

    def handle_endtag(self, tag: str) -> None:
        self.markup += 1
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]!r}")
        else:
            self.open.pop()

    def handle_decl(self, decl: str) -> None:
        self.markup += 1

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"a comment: <!--{data}-->")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"a processing instruction: <?{data}>")

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in self.raw:
            self.raw[self.open[-1]].append(data)
        else:
            self.text.append(data)


def parsed(page: str) -> Page:
    reader = Page()
    reader.feed(page)
    reader.close()
    return reader


def check(page: str) -> Page:
    reader = parsed(page)
    assert reader.problems == []
    assert reader.open == []
    assert "".join(reader.raw["script"]) == SCRIPT
    assert "".join(reader.raw["style"]) == STYLE
    # Every "<" of the page opens markup the page made: none comes from the run.
    assert "<" not in SCRIPT + STYLE
    assert page.count("<") == reader.markup
    return reader


def test_no_hostile_text_opens_markup_in_the_page_s_own_script_or_style() -> None:
    for text in HOSTILE:
        assert "<" not in esc(text)
        assert '"' not in esc(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace=traces)
def test_the_page_of_any_trace_is_well_formed_and_its_text_stays_text(trace: Trace) -> None:
    reader = check(trace.html())
    shown = "".join(reader.text)
    assert html.unescape(esc(trace.run_id)) in shown


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace=traces, shape=shapes())
def test_any_shape_given_draws_into_a_well_formed_page(trace: Trace, shape: Any) -> None:
    check(trace.html(shape=shape))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(
        st.text(min_size=1, max_size=6) | st.sampled_from(HOSTILE),
        min_size=1,
        max_size=4,
        unique=True,
    ).filter(lambda found: not {"START", "END", START, END} & set(found)),
    written=values,
)
def test_a_random_chain_run_for_real_gives_a_well_formed_page(
    names: list[str], written: Any
) -> None:
    class State(TypedDict, total=False):
        value: Any

    graph = OrkesGraph(State)
    for previous, name in zip([START, *names], names, strict=False):
        graph.add_node(name, lambda state: {"value": written}).add_edge(previous, name)
    tracer = Tracer()
    GraphRunner(graph.add_edge(names[-1], END).compile()).run({"value": None}, tracer=tracer)
    assert tracer.last is not None
    page = tracer.last.html()
    reader = check(page)
    assert page.count('class="ok-node"') == len(names)  # every node ran, and says how long
    assert page.count('class="ok-taken"') == len(names) + 1
    assert "".join(reader.text).count("step ") >= len(names)
