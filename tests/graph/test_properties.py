"""Properties of the runner over random graphs and random inputs (Hypothesis).

Random DAGs of logging nodes, with plain edges and joins, are run and compared with a
superstep simulation written here from DESIGN.md alone; random inputs, updates and gate
answers must never make orkes raise anything but an ``OrkesError``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.errors import NodeError, OrkesError

if TYPE_CHECKING:
    from tests.graph.conftest import Driver

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


class Trace(TypedDict, total=False):
    """Each node appends its name to ``log`` and adds its weight to ``total``."""

    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]


@dataclass(frozen=True)
class Dag:
    """A random DAG: nodes in topological order, plain edges, joins and edges to END."""

    names: tuple[str, ...]
    predecessors: tuple[frozenset[int], ...]  # -1 stands for START
    joins: tuple[tuple[frozenset[int], int], ...]  # (sources, target)
    to_end: frozenset[int]

    def successors(self, index: int) -> list[int]:
        return [target for target, preds in enumerate(self.predecessors) if index in preds]


@st.composite
def dags(draw: st.DrawFn) -> Dag:
    size = draw(st.integers(min_value=1, max_value=7))
    # Names in a random order, so that merge order (by name) differs from topological order.
    names = tuple(draw(st.permutations([f"n{i}" for i in range(size)])))
    predecessors: list[frozenset[int]] = []
    joins: list[tuple[frozenset[int], int]] = []
    for index in range(size):
        has_join = index >= 2 and draw(st.booleans())
        if has_join:
            sources = draw(
                st.frozensets(st.integers(0, index - 1), min_size=2, max_size=min(3, index))
            )
            joins.append((sources, index))
        predecessors.append(
            draw(
                st.frozensets(st.integers(-1, index - 1), min_size=0 if has_join else 1, max_size=3)
            )
        )
    has_way_out = {p for preds in predecessors for p in preds} | {
        s for sources, _ in joins for s in sources
    }
    extra_ends = draw(st.frozensets(st.integers(0, size - 1), max_size=2))
    to_end = frozenset(i for i in range(size) if i not in has_way_out) | extra_ends
    return Dag(names, tuple(predecessors), tuple(joins), to_end)


def weight(name: str) -> int:
    return int(name[1:]) + 1


def build(dag: Dag) -> GraphRunner[Trace]:
    graph = OrkesGraph(Trace)

    def node_for(name: str) -> Callable[[Trace], dict[str, object]]:
        def node(state: Trace) -> dict[str, object]:
            return {"log": [name], "total": weight(name)}

        return node

    for name in dag.names:
        graph.add_node(name, node_for(name))
    for index, preds in enumerate(dag.predecessors):
        for pred in sorted(preds):
            graph.add_edge(START if pred == -1 else dag.names[pred], dag.names[index])
    for sources, target in dag.joins:
        graph.add_edge([dag.names[s] for s in sorted(sources)], dag.names[target])
    for index in sorted(dag.to_end):
        graph.add_edge(dag.names[index], END)
    return GraphRunner(graph.compile(), max_steps=len(dag.names) + 1)


def simulate(dag: Dag) -> list[list[str]]:
    """DESIGN.md's supersteps by hand: the names that run in each superstep, in merge order.

    A node runs in a superstep if a plain predecessor ran in the one before, or a join into
    it fired: a join fires once every source has finished since it last fired, and forgets
    what it saw when it fires (the sources of one superstep count together).
    """
    seen: list[set[int]] = [set() for _ in dag.joins]
    frontier = {i for i, preds in enumerate(dag.predecessors) if -1 in preds}
    supersteps: list[list[str]] = []
    while frontier:
        supersteps.append(sorted(dag.names[i] for i in frontier))
        following = {s for i in frontier for s in dag.successors(i)}
        for j, (sources, target) in enumerate(dag.joins):
            seen[j] |= frontier & sources
            if seen[j] == sources:
                seen[j] = set()
                following.add(target)
        frontier = following
    return supersteps


# A join [n5, n4] -> n3 where n5 finishes in steps 1 and 2 and n4 in steps 2 and 3: both
# finish in step 2, so the join fires then and forgets both; step 3 must not fire it again.
JOIN_SOURCES_FINISHING_TOGETHER = Dag(
    names=("n0", "n1", "n2", "n5", "n4", "n3"),
    predecessors=(
        frozenset({-1}),
        frozenset({-1}),
        frozenset({1}),
        frozenset({-1, 0}),
        frozenset({1, 2}),
        frozenset(),
    ),
    joins=((frozenset({3, 4}), 5),),
    to_end=frozenset({5}),
)


@SETTINGS
@given(dag=dags())
@example(dag=JOIN_SOURCES_FINISHING_TOGETHER)
def test_random_dags_run_as_the_superstep_simulation_says(
    dag: Dag, drivers: Mapping[str, Driver]
) -> None:
    runner = build(dag)
    expected = [name for superstep in simulate(dag) for name in superstep]
    results = {name: drive(runner, {"log": [], "total": 0}) for name, drive in drivers.items()}
    # Sync and async agree with each other and with the simulation, parallel branches
    # and all; the commutative sum agrees with adding the weights one by one.
    for result in results.values():
        assert result == {"log": expected, "total": sum(map(weight, expected))}


@SETTINGS
@given(dag=dags())
def test_each_node_first_runs_after_what_triggers_it(dag: Dag, driver: Driver) -> None:
    log = driver(build(dag), {"log": [], "total": 0})["log"]
    first = {name: log.index(name) for name in set(log)}
    assert set(first) == set(dag.names)  # in a DAG every node runs at least once
    for index, name in enumerate(dag.names):
        triggers = [
            first[dag.names[p]] for p in dag.predecessors[index] if p != -1
        ]  # after any plain predecessor...
        triggers.extend(
            max(first[dag.names[s]] for s in sources)  # ...or after every source of a join
            for sources, target in dag.joins
            if target == index
        )
        if -1 not in dag.predecessors[index]:
            assert first[name] > min(triggers), (name, log)


# --- no input makes orkes raise anything but its own errors ----------------------------------


class Fuzz(TypedDict, total=False):
    """Keys with and without reducers, so random updates hit every merge path."""

    text: str
    items: Annotated[list[object], operator.add]
    count: Annotated[int, operator.add]


KEYS = ["text", "items", "count"]
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
    st.tuples(st.text(max_size=2)),
)
mappings = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=3)), values, max_size=3
)
inputs = st.one_of(mappings, values, st.lists(st.sampled_from(KEYS), max_size=2))
updates = st.one_of(st.just("state"), mappings, values)
answers_ = st.one_of(
    st.sampled_from(["a", "b", "p", "q", "END", END, START, "START", "zzz", "yes", "no"]),
    values,
    st.lists(st.sampled_from(["a", "b", "q", END, "yes", "maybe"]), max_size=3),
    st.tuples(st.sampled_from(["b", "yes"]), st.lists(st.integers(), max_size=1)),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
)
failures = st.one_of(
    st.none(),
    st.sampled_from([KeyError("k"), AttributeError("a"), RecursionError("r"), ValueError("v")]),
)
max_steps_ = st.one_of(
    st.none(), st.integers(-1, 6), st.booleans(), st.floats(0, 3), st.text(max_size=1)
)


@dataclass(frozen=True)
class Behaviour:
    """What the nodes and the gate of the fuzz graph do in one example."""

    update_a: object
    update_p: object
    update_q: object
    answer: object
    fails: Exception | None
    mapped: bool


def fuzz_runner(behaviour: Behaviour) -> GraphRunner[Fuzz]:
    def returning(update: object, fails: Exception | None = None) -> Callable[[Fuzz], Any]:
        def node(state: Fuzz) -> Any:
            if fails is not None:
                raise fails
            return state if update == "state" else update

        return node

    def gate(state: Fuzz) -> object:
        return behaviour.answer

    graph = OrkesGraph(Fuzz).add_node("a", returning(behaviour.update_a))
    graph.add_node("b", returning(None)).add_node("p", returning(behaviour.update_p))
    graph.add_node("q", returning(behaviour.update_q, behaviour.fails))
    graph.add_edge(START, "p").add_edge(START, "q").add_edge("p", "a").add_edge("q", "a")
    graph.add_edge("b", END)
    if behaviour.mapped:
        graph.add_conditional_edge("a", gate, {"yes": "b", "no": END, ("b", "yes"): "b"})
    else:
        graph.add_conditional_edge("a", gate)
    return GraphRunner(graph.compile(), max_steps=6)


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(
    state=inputs,
    behaviour=st.builds(Behaviour, updates, updates, updates, answers_, failures, st.booleans()),
    max_steps=max_steps_,
)
@example(
    state={},
    behaviour=Behaviour(None, None, None, ("b", [1]), None, mapped=True),
    max_steps=None,
)
def test_no_input_makes_orkes_raise_anything_but_its_own_errors(
    drivers: Mapping[str, Driver], state: Any, behaviour: Behaviour, max_steps: Any
) -> None:
    runner = fuzz_runner(behaviour)
    for drive in drivers.values():
        error: OrkesError | None = None
        try:
            result = drive(runner, state, max_steps=max_steps)
        except OrkesError as exc:  # anything else fails the test
            error = exc
        if error is None:
            assert isinstance(result, dict)
            assert set(result) <= set(KEYS)
        elif isinstance(error, NodeError):
            assert error.__cause__ is not None
