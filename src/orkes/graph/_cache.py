"""A node's cache of updates (its ``CachePolicy``), shared by every run of one compiled graph.

An entry is a deep copy of the update, and each hit hands out a deep copy of it, so a
node that later changes a value in place (a list it appends to) never changes the
cache. A value that can't be copied (a lock, a connection) is shared as it is.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Hashable, Mapping
from typing import Any

from orkes.graph.policies import CachePolicy

__all__ = ["NodeCache"]


class NodeCache:
    """One node's cached updates: key -> (expiry, update). Safe from many threads."""

    __slots__ = ("_entries", "_lock", "policy")

    def __init__(self, policy: CachePolicy) -> None:
        self.policy = policy
        self._entries: dict[Hashable, tuple[float | None, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()

    def key_of(self, node_input: object) -> Hashable:
        """The cache key of ``node_input``."""
        if self.policy.key is not None:
            return self.policy.key(node_input)
        return _stable_key(node_input)

    def get(self, key: Hashable) -> Mapping[str, Any] | None:
        """The update stored under ``key``, if it is there and still fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, update = entry
            if expires is not None and time.monotonic() >= expires:
                del self._entries[key]
                return None
        return _copied(update)

    def put(self, key: Hashable, update: Mapping[str, Any]) -> None:
        """Store ``update`` under ``key``, dropping the oldest entry when full."""
        ttl = self.policy.ttl
        expires = None if ttl is None else time.monotonic() + ttl
        kept = _copied(update)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (expires, kept)
            while len(self._entries) > self.policy.max_entries:
                del self._entries[next(iter(self._entries))]


def _copied(update: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``update``, key by key; a value that refuses it is shared."""
    copied = {}
    for key, value in update.items():
        try:
            copied[key] = copy.deepcopy(value)
        except Exception:  # e.g. a lock or a socket: shared, as before
            copied[key] = value
    return copied


def _stable_key(value: object) -> Hashable:
    if isinstance(value, Mapping):
        return ("m", tuple(sorted(((repr(k), _stable_key(v)) for k, v in value.items()))))
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_stable_key(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("s", tuple(sorted(repr(_stable_key(v)) for v in value)))
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return (type(value).__name__, value)
    return ("r", type(value).__qualname__, repr(value))
