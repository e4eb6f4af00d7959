"""A tracer records each run: steps, tasks, gates, retries, failures, subgraphs, threads.

Every scenario runs through both drivers (``run``/``invoke``/``resume`` and their async
twins) and must give the same trace.
"""

from __future__ import annotations

import asyncio
import operator
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import pytest

from orkes import (
    END,
    START,
    CachePolicy,
    GraphRunner,
    OrkesGraph,
    RetryPolicy,
    RunContext,
    Send,
)
from orkes.errors import GraphDefinitionError, NodeError, RunStopped
from orkes.persistence import MemoryCheckpointer
from orkes.tracing import Trace, Tracer
from tests.tracing.drivers import Driver


class State(TypedDict, total=False):
    """What the scenarios work on: a counter, a log merged by a reducer, some text."""

    n: int
    log: Annotated[list[str], operator.add]
    text: str


def bump(state: State) -> dict[str, int]:
    return {"n": state["n"] + 1}


def double(state: State) -> dict[str, int]:
    return {"n": state["n"] * 2}


def chain(*nodes: Any, name: str | None = None) -> GraphRunner[State]:
    graph = OrkesGraph(State, name=name)
    names = []
    for node in nodes:
        graph.add_node(node)
        names.append(node.__name__)
    for source, target in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(source, target)
    return GraphRunner(graph.compile())


def only(tracer: Tracer) -> Trace:
    """The one trace the tracer holds."""
    assert len(tracer.traces) == 1
    last = tracer.last
    assert last is not None
    return last


def test_a_chain_is_recorded_step_by_step(driver: Driver, tracer: Tracer) -> None:
    runner = chain(bump, double, name="arith")
    assert driver.run(runner, {"n": 1}, tracer) == {"n": 4}
    trace = only(tracer)
    assert (trace.graph, trace.status, trace.state, trace.error) == (
        "arith",
        "done",
        {"n": 4},
        None,
    )
    assert len(trace.run_id) == 32
    assert trace.thread_id is None
    assert trace.path == ()
    assert [step.step for step in trace.steps] == [1, 2]
    first, second = trace.tasks
    assert (first.node, first.task_id, first.attempt, first.input_keys) == (
        "bump",
        "1:bump",
        1,
        ("n",),
    )
    assert (first.update, second.update) == ({"n": 2}, {"n": 4})
    assert not first.cached
    assert first.error is None
    assert first.llm_calls == ()
    # Times are in order, inside the run's, in seconds since the epoch.
    assert trace.started <= first.started <= first.ended <= second.started <= second.ended
    assert second.ended <= trace.ended
    assert trace.started > 1.6e9
    assert trace.steps[0].started == first.started
    assert trace.seconds >= 0


def test_input_keys_are_the_keys_the_task_was_given(driver: Driver, tracer: Tracer) -> None:
    def write(state: State) -> dict[str, str]:
        return {"text": "written"}

    driver.run(chain(write, bump), {"n": 0}, tracer)
    write_task, bump_task = only(tracer).tasks
    assert write_task.input_keys == ("n",)
    assert bump_task.input_keys == ("n", "text")


def test_a_parallel_step_holds_every_task_in_merge_order(driver: Driver, tracer: Tracer) -> None:
    def left(state: State) -> dict[str, list[str]]:
        return {"log": ["left"]}

    def right(state: State) -> dict[str, list[str]]:
        return {"log": ["right"]}

    graph = OrkesGraph(State).add_node(bump).add_node(right).add_node(left)
    graph.add_edge(START, "bump").add_edge("bump", "right").add_edge("bump", "left")
    graph.add_edge("left", END).add_edge("right", END)
    assert driver.run(GraphRunner(graph.compile()), {"n": 0, "log": []}, tracer)["log"] == [
        "left",
        "right",
    ]
    trace = only(tracer)
    assert [[task.node for task in step.tasks] for step in trace.steps] == [
        ["bump"],
        ["left", "right"],
    ]
    assert [task.update for task in trace.steps[1].tasks] == [{"log": ["left"]}, {"log": ["right"]}]


def test_a_gate_decision_says_what_it_returned_and_where_it_led(
    driver: Driver, tracer: Tracer
) -> None:
    def route(state: State) -> Literal["again", "done"]:
        return "again" if state["n"] < 2 else "done"

    graph = OrkesGraph(State).add_node(bump).add_edge(START, "bump")
    graph.add_conditional_edge("bump", route, {"again": "bump", "done": END})
    driver.run(GraphRunner(graph.compile()), {"n": 0}, tracer)
    trace = only(tracer)
    decisions = [
        (g.gate, g.source, g.value, g.led_to, g.step) for s in trace.steps for g in s.gates
    ]
    assert decisions == [
        ("route", "bump", "again", ("bump",), 1),
        ("route", "bump", "done", (), 2),  # () is END
    ]


def test_a_send_fan_out_records_one_task_per_send(driver: Driver, tracer: Tracer) -> None:
    def spread(state: State) -> list[Send]:
        return [Send("work", {"item": f"#{i}"}) for i in range(3)]

    def work(arg: Any) -> dict[str, list[str]]:
        return {"log": [arg["item"]]}

    graph = OrkesGraph(State).add_node("work", work)
    graph.add_conditional_edge(START, spread).add_edge("work", END)
    assert driver.run(GraphRunner(graph.compile()), {"log": []}, tracer) == {
        "log": ["#0", "#1", "#2"]
    }
    trace = only(tracer)
    start, fan = trace.steps
    assert start.step == 0
    assert start.tasks == ()
    (gate,) = start.gates
    assert (gate.gate, gate.source, gate.led_to) == ("spread", "START", ("work", "work", "work"))
    assert [value.type for value in gate.value] == ["orkes.graph.routing.Send"] * 3
    assert [(t.task_id, t.input_keys, t.update) for t in fan.tasks] == [
        ("1:work#0", ("item",), {"log": ["#0"]}),
        ("1:work#1", ("item",), {"log": ["#1"]}),
        ("1:work#2", ("item",), {"log": ["#2"]}),
    ]


def test_each_attempt_of_a_retried_task_is_recorded(driver: Driver, tracer: Tracer) -> None:
    calls: list[int] = []

    def flaky(state: State) -> dict[str, int]:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)} failed")
        return {"n": 7}

    retry = RetryPolicy(max_attempts=3, initial_delay=0.001, jitter=False)
    graph = OrkesGraph(State).add_node(flaky, retry=retry)
    runner = GraphRunner(graph.add_edge(START, "flaky").add_edge("flaky", END).compile())
    assert driver.run(runner, {"n": 0}, tracer) == {"n": 7}
    attempts = only(tracer).tasks
    assert [(t.attempt, t.update) for t in attempts] == [(1, None), (2, None), (3, {"n": 7})]
    assert [t.error.message if t.error else None for t in attempts] == [
        "try 1 failed",
        "try 2 failed",
        None,
    ]
    assert attempts[0].ended <= attempts[1].started  # the retry waited


def test_a_failing_node_keeps_its_traceback_and_its_trace_is_written(
    driver: Driver, tmp_path: Path
) -> None:
    def explode(state: State) -> dict[str, int]:
        raise ValueError(f"cannot handle {state['n']}")

    tracer = Tracer(tmp_path)
    with pytest.raises(NodeError, match="cannot handle 3"):
        driver.run(chain(bump, explode), {"n": 2}, tracer)
    trace = only(tracer)
    assert trace.status == "failed"
    assert trace.state == {"n": 3}  # as it stood before the failing step
    assert trace.error is not None
    assert trace.error.type == "orkes.errors.NodeError"
    failed = trace.tasks[-1]
    assert failed.node == "explode"
    assert failed.update is None
    assert failed.error is not None
    assert failed.error.type == "ValueError"
    assert failed.error.message == "cannot handle 3"
    assert "in explode" in failed.error.traceback
    assert 'raise ValueError(f"cannot handle' in failed.error.traceback
    (written,) = tmp_path.glob("*.json")
    assert Trace.from_json(written) == trace


def test_a_failing_async_node_is_recorded_too(tracer: Tracer) -> None:
    async def sulk(state: State) -> dict[str, int]:
        raise KeyError("missing")

    with pytest.raises(NodeError):
        asyncio.run(chain(bump, sulk).arun({"n": 0}, tracer=tracer))
    failed = only(tracer).tasks[-1]
    assert failed.error is not None
    assert failed.error.type == "KeyError"
    assert "in sulk" in failed.error.traceback


def test_a_task_cut_short_by_a_failing_async_sibling_says_so(tracer: Tracer) -> None:
    async def sulk(state: State) -> dict[str, int]:
        await asyncio.sleep(0.01)
        raise KeyError("missing")

    async def dawdle(state: State) -> dict[str, int]:
        await asyncio.sleep(5)
        return {"n": 1}

    graph = OrkesGraph(State).add_node(sulk).add_node(dawdle)
    graph.add_edge(START, "sulk").add_edge(START, "dawdle")
    graph.add_edge("sulk", END).add_edge("dawdle", END)
    with pytest.raises(NodeError):
        asyncio.run(graph.compile().arun({"n": 0}, tracer=tracer))
    cut = next(task for task in only(tracer).tasks if task.node == "dawdle")
    assert cut.error is not None
    assert cut.error.type == "asyncio.exceptions.CancelledError"
    assert "the run ended while this task ran" in cut.error.message
    assert cut.seconds >= 0.005  # it ran until its sibling failed, not for no time at all


def test_a_cancelled_run_marks_the_tasks_it_cut_short(tracer: Tracer) -> None:
    async def dawdle(state: State) -> dict[str, int]:
        await asyncio.sleep(5)
        return {"n": 1}

    async def cancel_soon() -> None:
        running = asyncio.ensure_future(chain(dawdle).arun({"n": 0}, tracer=tracer))
        await asyncio.sleep(0.02)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(cancel_soon())
    trace = only(tracer)
    assert trace.status == "stopped"
    (cut,) = trace.tasks
    assert cut.error is not None
    assert cut.error.type == "asyncio.exceptions.CancelledError"
    assert cut.seconds >= 0.01


def test_a_bad_update_fails_the_task_in_the_trace(driver: Driver, tracer: Tracer) -> None:
    def stray(state: State) -> dict[str, int]:
        return {"nope": 1}

    with pytest.raises(Exception, match="nope"):
        driver.run(chain(stray), {"n": 0}, tracer)
    trace = only(tracer)
    assert trace.status == "failed"
    assert trace.error is not None
    assert trace.error.type == "orkes.errors.StateError"
    assert "'nope'" in trace.error.message
    (task,) = trace.tasks  # it ran and returned: the failure is the step's
    assert (task.node, task.error, task.update) == ("stray", None, None)


def test_a_subgraph_run_nests_in_its_node_with_its_path(driver: Driver, tracer: Tracer) -> None:
    inner = chain(bump, double, name="inner").compiled
    outer = OrkesGraph(State, name="outer").add_node("sub", inner).add_node(bump)
    outer.add_edge(START, "bump").add_edge("bump", "sub").add_edge("sub", END)
    assert driver.run(GraphRunner(outer.compile()), {"n": 0}, tracer) == {"n": 4}
    trace = only(tracer)
    sub_task = trace.tasks[1]
    assert sub_task.node == "sub"
    assert sub_task.update == {"n": 4}
    (nested,) = sub_task.subgraphs
    assert (nested.graph, nested.path, nested.status) == ("inner", ("sub",), "done")
    assert [(t.node, t.path, t.update) for t in nested.tasks] == [
        ("bump", ("sub",), {"n": 2}),
        ("double", ("sub",), {"n": 4}),
    ]
    assert nested.run_id != trace.run_id
    assert [t.run_id for t in trace.walk()] == [trace.run_id, nested.run_id]


def test_a_run_started_inside_a_plain_node_nests_too(driver: Driver, tracer: Tracer) -> None:
    inner = chain(double, name="helper").compiled

    def delegate(state: State) -> dict[str, int]:
        return {"n": inner.run({"n": state["n"]})["n"]}

    driver.run(chain(bump, delegate), {"n": 1}, tracer)
    (nested,) = only(tracer).tasks[1].subgraphs
    assert (nested.graph, nested.path, nested.state) == ("helper", ("delegate",), {"n": 4})


def test_a_cached_task_is_recorded_as_not_called(driver: Driver, tracer: Tracer) -> None:
    graph = OrkesGraph(State).add_node(bump, cache=CachePolicy())
    runner = GraphRunner(graph.add_edge(START, "bump").add_edge("bump", END).compile())
    driver.run(runner, {"n": 5}, tracer)
    driver.run(runner, {"n": 5}, tracer)
    first, second = (trace.tasks[0] for trace in tracer.traces)
    assert (first.cached, first.attempt, first.update) == (False, 1, {"n": 6})
    assert (second.cached, second.attempt, second.update) == (True, 0, {"n": 6})


def test_a_durable_run_records_its_checkpoints_and_its_interrupt(
    driver: Driver, tracer: Tracer
) -> None:
    def ask(state: State, ctx: RunContext) -> dict[str, str]:
        return {"text": f"approved: {ctx.interrupt({'question': 'go on?'})}"}

    graph = OrkesGraph(State).add_node(bump).add_node(ask)
    graph.add_edge(START, "bump").add_edge("bump", "ask").add_edge("ask", END)
    runner = GraphRunner(graph.compile(), checkpointer=MemoryCheckpointer())
    paused = driver.invoke(runner, {"n": 0}, tracer, "t-1")
    assert not paused.done
    first = only(tracer)
    assert (first.status, first.thread_id, first.error) == ("paused", "t-1", None)
    (interrupt,) = first.interrupts
    assert (interrupt.node, interrupt.payload, interrupt.step) == ("ask", {"question": "go on?"}, 2)
    assert interrupt.id == paused.interrupts[0].id
    asked = first.tasks[-1]
    assert (asked.node, asked.interrupted, asked.update) == ("ask", True, None)

    done = driver.resume(runner, "t-1", "yes", tracer)
    assert done.done
    assert done.state["text"] == "approved: yes"
    second = tracer.traces[1]
    assert (second.status, second.interrupts, second.thread_id) == ("done", (), "t-1")
    assert [t.update for t in second.tasks] == [{"text": "approved: yes"}]
    history = [snapshot.checkpoint_id for snapshot in reversed(runner.history("t-1"))]
    written = [c.checkpoint_id for trace in tracer.traces for c in trace.checkpoints]
    assert written == history  # every checkpoint of the thread, each by the run that wrote it
    assert [c.step for c in first.checkpoints] == [0, 1]


def test_a_pause_inside_a_subgraph_shows_in_both_traces(driver: Driver, tracer: Tracer) -> None:
    def ask(state: State, ctx: RunContext) -> dict[str, str]:
        return {"text": str(ctx.interrupt("ok?"))}

    inner = OrkesGraph(State, name="inner").add_node(ask)
    inner_app = inner.add_edge(START, "ask").add_edge("ask", END).compile()
    outer = OrkesGraph(State).add_node("sub", inner_app).add_edge(START, "sub").add_edge("sub", END)
    runner = GraphRunner(outer.compile(), checkpointer=MemoryCheckpointer())
    driver.invoke(runner, {"text": ""}, tracer, "t-2")
    trace = only(tracer)
    (interrupt,) = trace.interrupts
    assert (trace.status, interrupt.node, interrupt.path, interrupt.payload) == (
        "paused",
        "ask",
        ("sub",),
        "ok?",
    )
    (sub_task,) = trace.tasks
    assert sub_task.interrupted
    (nested,) = sub_task.subgraphs
    assert (nested.status, nested.path) == ("paused", ("sub",))
    assert [(i.node, i.path) for i in nested.interrupts] == [("ask", ("sub",))]
    driver.resume(runner, "t-2", "yes", tracer)
    assert tracer.traces[1].state == {"text": "yes"}


def test_a_breakpoint_is_recorded_as_a_pause(driver: Driver, tracer: Tracer) -> None:
    graph = OrkesGraph(State).add_node(bump).add_node(double)
    graph.add_edge(START, "bump").add_edge("bump", "double").add_edge("double", END)
    runner = GraphRunner(
        graph.compile(interrupt_before=["double"]), checkpointer=MemoryCheckpointer()
    )
    driver.invoke(runner, {"n": 1}, tracer, "t-3")
    driver.invoke(runner, None, tracer, "t-3")
    paused, done = tracer.traces
    assert [(i.id, i.node) for i in paused.interrupts] == [("2:double:before", "double")]
    assert [t.node for t in paused.tasks] == ["bump"]
    assert (done.status, [t.node for t in done.tasks], done.state) == ("done", ["double"], {"n": 4})


def test_a_runners_tracer_records_every_run_and_a_runs_own_wins(driver: Driver) -> None:
    everyday, special = Tracer(), Tracer()
    runner = GraphRunner(chain(bump).compiled, tracer=everyday)
    driver.run(runner, {"n": 0}, everyday)
    runner.run({"n": 10})
    asyncio.run(runner.arun({"n": 20}))
    driver.run(runner, {"n": 30}, special)
    assert [trace.state for trace in everyday.traces] == [{"n": 1}, {"n": 11}, {"n": 21}]
    assert [trace.state for trace in special.traces] == [{"n": 31}]


def test_a_compiled_graphs_shortcuts_take_a_tracer(tracer: Tracer) -> None:
    app = chain(bump).compiled
    app.run({"n": 0}, tracer=tracer)
    asyncio.run(app.arun({"n": 1}, tracer=tracer))
    assert list(app.stream({"n": 2}, tracer=tracer))
    assert [trace.state for trace in tracer.traces] == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("modes", [("updates",), ("updates", "tasks", "custom")])
def test_a_stream_is_traced_like_a_run(tracer: Tracer, modes: tuple[str, ...]) -> None:
    runner = chain(bump, double)
    with runner.stream({"n": 1}, modes=modes, tracer=tracer) as stream:  # type: ignore[arg-type]
        events = list(stream)
    assert stream.result == {"n": 4}
    assert events
    assert [(t.node, t.update) for t in only(tracer).tasks] == [
        ("bump", {"n": 2}),
        ("double", {"n": 4}),
    ]


def test_an_async_stream_is_traced(tracer: Tracer) -> None:
    async def consume() -> list[Any]:
        return [event async for event in chain(bump).astream({"n": 1}, tracer=tracer)]

    assert len(asyncio.run(consume())) == 1
    assert only(tracer).status == "done"


def test_a_stream_closed_early_is_a_stopped_run(tracer: Tracer) -> None:
    def triple(state: State) -> dict[str, int]:
        return {"n": state["n"] * 3}

    with chain(bump, double, triple).stream({"n": 1}, tracer=tracer) as stream:
        next(iter(stream))
    with pytest.raises(RunStopped):
        _ = stream.result
    trace = only(tracer)
    assert trace.status == "stopped"
    assert trace.error is None
    assert [task.node for task in trace.tasks] == ["bump"]


def test_a_tracer_keeps_the_newest_traces(tracer: Tracer) -> None:
    small = Tracer(keep=2)
    runner = chain(bump)
    assert small.last is None
    assert small.traces == []
    for start in range(3):
        runner.run({"n": start}, tracer=small)
    assert [trace.state["n"] for trace in small.traces] == [2, 3]
    assert small.last is small.traces[-1]
    small.clear()
    assert small.traces == []
    assert repr(small) == "Tracer(traces=0)"


def test_a_directory_gets_one_file_per_run_named_by_time_and_run_id(
    driver: Driver, tmp_path: Path
) -> None:
    tracer = Tracer(tmp_path / "traces" / "today")
    for start in range(2):
        driver.run(chain(bump), {"n": start}, tracer)
    files = sorted((tmp_path / "traces" / "today").glob("*.json"))
    assert [tracer.path_for(trace) for trace in tracer.traces] == files
    for trace, path in zip(tracer.traces, files, strict=True):
        assert path.name.endswith(f"Z-{trace.run_id}.json")
        assert path.name[:8].isdigit()
        assert Trace.from_json(path) == trace


def test_tracer_takes_only_a_tracer(driver: Driver) -> None:
    runner = chain(bump)
    with pytest.raises(
        GraphDefinitionError, match=r"tracer= takes an orkes\.tracing\.Tracer .*'yes'"
    ):
        driver.run(runner, {"n": 0}, "yes")  # type: ignore[arg-type]
    with pytest.raises(GraphDefinitionError, match=r"tracer= takes an orkes\.tracing\.Tracer"):
        GraphRunner(runner.compiled, tracer=print)  # type: ignore[arg-type]
    with pytest.raises(GraphDefinitionError, match="tracer= takes"):
        runner.stream({"n": 0}, tracer=object())  # type: ignore[call-overload]


def test_a_directory_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(
        GraphDefinitionError, match=r"a-file/traces.*give a directory you can write"
    ):
        Tracer(blocker / "traces")
    with pytest.raises(GraphDefinitionError, match="takes a path"):
        Tracer(42)  # type: ignore[arg-type]


def test_the_other_settings_are_checked() -> None:
    with pytest.raises(GraphDefinitionError, match="keep= takes a positive int or None, got 0"):
        Tracer(keep=0)
    with pytest.raises(GraphDefinitionError, match=r"redact= takes an orkes\.tracing\.Redact"):
        Tracer(redact=["*token*"])  # type: ignore[arg-type]
    with pytest.raises(GraphDefinitionError, match="this tracer writes no files"):
        Tracer().path_for(Trace(None, "r", "done", 0.0, 0.0, {}))


def test_a_trace_that_cannot_be_written_is_logged_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = Tracer(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    (tmp_path / "gone").write_text("now a file")
    assert chain(bump).run({"n": 0}, tracer=tracer) == {"n": 1}
    assert only(tracer).status == "done"
    assert "could not write the trace of run" in caplog.text


def test_import_orkes_does_not_import_tracing_nor_does_an_untraced_run() -> None:
    code = textwrap.dedent(
        """
        import sys
        from typing import TypedDict
        import orkes
        print("orkes.tracing" in sys.modules)
        class S(TypedDict):
            n: int
        graph = orkes.OrkesGraph(S).add_node("a", lambda s: {"n": 1})
        app = graph.add_edge(orkes.START, "a").add_edge("a", orkes.END).compile()
        app.run({"n": 0})
        list(app.stream({"n": 0}))
        print("orkes.tracing" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
