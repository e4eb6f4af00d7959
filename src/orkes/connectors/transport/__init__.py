"""The transport layer: how a connector's JSON requests and event streams reach a service.

Every shipped connector takes ``transport=``: any object with the :class:`Transport`
methods (``send``, ``open_events``, ``close``). The default is :class:`StdlibTransport`
(``http.client``, pooled connections, ``*_PROXY`` variables honoured);
:class:`~orkes.connectors.transport.httpx.HttpxTransport` plugs httpx in (extra
``orkes[httpx]``); :class:`~orkes.connectors.transport.in_process.InProcessTransport`
answers from a Python function, for tests that need no socket. Whether a failure is
retried, and after how long, is one pure function: :func:`decide_retry`.

Example:
    >>> from orkes.connectors.openai import OpenAIConnector
    >>> from orkes.connectors.transport import StdlibTransport
    >>> shared = StdlibTransport(pool_size=16)
    >>> llm = OpenAIConnector("gpt-4o-mini", api_key="sk-test", transport=shared)
    >>> llm.transport is shared
    True
"""

from orkes.connectors.transport.in_process import InProcessTransport, Reply
from orkes.connectors.transport.protocol import EventSource, Request, Transport
from orkes.connectors.transport.retry import RetryDecision, RetryRules, decide_retry
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.connectors.transport.stdlib import StdlibTransport

__all__ = [
    "EventSource",
    "InProcessTransport",
    "Reply",
    "Request",
    "RetryDecision",
    "RetryRules",
    "ServerSentEvent",
    "StdlibTransport",
    "Transport",
    "decide_retry",
]
