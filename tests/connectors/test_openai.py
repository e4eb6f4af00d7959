from __future__ import annotations

import asyncio

import pytest

from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorTimeout,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from orkes.shared.schema import OrkesMessageSchema, ToolCall
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    error_response,
    json_response,
    sse_response,
)
from tests.connectors.openai_wire import (
    HELLO,
    OPENAI_TEST_KEY,
    TOOL_STREAM,
    completion,
    get_weather,
)

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

SECRET = OPENAI_TEST_KEY

# --- requests --------------------------------------------------------------------------


def test_invoke_posts_the_documented_request(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion()))
    openai.invoke(HELLO, temperature=0.2)
    [request] = loopback.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "name": "ada"},
        ],
    }


def test_tools_and_tool_messages_take_the_wire_shape(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion()))
    conversation: list[OrkesMessageSchema] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}],
        },
        {"role": "tool", "content": "Sunny in Oslo", "tool_call_id": "call_1", "name": "x"},
    ]
    bare = ToolSpec("ping", "", {"type": "object", "properties": {}})
    openai.invoke(conversation, tools=[get_weather, bare], tool_choice="auto")
    body = loopback.requests[0].json()
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "content": "Sunny in Oslo", "tool_call_id": "call_1"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Today's weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "description": "The city's name."}},
                    "required": ["city"],
                },
            },
        },
        {"type": "function", "function": {"name": "ping", "parameters": bare.parameters}},
    ]
    assert body["tool_choice"] == "auto"


NAMED_CHOICE = {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("get_weather", NAMED_CHOICE),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (NAMED_CHOICE, NAMED_CHOICE),
    ],
)
def test_a_tool_choice_naming_a_tool_is_sent_in_the_object_shape(
    openai: OpenAIConnector, loopback: LoopbackServer, tool_choice: object, sent: object
) -> None:
    loopback.enqueue(json_response(completion()))
    openai.invoke(HELLO, tools=[get_weather], tool_choice=tool_choice)
    assert loopback.requests[0].json()["tool_choice"] == sent


def test_an_assistant_message_with_text_and_tool_calls_keeps_its_text(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion()))
    call = ToolCall(id="c", name="get_weather", arguments={})
    openai.invoke([{"role": "assistant", "content": "Let me look.", "tool_calls": [call]}])
    assert loopback.requests[0].json()["messages"][0]["content"] == "Let me look."


def test_a_tool_message_without_tool_call_id_is_refused_before_sending(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    with pytest.raises(BadRequest, match="needs the 'tool_call_id'"):
        openai.invoke([{"role": "tool", "content": "42"}])
    assert loopback.requests == []


def test_default_params_merge_and_a_call_may_override_the_model(
    loopback: LoopbackServer,
) -> None:
    loopback.enqueue(json_response(completion()))
    with OpenAIConnector(
        "gpt-4o-mini", api_key="", base_url=loopback.url("/v1"), max_tokens=50, temperature=1
    ) as openai:
        openai.invoke(HELLO, temperature=0, model="gpt-4o", stream=True, stream_options={})
    body = loopback.requests[0].json()
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("gpt-4o", 50, 0)
    assert "stream" not in body
    assert "stream_options" not in body


def test_no_key_anywhere_sends_no_authorization_header(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    loopback.enqueue(json_response(completion()))
    with OpenAIConnector("llama3.2", base_url=loopback.url("/v1")) as local:
        assert not local.has_api_key
        assert local.invoke(HELLO)["content"] == "Hello!"
    assert "authorization" not in loopback.requests[0].headers


def test_the_key_falls_back_to_the_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    loopback.enqueue(json_response(completion()))
    with OpenAIConnector("gpt-4o-mini", base_url=loopback.url("/v1")) as openai:
        openai.invoke(HELLO)
    assert loopback.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_repr_shows_model_and_base_url_never_the_key(openai: OpenAIConnector) -> None:
    assert repr(openai) == f"OpenAIConnector(model='gpt-4o-mini', base_url='{openai.base_url}')"
    assert SECRET not in repr(vars(openai))
    assert SECRET not in str(vars(openai))
    official = OpenAIConnector("gpt-4o-mini", api_key=SECRET)
    assert repr(official) == (
        "OpenAIConnector(model='gpt-4o-mini', base_url='https://api.openai.com/v1')"
    )
    assert official.service == "OpenAI"
    assert openai.service == "OpenAI-compatible server"


# --- whole replies ----------------------------------------------------------------------


def test_invoke_returns_the_message_with_usage(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion()))
    assert openai.invoke(HELLO) == {
        "role": "assistant",
        "content": "Hello!",
        "id": "chatcmpl-123",
        "metadata": {
            "model": "gpt-4o-mini-2024-07-18",
            "finish_reason": "stop",
            "usage": {"input_tokens": 12, "output_tokens": 3},
            "raw_usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        },
    }


def test_invoke_returns_tool_calls_with_parsed_arguments(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    calls = [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
    ]  # fmt: skip
    loopback.enqueue(json_response(completion(None, tool_calls=calls, finish_reason="tool_calls")))
    reply = openai.invoke(HELLO, tools=[get_weather])
    assert reply["content"] == ""
    assert reply["tool_calls"] == [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"id": "call_2", "name": "now", "arguments": {}},
    ]
    assert reply["metadata"]["finish_reason"] == "tool_calls"


def test_malformed_tool_arguments_raise_naming_the_tool(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    calls = [{"id": "c", "type": "function",
              "function": {"name": "get_weather", "arguments": '{"city": '}}]  # fmt: skip
    loopback.enqueue(json_response(completion(None, tool_calls=calls)))
    with pytest.raises(ResponseFormatError, match="arguments for tool 'get_weather'"):
        openai.invoke(HELLO)


def test_a_reply_the_content_filter_stopped_before_any_text_is_a_bad_request(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion(None, finish_reason="content_filter")))
    with pytest.raises(BadRequest) as caught:
        openai.invoke(HELLO)
    assert str(caught.value) == (
        "OpenAI-compatible server refused the reply: finish_reason 'content_filter'; nothing "
        "was generated; rephrase the request, or leave the refused turn out of the conversation"
    )
    loopback.enqueue(json_response(completion("Once upon", finish_reason="content_filter")))
    assert openai.invoke(HELLO)["content"] == "Once upon"  # text came: the reply stands


def test_a_refusal_is_kept_in_metadata(openai: OpenAIConnector, loopback: LoopbackServer) -> None:
    answer = completion(None)
    answer["choices"][0]["message"]["refusal"] = "I can't help with that."
    loopback.enqueue(json_response(answer))
    reply = openai.invoke(HELLO)
    assert reply["content"] == ""
    assert reply["metadata"]["refusal"] == "I can't help with that."


@pytest.mark.parametrize(
    "answer",
    [
        {"choices": []},
        {"object": "list"},
        [1, 2],
        {"choices": [{"index": 0}]},
        {"error": {"message": "quota"}},
    ],
)
def test_an_answer_without_a_message_is_a_response_format_error(
    openai: OpenAIConnector, loopback: LoopbackServer, answer: object
) -> None:
    loopback.enqueue(json_response(answer))
    with pytest.raises(ResponseFormatError, match=r"answered without choices\[0\]\.message"):
        openai.invoke(HELLO)


def test_a_minimal_local_server_answer_is_enough(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(
        json_response({"choices": [{"message": {"role": "assistant", "content": "ok"}}]})
    )
    assert openai.invoke(HELLO) == {"role": "assistant", "content": "ok"}


# --- errors and retries -----------------------------------------------------------------


def test_401_is_an_authentication_error_without_retry_or_key(
    openai: OpenAIConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(error_response(401, f"Incorrect API key provided: {SECRET}."))
    with pytest.raises(AuthenticationError) as caught:
        openai.invoke(HELLO)
    assert caught.value.status == 401
    assert caught.value.service_message == "Incorrect API key provided: ***."
    assert SECRET not in str(caught.value)
    assert "OpenAI-compatible server at 127.0.0.1" in str(caught.value)
    assert recording_sleep.delays == []


def test_400_is_a_bad_request_with_the_service_message(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(error_response(400, "Invalid value for 'temperature'."))
    with pytest.raises(BadRequest) as caught:
        openai.invoke(HELLO, temperature=9)
    assert caught.value.service_message == "Invalid value for 'temperature'."
    assert str(caught.value).endswith(
        "(POST /v1/chat/completions) answered 400 Bad Request: Invalid value for 'temperature'."
    )


def test_429_with_retry_after_then_success(
    openai: OpenAIConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(
        error_response(429, "Rate limit reached", headers={"Retry-After": "3"}),
        json_response(completion("late")),
    )
    assert openai.invoke(HELLO)["content"] == "late"
    assert recording_sleep.delays == [3.0]


def test_429_exhausted_is_rate_limited(
    openai: OpenAIConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(*[error_response(429, "slow", headers={"Retry-After": "1"})] * 4)
    with pytest.raises(RateLimited) as caught:
        openai.invoke(HELLO)
    assert caught.value.retry_after == 1.0
    assert recording_sleep.delays == [1.0, 1.0, 1.0]


def test_500_then_success_and_500_exhausted(
    openai: OpenAIConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(error_response(500, "boom"), json_response(completion("fine")))
    assert openai.invoke(HELLO)["content"] == "fine"
    loopback.enqueue(*[error_response(500, "boom")] * 4)
    with pytest.raises(ServiceError, match="after 4 attempts"):
        openai.invoke(HELLO)
    assert len(recording_sleep.delays) == 4


def test_timeout(loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(completion(), delay=2))
    with (
        OpenAIConnector("m", api_key="", base_url=loopback.url("/v1"), timeout=0.2) as openai,
        pytest.raises(ConnectorTimeout),
    ):
        openai.invoke(HELLO)


def test_async_invoke_and_stream(openai: OpenAIConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(completion("whole")), sse_response(TOOL_STREAM))

    async def main() -> tuple[OrkesMessageSchema, list[str], OrkesMessageSchema]:
        whole = await openai.ainvoke(HELLO)
        async with openai.astream(HELLO, tools=[get_weather]) as stream:
            chunks = [text async for text in stream]
        return whole, chunks, stream.message

    whole, chunks, streamed = asyncio.run(main())
    assert whole["content"] == "whole"
    assert chunks == []
    assert [call["arguments"] for call in streamed["tool_calls"]] == [
        {"city": "Oslo"},
        {"city": "Rome"},
    ]


def test_the_event_loop_keeps_running_during_a_slow_answer(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(completion(), delay=0.3))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        ticking = asyncio.create_task(ticker())
        try:
            await openai.ainvoke(HELLO)
        finally:
            ticking.cancel()

    asyncio.run(main())
    assert ticks >= 10
