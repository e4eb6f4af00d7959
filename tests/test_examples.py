"""The examples run as a user would run them, and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.connectors.loopback import LoopbackServer, json_response
from tests.connectors.openai_wire import completion

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *arguments: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=environment,
    )
    return done.stdout


def test_the_echo_chatbot_prints_the_conversation_and_the_final_state() -> None:
    lines = run_example("echo_chatbot.py").splitlines()
    assert lines[:7] == [
        "   system: You are an echo.",
        "     user: Hello, Orkes!",
        "assistant: I echo: Hello, Orkes!",
        "     user: What can you do?",
        "assistant: I echo: What can you do?",
        "     user: Bye!",
        "assistant: I echo: Bye!",
    ]
    assert lines[7] == ""
    assert lines[8].startswith("final state: {'messages': [{'role': 'system'")
    assert lines[8].endswith("{'role': 'assistant', 'content': 'I echo: Bye!'}], 'script': []}")


def test_the_openai_compatible_chat_talks_to_any_compatible_server() -> None:
    with LoopbackServer() as server:
        server.enqueue(
            json_response({**completion("Hi! How can I help?"), "id": "chatcmpl-1"}),
            json_response({**completion("Goodbye."), "id": "chatcmpl-2"}),
        )
        output = run_example(
            "openai_compatible_chat.py",
            "--base-url",
            server.url("/v1"),
            "--model",
            "llama3.2",
            "--say",
            "Hello!",
            "--say",
            "Bye.",
        )
        assert output.splitlines() == [
            "   system: You are a helpful, concise assistant.",
            "     user: Hello!",
            "assistant: Hi! How can I help?",
            "     user: Bye.",
            "assistant: Goodbye.",
        ]
        second = server.requests[1].json()
        assert second["model"] == "llama3.2"
        assert [m["content"] for m in second["messages"]] == [
            "You are a helpful, concise assistant.",
            "Hello!",
            "Hi! How can I help?",
            "Bye.",
        ]
        assert "authorization" not in server.requests[0].headers
