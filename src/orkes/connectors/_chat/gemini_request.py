"""Writing a Gemini ``generateContent`` request: contents, system instruction, tools, config.

Pure functions from orkes messages, tool specs and parameters to the JSON of the request,
used by :mod:`orkes.connectors.gemini`:

* :func:`build_contents`: the ``contents`` turns (roles ``user`` and ``model``) and the
  ``systemInstruction``. An assistant's tool calls become ``functionCall`` parts; ``tool``
  messages become ``functionResponse`` parts, consecutive ones in one ``user`` turn.
* :func:`function_declarations`: the ``tools`` entry, one ``functionDeclarations`` list.
* :func:`split_params`: per-call parameters into request fields and ``generationConfig``.

Example:
    >>> contents, system = build_contents(
    ...     [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    ... )
    >>> contents, system
    ([{'role': 'user', 'parts': [{'text': 'Hi'}]}], {'parts': [{'text': 'Be brief.'}]})
    >>> split_params({"max_tokens": 50, "stop": "END", "safety_settings": []})
    ({'safetySettings': []}, {'maxOutputTokens': 50, 'stopSequences': ['END']})
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import BadRequest
from orkes.shared.schema import OrkesMessageSchema

if TYPE_CHECKING:
    from orkes.connectors._chat.connector import ToolDescription

__all__ = [
    "GENERATED_CALL_ID_PREFIX",
    "THOUGHT_SIGNATURES",
    "build_contents",
    "fits_gemini_schema",
    "function_declarations",
    "split_params",
]

GENERATED_CALL_ID_PREFIX = "orkes_call_"
"""Starts the ids made up for calls the service sent without one; those are never sent back."""

THOUGHT_SIGNATURES = "thought_signatures"
"""The reply's ``metadata`` key mapping a tool call's id to its ``thoughtSignature``."""

# The fields of Gemini's Schema (a subset of OpenAPI 3.0) that `parameters` accepts.
_SCHEMA_FIELDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
        "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
        "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum",
        "maximum",
    }
)  # fmt: skip
_SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_SCHEMA_FORMATS = frozenset({"enum", "date-time", "int32", "int64", "float", "double"})
# What a schema of a function without arguments may hold besides empty "properties".
_NO_ARGUMENT_FIELDS = frozenset(
    {"type", "properties", "required", "description", "title", "additionalProperties"}
)

# Request fields that sit beside generationConfig, not inside it.
_REQUEST_FIELDS = frozenset({"safetySettings", "toolConfig", "cachedContent"})
# The names other services use, as Gemini spells them.
_ALIASES = {"max_tokens": "maxOutputTokens", "stop": "stopSequences", "n": "candidateCount"}
_GENERATION_CONFIG = "generationConfig"


def build_contents(
    messages: Sequence[OrkesMessageSchema],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The ``contents`` turns and the ``systemInstruction`` (``None`` without system messages).

    Every ``system`` message, wherever it stands, becomes one text part of the system
    instruction. A ``tool`` message names its function with its ``name``, or else through
    its ``tool_call_id`` and the earlier tool call with that id. The service refuses an
    empty text part, so none is sent: a message with no text (and no tool call) leaves no
    turn, and system messages with no text leave no system instruction.

    Raises:
        BadRequest: a ``tool`` message has no way to name its function.

    Example:
        >>> build_contents([{"role": "system", "content": ""}, {"role": "user", "content": ""},
        ...                 {"role": "assistant", "content": "Hi"}])
        ([{'role': 'model', 'parts': [{'text': 'Hi'}]}], None)
    """
    contents: list[dict[str, Any]] = []
    system_parts: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    previous_role = ""
    for message in messages:
        role = message["role"]
        if role == "system":
            system_parts.extend(_text_parts(message))
            continue
        if role == "tool":
            part = _function_response(message, call_names)
            if previous_role == "tool":
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        elif role == "assistant":
            parts = _model_parts(message, call_names)
            if parts:
                contents.append({"role": "model", "parts": parts})
        else:  # "user": the base refused any other role before the request was built
            parts = _text_parts(message)
            if parts:
                contents.append({"role": "user", "parts": parts})
        previous_role = role
    return contents, ({"parts": system_parts} if system_parts else None)


def _text_parts(message: OrkesMessageSchema) -> list[dict[str, Any]]:
    """The message's text as one part; none for empty text, which the service refuses."""
    return [{"text": message["content"]}] if message["content"] else []


def _model_parts(message: OrkesMessageSchema, call_names: dict[str, str]) -> list[dict[str, Any]]:
    parts = _text_parts(message)
    signatures = _thought_signatures(message)
    for call in message.get("tool_calls") or []:
        call_names[call["id"]] = call["name"]
        function_call: dict[str, Any] = {"name": call["name"], "args": call["arguments"]}
        if _issued_by_service(call["id"]):
            function_call["id"] = call["id"]
        part: dict[str, Any] = {"functionCall": function_call}
        if call["id"] in signatures:
            part["thoughtSignature"] = signatures[call["id"]]
        parts.append(part)
    return parts


def _thought_signatures(message: OrkesMessageSchema) -> dict[str, str]:
    metadata = message.get("metadata")
    found = metadata.get(THOUGHT_SIGNATURES) if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, str)}


def _issued_by_service(call_id: str) -> bool:
    return bool(call_id) and not call_id.startswith(GENERATED_CALL_ID_PREFIX)


def _function_response(
    message: OrkesMessageSchema, call_names: Mapping[str, str]
) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    name = message.get("name") or (call_names.get(call_id) if call_id else None)
    if not name:
        raise BadRequest(
            f"a message with role 'tool' (tool_call_id={call_id!r}) needs the 'name' of its "
            "function, or a 'tool_call_id' that an earlier assistant tool call has: "
            "Gemini matches answers to calls by name"
        )
    response: dict[str, Any] = {"name": name, "response": _response_object(message["content"])}
    if call_id and _issued_by_service(call_id):
        response["id"] = call_id
    return {"functionResponse": response}


def _response_object(content: str) -> dict[str, Any]:
    """A JSON object stays as it is; anything else is wrapped as ``{"result": content}``."""
    try:
        decoded = json.loads(content)
    except ValueError:
        decoded = None
    return decoded if isinstance(decoded, dict) else {"result": content}


def function_declarations(tools: Sequence[ToolDescription]) -> list[dict[str, Any]]:
    """The request's ``tools``: one entry holding every function declaration.

    ``parameters`` takes only Gemini's subset of OpenAPI 3.0 (see
    :func:`fits_gemini_schema`); a schema outside it goes as full JSON Schema in
    ``parametersJsonSchema`` instead. A function without arguments sends neither: the
    service refuses an object schema with no properties.

    Example:
        >>> from orkes.connectors.tools import ToolSpec
        >>> ping = ToolSpec("ping", "Check the line.", {"type": "object", "properties": {}})
        >>> function_declarations([ping])
        [{'functionDeclarations': [{'name': 'ping', 'description': 'Check the line.'}]}]
    """
    declarations: list[dict[str, Any]] = []
    for tool in tools:
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description:
            declaration["description"] = tool.description
        schema = tool.parameters
        if _takes_arguments(schema):
            field = "parameters" if fits_gemini_schema(schema) else "parametersJsonSchema"
            declaration[field] = schema
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}]


def _takes_arguments(schema: Mapping[str, Any]) -> bool:
    if schema.get("properties") or schema.get("additionalProperties") not in (None, False):
        return True
    return not set(schema) <= _NO_ARGUMENT_FIELDS


def fits_gemini_schema(schema: object) -> bool:
    """Whether ``schema`` stays inside the subset of OpenAPI 3.0 that ``parameters`` takes.

    Every node needs a single ``type`` (never ``"null"``) or an ``anyOf``; an ``array``
    needs ``items``, an ``object`` at least one property; ``enum`` values are strings; no
    field outside Gemini's Schema (``additionalProperties``, ``$ref``, ``const``, …).

    Example:
        >>> fits_gemini_schema({"type": "object", "properties": {"n": {"type": "integer"}}})
        True
        >>> fits_gemini_schema({"anyOf": [{"type": "integer"}, {"type": "null"}]})
        False
    """
    if not isinstance(schema, dict) or not set(schema) <= _SCHEMA_FIELDS:
        return False
    kind = schema.get("type")
    if kind is None:
        if not isinstance(schema.get("anyOf"), list):
            return False
    elif not isinstance(kind, str) or kind.lower() not in _SCHEMA_TYPES:
        return False
    children: list[object] = []
    if kind is not None and kind.lower() == "array":
        children.append(schema.get("items"))
    if kind is not None and kind.lower() == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return False
        children.extend(properties.values())
    if "anyOf" in schema:
        any_of = schema["anyOf"]
        if not isinstance(any_of, list) or not any_of:
            return False
        children.extend(any_of)
    enum = schema.get("enum")
    if enum is not None and not (isinstance(enum, list) and all(isinstance(v, str) for v in enum)):
        return False
    if schema.get("format") not in (None, *_SCHEMA_FORMATS):
        return False
    return all(fits_gemini_schema(child) for child in children)


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sort parameters into request fields and ``generationConfig`` fields.

    The rule: ``safetySettings``, ``toolConfig`` and ``cachedContent`` are request fields;
    ``generation_config`` (a dict) gives ``generationConfig`` fields wholesale; every
    other name is one ``generationConfig`` field, where ``max_tokens``, ``stop`` (a string
    or a list) and ``n`` mean ``maxOutputTokens``, ``stopSequences`` and
    ``candidateCount``. Names may be snake_case or camelCase (``top_p`` is ``topP``). Single
    parameters win over keys of ``generation_config``; a value of ``None`` sends nothing, so
    a call can drop a default.

    Raises:
        BadRequest: ``generation_config`` is not a dict.
    """
    request_fields: dict[str, Any] = {}
    generation_config: dict[str, Any] = {}
    single_fields: dict[str, Any] = {}
    for name, value in params.items():
        field = _ALIASES.get(name) or _camel_case(name)
        if value is None:
            continue
        if field == _GENERATION_CONFIG:
            if not isinstance(value, Mapping):
                kind = type(value).__name__
                raise BadRequest(f"generation_config must be a dict of fields, got {kind}")
            generation_config.update({_camel_case(key): item for key, item in value.items()})
        elif field in _REQUEST_FIELDS:
            request_fields[field] = value
        else:
            if field == "stopSequences" and isinstance(value, str):
                value = [value]
            single_fields[field] = value
    generation_config.update(single_fields)
    return request_fields, generation_config


def _camel_case(name: str) -> str:
    """``max_output_tokens`` → ``maxOutputTokens``; a camelCase name stays as it is."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)
