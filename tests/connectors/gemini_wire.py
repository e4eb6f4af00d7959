"""Documented Gemini API shapes (generativelanguage v1beta), shared by the Gemini tests."""

from __future__ import annotations

from typing import Any

from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.tools import tool
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.loopback import LoopbackServer, RecordingSleep

GEMINI_TEST_KEY = "AIzaSyTest-0123456789abcdef"
MODEL = "gemini-2.5-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
HELLO: list[OrkesMessageSchema] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi", "name": "ada"},
]


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: The city's name.
    """
    return f"Sunny in {city}"


def connector(loopback: LoopbackServer, sleep: RecordingSleep, **options: Any) -> GeminiConnector:
    """A ``GeminiConnector`` on the loopback server, with a key and a recording sleep."""
    settings: dict[str, Any] = {
        "api_key": GEMINI_TEST_KEY,
        "base_url": loopback.url("/v1beta"),
        "timeout": 2,
        "sleep": sleep,
        **options,
    }
    return GeminiConnector(MODEL, **settings)


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


def call_part(
    name: str, args: dict[str, Any], *, call_id: str | None = None, signature: str | None = None
) -> dict[str, Any]:
    """A ``functionCall`` part, with the optional ``id`` and ``thoughtSignature``."""
    function_call: dict[str, Any] = {"name": name, "args": args}
    if call_id is not None:
        function_call["id"] = call_id
    part: dict[str, Any] = {"functionCall": function_call}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def usage(prompt: int = 12, candidates: int = 3, thoughts: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + (thoughts or 0),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if thoughts is not None:
        metadata["thoughtsTokenCount"] = thoughts
    return metadata


def response(
    *parts: dict[str, Any],
    finish_reason: str | None = "STOP",
    usage_metadata: dict[str, Any] | None = None,
    response_id: str = "resp-abc123",
) -> dict[str, Any]:
    """A GenerateContentResponse as documented: one candidate with the given parts."""
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    return {
        "candidates": [candidate],
        "usageMetadata": usage() if usage_metadata is None else usage_metadata,
        "modelVersion": "gemini-2.5-flash",
        "responseId": response_id,
    }


def chunk(*parts: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One streamed GenerateContentResponse: usage counts so far, as the service sends them."""
    document = response(
        *parts,
        finish_reason=finish_reason,
        usage_metadata=extra.pop("usage_metadata", usage(prompt=9, candidates=0)),
        response_id="resp-stream-1",
    )
    return {**document, **extra}


def error_body(code: int, message: str, status: str) -> dict[str, Any]:
    """The documented error shape: ``{"error": {"code", "message", "status"}}``."""
    return {"error": {"code": code, "message": message, "status": status}}


TEXT_STREAM = [
    chunk(text_part("Hel")),
    chunk(text_part("lo")),
    chunk(
        text_part("!"),
        finish_reason="STOP",
        usage_metadata=usage(prompt=9, candidates=2, thoughts=4),
    ),
]
TOOL_STREAM = [
    chunk(text_part("Let me check.")),
    chunk(call_part("get_weather", {"city": "Oslo"}, signature="sig-Oslo")),
    chunk(
        call_part("get_weather", {"city": "Rome"}),
        finish_reason="STOP",
        usage_metadata=usage(prompt=9, candidates=7),
    ),
]
THOUGHT_STREAM = [
    chunk({"text": "Let me think.", "thought": True}),
    chunk(text_part("42"), finish_reason="STOP", usage_metadata=usage(prompt=9, candidates=1)),
]
"""A reply with a thought summary (``includeThoughts``) before its text."""
