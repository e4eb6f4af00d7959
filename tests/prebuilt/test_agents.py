"""The ready tool agent: model -> tools -> model ... until the model answers in text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from orkes import GraphRunner
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec, tool
from orkes.errors import (
    GraphDefinitionError,
    GraphValidationError,
    NodeError,
    ResponseFormatError,
    StepLimitExceeded,
)
from orkes.persistence import MemoryCheckpointer
from orkes.prebuilt import AgentState, tool_agent
from orkes.shared.schema import OrkesMessageSchema, ToolCall
from tests.connectors.loopback import LoopbackServer, json_response
from tests.connectors.openai_wire import completion


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def explode(reason: str) -> str:
    """Fail on purpose."""
    raise RuntimeError(reason)


class ScriptedModel:
    """Answers from a script and records what it was sent."""

    def __init__(self, *replies: OrkesMessageSchema) -> None:
        self.replies = list(replies)
        self.seen: list[list[OrkesMessageSchema]] = []
        self.offered: list[list[str]] = []

    def invoke(
        self, messages: list[OrkesMessageSchema], *, tools: Iterable[Any] | None = None
    ) -> OrkesMessageSchema:
        self.seen.append(list(messages))
        self.offered.append([spec.name for spec in tools or ()])
        return self.replies.pop(0)


def calls(*requested: tuple[str, str, dict[str, Any]]) -> OrkesMessageSchema:
    tool_calls = [ToolCall(id=i, name=n, arguments=a) for i, n, a in requested]
    return OrkesMessageSchema(role="assistant", content="", tool_calls=tool_calls)


def said(text: str) -> OrkesMessageSchema:
    return OrkesMessageSchema(role="assistant", content=text)


QUESTION: AgentState = {"messages": [OrkesMessageSchema(role="user", content="2+3 and 4+5?")]}


def test_the_model_calls_tools_until_it_answers() -> None:
    model = ScriptedModel(
        calls(("c1", "add", {"a": 2, "b": 3}), ("c2", "add", {"a": 4, "b": 5})), said("5 and 9")
    )
    final = tool_agent(model, [add]).run(QUESTION)
    assert final["messages"][1:] == [
        model.seen[1][1],
        {"role": "tool", "content": "5", "tool_call_id": "c1", "name": "add"},
        {"role": "tool", "content": "9", "tool_call_id": "c2", "name": "add"},
        {"role": "assistant", "content": "5 and 9"},
    ]
    assert model.offered == [["add"], ["add"]]
    assert QUESTION["messages"] == [{"role": "user", "content": "2+3 and 4+5?"}]


def test_the_system_prompt_goes_first_unless_the_conversation_has_one() -> None:
    model = ScriptedModel(said("ok"), said("ok"))
    agent = tool_agent(model, [add], system_prompt="Use tools.")
    agent.run(QUESTION)
    assert model.seen[0][0] == {"role": "system", "content": "Use tools."}
    own = OrkesMessageSchema(role="system", content="Mine.")
    agent.run({"messages": [own, *QUESTION["messages"]]})
    assert [m["content"] for m in model.seen[1] if m["role"] == "system"] == ["Mine."]


def test_a_failing_tool_answers_the_model_with_its_error() -> None:
    model = ScriptedModel(calls(("c1", "explode", {"reason": "no disk"})), said("sorry"))
    final = tool_agent(model, [add, explode]).run(QUESTION)
    answer = final["messages"][2]
    assert answer["role"] == "tool"
    assert answer["tool_call_id"] == "c1"
    assert "RuntimeError: no disk" in answer["content"]
    assert final["messages"][-1] == said("sorry")


def test_a_model_that_never_stops_asking_hits_max_turns() -> None:
    model = ScriptedModel(*[calls((f"c{i}", "add", {"a": i, "b": 1})) for i in range(5)])
    with pytest.raises(NodeError) as caught:
        tool_agent(model, [add], max_turns=2).run(QUESTION)
    cause = caught.value.__cause__
    assert isinstance(cause, StepLimitExceeded)
    assert str(cause) == (
        "the agent reached max_turns=2: after 2 turns the model still asks for tools 'add'; "
        "pass a larger max_turns= to tool_agent(...)"
    )
    assert len(model.seen) == 2


@pytest.mark.parametrize(
    "reply", [{"content": "no role"}, {"role": "user", "content": "hi"}, "just text"]
)
def test_a_connector_answering_no_assistant_message_is_named(reply: Any) -> None:
    model = ScriptedModel(reply)
    with pytest.raises(NodeError) as caught:
        tool_agent(model, [add]).run(QUESTION)
    cause = caught.value.__cause__
    assert isinstance(cause, ResponseFormatError)
    assert str(cause).startswith("the agent's connector <")
    assert "a model turn is a message with role 'assistant'" in str(cause)


@pytest.mark.parametrize("max_turns", [0, -1, True, 1.5])
def test_max_turns_must_be_a_positive_int(max_turns: Any) -> None:
    with pytest.raises(GraphDefinitionError, match="max_turns must be a positive int"):
        tool_agent(ScriptedModel(), [add], max_turns=max_turns)


def test_what_is_no_connector_is_refused_when_the_agent_is_built() -> None:
    not_a_connector: Any = "gpt-4o-mini"
    with pytest.raises(GraphDefinitionError, match=r"^tool_agent takes a connector, such as"):
        tool_agent(not_a_connector, [])


def test_a_connector_whose_invoke_takes_no_tools_is_refused_when_the_agent_is_built() -> None:
    from orkes import EchoLlmConnector

    toolless: Any = EchoLlmConnector()
    with pytest.raises(GraphDefinitionError) as caught:
        tool_agent(toolless, [])
    assert str(caught.value) == (
        "tool_agent needs a connector whose invoke takes tools=; the invoke of "
        "EchoLlmConnector(api_key='') does not: use one that offers tools to its model (every "
        "shipped HTTP connector does), or give yours a tools=None parameter"
    )


def test_tools_may_be_specs_and_functions_mixed() -> None:
    model = ScriptedModel(said("done"))
    tool_agent(model, [tool(add), explode]).run(QUESTION)
    assert model.offered == [["add", "explode"]]
    assert isinstance(tool(add), ToolSpec)


def test_the_agent_runs_on_an_openai_compatible_server() -> None:
    with LoopbackServer() as server:
        first_call = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "add", "arguments": json.dumps({"a": 2, "b": 3})},
            }
        ]
        asking = completion(None, tool_calls=first_call, finish_reason="tool_calls")
        answering = {**completion("2+3 is 5."), "id": "chatcmpl-124"}  # ids differ, as live
        server.enqueue(json_response(asking), json_response(answering))
        with OpenAIConnector("local-model", base_url=server.url("/v1"), timeout=5) as connector:
            final = tool_agent(connector, [add], system_prompt="Be exact.").run(QUESTION)
        assert final["messages"][-1]["content"] == "2+3 is 5."
        second = server.requests[1].json()
        assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
        assert second["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "5"}
        assert second["tools"][0]["function"]["name"] == "add"


def test_a_durable_agent_pauses_before_its_tools_run_until_resumed() -> None:
    ran: list[int] = []

    def pay(amount: int) -> str:
        """Pay an amount."""
        ran.append(amount)
        return "paid"

    model = ScriptedModel(calls(("c1", "pay", {"amount": 5})), said("Paid 5."))
    agent = tool_agent(model, [pay], interrupt_before=["tools"])
    runner = GraphRunner(agent, checkpointer=MemoryCheckpointer())
    paused = runner.invoke(QUESTION, thread_id="t")
    assert [pause.id for pause in paused.interrupts] == ["2:tools:before"]
    assert ran == []
    assert runner.resume("t").state["messages"][-1]["content"] == "Paid 5."
    assert ran == [5]
    with pytest.raises(
        GraphValidationError, match=r"interrupt_after=\.\.\.\) names unknown node 'ask'"
    ):
        tool_agent(model, [pay], interrupt_after=["ask"])  # type: ignore[list-item]
