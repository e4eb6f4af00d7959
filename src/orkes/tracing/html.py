"""The trace inspector: a run as one self-contained HTML page.

``trace.to_html("run.html")`` (or :func:`trace_html`, the text) makes a page that
needs nothing but a browser: no CDN, no fonts, images or scripts fetched — its style
sheet and its small script are inline, and its policy (``Content-Security-Policy``)
lets nothing else load or run. It shows:

* the graph's picture (``orkes.viz``'s SVG) with the path the run took, an outline
  round every node that ran and a badge with its time; click a node to see its tasks;
* a timeline of the supersteps, parallel tasks as overlapping bars; open a step for
  its tasks side by side: input keys, the update as a diff, LLM calls (messages, reply,
  tool calls, usage, latency), errors with their tracebacks, nested subgraph runs;
* the gates' decisions, the checkpoints written, the pauses, the run's error and its
  final state.

Every string of the run is HTML-escaped (:mod:`orkes.tracing._html_text`): a model's
answer or a state value reading ``</script><script>…`` shows as that text.

Example:
    >>> from typing import TypedDict
    >>> from orkes import END, START, OrkesGraph
    >>> from orkes.tracing import Tracer
    >>> class S(TypedDict):
    ...     text: str
    >>> app = OrkesGraph(S).add_node("echo", lambda s: {"text": s["text"] + "!"})
    >>> app = app.add_edge(START, "echo").add_edge("echo", END).compile()
    >>> tracer = Tracer()
    >>> _ = app.run({"text": "<b>hi</b>"}, tracer=tracer)
    >>> page = trace_html(tracer.last)
    >>> page.startswith("<!DOCTYPE html>"), "&lt;b&gt;hi&lt;/b&gt;!" in page, "<b>hi" in page
    (True, True, False)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from orkes.tracing._html_assets import SCRIPT, STYLE
from orkes.tracing._html_calls import error_html, tokens
from orkes.tracing._html_picture import picture
from orkes.tracing._html_steps import Clock, timeline
from orkes.tracing._html_text import INSIDE, TIMES, duration, esc, moment, pre, pretty

if TYPE_CHECKING:
    from orkes.tracing.trace import Trace
    from orkes.viz.shape import GraphShape

__all__ = ["POLICY", "trace_html"]

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")

POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: nothing loads; only the page's own script runs."""


def trace_html(trace: Trace, *, shape: GraphShape | None = None) -> str:
    """``trace`` as one self-contained HTML page (see the module's description).

    Args:
        trace: the run to show.
        shape: the graph to draw (``app.shape()``); ``None``: the one the trace keeps,
            if it keeps one.

    Raises:
        GraphDefinitionError: ``shape`` is not an ``orkes.viz.GraphShape``.
    """
    if shape is not None:
        from orkes.viz.shape import shape_arg

        shape = shape_arg(shape, "html(shape=...)")
    drawn = shape if shape is not None else trace.shape
    shown = None if drawn is None else picture(drawn, trace)
    ids = {} if shown is None else shown.ids
    clock = Clock(trace.started)
    title = trace.graph if trace.graph is not None else "a run"
    picture_html = (
        f'<div class="picture">{shown.svg}</div>'
        '<p class="legend"><i></i>the path the run took · badges: time in each node '
        f"({TIMES} attempts) · click a node for its tasks</p>"
        if shown is not None
        else '<p class="none">This trace keeps no picture of its graph: give '
        "<code>shape=app.shape()</code> to draw one.</p>"
    )
    state_label = "state before the failing step" if trace.status == "failed" else "final state"
    body = [
        f'<header class="top"><h1>{esc(title)}</h1>'
        f'<span class="status status-{esc(trace.status)}">{esc(trace.status)}</span>'
        f'<div class="facts">{"".join(_facts(trace))}</div></header>',
        "<main>",
        f'<section class="pane picture-pane"><h2>Graph</h2>{picture_html}</section>',
        '<section class="pane run-pane">',
        *_alerts(trace),
        '<div class="section-head"><h2>Timeline</h2><div class="toolbar">'
        '<button type="button" data-act="open">open all</button>'
        '<button type="button" data-act="close">close all</button></div></div>',
        timeline(trace, ids, len(trace.path), clock),
        f"<h2>{state_label}</h2>",
        pre(pretty(trace.state)),
        "</section>",
        "</main>",
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="orkes">',
            f"<title>{esc(title)} · {esc(trace.status)} · orkes trace</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _facts(trace: Trace) -> Iterator[str]:
    def fact(name: str, value: str) -> str:
        return f"<span>{esc(name)} <b>{value}</b></span>"

    yield fact("run", esc(trace.run_id))
    if trace.thread_id is not None:
        yield fact("thread", esc(trace.thread_id))
    if trace.path:
        yield fact("inside", esc(INSIDE.join(trace.path)))
    yield fact("began", esc(moment(trace.started)))
    yield fact("took", duration(trace.seconds))
    tasks = trace.tasks
    yield fact("steps", str(sum(1 for step in trace.steps if step.tasks)))
    yield fact("tasks", str(len(tasks)))
    calls = trace.llm_calls
    if calls:
        spent = sum(max(call.seconds, 0.0) for call in calls)
        yield fact("LLM calls", f"{len(calls)} · {duration(spent)}")
        counted = [found for call in calls if (found := tokens(call.usage)) is not None]
        if counted:
            into, out = sum(c[0] for c in counted), sum(c[1] for c in counted)
            yield fact("tokens", f"{into:,} in · {out:,} out")


def _alerts(trace: Trace) -> Iterator[str]:
    if trace.error is not None:
        yield (
            f'<div class="alert fail"><h3>The run {esc(trace.status)}</h3>'
            f"{error_html(trace.error, open_=True)}</div>"
        )
    if trace.interrupts:
        items = "".join(
            f"<li><b>{esc(INSIDE.join((*pause.path, pause.node)))}</b> asks (step {pause.step}, "
            f"interrupt <code>{esc(pause.id)}</code>){pre(pretty(pause.payload))}</li>"
            for pause in trace.interrupts
        )
        yield (
            '<div class="alert pause"><h3>Paused, waiting for an answer</h3>'
            f'<ul class="plain">{items}</ul></div>'
        )
    if trace.checkpoints:
        items = "".join(
            f"<li>after step {c.step}: <code>{esc(c.checkpoint_id)}</code></li>"
            for c in trace.checkpoints
        )
        many = len(trace.checkpoints)
        yield (
            f'<details class="nested"><summary><b>{many} checkpoint'
            f"{'' if many == 1 else 's'} written</b></summary>"
            f'<div class="nested-body"><ul class="plain">{items}</ul></div></details>'
        )
