"""The inspector's picture: the graph's SVG, with the path the run took and node timings.

The picture is ``orkes.viz``'s SVG of the graph, unchanged, with one group laid over it:
the arrows the run took drawn again in the accent colour, an outline round every box
that ran (red where an attempt failed, amber where it paused), a badge with each node's
time (and how many times it ran), and a transparent hit area per node that ran, which
the page's script finds by its ``data-node`` id to show that node's tasks.

Which arrows the run took is read from the steps, as a picture can show it: an arrow
``a -> b`` was taken when ``b`` ran in the step after one in which ``a`` ran (in the
same run: a subgraph's steps count apart); from START when its target ran first in a
run that began afresh; to END from a node none of whose other targets ran next, in a
run that reached END; through a join when a source ran before the join's target.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orkes.tracing._html_text import TIMES, duration, esc

if TYPE_CHECKING:
    from orkes.tracing.records import TaskRecord
    from orkes.tracing.trace import Trace
    from orkes.viz._geometry import Box, Layout, Route
    from orkes.viz.shape import GraphShape

__all__ = ["Kinds", "NodeTimes", "Picture", "picture"]

Path = tuple[str, ...]
Point = tuple[int, int]  # (which run of the trace, superstep)

ACCENT = "#e8590c"
FAILED = "#c92a2a"
PAUSED = "#f08c00"
_START, _END = "__start__", "__end__"
_LAST = 1 << 62  # END's "step": after every step of a run that reached it


@dataclass(slots=True)
class NodeTimes:
    """How a node of the picture fared in the run: its attempts and their time."""

    attempts: int = 0
    seconds: float = 0.0
    failed: bool = False
    paused: bool = False

    def badge(self) -> str:
        """Its time (``"12.3 ms"``), after the count of attempts if it ran more than once."""
        spent = duration(self.seconds)
        return spent if self.attempts == 1 else f"{self.attempts}{TIMES} {spent}"


@dataclass(slots=True)
class Picture:
    """The picture's SVG, and the id (``data-node``) of each node box by its path."""

    svg: str
    ids: dict[Path, str] = field(default_factory=dict)


def picture(shape: GraphShape, root: Trace) -> Picture:
    """``shape``'s SVG, showing where ``root``'s run (and the runs nested in it) went."""
    from orkes.viz.layout import lay_out
    from orkes.viz.svg import svg_of

    layout = lay_out(shape)
    svg = svg_of(layout).rstrip()
    ids = {
        box.path: f"n{number}"
        for number, box in enumerate(layout.boxes)
        if box.kind in ("node", "subgraph")
    }
    ran, times = _ran(root)
    over = "\n".join(_overlay(layout, ids, ran, times))
    drawn = svg.rpartition("</svg>")[0]  # svg_of's document ends with its closing tag
    return Picture(f'{drawn}<g class="ok-over">\n{over}\n</g>\n</svg>', ids)


def _ran(root: Trace) -> tuple[dict[Path, set[Point]], dict[Path, NodeTimes]]:
    """Where each box of the picture ran (runs numbered in walk order), and its times."""
    ran: dict[Path, set[Point]] = {}
    times: dict[Path, NodeTimes] = {}
    skip = len(root.path)
    for number, trace in enumerate(root.walk()):
        level = trace.path[skip:]
        steps = [task.step for task in trace.tasks]
        if steps and min(steps) <= 1:  # begun afresh: it left START
            ran.setdefault((*level, _START), set()).add((number, min(steps) - 1))
        if trace.status == "done":
            ran.setdefault((*level, _END), set()).add((number, _LAST))
        last: dict[str, tuple[Path, TaskRecord]] = {}  # a retried task's last attempt
        for task in trace.tasks:
            path = (*task.path[skip:], task.node)
            ran.setdefault(path, set()).add((number, task.step))
            kept = times.setdefault(path, NodeTimes())
            kept.attempts += 1
            kept.seconds += max(task.seconds, 0.0)
            kept.paused |= task.interrupted
            last[task.task_id] = (path, task)
        for path, task in last.values():
            times[path].failed |= task.error is not None
    return ran, times


def _taken(route: Route, kinds: Kinds, ran: dict[Path, set[Point]]) -> bool:
    source = ran.get(route.source, set())
    into, out_of = kinds.get(route.target), kinds.get(route.source)
    if into == "join":  # a source ran before the join's target
        return any(
            run == later_run and later > step
            for run, step in source
            for joined in kinds.targets[route.target]
            for later_run, later in ran.get(joined, ())
        )
    target = ran.get(route.target, set())
    if out_of == "join":
        return any(
            run == earlier_run and earlier < step
            for run, step in target
            for joining in kinds.sources[route.source]
            for earlier_run, earlier in ran.get(joining, ())
        )
    if into == "anywhere":  # the gate led somewhere
        return any((run, step + 1) in points for run, step in source for points in ran.values())
    if into == "end":  # none of the node's other targets ran next
        others = [other for other in kinds.targets[route.source] if other != route.target]
        ended = {run for run, _ in target}
        return any(
            run in ended and not any((run, step + 1) in ran.get(other, ()) for other in others)
            for run, step in source
        )
    return any((run, step + 1) in target for run, step in source)


class Kinds(dict[Path, str]):
    """Each box's kind by its path, and where the arrows of each box lead and come from."""

    def __init__(self, layout: Layout) -> None:
        super().__init__((box.path, box.kind) for box in layout.boxes)
        self.targets: dict[Path, list[Path]] = {path: [] for path in self}
        self.sources: dict[Path, list[Path]] = {path: [] for path in self}
        for route in layout.routes:
            self.targets.setdefault(route.source, []).append(route.target)
            self.sources.setdefault(route.target, []).append(route.source)


def _overlay(
    layout: Layout, ids: dict[Path, str], ran: dict[Path, set[Point]], times: dict[Path, NodeTimes]
) -> Iterator[str]:
    from orkes.viz.svg import _path

    kinds = Kinds(layout)
    yield (
        f'<defs><marker id="ok-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" '
        f'markerHeight="5" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{ACCENT}"/>'
        "</marker></defs>"
    )
    for route in layout.routes:
        if _taken(route, kinds, ran):
            yield (
                f'<path class="ok-taken" d="{_path(route.stations)}" fill="none" '
                f'stroke="{ACCENT}" stroke-width="2.6" stroke-opacity="0.85" '
                'marker-end="url(#ok-arrow)"/>'
            )
    for box in layout.boxes:
        if box.path in ran:
            yield _outline(box, times.get(box.path))
    for box in layout.boxes:
        kept = times.get(box.path)
        if kept is not None and box.path in ids:
            yield from _badge(box, kept, ids[box.path])


def _outline(box: Box, kept: NodeTimes | None) -> str:
    colour = ACCENT
    if kept is not None and kept.failed:
        colour = FAILED
    elif kept is not None and kept.paused:
        colour = PAUSED
    if box.kind in ("start", "end"):
        radius = box.width / 2 + 3
        return (
            f'<circle class="ok-ran" cx="{_n(box.x + box.width / 2)}" '
            f'cy="{_n(box.y + box.height / 2)}" r="{_n(radius)}" fill="none" '
            f'stroke="{colour}" stroke-width="2.5"/>'
        )
    corner = 10 if box.kind == "subgraph" else 5
    return (
        f'<rect class="ok-ran" x="{_n(box.x - 2)}" y="{_n(box.y - 2)}" '
        f'width="{_n(box.width + 4)}" height="{_n(box.height + 4)}" rx="{corner}" '
        f'fill="none" stroke="{colour}" stroke-width="2.5"/>'
    )


def _badge(box: Box, kept: NodeTimes, node_id: str) -> Iterator[str]:
    text = kept.badge()
    width = len(text) * 6.2 + 10
    x, y = box.x + box.width - width + 8, box.y - 9
    colour = FAILED if kept.failed else PAUSED if kept.paused else ACCENT
    yield f'<g class="ok-node" data-node="{node_id}" tabindex="0" role="button">'
    yield f"<title>{esc(box.path[-1])}: {esc(_summary(kept))}</title>"
    yield (
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" '
        f'height="{_n(box.height)}" fill="#ffffff" fill-opacity="0"/>'
    )
    yield (
        f'<rect class="ok-badge" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="15" '
        f'rx="7.5" fill="{colour}"/>'
    )
    yield (
        f'<text x="{_n(x + width / 2)}" y="{_n(y + 7.5)}" dy="0.35em" text-anchor="middle" '
        f'font-size="10" fill="#ffffff">{esc(text)}</text>'
    )
    yield "</g>"


def _summary(kept: NodeTimes) -> str:
    runs = "1 attempt" if kept.attempts == 1 else f"{kept.attempts} attempts"
    state = ", failed" if kept.failed else ", paused" if kept.paused else ""
    return f"{runs}, {duration(kept.seconds)} in all{state}"


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
