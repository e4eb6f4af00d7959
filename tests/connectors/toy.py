"""The smallest provider on :class:`HttpChatConnector`: a template for new connectors.

Its made-up wire format: ``POST /toy`` with ``X-Toy-Key``; the answer is
``{"text": ..., "calls": [{"id", "name", "args"}], "tokens": [in, out]}``; the stream
sends ``event: text`` (``{"t": ...}``), ``event: call`` (``{"key", "id", "name", "piece"}``)
and ``event: end`` (``{"tokens": [in, out]}``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from orkes.connectors._chat.connector import HttpChatConnector, ToolDescription
from orkes.connectors._chat.reply import ReplyAssembler, StreamDecoder, event_json
from orkes.connectors.transport.client import HttpRequest
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.shared.schema import OrkesMessageSchema


class ToyConnector(HttpChatConnector):
    service = "Toy"

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 5,
        max_retries: int = 2,
        sleep: Callable[[float], None] | None = None,
        **default_params: Any,
    ) -> None:
        super().__init__(
            model,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            default_params=default_params,
            sleep=sleep,
        )

    def _build_request(
        self,
        messages: list[OrkesMessageSchema],
        tools: Sequence[ToolDescription],
        params: dict[str, Any],
        *,
        stream: bool,
    ) -> HttpRequest:
        body = {
            "model": self.model,
            "input": [[message["role"], message["content"]] for message in messages],
            "tools": [tool.name for tool in tools],
            "stream": stream,
            **params,
        }
        headers = {"X-Toy-Key": self._api_key} if self._api_key else {}
        return HttpRequest("/toy", body, headers=headers)

    def _parse_response(self, body: Any) -> OrkesMessageSchema:
        reply = ReplyAssembler(self.service)
        reply.add_text(body["text"])
        for call in body.get("calls", []):
            reply.add_tool_call(call_id=call.get("id"), name=call["name"], arguments=call["args"])
        if "tokens" in body:
            reply.set_usage(input_tokens=body["tokens"][0], output_tokens=body["tokens"][1])
        return reply.build()

    def _new_stream_decoder(self) -> StreamDecoder:
        return _ToyDecoder(self.service)


class _ToyDecoder(StreamDecoder):
    def feed(self, event: ServerSentEvent) -> list[str]:
        data = event_json(self.service, event)
        if event.event == "text":
            self.reply.add_text(data["t"])
            return [data["t"]]
        if event.event == "call":
            self.reply.add_tool_call_fragment(
                data["key"], call_id=data.get("id"), name=data.get("name"), arguments=data["piece"]
            )
        if event.event == "end":
            self.reply.set_usage(
                input_tokens=data["tokens"][0], output_tokens=data["tokens"][1], raw=data
            )
            self.done = True
        return []


def text_event(text: str) -> bytes:
    """``event: text`` carrying ``text``."""
    return f'event: text\ndata: {{"t": "{text}"}}\n\n'.encode()


END_EVENT = b'event: end\ndata: {"tokens": [3, 4]}\n\n'
