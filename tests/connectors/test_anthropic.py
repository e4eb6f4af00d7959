from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from orkes.connectors.anthropic import ANTHROPIC_VERSION, AnthropicConnector
from orkes.connectors.tools import ToolSpec
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorError,
    ConnectorTimeout,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from orkes.shared.schema import OrkesMessageSchema, ToolCall
from tests.connectors.anthropic_wire import (
    ANTHROPIC_TEST_KEY,
    HELLO,
    MODEL,
    REDACTED_THOUGHT,
    THOUGHT,
    TOOL_STREAM,
    USAGE,
    WEATHER_CALL,
    anthropic_error,
    connector_on,
    get_weather,
    message,
)
from tests.connectors.loopback import LoopbackServer, RecordingSleep, json_response, sse_response

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

SECRET = ANTHROPIC_TEST_KEY


@pytest.fixture
def anthropic(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> Iterator[AnthropicConnector]:
    with connector_on(loopback, recording_sleep) as connector:
        yield connector


def sent_body(
    anthropic: AnthropicConnector,
    loopback: LoopbackServer,
    messages: list[OrkesMessageSchema],
    **options: Any,
) -> Any:
    """Invoke with ``messages`` and return the JSON body the server received."""
    loopback.enqueue(json_response(message()))
    anthropic.invoke(messages, **options)
    return loopback.requests[-1].json()


def text(words: str) -> dict[str, str]:
    return {"type": "text", "text": words}


# --- requests --------------------------------------------------------------------------


def test_invoke_posts_the_documented_request(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(message()))
    anthropic.invoke(HELLO, temperature=0.2)
    [request] = loopback.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == SECRET
    assert request.headers["anthropic-version"] == ANTHROPIC_VERSION == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert request.json() == {
        "model": MODEL,
        "max_tokens": 1024,
        "temperature": 0.2,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [text("Hi")]}],
    }


def test_every_system_message_is_lifted_and_joined(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    conversation: list[OrkesMessageSchema] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": ""},
        {"role": "system", "content": "Answer in French."},
        {"role": "assistant", "content": "Bonjour."},
    ]
    body = sent_body(anthropic, loopback, conversation)
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [
        {"role": "user", "content": [text("Hi")]},
        {"role": "assistant", "content": [text("Bonjour.")]},
    ]
    assert "system" not in sent_body(anthropic, loopback, [{"role": "user", "content": "Hi"}])


def test_a_system_parameter_is_sent_as_given_but_not_beside_system_messages(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    cached = [{"type": "text", "text": "Long rules.", "cache_control": {"type": "ephemeral"}}]
    body = sent_body(anthropic, loopback, [{"role": "user", "content": "Hi"}], system=cached)
    assert body["system"] == cached
    with pytest.raises(BadRequest, match="as system messages or as system=, not both"):
        anthropic.invoke(HELLO, system=cached)
    assert len(loopback.requests) == 1


def test_tool_calls_and_results_become_content_blocks(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    conversation: list[OrkesMessageSchema] = [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}},
                {"id": "toolu_B", "name": "get_weather", "arguments": {"city": "Rome"}},
            ],
        },
        {"role": "tool", "content": "Sunny in Oslo", "tool_call_id": "toolu_A", "name": "x"},
        {"role": "tool", "content": "Rain in Rome", "tool_call_id": "toolu_B"},
        {"role": "user", "content": "And Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "toolu_C", "name": "get_weather", "arguments": {}}],
        },
        {"role": "tool", "content": "", "tool_call_id": "toolu_C"},
    ]
    body = sent_body(anthropic, loopback, conversation)
    assert body["messages"] == [
        {"role": "user", "content": [text("Weather in Oslo and Rome?")]},
        {
            "role": "assistant",
            "content": [
                text("Let me check."),
                {"type": "tool_use", "id": "toolu_A", "name": "get_weather",
                 "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_B", "name": "get_weather",
                 "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_A", "content": "Sunny in Oslo"},
                {"type": "tool_result", "tool_use_id": "toolu_B", "content": "Rain in Rome"},
                text("And Paris?"),
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_C", "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_C",
                                      "content": ""}]},
    ]  # fmt: skip


def test_consecutive_messages_of_one_role_merge_with_tool_results_first(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    conversation: list[OrkesMessageSchema] = [
        {"role": "user", "content": "One."},
        {"role": "user", "content": "Two."},
        {"role": "assistant", "content": "Calling.", "tool_calls": [
            {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"role": "user", "content": "(The tool is slow.)"},
        {"role": "tool", "content": "Sunny", "tool_call_id": "toolu_A"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": "First."},
        {"role": "assistant", "content": "Second."},
    ]  # fmt: skip
    assert sent_body(anthropic, loopback, conversation)["messages"] == [
        {"role": "user", "content": [text("One."), text("Two.")]},
        {"role": "assistant", "content": [
            text("Calling."),
            {"type": "tool_use", "id": "toolu_A", "name": "get_weather",
             "input": {"city": "Oslo"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_A", "content": "Sunny"},
            text("(The tool is slow.)"),
        ]},
        {"role": "assistant", "content": [text("First."), text("Second.")]},
    ]  # fmt: skip


def test_thinking_blocks_lead_the_merged_assistant_turn(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    call = ToolCall(id="toolu_A", name="get_weather", arguments={"city": "Oslo"})
    conversation: list[OrkesMessageSchema] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "One moment."},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call],
         "metadata": {"anthropic_thinking": [THOUGHT, REDACTED_THOUGHT], "model": MODEL}},
    ]  # fmt: skip
    assert sent_body(anthropic, loopback, conversation)["messages"] == [
        {"role": "user", "content": [text("Weather in Oslo?")]},
        {"role": "assistant", "content": [
            THOUGHT, REDACTED_THOUGHT, text("One moment."), text("Let me check."), WEATHER_CALL,
        ]},
    ]  # fmt: skip


def test_a_tool_message_without_tool_call_id_is_refused_before_sending(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    with pytest.raises(BadRequest, match="needs the 'tool_call_id'"):
        anthropic.invoke([{"role": "tool", "content": "42"}])
    assert loopback.requests == []


def test_tools_given_as_functions_and_specs_take_the_wire_shape(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    bare = ToolSpec("ping", "", {"type": "object", "properties": {}})
    body = sent_body(anthropic, loopback, HELLO, tools=[get_weather, bare])
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Today's weather in a city.",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city's name."}},
                "required": ["city"],
            },
        },
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in body
    assert "tools" not in sent_body(anthropic, loopback, HELLO, tools=[])


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("any", {"type": "any"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"type": "auto", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_tool_choice_takes_the_object_shape(
    anthropic: AnthropicConnector, loopback: LoopbackServer, given: object, sent: object
) -> None:
    body = sent_body(anthropic, loopback, HELLO, tools=[get_weather], tool_choice=given)
    assert body["tool_choice"] == sent


def test_max_tokens_is_always_sent_and_params_override(loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(message()), json_response(message()))
    with AnthropicConnector(
        MODEL, api_key="k", base_url=loopback.base_url, max_tokens=50, temperature=1, top_k=5
    ) as anthropic:
        assert anthropic.max_tokens == 50
        anthropic.invoke(HELLO)
        anthropic.invoke(HELLO, temperature=0, max_tokens=7, model="claude-sonnet-4-5", stream=True)
    first, second = (request.json() for request in loopback.requests)
    assert (first["model"], first["max_tokens"], first["temperature"], first["top_k"]) == (
        MODEL, 50, 1, 5,
    )  # fmt: skip
    assert (second["model"], second["max_tokens"], second["temperature"]) == (
        "claude-sonnet-4-5", 7, 0,
    )  # fmt: skip
    assert "stream" not in second


@pytest.mark.parametrize("max_tokens", [0, -1])
def test_max_tokens_below_one_is_refused(max_tokens: int) -> None:
    with pytest.raises(ConnectorError, match=f"max_tokens must be at least 1, got {max_tokens}"):
        AnthropicConnector(MODEL, api_key="k", max_tokens=max_tokens)


def test_the_key_falls_back_to_the_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    loopback.enqueue(json_response(message()), json_response(message()))
    with AnthropicConnector(MODEL, base_url=loopback.base_url) as anthropic:
        assert anthropic.has_api_key
        anthropic.invoke(HELLO)
    with AnthropicConnector(MODEL, api_key="", base_url=loopback.base_url) as keyless:
        assert not keyless.has_api_key
        keyless.invoke(HELLO)
    assert loopback.requests[0].headers["x-api-key"] == "sk-ant-from-env"
    assert "x-api-key" not in loopback.requests[1].headers
    assert loopback.requests[1].headers["anthropic-version"] == "2023-06-01"


def test_repr_shows_model_and_base_url_never_the_key(anthropic: AnthropicConnector) -> None:
    assert (
        repr(anthropic) == f"AnthropicConnector(model='{MODEL}', base_url='{anthropic.base_url}')"
    )
    assert SECRET not in repr(vars(anthropic))
    assert SECRET not in str(vars(anthropic))
    assert anthropic.service == "Anthropic-compatible server"
    official = AnthropicConnector(MODEL, api_key=SECRET)
    assert (
        repr(official)
        == f"AnthropicConnector(model='{MODEL}', base_url='https://api.anthropic.com')"
    )
    assert official.service == "Anthropic"
    official.close()


# --- whole replies ----------------------------------------------------------------------


def test_invoke_returns_the_message_with_usage(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(message()))
    assert anthropic.invoke(HELLO) == {
        "role": "assistant",
        "content": "Hello!",
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "metadata": {
            "model": "claude-haiku-4-5-20251001",
            "finish_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 6},
            "raw_usage": USAGE,
        },
    }


def test_invoke_joins_text_blocks_and_returns_tool_calls(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    content: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "The user wants weather.", "signature": "EqQB"},
        {"type": "text", "text": "Let me check "},
        {"type": "text", "text": "both."},
        {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_B", "name": "now", "input": {}},
    ]
    loopback.enqueue(json_response(message(content, stop_reason="tool_use")))
    reply = anthropic.invoke(HELLO, tools=[get_weather])
    assert reply["content"] == "Let me check both."
    assert reply["tool_calls"] == [
        {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"id": "toolu_B", "name": "now", "arguments": {}},
    ]
    assert reply["metadata"]["finish_reason"] == "tool_use"


def test_thinking_blocks_are_kept_and_sent_back_first_in_the_turn_that_called_tools(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    content = [THOUGHT, REDACTED_THOUGHT, text("Let me check."), WEATHER_CALL]
    loopback.enqueue(json_response(message(content, stop_reason="tool_use")))
    loopback.enqueue(json_response(message([text("Sunny in Oslo.")])))
    thinking = {"type": "enabled", "budget_tokens": 2000}
    question: OrkesMessageSchema = {"role": "user", "content": "Weather in Oslo?"}
    asked = anthropic.invoke([question], tools=[get_weather], max_tokens=4000, thinking=thinking)
    assert asked["content"] == "Let me check."
    assert asked["tool_calls"] == [
        {"id": "toolu_A", "name": "get_weather", "arguments": {"city": "Oslo"}}
    ]
    assert asked["metadata"]["anthropic_thinking"] == [THOUGHT, REDACTED_THOUGHT]
    answer: OrkesMessageSchema = {
        "role": "tool", "content": "Sunny in Oslo", "tool_call_id": "toolu_A"
    }  # fmt: skip
    final = anthropic.invoke(
        [question, asked, answer], tools=[get_weather], max_tokens=4000, thinking=thinking
    )
    assert "anthropic_thinking" not in final["metadata"]
    assert loopback.requests[1].json() == {
        "model": MODEL,
        "max_tokens": 4000,
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": [text("Weather in Oslo?")]},
            {"role": "assistant", "content": [
                THOUGHT, REDACTED_THOUGHT, text("Let me check."), WEATHER_CALL,
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_A", "content": "Sunny in Oslo"},
            ]},
        ],
        "tools": loopback.requests[0].json()["tools"],
    }  # fmt: skip


def test_the_stop_sequence_that_matched_is_kept(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    answer = message(stop_reason="stop_sequence")
    answer["stop_sequence"] = "END"
    loopback.enqueue(json_response(answer))
    metadata = anthropic.invoke(HELLO, stop_sequences=["END"])["metadata"]
    assert (metadata["finish_reason"], metadata["stop_sequence"]) == ("stop_sequence", "END")
    assert loopback.requests[0].json()["stop_sequences"] == ["END"]


def test_a_refusal_before_any_text_is_a_bad_request_with_the_explanation(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    refused = message([], stop_reason="refusal")
    explanation = "This request was declined because it could enable cyber harm."
    refused["stop_details"] = {"type": "refusal", "category": "cyber", "explanation": explanation}
    loopback.enqueue(json_response(refused))
    with pytest.raises(BadRequest) as caught:
        anthropic.invoke(HELLO)
    assert str(caught.value) == (
        f"Anthropic-compatible server refused the reply: stop_reason 'refusal' ({explanation}); "
        "nothing was generated; rephrase the request, or leave the refused turn out of the "
        "conversation"
    )
    assert caught.value.service_message == explanation
    partly = message([{"type": "text", "text": "Hello.."}], stop_reason="refusal")
    loopback.enqueue(json_response(partly))
    reply = anthropic.invoke(HELLO)  # text came: the reply stands, its reason says why it ends
    assert (reply["content"], reply["metadata"]["finish_reason"]) == ("Hello..", "refusal")


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        ({"type": "tool_use", "id": "t", "input": {}}, "without a tool name"),
        ({"type": "tool_use", "id": "t", "name": "f", "input": [1]}, "as list, not a JSON object"),
    ],
)
def test_a_malformed_tool_use_block_is_a_response_format_error(
    anthropic: AnthropicConnector,
    loopback: LoopbackServer,
    block: dict[str, Any],
    complaint: str,
) -> None:
    loopback.enqueue(json_response(message([block])))
    with pytest.raises(ResponseFormatError, match=complaint):
        anthropic.invoke(HELLO)


@pytest.mark.parametrize(
    "answer",
    [
        {"type": "message", "content": None},
        {"type": "error", "error": {"type": "api_error", "message": "Internal"}},
        [1, 2],
        "text",
    ],
)
def test_an_answer_without_content_is_a_response_format_error(
    anthropic: AnthropicConnector, loopback: LoopbackServer, answer: object
) -> None:
    loopback.enqueue(json_response(answer))
    with pytest.raises(ResponseFormatError, match="answered without a content list"):
        anthropic.invoke(HELLO)


def test_a_minimal_answer_is_enough(
    anthropic: AnthropicConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response({"content": [{"type": "text", "text": "ok"}, "junk"]}))
    assert anthropic.invoke(HELLO) == {"role": "assistant", "content": "ok"}


# --- errors and retries -----------------------------------------------------------------


def test_401_is_an_authentication_error_without_retry_or_key(
    anthropic: AnthropicConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(anthropic_error(401, "authentication_error", f"invalid x-api-key {SECRET}"))
    with pytest.raises(AuthenticationError) as caught:
        anthropic.invoke(HELLO)
    assert caught.value.status == 401
    assert caught.value.service_message == "invalid x-api-key ***"
    assert SECRET not in str(caught.value)
    assert "Anthropic-compatible server at 127.0.0.1" in str(caught.value)
    assert recording_sleep.delays == []


def test_400_is_a_bad_request_with_the_service_message(
    anthropic: AnthropicConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    complaint = "messages.0.content.0.text: text content blocks must be non-empty"
    loopback.enqueue(anthropic_error(400, "invalid_request_error", complaint))
    with pytest.raises(BadRequest) as caught:
        anthropic.invoke(HELLO)
    assert caught.value.status == 400
    assert caught.value.service_message == complaint
    assert str(caught.value).endswith(f"(POST /v1/messages) answered 400 Bad Request: {complaint}")
    assert recording_sleep.delays == []


def test_429_with_retry_after_then_success_logs_no_key(
    anthropic: AnthropicConnector,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    limited = anthropic_error(429, "rate_limit_error", "Number of requests exceeded", **{
        "retry-after": "3"})  # fmt: skip
    loopback.enqueue(limited, json_response(message([{"type": "text", "text": "late"}])))
    assert anthropic.invoke(HELLO)["content"] == "late"
    assert recording_sleep.delays == [3.0]
    assert len(loopback.requests) == 2
    assert "answered 429" in caplog.text
    assert SECRET not in caplog.text


def test_429_exhausted_is_rate_limited_with_the_hint(
    anthropic: AnthropicConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    limited = anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "1"})
    loopback.enqueue(*[limited] * 4)
    with pytest.raises(RateLimited) as caught:
        anthropic.invoke(HELLO)
    assert (caught.value.retry_after, caught.value.service_message) == (1.0, "slow down")
    assert recording_sleep.delays == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(("status", "error_type"), [(529, "overloaded_error"), (500, "api_error")])
def test_overloaded_and_server_errors_are_retried(
    anthropic: AnthropicConnector,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    status: int,
    error_type: str,
) -> None:
    failure = anthropic_error(status, error_type, "Overloaded")
    loopback.enqueue(failure, failure, json_response(message([text("fine")])))
    assert anthropic.invoke(HELLO)["content"] == "fine"
    assert len(recording_sleep.delays) == 2
    loopback.enqueue(*[failure] * 4)
    with pytest.raises(
        ServiceError, match=r"answered \d+.*\(after 4 attempts\): Overloaded$"
    ) as caught:
        anthropic.invoke(HELLO)
    assert (caught.value.status, caught.value.service_message) == (status, "Overloaded")


def test_timeout(loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(message(), delay=2))
    with (
        AnthropicConnector(MODEL, api_key="", base_url=loopback.base_url, timeout=0.2) as slow,
        pytest.raises(ConnectorTimeout, match=r"did not answer within 0\.2 s"),
    ):
        slow.invoke(HELLO)


def test_async_invoke_and_stream(anthropic: AnthropicConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(message([text("whole")])), sse_response(TOOL_STREAM))

    async def main() -> tuple[OrkesMessageSchema, list[str], OrkesMessageSchema]:
        whole = await anthropic.ainvoke(HELLO)
        async with anthropic.astream(HELLO, tools=[get_weather]) as stream:
            chunks = [chunk async for chunk in stream]
        return whole, chunks, stream.message

    whole, chunks, streamed = asyncio.run(main())
    assert whole["content"] == "whole"
    assert chunks == ["Let me check."]
    assert [call["arguments"] for call in streamed["tool_calls"]] == [
        {"city": "Oslo"},
        {"city": "Rome"},
    ]
    assert loopback.requests[1].json()["stream"] is True
