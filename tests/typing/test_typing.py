"""Static typing checks: ``mypy --strict`` verifies every ``assert_type`` here.

At runtime ``assert_type`` returns its argument unchanged, so pytest runs the same code
and checks the values too: both the checker and the interpreter must agree.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from typing_extensions import NotRequired, TypedDict, assert_type

import orkes
from orkes import (
    END,
    START,
    CompiledGraph,
    EchoLlmConnector,
    GraphRunner,
    LLMConnector,
    OrkesGraph,
    OrkesMessageSchema,
)
from orkes.graph._sentinels import Terminal
from orkes.graph.reducers import add_messages, append, merge_dict
from orkes.shared.schema import ToolCall


class ChatState(TypedDict):
    user_input: str
    llm_response: str


class CounterState(TypedDict):
    count: int
    seen: Annotated[list[int], operator.add]
    note: NotRequired[str]


class MessagesState(TypedDict):
    messages: Annotated[list[OrkesMessageSchema], add_messages]


def whole_state_node(state: ChatState) -> ChatState:
    state["llm_response"] = "I echo: " + state["user_input"]
    return state


def partial_update_node(state: ChatState) -> dict[str, str]:
    return {"llm_response": state["llm_response"] + "!"}


def no_update_node(state: ChatState) -> None:
    return None


async def async_node(state: ChatState) -> dict[str, str]:
    await asyncio.sleep(0)
    return {"llm_response": state["llm_response"] + "?"}


def object_update_node(state: ChatState) -> dict[str, object]:
    return {"llm_response": state["llm_response"]}


def mapping_update_node(state: ChatState) -> Mapping[str, Any]:
    return {"llm_response": state["llm_response"]}


def int_update_node(state: CounterState) -> dict[str, int]:
    return {"count": state["count"] + 1}


class CallableNode:
    def __call__(self, state: ChatState) -> dict[str, str]:
        return {"llm_response": state["user_input"]}


def loose_node(state: Mapping[str, Any]) -> None:
    return None


def literal_gate(state: ChatState) -> Literal["short", "long"]:
    return "short" if len(state["user_input"]) < 20 else "long"


def str_gate(state: ChatState) -> str:
    return "END"


def test_a_mapping_held_in_a_variable_is_accepted() -> None:
    # A mapping's key type is invariant: ``Mapping[Any, str]`` lets a ``dict[str, str]``
    # held in a variable through, as users write it.
    routes = {"short": "llm", "long": END}
    graph = OrkesGraph(ChatState).add_node("llm", whole_state_node)
    graph.add_edge(START, "llm")
    graph.add_conditional_edge("llm", literal_gate, routes)
    assert graph.compile().run({"user_input": "a" * 30, "llm_response": ""})["llm_response"]


def build_chat_graph() -> OrkesGraph[ChatState]:
    graph = OrkesGraph(ChatState, name="chat", description="typed")
    assert_type(graph, OrkesGraph[ChatState])
    chained = (
        graph.add_node("llm", whole_state_node)
        .add_node(partial_update_node)
        .add_node("none", no_update_node)
        .add_node("objects", object_update_node)
        .add_node("mapping", mapping_update_node)
        .add_edge(START, "llm")
        .add_edge("llm", "partial_update_node")
        .add_conditional_edge(
            "partial_update_node", literal_gate, {"short": "none", "long": graph.END}
        )
        .add_edge(["none"], "objects")
        .add_edge("objects", "mapping", max_passes=3)
        .add_conditional_edge("mapping", str_gate, default="END")
    )
    assert_type(chained, OrkesGraph[ChatState])
    return chained


def test_builder_methods_chain_and_keep_the_state_type() -> None:
    graph = build_chat_graph()
    assert_type(
        graph.add_node("lambda", lambda state: {"llm_response": state["user_input"]}),
        OrkesGraph[ChatState],
    )
    assert_type(graph.add_node("callable", CallableNode()), OrkesGraph[ChatState])
    assert_type(graph.add_node("loose", loose_node), OrkesGraph[ChatState])
    assert_type(graph.add_node("async", async_node), OrkesGraph[ChatState])
    assert_type(graph.add_node(async_node), OrkesGraph[ChatState])
    assert_type(graph.START, Terminal)
    assert_type(graph.END, Terminal)


def test_compile_and_run_return_the_state_type() -> None:
    graph = OrkesGraph(ChatState).add_node("llm", whole_state_node)
    graph.add_edge(graph.START, "llm").add_edge("llm", graph.END)
    compiled = graph.compile()
    assert_type(compiled, CompiledGraph[ChatState])
    runner = GraphRunner(compiled)
    assert_type(runner, GraphRunner[ChatState])
    state = ChatState(user_input="Hello, Orkes!", llm_response="")
    final_state = runner.run(state)
    assert_type(final_state, ChatState)
    assert final_state == {"user_input": "Hello, Orkes!", "llm_response": "I echo: Hello, Orkes!"}
    assert_type(runner.run(state, max_steps=5), ChatState)
    assert_type(compiled.run(state), ChatState)
    assert_type(GraphRunner(compiled, max_steps=10), GraphRunner[ChatState])


def test_async_nodes_and_arun_are_typed() -> None:
    graph = OrkesGraph(ChatState).add_node("ask", async_node)
    graph.add_edge(START, "ask").add_edge("ask", END)
    compiled = graph.compile()
    runner = GraphRunner(compiled)

    async def main() -> ChatState:
        state = ChatState(user_input="hi", llm_response="x")
        from_runner = await runner.arun(state)
        assert_type(from_runner, ChatState)
        from_compiled = await compiled.arun(state, max_steps=3)
        assert_type(from_compiled, ChatState)
        return from_runner

    assert asyncio.run(main()) == {"user_input": "hi", "llm_response": "x?"}


def test_reducer_schemas_and_reducers_are_typed() -> None:
    def increment(state: CounterState) -> dict[str, object]:
        return {"count": state["count"] + 1, "seen": [state["count"] + 1]}

    def keep_going(state: CounterState) -> Literal["again", "done"]:
        return "again" if state["count"] < 3 else "done"

    assert_type(OrkesGraph(CounterState).add_node(int_update_node), OrkesGraph[CounterState])
    graph = OrkesGraph(CounterState).add_node(increment)
    graph.add_edge(START, "increment")
    graph.add_conditional_edge("increment", keep_going, {"again": "increment", "done": "END"})
    result = graph.compile().run({"count": 0, "seen": []})
    assert_type(result, CounterState)
    assert result == {"count": 3, "seen": [1, 2, 3]}

    messages = add_messages(None, OrkesMessageSchema(role="user", content="hi"))
    assert_type(messages, list[OrkesMessageSchema])
    assert_type(append([1], 2), list[int])
    assert_type(append([0], [1, 2]), list[int])
    assert_type(merge_dict({"a": 1}, {"b": 2}), dict[str, int])


def test_connectors_and_messages_are_typed() -> None:
    connector: LLMConnector = EchoLlmConnector()
    reply = connector.invoke([OrkesMessageSchema(role="user", content="hi")])
    assert_type(reply, OrkesMessageSchema)
    assert reply == {"role": "assistant", "content": "I echo: hi"}
    call = ToolCall(id="call_1", name="add", arguments={"a": 1})
    message = OrkesMessageSchema(role="assistant", content="", tool_calls=[call])
    assert_type(message["tool_calls"], list[ToolCall])
    assert_type(orkes.__version__, str)


def test_context_gates_commands_sends_and_events_are_typed() -> None:
    from orkes import AsyncRunStream, Command, RunContext, RunStream, Send
    from orkes.events import Event, Token, Update

    class Job(TypedDict):
        topics: list[str]
        done: Annotated[list[str], operator.add]

    def plan(state: Job, ctx: RunContext) -> Command[Literal["work"]]:
        return Command(goto=[Send("work", {"topic": t}) for t in state["topics"]])

    def work(arg: Mapping[str, Any]) -> dict[str, list[str]]:  # a Send's arg, not the state
        return {"done": [arg["topic"]]}

    def gate(state: Job, ctx: RunContext) -> Literal["plan", "END"]:  # a gate may take ctx
        return "END" if state["done"] or ctx.step > 5 else "plan"

    graph = OrkesGraph(Job).add_node(plan).add_node(work)
    graph.add_edge(START, "plan").add_conditional_edge("work", gate)
    compiled = graph.compile()
    with compiled.stream({"topics": ["a", "b"], "done": []}) as stream:
        assert_type(stream, RunStream[Job, Update])  # "updates" alone: Update events
        updates = list(stream)
    assert_type(stream.result, Job)
    runner = GraphRunner(compiled)
    tokens = runner.stream({"topics": []}, modes="messages")
    assert_type(tokens, RunStream[Job, Token])
    assert list(tokens) == []
    mixed = runner.stream({"topics": []}, modes=("updates", "values"))
    assert_type(mixed, RunStream[Job, Event])
    assert_type(runner.astream({"topics": []}), AsyncRunStream[Job, Update])
    assert_type(compiled.astream({"topics": []}, modes=["tasks"]), AsyncRunStream[Job, Event])
    assert [type(event).__name__ for event in mixed] == ["Values", "Update", "Values"]
    assert [(event.node, dict(event.update)) for event in updates] == [
        ("plan", {}),
        ("work", {"done": ["a"]}),
        ("work", {"done": ["b"]}),
    ]
    assert stream.result == {"topics": ["a", "b"], "done": ["a", "b"]}


def test_durable_runs_are_typed() -> None:
    from orkes import Command, RunContext, RunResult, RunStream, Snapshot
    from orkes.events import Interrupt, Update
    from orkes.persistence import MemoryCheckpointer

    class Ticket(TypedDict):
        title: str
        answer: NotRequired[str]

    def ask(state: Ticket, ctx: RunContext) -> dict[str, str]:
        return {"answer": str(ctx.interrupt({"title": state["title"]}))}

    graph = OrkesGraph(Ticket).add_node(ask).add_edge(START, "ask").add_edge("ask", END)
    runner = GraphRunner(graph.compile(), checkpointer=MemoryCheckpointer())
    paused = runner.invoke({"title": "t"}, thread_id="t1")
    assert_type(paused, RunResult[Ticket])
    assert_type(paused.interrupts, tuple[Interrupt, ...])
    done = runner.invoke(Command(resume="yes"), thread_id="t1")
    assert_type(done.state, Ticket)
    assert done.state == {"title": "t", "answer": "yes"}
    assert_type(runner.history("t1"), list[Snapshot[Ticket]])
    assert_type(runner.get_state("t1"), Snapshot[Ticket])
    with runner.stream({"title": "u"}, thread_id="t2") as stream:
        assert_type(stream, RunStream[Ticket, Update | Interrupt])
        assert [type(event).__name__ for event in stream] == ["Interrupt"]
    assert_type(runner.resume("t2", "no"), RunResult[Ticket])
