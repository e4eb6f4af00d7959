"""``orkes.testing`` is its own module: ``import orkes`` and a plain run never load it."""

from __future__ import annotations

import subprocess
import sys

import orkes.testing
from orkes.connectors.transport import in_process


def test_import_orkes_and_a_run_with_a_connector_do_not_load_testing_nor_tracing() -> None:
    code = (
        "import sys\n"
        "from typing import TypedDict\n"
        "import orkes\n"
        "class S(TypedDict):\n"
        "    text: str\n"
        "llm = orkes.EchoLlmConnector()\n"
        "def talk(s: S) -> S:\n"
        "    return {'text': llm.invoke([{'role': 'user', 'content': s['text']}])['content']}\n"
        "g = orkes.OrkesGraph(S).add_node(talk)\n"
        "app = g.add_edge(orkes.START, 'talk').add_edge('talk', orkes.END).compile()\n"
        "print(app.run({'text': 'hi'}))\n"
        "print([m for m in sys.modules if m.startswith(('orkes.testing', 'orkes.tracing'))])\n"
        "import orkes.testing\n"
        "print('orkes.testing' in sys.modules, 'orkes.tracing' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["{'text': 'I echo: hi'}", "[]", "True True"]


def test_the_public_names_and_where_they_come_from() -> None:
    assert orkes.testing.__all__ == [
        "InProcessTransport",
        "RecordedCall",
        "Recording",
        "ReplayMismatch",
        "Reply",
        "record",
        "replay",
    ]
    assert orkes.testing.InProcessTransport is in_process.InProcessTransport
    assert orkes.testing.Reply is in_process.Reply
    for name in ("RecordedCall", "Recording", "ReplayMismatch"):
        assert getattr(orkes.testing, name).__module__ == "orkes.testing"
