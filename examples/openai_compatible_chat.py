"""The Quickstart's chatbot on any OpenAI-compatible server.

OpenAI itself, vLLM, Ollama, llama.cpp's server, LM Studio, … — give the server's base
URL and a model it serves (here, Ollama's)::

    python examples/openai_compatible_chat.py --base-url http://localhost:11434/v1 --model llama3.2

Without ``--say``, it asks you for each line (an empty line ends the chat). The key comes
from ``--api-key`` or the ``OPENAI_API_KEY`` variable; local servers need none.
"""

from __future__ import annotations

import argparse

from echo_chatbot import build_chatbot, chat

from orkes.connectors import OpenAIConnector


def read_lines() -> list[str]:
    """Ask for lines until an empty one."""
    lines: list[str] = []
    while line := input("you> ").strip():
        lines.append(line)
    return lines


def main() -> None:
    """Parse the arguments and chat."""
    parser = argparse.ArgumentParser(
        description="Chat with a model on an OpenAI-compatible server."
    )
    parser.add_argument("--base-url", required=True, help="e.g. http://localhost:8000/v1")
    parser.add_argument("--model", required=True, help="a model the server serves")
    parser.add_argument("--api-key", default=None, help="default: $OPENAI_API_KEY, if set")
    parser.add_argument("--say", action="append", help="a line to say (repeatable)")
    parser.add_argument("--system", default="You are a helpful, concise assistant.")
    arguments = parser.parse_args()
    script = arguments.say or read_lines()
    if not script:
        return
    with OpenAIConnector(
        arguments.model, api_key=arguments.api_key, base_url=arguments.base_url
    ) as connector:
        chat(build_chatbot(connector), arguments.system, script)


if __name__ == "__main__":
    main()
