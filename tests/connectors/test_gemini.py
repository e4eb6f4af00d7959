from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from orkes.connectors._chat.gemini_request import fits_gemini_schema, split_params
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.tools import ToolSpec
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorTimeout,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.gemini_wire import (
    GEMINI_TEST_KEY,
    GENERATE,
    HELLO,
    MODEL,
    TOOL_STREAM,
    call_part,
    connector,
    error_body,
    get_weather,
    response,
    text_part,
    usage,
)
from tests.connectors.loopback import (
    LoopbackServer,
    RecordingSleep,
    json_response,
    sse_response,
)

pytestmark = pytest.mark.usefixtures("transport_kind")  # once per transport: conftest.py

SECRET = GEMINI_TEST_KEY


@pytest.fixture
def gemini(loopback: LoopbackServer, recording_sleep: RecordingSleep) -> Iterator[GeminiConnector]:
    with connector(loopback, recording_sleep) as gemini_connector:
        yield gemini_connector


# --- requests --------------------------------------------------------------------------


def test_invoke_posts_the_documented_request(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("Hello!"))))
    gemini.invoke(HELLO, temperature=0.2)
    [request] = loopback.requests
    assert (request.method, request.path) == ("POST", GENERATE)
    assert request.headers["x-goog-api-key"] == SECRET
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert SECRET not in request.path
    assert "key=" not in request.path
    assert request.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.2},
    }


def test_every_system_message_joins_the_system_instruction(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))
    gemini.invoke(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Bye"},
        ]
    )
    body = loopback.requests[0].json()
    assert body["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "Answer in French."}]
    }
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello."}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]
    assert "generationConfig" not in body


def test_a_multi_turn_tool_conversation_takes_the_wire_shape(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("Sunny in both."))))
    made_up = "orkes_call_0123456789abcdef01234567"
    conversation: list[OrkesMessageSchema] = [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"id": "fc-1", "name": "get_weather", "arguments": {"city": "Oslo"}},
                {"id": made_up, "name": "get_weather", "arguments": {"city": "Rome"}},
            ],
            "metadata": {"thought_signatures": {"fc-1": "sig-A", "other": 7}},
        },
        {"role": "tool", "content": '{"sky": "clear", "c": 21}', "tool_call_id": "fc-1"},
        {"role": "tool", "content": "Sunny in Rome", "tool_call_id": made_up},
        {"role": "user", "content": "And tomorrow?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_7", "name": "forecast", "arguments": {}},
        ]},
        {"role": "tool", "content": "[1, 2]", "tool_call_id": "call_7", "name": "forecast_v2"},
    ]  # fmt: skip
    gemini.invoke(conversation, tools=[get_weather])
    assert loopback.requests[0].json()["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Oslo and Rome?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me look."},
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "fc-1"},
                    "thoughtSignature": "sig-A",
                },
                {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"sky": "clear", "c": 21},
                        "id": "fc-1",
                    }
                },
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "Sunny in Rome"},
                    }
                },
            ],
        },
        {"role": "user", "parts": [{"text": "And tomorrow?"}]},
        {"role": "model",
         "parts": [{"functionCall": {"name": "forecast", "args": {}, "id": "call_7"}}]},
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "forecast_v2",
                        "response": {"result": "[1, 2]"},
                        "id": "call_7",
                    }
                }
            ],
        },
    ]  # fmt: skip


def test_empty_text_is_never_sent_the_service_refuses_it(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))
    gemini.invoke(
        [
            {"role": "system", "content": ""},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": ""},  # a reply cut by max_tokens, say
            {"role": "user", "content": ""},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "name": "get_weather", "arguments": {"city": "Rome"}}]},
        ]
    )  # fmt: skip
    body = loopback.requests[0].json()
    assert "systemInstruction" not in body
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "call_1"}}]},
    ]  # fmt: skip


def test_empty_system_messages_beside_others_leave_only_the_others(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))
    messages: list[OrkesMessageSchema] = [
        {"role": "system", "content": ""},
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    gemini.invoke(messages)
    assert loopback.requests[0].json()["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


@pytest.mark.parametrize(
    "message",
    [
        {"role": "tool", "content": "42"},
        {"role": "tool", "content": "42", "tool_call_id": "unknown"},
    ],
)
def test_a_tool_message_that_names_no_function_is_refused_before_sending(
    gemini: GeminiConnector, loopback: LoopbackServer, message: OrkesMessageSchema
) -> None:
    with pytest.raises(BadRequest, match="needs the 'name' of its function"):
        gemini.invoke([{"role": "user", "content": "Hi"}, message])
    assert loopback.requests == []


def test_tools_as_functions_and_specs_become_function_declarations(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))

    def search(query: str, limit: int | None = None, tags: dict[str, str] | None = None) -> str:
        """Search the notes."""
        return query

    ping = ToolSpec("ping", "", {"type": "object", "properties": {}, "required": []})
    closed = ToolSpec("stop", "Stop.", {"type": "object", "additionalProperties": False})
    gemini.invoke(HELLO, tools=[get_weather, search, ping, closed], tool_config={"x": 1})
    body = loopback.requests[0].json()
    [declarations_holder] = body["tools"]
    declarations = declarations_holder["functionDeclarations"]
    assert declarations[0] == {
        "name": "get_weather",
        "description": "Today's weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city's name."}},
            "required": ["city"],
        },
    }
    # Optional[...] is anyOf with "null", outside Gemini's Schema: full JSON Schema instead.
    assert declarations[1]["name"] == "search"
    assert "parameters" not in declarations[1]
    assert declarations[1]["parametersJsonSchema"]["properties"]["limit"]["anyOf"] == [
        {"type": "integer"},
        {"type": "null"},
    ]
    assert declarations[2:] == [{"name": "ping"}, {"name": "stop", "description": "Stop."}]
    assert body["toolConfig"] == {"x": 1}


@pytest.mark.parametrize(
    ("schema", "fits"),
    [
        ({"type": "object", "properties": {"n": {"type": "integer", "default": 3}}}, True),
        ({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}, True),
        ({"type": "STRING", "format": "date-time"}, True),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, True),
        ({"type": "string", "format": "uri"}, False),
        ({"type": "array"}, False),
        ({"type": "object"}, False),
        ({"type": "object", "properties": {"x": {}}}, False),
        ({"type": ["string", "null"]}, False),
        ({"type": "null"}, False),
        ({"type": "integer", "enum": [1, 2]}, False),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "$defs": {}}, False),
        ({"anyOf": []}, False),
        ({}, False),
        ("string", False),
    ],
)
def test_which_schemas_fit_the_parameters_subset(schema: object, fits: bool) -> None:
    assert fits_gemini_schema(schema) is fits


def test_params_map_into_generation_config_and_request_fields(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    with connector(
        loopback,
        recording_sleep,
        temperature=1,
        max_tokens=50,
        top_k=40,
        thinking_config={"thinkingBudget": 0},
        generation_config={"temperature": 0.5, "response_mime_type": "text/plain", "seed": 1},
    ) as gemini:
        gemini.invoke(
            HELLO,
            top_p=0.9,
            stop="END",
            n=1,
            topK=None,
            top_k=None,
            presencePenalty=0.1,
            safety_settings=safety,
            cached_content="cachedContents/abc",
            model="gemini-2.5-pro",
        )
    request = loopback.requests[0]
    assert request.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    body = request.json()
    assert body["safetySettings"] == safety
    assert body["cachedContent"] == "cachedContents/abc"
    assert body["generationConfig"] == {
        "responseMimeType": "text/plain",
        "seed": 1,
        "temperature": 1,
        "maxOutputTokens": 50,
        "thinkingConfig": {"thinkingBudget": 0},
        "topP": 0.9,
        "stopSequences": ["END"],
        "candidateCount": 1,
        "presencePenalty": 0.1,
    }


def test_generation_config_must_be_a_dict() -> None:
    with pytest.raises(BadRequest, match="generation_config must be a dict of fields, got list"):
        split_params({"generation_config": [1]})


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("tunedModels/my-model", "/v1beta/tunedModels/my-model:generateContent"),
        ("models/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:generateContent"),
    ],
)
def test_model_names_with_a_resource_path(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, model: str, path: str
) -> None:
    loopback.enqueue(json_response(response(text_part("ok"))))
    with GeminiConnector(model, api_key="k", base_url=loopback.url("/v1beta")) as gemini:
        gemini.invoke(HELLO)
    assert loopback.requests[0].path == path


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"GEMINI_API_KEY": "gem-key", "GOOGLE_API_KEY": "goo-key"}, "gem-key"),
        ({"GOOGLE_API_KEY": "goo-key"}, "goo-key"),
        ({"GEMINI_API_KEY": "", "GOOGLE_API_KEY": "goo-key"}, "goo-key"),
    ],
)
def test_the_key_falls_back_to_the_environment(
    loopback: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loopback.enqueue(json_response(response(text_part("ok"))))
    with GeminiConnector(MODEL, base_url=loopback.url("/v1beta")) as gemini:
        assert gemini.has_api_key
        gemini.invoke(HELLO)
    assert loopback.requests[0].headers["x-goog-api-key"] == expected


def test_no_key_sends_no_key_header(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "ignored")
    loopback.enqueue(json_response(response(text_part("ok"))))
    with GeminiConnector(MODEL, api_key="", base_url=loopback.url("/v1beta")) as gemini:
        assert not gemini.has_api_key
        gemini.invoke(HELLO)
    assert "x-goog-api-key" not in loopback.requests[0].headers


def test_repr_shows_model_and_base_url_never_the_key(gemini: GeminiConnector) -> None:
    assert repr(gemini) == f"GeminiConnector(model='{MODEL}', base_url='{gemini.base_url}')"
    assert SECRET not in repr(vars(gemini))
    assert SECRET not in str(vars(gemini))
    official = GeminiConnector(MODEL, api_key=SECRET)
    assert repr(official) == (
        "GeminiConnector(model='gemini-2.5-flash', "
        "base_url='https://generativelanguage.googleapis.com/v1beta')"
    )
    assert (official.timeout, official.max_retries) == (60.0, 3)
    official.close()


# --- whole replies ----------------------------------------------------------------------


def test_invoke_returns_the_message_with_usage(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    raw_usage = usage(prompt=12, candidates=3, thoughts=20)
    loopback.enqueue(
        json_response(
            response(
                {"text": "Planning the greeting.", "thought": True},
                text_part("Hello"),
                text_part(" there!"),
                usage_metadata=raw_usage,
            )
        )
    )
    assert gemini.invoke(HELLO) == {
        "role": "assistant",
        "content": "Hello there!",
        "id": "resp-abc123",
        "metadata": {
            "model": "gemini-2.5-flash",
            "thoughts": "Planning the greeting.",
            "finish_reason": "STOP",
            "usage": {"input_tokens": 12, "output_tokens": 23},
            "raw_usage": raw_usage,
        },
    }


def test_invoke_returns_tool_calls_with_stable_ids_and_signatures(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    answer = response(
        call_part("get_weather", {"city": "Oslo"}, signature="sig-1"),
        call_part("get_weather", {"city": "Rome"}),
        call_part("get_weather", {"city": "Rome"}),
        call_part("now", {}, call_id="fc-9"),
    )
    loopback.enqueue(json_response(answer), json_response(answer))
    reply = gemini.invoke(HELLO, tools=[get_weather])
    again = gemini.invoke(HELLO, tools=[get_weather])
    calls = reply["tool_calls"]
    assert calls == again["tool_calls"]
    assert [call["arguments"] for call in calls] == [
        {"city": "Oslo"},
        {"city": "Rome"},
        {"city": "Rome"},
        {},
    ]
    ids = [call["id"] for call in calls]
    assert ids[3] == "fc-9"
    assert len(set(ids)) == 4
    assert all(call_id.startswith("orkes_call_") and len(call_id) == 35 for call_id in ids[:3])
    assert reply["content"] == ""
    assert reply["metadata"]["thought_signatures"] == {ids[0]: "sig-1"}

    # The reply goes back as it came: signature and service id, made-up ids left out.
    loopback.enqueue(json_response(response(text_part("Done."))))
    answers: list[OrkesMessageSchema] = [
        {"role": "tool", "content": "ok", "tool_call_id": call["id"]} for call in calls
    ]
    gemini.invoke([*HELLO, reply, *answers])
    model_turn, answer_turn = loopback.requests[-1].json()["contents"][1:]
    assert model_turn["parts"][0] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
        "thoughtSignature": "sig-1",
    }
    assert model_turn["parts"][3] == {"functionCall": {"name": "now", "args": {}, "id": "fc-9"}}
    assert [part["functionResponse"].get("id") for part in answer_turn["parts"]] == [
        None,
        None,
        None,
        "fc-9",
    ]


def test_a_different_response_gives_different_made_up_ids(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    first = response(call_part("now", {}), response_id="r-1")
    second = response(call_part("now", {}), response_id="r-2")
    loopback.enqueue(json_response(first), json_response(second))
    assert gemini.invoke(HELLO)["tool_calls"] != gemini.invoke(HELLO)["tool_calls"]


def test_tool_arguments_that_are_not_an_object_raise_naming_the_tool(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response({"functionCall": {"name": "get_weather", "args": 3}})))
    with pytest.raises(ResponseFormatError, match="arguments for tool 'get_weather' as int"):
        gemini.invoke(HELLO)


def test_a_minimal_answer_is_enough(gemini: GeminiConnector, loopback: LoopbackServer) -> None:
    code = {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
    parts = [{"text": "ok"}, code, {"text": ""}]
    loopback.enqueue(json_response({"candidates": [{"content": {"parts": parts}}]}))
    assert gemini.invoke(HELLO) == {"role": "assistant", "content": "ok"}
    loopback.enqueue(json_response({"candidates": [{"finishReason": "MAX_TOKENS"}]}))
    assert gemini.invoke(HELLO) == {
        "role": "assistant",
        "content": "",
        "metadata": {"finish_reason": "MAX_TOKENS"},
    }


@pytest.mark.parametrize(
    "answer",
    [{"candidates": []}, {"usageMetadata": usage()}, [1, 2], {"error": {"message": "quota"}}],
)
def test_an_answer_without_candidates_is_a_response_format_error(
    gemini: GeminiConnector, loopback: LoopbackServer, answer: object
) -> None:
    loopback.enqueue(json_response(answer))
    with pytest.raises(ResponseFormatError, match="answered without candidates"):
        gemini.invoke(HELLO)


# --- safety -------------------------------------------------------------------------------


def test_a_blocked_prompt_is_a_bad_request_with_the_reason(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    blocked = {
        "promptFeedback": {
            "blockReason": "SAFETY",
            "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"},
                {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
            ],
        },
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": "gemini-2.5-flash",
    }
    loopback.enqueue(json_response(blocked))
    with pytest.raises(BadRequest) as caught:
        gemini.invoke(HELLO)
    assert caught.value.service_message == "SAFETY"
    assert str(caught.value).startswith(
        "Gemini blocked the prompt: blockReason 'SAFETY' (HARM_CATEGORY_HARASSMENT); "
        "nothing was generated"
    )


def test_a_reply_stopped_for_safety_without_parts_is_a_bad_request(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    candidate = {
        "finishReason": "SAFETY",
        "index": 0,
        "safetyRatings": [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "LOW", "blocked": True}
        ],
    }
    loopback.enqueue(json_response({"candidates": [candidate], "responseId": "r"}))
    with pytest.raises(BadRequest, match=r"the reply: finishReason 'SAFETY' \(HARM_CATEGORY_DANG"):
        gemini.invoke(HELLO)


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_a_reply_that_is_only_a_broken_tool_call_is_a_response_format_error(
    gemini: GeminiConnector, loopback: LoopbackServer, reason: str
) -> None:
    answer = response(finish_reason=reason)
    answer["candidates"][0]["finishMessage"] = "Malformed function call: print(weather(city=)"
    loopback.enqueue(json_response(answer))
    with pytest.raises(ResponseFormatError) as caught:
        gemini.invoke(HELLO, tools=[get_weather])
    assert str(caught.value) == (
        f"Gemini wrote a tool call it could not deliver: finishReason {reason!r} (Malformed "
        "function call: print(weather(city=)); nothing else was generated; try the call again, "
        "or offer simpler tools"
    )
    assert caught.value.service_message == "Malformed function call: print(weather(city=)"


def test_a_reply_stopped_for_safety_after_some_text_keeps_the_text(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    loopback.enqueue(json_response(response(text_part("Well, "), finish_reason="SAFETY")))
    reply = gemini.invoke(HELLO)
    assert reply["content"] == "Well, "
    assert reply["metadata"]["finish_reason"] == "SAFETY"


# --- errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize(("status", "name"), [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_401_and_403_are_authentication_errors_without_retry_or_key(
    gemini: GeminiConnector,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
    status: int,
    name: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    message = f"Method doesn't allow API key {SECRET}."
    loopback.enqueue(json_response(error_body(status, message, name), status=status))
    with pytest.raises(AuthenticationError) as caught:
        gemini.invoke(HELLO)
    assert caught.value.status == status
    assert caught.value.service_message == "Method doesn't allow API key ***."
    assert SECRET not in str(caught.value)
    assert "Gemini at 127.0.0.1" in str(caught.value)
    assert SECRET not in caplog.text
    assert recording_sleep.delays == []


def test_400_is_a_bad_request_with_the_service_message(
    gemini: GeminiConnector, loopback: LoopbackServer
) -> None:
    message = "* GenerationConfig.temperature: must be between 0 and 2"
    loopback.enqueue(json_response(error_body(400, message, "INVALID_ARGUMENT"), status=400))
    with pytest.raises(BadRequest) as caught:
        gemini.invoke(HELLO, temperature=9)
    assert caught.value.service_message == message
    assert str(caught.value).endswith(
        f"(POST {GENERATE.split(':')[0]}:generateContent) answered 400 Bad Request: {message}"
    )


def test_429_with_retry_after_then_success(
    gemini: GeminiConnector,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    quota = error_body(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
    loopback.enqueue(
        json_response(quota, status=429, headers={"Retry-After": "3"}),
        json_response(response(text_part("late"))),
    )
    assert gemini.invoke(HELLO)["content"] == "late"
    assert recording_sleep.delays == [3.0]
    assert "retry 1 of 3" in caplog.text
    assert SECRET not in caplog.text


def test_429_exhausted_is_rate_limited(
    gemini: GeminiConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    quota = error_body(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
    loopback.enqueue(*[json_response(quota, status=429, headers={"Retry-After": "1"})] * 4)
    with pytest.raises(RateLimited) as caught:
        gemini.invoke(HELLO)
    assert caught.value.retry_after == 1.0
    assert caught.value.service_message == "Resource has been exhausted"
    assert recording_sleep.delays == [1.0, 1.0, 1.0]


def test_a_wrong_key_answered_400_api_key_invalid_is_an_authentication_error(
    gemini: GeminiConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    body = error_body(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
    body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ]
    loopback.enqueue(json_response(body, status=400))
    with pytest.raises(AuthenticationError) as caught:
        gemini.invoke(HELLO)
    assert caught.value.status == 400
    assert caught.value.service_message == "API key not valid. Please pass a valid API key."
    assert recording_sleep.delays == []


def test_429_waits_as_long_as_the_retry_info_in_the_body_says(
    gemini: GeminiConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    quota = error_body(429, "You exceeded your current quota", "RESOURCE_EXHAUSTED")
    quota["error"]["details"] = [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "33s"}
    ]
    loopback.enqueue(json_response(quota, status=429), json_response(response(text_part("ok"))))
    assert gemini.invoke(HELLO)["content"] == "ok"
    assert recording_sleep.delays == [33.0]


def test_503_then_success_and_503_exhausted(
    gemini: GeminiConnector, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    overloaded = error_body(503, "The model is overloaded. Please try again later.", "UNAVAILABLE")
    loopback.enqueue(
        json_response(overloaded, status=503), json_response(response(text_part("ok")))
    )
    assert gemini.invoke(HELLO)["content"] == "ok"
    assert len(recording_sleep.delays) == 1
    loopback.enqueue(*[json_response(overloaded, status=503)] * 4)
    with pytest.raises(
        ServiceError, match=r"503 Service Unavailable \(after 4 attempts\): The model is overloaded"
    ):
        gemini.invoke(HELLO)


def test_timeout(loopback: LoopbackServer, recording_sleep: RecordingSleep) -> None:
    loopback.enqueue(json_response(response(text_part("slow")), delay=2))
    with (
        connector(loopback, recording_sleep, timeout=0.2) as gemini,
        pytest.raises(ConnectorTimeout, match=r"did not answer within 0\.2 s"),
    ):
        gemini.invoke(HELLO)


def test_async_invoke_and_stream(gemini: GeminiConnector, loopback: LoopbackServer) -> None:
    loopback.enqueue(json_response(response(text_part("whole"))), sse_response(TOOL_STREAM))

    async def main() -> tuple[OrkesMessageSchema, list[str], OrkesMessageSchema]:
        whole = await gemini.ainvoke(HELLO)
        async with gemini.astream(HELLO, tools=[get_weather]) as stream:
            chunks = [text async for text in stream]
        return whole, chunks, stream.message

    whole, chunks, streamed = asyncio.run(main())
    assert whole["content"] == "whole"
    assert chunks == ["Let me check."]
    assert [call["arguments"] for call in streamed["tool_calls"]] == [
        {"city": "Oslo"},
        {"city": "Rome"},
    ]
