"""HttpxTransport itself: its client, its errors, its streams, its proxies, HTTP/2.

The connector suites run on it too (``transport_kind`` in ``conftest.py``); this is what
is httpx's own: who closes which client, the extra it needs, how its errors are made safe,
a stream closed from another thread (over HTTP/1.1 and over HTTP/2), and proxies.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import httpx
import pytest
from typing_extensions import Self

from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import httpx as httpx_transport
from orkes.connectors.transport.httpx import HttpxTransport
from orkes.connectors.transport.protocol import EventSource, Request
from orkes.connectors.transport.retry import RetryRules
from orkes.connectors.transport.sse import ServerSentEvent
from orkes.connectors.transport.stdlib import USER_AGENT
from orkes.errors import (
    AuthenticationError,
    BadRequest,
    ConnectionFailed,
    ConnectorError,
    ConnectorTimeout,
    OrkesError,
    ResponseFormatError,
)
from tests.connectors import openai_wire
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordingSleep,
    error_response,
    hang_up,
    json_response,
    sse_response,
)
from tests.connectors.proxy_server import (
    ProxyServer,
    TlsLoopbackServer,
    client_tls_context,
    unused_port,
)
from tests.connectors.services import httpx_like_stdlib

SECRET = "sk-httpx-secret-42"


@pytest.fixture
def transport() -> Iterator[HttpxTransport]:
    with httpx_like_stdlib() as made:
        yield made


def request_to(
    url: str, sleep: RecordingSleep, *, timeout: float = 2.0, key: str = SECRET, **options: Any
) -> Request:
    """A request as a connector makes it: a key in a header, and among the secrets."""
    return Request(
        url,
        {"model": "m", "prompt": "héllo"},
        headers={"Authorization": f"Bearer {key}"},
        service="Svc",
        timeout=timeout,
        retry=RetryRules(sleep=sleep),
        secrets=(key,),
        **options,
    )


def shown(error: BaseException) -> str:
    """What a traceback with its locals shows of ``error`` below the test, causes included."""
    below_the_test = error.__traceback__.tb_next if error.__traceback__ else None
    error = error.with_traceback(below_the_test)
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(exception.format()) + repr(error)


# --- its client ---------------------------------------------------------------------------


def test_its_own_client_is_closed_by_close_and_made_again_on_the_next_request(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(json_response({"n": 1}), json_response({"n": 2}))
    first = transport.client
    assert transport.send(request_to(loopback.url("/v1/chat"), recording_sleep)) == {"n": 1}
    transport.close()
    assert first.is_closed
    assert transport.send(request_to(loopback.url("/v1/chat"), recording_sleep)) == {"n": 2}
    assert transport.client is not first
    assert loopback.connections_opened == 2


def test_a_given_client_is_used_with_its_settings_and_never_closed(
    loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    loopback.enqueue(json_response(openai_wire.completion()))
    with httpx.Client(headers={"X-Team": "blue", "User-Agent": "theirs"}) as given:
        transport = HttpxTransport(given)
        assert repr(transport) == f"HttpxTransport(client={given!r})"
        with OpenAIConnector(
            "m", api_key=SECRET, base_url=loopback.url("/v1"), transport=transport
        ) as llm:
            assert llm.transport is transport
            assert llm.invoke(openai_wire.HELLO)["content"] == "Hello!"
        transport.close()
        assert not given.is_closed
        assert transport.client is given
    [request] = loopback.requests
    assert request.headers["x-team"] == "blue"
    assert request.headers["user-agent"] == USER_AGENT  # the request's defaults win


def test_a_client_and_options_for_another_are_refused() -> None:
    with (
        httpx.Client() as given,
        pytest.raises(ConnectorError, match="a client or options for a client of its own"),
    ):
        HttpxTransport(given, http2=True)


def test_http2_and_the_other_options_make_its_client_and_no_repr_shows_a_password() -> None:
    proxy = "http://ada:s3cret@proxy.corp:3128"
    with HttpxTransport(http2=True, proxy=proxy, verify=client_tls_context()) as transport:
        assert repr(transport) == "HttpxTransport(http2=True, proxy=..., verify=...)"
        assert isinstance(transport.client, httpx.Client)


def test_without_httpx_the_error_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx now raises ImportError
    with pytest.raises(ConnectorError) as caught:
        HttpxTransport()
    assert isinstance(caught.value, OrkesError)
    assert str(caught.value) == (
        "HttpxTransport needs httpx, which is not installed: pip install 'orkes[httpx]'"
    )
    assert isinstance(caught.value.__cause__, ImportError)


def test_http2_without_h2_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h2", None)
    with pytest.raises(ConnectorError, match=r"HttpxTransport: .*'h2' package is not installed"):
        HttpxTransport(http2=True)


# --- requests and answers -----------------------------------------------------------------


def test_the_default_headers_give_way_to_the_request_s_whatever_their_case(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(json_response({}), json_response({}))
    url = loopback.url("/v1/chat?api-version=1")
    transport.send(request_to(url, recording_sleep))
    own = {"accept": "x/y", "USER-AGENT": "mine", "x-api-key": SECRET}
    transport.send(Request(url, {"m": 1}, headers=own, retry=RetryRules(sleep=recording_sleep)))
    first, second = loopback.requests
    assert first.path == "/v1/chat?api-version=1"
    assert first.json() == {"model": "m", "prompt": "héllo"}
    assert (first.headers["content-type"], first.headers["accept"]) == (
        "application/json",
        "application/json",
    )
    assert first.headers["user-agent"] == USER_AGENT
    assert first.headers["authorization"] == f"Bearer {SECRET}"
    assert (second.headers["accept"], second.headers["user-agent"]) == ("x/y", "mine")
    assert second.headers["x-api-key"] == SECRET
    assert transport.idle_connections == 1
    assert loopback.connections_opened == 1


def test_a_refused_connection_is_retried_then_fails_with_a_clean_cause(
    recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    port = unused_port()
    with pytest.raises(ConnectionFailed) as caught:
        transport.send(request_to(f"http://127.0.0.1:{port}/v1/chat", recording_sleep))
    assert str(caught.value) == (
        f"could not reach Svc at 127.0.0.1:{port} (POST /v1/chat) after 4 attempts: "
        "[Errno 111] Connection refused"
    )
    assert len(recording_sleep.delays) == 3
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert (cause.__traceback__, cause.__cause__, cause.__context__) == (None, None, None)
    with pytest.raises(RuntimeError):
        cause.request  # noqa: B018 - httpx's request (and its headers) is not kept
    assert SECRET not in shown(caught.value)


def test_a_hang_up_is_retried_and_a_slow_answer_is_a_timeout_that_is_not(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(hang_up(), json_response({"ok": True}), json_response({}, delay=1.0))
    assert transport.send(request_to(loopback.url("/chat"), recording_sleep)) == {"ok": True}
    assert len(recording_sleep.delays) == 1
    with pytest.raises(ConnectorTimeout) as caught:
        transport.send(request_to(loopback.url("/chat"), recording_sleep, timeout=0.2))
    assert str(caught.value) == (
        f"Svc at 127.0.0.1:{loopback.base_url.rpartition(':')[2]} (POST /chat) did not answer "
        "within 0.2 s (raise timeout= for slow models)"
    )
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(recording_sleep.delays) == 1  # not retried
    assert len(loopback.requests) == 3


class _Failing(httpx.BaseTransport):
    """A transport that never answers: each call raises ``httpx.ReadError``.

    With ``reused=True`` it tells httpx's trace hook that a request went out on a kept-alive
    connection (as httpcore does), without a dial; without it, the hook never fires (as
    with ``httpx.MockTransport`` or a WSGI transport). ``stop`` is set on the first call.
    """

    def __init__(self, *, reused: bool = False, stop: threading.Event | None = None) -> None:
        self.calls = 0
        self.reused = reused
        self.stop = stop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.stop is not None:
            self.stop.set()
        if self.calls > 50:  # a resend without end: fail loudly instead of hanging
            raise httpx.ConnectError("resent without end")
        trace = request.extensions.get("trace")
        if self.reused and trace is not None:
            trace("http11.send_request_headers.started", {"request": request})
        raise httpx.ReadError("the server closed the connection")


def test_a_transport_that_fires_no_trace_event_is_retried_only_max_retries_times(
    recording_sleep: RecordingSleep,
) -> None:
    failing = _Failing()
    with httpx.Client(transport=failing) as client, pytest.raises(ConnectionFailed) as caught:
        HttpxTransport(client).send(request_to("http://svc.test/chat", recording_sleep))
    assert str(caught.value) == (
        "could not reach Svc at svc.test:80 (POST /chat) after 4 attempts: "
        "the server closed the connection"
    )
    assert failing.calls == 4
    assert len(recording_sleep.delays) == 3


def test_a_mock_transport_that_fails_gives_up_when_the_call_is_stopped(
    recording_sleep: RecordingSleep,
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        stop.set()
        if len(calls) > 50:  # a resend without end: fail loudly instead of hanging
            raise httpx.ConnectError("resent without end")
        raise httpx.ReadError("the server closed the connection")

    stop = threading.Event()
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ConnectorError, match="given up before an answer came"),
    ):
        HttpxTransport(client).send(request_to("http://svc.test/chat", recording_sleep), stop=stop)
    assert len(calls) == 1


def test_a_kept_alive_connection_that_fails_is_resent_once_silently_per_attempt(
    recording_sleep: RecordingSleep,
) -> None:
    failing = _Failing(reused=True)
    with httpx.Client(transport=failing) as client, pytest.raises(ConnectionFailed) as caught:
        HttpxTransport(client).send(request_to("http://svc.test/chat", recording_sleep))
    assert "after 4 attempts: the server closed the connection" in str(caught.value)
    assert failing.calls == 8  # each attempt: the send, and one silent resend
    assert len(recording_sleep.delays) == 3


@pytest.mark.parametrize(
    "key",
    [f"{SECRET}\nX-Injected: 1", f"{SECRET}\x00", f"{SECRET}€", f"{SECRET} "],
    ids=["line-break", "nul", "not-latin-1", "trailing-space"],
)
def test_a_header_http_refuses_is_a_bad_request_that_shows_no_key(
    key: str, loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    with pytest.raises(BadRequest) as caught:
        transport.send(request_to(loopback.url("/chat"), recording_sleep, key=key))
    assert "a header holds characters that HTTP does not allow" in str(caught.value)
    assert (caught.value.__cause__, caught.value.__context__) == (None, None)
    assert SECRET not in shown(caught.value)
    assert loopback.requests == []


def test_a_header_that_h11_itself_refuses_is_a_bad_request_that_shows_no_key(
    monkeypatch: pytest.MonkeyPatch,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    transport: HttpxTransport,
) -> None:
    monkeypatch.setattr(httpx_transport, "_ILLEGAL_VALUE", re.compile(rb"(?!)"))  # no pre-check
    with pytest.raises(BadRequest, match="characters that HTTP does not allow") as caught:
        transport.send(request_to(loopback.url("/chat"), recording_sleep, key=f"{SECRET}\n"))
    assert (caught.value.__cause__, caught.value.__context__) == (None, None)
    assert SECRET not in shown(caught.value)


def test_a_body_that_is_not_json_is_quoted_redacted(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    echoed = CannedResponse(headers={"Content-Type": "text/plain"}, body=f"no {SECRET}".encode())
    loopback.enqueue(echoed, error_response(401, f"Incorrect API key provided: {SECRET}"))
    says = [
        (ResponseFormatError, "answered with a body that is not JSON: 'no ***'"),
        (AuthenticationError, "answered 401 Unauthorized: Incorrect API key provided: ***"),
    ]
    for failure, said in says:
        with pytest.raises(failure) as caught:
            transport.send(request_to(loopback.url("/chat"), recording_sleep))
        assert said in str(caught.value)
        assert SECRET not in shown(caught.value)


def test_a_body_cut_while_read_whole_is_a_connection_failure(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    json_type = {"Content-Type": "application/json"}
    loopback.enqueue(CannedResponse(headers=json_type, chunks=(b"{", b"}"), cut_after=1))
    with pytest.raises(ConnectionFailed, match="broke while reading the answer") as caught:
        transport.send(request_to(loopback.url("/chat"), recording_sleep))
    assert SECRET not in shown(caught.value)


# --- streams ------------------------------------------------------------------------------


def test_json_where_events_were_asked_for_is_a_response_format_error(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(json_response({"error": {"message": "streaming is off"}}))
    with pytest.raises(ResponseFormatError, match="where an event stream was asked for: stream"):
        transport.open_events(request_to(loopback.url("/chat"), recording_sleep))
    assert loopback.requests[0].headers["accept"] == "text/event-stream"


def test_a_stream_read_to_the_end_pools_its_connection(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(sse_response([b": ping\n\n", {"n": 1}, b"event: named\ndata: two\n", b"\n"]))
    with transport.open_events(request_to(loopback.url("/chat"), recording_sleep)) as events:
        assert list(events) == [ServerSentEvent('{"n": 1}'), ServerSentEvent("two", "named")]
    assert transport.idle_connections == 1


def test_a_cut_stream_and_a_silent_one_fail_after_the_events_that_came(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(
        sse_response([{"n": 1}, {"n": 2}], cut_after=1),
        sse_response([{"n": 1}, {"n": 2}], chunk_delay=1.0),
    )
    failures: list[tuple[type[ConnectorError], str]] = [
        (ConnectionFailed, "broke in the middle of a stream"),
        (ConnectorTimeout, "sent nothing for 0.2 s in the middle of a stream"),
    ]
    for failure, says in failures:
        url = loopback.url("/chat")
        events = transport.open_events(request_to(url, recording_sleep, timeout=0.2))
        assert next(events) == ServerSentEvent('{"n": 1}')
        with pytest.raises(failure, match=says) as caught:
            next(events)
        assert SECRET not in shown(caught.value)
        assert list(events) == []
        events.close()
    assert transport.idle_connections == 0


def test_a_close_racing_the_end_of_a_stream_leaves_the_pooled_connection_alone(
    monkeypatch: pytest.MonkeyPatch,
    loopback: LoopbackServer,
    recording_sleep: RecordingSleep,
    transport: HttpxTransport,
) -> None:
    # The reading thread is held right after httpx handed the connection back to the pool
    # (at the end of the body), and the stream is closed from another thread meanwhile:
    # the close must not shut down a socket that the next request may already carry.
    pooled, resume = threading.Event(), threading.Event()
    release = httpx.Response.close

    def close_then_wait(response: httpx.Response) -> None:
        release(response)
        if threading.current_thread().name.startswith("orkes-httpx-events"):
            pooled.set()
            resume.wait(2.0)

    monkeypatch.setattr(httpx.Response, "close", close_then_wait)
    loopback.enqueue(sse_response([{"n": 1}]), json_response({"n": 2}))
    events = transport.open_events(request_to(loopback.url("/chat"), recording_sleep))
    assert pooled.wait(2.0)
    assert transport.idle_connections == 1
    events.close()
    resume.set()
    assert events.closed
    assert transport.send(request_to(loopback.url("/chat"), recording_sleep)) == {"n": 2}
    assert loopback.connections_opened == 1  # the same connection carried both
    assert recording_sleep.delays == []


def _close_while_waiting(events: EventSource) -> tuple[float, float, BaseException | None]:
    """Close ``events`` while another thread waits for its next event.

    Returns how long the close took, how long the waiting read then took to end, and what
    it raised.
    """
    assert next(events) is not None
    outcome: list[BaseException | None] = []
    ended = threading.Event()

    def read_on() -> None:
        try:
            next(events)
            outcome.append(None)
        except Exception as error:
            outcome.append(error)
        ended.set()

    reader = threading.Thread(target=read_on)
    reader.start()
    time.sleep(0.1)  # the reader waits by now
    assert not ended.is_set()
    started = time.monotonic()
    events.close()
    closing = time.monotonic() - started
    assert ended.wait(2.0)
    reader.join()
    return closing, time.monotonic() - started, outcome[0]


def test_a_stream_closed_from_another_thread_ends_the_waiting_read_at_once(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(sse_response([{"n": n} for n in range(20)], chunk_delay=0.3))
    events = transport.open_events(request_to(loopback.url("/chat"), recording_sleep))
    closing, woken, raised = _close_while_waiting(events)
    assert closing < 0.1
    assert woken < 0.15  # the next event was due 0.2 s later: the close woke it
    assert isinstance(raised, ConnectionFailed)
    assert "was closed" in str(raised)
    assert loopback.wait_for_hangup()  # the socket was shut down: the service stops too
    assert transport.idle_connections == 0
    events.close()  # twice is harmless


def test_finish_gives_a_stream_kept_open_after_its_end_a_short_grace(
    loopback: LoopbackServer, recording_sleep: RecordingSleep, transport: HttpxTransport
) -> None:
    loopback.enqueue(sse_response([{"n": 1}, {"n": 2}], chunk_delay=0.5))
    events = transport.open_events(request_to(loopback.url("/chat"), recording_sleep))
    assert next(events) == ServerSentEvent('{"n": 1}')
    started = time.monotonic()
    events.finish(grace=0.1)
    assert time.monotonic() - started < 0.4
    assert events.closed
    assert loopback.wait_for_hangup()


# --- proxies ------------------------------------------------------------------------------


@pytest.mark.parametrize("https", [True, False], ids=["connect", "forward"])
def test_a_proxy_carries_requests_and_streams(https: bool, loopback: LoopbackServer) -> None:
    with (
        TlsLoopbackServer() as tls,
        ProxyServer() as proxy,
        HttpxTransport(proxy=proxy.url, verify=client_tls_context()) as transport,
    ):
        target = tls if https else loopback
        target.enqueue(
            json_response(openai_wire.completion()), sse_response(openai_wire.TEXT_STREAM)
        )
        with OpenAIConnector(
            "m", api_key=SECRET, base_url=target.url("/v1"), transport=transport
        ) as llm:
            assert llm.invoke(openai_wire.HELLO)["content"] == "Hello!"
            assert list(llm.stream(openai_wire.HELLO)) == ["Hel", "lo"]
        assert len(target.requests) == 2
        if https:
            assert proxy.connects == [f"localhost:{tls.port}"]  # one tunnel, kept alive
        else:
            assert [line.split()[0] for line in proxy.request_lines] == ["POST", "POST"]


@pytest.mark.parametrize("https", [True, False], ids=["connect", "forward"])
def test_a_proxy_that_answers_407_is_named_and_not_retried(
    https: bool, loopback: LoopbackServer, recording_sleep: RecordingSleep
) -> None:
    with (
        TlsLoopbackServer() as tls,
        ProxyServer(credentials=("ada", "pw")) as guarded,
        HttpxTransport(proxy=guarded.url, verify=client_tls_context()) as transport,
    ):
        target = tls if https else loopback
        origin = f"localhost:{tls.port}" if https else loopback.base_url[len("http://") :]
        with pytest.raises(ConnectionFailed) as caught:
            transport.send(request_to(target.url("/v1/chat"), recording_sleep))
    verb = "open a tunnel to" if https else "forward requests to"
    assert str(caught.value) == (
        f"the proxy at {guarded.address} refused to {verb} {origin}: it answered 407 "
        "Proxy Authentication Required (check the proxy's user and password)"
    )
    assert (guarded.refusals, recording_sleep.delays) == (1, [])


def test_an_unreachable_proxy_is_named_in_the_connection_failure(
    recording_sleep: RecordingSleep,
) -> None:
    nowhere = f"127.0.0.1:{unused_port()}"
    with (
        TlsLoopbackServer() as tls,
        HttpxTransport(proxy=f"http://ada:s3cret@{nowhere}") as transport,
        pytest.raises(ConnectionFailed) as caught,
    ):
        transport.send(request_to(tls.url("/v1/chat"), recording_sleep))
    assert str(caught.value).endswith(f"Connection refused (through the proxy at {nowhere})")
    assert "s3cret" not in shown(caught.value)


# --- HTTP/2 -------------------------------------------------------------------------------


class H2Server:
    """HTTP/2 with prior knowledge on 127.0.0.1: ``.../json`` answers JSON, any other path
    ``events`` events, ``chunk_delay`` seconds apart (0.5 s on a path with ``slow``).
    Streams are answered side by side.
    """

    def __init__(self, *, events: int = 3, chunk_delay: float = 0.0) -> None:
        self.events = events
        self.chunk_delay = chunk_delay
        self.paths: list[str] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            self._sockets.append(sock)
            self._start(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        config = h2.config.H2Configuration(client_side=False)
        conn = h2.connection.H2Connection(config=config)
        lock = threading.Lock()
        paths: dict[int, str] = {}
        with lock:
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
        while not self.stopping.is_set():
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with lock:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        found = (v for k, v in event.headers or [] if k == b":path")
                        paths[event.stream_id] = next(found).decode()
                    elif isinstance(event, h2.events.DataReceived):
                        length = event.flow_controlled_length or 0
                        conn.acknowledge_received_data(length, event.stream_id or 0)
                    elif isinstance(event, h2.events.StreamEnded) and event.stream_id:
                        path = paths[event.stream_id]
                        self.paths.append(path)
                        self._start(self._answer, conn, lock, sock, event.stream_id, path)
                with contextlib.suppress(OSError):
                    sock.sendall(conn.data_to_send())

    def _answer(
        self,
        conn: h2.connection.H2Connection,
        lock: threading.Lock,
        sock: socket.socket,
        sid: int,
        path: str,
    ) -> None:
        def send(step: Any) -> None:
            with lock:
                step()
                sock.sendall(conn.data_to_send())

        try:
            if path.endswith("/json"):
                send(lambda: conn.send_headers(sid, [(":status", "200")]))
                send(lambda: conn.send_data(sid, b'{"ok": true}', end_stream=True))
                return
            sse = [(":status", "200"), ("content-type", "text/event-stream")]
            send(lambda: conn.send_headers(sid, sse))
            delay = 0.5 if "slow" in path else self.chunk_delay
            for n in range(self.events):
                if n and self.stopping.wait(delay):
                    return
                send(lambda n=n: conn.send_data(sid, f"data: {n}\n\n".encode()))
            send(lambda: conn.end_stream(sid))
        except (h2.exceptions.ProtocolError, OSError):
            return  # the stream or the connection went away

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(), which close() does not
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)
        for sock in self._sockets:
            sock.close()


def test_http2_carries_a_whole_answer_and_a_stream(recording_sleep: RecordingSleep) -> None:
    with H2Server() as server, HttpxTransport(http1=False, http2=True) as transport:
        assert transport.send(request_to(f"{server.url}/v1/json", recording_sleep)) == {"ok": True}
        events = transport.open_events(request_to(f"{server.url}/v1/chat", recording_sleep))
        assert [event.data for event in events] == ["0", "1", "2"]
        assert transport.idle_connections == 1
    assert server.connections == 1


def test_over_http2_a_stream_closed_from_another_thread_leaves_its_neighbours_alone(
    recording_sleep: RecordingSleep,
) -> None:
    with (
        H2Server(events=8, chunk_delay=0.05) as server,
        HttpxTransport(http1=False, http2=True) as transport,
    ):
        closed = transport.open_events(request_to(f"{server.url}/v1/slow", recording_sleep))
        neighbour = transport.open_events(request_to(f"{server.url}/v1/b", recording_sleep))
        closing, woken, raised = _close_while_waiting(closed)
        assert closing < 0.1
        assert woken < 0.25  # its next event was due 0.4 s later: the close woke it
        assert isinstance(raised, ConnectionFailed)
        assert [event.data for event in neighbour] == [str(n) for n in range(8)]
    assert server.connections == 1  # both streams shared one connection
