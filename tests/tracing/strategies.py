"""Hypothesis strategies of the tracing tests: records, traces and graph shapes.

Values are what a tracer keeps (JSON, with :class:`~orkes.tracing.Repr` for the rest);
texts now and then are ones a page must not take for markup (``</script>…``, ``<!--``,
U+2028, a NUL, a lone surrogate).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from orkes.tracing import (
    CheckpointRecord,
    ErrorRecord,
    GateRecord,
    InterruptRecord,
    LLMCall,
    Repr,
    StepRecord,
    TaskRecord,
    Trace,
)
from orkes.viz import END, START, Branch, Edge, GraphShape, Join, Node

HOSTILE = [
    "</script><script>window.__pwned=1</script>",
    "<img src=x onerror=alert(1)>",
    "<!--",
    "]]>",
    "&amp;",
    "\"'",
    "\u2028\u2029",
    "\x00",
    "\ud800",
]
"""Texts that would be markup, or no text, if a page put them in as they are."""

texts = st.text(max_size=12) | st.sampled_from(HOSTILE)
names = st.text(max_size=8) | st.sampled_from(HOSTILE)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
reprs = st.builds(Repr, texts, names)
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), texts, st.floats(allow_nan=False, allow_infinity=False)
)


def values_with(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON values as a tracer keeps them: a mapping holding ``"$repr"`` is a ``Repr``."""
    keys = texts.filter(lambda key: key != "$repr")
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=8,
    )


values = values_with(scalars | reprs)
mappings = st.dictionaries(texts, values, max_size=4)  # a record's own mapping: any key
errors = st.none() | st.builds(ErrorRecord, names, texts, texts)
calls = st.builds(
    LLMCall,
    connector=names,
    model=st.none() | names,
    messages=st.lists(st.dictionaries(names.filter(lambda k: k != "$repr"), values), max_size=2),
    reply=st.none() | mappings,
    started=times,
    ended=times,
    retries=st.integers(0, 5),
    error=errors,
    params=mappings,
    tools=st.tuples(names),
    endpoint=st.none() | texts,
    headers=mappings,
)
paths = st.lists(names, max_size=2).map(tuple)


def tasks_with(nested: st.SearchStrategy[tuple[Trace, ...]]) -> st.SearchStrategy[TaskRecord]:
    return st.builds(
        TaskRecord,
        node=names,
        step=st.integers(0, 99),
        task_id=names,
        path=paths,
        attempt=st.integers(0, 5),
        input_keys=st.lists(names, max_size=3).map(tuple),
        update=st.none() | mappings,
        started=times,
        ended=times,
        cached=st.booleans(),
        error=errors,
        interrupted=st.booleans(),
        llm_calls=st.lists(calls, max_size=2).map(tuple),
        subgraphs=nested,
    )


@st.composite
def shapes(draw: st.DrawFn, depth: int = 0) -> GraphShape:
    """Small graph shapes: a chain of nodes, now and then a gate, a join, a subgraph."""
    node_names = draw(
        st.lists(
            st.text(min_size=1, max_size=8) | st.sampled_from(HOSTILE),
            min_size=1,
            max_size=5 if depth == 0 else 2,
            unique=True,
        ).filter(lambda found: not {START, END} & set(found))
    )
    nodes = [
        Node(name, "subgraph", draw(shapes(depth=1)))
        if depth == 0 and draw(st.integers(0, 5)) == 0
        else Node(name)
        for name in node_names
    ]
    chain = [START, *node_names, END]
    edges = [Edge(a, b) for a, b in pairwise(chain)]
    branches = [
        Branch(node_names[0], ((label, target),), gate=draw(names))
        for label, target in draw(
            st.lists(st.tuples(texts, st.sampled_from([*node_names, END])), max_size=2)
        )
    ]
    joins = (
        [Join(tuple(node_names[:2]), END)] if len(node_names) > 1 and draw(st.booleans()) else []
    )
    return GraphShape(
        tuple(nodes), tuple(edges), tuple(joins), tuple(branches), name=draw(st.none() | names)
    )


def traces_with(nested: st.SearchStrategy[tuple[Trace, ...]]) -> st.SearchStrategy[Trace]:
    gates = st.builds(GateRecord, names, names, values, st.lists(names, max_size=3).map(tuple),
                      st.integers(0, 99))  # fmt: skip
    steps = st.builds(
        StepRecord,
        st.integers(0, 99),
        times,
        times,
        st.lists(tasks_with(nested), max_size=2).map(tuple),
        st.lists(gates, max_size=2).map(tuple),
    )
    return st.builds(
        Trace,
        graph=st.none() | names,
        run_id=names,
        status=st.sampled_from(["done", "failed", "paused", "stopped"]),
        started=times,
        ended=times,
        state=mappings,
        steps=st.lists(steps, max_size=3).map(tuple),
        thread_id=st.none() | names,
        path=paths,
        error=errors,
        checkpoints=st.lists(st.builds(CheckpointRecord, names, st.integers(0, 9))).map(tuple),
        interrupts=st.lists(
            st.builds(InterruptRecord, names, names, values, st.integers(0, 9), paths), max_size=2
        ).map(tuple),
        shape=st.none() | shapes(),
    )


leaf_traces = traces_with(st.just(()))
traces = traces_with(st.lists(leaf_traces, max_size=1).map(tuple))
