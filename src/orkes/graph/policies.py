"""Node policies: retry with backoff, and a cache of updates; a timeout is just seconds.

``add_node(name, fn, retry=RetryPolicy(...), timeout=30, cache=CachePolicy(...))``; the
one invoke path (``graph/_invoke.py``) applies them, so sync and async nodes, lone or
parallel, behave alike.

Example:
    >>> policy = RetryPolicy(max_attempts=3, initial_delay=0.5, backoff=2.0, jitter=False)
    >>> [policy.delay_after(attempt, TimeoutError()) for attempt in (1, 2, 3)]
    [0.5, 1.0, None]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from orkes.errors import (
    ConnectionFailed,
    ConnectorTimeout,
    GraphDefinitionError,
    NodeError,
    RateLimited,
    ServiceError,
)

__all__ = ["CachePolicy", "RetryPolicy", "default_retry_on"]


def default_retry_on(error: BaseException) -> bool:
    """Whether ``error`` is worth retrying, as ``RetryPolicy`` judges by default.

    It is: a connector's timeout, failed connection, 429 or 5xx after its own retries;
    any ``TimeoutError`` or ``ConnectionError``. A bad request or a refused key is not.
    (``RetryPolicy`` hands it the exception the innermost node raised when a subgraph
    node fails.)
    """
    worth_retrying = (
        ConnectorTimeout,
        ConnectionFailed,
        RateLimited,
        ServiceError,
        TimeoutError,
        ConnectionError,
    )
    return isinstance(error, worth_retrying)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Call a failing node again, waiting longer each time.

    Attributes:
        max_attempts: calls in all, the first included (1: no retry).
        initial_delay: seconds before the second attempt.
        backoff: each wait is this many times the one before.
        max_delay: no wait is longer than this.
        jitter: wait a random 50 to 100% of the computed delay, so many runs don't retry in step.
        retry_on: the exception classes worth retrying (one class, or a tuple of them), or
            a function of the exception that says whether it is; by default
            :func:`~orkes.graph.policies.default_retry_on`. When a subgraph node fails,
            the exception its inner node raised is what is judged.

    A ``RateLimited`` error's ``retry_after`` (the service's own hint) is waited for
    when it is longer than the computed delay (``max_delay`` still caps it).
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    backoff: float = 2.0
    max_delay: float = 30.0
    jitter: bool = True
    retry_on: (
        type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
    ) = field(default=default_retry_on)

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise GraphDefinitionError(
                f"RetryPolicy(max_attempts={self.max_attempts!r}): give a positive int"
            )
        for name in ("initial_delay", "backoff", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise GraphDefinitionError(
                    f"RetryPolicy({name}={value!r}): give a number of at least 0"
                )
        if self.backoff < 1:
            raise GraphDefinitionError(
                f"RetryPolicy(backoff={self.backoff!r}): each wait is backoff times the one "
                "before; give 1 for equal waits, or more"
            )
        retry_on = self.retry_on
        if isinstance(retry_on, (type, list)):
            # An exception class is callable too: called, it would make a (true) exception.
            retry_on = tuple(retry_on) if isinstance(retry_on, list) else (retry_on,)
            object.__setattr__(self, "retry_on", retry_on)
        if isinstance(retry_on, tuple):
            if not all(isinstance(c, type) and issubclass(c, BaseException) for c in retry_on):
                raise GraphDefinitionError(
                    f"RetryPolicy(retry_on={retry_on!r}): give exception classes, or a function "
                    "of the exception"
                )
        elif not callable(retry_on):
            raise GraphDefinitionError(
                f"RetryPolicy(retry_on={retry_on!r}): give exception classes, or a function "
                "of the exception"
            )

    def delay_after(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None``: give up with ``error``."""
        error = _innermost(error)
        if attempt >= self.max_attempts or not self._retries(error):
            return None
        delay = min(self.initial_delay * self.backoff ** (attempt - 1), self.max_delay)
        if self.jitter:
            import random  # loaded only by a policy that jitters

            delay *= random.uniform(0.5, 1.0)
        hint = error.retry_after if isinstance(error, RateLimited) else None
        if hint is not None and hint > delay:
            delay = min(hint, self.max_delay)
        return delay

    def _retries(self, error: BaseException) -> bool:
        retry_on = self.retry_on
        if isinstance(retry_on, tuple):
            return isinstance(error, retry_on)
        return bool(retry_on(error))


def _innermost(error: BaseException) -> BaseException:
    """What a subgraph's inner node raised, for a ``NodeError`` that wraps one."""
    while isinstance(error, NodeError) and error.__cause__ is not None:
        error = error.__cause__
    return error


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """Reuse a node's update for equal inputs, within a run and across runs of one graph.

    Attributes:
        ttl: seconds an entry lives (``None``: as long as the compiled graph).
        key: a function of the node's input giving the cache key; by default a stable
            key made from the whole input (dicts, lists, tuples, sets and scalars; other
            objects by ``repr``).
        max_entries: entries kept per node; the oldest go first.
    """

    ttl: float | None = None
    key: Callable[[Any], Hashable] | None = None
    max_entries: int = 1024

    def __post_init__(self) -> None:
        if self.ttl is not None and (not isinstance(self.ttl, (int, float)) or self.ttl <= 0):
            raise GraphDefinitionError(f"CachePolicy(ttl={self.ttl!r}): give seconds > 0 or None")
        if not isinstance(self.max_entries, int) or self.max_entries < 1:
            raise GraphDefinitionError(
                f"CachePolicy(max_entries={self.max_entries!r}): give a positive int"
            )
        if self.key is not None and not callable(self.key):
            raise GraphDefinitionError(
                f"CachePolicy(key={self.key!r}): give a function of the node's input, or None"
            )
