"""The order of a recording's calls: the same for the same runs, whatever their threads did.

Calls are grouped by subgraph path, then node (the calls made outside any node last at
each path), and a node's calls are put in the order it made them. Tasks of one node that
ran side by side — the ``Send`` tasks of one step — made theirs in an order their threads
chose: those tasks are put in the order of what their first calls sent, so that recording
the same runs again writes the same file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orkes.testing._where import Place, Site

if TYPE_CHECKING:
    from orkes.testing._recording import RecordedCall

__all__ = ["Added", "in_order"]


@dataclass(frozen=True, slots=True, eq=False)
class Added:
    """A call as a recording got it: where it was made (``None``: read from a file), and when.

    ``seq`` counts the calls as they were made (or their places in the file).
    """

    call: RecordedCall
    place: Place | None
    seq: int


def in_order(added: Iterable[Added]) -> list[RecordedCall]:
    """The calls, ordered by site, then as each node made them (its parallel tasks by content)."""
    by_site: dict[Site, list[Added]] = {}
    for entry in added:
        by_site.setdefault((entry.call.path, entry.call.node), []).append(entry)
    ordered: list[RecordedCall] = []
    for site in sorted(by_site, key=lambda site: (site[0], site[1] is not None, site[1] or "")):
        ordered += _as_made(by_site[site])
    return ordered


def _as_made(entries: list[Added]) -> list[RecordedCall]:
    """One node's calls: step by step; within a step, task by task; in a task, call by call."""
    rounds: dict[tuple[int, int], dict[int, list[Added]]] = {}
    for entry in sorted(entries, key=lambda entry: entry.seq):
        place = entry.place
        if place is None or place.task is None:  # read from a file, or made outside nodes
            rounds.setdefault((id(entry), 0), {}).setdefault(0, []).append(entry)
            continue
        tasks = rounds.setdefault((id(place.run), place.step), {})
        tasks.setdefault(id(place.task), []).append(entry)
    ordered: list[RecordedCall] = []
    for tasks in rounds.values():  # in the order each round began
        for calls in sorted(tasks.values(), key=_first_sent):  # stable: ties keep their order
            ordered += [entry.call for entry in calls]
    return ordered


def _first_sent(calls: list[Added]) -> str:
    return json.dumps(calls[0].call.compared(), sort_keys=True, default=str)
