"""Objects that hold connections: ``with`` closes them."""

from __future__ import annotations

from abc import abstractmethod
from types import TracebackType

from typing_extensions import Self

__all__ = ["Closing"]


class Closing:
    """A base for what must be closed: ``with obj: ...`` calls ``obj.close()`` on the way out."""

    __slots__ = ()

    @abstractmethod
    def close(self) -> None:
        """Let go of what the object holds; calling it twice is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
