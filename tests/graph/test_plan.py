"""The superstep planner driven by hand: no event loop, no threads, no runner.

``orkes.graph.plan.Run`` says what runs next and merges what the tasks returned; here the
test itself plays the runner, calling each task's function and handing back the result.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import inspect
import operator
import re
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

import orkes.graph.plan
from orkes import END, START, OrkesGraph
from orkes.errors import ConflictingUpdateError, StateError, StepLimitExceeded
from orkes.graph._tasks import STATE, Task
from orkes.graph._writes import writes_of
from orkes.graph.plan import GraphPlan, Outcome, Run


class Log(TypedDict, total=False):
    """A counter, a last-writer-wins key and a log merged with ``operator.add``."""

    n: int
    word: str
    log: Annotated[list[str], operator.add]


NodeFn = Callable[[Log], dict[str, object] | None]


def logs(name: str) -> NodeFn:
    def node(state: Log) -> dict[str, object]:
        return {"log": [name]}

    return node


def plan_of(graph: OrkesGraph[Log]) -> GraphPlan:
    return graph.compile().plan


def names(tasks: Sequence[Task]) -> list[str]:
    return [task.name for task in tasks]


def execute(tasks: Sequence[Task], run: Run) -> list[Outcome]:
    """Play the runner: call each task on its own copy of the state, one after the other."""
    results: list[Outcome] = []
    for task in tasks:
        view = dict(run.state)
        arg = view if task.arg is STATE else task.arg
        results.append((task, arg, task.node.fn(arg), None, False))
    return results


def drive(run: Run) -> list[list[str]]:
    """Run to the end the way runner.py does; return the tasks of each superstep."""
    supersteps: list[list[str]] = []
    tasks = run.start()
    while tasks:
        run.begin_step(tasks)
        supersteps.append(names(tasks))
        results = execute(tasks, run)
        one = len(results) == 1
        tasks = run.finish_one(*results[0][:3]) if one else run.finish_step(results)
    return supersteps


@pytest.fixture(autouse=True)
def no_threads_no_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner must never start a thread, submit to a pool or need an event loop."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError("the planner started a thread or used a pool")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", refuse)
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


# --- purity ----------------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


def test_the_planner_and_what_it_imports_do_no_io_threads_or_asyncio() -> None:
    forbidden = {
        "asyncio",
        "concurrent",
        "io",
        "multiprocessing",
        "os",
        "queue",
        "selectors",
        "socket",
        "subprocess",
        "threading",
        "time",
    }
    package = Path(orkes.graph.plan.__file__).parent.parent
    seen: set[str] = set()
    queue = ["orkes.graph.plan"]
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")[1:]
        path = package.joinpath(*parts).with_suffix(".py")
        if not path.exists():
            path = package.joinpath(*parts, "__init__.py")
        imported = imported_modules(path)
        assert not {name.split(".")[0] for name in imported} & forbidden, (module, imported)
        queue.extend(name for name in imported if name.startswith("orkes."))
    assert "orkes.graph._gates" in seen


# --- driving runs by hand -------------------------------------------------------------------


def test_a_chain_driven_by_hand() -> None:
    graph = OrkesGraph(Log)
    for name in ("a", "b", "c"):
        graph.add_node(name, logs(name))
    plan = plan_of(
        graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    )
    run = Run(plan, {"log": []}, max_steps=3)
    tasks = run.start()
    assert (names(tasks), run.step) == (["a"], 0)  # leaving START is not a step
    assert repr(tasks[0]) == "<task 'a'>"
    for expected_next in (["b"], ["c"], []):
        run.begin_step(tasks)
        view = dict(run.state)
        tasks = run.finish_one(tasks[0], view, tasks[0].node.fn(view))
        assert names(tasks) == expected_next
    assert (run.state, run.step) == ({"log": ["a", "b", "c"]}, 3)


def test_fan_out_tasks_come_sorted_by_name_and_fan_in_once() -> None:
    graph = OrkesGraph(Log)
    for name in ("hub", "zeta", "alpha", "mid", "sink"):
        graph.add_node(name, logs(name))
    graph.add_edge(START, "hub")
    for branch in ("zeta", "alpha", "mid"):
        graph.add_edge("hub", branch).add_edge(branch, "sink")
    run = Run(plan_of(graph.add_edge("sink", END)), {"log": []}, max_steps=10)
    assert drive(run) == [["hub"], ["alpha", "mid", "zeta"], ["sink"]]
    assert run.state == {"log": ["hub", "alpha", "mid", "zeta", "sink"]}


def test_finish_step_merges_in_task_order_and_says_what_runs_next() -> None:
    graph = OrkesGraph(Log).add_node("a", lambda state: {"log": ["a"], "n": 1})
    graph.add_node("b", lambda state: {"log": ["b"], "word": "b"}).add_node("c", logs("c"))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c")
    run = Run(plan_of(graph.add_edge("c", END)), {"log": ["in"]}, max_steps=5)
    tasks = run.start()
    run.begin_step(tasks)
    following = run.finish_step(execute(tasks, run))
    assert names(following) == ["c"]
    assert list(run.state.items()) == [("log", ["in", "a", "b"]), ("n", 1), ("word", "b")]


def test_a_parallel_superstep_is_all_or_nothing() -> None:
    graph = OrkesGraph(Log).add_node("a", lambda state: {"log": ["a"], "word": "a"})
    graph.add_node("b", lambda state: {"word": "b"})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    run = Run(plan_of(graph), {"log": [], "n": 0}, max_steps=5)
    tasks = run.start()
    run.begin_step(tasks)
    before = dict(run.state)
    with pytest.raises(ConflictingUpdateError) as caught:
        run.finish_step(execute(tasks, run))
    assert run.state == before  # not even 'a''s log entry was merged
    assert (caught.value.key, caught.value.nodes, caught.value.step) == ("word", ("a", "b"), 1)


@pytest.mark.parametrize(
    ("bad_update", "error"),
    [
        ({"log": 5}, "the reducer 'add' of key 'log' failed on the update of node 'b'"),
        ({"nope": 1}, "node 'b' wrote key 'nope', which is not in the state schema Log"),
    ],
)
def test_a_failing_merge_leaves_the_state_untouched(
    bad_update: dict[str, object], error: str
) -> None:
    graph = OrkesGraph(Log).add_node("a", lambda state: {"log": ["a"], "n": 7})
    graph.add_node("b", lambda state: bad_update)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    run = Run(plan_of(graph), {"log": ["in"]}, max_steps=5)
    tasks = run.start()
    run.begin_step(tasks)
    with pytest.raises(StateError, match=re.escape(error)):
        run.finish_step(execute(tasks, run))
    assert run.state == {"log": ["in"]}


def test_begin_step_refuses_the_step_past_max_steps() -> None:
    graph = OrkesGraph(Log).add_node("a", logs("a")).add_node("b", logs("b"))
    plan = plan_of(graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END))
    run = Run(plan, {}, max_steps=1)
    tasks = run.start()
    run.begin_step(tasks)
    tasks = run.finish_one(tasks[0], {}, None)
    with pytest.raises(StepLimitExceeded) as caught:
        run.begin_step(tasks)
    assert (caught.value.limit, caught.value.step, caught.value.node) == (1, 2, "b")
    assert str(caught.value).startswith("the run reached max_steps=1: step 2 would run 'b';")


def test_writes_of_the_state_handed_back_are_the_keys_that_changed() -> None:
    graph = OrkesGraph(Log).add_node("a", logs("a")).add_edge(START, "a").add_edge("a", END)
    run = Run(plan_of(graph), {"n": 1, "word": "w", "log": ["x"]}, max_steps=1)
    (task,) = run.start()
    view = dict(run.state)
    view["word"] = "changed"
    view["log"].append("in place")  # the very same list: not a write
    assert writes_of(run, task, view, view)[0] == {"word": "changed"}
    # A new mapping: every key in it is a write, equal values included.
    assert writes_of(run, task, view, {"n": 1})[0] == {"n": 1}
    run.begin_step((task,))
    assert run.finish_one(task, view, view) == ()
    assert run.state == {"n": 1, "word": "changed", "log": ["x", "in place"]}


def test_writes_of_refuses_an_awaitable_and_closes_it() -> None:
    async def later() -> dict[str, object]:
        return {}

    graph = OrkesGraph(Log).add_node("a", logs("a")).add_edge(START, "a").add_edge("a", END)
    run = Run(plan_of(graph), {}, max_steps=1)
    (task,) = run.start()
    coroutine: Coroutine[Any, Any, dict[str, object]] = later()
    try:
        with pytest.raises(StateError, match=r"^node 'a' returned an awaitable: "):
            writes_of(run, task, {}, coroutine)[0]
        assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED
    finally:
        coroutine.close()


def test_writes_of_refuses_an_awaitable_that_cannot_be_closed() -> None:
    class Pending:
        def __await__(self) -> Any:
            yield None

    graph = OrkesGraph(Log).add_node("a", logs("a")).add_edge(START, "a").add_edge("a", END)
    run = Run(plan_of(graph), {}, max_steps=1)
    (task,) = run.start()
    with pytest.raises(StateError, match=r"^node 'a' returned an awaitable: "):
        writes_of(run, task, {}, Pending())


def test_after_evaluates_gates_on_the_merged_state_and_counts_passes() -> None:
    seen: list[dict[str, object]] = []

    def gate(state: Log) -> str:
        seen.append(dict(state))
        return "b" if state["n"] < 2 else END

    graph = OrkesGraph(Log).add_node("a", logs("a")).add_node("b", logs("b"))
    graph.add_edge(START, "a").add_edge("b", "a")
    plan = plan_of(graph.add_conditional_edge("a", gate, max_passes=2))
    (a,) = (plan.nodes["a"],)
    run = Run(plan, {"n": 0}, max_steps=10)
    run.state["n"] = 1
    assert names(run.after([a.task])) == ["b"]
    run.state["n"] = 2
    assert names(run.after([a.task])) == []
    assert seen == [{"n": 1}, {"n": 2}]
    with pytest.raises(StepLimitExceeded, match=r"reached max_passes=2: pass 3 came after step 0;"):
        run.after([a.task])
    # Pass counts live in the run: a new run on the same plan starts from zero.
    fresh = Run(plan, {"n": 5}, max_steps=10)
    assert names(fresh.after([a.task])) == []


def test_a_join_remembers_its_sources_across_supersteps_and_forgets_when_it_fires() -> None:
    graph = OrkesGraph(Log)
    for name in ("a", "b", "c"):
        graph.add_node(name, logs(name))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c")
    plan = plan_of(graph.add_edge("c", END))
    a, b = plan.nodes["a"], plan.nodes["b"]
    run = Run(plan, {}, max_steps=10)
    assert names(run.after([a.task])) == []
    assert names(run.after([a.task])) == []  # a twice is still only a
    assert names(run.after([b.task])) == ["c"]
    assert names(run.after([b.task])) == []  # it forgot both when it fired
    assert names(run.after([a.task])) == ["c"]
    # Another run on the same plan has its own memory.
    assert names(Run(plan, {}, max_steps=10).after([b.task])) == []


def test_a_gate_returning_a_list_gives_tasks_sorted_and_once() -> None:
    def fan(state: Log) -> list[str]:
        return ["c", "b", "c", END]

    graph = OrkesGraph(Log)
    for name in ("a", "b", "c"):
        graph.add_node(name, logs(name))
    graph.add_edge(START, "a").add_edge("b", END).add_edge("c", END)
    plan = plan_of(graph.add_conditional_edge("a", fan))
    run = Run(plan, {}, max_steps=10)
    (a,) = run.start()
    run.begin_step((a,))
    assert names(run.finish_one(a, {}, None)) == ["b", "c"]


def test_run_id_is_made_on_first_use_or_taken_as_given() -> None:
    graph = OrkesGraph(Log).add_node("a", logs("a")).add_edge(START, "a").add_edge("a", END)
    plan = plan_of(graph)
    run = Run(plan, {}, max_steps=1)
    assert re.fullmatch(r"[0-9a-f]{32}", run.run_id)
    assert run.run_id == run.run_id
    assert Run(plan, {}, max_steps=1).run_id != run.run_id
    assert Run(plan, {}, max_steps=1, run_id="mine").run_id == "mine"


def test_run_checks_its_input_and_copies_it() -> None:
    graph = OrkesGraph(Log).add_node("a", logs("a")).add_edge(START, "a").add_edge("a", END)
    plan = plan_of(graph)
    given: Log = {"n": 1}
    run = Run(plan, given, max_steps=1)
    assert run.state == given
    assert run.state is not given
    bad: Any = {"n": 1, "other": 2}
    with pytest.raises(StateError, match=r"^input key 'other' is not in the state schema Log"):
        Run(plan, bad, max_steps=1)
    with pytest.raises(StateError, match=r"^the input state must be a mapping of Log's keys"):
        Run(plan, bad.items(), max_steps=1)


def test_running_never_changes_the_shared_plan() -> None:
    def gate(state: Log) -> str:
        return "b" if len(state["log"]) < 4 else END

    graph = OrkesGraph(Log)
    for name in ("a", "b", "c"):
        graph.add_node(name, logs(name))
    graph.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c", max_passes=3)
    graph.add_conditional_edge("c", gate).add_edge("b", "a", max_passes=9)
    plan = plan_of(graph)

    def snapshot() -> dict[str, tuple[object, ...]]:
        return {
            name: (
                node.successors,
                node.limited_edges,
                node.branches,
                node.joins,
                node.only_next,
                node.only_gate,
            )
            for name, node in [*plan.nodes.items(), ("START", plan.start)]
        }

    before = snapshot()
    for _ in range(2):
        run = Run(plan, {"log": []}, max_steps=50)
        drive(run)
        assert run.state["log"][-1] == "c"
    assert snapshot() == before
