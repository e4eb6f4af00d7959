"""The inspector: one HTML file that shows a run, fetches nothing and runs none of its text.

The browser tests load the page in a real headless Chromium (``tests/browser.py``); the
screenshot they take goes to ``$ORKES_ARTIFACTS`` (else the test's temporary directory),
and, with ``ORKES_UPDATE_SCREENSHOTS=1``, to ``docs/_static/inspector.png`` as well.
"""

from __future__ import annotations

import operator
import os
import re
import shutil
import time
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import pytest

from orkes import (
    END,
    START,
    CompiledGraph,
    GraphRunner,
    OrkesGraph,
    RetryPolicy,
    RunContext,
    Send,
)
from orkes.persistence import MemoryCheckpointer
from orkes.shared.schema import OrkesMessageSchema
from orkes.tracing import Trace, Tracer, traced
from orkes.tracing.html import POLICY
from tests.browser import chromium_page

ROOT = Path(__file__).resolve().parents[2]
EVIL = "</script><script>window.__pwned=1</script>"
ESCAPED = "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;"


class Desk(TypedDict, total=False):
    question: str
    kind: str
    notes: Annotated[list[str], operator.add]
    answer: str
    verdict: str


class Scripted:
    """A model that sorts the question (asking for a tool), then answers with ``EVIL``."""

    model = "scripted-1"

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        time.sleep(0.01)
        if messages[-1]["content"].startswith("classify"):
            return {
                "role": "assistant",
                "content": "question",
                "tool_calls": [{"id": "call_1", "name": "opening_hours", "arguments": {"day": 1}}],
                "metadata": {"usage": {"input_tokens": 42, "output_tokens": 3}},
            }
        return {
            "role": "assistant",
            "content": f"We open at 9.\n{EVIL}",
            "metadata": {"usage": {"input_tokens": 120, "output_tokens": 17}},
        }


def desk() -> CompiledGraph[Desk]:
    """A help desk: an LLM sorts, two searches run side by side, a retried draft, a review."""
    llm = traced(Scripted(api_key="sk-test-0000000000000000"))
    tries = {"draft": 0}

    def intake(state: Desk) -> Desk:
        return {"notes": [f"asked: {state['question']}"]}

    def classify(state: Desk) -> Desk:
        reply = llm.invoke(
            [
                {"role": "system", "content": "Sort the question."},
                {"role": "user", "content": f"classify: {state['question']}"},
            ]
        )
        return {"kind": reply["content"]}

    def route(state: Desk) -> Literal["search_docs", "END"]:
        return "search_docs" if state["kind"] == "question" else "END"

    def search_docs(state: Desk) -> Desk:
        time.sleep(0.004)
        return {"notes": ["docs: open 9-17"]}

    def search_web(state: Desk) -> Desk:
        time.sleep(0.008)
        return {"notes": [f"web: {EVIL}"]}

    def draft(state: Desk) -> Desk:
        tries["draft"] += 1
        if tries["draft"] == 1:
            raise ConnectionError("the search index was busy")
        text = "\n".join(state["notes"])
        return {"answer": llm.invoke([{"role": "user", "content": text}])["content"]}

    def review(state: Desk) -> Desk:
        return {"verdict": "sent"}

    graph = OrkesGraph(Desk, name="help desk").add_node(intake).add_node(classify)
    graph.add_node(search_docs).add_node(search_web).add_node(review)
    graph.add_node(draft, retry=RetryPolicy(max_attempts=2, initial_delay=0.001, jitter=False))
    graph.add_edge(START, "intake").add_edge("intake", "classify")
    graph.add_conditional_edge("classify", route).add_edge("classify", "search_web")
    graph.add_edge(["search_docs", "search_web"], "draft")
    return graph.add_edge("draft", "review").add_edge("review", END).compile()


@pytest.fixture
def desk_trace() -> Trace:
    tracer = Tracer()
    desk().run({"question": f"When do you open? {EVIL}", "notes": []}, tracer=tracer)
    assert tracer.last is not None
    return tracer.last


def test_to_html_writes_one_page_and_returns_its_path(tmp_path: Path, desk_trace: Trace) -> None:
    written = desk_trace.to_html(tmp_path / "run.html")
    assert written == tmp_path / "run.html"
    assert written.read_text(encoding="utf-8") == desk_trace.html()


def test_the_page_fetches_nothing_and_runs_only_its_own_script(desk_trace: Trace) -> None:
    page = desk_trace.html()
    assert f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">' in page
    assert "default-src 'none'" in POLICY
    assert page.count("<script") == 1
    assert not re.search(r"\b(src|href|srcset|xlink:href)=", page)
    assert re.findall(r"url\(([^)]*)\)", page)
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", page))
    assert "@import" not in page
    assert "@font-face" not in page
    links = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert links == {"http://www.w3.org/2000/svg"}  # the SVG's namespace, never fetched


def test_every_string_of_the_run_shows_escaped(desk_trace: Trace) -> None:
    page = desk_trace.html()
    assert EVIL not in page
    assert "<script>window" not in page
    assert page.count(ESCAPED) >= 4  # the question, a note, the reply, the final answer


def test_the_picture_highlights_the_path_the_run_took_and_times_each_node(
    desk_trace: Trace,
) -> None:
    page = desk_trace.html()
    # START, intake, classify -> both searches, both into the join, join -> draft ->
    # review -> END: nine arrows; classify's gate did not go to END.
    assert page.count('class="ok-taken"') == 9
    badges = dict(re.findall(r"<title>([^<:]+): ([^<]+)</title>", page))
    assert badges["draft"].startswith("2 attempts")
    assert set(badges) == {"intake", "classify", "search_docs", "search_web", "draft", "review"}


def test_a_loop_highlights_its_way_back(desk_trace: Trace) -> None:
    class Count(TypedDict):
        n: int

    def again(state: Count) -> Literal["count", "END"]:
        return "count" if state["n"] < 3 else "END"

    graph = OrkesGraph(Count).add_node("count", lambda state: {"n": state["n"] + 1})
    app = graph.add_edge(START, "count").add_conditional_edge("count", again).compile()
    tracer = Tracer()
    app.run({"n": 0}, tracer=tracer)
    assert tracer.last is not None
    page = tracer.last.html()
    assert page.count('class="ok-taken"') == 3  # START -> count, count -> count, count -> END
    assert "3\u00d7 " in page


def test_each_task_shows_its_input_keys_and_its_update_as_a_diff(desk_trace: Trace) -> None:
    page = desk_trace.html()
    draft = page[page.index('data-task="4:draft"') :]
    draft = draft[: draft.index("</article>")]
    assert "<code>question</code><code>notes</code><code>kind</code>" in draft
    assert "no update" in draft
    assert "ConnectionError: the search index was busy" in draft
    retried = page[page.rindex('data-task="4:draft"') :]
    assert '<tr class="added" data-key="answer"><td class="sign">+</td>' in retried
    web = page[page.index('data-task="3:search_web"') :]
    assert '<tr class="changed" data-key="notes"><td class="sign">~</td>' in web


def test_an_llm_call_shows_messages_reply_tool_calls_usage_and_latency(desk_trace: Trace) -> None:
    page = desk_trace.html()
    call = page[page.index('<details class="call">') :]
    call = call[: call.index("</details>")]
    assert "<b>Scripted</b><code>scripted-1</code>" in call
    assert "42 → 3 tokens" in call
    assert "1 tool call" in call
    assert "Sort the question." in call
    assert "classify: When do you open?" in call
    assert "<b>opening_hours</b> <code>call_1</code>" in call
    assert re.search(r"<th>latency</th><td>1\d\.\d ms</td>", call)
    assert "LLM calls <b>2 · " in page
    assert "tokens <b>162 in · 20 out</b>" in page


def test_gate_decisions_show_after_their_step(desk_trace: Trace) -> None:
    page = desk_trace.html()
    assert '<span class="badge gate">classify → search_docs</span>' in page
    assert "gate <code>route</code> after <code>classify</code> returned" in page


def test_a_failed_run_shows_its_error_and_opens_the_step_that_failed() -> None:
    class S(TypedDict):
        text: str

    def shaky(state: S) -> S:
        raise ValueError(f"can't read {state['text']!r}")

    app = OrkesGraph(S).add_node(shaky).add_edge(START, "shaky").add_edge("shaky", END).compile()
    tracer = Tracer()
    with pytest.raises(Exception, match="shaky"):
        app.run({"text": "<p>"}, tracer=tracer)
    assert tracer.last is not None
    page = tracer.last.html()
    assert '<span class="status status-failed">failed</span>' in page
    assert '<details class="step" data-step="1" open>' in page
    assert "ValueError: can&#x27;t read &#x27;&lt;p&gt;&#x27;" in page
    assert "Traceback (most recent call last):" in page
    assert "in shaky" in page
    assert "state before the failing step" in page


def test_a_paused_durable_run_shows_its_checkpoints_and_what_it_asks() -> None:
    class S(TypedDict, total=False):
        draft: str
        ok: str

    def confirm(state: S, ctx: RunContext) -> S:
        return {"ok": ctx.interrupt({"send": state["draft"]})}

    graph = OrkesGraph(S).add_node(confirm).add_edge(START, "confirm").add_edge("confirm", END)
    tracer = Tracer()
    runner = GraphRunner(graph.compile(), checkpointer=MemoryCheckpointer(), tracer=tracer)
    runner.invoke({"draft": EVIL}, thread_id="t-1")
    paused = tracer.last
    assert paused is not None
    assert paused.interrupts
    assert paused.checkpoints
    page = paused.html()
    assert "Paused, waiting for an answer" in page
    assert ESCAPED in page
    assert f"interrupt <code>{paused.interrupts[0].id}</code>" in page
    assert f"<code>{paused.checkpoints[0].checkpoint_id}</code>" in page
    assert "thread <b>t-1</b>" in page


def test_a_subgraphs_run_nests_in_its_task_and_lights_up_inside_its_cluster() -> None:
    class S(TypedDict, total=False):
        n: int

    inner = OrkesGraph(S, name="inner").add_node("x", lambda s: {"n": s["n"] + 1})
    inner.add_edge(START, "x").add_edge("x", END)
    outer = OrkesGraph(S, name="outer").add_node(inner.compile())
    app = outer.add_edge(START, "inner").add_edge("inner", END).compile()
    tracer = Tracer()
    app.run({"n": 0}, tracer=tracer)
    assert tracer.last is not None
    page = tracer.last.html()
    assert '<details class="nested"><summary><b>run of inner</b>' in page
    assert '<span class="node">inner \u203a x</span>' in page
    assert page.count('class="ok-taken"') == 4  # outer START, END; inner START, END
    assert re.search(r'<g class="ok-node" data-node="(n\d+)"', page)


def test_a_trace_without_a_shape_draws_the_one_it_is_given(desk_trace: Trace) -> None:
    bare = Trace.from_dict({**desk_trace.to_dict(), "shape": None})
    assert "keeps no picture of its graph" in bare.html()
    assert bare.html(shape=desk_trace.shape) == desk_trace.html()
    exact = bare.html(shape=desk().shape())  # the graph's own: its edges in the order added
    assert exact.count('class="ok-taken"') == 9
    assert exact.count('class="ok-node"') == 6


def test_in_chromium_the_page_shows_every_node_opens_steps_and_runs_no_run_text(
    tmp_path: Path, desk_trace: Trace
) -> None:
    page_file = desk_trace.to_html(tmp_path / "inspector.html")
    problems: list[str] = []
    fetched: list[str] = []
    with chromium_page(viewport={"width": 1400, "height": 950}) as page:
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(page_file.as_uri())

        shown = page.eval_on_selector_all(
            "svg .orkes-node", "nodes => nodes.map(node => node.getAttribute('data-name'))"
        )
        assert set(desk().nodes) | {"__start__", "__end__"} <= set(shown)
        for name in desk().nodes:
            assert page.locator(f"svg .orkes-node[data-name='{name}']").is_visible()

        step = page.locator("details.step[data-step='3']")
        web_update = step.locator("article[data-task='3:search_web'] tr[data-key='notes']")
        assert not web_update.is_visible()
        step.locator("summary").click()
        assert web_update.is_visible()
        assert EVIL in web_update.inner_text()
        docs_update = step.locator("article[data-task='3:search_docs'] tr[data-key='notes']")
        assert "docs: open 9-17" in docs_update.inner_text()
        _save_screenshot(page, tmp_path)

        draft = page.locator("article[data-task='4:draft']").first.get_attribute("data-node")
        page.locator(f"svg .ok-node[data-node='{draft}']").click()  # its two attempts
        picked = page.locator("article.task.picked")
        assert picked.count() == 2
        assert picked.first.is_visible()
        page.locator("button[data-act='open']").click()
        page.locator("article[data-task='4:draft'] details.call > summary").last.click()
        reply = page.locator("article[data-task='4:draft'] .msg.reply pre").last
        assert reply.is_visible()
        assert EVIL in reply.inner_text()

        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.scripts.length") == 1
        assert EVIL in page.evaluate("document.body.textContent")
    assert problems == []
    assert fetched == [page_file.as_uri()]


def _save_screenshot(page: Any, tmp_path: Path) -> None:
    folder = Path(os.environ.get("ORKES_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "inspector.png"
    page.screenshot(path=str(shot))
    print(f"inspector screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    if os.environ.get("ORKES_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "_static" / "inspector.png")


def _page_width(page_file: Path) -> tuple[int, int, list[str], list[str]]:
    """How wide the page is with every step open, the window's width, problems, fetches."""
    problems: list[str] = []
    fetched: list[str] = []
    with chromium_page(viewport={"width": 1200, "height": 900}) as page:
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(page_file.as_uri())
        page.locator("button[data-act='open']").click()
        wide, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return wide, window, problems, fetched


def test_in_chromium_a_1000_send_fan_out_stays_usable(tmp_path: Path) -> None:
    def split(state: Desk) -> None:
        return None

    def work(state: Any) -> Desk:
        return {"notes": [str(state["x"])]}

    graph = OrkesGraph(Desk, name="fan").add_node(split).add_node(work)
    graph.add_edge(START, "split").add_edge("work", END)
    graph.add_conditional_edge("split", lambda s: [Send("work", {"x": i}) for i in range(1000)])
    tracer = Tracer()
    graph.compile().run({}, tracer=tracer)
    assert tracer.last is not None
    page_file = tracer.last.to_html(tmp_path / "fan.html")
    assert page_file.stat().st_size < 1_500_000
    assert "split → work \u00d71000" in page_file.read_text(encoding="utf-8")
    wide, window, problems, fetched = _page_width(page_file)
    assert wide <= window  # no scrolling sideways past a badge naming 1000 targets
    assert problems == []
    assert fetched == [page_file.as_uri()]


def test_in_chromium_long_names_and_keys_wrap_inside_the_window(tmp_path: Path) -> None:
    name, key = "n" + "x" * 300, "k" * 400
    long_state = TypedDict("long_state", {key: int, "text": str}, total=False)  # type: ignore[misc]
    graph = OrkesGraph(long_state, name="G" * 300)
    graph.add_node(name, lambda state: {key: 1, "text": "y" * 3000})
    tracer = Tracer()
    graph.add_edge(START, name).add_edge(name, END).compile().run({}, tracer=tracer)
    assert tracer.last is not None
    wide, window, problems, _ = _page_width(tracer.last.to_html(tmp_path / "long.html"))
    assert wide <= window
    assert problems == []


def test_in_chromium_a_right_to_left_override_cannot_turn_the_page_s_text_round(
    tmp_path: Path,
) -> None:
    spoof = "evil\u202egnp.exe"  # shows as "evilexe.png" where the override is obeyed
    graph = OrkesGraph(Desk, name=spoof).add_node(spoof, lambda state: {"answer": spoof})
    graph.add_edge(START, spoof).add_edge(spoof, END)
    tracer = Tracer()
    graph.compile().run({"question": f"why \u2067{spoof}"}, tracer=tracer)
    assert tracer.last is not None
    page_file = tracer.last.to_html(tmp_path / "rtl.html")
    reorder = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    with chromium_page() as page:
        page.goto(page_file.as_uri())
        page.locator("button[data-act='open']").click()
        shown = page.evaluate("document.title + document.body.textContent")
        assert "evil\ufffdgnp.exe" in shown
        assert not any(ch in shown for ch in reorder)
        meta = page.locator("article.task .meta").first.inner_text()
        assert "began +" in meta
