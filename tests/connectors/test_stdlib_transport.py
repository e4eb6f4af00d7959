"""The standard-library transport on its own: one transport, many hosts, per-request settings."""

from __future__ import annotations

import threading
import time

import pytest

from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import Request, RetryRules, StdlibTransport
from orkes.errors import BadRequest, ConnectorError, ConnectorTimeout
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.loopback import CannedResponse, LoopbackServer, RecordingSleep, json_response
from tests.connectors.openai_wire import OPENAI_TEST_KEY, completion


def test_one_transport_serves_two_services_each_on_its_own_kept_alive_connection() -> None:
    transport = StdlibTransport()
    with LoopbackServer() as first, LoopbackServer() as second:
        first.enqueue(json_response(completion("one")), json_response(completion("1")))
        second.enqueue(json_response(completion("two")))
        left = OpenAIConnector(
            "m", api_key=OPENAI_TEST_KEY, base_url=first.url("/v1"), transport=transport
        )
        right = OpenAIConnector(
            "m", api_key=OPENAI_TEST_KEY, base_url=second.url("/v1"), transport=transport
        )
        ask: list[OrkesMessageSchema] = [{"role": "user", "content": "hi"}]
        assert left.invoke(ask)["content"] == "one"
        assert right.invoke(ask)["content"] == "two"
        assert transport.idle_connections == 2
        assert left.invoke(ask)["content"] == "1"
        assert first.connections_opened == 1  # the second call reused the first's socket
        left.close()  # the transport was given: the connector leaves it open
        assert transport.idle_connections == 2
        transport.close()
        assert transport.idle_connections == 0


def test_each_request_brings_its_own_timeout_to_a_shared_connection() -> None:
    transport = StdlibTransport()
    with LoopbackServer() as server:
        server.enqueue(json_response({"ok": 1}), CannedResponse(body=b"{}", delay=0.5))
        patient = Request(server.url("/a"), {}, timeout=5.0)
        hasty = Request(server.url("/a"), {}, timeout=0.1, retry=RetryRules(max_retries=0))
        assert transport.send(patient) == {"ok": 1}
        started = time.perf_counter()
        with pytest.raises(ConnectorTimeout, match=r"did not answer within 0\.1 s"):
            transport.send(hasty)
        assert time.perf_counter() - started < 0.45
    transport.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "ftp://example.com/x",
            "the URL must look like 'https://host/path', got 'ftp://example.com/x'",
        ),
        ("example.com/v1", "the URL must look like 'https://host/path', got 'example.com/v1'"),
        ("http://example.com:99999/x", "Port out of range"),
    ],
)
def test_a_url_that_cannot_work_is_a_connector_error_naming_it(url: str, says: str) -> None:
    with pytest.raises(ConnectorError, match="Svc: ") as caught:
        StdlibTransport().send(Request(url, {}, service="Svc"))
    assert says in str(caught.value)


def test_its_repr_names_the_proxy_and_never_its_password() -> None:
    assert repr(StdlibTransport()) == "StdlibTransport()"
    shown = repr(StdlibTransport(proxy="http://me:hunter2@proxy.corp:3128"))
    assert shown == "StdlibTransport(proxy=Proxy('proxy.corp', 3128))"


def test_a_give_up_cuts_the_wait_between_attempts_short() -> None:
    transport = StdlibTransport()
    stop = threading.Event()
    with LoopbackServer() as server:
        server.enqueue(CannedResponse(status=503, body=b"busy", headers={"Retry-After": "30"}))
        request = Request(server.url("/a"), {}, retry=RetryRules(max_retry_after=60))
        threading.Timer(0.2, stop.set).start()
        started = time.perf_counter()
        with pytest.raises(ConnectorError, match="given up before an answer came"):
            transport.send(request, stop=stop)
        assert time.perf_counter() - started < 5
    transport.close()


def test_a_recording_sleep_is_used_instead_of_the_stop_event(
    recording_sleep: RecordingSleep,
) -> None:
    with LoopbackServer() as server:
        server.enqueue(
            CannedResponse(status=503, body=b"busy", headers={"Retry-After": "2"}),
            json_response({"ok": True}),
        )
        request = Request(server.url("/a"), {}, retry=RetryRules(sleep=recording_sleep))
        assert StdlibTransport().send(request, stop=threading.Event()) == {"ok": True}
    assert recording_sleep.delays == [2.0]


def test_a_base_url_whose_port_is_no_number_is_refused_when_the_connector_is_made() -> None:
    with pytest.raises(ConnectorError) as caught:
        OpenAIConnector("m", api_key="sk-1", base_url="https://host:abc/v1?key=SECRETQ")
    assert str(caught.value) == (
        "base_url has no valid port (Port could not be cast to integer value as 'abc'): "
        "'https://host:abc/v1'"
    )


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan")])
def test_a_request_without_a_positive_timeout_is_a_bad_request(timeout: float) -> None:
    with pytest.raises(BadRequest, match="Svc: timeout must be > 0 seconds"):
        Request("https://host/v1", {}, service="Svc", timeout=timeout)
