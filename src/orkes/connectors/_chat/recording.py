"""A connector's call, recorded for a tracer: the reply or the failure, told once.

Inside a node of a traced run, :func:`orkes._observe.llm_call_recorder` gives a connector
a recorder; these helpers run the call and tell the recorder how it ended. Outside a
traced run the recorder is ``None`` and the call simply runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from orkes.errors import ConnectorError
from orkes.shared.schema import OrkesMessageSchema

if TYPE_CHECKING:
    from orkes._observe import CallRecorder

__all__ = ["arecorded", "ending", "recorded"]


def recorded(
    call: CallRecorder | None, make: Callable[[], OrkesMessageSchema]
) -> OrkesMessageSchema:
    """``make()``'s reply; ``call`` learns of it, or of the exception ``make()`` raised."""
    if call is None:
        return make()
    try:
        reply = make()
    except BaseException as error:
        call.failed(error)
        raise
    call.replied(reply)
    return reply


async def arecorded(
    call: CallRecorder | None, make: Callable[[], Awaitable[OrkesMessageSchema]]
) -> OrkesMessageSchema:
    """:func:`recorded` for a reply that is awaited (cancelled: recorded as the failure)."""
    if call is None:
        return await make()
    try:
        reply = await make()
    except BaseException as error:
        call.failed(error)
        raise
    call.replied(reply)
    return reply


def ending(
    call: CallRecorder,
) -> Callable[[OrkesMessageSchema | None, BaseException | None], None]:
    """What a stream tells ``call`` when it ends: the message, or why there is none."""

    def ended(message: OrkesMessageSchema | None, error: BaseException | None) -> None:
        if message is not None:
            call.replied(message)
        else:
            call.failed(error or ConnectorError("the stream ended without a message"))

    return ended
