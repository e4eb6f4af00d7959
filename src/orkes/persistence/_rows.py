"""Checkpoints to stored text and back, shared by every back-end.

A checkpoint is stored as its fixed fields, one text of everything else (``meta``), and
one text per value it wrote; a pending write as one text. Reading checks every shape:
what does not fit is a ``CheckpointError``, never another exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointError, SerializationError
from orkes.persistence.base import Checkpoint, PendingWrite
from orkes.persistence.serde import dumps, loads

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = [
    "FILTER_KEYS",
    "checked_filter",
    "checked_limit",
    "checkpoint_of",
    "doomed_positions",
    "meta_dict",
    "meta_of",
    "only_run_data",
    "value_texts",
    "versions_of",
    "write_of",
    "write_text",
]


def value_texts(checkpoint: Checkpoint, values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The values ``checkpoint`` wrote (or ``values`` of them), serialized.

    Errors name the key and the nodes that wrote it.
    """
    writers = ", ".join(map(repr, checkpoint.writers)) or (
        "update_state" if checkpoint.source == "update" else "the input"
    )
    node = checkpoint.writers[0] if len(checkpoint.writers) == 1 else None
    thread = checkpoint.thread_id
    return {
        key: _text(
            value, f"key {key!r} written by {writers} in thread {thread!r}", key, node, thread
        )
        for key, value in (checkpoint.written_here() if values is None else values).items()
    }


def _text(value: Any, where: str, key: str | None, node: str | None, thread_id: str) -> str:
    """``dumps(value)``; a refusal carries the key, the node and the thread as attributes."""
    try:
        return dumps(value, where=where)
    except SerializationError as exc:
        exc.key, exc.node, exc.thread_id = key, node, thread_id
        raise


def meta_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    """Everything of ``checkpoint`` but its fixed fields and its values, as one dict."""
    return {
        "writers": list(checkpoint.writers),
        "versions": dict(checkpoint.versions),
        "schema_keys": list(checkpoint.schema_keys),
        "memory": dict(checkpoint.memory),
        "next_tasks": [dict(task) for task in checkpoint.next_tasks],
        "metadata": dict(checkpoint.metadata),
    }


def meta_of(checkpoint: Checkpoint) -> str:
    """:func:`meta_dict` as one text."""
    where = f"checkpoint of thread {checkpoint.thread_id!r} (its tasks due)"
    try:
        return dumps(meta_dict(checkpoint), where=where)
    except SerializationError as exc:
        exc.thread_id = checkpoint.thread_id
        raise


def only_run_data(checkpoint: Checkpoint) -> bool:
    """Whether the meta of ``checkpoint`` holds nothing a user gave.

    That is, no ``Send`` argument (among the tasks due or deferred), no metadata: only
    names, ids and counts, which every store can keep.
    """
    if checkpoint.metadata:
        return False
    for task in checkpoint.next_tasks:
        if "arg" in task:
            return False
    deferred = checkpoint.memory.get("deferred")
    return not deferred or all(
        isinstance(entry, Mapping) and "arg" not in entry for entry in deferred
    )


def checkpoint_of(
    thread_id: str,
    checkpoint_id: str,
    parent_id: str | None,
    step: int,
    source: str,
    created_at: float,
    meta_text: str | dict[str, Any],
    values: Mapping[tuple[str, str], Any],
    read: Callable[[Any], Any] = loads,
) -> Checkpoint:
    """The checkpoint stored as these fields.

    ``meta_text``: :func:`meta_of`'s text (or a dict read already); ``values``: (key,
    version) -> the stored value, which ``read`` takes back (a text, by default).
    """
    meta = _mapping(loads(meta_text) if isinstance(meta_text, str) else meta_text, "meta")
    versions = _mapping(meta.get("versions", {}), "versions")
    state: dict[str, Any] = {}
    for key, version in versions.items():
        stored = values.get((str(key), str(version)))
        if stored is None:
            raise CheckpointError(
                f"checkpoint {checkpoint_id!r} of thread {thread_id!r} lacks the value of key "
                f"{key!r} (version {version!r}): the store is damaged"
            )
        state[str(key)] = read(stored)
    try:
        return Checkpoint(
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            parent_id=parent_id,
            step=int(step),
            source=str(source),
            writers=tuple(map(str, _sequence(meta.get("writers", []), "writers"))),
            state=state,
            versions={str(k): str(v) for k, v in versions.items()},
            schema_keys=tuple(map(str, _sequence(meta.get("schema_keys", []), "schema_keys"))),
            memory=_mapping(meta.get("memory", {}), "memory"),
            next_tasks=tuple(
                _mapping(task, "next_tasks")
                for task in _sequence(meta.get("next_tasks", []), "next_tasks")
            ),
            created_at=float(created_at),
            metadata=_mapping(meta.get("metadata", {}), "metadata"),
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {checkpoint_id!r} is damaged: {exc}") from None


def write_text(write: PendingWrite, thread_id: str) -> str:
    """A pending write's writes and routes, as one text (errors name the key and node)."""
    kind, _, name = write.kind.partition(":")
    for key, value in write.writes.items():  # refused values are named by key and node
        if kind == "writes":
            where = f"key {key!r} written by {write.node!r} in thread {thread_id!r}"
            _text(value, where, key, write.node, thread_id)
        else:
            _text(value, _what(kind, name, write.node, thread_id), None, write.node, thread_id)
    return dumps(
        {"writes": dict(write.writes), "routes": list(write.routes)},
        where=f"the routes of node {write.node!r} in thread {thread_id!r}",
    )


def _what(kind: str, name: str, node: str, thread_id: str) -> str:
    """What a pending write of ``kind`` (not a task's writes) holds, for a refusal."""
    if kind == "once":
        return f"the result of ctx.once({name!r}) in node {node!r} of thread {thread_id!r}"
    if kind == "interrupt":
        return f"the payload of interrupt {name!r} (node {node!r}) of thread {thread_id!r}"
    if kind == "answer":
        return f"the answer to interrupt {name!r} (node {node!r}) of thread {thread_id!r}"
    return f"a pending write of node {node!r} in thread {thread_id!r}"


def write_of(task_id: str, kind: str, node: str, text: str) -> PendingWrite:
    """The pending write stored as these fields."""
    payload = _mapping(loads(text), "pending write")
    return PendingWrite(
        str(task_id),
        str(node),
        _mapping(payload.get("writes", {}), "writes"),
        str(kind),
        tuple(_sequence(payload.get("routes", []), "routes")),
    )


def versions_of(meta: str) -> dict[str, str]:
    """The key -> version map of a checkpoint's stored ``meta``."""
    versions = _mapping(loads(meta), "meta").get("versions")
    return {str(key): str(version) for key, version in _mapping(versions, "versions").items()}


FILTER_KEYS = ("source", "step")
"""What ``Checkpointer.list(filter=...)`` may filter on: stored columns, never free text."""


def checked_filter(filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """``filter`` of ``list``, its keys among :data:`FILTER_KEYS` and its values typed."""
    if not filter:
        return {}
    for key, value in filter.items():
        if key not in FILTER_KEYS:
            raise CheckpointError(
                f"list(filter=...) can't filter on {key!r}: it filters on "
                f"{', '.join(map(repr, FILTER_KEYS))}"
            )
        wanted, named = (str, "a str") if key == "source" else (int, "an int")
        if type(value) is not wanted:
            raise CheckpointError(f"list(filter={{{key!r}: ...}}) takes {named}, got {value!r}")
    return {key: filter[key] for key in FILTER_KEYS if key in filter}


def checked_limit(limit: object) -> None:
    """Refuse a ``limit`` of ``list`` that is not a count."""
    if limit is not None and (type(limit) is not int or limit < 0):
        raise CheckpointError(f"list(limit=...) takes a count of at least 0, got {limit!r}")


def doomed_positions(
    created: Sequence[float], keep_last: int | None, older_than: timedelta | None
) -> set[int]:
    """Which of a thread's checkpoints (oldest first) ``prune`` deletes; never the newest."""
    doomed: set[int] = set()
    if keep_last is not None:
        doomed.update(range(max(0, len(created) - max(keep_last, 1))))
    if older_than is not None:
        cutoff = time.time() - older_than.total_seconds()
        doomed.update(number for number, at in enumerate(created) if at < cutoff)
    doomed.discard(len(created) - 1)
    return doomed


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CheckpointError(f"stored {what} is not a mapping: the store is damaged")
    return value


def _sequence(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise CheckpointError(f"stored {what} is not a list: the store is damaged")
    return value
