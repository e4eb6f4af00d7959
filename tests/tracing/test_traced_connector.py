"""``traced(connector)``: a connector of one's own, its calls recorded in traced runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

import pytest

from orkes import END, START, EchoLlmConnector, GraphRunner, OrkesGraph
from orkes.errors import GraphDefinitionError, NodeError
from orkes.shared.schema import AsyncLLMConnector, LLMConnector, OrkesMessageSchema
from orkes.tracing import Trace, Tracer, traced
from tests.tracing.drivers import Driver

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "hello"}]


class Chat(TypedDict, total=False):
    """What the nodes write: the reply's text."""

    reply: str
    other: str


class Parrot:
    """A user connector: it repeats the last message, and reports made-up token usage."""

    model = "parrot-1"

    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, messages: list[OrkesMessageSchema], **params: Any) -> OrkesMessageSchema:
        self.calls += 1
        return {
            "role": "assistant",
            "content": messages[-1]["content"].upper(),
            "metadata": {"usage": {"input_tokens": 5, "output_tokens": 1}},
        }

    async def ainvoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        await asyncio.sleep(0)
        return self.invoke(messages)

    def stream(self, messages: list[OrkesMessageSchema]) -> Iterator[str]:
        yield from messages[-1]["content"].upper()

    async def astream(self, messages: list[OrkesMessageSchema]) -> AsyncIterator[str]:
        for letter in messages[-1]["content"].upper():
            yield letter


def one_node(node: Any) -> GraphRunner[Chat]:
    graph = OrkesGraph(Chat).add_node("talk", node)
    return GraphRunner(graph.add_edge(START, "talk").add_edge("talk", END).compile())


def last(tracer: Tracer) -> Trace:
    trace = tracer.last
    assert trace is not None
    return trace


def test_outside_a_traced_run_the_wrapper_only_calls_through() -> None:
    parrot = Parrot()
    llm = traced(parrot)
    assert llm.invoke(HELLO)["content"] == "HELLO"
    assert llm.calls == 1
    assert llm.model == "parrot-1"
    assert llm.wrapped is parrot
    assert repr(llm).startswith("traced(<")
    assert isinstance(llm, LLMConnector)
    assert asyncio.run(llm.ainvoke(HELLO))["content"] == "HELLO"
    assert "".join(llm.stream(HELLO)) == "HELLO"


def test_the_wrapper_has_what_the_connector_has_and_nothing_more() -> None:
    class InvokeOnly:
        def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
            return {"role": "assistant", "content": ""}

    llm = traced(InvokeOnly())
    assert not isinstance(llm, AsyncLLMConnector)
    assert not hasattr(llm, "stream")
    assert isinstance(traced(Parrot()), AsyncLLMConnector)
    with pytest.raises(AttributeError, match="ainvoke"):
        _ = llm.ainvoke


def test_an_invoke_in_a_traced_node_is_recorded(driver: Driver, tracer: Tracer) -> None:
    llm = traced(Parrot())

    def talk(state: Chat) -> dict[str, str]:
        return {"reply": llm.invoke(HELLO, temperature=0.5, tools=[len])["content"]}

    assert driver.run(one_node(talk), {}, tracer) == {"reply": "HELLO"}
    (task,) = last(tracer).tasks
    (call,) = task.llm_calls
    assert (call.connector, call.model, call.messages) == ("Parrot", "parrot-1", HELLO)
    assert (call.params, call.tools, call.retries, call.error) == (
        {"temperature": 0.5},
        ("len",),
        0,
        None,
    )
    assert call.reply is not None
    assert call.reply["content"] == "HELLO"
    assert call.usage == {"input_tokens": 5, "output_tokens": 1}
    assert task.started <= call.started <= call.ended <= task.ended
    assert call.seconds >= 0


def test_ainvoke_in_an_async_node_is_recorded(tracer: Tracer) -> None:
    llm = traced(Parrot())

    async def talk(state: Chat) -> dict[str, str]:
        first, second = await asyncio.gather(llm.ainvoke(HELLO), llm.ainvoke(HELLO))
        return {"reply": first["content"] + second["content"]}

    asyncio.run(one_node(talk).arun({}, tracer=tracer))
    calls = last(tracer).llm_calls
    assert [call.reply["content"] if call.reply else None for call in calls] == ["HELLO", "HELLO"]


def test_streams_are_recorded_when_they_end(driver: Driver, tracer: Tracer) -> None:
    llm = traced(Parrot())

    def talk(state: Chat) -> dict[str, str]:
        return {"reply": "".join(llm.stream(HELLO))}

    async def atalk(state: Chat) -> dict[str, str]:
        return {"reply": "".join([chunk async for chunk in llm.astream(HELLO)])}

    driver.run(one_node(talk), {}, tracer)
    asyncio.run(one_node(atalk).arun({}, tracer=tracer))
    for trace in tracer.traces:
        (call,) = trace.llm_calls
        assert call.reply == {"role": "assistant", "content": "HELLO"}


def test_a_stream_left_early_is_recorded_as_cut_short(tracer: Tracer) -> None:
    llm = traced(Parrot())

    def talk(state: Chat) -> dict[str, str]:
        chunks = llm.stream(HELLO)
        first = next(chunks)
        chunks.close()
        return {"reply": first}

    one_node(talk).run({}, tracer=tracer)
    (call,) = last(tracer).llm_calls
    assert call.reply is None
    assert call.error is not None
    assert call.error.type == "GeneratorExit"


def test_a_failing_call_is_recorded_with_its_error(driver: Driver, tracer: Tracer) -> None:
    class Down:
        def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
            raise ConnectionError("the model is down")

    llm = traced(Down())

    def talk(state: Chat) -> dict[str, str]:
        return {"reply": llm.invoke(HELLO)["content"]}

    with pytest.raises(NodeError, match="the model is down"):
        driver.run(one_node(talk), {}, tracer)
    (call,) = last(tracer).llm_calls
    assert call.reply is None
    assert call.error is not None
    assert (call.error.type, call.error.message) == ("ConnectionError", "the model is down")


def test_a_call_is_recorded_once_however_it_is_wrapped(driver: Driver, tracer: Tracer) -> None:
    class Polite:
        """A connector of one's own that calls a shipped one."""

        def __init__(self) -> None:
            self.inner = EchoLlmConnector()

        def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
            reply = self.inner.invoke(messages)
            return {"role": "assistant", "content": reply["content"] + ", please"}

    twice, shipped, polite = traced(traced(Parrot())), traced(EchoLlmConnector()), traced(Polite())

    def talk(state: Chat) -> dict[str, str]:
        texts = [llm.invoke(HELLO)["content"] for llm in (twice, shipped, polite)]
        return {"reply": " | ".join(texts)}

    driver.run(one_node(talk), {}, tracer)
    calls = last(tracer).llm_calls
    assert [(call.connector, call.reply["content"] if call.reply else None) for call in calls] == [
        ("Parrot", "HELLO"),
        ("EchoLlmConnector", "I echo: hello"),  # the shipped one records itself
        ("Polite", "I echo: hello, please"),  # the inner echo is not recorded again
    ]


def test_calls_of_parallel_nodes_go_to_their_own_tasks(driver: Driver, tracer: Tracer) -> None:
    llm = traced(Parrot())

    def left(state: Chat) -> dict[str, str]:
        return {"reply": llm.invoke([{"role": "user", "content": "left"}])["content"]}

    def right(state: Chat) -> dict[str, str]:
        return {"other": llm.invoke([{"role": "user", "content": "right"}])["content"]}

    graph = OrkesGraph(Chat).add_node(left).add_node(right)
    graph.add_edge(START, "left").add_edge(START, "right").add_edge("left", END)
    graph.add_edge("right", END)
    driver.run(GraphRunner(graph.compile()), {}, tracer)
    replies = {
        task.node: [call.reply["content"] for call in task.llm_calls if call.reply]
        for task in last(tracer).tasks
    }
    assert replies == {"left": ["LEFT"], "right": ["RIGHT"]}


def test_traced_takes_only_a_connector() -> None:
    with pytest.raises(GraphDefinitionError, match=r"traced\(\) takes an LLM connector.*got 42"):
        traced(42)  # type: ignore[type-var]
