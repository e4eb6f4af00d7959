"""A stand-in for a run streamed in ``"messages"`` mode, without the graph engine.

:func:`listening` sets the task scope that the runner sets around a node, so that
:func:`orkes.events.token_publisher` returns a publisher; the events land in a
:class:`Listener`, with the thread each came from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from orkes.events import Event, TaskScope, Token, current_scope

NODE = "llm"
STEP = 1


class Listener:
    """Collects what a scope emits.

    Attributes:
        events: every event, in order.
        threads: the idents of the threads that emitted them.
        refuse: when set, called with each event before it is kept (it may raise).
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.threads: set[int] = set()
        self.refuse: Callable[[Event], None] | None = None

    def __call__(self, event: Event) -> None:
        if self.refuse is not None:
            self.refuse(event)
        self.threads.add(threading.get_ident())
        self.events.append(event)

    @property
    def tokens(self) -> list[Token]:
        """The ``Token`` events (asserting that every event is one)."""
        tokens = [event for event in self.events if isinstance(event, Token)]
        assert tokens == self.events, self.events
        return tokens


@contextmanager
def listening(*, tokens: bool = True) -> Iterator[Listener]:
    """Inside the block, code runs as node ``llm`` of a run streamed in ``"messages"`` mode.

    ``tokens=False`` is a node added with ``stream_tokens=False``: no publisher.
    """
    listener = Listener()
    scope = TaskScope(
        emit=listener,
        modes=frozenset({"messages"}),
        node=NODE,
        path=(),
        step=STEP,
        tokens=tokens,
    )
    reset_token = current_scope.set(scope)
    try:
        yield listener
    finally:
        current_scope.reset(reset_token)
