"""A decorator from another module: its wrapper's globals are not the gate's."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def logged(fn: Callable[[T], object]) -> Callable[[T], object]:
    """Call ``fn``, as a tracing decorator would."""

    @functools.wraps(fn)
    def wrapper(state: T) -> object:
        return fn(state)

    return wrapper
