"""Runs with a thread: the state is kept between runs, every superstep is stored, and a
run that failed (or whose process died) resumes without running finished nodes again.

Every scenario runs on every back-end (the ``checkpointer`` fixture) and through both
drivers, sync (``invoke``) and async (``ainvoke``).
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Protocol, TypedDict, cast

import pytest

from orkes import END, START, GraphRunner, OrkesGraph, RunContext
from orkes.errors import (
    CheckpointConflict,
    CheckpointError,
    GraphDefinitionError,
    NodeError,
    RunStopped,
    SerializationError,
)
from orkes.events import Update
from orkes.graph.results import RunResult
from orkes.persistence.base import Checkpointer
from tests.persistence.spies import Spy


class Chat(TypedDict, total=False):
    """A conversation: messages gathered by a reducer, and a turn counter."""

    messages: Annotated[list[str], operator.add]
    turns: int


class Invoke(Protocol):
    """Runs ``runner`` on ``state`` in ``thread_id`` to its end (sync or async)."""

    def __call__(
        self, runner: GraphRunner[Any], state: Mapping[str, Any] | None, thread_id: str
    ) -> RunResult[Any]: ...


def invoke_sync(
    runner: GraphRunner[Any], state: Mapping[str, Any] | None, thread_id: str
) -> RunResult[Any]:
    return runner.invoke(state, thread_id=thread_id)


def invoke_async(
    runner: GraphRunner[Any], state: Mapping[str, Any] | None, thread_id: str
) -> RunResult[Any]:
    return asyncio.run(runner.ainvoke(state, thread_id=thread_id))


@pytest.fixture(params=["sync", "async"])
def invoke(request: pytest.FixtureRequest) -> Invoke:
    """Each scenario runs once with ``invoke`` and once with ``ainvoke``."""
    chosen: Invoke = invoke_sync if request.param == "sync" else invoke_async
    return chosen


def echo_bot() -> OrkesGraph[Chat]:
    """START -> reply -> END: answers the last message, counts the turns."""

    def reply(state: Chat) -> Chat:
        return {"messages": [f"echo: {state['messages'][-1]}"], "turns": state.get("turns", 0) + 1}

    graph = OrkesGraph(Chat).add_node(reply)
    return graph.add_edge(START, "reply").add_edge("reply", END)


def test_a_thread_remembers_the_conversation(invoke: Invoke, checkpointer: Checkpointer) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    first = invoke(runner, {"messages": ["hi"]}, "t1")
    assert first.state == {"messages": ["hi", "echo: hi"], "turns": 1}
    assert (first.done, first.thread_id, first.interrupts) == (True, "t1", ())
    second = invoke(runner, {"messages": ["again"]}, "t1")
    assert second.state == {
        "messages": ["hi", "echo: hi", "again", "echo: again"],
        "turns": 2,
    }
    other = invoke(runner, {"messages": ["new"]}, "t2")  # threads are apart
    assert other.state == {"messages": ["new", "echo: new"], "turns": 1}
    head = checkpointer.get("t1")
    assert head is not None
    assert head.checkpoint_id == second.checkpoint_id
    assert head.state == second.state


def test_every_superstep_is_a_checkpoint(invoke: Invoke, checkpointer: Checkpointer) -> None:
    graph = OrkesGraph(Chat).add_node("a", lambda s: {"messages": ["a"]})
    graph.add_node("b", lambda s: {"turns": 1}).add_edge(START, "a").add_edge("a", "b")
    runner = GraphRunner(graph.add_edge("b", END).compile(), checkpointer=checkpointer)
    result = invoke(runner, {"messages": []}, "t")
    history = list(checkpointer.list("t"))
    assert [(c.step, c.source, c.writers) for c in history] == [
        (2, "loop", ("b",)),
        (1, "loop", ("a",)),
        (0, "input", ()),
    ]
    assert [c.next_tasks for c in history] == [
        (),
        ({"node": "b", "index": -1},),
        ({"node": "a", "index": -1},),
    ]
    assert history[0].state == result.state == {"messages": ["a"], "turns": 1}
    assert [c.parent_id for c in history] == [
        history[1].checkpoint_id,
        history[2].checkpoint_id,
        None,
    ]
    # Only what changed is a new version: 'messages' was last written at step 1.
    assert history[0].versions["messages"] == history[1].checkpoint_id
    assert history[0].versions["turns"] == history[0].checkpoint_id


def test_a_step_of_one_task_is_one_write_and_parallel_tasks_are_kept_each(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    graph = OrkesGraph(Chat).add_node("a", lambda s: {"messages": ["a"]})
    graph.add_node("b", lambda s: {"messages": ["b"]}).add_node("c", lambda s: {"turns": 1})
    graph.add_node("d", lambda s: {"turns": 2}).add_edge(START, "a")
    graph.add_edge("a", "b").add_edge("a", "c").add_edge(["b", "c"], "d").add_edge("d", END)
    spy = Spy(checkpointer)
    runner = GraphRunner(graph.compile(), checkpointer=cast(Checkpointer, spy))
    result = invoke(runner, {"messages": []}, "t")
    assert result.state == {"messages": ["a", "b"], "turns": 2}
    # The input, then steps a, (b, c), d: one checkpoint each. Only the parallel step
    # keeps each task's writes as it finishes (its checkpoint waits for both).
    assert spy.count("put") + spy.count("aput") == 4
    kept = [call.removeprefix("a") for call in spy.calls if "put_writes" in call]
    assert kept == ["put_writes writes", "put_writes writes"]  # b's and c's


def test_two_workers_resuming_one_thread_one_proceeds_the_other_conflicts(
    checkpointer: Checkpointer,
) -> None:
    """Optimistic concurrency on the checkpoint a run started from: no step runs twice
    into the thread's line, and the loser is told, having written no checkpoint (it stops
    at its answer, or at its checkpoint if the winner's answer was already kept)."""
    start_together = threading.Barrier(2, timeout=10)
    ran: list[str] = []

    def slow(state: Chat) -> Chat:
        ran.append("slow")
        time.sleep(0.05)  # both workers overlap
        return {"messages": ["worked"]}

    graph = OrkesGraph(Chat).add_node("first", lambda s: {"turns": 1}).add_node(slow)
    graph.add_edge(START, "first").add_edge("first", "slow").add_edge("slow", END)
    runner = GraphRunner(graph.compile(interrupt_before=["slow"]), checkpointer=checkpointer)
    runner.invoke({"messages": []}, thread_id="shared")  # paused before 'slow'
    outcomes: list[object] = []

    def worker() -> None:
        start_together.wait()
        try:
            outcomes.append(runner.resume("shared").state)
        except CheckpointConflict as conflict:
            outcomes.append(conflict)

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    conflicts = [o for o in outcomes if isinstance(o, CheckpointConflict)]
    finished = [o for o in outcomes if not isinstance(o, CheckpointConflict)]
    assert len(conflicts) == 1
    assert "another worker" in str(conflicts[0])
    assert finished == [{"messages": ["worked"], "turns": 1}]
    assert 1 <= len(ran) <= 2
    history = runner.history("shared")
    assert [(snapshot.step, snapshot.writers) for snapshot in history] == [
        (2, ("slow",)),
        (1, ("first",)),
        (0, ()),
    ]


def test_two_people_answering_one_interrupt_keep_the_answer_that_was_acted_on(
    checkpointer: Checkpointer,
) -> None:
    start_together = threading.Barrier(2, timeout=10)

    def review(state: Chat, ctx: RunContext) -> Chat:
        answer = ctx.interrupt("ship it?")
        time.sleep(0.05)
        return {"messages": [f"answered {answer}"]}

    graph = OrkesGraph(Chat).add_node(review).add_edge(START, "review").add_edge("review", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    paused = runner.invoke({"messages": []}, thread_id="q")
    outcomes: list[object] = []

    def person(answer: str) -> None:
        start_together.wait()
        try:
            outcomes.append(runner.resume("q", answer).state)
        except CheckpointConflict as conflict:
            outcomes.append(conflict)

    people = [threading.Thread(target=person, args=(said,)) for said in ("yes", "no")]
    for thread in people:
        thread.start()
    for thread in people:
        thread.join()
    finished = [o for o in outcomes if not isinstance(o, CheckpointConflict)]
    assert len(finished) == 1
    assert len(outcomes) == 2
    acted_on = finished[0]["messages"][0].removeprefix("answered ")  # type: ignore[index]
    kept = [
        dict(write.writes)["value"]
        for write in checkpointer.get_writes("q", str(paused.checkpoint_id))
        if write.kind.startswith("answer:")
    ]
    assert kept == [acted_on]


def test_a_failed_run_resumes_without_running_finished_nodes_again(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    calls: list[str] = []
    broken = [True]
    lock = threading.Lock()

    def counted(name: str, fail: Callable[[], bool] = lambda: False) -> Any:
        def node(state: Chat) -> Chat:
            with lock:
                calls.append(name)
            if fail():
                raise ConnectionError(f"{name} is down")
            return {"messages": [name]}

        return node

    graph = OrkesGraph(Chat).add_node("first", counted("first"))
    graph.add_node("fine", counted("fine")).add_node("flaky", counted("flaky", lambda: broken[0]))
    graph.add_node("last", counted("last")).add_edge(START, "first")
    graph.add_edge("first", "fine").add_edge("first", "flaky")
    graph.add_edge(["fine", "flaky"], "last").add_edge("last", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    with pytest.raises(NodeError, match="flaky is down"):
        invoke(runner, {"messages": []}, "job")
    assert sorted(calls) == ["fine", "first", "flaky"]
    broken[0] = False
    result = invoke(runner, None, "job")  # resume: only 'flaky' runs again, then 'last'
    assert sorted(calls) == ["fine", "first", "flaky", "flaky", "last"]
    assert result.state == {"messages": ["first", "fine", "flaky", "last"]}
    assert result.done
    uninterrupted = GraphRunner(graph.compile()).run({"messages": []})
    assert result.state == uninterrupted


def test_resuming_what_has_nothing_pending_is_refused(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    with pytest.raises(CheckpointError, match="thread 'nobody' has no checkpoint"):
        invoke(runner, None, "nobody")
    invoke(runner, {"messages": ["hi"]}, "done")
    with pytest.raises(CheckpointError, match="thread 'done' has nothing pending"):
        invoke(runner, None, "done")


def test_threads_and_checkpointers_go_together(checkpointer: Checkpointer) -> None:
    with pytest.raises(GraphDefinitionError, match="give each run a thread_id="):
        GraphRunner(echo_bot().compile(), checkpointer=checkpointer).run({"messages": ["x"]})
    with pytest.raises(GraphDefinitionError, match="thread_id='t' needs a checkpointer"):
        GraphRunner(echo_bot().compile()).run({"messages": ["x"]}, thread_id="t")
    with pytest.raises(GraphDefinitionError, match="checkpointer= takes a Checkpointer"):
        GraphRunner(echo_bot().compile(), checkpointer="runs.db")  # type: ignore[arg-type]


def test_run_and_stream_keep_the_thread_too(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    assert runner.run({"messages": ["one"]}, thread_id="s")["turns"] == 1
    with runner.stream({"messages": ["two"]}, thread_id="s") as stream:
        events = list(stream)
    assert events == [Update("reply", {"messages": ["echo: two"], "turns": 2}, step=1)]
    assert stream.result["messages"] == ["one", "echo: one", "two", "echo: two"]

    async def astreamed() -> dict[str, Any]:
        async with runner.astream({"messages": ["three"]}, thread_id="s") as events:
            async for _ in events:
                pass
        return dict(events.result)

    assert asyncio.run(astreamed())["turns"] == 3
    head = checkpointer.get("s")
    assert head is not None
    assert head.state["turns"] == 3


def test_async_runs_on_a_thread_never_block_the_event_loop(checkpointer: Checkpointer) -> None:
    spy = Spy(checkpointer)
    runner = GraphRunner(echo_bot().compile(), checkpointer=cast(Checkpointer, spy))

    async def conversation() -> list[Any]:
        first = await runner.ainvoke({"messages": ["one"]}, thread_id="a")
        async with runner.astream({"messages": ["two"]}, thread_id="a") as stream:
            events = [event async for event in stream]
        snapshots = await runner.ahistory("a")
        return [first.state["turns"], events, stream.result["turns"], len(snapshots)]

    turns, events, last, kept = asyncio.run(conversation())
    assert (turns, last, kept) == (1, 2, 4)
    assert events == [Update("reply", {"messages": ["echo: two"], "turns": 2}, step=1)]
    assert spy.calls
    assert spy.blocking() == []


def test_an_async_stream_closed_before_its_thread_opened_has_no_result(
    checkpointer: Checkpointer,
) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)

    async def closed_at_once() -> None:
        stream = runner.astream({"messages": ["x"]}, thread_id="c")
        await stream.aclose()
        with pytest.raises(RunStopped, match="before the run ended"):
            _ = stream.result

    asyncio.run(closed_at_once())
    assert checkpointer.get("c") is None  # nothing was written
    with pytest.raises(GraphDefinitionError, match="needs a checkpointer"):  # checked at once
        GraphRunner(echo_bot().compile()).astream({"messages": ["x"]}, thread_id="c")


def test_a_thread_from_a_graph_with_other_keys_is_refused(checkpointer: Checkpointer) -> None:
    class Other(TypedDict, total=False):
        messages: Annotated[list[str], operator.add]
        mood: str

    other = OrkesGraph(Other).add_node("feel", lambda s: {"mood": "fine"})
    other_runner = GraphRunner(
        other.add_edge(START, "feel").add_edge("feel", END).compile(), checkpointer=checkpointer
    )
    other_runner.run({"messages": []}, thread_id="shared")
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    with pytest.raises(CheckpointError, match="keys 'mood', which this graph's state Chat lacks"):
        runner.run({"messages": ["hi"]}, thread_id="shared")


def counter_chain() -> OrkesGraph[Chat]:
    """START -> a -> b -> c -> END; each appends its name."""

    def says(name: str) -> Callable[[Chat], Chat]:
        return lambda state: {"messages": [name]}

    graph = OrkesGraph(Chat)
    for name in "abc":
        graph.add_node(name, says(name))
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    return graph.add_edge("c", END)


def test_history_lists_snapshots_newest_first(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(counter_chain().compile(), checkpointer=checkpointer)
    runner.run({"messages": []}, thread_id="h")
    history = runner.history("h")
    assert [(s.step, s.source, s.writers, s.next) for s in history] == [
        (3, "loop", ("c",), ()),
        (2, "loop", ("b",), ("c",)),
        (1, "loop", ("a",), ("b",)),
        (0, "input", (), ("a",)),
    ]
    assert [s.state["messages"] for s in history][1] == ["a", "b"]
    assert runner.get_state("h") == history[0]
    assert runner.get_state("h", history[2].checkpoint_id) == history[2]
    assert len(runner.history("h", limit=2)) == 2
    with pytest.raises(CheckpointError, match="thread 'h' has no such checkpoint"):
        runner.get_state("h", "f" * 32)
    assert asyncio.run(runner.aget_state("h")) == history[0]
    assert asyncio.run(runner.ahistory("h")) == history


def test_history_filters_where_runs_began(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    for word in ("one", "two"):
        runner.run({"messages": [word]}, thread_id="h")
    began = runner.history("h", filter={"source": "input"})
    assert [snapshot.state["messages"][-1] for snapshot in began] == ["two", "one"]
    assert len(asyncio.run(runner.ahistory("h", filter={"step": 1}))) == 2


def test_a_fork_goes_on_from_an_old_checkpoint_as_a_new_branch(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    runner = GraphRunner(counter_chain().compile(), checkpointer=checkpointer)
    runner.run({"messages": []}, thread_id="f")
    after_a = runner.history("f")[2]
    assert after_a.next == ("b",)
    runner.update_state("f", {"messages": ["edited"]})  # the head moves on meanwhile
    fork = (
        runner.invoke(None, thread_id="f", checkpoint_id=after_a.checkpoint_id)
        if invoke is invoke_sync
        else asyncio.run(runner.ainvoke(None, thread_id="f", checkpoint_id=after_a.checkpoint_id))
    )
    assert fork.state == {"messages": ["a", "b", "c"]}
    history = runner.history("f")
    assert history[0].checkpoint_id == fork.checkpoint_id
    forked = history[2]  # the branch starts at a copy of the old checkpoint
    assert (forked.source, forked.parent_id, forked.step) == ("fork", after_a.checkpoint_id, 1)
    assert (forked.state, forked.next) == (after_a.state, after_a.next)
    assert history[1].parent_id == forked.checkpoint_id
    old_head = runner.get_state("f", history[3].checkpoint_id)
    assert old_head.source == "update"  # the other branch stays readable
    assert old_head.state["messages"] == ["a", "b", "c", "edited"]


def test_a_fork_runs_again_what_followed_its_checkpoint(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    """The writes the old branch kept for the step after the fork's checkpoint are that
    branch's: a fork runs the step again (a parallel step too), as LangGraph's does."""
    calls: list[str] = []
    lock = threading.Lock()

    def says(name: str) -> Callable[[Chat], Chat]:
        def node(state: Chat) -> Chat:
            with lock:
                calls.append(name)
            return {"messages": [name]}

        return node

    graph = OrkesGraph(Chat).add_node("a", says("a")).add_node("b", says("b"))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    invoke(runner, {"messages": [], "turns": 0}, "p")
    began = runner.history("p")[-1]
    assert began.next == ("a", "b")
    calls.clear()
    fork = (
        runner.invoke(None, thread_id="p", checkpoint_id=began.checkpoint_id)
        if invoke is invoke_sync
        else asyncio.run(runner.ainvoke(None, thread_id="p", checkpoint_id=began.checkpoint_id))
    )
    assert sorted(calls) == ["a", "b"]
    assert fork.state == {"messages": ["a", "b"], "turns": 0}
    assert runner.history("p")[1].source == "fork"


def test_update_state_as_a_node_goes_on_along_its_edges(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(counter_chain().compile(), checkpointer=checkpointer)
    runner.run({"messages": []}, thread_id="u")
    new_id = runner.update_state("u", {"messages": ["from a again"]}, as_node="a")
    snapshot = runner.get_state("u")
    assert (snapshot.checkpoint_id, snapshot.source, snapshot.writers, snapshot.next) == (
        new_id,
        "update",
        ("a",),
        ("b",),
    )
    result = runner.resume("u")
    assert result.state["messages"] == ["a", "b", "c", "from a again", "b", "c"]
    with pytest.raises(GraphDefinitionError, match="as_node='zzz'"):
        runner.update_state("u", {}, as_node="zzz")
    asyncio.run(runner.aupdate_state("u", {"turns": 5}))
    assert runner.get_state("u").state["turns"] == 5


def test_delete_thread_forgets_it(checkpointer: Checkpointer) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    runner.run({"messages": ["hi"]}, thread_id="d")
    runner.delete_thread("d")
    assert runner.history("d") == []
    with pytest.raises(CheckpointError, match="thread 'd' has no such checkpoint"):
        runner.get_state("d")
    assert runner.run({"messages": ["anew"]}, thread_id="d")["turns"] == 1
    asyncio.run(runner.adelete_thread("d"))
    assert runner.history("d") == []


def test_prune_keeps_history_from_growing_and_never_loses_the_head(
    checkpointer: Checkpointer,
) -> None:
    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer)
    for word in ("one", "two", "three"):
        runner.run({"messages": [word]}, thread_id="long")
    runner.run({"messages": ["x"]}, thread_id="other")
    assert len(runner.history("long")) == 6  # input and reply, per run
    assert runner.prune("long", keep_last=2) == 4
    assert [s.step for s in runner.history("long")] == [1, 0]
    assert runner.get_state("long").state["turns"] == 3
    assert asyncio.run(runner.aprune(older_than=timedelta(0))) == 2  # every thread's old ones
    assert [len(runner.history(t)) for t in ("long", "other")] == [1, 1]
    assert runner.run({"messages": ["four"]}, thread_id="long")["turns"] == 4


def test_a_runner_without_a_checkpointer_keeps_no_threads() -> None:
    runner = GraphRunner(echo_bot().compile())
    with pytest.raises(GraphDefinitionError, match="this runner keeps no threads"):
        runner.history("t")
    assert runner.invoke({"messages": ["x"]}) == RunResult(
        {"messages": ["x", "echo: x"], "turns": 1}, True
    )


def test_a_value_that_cannot_be_stored_fails_the_step_naming_key_and_node(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    class Handle:
        pass

    graph = OrkesGraph(Chat).add_node("open", lambda s: {"messages": [Handle()]})
    runner = GraphRunner(graph.add_edge(START, "open").add_edge("open", END).compile(),
                         checkpointer=checkpointer)  # fmt: skip
    with pytest.raises(
        SerializationError, match="key 'messages' written by 'open' in thread 'bad' holds a"
    ) as e:
        invoke(runner, {"messages": []}, "bad")
    assert (e.value.key, e.value.node, e.value.at) == ("messages", "open", "[0]")
    assert (e.value.thread_id, e.value.type_name.endswith("Handle")) == ("bad", True)
    head = checkpointer.get("bad")
    assert head is not None
    assert (head.source, head.next_tasks) == ("input", ({"node": "open", "index": -1},))


def test_what_cannot_be_stored_in_a_parallel_step_or_by_once_is_named_with_its_thread(
    invoke: Invoke, checkpointer: Checkpointer
) -> None:
    class Handle:
        pass

    def grab(state: Chat, ctx: RunContext) -> Chat:
        ctx.once("handle", Handle)
        return {}

    graph = OrkesGraph(Chat).add_node("fine", lambda s: {"turns": 1})
    graph.add_node("open", lambda s: {"messages": [Handle()]}).add_node(grab)
    graph.add_edge(START, "fine").add_edge(START, "open").add_edge("fine", END)
    graph.add_edge("open", "grab").add_edge("grab", END)
    runner = GraphRunner(graph.compile(), checkpointer=checkpointer)
    with pytest.raises(
        SerializationError, match="key 'messages' written by 'open' in thread 'par'"
    ) as e:
        invoke(runner, {"messages": []}, "par")
    assert (e.value.key, e.value.node, e.value.thread_id) == ("messages", "open", "par")
    head = runner.get_state("par")  # nothing half-written: the thread stands at its input
    assert (head.source, head.next) == ("input", ("fine", "open"))
    kept = checkpointer.get_writes("par", head.checkpoint_id)
    assert [(write.node, dict(write.writes)) for write in kept] == [("fine", {"turns": 1})]

    runner.update_state("par", {"messages": ["fixed"]}, as_node="open")
    with pytest.raises(NodeError, match=r"the result of ctx.once\('handle'\) in node 'grab' of "
                       "thread 'par' holds a") as failed:  # fmt: skip
        invoke(runner, None, "par")
    cause = failed.value.__cause__
    assert isinstance(cause, SerializationError)
    assert (cause.key, cause.node, cause.thread_id) == (None, "grab", "par")


def test_upgrade_carries_a_thread_from_an_older_graph(checkpointer: Checkpointer) -> None:
    class Old(TypedDict, total=False):
        messages: Annotated[list[str], operator.add]
        mood: str

    old = OrkesGraph(Old).add_node("feel", lambda s: {"mood": "fine"})
    GraphRunner(
        old.add_edge(START, "feel").add_edge("feel", END).compile(), checkpointer=checkpointer
    ).run({"messages": ["hi"]}, thread_id="old")

    def upgrade(stored: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [*stored["messages"], f"(mood was {stored.pop('mood')})"]}

    runner = GraphRunner(echo_bot().compile(), checkpointer=checkpointer, upgrade=upgrade)
    result = runner.run({"messages": ["again"]}, thread_id="old")
    assert result["messages"] == ["hi", "(mood was fine)", "again", "echo: again"]
    first_new = runner.history("old")[1]
    assert first_new.source == "input"
    stored = checkpointer.get("old", first_new.checkpoint_id)
    assert stored is not None
    assert stored.metadata == {"upgraded_from": ["messages", "mood"]}
    assert "mood" not in stored.state

    def broken(stored: dict[str, Any]) -> dict[str, Any]:
        return {"mood": "kept"}

    checkpointer.delete_thread("old")
    GraphRunner(
        old.compile(), checkpointer=checkpointer
    ).run({"messages": []}, thread_id="old")  # fmt: skip
    with pytest.raises(CheckpointError, match="upgrade= gave thread 'old' the key 'mood'"):
        GraphRunner(echo_bot().compile(), checkpointer=checkpointer, upgrade=broken).run(
            {"messages": ["x"]}, thread_id="old"
        )
    with pytest.raises(GraphDefinitionError, match="upgrade= takes a function"):
        GraphRunner(echo_bot().compile(), upgrade="nope")  # type: ignore[arg-type]
