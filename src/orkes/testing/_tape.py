"""``record()`` and ``replay()``: the tapes a block puts in force, and a replay's error.

Both set :data:`orkes._cassette.current_tape` for their block; the runs started inside
copy it into their threads and tasks, and each LLM call of a shipped connector (or of a
``traced()`` one) meets the tape. Calls are told apart by where they are made — the
subgraph path and the node (:mod:`orkes.testing._where`) — and numbered per node in the
order they are made, so that nodes running in parallel each replay their own calls
whatever order their threads take.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from orkes._cassette import CallRequest, current_tape
from orkes.errors import GraphDefinitionError, OrkesError
from orkes.shared.schema import OrkesMessageSchema
from orkes.testing._recording import RecordedCall, Recording, describe
from orkes.testing._values import Cleaning, first_difference
from orkes.testing._where import Place, Site, call_place, call_site
from orkes.tracing.trace import Trace

__all__ = ["ReplayMismatch", "record", "replay"]

_LISTED = 10  # calls a message lists at most


class ReplayMismatch(OrkesError, AssertionError):
    """A call made inside ``replay()`` is not the one recorded, or a recorded one was not made.

    Raised by the connector, so inside a run it reaches you as the ``NodeError`` of the
    node that made the call, with this error as its ``__cause__``. Raised when the block
    ends for recorded calls that were never made (``complete=True``), and for a mismatch
    that the code inside the block caught.

    Attributes:
        node: the node, its subgraph path joined with ``' > '`` (``'research > search'``);
            ``None`` for a call made outside any node, or for calls of several nodes.
        number: which call of that node it was (1 for its first); ``None`` for calls
            never made.
    """

    def __init__(self, message: str, *, node: str | None = None, number: int | None = None):
        super().__init__(message)
        self.node = node
        self.number = number


def _node_name(site: Site) -> str | None:
    path, node = site
    return None if node is None else " > ".join([*path, node])


def _call_name(site: Site, number: int) -> str:
    if site[1] is None:
        return f"call #{number} made outside any node"
    return f"{describe(*site)} call #{number}"


def _plural(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


class _Kept:
    """Recording: a live call whose reply the tape keeps."""

    __slots__ = ("_number", "_place", "_sent", "_seq", "_tape")

    def __init__(
        self, tape: _RecordingTape, place: Place, seq: int, number: int, sent: dict[str, Any]
    ) -> None:
        self._tape, self._place, self._seq, self._number = tape, place, seq, number
        self._sent = sent

    @property
    def reply(self) -> OrkesMessageSchema | None:
        return None  # make the call

    def replied(self, message: Mapping[str, Any]) -> None:
        self._tape.keep(self._place, self._seq, self._number, self._sent, message)


class _Answered:
    """Replaying: the recorded reply, a fresh copy each time it is read."""

    __slots__ = ("_reply",)

    def __init__(self, reply: dict[str, Any]) -> None:
        self._reply = reply

    @property
    def reply(self) -> OrkesMessageSchema:
        return cast(OrkesMessageSchema, copy.deepcopy(self._reply))

    def replied(self, message: Mapping[str, Any]) -> None:
        """Nothing to keep: the reply came from the recording."""


class _RecordingTape:
    """Lets every call out; keeps each reply, with what was sent and where."""

    replaying = False

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._cleaning = Cleaning()
        self._made: dict[Site, int] = {}
        self._seen = 0
        self._lock = threading.Lock()

    def take(self, request: CallRequest) -> _Kept:
        place = call_place()
        sent = self._cleaning.call(request)
        sent["connector"] = type(request.connector).__name__
        with self._lock:
            number = self._made[place.site] = self._made.get(place.site, 0) + 1
            seq = self._seen = self._seen + 1
        return _Kept(self, place, seq, number, sent)

    def keep(
        self, place: Place, seq: int, number: int, sent: dict[str, Any], reply: Mapping[str, Any]
    ) -> None:
        path, node = place.site
        self.recording._add(
            RecordedCall(
                node=node,
                path=path,
                number=number,
                connector=sent["connector"],
                model=sent["model"],
                messages=sent["messages"],
                reply=self._cleaning.value(dict(reply)),
                params=sent["params"],
                tools=tuple(sent["tools"]),
                tool_schemas=sent["tool_schemas"],
            ),
            place,
            seq,
        )


class _ReplayTape:
    """Answers every call from a recording; refuses a call that is not the one recorded."""

    replaying = True

    def __init__(self, recording: Recording, *, complete: bool) -> None:
        self.complete = complete
        self._cleaning = Cleaning()
        self._recorded: dict[Site, list[RecordedCall]] = {}
        for call in recording:
            self._recorded.setdefault((call.path, call.node), []).append(call)
        self._answered = {site: [False] * len(calls) for site, calls in self._recorded.items()}
        self._made: dict[Site, int] = {}
        self._refused: dict[Site, str] = {}  # the first mismatch of each node
        self._mismatches: list[ReplayMismatch] = []
        self._lock = threading.Lock()

    def take(self, request: CallRequest) -> _Answered:
        """The recorded reply to this call.

        The node's next recorded call, if the call is the same; else another of its
        recorded calls not answered yet that is the same (calls a node makes at once,
        or ``Send`` tasks of one node running in parallel, may come in any order).
        """
        site = call_site()
        live = self._cleaning.call(request)
        with self._lock:
            number = self._made[site] = self._made.get(site, 0) + 1
            refused = self._refused.get(site)
            if refused is not None:  # a retry after a mismatch: the same error again
                raise ReplayMismatch(refused, node=_node_name(site), number=number)
            recorded = self._recorded.get(site, [])
            answered = self._answered.get(site, [])
            waiting = [index for index, done in enumerate(answered) if not done]
            if not waiting:
                raise self._refuse(site, number, self._too_many(site, number, len(recorded)))
            for index in waiting:
                if first_difference(recorded[index].compared(), live) is None:
                    answered[index] = True
                    return _Answered(recorded[index].reply)
            difference = first_difference(recorded[waiting[0]].compared(), live)
            message = f"{_call_name(site, number)} does not match the recording: {difference}"
            raise self._refuse(site, number, message)

    def _refuse(self, site: Site, number: int, message: str) -> ReplayMismatch:
        error = ReplayMismatch(message, node=_node_name(site), number=number)
        self._refused.setdefault(site, message)
        self._mismatches.append(error)
        return error

    def _too_many(self, site: Site, number: int, recorded: int) -> str:
        if site[1] is None:
            made = f"call #{number} made outside any node; the recording has"
            if recorded:
                return f"{made} {_plural(recorded, 'call')} made outside any node"
            return f"{made} none made outside any node{self._others()}"
        made = f"{describe(*site)} made call #{number}; the recording has"
        if recorded:
            return f"{made} {_plural(recorded, 'call')} for it"
        return f"{made} no calls for it{self._others()}"

    def _others(self) -> str:
        """Which nodes the recording has calls of, for a node it has none of."""
        others = sorted({describe(*site) for site in self._recorded})
        more = ", ..." if len(others) > _LISTED else ""
        return f" (it has calls of {', '.join(others[:_LISTED])}{more})" if others else ""

    def finish(self) -> None:
        """The block ended without raising: a mismatch it caught, or calls not made, fail it."""
        if self._mismatches:
            first = self._mismatches[0]
            raise ReplayMismatch(str(first), node=first.node, number=first.number) from first
        if not self.complete:
            return
        missing = [
            call
            for site, calls in self._recorded.items()
            for call, done in zip(calls, self._answered[site], strict=True)
            if not done
        ]
        if missing:
            names = [f"{call.where} call #{call.number}" for call in missing[:_LISTED]]
            more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
            nodes = {(call.path, call.node) for call in missing}
            raise ReplayMismatch(
                f"the block ended before {_plural(len(missing), 'recorded call')} "
                f"{'was' if len(missing) == 1 else 'were'} made: {', '.join(names)}{more}; "
                "pass complete=False to replay() if the runs may stop short",
                node=_node_name(next(iter(nodes))) if len(nodes) == 1 else None,
            )


@contextmanager
def record(path: str | os.PathLike[str] | None = None) -> Iterator[Recording]:
    """Record every LLM call made inside the block; write them to ``path`` when it ends.

    Each call of a shipped connector (OpenAI, Anthropic, Gemini, echo) or of one wrapped
    in :func:`orkes.tracing.traced` is made as usual and kept with the node that made it
    (``None`` outside any node), its subgraph path, what was sent (messages, model,
    parameters, tools) and the reply. Calls made in the threads and tasks of runs
    started inside the block count. The file is written when the block ends, also when
    it raises (with the calls made so far); secrets are redacted from it as from a trace.

    Args:
        path: the JSON file to write (folders made as needed); ``None`` writes nothing.

    Yields:
        The :class:`~orkes.testing.Recording`, which grows as calls end.

    Raises:
        GraphDefinitionError: ``path`` is neither a path nor ``None`` (before the block runs).
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise GraphDefinitionError(
            f"record() takes the JSON file to write (a str or a pathlib.Path), or None to "
            f"write nothing; got {path!r}"
        )
    recording = Recording()
    token = current_tape.set(_RecordingTape(recording))
    try:
        yield recording
    finally:
        current_tape.reset(token)
        if path is not None:
            recording.to_json(path)


@contextmanager
def replay(
    source: str | os.PathLike[str] | Recording | Trace, *, complete: bool = True
) -> Iterator[Recording]:
    """Answer every LLM call made inside the block from a recording: nothing is sent.

    Within each node, call *n* must be the node's *n*-th recorded call — the same
    messages, model, parameters and tools — or it raises :class:`ReplayMismatch` naming
    the node, the call's number and the first difference. A node's calls that run at once
    (``Send`` tasks of one node) may come in any order.

    Args:
        source: a file that :func:`record` wrote, a :class:`~orkes.tracing.Trace` (say
            ``tracer.last``), a trace's JSON file, or a :class:`~orkes.testing.Recording`.
        complete: when the block ends without raising, every recorded call must have been
            made (else :class:`ReplayMismatch` lists those that were not).

    Yields:
        The recording replayed.

    Raises:
        ReplayMismatch: when the block ends, for a mismatch the block caught (a node's
            own ``except``), and for recorded calls not made (``complete=True``).
        FileNotFoundError: there is no file at ``source``.

    Example:
        >>> from orkes import EchoLlmConnector
        >>> with record() as recording:
        ...     _ = EchoLlmConnector().invoke([{"role": "user", "content": "Hi"}])
        >>> with replay(recording):
        ...     EchoLlmConnector().invoke([{"role": "user", "content": "Hello"}])
        Traceback (most recent call last):
        ...
        orkes.testing.ReplayMismatch: call #1 made outside any node does not match the
        recording: messages[0].content was 'Hi', now 'Hello'
    """
    recording = _recording_of(source)
    tape = _ReplayTape(recording, complete=complete)
    token = current_tape.set(tape)
    try:
        yield recording
    finally:
        current_tape.reset(token)
    tape.finish()  # reached only when the block did not raise


def _recording_of(source: object) -> Recording:
    if isinstance(source, Recording):
        return source
    if isinstance(source, Trace):
        return Recording.from_trace(source)
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            where = os.fspath(source)
            raise FileNotFoundError(
                f"no recording at {where!r}: make it once with orkes.testing.record({where!r})"
            )
        return Recording.from_json(source)
    raise GraphDefinitionError(
        "replay() takes a file that orkes.testing.record() or trace.to_json() wrote, a "
        f"Trace or a Recording; got {source!r}"
    )
