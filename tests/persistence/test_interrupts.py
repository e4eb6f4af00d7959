"""Human in the loop: ``ctx.interrupt`` pauses a durable run, ``resume`` answers it.

Modelled on how LangGraph's own tests exercise ``interrupt`` / ``Command(resume=...)``:
a single pause, parallel pauses answered together or by id, two pauses in one node,
side effects guarded by ``ctx.once``, and the signal surviving ``except Exception``.
Sync and async drivers run every case, on every back-end.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypedDict, cast

import pytest

from orkes import END, START, Command, GraphRunner, OrkesGraph, RunContext
from orkes.errors import (
    CheckpointError,
    GraphDefinitionError,
    GraphValidationError,
    NodeError,
    RoutingError,
    RunInterrupted,
)
from orkes.events import Interrupt, Update
from orkes.graph.results import RunResult
from orkes.persistence.base import Checkpointer
from tests.persistence.spies import Spy


class Order(TypedDict, total=False):
    """An order: what was decided, and a log of what happened."""

    amount: int
    decisions: Annotated[list[str], operator.add]


class Drive(Protocol):
    """Starts (``state``) or resumes (``answer``) a thread, sync or async."""

    def __call__(
        self, runner: GraphRunner[Any], thread: str, state: Any = None, answer: Any = ...
    ) -> RunResult[Any]: ...


def drive_sync(
    runner: GraphRunner[Any], thread: str, state: Any = None, answer: Any = ...
) -> RunResult[Any]:
    if state is not None:
        return runner.invoke(state, thread_id=thread)
    return runner.resume(thread) if answer is ... else runner.resume(thread, answer)


def drive_async(
    runner: GraphRunner[Any], thread: str, state: Any = None, answer: Any = ...
) -> RunResult[Any]:
    if state is not None:
        return asyncio.run(runner.ainvoke(state, thread_id=thread))
    if answer is ...:
        return asyncio.run(runner.aresume(thread))
    return asyncio.run(runner.aresume(thread, answer))


@pytest.fixture(params=["sync", "async"])
def drive(request: pytest.FixtureRequest) -> Drive:
    """Each case runs once through ``invoke``/``resume``, once through their a-twins."""
    chosen: Drive = drive_sync if request.param == "sync" else drive_async
    return chosen


def approval_graph(charges: list[int]) -> OrkesGraph[Order]:
    """charge -> (a person approves) -> ship."""

    def charge(amount: int) -> str:
        charges.append(amount)
        return f"receipt-{len(charges)}"

    def review(state: Order, ctx: RunContext) -> Order:
        receipt = ctx.once("charge", charge, state["amount"])
        try:
            answer = ctx.interrupt({"question": "ship it?", "receipt": receipt})
        except Exception:  # a node's own handler must not swallow the pause
            return {"decisions": ["swallowed"]}
        return {"decisions": [f"{receipt}: {answer}"]}

    graph = OrkesGraph(Order).add_node(review)
    graph.add_node("ship", lambda s: {"decisions": ["shipped"]})
    return graph.add_edge(START, "review").add_edge("review", "ship").add_edge("ship", END)


def test_a_pause_is_a_result_and_resume_answers_it(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    charges: list[int] = []
    runner = GraphRunner(approval_graph(charges).compile(), checkpointer=checkpointer)
    paused = drive(runner, "o1", {"amount": 30, "decisions": []})
    assert not paused.done
    assert paused.state == {"amount": 30, "decisions": []}
    assert paused.interrupts == (
        Interrupt("1:review:0", "review", {"question": "ship it?", "receipt": "receipt-1"}, step=1),
    )
    assert runner.get_state("o1").next == ("review",)
    assert runner.get_state("o1").interrupts == paused.interrupts
    done = drive(runner, "o1", answer="yes")
    assert done.done
    assert done.interrupts == ()
    assert done.state["decisions"] == ["receipt-1: yes", "shipped"]
    assert charges == [30]  # ctx.once: charged once, though review ran twice


def test_an_async_node_guards_its_side_effect_with_aonce(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    charges: list[int] = []

    async def charge(amount: int) -> str:
        await asyncio.sleep(0)
        charges.append(amount)
        return f"receipt-{len(charges)}"

    async def review(state: Order, ctx: RunContext) -> Order:
        receipt = await ctx.aonce("charge", charge, state["amount"])
        answer = ctx.interrupt({"receipt": receipt})
        return {"decisions": [f"{receipt}: {answer}"]}

    graph = OrkesGraph(Order).add_node(review).add_edge(START, "review")
    spy = Spy(checkpointer)
    runner = GraphRunner(graph.add_edge("review", END).compile(), checkpointer=cast(Any, spy))
    paused = drive(runner, "o9", {"amount": 12, "decisions": []})
    assert paused.interrupts[0].payload == {"receipt": "receipt-1"}
    done = drive(runner, "o9", answer="ok")
    assert done.state["decisions"] == ["receipt-1: ok"]
    assert charges == [12]  # awaited once, though review ran twice
    # The once-result is written by the async write, never the blocking one.
    assert spy.calls.count("aput_writes once:charge") == 1
    assert "put_writes once:charge" not in spy.calls
    # Without a thread, aonce simply awaits.

    async def price(state: Order, ctx: RunContext) -> Order:
        return {"amount": len(await ctx.aonce("charge", charge, 7))}

    plain = OrkesGraph(Order).add_node(price).add_edge(START, "price").add_edge("price", END)
    assert asyncio.run(plain.compile().arun({})) == {"amount": len("receipt-2")}
    assert charges == [12, 7]


def test_command_resume_as_input_answers_like_resume(checkpointer: Checkpointer) -> None:
    """LangGraph users write ``invoke(Command(resume=...))``: the same as ``resume``."""
    charges: list[int] = []
    runner = GraphRunner(approval_graph(charges).compile(), checkpointer=checkpointer)
    order = {"amount": 3, "decisions": []}
    assert not runner.invoke(order, thread_id="c1").done
    done = runner.invoke(Command(resume="yes"), thread_id="c1")
    assert done.state["decisions"] == ["receipt-1: yes", "shipped"]
    runner.invoke(order, thread_id="c2")
    events = list(runner.stream(Command(resume="no"), thread_id="c2"))
    assert [event.node for event in events if isinstance(event, Update)] == ["review", "ship"]
    runner.invoke(order, thread_id="c3")
    assert asyncio.run(runner.arun(Command(resume="ok"), thread_id="c3"))["decisions"][0] == (
        "receipt-3: ok"
    )

    async def streamed() -> list[str]:
        await runner.ainvoke(order, thread_id="c4")
        return [e.node async for e in runner.astream(Command(resume="y"), thread_id="c4")]

    assert asyncio.run(streamed()) == ["review", "ship"]
    assert charges == [3, 3, 3, 3]  # one charge per thread, none on resume
    with pytest.raises(GraphDefinitionError, match="a Command with resume= only"):
        runner.invoke(Command(update={"amount": 1}, resume="x"), thread_id="c1")
    with pytest.raises(GraphDefinitionError, match="answers a paused thread: give thread_id="):
        approval_graph([]).compile().run(Command(resume="x"))


def test_a_node_may_not_return_command_resume() -> None:
    graph = OrkesGraph(Order).add_node("n", lambda s: Command(resume=1))
    with pytest.raises(RoutingError, match=r"returned Command\(resume=\.\.\.\), which only"):
        graph.add_edge(START, "n").add_edge("n", END).compile().run({})
    assert repr(Command(resume=1)) == "Command(resume=1)"
    assert Command(resume=1) != Command(resume=2)


def test_run_raises_run_interrupted_carrying_the_result(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(approval_graph([]).compile(), checkpointer=checkpointer)
    with pytest.raises(RunInterrupted) as caught:
        runner.run({"amount": 5, "decisions": []}, thread_id="o2")
    result = caught.value.result
    assert isinstance(result, RunResult)
    assert not result.done
    assert str(caught.value).startswith(
        "the run of thread 'o2' paused for an answer at '1:review:0' (node 'review'): go on "
        "with runner.resume('o2', answer)"
    )
    assert runner.resume("o2", "ok").done


def test_a_stream_yields_the_interrupt_and_ends(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(approval_graph([]).compile(), checkpointer=checkpointer)
    with runner.stream({"amount": 1, "decisions": []}, thread_id="s", modes="updates") as stream:
        events = list(stream)
    assert [type(event) for event in events] == [Interrupt]
    assert stream.result == {"amount": 1, "decisions": []}
    with runner.stream(None, thread_id="s") as stream:  # no answer: it asks again
        assert [type(event) for event in stream] == [Interrupt]
    assert runner.resume("s", "fine").state["decisions"][-1] == "shipped"


def two_reviewers() -> OrkesGraph[Order]:
    """Two parallel nodes that each ask; a third that finishes without asking."""

    def asks(name: str) -> Any:
        def node(state: Order, ctx: RunContext) -> Order:
            return {"decisions": [f"{name}: {ctx.interrupt(name + '?')}"]}

        return node

    graph = OrkesGraph(Order).add_node("legal", asks("legal")).add_node("money", asks("money"))
    graph.add_node("quick", lambda s: {"decisions": ["quick"]})
    for name in ("legal", "money", "quick"):
        graph.add_edge(START, name).add_edge(name, END)
    return graph


def test_parallel_pauses_are_answered_by_id_together_or_one_by_one(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    runner = GraphRunner(two_reviewers().compile(), checkpointer=checkpointer)
    paused = drive(runner, "p", {"decisions": []})
    ids = [pause.id for pause in paused.interrupts]
    assert ids == ["1:legal:0", "1:money:0"]
    with pytest.raises(
        CheckpointError, match="has 2 interrupts waiting \\('1:legal:0', '1:money:0'\\)"
    ):
        drive(runner, "p", answer="one value for two")
    one = drive(runner, "p", answer={"1:legal:0": "ok"})
    assert [pause.id for pause in one.interrupts] == ["1:money:0"]
    done = drive(runner, "p", answer="fine")
    assert done.done
    assert done.state["decisions"] == ["legal: ok", "money: fine", "quick"]


def test_two_pauses_in_one_node_get_their_answers_in_order(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    def form(state: Order, ctx: RunContext) -> Order:
        name = ctx.interrupt("name?")
        city = ctx.interrupt("city?")
        return {"decisions": [f"{name} from {city}"]}

    graph = OrkesGraph(Order).add_node(form).add_edge(START, "form").add_edge("form", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    first = drive(runner, "f", {"decisions": []})
    assert [(p.id, p.payload) for p in first.interrupts] == [("1:form:0", "name?")]
    second = drive(runner, "f", answer="Ada")
    assert [(p.id, p.payload) for p in second.interrupts] == [("1:form:1", "city?")]
    done = drive(runner, "f", answer="London")
    assert done.state["decisions"] == ["Ada from London"]


def test_answering_what_waits_for_nothing_is_refused(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    runner = GraphRunner(approval_graph([]).compile(), checkpointer=checkpointer)
    drive(runner, "n", {"amount": 1, "decisions": []})
    with pytest.raises(CheckpointError, match="has no interrupt '9:nobody:0' waiting"):
        drive(runner, "n", answer={"9:nobody:0": 1, "1:review:0": 2})
    drive(runner, "n", answer="yes")
    with pytest.raises(CheckpointError, match="has nothing pending"):
        drive(runner, "n", answer="again")


def test_a_stale_or_mistyped_interrupt_id_is_refused_not_taken_for_the_answer(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    """A dict keyed by interrupt ids none of which waits is a mistake (the person answers
    a question the thread asked before), never the answer to the one that waits."""

    def form(state: Order, ctx: RunContext) -> Order:
        return {"decisions": [f"{ctx.interrupt('name?')} from {ctx.interrupt('city?')}"]}

    graph = OrkesGraph(Order).add_node(form).add_edge(START, "form").add_edge("form", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    drive(runner, "s", {"decisions": []})
    drive(runner, "s", answer="Ada")  # now "1:form:1" waits
    for stale in ({"1:form:0": "Bob"}, {"1:form:2": "Paris"}, {"1:sub/2:x:before": None}):
        with pytest.raises(CheckpointError, match=f"has no interrupt {next(iter(stale))!r} "
                           "waiting; the waiting ones are '1:form:1'"):  # fmt: skip
            drive(runner, "s", answer=stale)
    assert [pause.id for pause in runner.get_state("s").interrupts] == ["1:form:1"]
    done = drive(runner, "s", answer={"city": "London"})  # a dict answer stays an answer
    assert done.state["decisions"] == ["Ada from {'city': 'London'}"]


def test_a_fork_from_before_an_answered_interrupt_asks_again(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    """Time travel to answer differently: the fork's pause is kept at its own checkpoint,
    the thread's new head, so resume answers it; the old answer is not reused."""
    charges: list[int] = []
    runner = GraphRunner(approval_graph(charges).compile(), checkpointer=checkpointer)
    drive(runner, "t", {"amount": 5, "decisions": []})
    assert drive(runner, "t", answer="yes").state["decisions"] == ["receipt-1: yes", "shipped"]
    asked = runner.history("t")[-1]
    with pytest.raises(CheckpointError, match="a fork from there runs again"):
        runner.invoke(Command(resume="no"), thread_id="t", checkpoint_id=asked.checkpoint_id)
    assert runner.history("t")[0].writers == ("ship",)  # nothing was written
    fork = runner.invoke(None, thread_id="t", checkpoint_id=asked.checkpoint_id)
    assert (fork.done, [pause.id for pause in fork.interrupts]) == (False, ["1:review:0"])
    assert runner.get_state("t").source == "fork"
    done = drive(runner, "t", answer="no")
    assert done.state["decisions"] == ["receipt-2: no", "shipped"]
    assert charges == [5, 5]  # a fork is a new branch: its ctx.once runs anew


def test_interrupt_needs_a_durable_run() -> None:
    def asks(state: Order, ctx: RunContext) -> Order:
        ctx.interrupt("?")
        return {}

    graph = OrkesGraph(Order).add_node(asks).add_edge(START, "asks").add_edge("asks", END)
    with pytest.raises(NodeError, match="that needs a thread to keep it in"):
        graph.compile().run({})


def test_once_without_a_thread_just_calls(checkpointer: Checkpointer) -> None:
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    def node(state: Order, ctx: RunContext) -> Order:
        return {"amount": ctx.once("n", count)}

    graph = OrkesGraph(Order).add_node(node).add_edge(START, "node").add_edge("node", END)
    assert graph.compile().run({}) == {"amount": 1}
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    assert runner.run({}, thread_id="o")["amount"] == 2
    assert list(runner.stream({}, thread_id="o")) == [Update("node", {"amount": 3}, step=1)]


def test_static_breakpoints_pause_before_and_after_nodes(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    graph = OrkesGraph(Order)
    for name in ("plan", "act", "report"):
        graph.add_node(name, _says(name))
    graph.add_edge(START, "plan").add_edge("plan", "act").add_edge("act", "report")
    graph.add_edge("report", END)
    app = graph.compile(interrupt_before=["act"], interrupt_after=["act"])
    runner = GraphRunner(app, checkpointer=checkpointer)
    first = drive(runner, "b", {"decisions": []})
    assert [(p.id, p.node) for p in first.interrupts] == [("2:act:before", "act")]
    assert first.state["decisions"] == ["plan"]
    assert runner.get_state("b").interrupts == first.interrupts  # the snapshot says so too
    second = drive(runner, "b")  # no answer needed: go on past the breakpoint
    assert [(p.id, p.node) for p in second.interrupts] == [("2:act:after", "act")]
    assert second.state["decisions"] == ["plan", "act"]
    assert runner.get_state("b").next == ("report",)
    assert runner.get_state("b").interrupts == second.interrupts
    done = drive(runner, "b")
    assert done.done
    assert done.state["decisions"] == ["plan", "act", "report"]
    # Every pause was passed: none waits anywhere in the history.
    assert [snapshot.interrupts for snapshot in runner.history("b")] == [()] * 4
    assert graph.compile() is not app  # breakpoints make a compiled graph of their own
    with pytest.raises(GraphDefinitionError, match="compiled with interrupt_before="):
        app.run({})


def test_async_pauses_and_breakpoints_never_block_the_event_loop(
    checkpointer: Checkpointer,
) -> None:
    async def act(state: Order, ctx: RunContext) -> Order:
        return {"decisions": [f"act {ctx.interrupt('go?')}"]}

    graph = OrkesGraph(Order).add_node("plan", _says("plan")).add_node(act)
    graph.add_edge(START, "plan").add_edge("plan", "act").add_edge("act", END)
    spy = Spy(checkpointer)
    app = graph.compile(interrupt_before=["act"], interrupt_after=["plan"])
    runner = GraphRunner(app, checkpointer=cast(Any, spy))

    async def go() -> list[Any]:
        ids = [(await runner.ainvoke({"decisions": []}, thread_id="nb")).interrupts[0].id]
        ids.append((await runner.aresume("nb")).interrupts[0].id)
        ids.append((await runner.aresume("nb")).interrupts[0].id)
        ids.append((await runner.aget_state("nb")).interrupts[0].id)
        done = await runner.ainvoke(Command(resume="yes"), thread_id="nb")
        return [*ids, done.state["decisions"]]

    assert asyncio.run(go()) == [
        "1:plan:after",
        "2:act:before",
        "2:act:0",
        "2:act:0",
        ["plan", "act yes"],
    ]
    assert spy.calls
    assert spy.blocking() == []


def test_a_breakpoint_on_an_unknown_node_is_a_validation_problem() -> None:
    graph = OrkesGraph(Order).add_node("plan", _says("plan"))
    graph.add_edge(START, "plan").add_edge("plan", END)
    with pytest.raises(
        GraphValidationError, match=r"compile\(interrupt_before=...\) names unknown node 'pla'"
    ):
        graph.compile(interrupt_before=["pla"])


def _says(name: str) -> Callable[[Order], Order]:
    return lambda state: {"decisions": [name]}


def test_a_corrected_state_goes_on_past_the_breakpoint(checkpointer: Checkpointer) -> None:
    graph = OrkesGraph(Order).add_node("plan", lambda s: {"amount": 999})
    graph.add_node("act", lambda s: {"decisions": [f"paid {s['amount']}"]})
    graph.add_edge(START, "plan").add_edge("plan", "act").add_edge("act", END)
    runner = GraphRunner(graph.compile(interrupt_before=["act"]), checkpointer=checkpointer)
    assert not runner.invoke({"decisions": []}, thread_id="c").done
    asyncio.run(runner.aupdate_state("c", {"amount": 99}))
    done = runner.resume("c")
    assert done.done
    assert done.state == {"amount": 99, "decisions": ["paid 99"]}


def test_an_interrupt_inside_a_subgraph_carries_its_path_and_gets_its_answer(
    drive: Drive, checkpointer: Checkpointer
) -> None:
    calls: list[str] = []

    def hold() -> str:
        calls.append("hold")
        return "h1"

    def ask(state: Order, ctx: RunContext) -> Order:
        receipt = ctx.once("hold", hold)
        return {"decisions": [f"{receipt}: {ctx.interrupt('inner?')}"]}

    inner = OrkesGraph(Order).add_node("prepare", _says("prepare")).add_node(ask)
    inner.add_edge(START, "prepare").add_edge("prepare", "ask").add_edge("ask", END)
    outer = OrkesGraph(Order).add_node("sub", inner.compile()).add_node("after", _says("after"))
    outer.add_edge(START, "sub").add_edge("sub", "after").add_edge("after", END)
    runner = GraphRunner(outer.compile(), checkpointer=checkpointer)
    paused = drive(runner, "nested", {"decisions": []})
    assert [(p.id, p.node, p.payload, p.path) for p in paused.interrupts] == [
        ("1:sub/2:ask:0", "ask", "inner?", ("sub",))
    ]
    done = drive(runner, "nested", answer="yes")
    assert done.done
    assert done.state["decisions"] == ["prepare", "h1: yes", "after"]
    assert calls == ["hold"]


def test_a_stream_shows_the_step_before_an_after_breakpoint(checkpointer: Checkpointer) -> None:
    graph = OrkesGraph(Order).add_node("plan", _says("plan")).add_node("act", _says("act"))
    graph.add_edge(START, "plan").add_edge("plan", "act").add_edge("act", END)
    runner = GraphRunner(graph.compile(interrupt_after=["plan"]), checkpointer=checkpointer)
    with runner.stream({"decisions": []}, thread_id="st", modes=("updates",)) as stream:
        kinds = [(event.kind, event.node) for event in stream]
    assert kinds == [("update", "plan"), ("interrupt", "plan")]

    async def consume() -> list[tuple[str, str]]:
        async with runner.astream({"decisions": []}, thread_id="st2") as events:
            return [(event.kind, event.node) async for event in events]

    assert asyncio.run(consume()) == [("update", "plan"), ("interrupt", "plan")]
