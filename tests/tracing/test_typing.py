"""Static types of tracing: ``mypy --strict`` checks every ``assert_type`` here; pytest runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from typing_extensions import TypedDict, assert_type

import orkes
from orkes import END, START, GraphRunner, OrkesGraph, OrkesMessageSchema
from orkes.graph.results import RunResult
from orkes.tracing import LLMCall, StepRecord, TaskRecord, Trace, Traced, Tracer, traced


class Count(TypedDict):
    n: int


def bump(state: Count) -> Count:
    return {"n": state["n"] + 1}


class Reply:
    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        return {"role": "assistant", "content": "ok"}


def test_runs_keep_their_types_with_a_tracer() -> None:
    tracer = Tracer()
    runner = GraphRunner(
        OrkesGraph(Count).add_node(bump).add_edge(START, "bump").add_edge("bump", END).compile(),
        tracer=tracer,
    )
    assert_type(runner.run({"n": 0}, tracer=tracer), Count)
    assert_type(asyncio.run(runner.arun({"n": 0}, tracer=tracer)), Count)
    assert_type(runner.invoke({"n": 0}, tracer=tracer), RunResult[Count])
    assert_type(runner.stream({"n": 0}, tracer=tracer).result, Count)
    assert orkes.Tracer is Tracer


def test_a_trace_and_its_records_are_typed() -> None:
    tracer = Tracer()
    assert_type(tracer.last, Trace | None)
    assert_type(tracer.traces, list[Trace])
    trace = Trace(None, "run", "done", 0.0, 1.0, {})
    assert_type(trace.steps, Sequence[StepRecord])
    assert_type(trace.tasks, tuple[TaskRecord, ...])
    assert_type(trace.llm_calls, tuple[LLMCall, ...])
    assert_type(trace.seconds, float)


def test_a_traced_connector_keeps_the_connectors_type() -> None:
    llm = traced(Reply())
    assert_type(llm, Traced[Reply])
    assert_type(llm.wrapped, Reply)
    assert_type(llm.invoke([]), OrkesMessageSchema)
