"""Ready reducers for ``Annotated`` state keys: ``add_messages``, ``append``, ``merge_dict``.

A reducer is any function ``(old, new) -> merged``; ``operator.add`` works as one too::

    class ChatState(TypedDict):
        messages: Annotated[list[OrkesMessageSchema], add_messages]
        seen: Annotated[list[str], operator.add]

A key with no value yet takes its first write as is — except through the reducers of
this module, which see ``None`` as the old value, so that a first write of one item
(``{"seen": "a"}`` through ``append``) still makes a list. A reducer of your own opts in
the same way by having an attribute ``reduces_first_write = True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast, overload

from orkes.shared.schema import OrkesMessageSchema

__all__ = ["add_messages", "append", "merge_dict"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


def add_messages(
    existing: list[OrkesMessageSchema] | None,
    new: OrkesMessageSchema | Iterable[OrkesMessageSchema],
) -> list[OrkesMessageSchema]:
    """Append messages; a new message whose ``id`` matches an existing one replaces it.

    Returns a new list: ``existing`` is left as it was.

    Example:
        >>> history = [{"role": "user", "content": "Hi", "id": "1"}]
        >>> add_messages(history, {"role": "assistant", "content": "Hello"})
        [{'role': 'user', 'content': 'Hi', 'id': '1'}, {'role': 'assistant', 'content': 'Hello'}]
        >>> add_messages(history, [{"role": "user", "content": "Hey", "id": "1"}])
        [{'role': 'user', 'content': 'Hey', 'id': '1'}]
    """
    merged = list(existing or ())
    incoming: Iterable[OrkesMessageSchema] = (
        [cast(OrkesMessageSchema, new)] if isinstance(new, Mapping) else new
    )
    position_by_id = {m["id"]: i for i, m in enumerate(merged) if "id" in m}
    for message in incoming:
        message_id = message.get("id")
        position = position_by_id.get(message_id) if message_id is not None else None
        if position is None:
            if message_id is not None:
                position_by_id[message_id] = len(merged)
            merged.append(message)
        else:
            merged[position] = message
    return merged


@overload
def append(existing: list[T] | None, new: list[T]) -> list[T]: ...
@overload
def append(existing: list[T] | None, new: T) -> list[T]: ...
def append(existing: list[Any] | None, new: Any) -> list[Any]:
    """Append one item, or every item of a list, to a new copy of ``existing``.

    Example:
        >>> append([1], 2), append([1], [2, 3]), append(None, 4)
        ([1, 2], [1, 2, 3], [4])
    """
    merged: list[Any] = list(existing or ())
    if isinstance(new, list):
        merged.extend(new)
    else:
        merged.append(new)
    return merged


def merge_dict(existing: Mapping[K, V] | None, new: Mapping[K, V]) -> dict[K, V]:
    """Merge two mappings into a new dict; keys of ``new`` win.

    Example:
        >>> merge_dict({"a": 1, "b": 2}, {"b": 3})
        {'a': 1, 'b': 3}
    """
    return {**(existing or {}), **new}


for _reducer in (add_messages, append, merge_dict):
    setattr(_reducer, "reduces_first_write", True)  # noqa: B010 - mypy can't see a new attribute
