"""Fixtures for connector tests: a loopback server, a recording sleep, clients on them.

The provider tests run once per transport (``transport_kind``): on the stdlib transport,
and on :class:`~orkes.connectors.transport.httpx.HttpxTransport`. For the latter, every
connector the test makes without ``transport=`` gets an ``HttpxTransport`` of its own
(with the settings the stdlib one would have had), which it closes as it closes the
default: the tests run unchanged, down to who closes what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import client as client_module
from orkes.connectors.transport.client import HttpClient
from orkes.connectors.transport.httpx import HttpxTransport
from tests.connectors.loopback import LoopbackServer, RecordingSleep
from tests.connectors.openai_wire import OPENAI_TEST_KEY
from tests.connectors.services import (
    SERVICES,
    TRANSPORT_KINDS,
    LoopbackService,
    check_transport,
    httpx_like_stdlib,
)

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(params=TRANSPORT_KINDS)
def transport_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each transport in turn; a connector made without ``transport=`` runs on it."""
    kind: str = request.param
    if kind == "httpx":
        monkeypatch.setattr(client_module, "StdlibTransport", httpx_like_stdlib)
        with HttpClient("http://127.0.0.1") as probe:  # the swap must reach the connectors
            assert isinstance(probe.transport, HttpxTransport)
    return kind


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers are reached directly whatever proxy the developer's shell sets."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A scripted HTTP server on 127.0.0.1, closed after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    """Pass it as ``sleep=`` to see the delays between retries without waiting them out."""
    return RecordingSleep()


@pytest.fixture
def make_client(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> Iterator[Callable[..., HttpClient]]:
    """Builds ``HttpClient`` objects on the loopback server (``/v1``), closed after the test."""
    clients: list[HttpClient] = []

    def make(**options: Any) -> HttpClient:
        options = {"service": "Svc", "timeout": 2.0, "sleep": recording_sleep, **options}
        client = HttpClient(options.pop("base_url", loopback.url("/v1")), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def openai(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport_kind: str
) -> Iterator[OpenAIConnector]:
    """An ``OpenAIConnector`` on the loopback server, with a key and a recording sleep."""
    with OpenAIConnector(
        "gpt-4o-mini",
        api_key=OPENAI_TEST_KEY,
        base_url=loopback.url("/v1"),
        timeout=2,
        sleep=recording_sleep,
    ) as connector:
        check_transport(connector, transport_kind)
        yield connector


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> LoopbackService:
    """Each shipped HTTP connector's service in turn: OpenAI, Anthropic, Gemini."""
    service: LoopbackService = request.param
    return service


@pytest.fixture
def on_service(
    service: LoopbackService,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    transport_kind: str,
) -> Iterator[HttpChatConnector]:
    """The ``service``'s connector on the loopback server, closed after the test."""
    with service.connect(loopback, recording_sleep) as connector:
        check_transport(connector, transport_kind)
        yield connector
