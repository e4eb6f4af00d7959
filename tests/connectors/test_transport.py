"""The transport seam: what every connector hands its transport, and what it gets back.

The connectors run here on :class:`InProcessTransport`, with no socket at all: the
requests they build are checked as values, and the replies come from a function. The
retry decision that every transport runs is checked by its properties.
"""

from __future__ import annotations

import asyncio
import socket
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import InProcessTransport, Reply, Request, StdlibTransport
from orkes.connectors.transport.retry import RetryRules, decide_retry
from orkes.connectors.transport.sse import ServerSentEvent, iter_sse_events
from orkes.errors import ConnectionFailed, ConnectorError, ServiceError
from tests.connectors import anthropic_wire, gemini_wire, openai_wire
from tests.connectors.loopback import RecordingSleep, sse_event

KEY = "sk-seam-secret"
HELLO = openai_wire.HELLO
GEMINI_ROOT = "https://generativelanguage.googleapis.com/v1beta/models/"


def as_events(wire: Sequence[object]) -> list[ServerSentEvent]:
    """A stream as the loopback server would send it, decoded back into events."""
    raw = (item if isinstance(item, bytes) else sse_event(item) for item in wire)
    return list(iter_sse_events(raw))


@dataclass(frozen=True)
class Provider:
    """A shipped connector, its official endpoints, and answers in its wire format."""

    name: str
    connector: Callable[..., HttpChatConnector]
    model: str
    url: str
    stream_url: str
    key_header: tuple[str, str]
    whole: Any
    stream: Sequence[object]
    streamed_text: str

    def make(self, **options: Any) -> HttpChatConnector:
        return self.connector(self.model, api_key=KEY, **options)

    def answer(self, request: Request) -> Reply:
        """The whole answer, or the stream when one was asked for."""
        streamed = request.body.get("stream") is True or ":streamGenerateContent" in request.url
        return Reply(events=as_events(self.stream)) if streamed else Reply(self.whole)


PROVIDERS = [
    Provider(
        "OpenAI", OpenAIConnector, "gpt-4o-mini",
        "https://api.openai.com/v1/chat/completions",
        "https://api.openai.com/v1/chat/completions",
        ("Authorization", f"Bearer {KEY}"),
        openai_wire.completion(), openai_wire.TEXT_STREAM, "Hello",
    ),
    Provider(
        "Anthropic", AnthropicConnector, anthropic_wire.MODEL,
        "https://api.anthropic.com/v1/messages",
        "https://api.anthropic.com/v1/messages",
        ("x-api-key", KEY),
        anthropic_wire.message(), anthropic_wire.TEXT_STREAM, "Hello",
    ),
    Provider(
        "Gemini", GeminiConnector, gemini_wire.MODEL,
        f"{GEMINI_ROOT}{gemini_wire.MODEL}:generateContent",
        f"{GEMINI_ROOT}{gemini_wire.MODEL}:streamGenerateContent?alt=sse",
        ("x-goog-api-key", KEY),
        gemini_wire.response(gemini_wire.text_part("Hello!")), gemini_wire.TEXT_STREAM, "Hello!",
    ),
]  # fmt: skip

each_provider = pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)


class CountingTransport(InProcessTransport):
    """Counts the calls of ``close``."""

    closes = 0

    def close(self) -> None:
        self.closes += 1


@pytest.fixture
def no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to connect a socket fails the test."""

    def refuse(*args: object) -> None:
        raise AssertionError("a socket was connected")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


# --- the seam -----------------------------------------------------------------------------


@each_provider
def test_every_connector_takes_a_transport_and_leaves_it_open(provider: Provider) -> None:
    given_transport = CountingTransport(provider.answer)
    with provider.make(transport=given_transport) as connector:
        assert connector.transport is given_transport
        connector.close()
    assert given_transport.closes == 0  # the caller's to close


@each_provider
def test_a_connector_closes_the_transport_it_made_itself(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    closes: list[str] = []
    with provider.make() as connector:
        assert isinstance(connector.transport, StdlibTransport)
        monkeypatch.setattr(connector.transport, "close", lambda: closes.append("closed"))
    assert closes == ["closed"]


@each_provider
def test_requests_carry_the_absolute_url_service_timeout_retry_rules_and_key(
    provider: Provider, recording_sleep: RecordingSleep
) -> None:
    transport = InProcessTransport(provider.answer)
    with provider.make(
        transport=transport, timeout=7, max_retries=5, sleep=recording_sleep
    ) as connector:
        connector.invoke(HELLO)
        with connector.stream(HELLO) as chunks:
            list(chunks)
    whole, streamed = transport.requests
    assert (whole.url, streamed.url) == (provider.url, provider.stream_url)
    for request in (whole, streamed):
        assert (request.method, request.service, request.timeout) == ("POST", provider.name, 7.0)
        assert request.retry == RetryRules(max_retries=5)
        assert request.retry.sleep is recording_sleep
        name, value = provider.key_header
        assert request.headers[name] == value
        assert KEY in request.secrets
        assert KEY not in repr(request)


@each_provider
@pytest.mark.usefixtures("no_socket")
def test_in_process_drives_every_face_of_every_connector_with_no_socket(
    provider: Provider,
) -> None:
    transport = InProcessTransport(provider.answer)
    with provider.make(transport=transport) as connector:

        async def both_async() -> tuple[str, str]:
            reply = await connector.ainvoke(HELLO)
            async with connector.astream(HELLO) as chunks:
                text = "".join([chunk async for chunk in chunks])
            return str(reply["content"]), text

        assert connector.invoke(HELLO)["content"] == "Hello!"
        with connector.stream(HELLO) as chunks:
            assert "".join(chunks) == provider.streamed_text
        assert asyncio.run(both_async()) == ("Hello!", provider.streamed_text)
    assert len(transport.requests) == 4


# --- failures through the seam ------------------------------------------------------------

BUSY = {"error": {"message": "overloaded"}}


@pytest.mark.parametrize(
    ("headers", "delays_ok", "retried"),
    [
        ({}, lambda delays: 0 <= delays[0] < 0.5, True),  # jittered, within the first ceiling
        ({"Retry-After": "2"}, lambda delays: delays == [2.0], True),  # the hint, exactly
        ({"x-should-retry": "false"}, lambda delays: delays == [], False),  # its word wins
    ],
    ids=["backoff", "retry-after", "x-should-retry"],
)
def test_a_503_reply_is_retried_as_decide_retry_says(
    headers: dict[str, str],
    delays_ok: Callable[[list[float]], bool],
    retried: bool,
    recording_sleep: RecordingSleep,
) -> None:
    replies = [Reply(BUSY, status=503, headers=headers), Reply(openai_wire.completion())]
    transport = InProcessTransport(lambda request: replies.pop(0))
    with OpenAIConnector(
        "gpt-4o-mini", api_key=KEY, transport=transport, sleep=recording_sleep
    ) as openai:
        if retried:
            assert openai.invoke(HELLO)["content"] == "Hello!"
        else:
            with pytest.raises(ServiceError, match="answered 503: overloaded"):
                openai.invoke(HELLO)
    assert len(transport.requests) == (2 if retried else 1)
    assert delays_ok(recording_sleep.delays), recording_sleep.delays


def test_a_connection_error_from_the_handler_counts_as_no_answer(
    recording_sleep: RecordingSleep,
) -> None:
    def refuse(request: Request) -> Reply:
        raise ConnectionRefusedError("refused")

    transport = InProcessTransport(refuse)
    with (
        OpenAIConnector(
            "gpt-4o-mini", api_key=KEY, transport=transport, sleep=recording_sleep
        ) as openai,
        pytest.raises(ConnectionFailed) as caught,
    ):
        openai.invoke(HELLO)
    assert str(caught.value) == (
        "could not reach OpenAI in process (POST https://api.openai.com/v1/chat/completions) "
        "after 4 attempts: refused"
    )
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert len(transport.requests) == 4
    assert len(recording_sleep.delays) == 3


def test_a_key_echoed_in_a_fake_reply_is_in_no_traceback_locals() -> None:
    def echo(request: Request) -> Reply:
        return Reply({"error": {"message": f"Incorrect API key provided: {KEY}"}}, status=401)

    transport = InProcessTransport(echo)
    with (
        OpenAIConnector("gpt-4o-mini", api_key=KEY, transport=transport) as openai,
        pytest.raises(ConnectorError) as caught,
    ):
        openai.invoke(HELLO)
    shown = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    text = "".join(shown.format())
    assert "Incorrect API key provided: ***" in text
    assert KEY not in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            (200, {"choices": []}),
            "Reply(events=...) takes a list of events (str data or ServerSentEvent), got "
            "{'choices': []} (the body comes first: Reply(body, status=...))",
        ),
        (
            ({"error": "x"}, "data: x"),
            "Reply(events=...) takes a list of events (str data or ServerSentEvent), got 'data: x'",
        ),
        (
            ({"error": "x"}, (), "503"),
            "Reply(status=...) takes an HTTP status such as 200 or 503, got '503'",
        ),
    ],
    ids=["status-first", "events-str", "status-str"],
)
def test_a_reply_built_wrong_says_how_to_build_it(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        Reply(*arguments)
    assert str(caught.value) == message


def test_an_in_process_transport_needs_a_function() -> None:
    not_a_function: Any = Reply({"choices": []})
    with pytest.raises(ConnectorError, match=r"^InProcessTransport takes a function"):
        InProcessTransport(not_a_function)


# --- the retry decision, by its properties ------------------------------------------------

jitters = st.floats(min_value=0, max_value=1, exclude_max=True)
rules = st.builds(
    RetryRules,
    max_retries=st.integers(0, 8),
    backoff_base=st.floats(0.001, 10),
    backoff_max=st.floats(0.001, 100),
    max_retry_after=st.floats(0, 120),
)
worth_a_retry = st.sampled_from([None, 408, 429, 500, 502, 503, 504])


@given(rules, st.integers(1, 8), worth_a_retry, jitters)
def test_a_backoff_stays_within_its_ceiling(
    limits: RetryRules, attempt: int, status: int | None, jitter: float
) -> None:
    decision = decide_retry(limits, attempt, status=status, jitter=jitter)
    assert decision.retry is (attempt <= limits.max_retries)
    ceiling = min(limits.backoff_max, limits.backoff_base * 2 ** (attempt - 1))
    assert 0 <= decision.delay <= ceiling
    assert decision.note is None


@given(
    rules,
    st.integers(0, 20),
    st.one_of(worth_a_retry, st.integers(100, 599)),
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after-ms", "x-should-retry"]),
        st.sampled_from(["0", "1", "2.5", "true", "false", "soon"]),
    ),
    jitters,
)
def test_no_retry_ever_follows_the_last_attempt(
    limits: RetryRules, beyond: int, status: int | None, headers: dict[str, str], jitter: float
) -> None:
    attempt = limits.max_retries + 1 + beyond
    decision = decide_retry(limits, attempt, status=status, headers=headers, jitter=jitter)
    assert not decision.retry


@given(rules, st.integers(1, 8), st.sampled_from([429, 503]), st.floats(0.001, 10_000), jitters)
def test_a_hint_longer_than_max_retry_after_is_not_waited_out(
    limits: RetryRules, attempt: int, status: int, hint: float, jitter: float
) -> None:
    headers = {"Retry-After": repr(hint)}
    decision = decide_retry(limits, attempt, status=status, headers=headers, jitter=jitter)
    assert decision.retry_after == hint
    if hint > limits.max_retry_after:
        assert not decision.retry
        assert decision.note is not None
        assert "longer than max_retry_after" in decision.note
    else:
        assert decision.note is None
        assert decision.retry is (attempt <= limits.max_retries)
        assert decision.delay == (hint if decision.retry else 0.0)


@given(rules, st.integers(1, 8), st.integers(100, 599), st.booleans(), jitters)
def test_x_should_retry_wins_over_the_status(
    limits: RetryRules, attempt: int, status: int, verdict: bool, jitter: float
) -> None:
    headers = {"X-Should-Retry": " TRUE " if verdict else "false"}
    decision = decide_retry(limits, attempt, status=status, headers=headers, jitter=jitter)
    assert decision.retry is (verdict and attempt <= limits.max_retries)
