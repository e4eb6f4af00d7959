"""Proxies: the ``*_PROXY`` conventions, and real requests through a proxy on loopback."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

from orkes.connectors._chat.connector import HttpChatConnector
from orkes.connectors.anthropic import AnthropicConnector
from orkes.connectors.gemini import GeminiConnector
from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.transport import StdlibTransport
from orkes.connectors.transport._proxy import parse_proxy, proxy_for
from orkes.errors import ConnectionFailed, ConnectorError
from tests.connectors import anthropic_wire, gemini_wire, openai_wire
from tests.connectors.loopback import (
    CannedResponse,
    LoopbackServer,
    RecordingSleep,
    json_response,
    sse_response,
)
from tests.connectors.proxy_server import (
    ProxyServer,
    TlsLoopbackServer,
    client_tls_context,
    proxy_threads,
    unused_port,
)

PASSWORD = "pa ss@w/rd"  # a space, an @ and a / to percent-encode
HI = openai_wire.HELLO
CORP = "http://proxy.corp:3128"

# --- the conventions, as pure functions ---------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "scheme", "expected"),
    [
        ({}, "https", None),
        ({"HTTPS_PROXY": CORP}, "https", "proxy.corp:3128"),
        ({"HTTPS_PROXY": CORP}, "http", None),
        ({"HTTP_PROXY": CORP}, "http", "proxy.corp:3128"),
        ({"HTTP_PROXY": CORP}, "https", None),
        ({"ALL_PROXY": CORP}, "https", "proxy.corp:3128"),
        ({"all_proxy": CORP}, "http", "proxy.corp:3128"),
        ({"HTTPS_PROXY": CORP, "ALL_PROXY": "http://all:1"}, "https", "proxy.corp:3128"),
        ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}, "https", "low:1"),
        ({"http_proxy": "http://low:1", "HTTP_PROXY": "http://up:2"}, "http", "low:1"),
        ({"https_proxy": " ", "HTTPS_PROXY": "http://up:2"}, "https", "up:2"),  # blank: unset
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https", "proxy.corp:3128"),  # no scheme: http
        ({"HTTPS_PROXY": CORP, "no_proxy": "api.openai.com", "NO_PROXY": "x.org"}, "https", None),
        (
            {"HTTPS_PROXY": CORP, "no_proxy": "x.org", "NO_PROXY": "api.openai.com"},
            "https",
            CORP[7:],
        ),
        ({"HTTPS_PROXY": "http://proxy.corp"}, "https", "proxy.corp:80"),
        ({"HTTPS_PROXY": "HTTP://Proxy.Corp:3128/"}, "https", "proxy.corp:3128"),
        ({"HTTPS_PROXY": "http://[fd00::1]:3128"}, "https", "[fd00::1]:3128"),
        # Under CGI a client sets HTTP_PROXY with a "Proxy:" header: it is ignored.
        ({"REQUEST_METHOD": "GET", "HTTP_PROXY": CORP}, "http", None),
        ({"REQUEST_METHOD": "GET", "http_proxy": CORP}, "http", "proxy.corp:3128"),
        ({"REQUEST_METHOD": "GET", "HTTPS_PROXY": CORP}, "https", "proxy.corp:3128"),
    ],
)
def test_which_variable_sets_the_proxy(
    environ: dict[str, str], scheme: str, expected: str | None
) -> None:
    proxy = proxy_for(scheme, "api.openai.com", 443 if scheme == "https" else 80, environ)
    assert (None if proxy is None else proxy.address) == expected


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("*", "api.openai.com", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),  # a domain covers its subdomains
        ("example.com", "API.Example.COM.", 443, True),  # whatever the case, a final dot
        ("example.com", "notexample.com", 443, False),
        ("example.com", "example.com.evil.org", 443, False),
        (".example.com", "example.com", 443, True),  # a leading dot changes nothing
        ("*.example.com", "api.example.com", 443, True),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        (" other.org , localhost ", "localhost", 443, True),
        ("192.168.1.5", "192.168.1.5", 443, True),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]:8080", "[::1]", 8080, True),
        ("[::1]:8080", "::1", 443, False),
        ("fd00::/8", "fd12::7", 443, True),
        ("localhost", "127.0.0.1", 443, False),  # names and addresses are not resolved
        ("", "example.com", 443, False),
    ],
)
def test_no_proxy_lists_hosts_domains_ports_addresses_and_networks(
    no_proxy: str, host: str, port: int, bypassed: bool
) -> None:
    environ = {"HTTPS_PROXY": CORP, "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, port, environ) is None) is bypassed


def test_credentials_become_a_basic_proxy_authorization_that_no_repr_shows() -> None:
    proxy = parse_proxy("http://ada%40corp:pa%20ss%2F%40@proxy.corp:3128")
    assert proxy.authorization is not None
    assert proxy.authorization.value == "Basic " + base64.b64encode(b"ada@corp:pa ss/@").decode()
    assert repr(proxy) == "Proxy('proxy.corp', 3128)"
    assert proxy.authorization.value not in repr(vars(proxy))
    token = parse_proxy("token@proxy.corp:8080").authorization
    assert token is not None
    assert token.value == "Basic " + base64.b64encode(b"token:").decode()
    assert parse_proxy(CORP).authorization is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://me:s3cret@proxy.corp:3128", "use HttpxTransport (pip install 'orkes[httpx]')"),
        ("socks5://me:s3cret@proxy.corp:1080", "for an https:// or socks5:// proxy"),
        ("http://me:s3cret@:3128", "names no host"),
        ("me:s3cret@proxy corp:3128", "names no host"),
        ("http://me:s3cret@proxy.corp:port", "has no valid port"),
        ("http://me:s3cret@proxy.corp:99999", "has no valid port"),
        ("http://me:s3/cret@proxy.corp:3128", "percent-encode"),
        ("http://me:s3#cret@proxy.corp:3128", "percent-encode"),
    ],
)
def test_a_proxy_url_that_cannot_work_is_an_error_naming_the_variable_not_the_password(
    url: str, says: str
) -> None:
    with pytest.raises(ConnectorError) as caught:
        proxy_for("https", "api.openai.com", 443, {"https_proxy": url})
    message = str(caught.value)
    assert message.startswith("https_proxy='")
    assert says in message
    assert "s3" not in message
    assert "cret" not in message
    with pytest.raises(ConnectorError, match=r"^proxy='"):
        StdlibTransport(proxy=url)


def test_a_proxy_that_is_no_str_is_named_by_its_kind_not_its_value() -> None:
    not_a_url: Any = b"http://me:s3cret@proxy.corp:3128"
    with pytest.raises(ConnectorError) as caught:
        StdlibTransport(proxy=not_a_url)
    assert str(caught.value) == "proxy= takes a URL such as 'http://host:port', got bytes"


# --- end to end, through a proxy on loopback -----------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str
    connector: Callable[..., HttpChatConnector]
    model: str
    key: str
    root: str  # below the server's URL
    whole: CannedResponse
    path: str

    def make(self, server: LoopbackServer, transport: StdlibTransport) -> HttpChatConnector:
        url = server.url(self.root)
        return self.connector(self.model, api_key=self.key, base_url=url, transport=transport)


PROVIDERS = [
    Provider(
        "OpenAI", OpenAIConnector, "gpt-4o-mini", openai_wire.OPENAI_TEST_KEY, "/v1",
        json_response(openai_wire.completion()), "/v1/chat/completions",
    ),
    Provider(
        "Anthropic", AnthropicConnector, anthropic_wire.MODEL, anthropic_wire.ANTHROPIC_TEST_KEY,
        "", json_response(anthropic_wire.message()), "/v1/messages",
    ),
    Provider(
        "Gemini", GeminiConnector, gemini_wire.MODEL, gemini_wire.GEMINI_TEST_KEY, "/v1beta",
        json_response(gemini_wire.response(gemini_wire.text_part("Hello!"))), gemini_wire.GENERATE,
    ),
]  # fmt: skip


@dataclass
class Net:
    """An https target, a plain http one, a proxy, and a transport that trusts the target."""

    https: TlsLoopbackServer
    http: LoopbackServer
    proxy: ProxyServer
    transport: StdlibTransport
    env: pytest.MonkeyPatch
    sleep: RecordingSleep = field(default_factory=RecordingSleep)

    def target(self, https: bool) -> LoopbackServer:
        return self.https if https else self.http

    def origin(self, https: bool) -> str:
        return f"localhost:{self.https.port}" if https else self.http.base_url[len("http://") :]

    def llm(
        self, target: LoopbackServer, transport: StdlibTransport | None = None, retries: int = 3
    ) -> OpenAIConnector:
        return OpenAIConnector(
            "gpt-4o-mini",
            api_key=openai_wire.OPENAI_TEST_KEY,
            base_url=target.url("/v1"),
            timeout=2,
            max_retries=retries,
            sleep=self.sleep,
            transport=transport or self.transport,
        )

    def ask(self, target: LoopbackServer, transport: StdlibTransport | None = None) -> str:
        """One call that the target answers with ``"Hello!"``; the reply's text."""
        target.enqueue(json_response(openai_wire.completion()))
        with self.llm(target, transport) as llm:
            return llm.invoke(HI)["content"]


@pytest.fixture
def net(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    with (
        TlsLoopbackServer() as https,
        ProxyServer() as proxy,
        StdlibTransport(ssl_context=client_tls_context()) as transport,
    ):
        yield Net(https, loopback, proxy, transport, monkeypatch)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_https_proxy_carries_an_https_request_through_a_connect_tunnel(
    provider: Provider, net: Net
) -> None:
    net.env.setenv("HTTPS_PROXY", net.proxy.url)
    net.https.enqueue(provider.whole, provider.whole)
    with provider.make(net.https, net.transport) as connector:
        assert connector.invoke(HI)["content"] == "Hello!"
        assert connector.invoke(HI)["content"] == "Hello!"
    assert net.proxy.connects == [net.origin(https=True)]  # one tunnel, kept alive
    assert net.proxy.request_lines[0].startswith(f"CONNECT {net.origin(https=True)} HTTP/1.")
    assert len(net.proxy.request_lines) == 1  # the requests went inside it, encrypted
    assert [request.path for request in net.https.requests] == [provider.path] * 2
    assert net.https.connections_opened == 1


def test_the_tunnel_carries_tls_verified_end_to_end(net: Net) -> None:
    net.env.setenv("HTTPS_PROXY", net.proxy.url)
    untrusting = StdlibTransport()  # the system's trust store: the test certificate is not in it
    with (
        untrusting,
        net.llm(net.https, untrusting, retries=0) as llm,
        pytest.raises(ConnectionFailed) as caught,
    ):
        llm.invoke(HI)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert f"through the proxy at {net.proxy.address}" in str(caught.value)
    assert net.proxy.connects == [net.origin(https=True)]
    assert net.https.requests == []


def test_http_proxy_forwards_a_plain_http_request_by_its_absolute_url(net: Net) -> None:
    net.env.setenv("HTTP_PROXY", net.proxy.url)
    net.env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{unused_port()}")  # not for http
    assert net.ask(net.http) == "Hello!"
    assert net.proxy.request_lines == [f"POST {net.http.url('/v1/chat/completions')} HTTP/1.1"]
    assert net.proxy.connects == []
    [request] = net.http.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {openai_wire.OPENAI_TEST_KEY}"


@pytest.mark.parametrize(
    ("https", "no_proxy"),
    [
        (True, "localhost"),
        (True, "LOCALHOST:{port}"),
        (True, ".localhost"),
        (True, "*"),
        (False, "127.0.0.1"),
        (False, "127.0.0.0/8"),
    ],
)
def test_no_proxy_covering_the_target_goes_direct(https: bool, no_proxy: str, net: Net) -> None:
    net.env.setenv("https_proxy", net.proxy.url)
    net.env.setenv("http_proxy", net.proxy.url)
    port = net.target(https).base_url.rpartition(":")[2]
    net.env.setenv("no_proxy", f"other.org,{no_proxy.format(port=port)}")
    assert net.ask(net.target(https)) == "Hello!"
    assert net.proxy.request_lines == []


def test_the_proxy_credentials_go_to_the_proxy_only(net: Net) -> None:
    with ProxyServer(credentials=("ada", PASSWORD)) as guarded:
        net.env.setenv("HTTPS_PROXY", guarded.url_with("ada", PASSWORD))
        net.env.setenv("HTTP_PROXY", guarded.url_with("ada", PASSWORD))
        assert net.ask(net.https) == "Hello!"
        assert net.ask(net.http) == "Hello!"
    assert guarded.authorizations == [guarded.expected_authorization] * 2
    assert guarded.refusals == 0
    assert "proxy-authorization" not in net.https.requests[0].headers  # only on the CONNECT
    assert PASSWORD not in repr(net.transport) + repr(net.llm(net.https))


@pytest.mark.parametrize("url", ["http://{address}", "http://ada:wrong-{password}@{address}"])
@pytest.mark.parametrize("https", [True, False], ids=["connect", "forward"])
def test_a_proxy_that_answers_407_is_a_connection_failure_naming_it_not_retried(
    url: str, https: bool, net: Net
) -> None:
    with ProxyServer(credentials=("ada", PASSWORD)) as guarded:
        address, password = guarded.address, quote(PASSWORD, safe="")
        net.env.setenv("https_proxy", url.format(address=address, password=password))
        net.env.setenv("http_proxy", url.format(address=address, password=password))
        with pytest.raises(ConnectionFailed) as caught:
            net.ask(net.target(https))
    verb = "open a tunnel to" if https else "forward requests to"
    assert str(caught.value) == (
        f"the proxy at {address} refused to {verb} {net.origin(https)}: it answered 407 "
        "Proxy Authentication Required (check the proxy's user and password)"
    )
    assert "wrong" not in repr(caught.value)
    assert (guarded.refusals, net.sleep.delays, net.target(https).requests) == (1, [], [])
    # Nothing that walks the error's causes and contexts and records their frames' locals
    # (Sentry, pytest -l) finds the header value that http.client builds from them.
    shown = _locals_of_every_frame(caught.value)
    assert base64.b64encode(f"ada:wrong-{PASSWORD}".encode()).decode() not in shown
    assert "Basic " not in shown


def _locals_of_every_frame(error: BaseException) -> str:
    """The ``repr`` of every local of every frame of ``error``'s chain, causes and contexts."""
    seen: list[str] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None:
            continue
        tb = current.__traceback__
        while tb is not None:
            seen.extend(repr(value) for value in tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        pending += [current.__cause__, current.__context__]
    return "\n".join(seen)


def test_an_unreachable_proxy_is_a_connection_failure_that_mentions_it(net: Net) -> None:
    nowhere = f"127.0.0.1:{unused_port()}"
    net.env.setenv("HTTPS_PROXY", f"http://ada:{quote(PASSWORD, safe='')}@{nowhere}")
    with net.llm(net.https, retries=1) as llm, pytest.raises(ConnectionFailed) as caught:
        llm.invoke(HI)
    message = str(caught.value)
    where = f"OpenAI-compatible server at {net.origin(https=True)}"
    assert message.startswith(f"could not reach {where} (POST /v1/chat/completions)")
    assert message.endswith(f"(through the proxy at {nowhere})")
    assert "pa ss" not in message
    assert len(net.sleep.delays) == 1  # a connection failure: retried
    assert net.https.requests == []


@pytest.mark.parametrize("https", [True, False], ids=["connect", "forward"])
def test_a_stream_flows_through_the_proxy(https: bool, net: Net) -> None:
    net.env.setenv("HTTPS_PROXY" if https else "HTTP_PROXY", net.proxy.url)
    target = net.target(https)
    target.enqueue(sse_response(openai_wire.TEXT_STREAM, chunk_delay=0.01))
    with net.llm(target) as llm:
        assert list(llm.stream(HI)) == ["Hel", "lo"]
    assert target.requests[0].json()["stream"] is True
    assert len(net.proxy.request_lines) == 1
    assert net.proxy.connects == ([net.origin(https)] if https else [])


def test_an_explicit_proxy_wins_over_the_environment(net: Net) -> None:
    net.env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{unused_port()}")
    with StdlibTransport(proxy=net.proxy.url, ssl_context=client_tls_context()) as explicit:
        assert net.ask(net.https, explicit) == "Hello!"
    assert net.proxy.connects == [net.origin(https=True)]


def test_trust_env_false_ignores_the_proxy_variables(net: Net) -> None:
    net.env.setenv("HTTPS_PROXY", net.proxy.url)
    net.env.setenv("ALL_PROXY", net.proxy.url)
    with StdlibTransport(trust_env=False, ssl_context=client_tls_context()) as direct:
        assert net.ask(net.https, direct) == "Hello!"
    assert net.proxy.request_lines == []


def test_the_environment_is_read_at_the_first_request_to_each_origin(net: Net) -> None:
    net.env.setenv("HTTPS_PROXY", net.proxy.url)  # after the transport was made
    assert net.ask(net.https) == "Hello!"
    net.env.delenv("HTTPS_PROXY")  # the origin's proxy is settled by now
    assert net.ask(net.https) == "Hello!"
    assert net.proxy.connects == [net.origin(https=True)]
    assert net.https.connections_opened == 1


def test_a_malformed_proxy_variable_fails_the_call_naming_it(net: Net) -> None:
    net.env.setenv("HTTPS_PROXY", "https://ada:s3cret@proxy.corp:3128")
    shown = r"^HTTPS_PROXY='https://\*\*\*@proxy.corp:3128': "
    with pytest.raises(ConnectorError, match=shown) as caught:
        net.ask(net.https)
    assert "s3cret" not in str(caught.value)
    assert net.https.requests == []


def test_the_proxy_leaves_no_thread_behind(net: Net) -> None:
    others = proxy_threads()  # the net's proxy, idle
    with ProxyServer() as proxy:
        via = StdlibTransport(proxy=proxy.url, ssl_context=client_tls_context())
        assert net.ask(net.https, via) + net.ask(net.http, via) == "Hello!Hello!"
        assert via.idle_connections == 2  # a tunnel and a forwarding connection, left open
        assert len(proxy_threads() - others) == 3  # the accept loop and a handler for each
    assert proxy_threads() == others
    via.close()
