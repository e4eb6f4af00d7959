"""A fake OpenAI-compatible service, a service that must never be called, and the graphs.

:class:`FakeOpenAI` answers Chat Completions requests in process (whole or streamed)
with ``"You asked: <last user message>"``, or with a tool call when told to; the replay
tests point the same connector at :func:`offline`, whose transport fails the test if a
request reaches it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypedDict, TypeVar, cast

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import Request
from orkes.shared.schema import LLMConnector, OrkesMessageSchema
from orkes.testing import InProcessTransport, Reply

KEY = "sk-proj-replay-test-7c1e5b"
SYSTEM: OrkesMessageSchema = {"role": "system", "content": "Answer in one line."}

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class Driver(Protocol):
    """Runs ``runner`` on ``state`` to the end and returns the final state."""

    def __call__(self, runner: GraphRunner[StateT], state: Mapping[str, Any], /) -> StateT: ...


def run_sync(runner: GraphRunner[StateT], state: Mapping[str, Any], /) -> StateT:
    return runner.run(cast(StateT, state))


def run_async(runner: GraphRunner[StateT], state: Mapping[str, Any], /) -> StateT:
    return asyncio.run(runner.arun(cast(StateT, state)))


DRIVERS: dict[str, Driver] = {"sync": run_sync, "async": run_async}


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice]})


class FakeOpenAI:
    """An OpenAI-compatible service in process.

    Attributes:
        transport: give it to connectors (:meth:`connector` does).
        tool_call: when set, the next answer asks for this tool call instead of text.
    """

    def __init__(self) -> None:
        self.transport = InProcessTransport(self._answer)
        self.tool_call: dict[str, Any] | None = None

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order."""
        return self.transport.requests

    def connector(self, model: str = "gpt-4o-mini", **params: Any) -> OpenAIConnector:
        """A connector on this service."""
        return OpenAIConnector(model, api_key=KEY, transport=self.transport, **params)

    def _answer(self, request: Request) -> Reply:
        said = request.body["messages"][-1]["content"]
        if self.tool_call is not None:
            call, self.tool_call = self.tool_call, None
            wire_call = {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }
            message: dict[str, Any] = {"role": "assistant", "content": None}
            message["tool_calls"] = [wire_call]
            return Reply({"choices": [{"message": message, "finish_reason": "tool_calls"}]})
        text = f"You asked: {said}"
        if request.body.get("stream"):
            words = text.split(" ")
            pieces = [word if i == 0 else f" {word}" for i, word in enumerate(words)]
            events = [_chunk({"role": "assistant", "content": ""})]
            events += [_chunk({"content": piece}) for piece in pieces]
            return Reply(events=[*events, _chunk({}, "stop"), "[DONE]"])
        message = {"role": "assistant", "content": text}
        usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
        return Reply({"choices": [{"message": message, "finish_reason": "stop"}], "usage": usage})


def _no_request(request: Request) -> Reply:
    raise AssertionError(f"a replayed call reached the transport: {request.url}")


def offline(model: str = "gpt-4o-mini", **params: Any) -> OpenAIConnector:
    """A connector whose transport fails the test if a request reaches it."""
    return OpenAIConnector(model, api_key=KEY, transport=InProcessTransport(_no_request), **params)


def unreachable(model: str = "gpt-4o-mini") -> OpenAIConnector:
    """A connector pointed at a closed port, no retries: any request fails at once."""
    return OpenAIConnector(model, base_url="http://127.0.0.1:9/v1", api_key=KEY, max_retries=0)


class Quiz(TypedDict):
    questions: list[str]
    answers: list[str]


QUESTIONS: Quiz = {"questions": ["What is 2+2?", "Why is the sky blue?"], "answers": []}


def quiz(llm: LLMConnector, **params: Any) -> GraphRunner[Quiz]:
    """One node, ``answer``, asking the model each question in turn (one call each)."""

    def answer(state: Quiz) -> dict[str, list[str]]:
        replies = []
        for question in state["questions"]:
            reply = llm.invoke([SYSTEM, {"role": "user", "content": question}], **params)
            replies.append(reply["content"])
        return {"answers": replies}

    graph = OrkesGraph(Quiz).add_node("answer", answer)
    return GraphRunner(graph.add_edge(START, "answer").add_edge("answer", END).compile())


class Pair(TypedDict):
    topic: str
    left: str
    right: str


def pair(llm: LLMConnector, *, calls: int = 1) -> GraphRunner[Pair]:
    """Two nodes, ``left`` and ``right``, in parallel; each calls the model ``calls`` times."""

    def asker(side: str) -> Callable[[Pair], dict[str, str]]:
        def ask(state: Pair) -> dict[str, str]:
            said = []
            for turn in range(1, calls + 1):
                question = f"{side} {turn}: {state['topic']}?"
                said.append(llm.invoke([{"role": "user", "content": question}])["content"])
            return {side: " | ".join(said)}

        return ask

    graph = OrkesGraph(Pair).add_node("left", asker("left")).add_node("right", asker("right"))
    graph.add_edge(START, "left").add_edge(START, "right")
    return GraphRunner(graph.add_edge("left", END).add_edge("right", END).compile())
