"""Process-wide thread pools, made on first use and made afresh in a forked child.

Example:
    >>> pool = LazyPool(4, "example")
    >>> pool.get().submit(sum, [1, 2, 3]).result()
    6
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["LazyPool"]

_all_pools: weakref.WeakSet[LazyPool] = weakref.WeakSet()


class LazyPool:
    """A ``ThreadPoolExecutor`` of up to ``size`` threads, started by the first ``get()``.

    Threads are made as work comes and reused when idle. A child process made by
    ``fork`` inherits the pool object but none of its threads, so each pool is forgotten
    there and made anew on first use.
    """

    def __init__(self, size: int, thread_name_prefix: str) -> None:
        self.size = size
        self.thread_name_prefix = thread_name_prefix
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        _all_pools.add(self)

    def get(self) -> ThreadPoolExecutor:
        """The pool, made by whichever thread asks first."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(self.size, self.thread_name_prefix)
                pool = self._pool
        return pool

    def owns_current_thread(self) -> bool:
        """Whether the calling thread is one of this pool's workers."""
        return threading.current_thread().name.startswith(f"{self.thread_name_prefix}_")

    def _forget(self) -> None:
        self._pool = None
        self._lock = threading.Lock()


def _forget_every_pool_in_child() -> None:
    for pool in list(_all_pools):
        pool._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_every_pool_in_child)
