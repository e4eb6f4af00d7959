"""OpenTelemetry: a run as spans — run > step > node attempt > LLM call — both drivers.

Spans go to the SDK's in-memory exporter. Each scenario runs through the sync API and
the async one (the ``driver`` fixture); an :class:`OpenTelemetry` goes where a tracer goes.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from orkes import END, START, EchoLlmConnector, GraphRunner, OrkesGraph, RetryPolicy, Send
from orkes.connectors._chat.connector import HttpChatConnector
from orkes.errors import BadRequest, GraphDefinitionError, NodeError, OrkesError
from orkes.graph.context import RunContext
from orkes.persistence.memory import MemoryCheckpointer
from orkes.shared.schema import OrkesMessageSchema
from orkes.tracing import Redact, Tracer
from orkes.tracing.otel import OpenTelemetry
from tests.connectors.loopback import LoopbackServer, RecordingSleep, error_response
from tests.connectors.services import SERVICES, LoopbackService
from tests.tracing.drivers import Driver

HELLO: list[OrkesMessageSchema] = [{"role": "user", "content": "Hi"}]
PROVIDERS = {"OpenAI": "openai", "Anthropic": "anthropic", "Gemini": "gcp.gemini"}


class S(TypedDict, total=False):
    text: str
    seen: Annotated[list[str], operator.add]


class Spans:
    """The finished spans of the runs of one test, and how they nest."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    @property
    def all(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        (found,) = self.named(name)
        return found

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next(s for s in self.all if s.context.span_id == span.parent.span_id)

    def parent_name(self, span: ReadableSpan) -> str | None:
        found = self.parent(span)
        return None if found is None else found.name


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def event(span: ReadableSpan, name: str) -> dict[str, Any]:
    (found,) = [e for e in span.events if e.name == name]
    return dict(found.attributes or {})


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    made = TracerProvider()
    made.add_span_processor(SimpleSpanProcessor(exporter))
    yield made, exporter
    made.shutdown()


@pytest.fixture
def otel(provider: tuple[TracerProvider, InMemorySpanExporter]) -> OpenTelemetry:
    return OpenTelemetry(provider[0])


@pytest.fixture
def spans(provider: tuple[TracerProvider, InMemorySpanExporter]) -> Spans:
    return Spans(provider[1])


@pytest.fixture
def mine(provider: tuple[TracerProvider, InMemorySpanExporter]) -> trace.Tracer:
    """The user's own tracer, on the same provider."""
    return provider[0].get_tracer("the-users-app")


def chain(*nodes: tuple[str, Any], name: str | None = "chain") -> GraphRunner[S]:
    graph = OrkesGraph(S, name=name)
    names = [node for node, _ in nodes]
    for node, fn in nodes:
        graph.add_node(node, fn)
    for before, after in itertools.pairwise(names):
        graph.add_edge(before, after)
    return GraphRunner(graph.add_edge(START, names[0]).add_edge(names[-1], END).compile())


def fan_out(*nodes: tuple[str, Any]) -> GraphRunner[S]:
    graph = OrkesGraph(S, name="fan")
    for node, fn in nodes:
        graph.add_node(node, fn).add_edge(START, node).add_edge(node, END)
    return GraphRunner(graph.compile())


# --- the tree and its attributes ----------------------------------------------------------


def test_a_run_is_a_run_span_over_step_spans_over_node_spans(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    runner = chain(("a", lambda s: {"text": s["text"] + "a"}), ("b", lambda s: {"text": "b"}))
    assert driver.run(runner, {"text": ""}, otel) == {"text": "b"}
    run = spans.one("run chain")
    assert spans.parent(run) is None
    assert [spans.parent_name(spans.one(f"step {n}")) for n in (1, 2)] == ["run chain"] * 2
    assert spans.parent_name(spans.one("node a")) == "step 1"
    assert spans.parent_name(spans.one("node b")) == "step 2"
    assert len({span.context.trace_id for span in spans.all}) == 1
    run_attributes = attributes(run)
    assert run_attributes["orkes.graph"] == "chain"
    assert run_attributes["orkes.status"] == "done"
    assert run_attributes["orkes.steps"] == 2
    assert isinstance(run_attributes["orkes.run_id"], str)
    assert attributes(spans.one("step 2")) == {
        "orkes.step": 2,
        "orkes.path": (),
        "orkes.nodes": ("b",),
    }
    assert attributes(spans.one("node b")) == {
        "orkes.node": "b",
        "orkes.step": 2,
        "orkes.task_id": "2:b",
        "orkes.attempt": 1,
        "orkes.path": (),
    }
    assert all(span.status.status_code is StatusCode.UNSET for span in spans.all)


def test_an_unnamed_graphs_run_span_is_run(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    driver.run(chain(("a", lambda s: None), name=None), {}, otel)
    assert "orkes.graph" not in attributes(spans.one("run"))


def test_parallel_tasks_are_siblings_under_their_step(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    def worker(state: S) -> dict[str, list[str]]:
        return {"seen": [threading.current_thread().name]}

    graph = OrkesGraph(S).add_node("split", lambda s: None).add_node("work", worker)
    graph.add_edge(START, "split").add_edge("work", END)
    graph.add_conditional_edge("split", lambda s: [Send("work", s) for _ in range(3)])
    driver.run(GraphRunner(graph.compile()), {"seen": []}, otel)
    workers = spans.named("node work")
    assert len(workers) == 3
    assert {spans.parent_name(span) for span in workers} == {"step 2"}
    assert len({span.parent.span_id for span in workers if span.parent}) == 1
    assert sorted(attributes(span)["orkes.task_id"] for span in workers) == [
        "2:work#0",
        "2:work#1",
        "2:work#2",
    ]
    assert attributes(spans.one("step 2"))["orkes.nodes"] == ("work", "work", "work")


def test_a_gate_decision_is_an_event_on_the_run_span(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    def where(state: S) -> str:
        return "yes"

    graph = OrkesGraph(S).add_node("ask", lambda s: None).add_node("go", lambda s: None)
    graph.add_edge(START, "ask").add_edge("go", END)
    graph.add_conditional_edge("ask", where, {"yes": "go", "no": END})
    driver.run(GraphRunner(graph.compile()), {}, otel)
    assert event(spans.one("run"), "orkes.route") == {
        "orkes.step": 1,
        "orkes.gate": "where",
        "orkes.source": "ask",
        "orkes.answer": "yes",
        "orkes.led_to": ("go",),
    }


def test_a_subgraphs_run_nests_under_its_node(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    inner = chain(("deep", lambda s: {"text": "deep"}), name="inner").compiled
    outer = OrkesGraph(S, name="outer").add_node("sub", inner)
    driver.run(GraphRunner(outer.add_edge(START, "sub").add_edge("sub", END).compile()), {}, otel)
    assert spans.parent_name(spans.one("run inner")) == "node sub"
    deep = spans.one("node deep")
    assert spans.parent_name(deep) == "step 1"
    assert spans.parent(spans.parent(deep) or deep) == spans.one("run inner")
    assert attributes(deep)["orkes.path"] == ("sub",)
    assert attributes(spans.one("run inner"))["orkes.path"] == ("sub",)


def test_a_paused_run_says_so_and_a_checkpoint_is_an_event(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    def ask(state: S, ctx: RunContext) -> dict[str, str]:
        return {"text": str(ctx.interrupt("ok?"))}

    graph = OrkesGraph(S).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    runner = GraphRunner(graph.compile(), checkpointer=MemoryCheckpointer())
    assert not driver.invoke(runner, {}, otel, "t1").done
    (paused,) = spans.named("run")
    assert attributes(paused)["orkes.status"] == "paused"
    assert attributes(paused)["orkes.thread_id"] == "t1"
    assert attributes(spans.one("node ask"))["orkes.interrupted"] is True
    assert any(e.name == "orkes.checkpoint" for e in paused.events)
    assert driver.resume(runner, "t1", "yes", otel).done
    statuses = [attributes(span)["orkes.status"] for span in spans.named("run")]
    assert statuses == ["paused", "done"]


def test_steps_told_after_they_ran_inline_make_the_same_tree(
    otel: OpenTelemetry, spans: Spans
) -> None:
    """The hooks the sync loop's inline path calls (OpenTelemetry asks it not to)."""
    from time import perf_counter

    from orkes.graph.plan import Run

    app = chain(("a", lambda s: None), ("b", lambda s: None)).compiled
    run = Run(app.plan, {}, 10)
    observer = otel._observe("chain", ())
    observer.started(run)
    (task,) = run.start()
    run.begin_step([task])
    began = perf_counter()
    observer.ran_one(run, task, began, began + 0.25, {})
    (task,) = run.finish_one(task, {}, None)
    run.begin_step([task])
    observer.failed_one(run, task, perf_counter(), ValueError("late"))
    observer.ended(run, NodeError("late", node="b", step=2, run_id=run.run_id))
    a, b = spans.one("node a"), spans.one("node b")
    assert spans.parent_name(a) == "step 1"
    assert spans.parent_name(b) == "step 2"
    assert a.end_time is not None
    assert a.start_time is not None
    assert abs(a.end_time - a.start_time - 250_000_000) < 1_000_000
    assert b.status.status_code is StatusCode.ERROR
    assert spans.one("run chain").status.status_code is StatusCode.ERROR


# --- errors -------------------------------------------------------------------------------


def test_a_failing_node_ends_its_spans_with_status_error_and_the_exception(
    driver: Driver, spans: Spans, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    otel = OpenTelemetry(provider[0], redact=Redact(secrets=("hunter22",)))

    def boom(state: S) -> None:
        raise ValueError("no good: password hunter22")

    with pytest.raises(NodeError):
        driver.run(chain(("boom", boom)), {}, otel)
    node = spans.one("node boom")
    assert node.status.status_code is StatusCode.ERROR
    assert attributes(node)["error.type"] == "ValueError"
    exception = event(node, "exception")
    assert exception["exception.type"] == "ValueError"
    assert exception["exception.message"] == "no good: password [redacted]"
    assert "in boom" in exception["exception.stacktrace"]
    assert "hunter22" not in repr(
        [(s.attributes, [e.attributes for e in s.events]) for s in spans.all]
    )
    assert spans.one("step 1").status.status_code is StatusCode.ERROR
    run = spans.one("run chain")
    assert run.status.status_code is StatusCode.ERROR
    assert attributes(run)["orkes.status"] == "failed"
    assert event(run, "exception")["exception.type"] == "orkes.errors.NodeError"


def test_each_attempt_of_a_retried_node_is_a_span(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    calls: list[int] = []

    def flaky(state: S) -> dict[str, str]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("once")
        return {"text": "ok"}

    graph = OrkesGraph(S).add_node("flaky", flaky, retry=RetryPolicy(initial_delay=0, jitter=False))
    driver.run(
        GraphRunner(graph.add_edge(START, "flaky").add_edge("flaky", END).compile()), {}, otel
    )
    first, second = sorted(spans.named("node flaky"), key=lambda s: attributes(s)["orkes.attempt"])
    assert (attributes(first)["orkes.attempt"], attributes(second)["orkes.attempt"]) == (1, 2)
    assert first.status.status_code is StatusCode.ERROR
    assert second.status.status_code is StatusCode.UNSET
    assert spans.parent(first) == spans.parent(second) == spans.one("step 1")
    assert spans.one("run").status.status_code is StatusCode.UNSET


def test_a_sibling_cancelled_by_a_failure_has_its_span_ended(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    async def fails(state: S) -> None:
        raise RuntimeError("down")

    async def slow(state: S) -> None:
        await asyncio.sleep(30)

    with pytest.raises(NodeError):
        driver.run(fan_out(("fails", fails), ("slow", slow)), {}, otel)
    assert attributes(spans.one("node slow"))["orkes.cancelled"] is True
    assert spans.one("node fails").status.status_code is StatusCode.ERROR


# --- the user's spans ---------------------------------------------------------------------


def _users_span_in(kind: str, mine: trace.Tracer) -> GraphRunner[S]:
    """A graph whose node ``work`` opens a span ``mine`` (``kind``: how the node runs)."""

    def work(state: S) -> dict[str, list[str]]:
        with mine.start_as_current_span("mine"):
            return {"seen": [threading.current_thread().name]}

    async def awork(state: S) -> dict[str, list[str]]:
        await asyncio.sleep(0)
        with mine.start_as_current_span("mine"):
            await asyncio.sleep(0)
        return {"seen": []}

    if kind == "sync":
        return chain(("work", work))
    if kind == "async":
        return chain(("work", awork))
    both = threading.Barrier(2, timeout=5)  # two at once: each on a thread of its own

    def work_together(state: S) -> dict[str, list[str]]:
        both.wait()
        return work(state)

    return fan_out(("work", work_together), ("other", work_together))


@pytest.mark.parametrize("kind", ["sync", "async", "threaded"])
def test_a_span_opened_in_a_node_nests_under_the_nodes_span(
    driver: Driver, otel: OpenTelemetry, spans: Spans, mine: trace.Tracer, kind: str
) -> None:
    result = driver.run(_users_span_in(kind, mine), {"seen": []}, otel)
    if kind == "threaded":
        assert len(set(result["seen"])) == 2
    users = spans.named("mine")
    assert users
    for span in users:
        parent = spans.parent(span)
        assert parent is not None
        assert parent.name.startswith("node ")
        assert span.context.trace_id == parent.context.trace_id
    assert {spans.parent_name(span) for span in users} == (
        {"node work", "node other"} if kind == "threaded" else {"node work"}
    )


def test_a_run_inside_a_users_span_nests_under_it_and_leaves_it_current(
    driver: Driver, otel: OpenTelemetry, spans: Spans, mine: trace.Tracer
) -> None:
    with mine.start_as_current_span("request") as request:
        driver.run(chain(("a", lambda s: None)), {}, otel)
        assert trace.get_current_span() is request
    assert spans.parent_name(spans.one("run chain")) == "request"


def test_a_stream_leaves_the_callers_span_current_between_events(
    otel: OpenTelemetry, spans: Spans, mine: trace.Tracer
) -> None:
    runner = chain(("a", lambda s: {"text": "a"}), ("b", lambda s: {"text": "b"}))
    with mine.start_as_current_span("request") as request:
        for _ in runner.stream({}, modes="updates", tracer=otel):
            assert trace.get_current_span() is request
    assert spans.parent_name(spans.one("run chain")) == "request"
    assert spans.parent_name(spans.one("node b")) == "step 2"


def test_without_a_provider_set_a_run_makes_no_spans_and_works(driver: Driver) -> None:
    assert driver.run(chain(("a", lambda s: {"text": "a"})), {}, OpenTelemetry()) == {"text": "a"}


def test_it_is_a_tracer_for_every_run_of_a_runner_and_keeps_no_trace(
    otel: OpenTelemetry, spans: Spans
) -> None:
    app = chain(("a", lambda s: None)).compiled
    runner = GraphRunner(app, tracer=otel)
    runner.run({})
    runner.run({})
    assert isinstance(otel, Tracer)
    assert len(spans.named("run chain")) == 2
    assert otel.traces == []
    assert repr(otel).startswith("OpenTelemetry(tracer_provider=<opentelemetry.sdk.trace")


# --- LLM calls ----------------------------------------------------------------------------


def test_an_echo_call_is_a_chat_span_under_its_node(
    driver: Driver, otel: OpenTelemetry, spans: Spans
) -> None:
    def ask(state: S) -> dict[str, str]:
        return {"text": EchoLlmConnector().invoke(HELLO)["content"]}

    assert driver.run(chain(("ask", ask)), {}, otel) == {"text": "I echo: Hi"}
    call = spans.one("chat echo")
    assert spans.parent_name(call) == "node ask"
    assert call.kind is SpanKind.CLIENT
    assert attributes(call) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "orkes.echo",
        "gen_ai.system": "orkes.echo",
        "gen_ai.request.model": "echo",
        "orkes.connector": "EchoLlmConnector",
        "orkes.node": "ask",
        "orkes.step": 1,
        "orkes.path": (),
    }


def test_a_call_inside_a_users_span_nests_under_that_span(
    driver: Driver, otel: OpenTelemetry, spans: Spans, mine: trace.Tracer
) -> None:
    def ask(state: S) -> dict[str, str]:
        with mine.start_as_current_span("prepare"):
            return {"text": EchoLlmConnector().invoke(HELLO)["content"]}

    driver.run(chain(("ask", ask)), {}, otel)
    assert spans.parent_name(spans.one("chat echo")) == "prepare"
    assert spans.parent_name(spans.one("prepare")) == "node ask"


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> LoopbackService:
    chosen: LoopbackService = request.param
    return chosen


@pytest.fixture
def connector(
    service: LoopbackService, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> Iterator[HttpChatConnector]:
    with service.connect(loopback, recording_sleep) as made:
        yield made


def test_a_shipped_connectors_call_has_the_genai_attributes(
    driver: Driver,
    otel: OpenTelemetry,
    spans: Spans,
    service: LoopbackService,
    connector: HttpChatConnector,
    loopback: LoopbackServer,
) -> None:
    loopback.enqueue(service.whole)

    def ask(state: S) -> dict[str, str]:
        return {"text": connector.invoke(HELLO, temperature=0, max_tokens=50)["content"]}

    assert driver.run(chain(("ask", ask)), {}, otel) == {"text": "Hello!"}
    call = spans.one(f"chat {connector.model}")
    assert spans.parent_name(call) == "node ask"
    assert call.kind is SpanKind.CLIENT
    found = attributes(call)
    assert found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.provider.name"] == found["gen_ai.system"] == PROVIDERS[service.name]
    assert found["gen_ai.request.model"] == connector.model
    assert found["gen_ai.request.temperature"] == 0
    assert found["gen_ai.request.max_tokens"] == 50
    assert found["gen_ai.usage.input_tokens"] == 12
    assert found["gen_ai.usage.output_tokens"] > 0
    assert found["server.address"] == "127.0.0.1"
    assert found["server.port"] == int(loopback.base_url.rsplit(":", 1)[1].split("/")[0])
    assert (found["orkes.node"], found["orkes.step"]) == ("ask", 1)
    assert call.status.status_code is StatusCode.UNSET


def test_a_refused_call_is_an_error_span_without_the_key(
    driver: Driver,
    otel: OpenTelemetry,
    spans: Spans,
    service: LoopbackService,
    connector: HttpChatConnector,
    loopback: LoopbackServer,
) -> None:
    loopback.enqueue(error_response(400, "max_tokens is too large"))

    def ask(state: S) -> dict[str, str]:
        return {"text": connector.invoke(HELLO)["content"]}

    with pytest.raises(NodeError, match="max_tokens is too large"):
        driver.run(chain(("ask", ask)), {}, otel)
    call = spans.one(f"chat {connector.model}")
    assert call.status.status_code is StatusCode.ERROR
    assert event(call, "exception")["exception.type"] == f"{BadRequest.__module__}.BadRequest"
    assert "max_tokens is too large" in event(call, "exception")["exception.message"]
    assert spans.one("node ask").status.status_code is StatusCode.ERROR
    key = connector._api_key
    assert key
    everything = [(s.name, s.attributes, [e.attributes for e in s.events]) for s in spans.all]
    assert key not in repr(everything)


# --- the extra ----------------------------------------------------------------------------


def test_without_the_extra_making_one_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "opentelemetry" or m.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(GraphDefinitionError) as caught:
        OpenTelemetry()
    assert isinstance(caught.value, OrkesError)
    assert str(caught.value) == (
        "OpenTelemetry needs the OpenTelemetry API, which is not installed: "
        'pip install "orkes[otel]"'
    )
    assert isinstance(caught.value.__cause__, ImportError)


def test_a_provider_must_be_a_tracer_provider() -> None:
    with pytest.raises(
        GraphDefinitionError, match=r"takes an opentelemetry TracerProvider .* got 'x'"
    ):
        OpenTelemetry("x")  # type: ignore[arg-type]


def test_importing_orkes_and_its_tracing_loads_no_opentelemetry() -> None:
    code = (
        "import sys, typing, orkes, orkes.tracing, orkes.tracing.otel\n"
        "from orkes import END, START, OrkesGraph, Tracer\n"
        "S = typing.TypedDict('S', {'n': int})\n"
        "g = OrkesGraph(S).add_node('a', lambda s: None)\n"
        "g.add_edge(START, 'a').add_edge('a', END).compile().run({}, tracer=Tracer())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
