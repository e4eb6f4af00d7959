"""The attempts of one request, shared by every transport: send, and retry what is worth it.

A transport gives :func:`send_with_retries` a function that sends the request once and
returns the head of the answer (or raises :class:`NoAnswer` when none came). A 2xx
answer is returned; any other is read, and :func:`~.retry.decide_retry` says whether to
wait and send again or to raise the :class:`~orkes.errors.ConnectorError` it deserves.
Each retry is logged at ``INFO`` on the ``orkes.connectors.transport`` logger.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from orkes.connectors.transport.protocol import Request
from orkes.connectors.transport.retry import decide_retry
from orkes.connectors.transport.status import error_for_status
from orkes.errors import ConnectionFailed, ConnectorError

__all__ = ["AnswerHead", "NoAnswer", "send_with_retries"]

logger = logging.getLogger("orkes.connectors.transport")


class NoAnswer(Exception):
    """The request got no answer (refused, reset, DNS): worth another try."""


class AnswerHead(Protocol):
    """The status line and headers of an answer; the body is still to be read."""

    @property
    def status(self) -> int:
        """The HTTP status."""
        ...

    @property
    def reason(self) -> str:
        """The reason phrase (``"Not Found"``); may be empty (HTTP/2)."""
        ...

    def header_map(self) -> Mapping[str, str]:
        """The answer's headers."""
        ...

    def error_body(self) -> bytes:
        """The start of a failed answer's body; the connection is freed or closed."""
        ...


AnswerT = TypeVar("AnswerT", bound=AnswerHead)


def send_with_retries(
    request: Request,
    where: str,
    send_once: Callable[[], AnswerT],
    stop: threading.Event | None = None,
) -> AnswerT:
    """Send until a 2xx answer comes, the retries run out or ``stop`` is set.

    Raises:
        ConnectorError: the subclass for the last failure (:class:`ConnectionFailed`
            when no answer ever came).
    """
    rules = request.retry
    attempt = 0
    while True:
        if stop is not None and stop.is_set():
            raise ConnectorError(f"{where}: the call was given up before an answer came")
        attempt += 1
        try:
            answer = send_once()
        except NoAnswer as failure:
            decision = decide_retry(rules, attempt, status=None, jitter=random.random())
            if not decision.retry:
                tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                message = f"could not reach {where} after {tries}: {failure}"
                raise ConnectionFailed(message) from failure.__cause__
            reason = str(failure)
        else:
            if 200 <= answer.status <= 299:
                return answer
            body = answer.error_body()
            headers = answer.header_map()
            decision = decide_retry(
                rules, attempt, status=answer.status, headers=headers, body=body,
                jitter=random.random(),
            )  # fmt: skip
            if not decision.retry:
                error = error_for_status(
                    answer.status,
                    answer.reason,
                    body,
                    where=where,
                    secrets=request.secrets,
                    retry_after=decision.retry_after,
                    attempts=attempt,
                    note=decision.note,
                )
                # The error holds the body redacted; the frame's locals stay clean (an
                # in-process reply holds its body too).
                del body, answer
                raise error
            reason = f"answered {answer.status} {answer.reason}".rstrip()
        if request.on_retry is not None:
            request.on_retry()
        logger.info(
            "%s: %s; retry %d of %d in %.2f s",
            where, reason, attempt, rules.max_retries, decision.delay,
        )  # fmt: skip
        if stop is not None and rules.sleep is time.sleep:
            stop.wait(decision.delay)  # the same wait, but one that a give-up cuts short
        else:
            rules.sleep(decision.delay)
