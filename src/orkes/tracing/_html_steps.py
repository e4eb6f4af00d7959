"""The inspector's timeline: one row per superstep, its tasks side by side when opened.

A step's row (a ``<details>``) shows its number, its time and a bar per task placed
in the step's span, so tasks that ran in parallel show as overlapping bars; opened, it
shows a card per task (input keys, the update as a diff, LLM calls, error, the runs of
a subgraph nested in it), the gates asked after it, and the checkpoint and pauses
it made. Every string of the run goes through :func:`~orkes.tracing._html_text.esc`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from orkes.tracing._html_calls import call_html, diff_html, error_html
from orkes.tracing._html_text import INSIDE, TIMES, duration, esc, pre, pretty

if TYPE_CHECKING:
    from orkes.tracing.records import CheckpointRecord, InterruptRecord, StepRecord, TaskRecord
    from orkes.tracing.trace import Trace

__all__ = ["Clock", "timeline"]

Path = tuple[str, ...]
_LANES = 8  # bars shown in a step's row; more tasks are counted


class Clock:
    """Times as the page shows them: offsets from the start of the run inspected."""

    __slots__ = ("origin",)

    def __init__(self, origin: float) -> None:
        self.origin = origin

    def offset(self, moment: float) -> str:
        """``+12.3 ms``: how long after the run began."""
        return "+" + duration(moment - self.origin)


def timeline(trace: Trace, ids: Mapping[Path, str], skip: int, clock: Clock) -> str:
    """Every step of ``trace``; ``skip``: how many names of a task's path the picture omits."""
    checkpoints: dict[int, list[CheckpointRecord]] = {}
    for checkpoint in trace.checkpoints:
        checkpoints.setdefault(checkpoint.step, []).append(checkpoint)
    pauses: dict[int, list[InterruptRecord]] = {}
    for pause in trace.interrupts:
        pauses.setdefault(pause.step, []).append(pause)
    rows = [
        _step(step, ids, skip, clock, checkpoints.pop(step.step, []), pauses.pop(step.step, []))
        for step in trace.steps
    ]
    if not rows:
        rows.append('<p class="none">no steps: the run ended before its first</p>')
    return f'<div class="timeline">{"".join(rows)}</div>'


def _step(
    step: StepRecord,
    ids: Mapping[Path, str],
    skip: int,
    clock: Clock,
    checkpoints: Sequence[CheckpointRecord],
    pauses: Sequence[InterruptRecord],
) -> str:
    failed = _failed(step.tasks)
    marks = [
        f'<span class="badge gate">{esc(gate.source)} → {esc(_led_to(gate.led_to))}</span>'
        for gate in step.gates
    ]
    marks += [f'<span class="badge">checkpoint {esc(c.checkpoint_id)}</span>' for c in checkpoints]
    marks += [f'<span class="badge pause">paused: {esc(p.node)}</span>' for p in pauses]
    if failed:
        marks.append('<span class="badge fail">failed</span>')
    label = "start" if step.step == 0 and not step.tasks else f"step {step.step}"
    opened = " open" if failed or pauses else ""
    summary = (
        f'<summary><span class="step-no">{esc(label)}</span>'
        f'<span class="step-time" title="{esc(clock.offset(step.started))}">'
        f"{duration(step.seconds)}</span>"
        f'<span class="lanes">{_lanes(step)}</span>'
        f'<span class="marks">{"".join(marks)}</span></summary>'
    )
    last = {id(task) for task in failed}
    cards = "".join(_task(task, ids, skip, clock, id(task) in last) for task in step.tasks)
    body = [f'<div class="tasks">{cards}</div>'] if cards else []
    body += list(_after(step, checkpoints, pauses))
    return (
        f'<details class="step" data-step="{step.step}"{opened}>{summary}'
        f'<div class="step-body">{"".join(body)}</div></details>'
    )


def _failed(tasks: Sequence[TaskRecord]) -> list[TaskRecord]:
    """The tasks whose last attempt failed (an attempt retried after is not a failure)."""
    last = {task.task_id: task for task in tasks}
    return [task for task in last.values() if task.error is not None]


def _led_to(nodes: tuple[str, ...]) -> str:
    """``"a, b"``; a node sent to many times once, counted: ``"work" + TIMES + "1000"``."""
    if not nodes:
        return "END"
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node] = counts.get(node, 0) + 1
    return ", ".join(name if n == 1 else f"{name} {TIMES}{n}" for name, n in counts.items())


def _lanes(step: StepRecord) -> str:
    if not step.tasks:
        return '<span class="lane-name none">START\u2019s gates</span>' if step.gates else ""
    begin = min([step.started, *(task.started for task in step.tasks)])
    end = max([step.ended, *(task.ended for task in step.tasks)])
    span = end - begin
    lanes = []
    for task in step.tasks[:_LANES]:
        if span > 0:
            left = min(max((task.started - begin) / span * 100, 0.0), 99.0)
            width = min(max(task.seconds / span * 100, 0.0), 100.0 - left)
        else:
            left, width = 0.0, 100.0
        kind = _kind(task)
        lanes.append(
            f'<span class="lane"><span class="track"><span class="bar {kind}" '
            f'style="left:{left:.1f}%;width:{width:.1f}%"></span></span>'
            f'<span class="lane-name">{esc(_name(task))} '
            f'<span class="meta">{duration(task.seconds)}</span></span></span>'
        )
    if len(step.tasks) > _LANES:
        more = len(step.tasks) - _LANES
        lanes.append(f'<span class="lane-name none">and {more} more</span>')
    return "".join(lanes)


def _kind(task: TaskRecord) -> str:
    if task.error is not None:
        return "fail"
    if task.interrupted:
        return "pause"
    return "cached" if task.cached else "ok"


def _name(task: TaskRecord) -> str:
    """``"work"``, ``"work #2"`` for a ``Send``'s task, ``"work (attempt 2)"``."""
    name = task.node
    suffix = task.task_id.rpartition("#")[2] if "#" in task.task_id else ""
    if suffix:
        name += f" #{suffix}"
    if task.attempt > 1:
        name += f" (attempt {task.attempt})"
    return name


def _task(task: TaskRecord, ids: Mapping[Path, str], skip: int, clock: Clock, failed: bool) -> str:
    path = (*task.path[skip:], task.node)
    node_id = ids.get(path)
    data = f' data-node="{node_id}"' if node_id is not None else ""
    badges = []
    if task.cached:
        badges.append('<span class="badge">cached</span>')
    elif task.attempt == 0:
        badges.append('<span class="badge">not called: kept from before</span>')
    if task.attempt > 1:
        badges.append(f'<span class="badge pause">attempt {task.attempt}</span>')
    if task.error is not None:
        word = "failed" if failed else "failed, retried"
        badges.append(f'<span class="badge fail">{word}</span>')
    if task.interrupted:
        badges.append('<span class="badge pause">paused the run</span>')
    parts = [
        f'<div class="task-head"><span class="node">{esc(INSIDE.join(path))}</span>'
        f'<span class="dur">{duration(task.seconds)}</span>{"".join(badges)}</div>',
        f'<div class="meta">task {esc(task.task_id)} · began {clock.offset(task.started)}</div>',
        diff_html(task.input_keys, task.update),
    ]
    if task.llm_calls:
        parts.append('<div class="label">LLM calls</div>')
        parts += [call_html(call, number) for number, call in enumerate(task.llm_calls, 1)]
    if task.error is not None:
        parts.append(error_html(task.error))
    parts += [_nested(nested, ids, skip, clock) for nested in task.subgraphs]
    head = f'<article class="task {_kind(task)}"{data} data-task="{esc(task.task_id)}">'
    return f"{head}{''.join(parts)}</article>"


def _nested(trace: Trace, ids: Mapping[Path, str], skip: int, clock: Clock) -> str:
    steps = sum(1 for step in trace.steps if step.tasks)
    title = trace.graph if trace.graph is not None else "a graph"
    summary = (
        f"<summary><b>run of {esc(title)}</b>"
        f'<span class="badge">{esc(trace.status)}</span>'
        f'<span class="meta">{steps} step{"" if steps == 1 else "s"} · '
        f"{duration(trace.seconds)}</span></summary>"
    )
    body = timeline(trace, ids, skip, clock)
    if trace.error is not None:
        body = error_html(trace.error) + body
    return f'<details class="nested">{summary}<div class="nested-body">{body}</div></details>'


def _after(
    step: StepRecord, checkpoints: Sequence[CheckpointRecord], pauses: Sequence[InterruptRecord]
) -> Iterator[str]:
    """What came after the step's tasks: gates, the checkpoint, the pauses."""
    if step.gates:
        items = "".join(
            f"<li>gate <code>{esc(gate.gate)}</code> after <code>{esc(gate.source)}</code> "
            f"returned <code>{esc(pretty(gate.value))}</code> → "
            f"<b>{esc(_led_to(gate.led_to))}</b></li>"
            for gate in step.gates
        )
        yield f'<div class="label">gates</div><ul class="plain gates">{items}</ul>'
    if checkpoints:
        items = "".join(f"<li><code>{esc(c.checkpoint_id)}</code></li>" for c in checkpoints)
        yield f'<div class="label">checkpoint written</div><ul class="plain">{items}</ul>'
    for pause in pauses:
        yield (
            f'<div class="label">paused: {esc(pause.node)} asks</div>'
            f"{pre(pretty(pause.payload))}"
            f'<div class="meta">interrupt {esc(pause.id)}</div>'
        )
