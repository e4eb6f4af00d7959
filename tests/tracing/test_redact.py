"""Secrets never reach a trace: keys by name, keys by look, known keys anywhere.

Each kind is checked where it can show: the state, updates, gate answers, error messages
and tracebacks, LLM messages, parameters and request headers — and in the JSON file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypedDict

import pytest

from orkes import END, START, GraphRunner, OrkesGraph
from orkes.connectors.openai import OpenAIConnector
from orkes.errors import GraphDefinitionError, NodeError
from orkes.shared.schema import OrkesMessageSchema
from orkes.tracing import REDACTED, Redact, Repr, Trace, Tracer, traced
from orkes.tracing._clean import Cleaner
from tests.connectors import openai_wire
from tests.connectors.loopback import LoopbackServer, RecordingSleep, json_response
from tests.tracing.drivers import Driver

OPENAI_KEY = "sk-proj-Abc123Def456Ghi789"
ANTHROPIC_KEY = "sk-ant-api03-Zyx987Wvu654"
GOOGLE_KEY = "AIzaSyD-0123456789abcdefghijklmno"
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature"


class Bag(TypedDict, total=False):
    """A state that holds whatever a test puts in it."""

    payload: Any
    note: str


def run_once(node: Any, state: Bag, tracer: Tracer, driver: Driver | None = None) -> Trace:
    graph = OrkesGraph(Bag).add_node("node", node)
    runner = GraphRunner(graph.add_edge(START, "node").add_edge("node", END).compile())
    if driver is None:
        runner.run(state, tracer=tracer)
    else:
        driver.run(runner, state, tracer)
    trace = tracer.last
    assert trace is not None
    return trace


def everything_in(trace: Trace) -> str:
    """All the trace holds, as the JSON text a file would."""
    return json.dumps(trace.to_dict())


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "OPENAI_API_KEY",
        "x-api-key",
        "X-Api-Key",
        "x-goog-api-key",
        "apikey",
        "Authorization",
        "proxy-authorization",
        "token",
        "access_token",
        "refresh_token",
        "HF_TOKEN",
        "x-auth-token",
        "client_secret",
        "SECRET",
        "password",
        "db_password",
        "cookie",
    ],
)
def test_a_key_named_like_a_secret_is_hidden(key: str) -> None:
    assert Redact().hides_key(key)
    assert Cleaner(Redact()).mapping({key: "s3cr3t", "other": 1}) == {key: REDACTED, "other": 1}


@pytest.mark.parametrize(
    "key",
    [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "max_tokens",
        "max_completion_tokens",
        "prompt_tokens_details",
        "promptTokenCount",
        "totalTokenCount",
        "token_count",
        "tokens",
        "tokenizer",
        "content",
        "role",
    ],
)
def test_a_token_count_or_an_ordinary_key_is_kept(key: str) -> None:
    assert not Redact().hides_key(key)
    assert Cleaner(Redact()).mapping({key: 12}) == {key: 12}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"my key is {OPENAI_KEY}!", f"my key is {REDACTED}!"),
        (f"anthropic={ANTHROPIC_KEY}", f"anthropic={REDACTED}"),
        (f"google {GOOGLE_KEY} key", f"google {REDACTED} key"),
        (f"header {BEARER}", f"header {REDACTED}"),
        ("sk-short and a task-list", "sk-short and a task-list"),  # too short to be a key
    ],
)
def test_a_value_that_looks_like_a_key_is_hidden_inside_any_string(text: str, kept: str) -> None:
    assert Cleaner(Redact()).value({"deep": [text]}) == {"deep": [kept]}


def test_secrets_are_hidden_in_the_state_updates_gates_and_errors(driver: Driver) -> None:
    def leak(state: Bag) -> dict[str, Any]:
        raise RuntimeError(f"could not log in with {OPENAI_KEY}")

    tracer = Tracer()
    with pytest.raises(NodeError):
        run_once(
            leak, {"payload": {"api_key": "plain-key", "n": 1}, "note": BEARER}, tracer, driver
        )
    trace = tracer.last
    assert trace is not None
    assert trace.state == {"payload": {"api_key": REDACTED, "n": 1}, "note": REDACTED}
    error = trace.tasks[0].error
    assert error is not None
    assert error.message == f"could not log in with {REDACTED}"
    assert trace.error is not None
    assert OPENAI_KEY not in trace.error.message
    assert OPENAI_KEY not in trace.error.traceback
    assert OPENAI_KEY not in error.traceback
    assert OPENAI_KEY not in everything_in(trace)
    assert "plain-key" not in everything_in(trace)


def test_secrets_are_hidden_in_updates_and_gate_answers(driver: Driver) -> None:
    def write(state: Bag) -> dict[str, Any]:
        return {"payload": [{"password": "hunter22"}], "note": f"key {GOOGLE_KEY}"}

    def route(state: Bag) -> str:
        return f"to END with {ANTHROPIC_KEY}"

    graph = OrkesGraph(Bag).add_node(write).add_edge(START, "write")
    graph.add_conditional_edge("write", route, default=END)
    tracer = Tracer()
    driver.run(GraphRunner(graph.compile()), {}, tracer)
    trace = tracer.last
    assert trace is not None
    assert trace.tasks[0].update == {"payload": [{"password": REDACTED}], "note": f"key {REDACTED}"}
    (gate,) = trace.steps[0].gates
    assert gate.value == f"to END with {REDACTED}"
    text = everything_in(trace)
    assert "hunter22" not in text
    assert GOOGLE_KEY not in text
    assert ANTHROPIC_KEY not in text


def test_llm_messages_params_and_headers_are_redacted(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, tmp_path: Path
) -> None:
    local_key = "local-server-key-42"  # looks like nothing: hidden because the connector holds it
    connector = OpenAIConnector(
        "gpt-4o-mini", api_key=local_key, base_url=loopback.url("/v1"), timeout=2,
        sleep=recording_sleep,
    )  # fmt: skip
    loopback.enqueue(json_response(openai_wire.completion(f"I saw {OPENAI_KEY}")))

    def ask(state: Bag) -> dict[str, str]:
        messages: list[OrkesMessageSchema] = [
            {"role": "user", "content": f"keys: {OPENAI_KEY} and {local_key}"}
        ]
        reply = connector.invoke(messages, user_token="tok-123456", temperature=0)
        return {"note": f"{reply['content']} / {local_key}"}

    tracer = Tracer(tmp_path)
    with connector:
        trace = run_once(ask, {}, tracer)
    (call,) = trace.llm_calls
    assert call.headers["Authorization"] == REDACTED
    assert call.params == {"user_token": REDACTED, "temperature": 0}
    assert call.messages == [{"role": "user", "content": f"keys: {REDACTED} and {REDACTED}"}]
    assert call.reply is not None
    assert call.reply["content"] == f"I saw {REDACTED}"
    assert call.usage == {"input_tokens": 12, "output_tokens": 3}
    assert trace.state["note"] == f"I saw {REDACTED} / {REDACTED}"
    (written,) = tmp_path.glob("*.json")
    on_disk = written.read_text(encoding="utf-8")
    for secret in (OPENAI_KEY, local_key, "tok-123456"):
        assert secret not in everything_in(trace)
        assert secret not in on_disk
    # What the service got was the real thing: only the trace hides it.
    assert loopback.requests[0].headers["authorization"] == f"Bearer {local_key}"


def test_a_wrapped_connectors_secret_attributes_are_learned() -> None:
    class Homemade:
        def __init__(self) -> None:
            self.token = "homemade-token-value"

        def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
            return {"role": "assistant", "content": f"signed {self.token}"}

    llm = traced(Homemade())

    def ask(state: Bag) -> dict[str, str]:
        return {"note": llm.invoke([{"role": "user", "content": "hi"}])["content"]}

    trace = run_once(ask, {}, Tracer())
    assert trace.state == {"note": f"signed {REDACTED}"}
    assert "homemade-token-value" not in everything_in(trace)


def test_the_rules_are_configurable(driver: Driver) -> None:
    rules = Redact(
        keys=(*Redact.DEFAULT_KEYS, "ssn"),
        values=(r"\b\d{3}-\d{2}-\d{4}\b",),
        secrets=("hunter2",),
    )
    tracer = Tracer(redact=rules)

    def write(state: Bag) -> dict[str, Any]:
        return {"payload": {"ssn": "x", "id": "123-45-6789", "pw": "is hunter2"}}

    trace = run_once(write, {}, tracer, driver)
    assert trace.state["payload"] == {"ssn": REDACTED, "id": REDACTED, "pw": f"is {REDACTED}"}
    assert tracer.redact is rules


def test_rules_that_hide_nothing_keep_everything() -> None:
    cleaner = Cleaner(Redact(keys=(), allow=(), values=()))
    assert cleaner.value({"api_key": OPENAI_KEY}) == {"api_key": OPENAI_KEY}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"keys": "*token*"}, r"Redact\(keys=...\) takes a tuple of strings, got '\*token\*'"),
        ({"values": (1,)}, r"Redact\(values=...\) takes a tuple of strings"),
        ({"values": ("(unclosed",)}, r"'\(unclosed' is not a regular expression"),
        ({"values": ("(?i)sk-",)}, "use scoped flags such as"),
        ({"secrets": ("abc",)}, "'abc' is too short to hide safely"),
    ],
)
def test_bad_rules_are_refused_saying_what_would_be_right(
    rules: dict[str, Any], message: str
) -> None:
    with pytest.raises(GraphDefinitionError, match=message):
        Redact(**rules)


def test_values_that_are_not_json_are_kept_as_their_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    loop: list[Any] = [1]
    loop.append(loop)
    deep: Any = "bottom"
    for _ in range(80):
        deep = [deep]
    cleaner = Cleaner(Redact())
    assert cleaner.value({1, 2}) == Repr("{1, 2}", "set")
    assert cleaner.value(math.inf) == Repr("inf", "float")
    assert cleaner.value({1: "a"}) == Repr("{1: 'a'}", "dict")
    assert cleaner.value({"$repr": "x"}) == Repr("{'$repr': 'x'}", "dict")
    assert cleaner.value(loop) == [1, Repr("...", "list")]
    assert cleaner.value((1, "two")) == [1, "two"]
    assert cleaner.value(Broken()).text.endswith("Broken whose repr raised ValueError>")
    assert cleaner.value(f"key:{OPENAI_KEY}") == f"key:{REDACTED}"
    assert cleaner.value("task-0123456789ab") == "task-0123456789ab"  # no key inside a word
    assert cleaner.value(Repr("kept", "t")) == Repr("kept", "t")  # cleaning twice changes nothing
    depth = 0
    walked = cleaner.value(deep)
    while isinstance(walked, list):
        walked, depth = walked[0], depth + 1
    assert walked == Repr("...", "list")
    assert depth == 64


def test_a_node_that_changes_a_list_later_does_not_change_what_was_recorded(
    driver: Driver,
) -> None:
    shared: list[str] = ["first"]

    def hand_out(state: Bag) -> dict[str, Any]:
        return {"payload": shared}

    def change_it(state: Bag) -> None:
        state["payload"].append("second")

    graph = OrkesGraph(Bag).add_node(hand_out).add_node(change_it)
    graph.add_edge(START, "hand_out").add_edge("hand_out", "change_it").add_edge("change_it", END)
    tracer = Tracer()
    driver.run(GraphRunner(graph.compile()), {}, tracer)
    trace = tracer.last
    assert trace is not None
    assert trace.tasks[0].update == {"payload": ["first"]}
    assert trace.state == {"payload": ["first", "second"]}
