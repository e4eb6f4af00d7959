from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from orkes.connectors.transport._connection import ConnectionPool
from orkes.connectors.transport.client import HttpClient, HttpRequest
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    ConnectorTimeout,
    RateLimited,
    ResponseFormatError,
    ServiceError,
)
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordingSleep,
    error_response,
    hang_up,
    json_response,
)

SECRET = "sk-test-secret-42"
REQUEST = HttpRequest(
    "/chat",
    {"model": "m", "prompt": "héllo"},
    headers={"Authorization": f"Bearer {SECRET}"},
    secrets=(SECRET,),
)

MakeClient = Callable[..., HttpClient]


def test_request_json_sends_json_and_returns_the_decoded_answer(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({"answer": 42}))
    assert make_client().request_json(REQUEST) == {"answer": 42}
    [request] = loopback.requests
    assert (request.method, request.path) == ("POST", "/v1/chat")
    assert request.json() == {"model": "m", "prompt": "héllo"}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["user-agent"].startswith("orkes")


def test_request_headers_override_defaults_whatever_their_case(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({}))
    make_client().request_json(HttpRequest("/x", {}, headers={"user-agent": "mine/1"}))
    assert loopback.requests[0].headers["user-agent"] == "mine/1"


def test_base_url_query_is_kept_on_every_request(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({}), json_response({}))
    client = make_client(base_url=loopback.url("/api/?api-version=2024"))
    client.request_json(HttpRequest("chat", {}))
    client.request_json(HttpRequest("/chat?alt=sse", {}))
    assert [request.path for request in loopback.requests] == [
        "/api/chat?api-version=2024",
        "/api/chat?alt=sse&api-version=2024",
    ]


def test_connections_are_kept_alive_and_reused(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({"n": 1}), json_response({"n": 2}), json_response({"n": 3}))
    client = make_client()
    assert [client.request_json(REQUEST)["n"] for _ in range(3)] == [1, 2, 3]
    assert loopback.connections_opened == 1
    assert client.idle_connections == 1
    client.close()
    assert client.idle_connections == 0


def test_a_pooled_connection_closed_by_the_server_is_replaced_silently(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(json_response({"n": 1}, close_after=True), json_response({"n": 2}))
    client = make_client(max_retries=0)
    assert client.request_json(REQUEST) == {"n": 1}
    time.sleep(0.05)  # let the server's close reach us
    assert client.request_json(REQUEST) == {"n": 2}
    assert loopback.connections_opened == 2
    assert recording_sleep.delays == []


def test_threads_share_the_client_safely(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.enqueue(*[json_response({"n": n}) for n in range(24)])
    client = make_client(pool_size=4)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: client.request_json(REQUEST)["n"], range(24)))
    assert sorted(answers) == list(range(24))
    assert loopback.connections_opened <= 6
    assert client.idle_connections <= 4


def test_429_is_retried_after_the_retry_after_seconds(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(
        error_response(429, "slow down", headers={"Retry-After": "2"}),
        error_response(429, "slow down", headers={"Retry-After-Ms": "250"}),
        json_response({"ok": True}),
    )
    assert make_client().request_json(REQUEST) == {"ok": True}
    assert recording_sleep.delays == [2.0, 0.25]
    assert len(loopback.requests) == 3
    assert loopback.connections_opened == 1  # error answers leave the connection reusable


def test_retry_after_as_http_date(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    in_five_seconds = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 5))
    loopback.enqueue(
        error_response(429, "wait", headers={"Retry-After": in_five_seconds}),
        json_response({"ok": True}),
    )
    assert make_client(max_retry_after=10).request_json(REQUEST) == {"ok": True}
    [from_date] = recording_sleep.delays
    assert 3.5 <= from_date <= 5.0  # HTTP-dates have whole seconds


@pytest.mark.parametrize(("status", "error_class"), [(429, RateLimited), (503, ServiceError)])
def test_a_wait_longer_than_max_retry_after_raises_at_once(
    loopback: LoopbackServer,
    make_client: MakeClient,
    recording_sleep: RecordingSleep,
    status: int,
    error_class: type[ConnectorError],
) -> None:
    loopback.enqueue(error_response(status, "quota", headers={"Retry-After": "3600"}))
    with pytest.raises(error_class) as caught:
        make_client(max_retry_after=60).request_json(REQUEST)
    assert len(loopback.requests) == 1
    assert recording_sleep.delays == []
    assert str(caught.value).endswith(
        "(it asks to wait 3600 s, longer than max_retry_after=60 s): quota"
    )
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 3600.0


@pytest.mark.parametrize(
    ("status", "should_retry", "retried"),
    [
        (503, "false", False),
        (429, "False", False),
        (400, "true", True),
        (409, "true", True),
        (409, None, False),
        (408, None, True),
    ],
)
def test_x_should_retry_decides_over_the_status(
    loopback: LoopbackServer,
    make_client: MakeClient,
    recording_sleep: RecordingSleep,
    status: int,
    should_retry: str | None,
    retried: bool,
) -> None:
    headers = {} if should_retry is None else {"x-should-retry": should_retry}
    loopback.enqueue(error_response(status, "hm", headers=headers), json_response({"ok": 1}))
    client = make_client()
    if retried:
        assert client.request_json(REQUEST) == {"ok": 1}
    else:
        with pytest.raises(ConnectorError) as caught:
            client.request_json(REQUEST)
        assert caught.value.status == status
    assert len(loopback.requests) == (2 if retried else 1)
    assert len(recording_sleep.delays) == (1 if retried else 0)


def test_a_retry_after_of_zero_or_in_the_past_means_the_usual_jittered_backoff(
    loopback: LoopbackServer,
    make_client: MakeClient,
    recording_sleep: RecordingSleep,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("orkes.connectors.transport._attempts.random.random", lambda: 1.0)
    loopback.enqueue(
        error_response(429, "now", headers={"Retry-After": "0"}),
        error_response(503, "then", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        json_response({"ok": True}),
    )
    assert make_client(backoff_base=0.5).request_json(REQUEST) == {"ok": True}
    assert recording_sleep.delays == [0.5, 1.0]


def test_429_exhausted_raises_rate_limited_with_the_hint(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(*[error_response(429, "quota", headers={"Retry-After": "1"})] * 3)
    with pytest.raises(RateLimited) as caught:
        make_client(max_retries=2).request_json(REQUEST)
    assert caught.value.retry_after == 1.0
    assert caught.value.status == 429
    assert caught.value.service_message == "quota"
    assert recording_sleep.delays == [1.0, 1.0]
    assert str(caught.value) == (
        f"Svc at 127.0.0.1:{loopback.base_url.rsplit(':', 1)[1]} (POST /v1/chat) "
        "answered 429 Too Many Requests (after 3 attempts): quota"
    )


def test_retries_are_logged_without_the_key(
    loopback: LoopbackServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.enqueue(
        error_response(503, f"overloaded {SECRET}", headers={"Retry-After": "1"}),
        json_response({}),
    )
    with caplog.at_level(logging.DEBUG, logger="orkes.connectors.transport"):
        make_client().request_json(REQUEST)
    [record] = caplog.records
    assert record.getMessage().endswith(
        "(POST /v1/chat): answered 503 Service Unavailable; retry 1 of 3 in 1.00 s"
    )
    assert SECRET not in caplog.text


def test_500_then_success(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(error_response(500, "oops"), json_response({"ok": True}))
    assert make_client(backoff_base=0.5).request_json(REQUEST) == {"ok": True}
    [delay] = recording_sleep.delays
    assert 0 <= delay <= 0.5


def test_5xx_exhausted_raises_service_error_after_growing_jittered_backoff(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(*[error_response(502, "upstream died")] * 5)
    with pytest.raises(ServiceError) as caught:
        make_client(max_retries=4, backoff_base=1.0, backoff_max=3.0).request_json(REQUEST)
    assert caught.value.status == 502
    assert caught.value.service_message == "upstream died"
    assert "after 5 attempts" in str(caught.value)
    assert len(loopback.requests) == 5
    ceilings = [1.0, 2.0, 3.0, 3.0]
    assert len(recording_sleep.delays) == 4
    assert all(0 <= d <= c for d, c in zip(recording_sleep.delays, ceilings, strict=True))


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(401, AuthenticationError), (403, AuthenticationError), (400, BadRequest), (404, BadRequest)],
)
def test_other_4xx_are_not_retried(
    loopback: LoopbackServer,
    make_client: MakeClient,
    recording_sleep: RecordingSleep,
    status: int,
    error_class: type[ConnectorError],
) -> None:
    loopback.enqueue(error_response(status, "the service's own words"))
    with pytest.raises(error_class) as caught:
        make_client().request_json(REQUEST)
    assert caught.value.status == status
    assert caught.value.service_message == "the service's own words"
    assert len(loopback.requests) == 1
    assert recording_sleep.delays == []


def test_the_key_never_appears_in_errors_even_when_echoed(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(error_response(401, f"Incorrect API key provided: {SECRET}"))
    with pytest.raises(AuthenticationError) as caught:
        make_client().request_json(REQUEST)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert caught.value.service_message == "Incorrect API key provided: ***"
    assert SECRET not in repr(REQUEST)


def test_a_header_http_refuses_gives_bad_request_without_the_value(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    bad = HttpRequest("/chat", {}, headers={"Authorization": f"Bearer {SECRET}\n"})
    with pytest.raises(BadRequest) as caught:
        make_client().request_json(bad)
    assert "stray spaces or line breaks" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert loopback.requests == []


def test_a_body_that_is_not_json_serializable_is_a_bad_request(make_client: MakeClient) -> None:
    with pytest.raises(BadRequest, match="can't be written as JSON"):
        make_client().request_json(HttpRequest("/chat", {"when": object()}))


def test_a_lone_surrogate_in_the_body_is_a_bad_request_at_once(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    request = HttpRequest("/chat", {"prompt": "caf\udce9"}, headers=REQUEST.headers)
    with pytest.raises(BadRequest) as caught:
        make_client().request_json(request)
    assert str(caught.value).endswith(
        "can't be written as UTF-8: it holds the lone surrogate '\\udce9' after "
        "'{\"prompt\":\"caf' (text decoded with errors='surrogateescape', "
        "or half of an escaped emoji?)"
    )
    assert (loopback.requests, recording_sleep.delays) == ([], [])


@pytest.mark.parametrize(
    ("path", "culprit"),
    [
        ("/models/gemini pro:chat", "path '/v1/models/gemini pro:chat' holds ' '"),
        ("/x\r\nHost: evil", "path '/v1/x\\r\\nHost: evil' holds '\\r'"),
        ("/modèle", "path '/v1/modèle' holds 'è'"),
        ("/chat?alt=s se", "query holds ' '"),
    ],
)
def test_a_path_no_url_can_carry_is_a_bad_request_at_once(
    loopback: LoopbackServer,
    make_client: MakeClient,
    recording_sleep: RecordingSleep,
    path: str,
    culprit: str,
) -> None:
    with pytest.raises(BadRequest) as caught:
        make_client().request_json(HttpRequest(path, {}, headers=REQUEST.headers))
    assert str(caught.value) == (
        f"the request to Svc at 127.0.0.1:{loopback.base_url.rsplit(':', 1)[1]} can't be sent: "
        f"its {culprit}, which a URL can't carry unencoded (check the model name and base_url)"
    )
    assert (loopback.requests, recording_sleep.delays) == ([], [])


@pytest.mark.parametrize(
    ("suffix", "culprit"), [("/v1 beta", " "), ("/v1\n", "\n"), ("/\tv1", "\t")]
)
def test_a_base_url_with_a_space_or_control_character_is_refused(suffix: str, culprit: str) -> None:
    base_url = f"http://127.0.0.1:9{suffix}"
    with pytest.raises(BadRequest) as caught:
        HttpClient(base_url)
    assert str(caught.value) == (
        f"base_url can't hold {culprit!r} (percent-encode it), got {base_url!r}"
    )


def test_a_slow_answer_times_out_without_retry(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(json_response({}, delay=2.0))
    started = time.monotonic()
    with pytest.raises(ConnectorTimeout, match=r"did not answer within 0\.2 s") as caught:
        make_client(timeout=0.2).request_json(REQUEST)
    assert time.monotonic() - started < 1.5
    assert isinstance(caught.value, TimeoutError)
    assert recording_sleep.delays == []
    assert len(loopback.requests) == 1


def test_a_refused_connection_is_retried_then_raises(
    make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    with socket.socket() as placeholder:  # a port that nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(
        ConnectionFailed, match=r"could not reach Svc .* after 3 attempts"
    ) as caught:
        client.request_json(REQUEST)
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert len(recording_sleep.delays) == 2


def test_a_hang_up_without_answer_is_retried_like_a_connection_failure(
    loopback: LoopbackServer, make_client: MakeClient, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(hang_up(), json_response({"ok": True}), hang_up())
    client = make_client()
    assert client.request_json(REQUEST) == {"ok": True}
    assert len(recording_sleep.delays) == 1
    client.close()
    with pytest.raises(ConnectionFailed, match="after 1 attempt: Remote end closed"):
        make_client(max_retries=0).request_json(REQUEST)


def test_https_to_a_server_that_speaks_plain_http_fails_to_connect(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    client = make_client(base_url=loopback.base_url.replace("http:", "https:"), max_retries=0)
    with pytest.raises(ConnectionFailed, match="could not reach Svc") as caught:
        client.request_json(REQUEST)
    assert isinstance(caught.value.__cause__, ssl.SSLError)


def test_a_body_that_is_not_json_is_a_response_format_error(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(CannedResponse(body=b"<html>hello</html>"))
    with pytest.raises(ResponseFormatError, match="not JSON: '<html>hello</html>'") as caught:
        make_client().request_json(REQUEST)
    assert caught.value.status == 200


def test_a_connection_cut_in_the_body_is_a_connection_failure(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(CannedResponse(chunks=(b'{"a":', b"1}"), cut_after=1))
    with pytest.raises(ConnectionFailed, match="broke while reading the answer"):
        make_client(max_retries=0).request_json(REQUEST)


def test_a_body_that_stops_coming_is_a_timeout(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(CannedResponse(chunks=(b'{"a":', b"1}"), chunk_delay=2.0))
    with pytest.raises(ConnectorTimeout, match="did not finish its answer"):
        make_client(timeout=0.2).request_json(REQUEST)


@pytest.mark.parametrize(
    ("base_url", "options"),
    [
        ("ftp://host/x", {}),
        ("http:///path", {}),
        ("http://h", {"timeout": 0}),
        ("http://h", {"max_retries": -1}),
    ],
)
def test_settings_that_cannot_work_are_refused(base_url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError):
        HttpClient(base_url, **options)


def test_connections_idle_longer_than_idle_timeout_are_closed_not_reused(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(json_response({"n": 1}), json_response({"n": 2}))
    client = make_client(idle_timeout=0.05)
    assert client.request_json(REQUEST) == {"n": 1}
    time.sleep(0.15)
    assert client.request_json(REQUEST) == {"n": 2}
    assert loopback.connections_opened == 2
    assert client.idle_connections == 1


class _Recorded(http.client.HTTPConnection):
    def __init__(self, name: str, closed: list[str]) -> None:
        super().__init__("127.0.0.1", 9)
        self.name, self._closed = name, closed

    def close(self) -> None:
        self._closed.append(self.name)


def test_the_pool_closes_every_expired_connection_and_reuses_the_freshest() -> None:
    now, closed = [0.0], list[str]()
    pool = ConnectionPool(lambda: _Recorded("new", closed), 4, max_idle=15, clock=lambda: now[0])
    for name, released_at in [("a", 0.0), ("b", 10.0), ("c", 20.0), ("d", 30.0)]:
        now[0] = released_at
        pool.release(_Recorded(name, closed))
    now[0] = 35.5  # a, b idle 35.5 and 25.5 s; c 15.5 s; d 5.5 s
    connection, reused = pool.acquire()
    assert (getattr(connection, "name", None), reused, closed) == ("d", True, ["a", "b", "c"])
    assert pool.idle_count == 0
    now[0] = 100.0
    assert pool.acquire()[1] is False


def _frames_text(error: BaseException) -> str:
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(exception.format())


def test_the_key_is_in_no_traceback_locals_of_an_error_answer(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.enqueue(error_response(401, "Incorrect API key provided"))
    with pytest.raises(AuthenticationError) as caught:
        make_client().request_json(REQUEST)
    text = _frames_text(caught.value)
    assert "where = " in text  # the locals were captured...
    assert SECRET not in text  # ...and none holds the key


def test_the_key_is_in_no_traceback_locals_of_a_failed_send(make_client: MakeClient) -> None:
    with socket.socket() as listener:  # accepts connections, never reads a byte
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = make_client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
        # More than the socket buffers take: the send itself times out, inside http.client.
        big = HttpRequest("/chat", {"text": "x" * 8_000_000}, headers=REQUEST.headers)
        with pytest.raises(ConnectorTimeout) as caught:
            client.request_json(big)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert SECRET not in _frames_text(caught.value)


def test_repr_and_context_manager() -> None:
    with HttpClient("https://api.example.com/v1", service="Svc") as client:
        assert repr(client) == "HttpClient('https://api.example.com/v1', service='Svc')"


ECHOED = "sk-echoed-4242"


def enqueue_answers_that_echo_the_key(loopback: LoopbackServer) -> None:
    echo = f'{{"error": {{"message": "Incorrect API key provided: {ECHOED}"}}}}'.encode()
    loopback.enqueue(
        CannedResponse(status=401, headers={"Content-Type": "application/json"}, body=echo),
        CannedResponse(status=200, headers={"Content-Type": "application/json"}, body=b"x" + echo),
    )


def test_no_frame_of_an_error_holds_a_key_echoed_in_the_body(
    make_client: Callable[..., HttpClient], loopback: LoopbackServer
) -> None:
    enqueue_answers_that_echo_the_key(loopback)
    client = make_client()
    for _ in range(2):  # a 401 that echoes it, then a 2xx body that is not JSON
        with pytest.raises(ConnectorError) as caught:
            client.request_json(HttpRequest("/chat", {"m": 1}, secrets=(ECHOED,)))
        shown = "".join(
            traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
        )
        assert ECHOED not in shown
        assert "***" in shown


def test_a_stop_set_before_or_during_the_retries_gives_up(
    make_client: Callable[..., HttpClient], loopback: LoopbackServer
) -> None:
    import threading

    given_up = threading.Event()
    given_up.set()
    with pytest.raises(ConnectorError, match="the call was given up before an answer came"):
        make_client().request_json(REQUEST, stop=given_up)
    assert loopback.requests == []
