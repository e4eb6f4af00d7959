"""The inspector's style sheet and script: fixed text, the same on every page.

Nothing from a run is ever put in either. The script only opens and closes
``<details>`` elements and marks the tasks of the node clicked in the picture, which it
finds by the ``data-node`` ids the page gives both; it reads no text of the run and
writes no markup. Neither holds a ``<`` at all, so no run text could be mistaken for
the end of either.
"""

from __future__ import annotations

__all__ = ["SCRIPT", "STYLE"]

STYLE = """
:root {
  --ink: #22262e; --muted: #667085; --line: #dde1e8; --soft: #f5f6f8; --card: #ffffff;
  --accent: #e8590c; --accent-soft: #fff1e6; --ok: #2b8a3e; --fail: #c92a2a;
  --fail-soft: #fff0f0; --pause: #f08c00; --pause-soft: #fff8e6; --blue: #4b5d8c;
  --mono: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--ink); background: var(--soft);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  overflow-wrap: anywhere;
}
h1 { font-size: 20px; margin: 0; display: inline; }
h2 { font-size: 15px; margin: 18px 0 8px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
h2:first-child { margin-top: 0; }
pre, code { font-family: var(--mono); font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
header.top { background: var(--card); border-bottom: 1px solid var(--line); padding: 14px 22px; }
.facts { color: var(--muted); margin-top: 4px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.facts b { color: var(--ink); font-weight: 600; }
main { display: grid; grid-template-columns: minmax(300px, 38%) minmax(0, 1fr); gap: 18px;
  padding: 18px 22px; align-items: start; }
@media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } }
.pane { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; min-width: 0; }
.picture-pane { position: sticky; top: 12px; max-height: calc(100vh - 24px); overflow: auto; }
.picture svg { max-width: 100%; height: auto; }
.ok-node { cursor: pointer; outline: none; }
.ok-node.picked .ok-badge, .ok-node:focus .ok-badge { stroke: var(--ink); stroke-width: 2; }
.legend { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle;
  background: var(--accent); margin: 0 4px 0 10px; }
.status { display: inline-block; border-radius: 10px; padding: 1px 9px; margin-left: 8px;
  font-size: 12px; font-weight: 600; color: #fff; vertical-align: 3px; }
.status-done { background: var(--ok); } .status-failed { background: var(--fail); }
.status-paused { background: var(--pause); } .status-stopped { background: var(--muted); }
.badge { display: inline-block; border-radius: 9px; padding: 0 7px; font-size: 11.5px;
  background: var(--soft); border: 1px solid var(--line); color: var(--ink); white-space: nowrap;
  max-width: 100%; overflow: hidden; text-overflow: ellipsis; vertical-align: bottom; }
.badge.fail { background: var(--fail-soft); border-color: #f3b4b4; color: var(--fail); }
.badge.pause { background: var(--pause-soft); border-color: #f5d08a; color: #a35f00; }
.badge.gate { background: #eef2fb; border-color: #c5cde3; color: var(--blue); }
.alert { border-radius: 6px; padding: 10px 12px; margin-bottom: 12px; }
.alert.fail { background: var(--fail-soft); border: 1px solid #f3b4b4; }
.alert.pause { background: var(--pause-soft); border: 1px solid #f5d08a; }
.alert h3 { margin: 0 0 6px; font-size: 14px; }
.section-head { display: flex; align-items: baseline; justify-content: space-between;
  gap: 8px; margin: 18px 0 8px; }
.section-head h2 { margin: 0; }
.section-head:first-child { margin-top: 0; }
.toolbar { display: flex; gap: 4px; }
button { font: inherit; font-size: 12px; border: 1px solid var(--line); background: var(--card);
  border-radius: 5px; padding: 2px 9px; cursor: pointer; }
details.step { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 6px;
  background: var(--card); }
details.step[open] { border-color: #c4cad6; }
details.step > summary { display: grid; grid-template-columns: 74px 70px minmax(0, 1fr);
  gap: 8px; align-items: center; padding: 6px 10px; cursor: pointer; list-style: none; }
details.step > summary::-webkit-details-marker { display: none; }
.step-no { font-weight: 600; white-space: nowrap; }
.step-no::before { content: "\\25B8\\00A0"; color: var(--muted); }
details.step[open] > summary .step-no::before { content: "\\25BE\\00A0"; }
.step-time { color: var(--muted); font-family: var(--mono); font-size: 12px; }
.lanes { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.lane { display: flex; align-items: center; gap: 6px; min-width: 0; }
.track { flex: 0 0 38%; height: 9px; background: var(--soft); border-radius: 3px;
  position: relative; overflow: hidden; }
.bar { position: absolute; top: 0; bottom: 0; background: var(--accent); border-radius: 3px;
  min-width: 2px; }
.bar.fail { background: var(--fail); } .bar.pause { background: var(--pause); }
.bar.cached { background: #adb5bd; }
.lane-name { font-family: var(--mono); font-size: 12px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.marks { display: flex; flex-wrap: wrap; gap: 4px; grid-column: 3; min-width: 0; }
.step-body { padding: 4px 10px 10px; border-top: 1px solid var(--line); }
.tasks { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 8px;
  margin-top: 8px; }
.task { border: 1px solid var(--line); border-left: 3px solid var(--accent); border-radius: 5px;
  padding: 8px 10px; min-width: 0; background: var(--card); }
.task.fail { border-left-color: var(--fail); } .task.pause { border-left-color: var(--pause); }
.task.cached { border-left-color: #adb5bd; }
.task.picked { box-shadow: 0 0 0 2px var(--accent); }
.task-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
.task-head .node { font-family: var(--mono); font-weight: 600; }
.task-head .dur { color: var(--muted); font-family: var(--mono); font-size: 12px; }
.meta { color: var(--muted); font-size: 12px; }
.label { color: var(--muted); font-size: 11.5px; text-transform: uppercase;
  letter-spacing: .04em; margin: 8px 0 3px; }
.keys code { background: var(--soft); border-radius: 3px; padding: 0 4px; margin-right: 3px; }
table.diff, table.kv { border-collapse: collapse; width: 100%; }
table.diff td, table.kv td, table.kv th { vertical-align: top; padding: 2px 4px;
  border-top: 1px solid var(--soft); text-align: left; }
table.kv th { font-weight: 500; color: var(--muted); width: 1%; white-space: nowrap; }
td.sign { width: 1%; font-family: var(--mono); font-weight: 700; }
tr.added td.sign { color: var(--ok); } tr.changed td.sign { color: var(--blue); }
tr.added { background: #f1faf3; } tr.changed { background: #f3f5fb; }
td.key { width: 1%; white-space: nowrap; font-family: var(--mono); font-size: 12.5px; }
td.key > span { display: inline-block; width: max-content; max-width: 16em; white-space: normal; }
.none { color: var(--muted); font-style: italic; margin: 2px 0; }
details.call, details.error, details.nested { border: 1px solid var(--line); border-radius: 5px;
  margin-top: 6px; }
details.call > summary, details.error > summary, details.nested > summary { cursor: pointer;
  padding: 4px 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
details.call[open] > summary, details.nested[open] > summary {
  border-bottom: 1px solid var(--line); }
details.error > summary { color: var(--fail); font-family: var(--mono); font-size: 12.5px; }
.call-body, .nested-body { padding: 6px 8px; }
.msg { border-left: 3px solid var(--line); padding: 2px 8px; margin: 4px 0; }
.msg .role { font-size: 11px; text-transform: uppercase; color: var(--muted);
  letter-spacing: .05em; }
.msg.role-system { border-left-color: #868e96; } .msg.role-user { border-left-color: #4dabf7; }
.msg.role-assistant, .msg.reply { border-left-color: var(--ok); }
.msg.role-tool { border-left-color: #ae3ec9; }
.tool-call { background: var(--soft); border-radius: 4px; padding: 4px 6px; margin: 4px 0; }
pre.traceback { background: #fbf6f6; padding: 6px 8px; border-radius: 4px; font-size: 12px; }
ul.plain { margin: 4px 0; padding-left: 18px; }
.gates { margin-top: 8px; }
"""
"""The page's CSS (no fonts, images or links: the system's own fonts)."""

SCRIPT = """
(function () {
  "use strict";
  function each(selector, act) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), act);
  }
  function pick(id) {
    each(".picked", function (found) { found.classList.remove("picked"); });
    if (id === null) { return; }
    var first = null;
    each("[data-node]", function (found) {
      if (found.getAttribute("data-node") !== id) { return; }
      found.classList.add("picked");
      if (!found.classList.contains("task")) { return; }
      for (var up = found.parentElement; up; up = up.parentElement) {
        if (up.tagName === "DETAILS") { up.open = true; }
      }
      if (first === null) { first = found; }
    });
    if (first !== null) { first.scrollIntoView({block: "center", behavior: "smooth"}); }
  }
  each(".ok-node", function (node) {
    var id = node.getAttribute("data-node");
    node.addEventListener("click", function () { pick(id); });
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pick(id); }
    });
  });
  each("button[data-act]", function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-act") === "open";
      each("details.step", function (step) { step.open = open; });
      if (!open) { pick(null); }
    });
  });
})();
"""
"""The page's script: opens steps, and shows the tasks of a node clicked in the picture."""
