"""A recording: the LLM calls of some runs, node by node, as a JSON file that diffs well.

The file is one JSON object (``"format": "orkes.recording/1"``) with keys sorted, two
spaces of indent and the calls in a fixed order — by subgraph path, then node, then the
node's call number — so that recording the same runs again changes only what changed.

Example:
    >>> call = RecordedCall(
    ...     node="answer", path=(), number=1, connector="EchoLlmConnector", model="echo",
    ...     messages=[{"role": "user", "content": "Hi"}],
    ...     reply={"role": "assistant", "content": "I echo: Hi"})
    >>> recording = Recording([call])
    >>> Recording.from_dict(recording.to_dict()) == recording
    True
    >>> recording[0].where
    "node 'answer'"
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from orkes.errors import GraphDefinitionError
from orkes.testing._order import Added, in_order
from orkes.testing._values import plain
from orkes.testing._where import Place

if TYPE_CHECKING:
    from orkes.tracing.trace import Trace

__all__ = ["FORMAT", "RecordedCall", "Recording", "describe"]

FORMAT = "orkes.recording/1"
"""The format a recording file declares; a reader refuses others."""


def describe(path: Sequence[str], node: str | None) -> str:
    """``"node 'answer'"``, ``"node 'research > search'"``, or ``"outside any node"``."""
    if node is None:
        return "outside any node"
    return f"node {' > '.join([*path, node])!r}"


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One LLM call of a recording: what was sent, and the reply that came back.

    Attributes:
        node: the node that made it (``None``: made outside any node).
        path: the subgraph node names above that node (``()`` at the top).
        number: which call of that node it is: 1 for its first.
        connector: the connector's class name (``"OpenAIConnector"``).
        model: the model asked for, where the connector says.
        messages: the conversation sent.
        reply: the message that came back.
        params: the call's parameters (the connector's defaults included).
        tools: the names of the tools offered.
        tool_schemas: the tools as the model saw them (name, description, parameters),
            for the HTTP connectors; ``None`` when not known (a trace keeps none).
    """

    node: str | None
    path: tuple[str, ...]
    number: int
    connector: str
    model: str | None
    messages: list[Any]
    reply: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    tools: tuple[str, ...] = ()
    tool_schemas: list[Any] | None = None

    @property
    def where(self) -> str:
        """The node as messages name it: ``"node 'answer'"``, or ``"outside any node"``."""
        return describe(self.path, self.node)

    def compared(self) -> dict[str, Any]:
        """What a live call is compared on (see :func:`~orkes.testing.replay`)."""
        return {
            "messages": self.messages,
            "model": self.model,
            "params": self.params,
            "tools": list(self.tools),
            "tool_schemas": self.tool_schemas,
        }

    def to_dict(self) -> dict[str, Any]:
        """The call as plain JSON data (what a recording file holds)."""
        data = {
            "node": self.node,
            "path": list(self.path),
            "number": self.number,
            "connector": self.connector,
            "model": self.model,
            "messages": self.messages,
            "reply": self.reply,
            "params": self.params,
            "tools": list(self.tools),
        }
        if self.tool_schemas is not None:
            data["tool_schemas"] = self.tool_schemas
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordedCall:
        """The call :meth:`to_dict` gave ``data``.

        Raises:
            GraphDefinitionError: ``data`` lacks a field, or has one of another type.
        """
        if not isinstance(data, Mapping):
            raise GraphDefinitionError(f"a call should be a JSON object, got {_shown(data)}")
        for name, (kinds, what) in _FIELDS.items():
            if name not in data:
                if name in _OPTIONAL:
                    continue
                raise GraphDefinitionError(f"the call has no {name!r} ({what})")
            value = data[name]
            items = value if kinds is list and name in ("path", "tools") else ()
            wrong = not isinstance(value, kinds) or isinstance(value, bool)
            if wrong or not all(isinstance(item, str) for item in items):
                raise GraphDefinitionError(
                    f"the call's {name!r} should be {what}, got {_shown(value)}"
                )
        if data["number"] < 1:
            raise GraphDefinitionError(
                f"the call's 'number' should be 1 or more, got {data['number']}"
            )
        return cls(
            node=data["node"],
            path=tuple(data["path"]),
            number=data["number"],
            connector=data["connector"],
            model=data["model"],
            messages=list(data["messages"]),
            reply=dict(data["reply"]),
            params=dict(data.get("params", {})),
            tools=tuple(data.get("tools", ())),
            tool_schemas=data.get("tool_schemas"),
        )


# Each field of a call in a file: the JSON types it may have, and what it is.
_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "node": ((str, type(None)), "the node's name, or null outside any node"),
    "path": (list, "a list of the subgraph node names above the node"),
    "number": (int, "the node's call number: 1 for its first"),
    "connector": (str, "the connector's class name"),
    "model": ((str, type(None)), "the model's name, or null"),
    "messages": (list, "the list of messages sent"),
    "reply": (dict, "the message that came back, an object"),
    "params": (dict, "an object of the call's parameters"),
    "tools": (list, "a list of tool names"),
    "tool_schemas": ((list, type(None)), "a list of tool schemas, or null"),
}
_OPTIONAL = frozenset({"params", "tools", "tool_schemas"})


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


class Recording(Sequence[RecordedCall]):
    """The LLM calls of some runs: what ``record()`` gives and ``replay()`` answers from.

    A sequence of :class:`RecordedCall`, ordered by subgraph path, node and call number.
    Inside a ``record()`` block it grows as calls end; a call that failed is not kept
    (the calls after it are numbered as if it had not been made).
    """

    def __init__(self, calls: Iterable[RecordedCall] = ()) -> None:
        self._lock = threading.Lock()
        self._added = [
            Added(call, None, seq)
            for seq, call in enumerate(sorted(calls, key=lambda call: call.number))
        ]
        self._sorted: tuple[RecordedCall, ...] | None = None

    def _add(self, call: RecordedCall, place: Place, seq: int) -> None:
        """Keep a call being recorded, made at ``place``, the ``seq``-th the tape saw."""
        with self._lock:
            self._added.append(Added(call, place, seq))
            self._sorted = None

    def _all(self) -> tuple[RecordedCall, ...]:
        with self._lock:
            if self._sorted is None:
                self._sorted = _numbered(in_order(self._added))
            return self._sorted

    @overload
    def __getitem__(self, index: int) -> RecordedCall: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RecordedCall, ...]: ...
    def __getitem__(self, index: int | slice) -> RecordedCall | tuple[RecordedCall, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Recording):
            return self._all() == other._all()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # it grows inside record()

    def __repr__(self) -> str:
        calls = self._all()
        nodes = ", ".join(sorted({call.where for call in calls}))
        return f"Recording({len(calls)} call{'' if len(calls) == 1 else 's'}: {nodes or 'none'})"

    def of(self, node: str | None, path: Sequence[str] = ()) -> tuple[RecordedCall, ...]:
        """The calls of one node (``None``: those made outside any node), in order."""
        return tuple(c for c in self._all() if c.node == node and c.path == tuple(path))

    def to_dict(self) -> dict[str, Any]:
        """The recording as plain JSON data (what :meth:`to_json` writes)."""
        return {"format": FORMAT, "calls": [call.to_dict() for call in self._all()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recording:
        """The recording :meth:`to_dict` gave ``data``.

        Raises:
            GraphDefinitionError: ``data`` is not a recording of this format.
        """
        found = data.get("format") if isinstance(data, Mapping) else None
        if found != FORMAT:
            newer = isinstance(found, str) and found.startswith("orkes.recording/")
            hint = (
                "record it again with this orkes"
                if newer
                else "give what orkes.testing.record() wrote, or a trace (trace.to_json())"
            )
            raise GraphDefinitionError(
                f"not an orkes recording: its format is {found!r}, not {FORMAT!r}; {hint}"
            )
        calls = data.get("calls")
        if "calls" not in data:
            raise _damaged("it has no 'calls' (the list of calls)")
        if not isinstance(calls, list):
            raise _damaged(f"its 'calls' should be a list of calls, got {_shown(calls)}")
        read = []
        for index, call in enumerate(calls):
            try:
                read.append(RecordedCall.from_dict(call))
            except GraphDefinitionError as exc:
                raise _damaged(f"calls[{index}]: {exc}") from None
        return cls(read)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the recording to ``path`` (UTF-8; folders made as needed); return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)
        partial = target.with_name(f".{target.name}.part")
        partial.write_text(text + "\n", encoding="utf-8", errors="surrogatepass")
        os.replace(partial, target)  # a reader never sees half a file
        return target

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Recording:
        """Read a file that ``record()`` wrote, or a trace file (``trace.to_json()``).

        Raises:
            GraphDefinitionError: the file is neither.
            OSError: the file can't be read.
        """
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8", errors="surrogatepass"))
        except ValueError as exc:  # bytes that are not UTF-8, or text that is not JSON
            raise GraphDefinitionError(
                f"{os.fspath(path)!r} is not a JSON file ({exc}); give a file that "
                "orkes.testing.record() or trace.to_json() wrote"
            ) from None
        try:
            if isinstance(data, Mapping) and str(data.get("format", "")).startswith("orkes.trace/"):
                from orkes.tracing.trace import Trace

                return cls.from_trace(Trace.from_dict(data))
            return cls.from_dict(data)
        except GraphDefinitionError as exc:
            raise GraphDefinitionError(f"{os.fspath(path)!r}: {exc}") from None

    @classmethod
    def from_trace(cls, trace: Trace) -> Recording:
        """The LLM calls a trace holds, subgraphs' included (a failed call is left out).

        A trace keeps no tool schemas, so a replay from it compares tools by name.
        """
        calls: list[RecordedCall] = []
        counts: dict[tuple[tuple[str, ...], str], int] = {}
        for run in trace.walk():
            for task in run.tasks:
                for made in task.llm_calls:
                    if made.reply is None:
                        continue
                    key = (task.path, task.node)
                    counts[key] = counts.get(key, 0) + 1
                    calls.append(
                        RecordedCall(
                            node=task.node,
                            path=task.path,
                            number=counts[key],
                            connector=made.connector,
                            model=made.model,
                            messages=plain(made.messages),
                            reply=plain(made.reply),
                            params=plain(made.params),
                            tools=made.tools,
                        )
                    )
        return cls(calls)


def _damaged(problem: str) -> GraphDefinitionError:
    return GraphDefinitionError(
        f"a damaged orkes recording: {problem} (was it edited by hand? mend it, or record it again)"
    )


def _numbered(calls: list[RecordedCall]) -> tuple[RecordedCall, ...]:
    """Sorted calls, numbered 1, 2, … per node (a failed call being recorded left a gap)."""
    numbered: list[RecordedCall] = []
    for call in calls:
        previous = numbered[-1] if numbered else None
        same = previous is not None and (previous.path, previous.node) == (call.path, call.node)
        number = previous.number + 1 if same and previous is not None else 1
        numbered.append(call if call.number == number else replace(call, number=number))
    return tuple(numbered)
