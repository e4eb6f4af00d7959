"""Testing graphs offline: record a graph's LLM calls once, then replay them in tests.

:func:`record` keeps every LLM call made inside its block — node by node, what was sent
and the reply — and writes them to a JSON file; :func:`replay` answers the same calls
from that file (or from a :class:`~orkes.tracing.Trace`) without sending anything, so a
graph that calls a model becomes a fast, deterministic unit test. A call that is not
the recorded one fails with a :class:`ReplayMismatch` naming the node, the call and the
first difference. :class:`~orkes.connectors.transport.InProcessTransport` and
:class:`~orkes.connectors.transport.Reply` fake a service in
process, for tests of a connector itself. ``import orkes`` does not load this package.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from orkes import EchoLlmConnector
    >>> from orkes.testing import record, replay
    >>> file = Path(tempfile.mkdtemp()) / "hello.json"
    >>> llm = EchoLlmConnector()
    >>> with record(file) as recording:
    ...     llm.invoke([{"role": "user", "content": "Hi"}])["content"]
    'I echo: Hi'
    >>> [(call.where, call.number, call.reply["content"]) for call in recording]
    [('outside any node', 1, 'I echo: Hi')]
    >>> with replay(file):
    ...     llm.invoke([{"role": "user", "content": "Hi"}])["content"]
    'I echo: Hi'
"""

from orkes.connectors.transport.in_process import InProcessTransport, Reply
from orkes.testing._recording import RecordedCall, Recording
from orkes.testing._tape import ReplayMismatch, record, replay

__all__ = [
    "InProcessTransport",
    "RecordedCall",
    "Recording",
    "ReplayMismatch",
    "Reply",
    "record",
    "replay",
]

# Shown (in tracebacks, reprs and the docs) where they are imported from.
for _public in (RecordedCall, Recording, ReplayMismatch):
    _public.__module__ = __name__
del _public
