"""A chatbot graph on the Echo connector: no API key, no network.

The graph takes the next scripted user line, asks the model, and loops until the
script runs out::

    START -> user -> assistant -> (more lines? user : END)

Run it with ``python examples/echo_chatbot.py``. ``openai_compatible_chat.py`` runs the
same graph on a real model.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from orkes import (
    END,
    START,
    EchoLlmConnector,
    GraphRunner,
    LLMConnector,
    OrkesGraph,
    OrkesMessageSchema,
)
from orkes.graph.reducers import add_messages


class ChatState(TypedDict):
    """The conversation so far, and the lines the user has yet to say."""

    messages: Annotated[list[OrkesMessageSchema], add_messages]
    script: list[str]


def build_chatbot(connector: LLMConnector) -> GraphRunner[ChatState]:
    """The chat graph, answering with ``connector``."""

    def user(state: ChatState) -> dict[str, object]:
        """Say the next line of the script."""
        line, *rest = state["script"]
        return {"messages": [OrkesMessageSchema(role="user", content=line)], "script": rest}

    def assistant(state: ChatState) -> dict[str, object]:
        """Ask the model to answer the conversation."""
        return {"messages": [connector.invoke(state["messages"])]}

    def more_to_say(state: ChatState) -> Literal["more", "done"]:
        """Loop while the script has lines left."""
        return "more" if state["script"] else "done"

    graph = OrkesGraph(ChatState, name="chatbot")
    graph.add_node(user).add_node(assistant)
    graph.add_edge(START, "user").add_edge("user", "assistant")
    graph.add_conditional_edge("assistant", more_to_say, {"more": "user", "done": END})
    return GraphRunner(graph.compile())


def chat(runner: GraphRunner[ChatState], system: str, script: list[str]) -> ChatState:
    """Run the script through the chatbot and print the conversation."""
    first = OrkesMessageSchema(role="system", content=system)
    final_state = runner.run({"messages": [first], "script": script})
    for message in final_state["messages"]:
        print(f"{message['role']:>9}: {message['content']}")
    return final_state


def main() -> None:
    """Chat through a short script and show the conversation and the final state."""
    runner = build_chatbot(EchoLlmConnector())
    final_state = chat(runner, "You are an echo.", ["Hello, Orkes!", "What can you do?", "Bye!"])
    print()
    print("final state:", final_state)


if __name__ == "__main__":
    main()
