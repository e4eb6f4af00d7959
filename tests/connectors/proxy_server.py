"""A small forward HTTP proxy on 127.0.0.1, and an https loopback target, for proxy tests.

:class:`ProxyServer` answers ``CONNECT host:port`` by opening a TCP connection to the
target and relaying bytes both ways, so TLS runs end to end and the proxy sees only the
host; it forwards an absolute-URI request (``POST http://host:port/path``) to the target
and relays the answer back, a streamed one chunk by chunk. Given ``credentials=``, it
answers ``407`` with ``Proxy-Authenticate`` to whoever does not bring them. It records what
it saw, so that a test can tell that the traffic really went through it::

    with TlsLoopbackServer() as target, ProxyServer() as proxy:
        target.enqueue(json_response({"ok": True}))
        ...  # a transport with proxy=proxy.url and ssl_context=client_tls_context()
        assert proxy.connects == [f"localhost:{target.port}"]

:class:`TlsLoopbackServer` is the scripted :class:`~tests.connectors.loopback.LoopbackServer`
behind TLS, with the self-signed certificate of ``tests/connectors/tls/`` (for
``localhost`` and ``127.0.0.1``); :func:`client_tls_context` trusts it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import select
import socket
import socketserver
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

from typing_extensions import Self

from tests.connectors.loopback import LoopbackServer

__all__ = [
    "CERTIFICATE",
    "KEY",
    "THREAD_NAME",
    "ProxyServer",
    "TlsLoopbackServer",
    "client_tls_context",
    "proxy_threads",
    "unused_port",
]

CERTIFICATE = Path(__file__).parent / "tls" / "localhost.pem"
"""The test certificate: CN=localhost, DNS:localhost, IP:127.0.0.1; its own CA."""
KEY = Path(__file__).parent / "tls" / "localhost.key"
"""The test certificate's private key."""
THREAD_NAME = "test-proxy"
"""What the names of the proxy's threads start with."""

# Headers that concern one hop only: a forwarding proxy drops them (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def client_tls_context() -> ssl.SSLContext:
    """A client context that trusts the test certificate, and checks the host name."""
    return ssl.create_default_context(cafile=str(CERTIFICATE))


def proxy_threads() -> set[threading.Thread]:
    """The threads of every running :class:`ProxyServer`: accept loops and handlers."""
    return {thread for thread in threading.enumerate() if thread.name.startswith(THREAD_NAME)}


def unused_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _QuietTlsSocket(ssl.SSLSocket):
    """A server-side TLS socket on which a failed handshake reads as a hang-up."""

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        try:
            return super().recv_into(buffer, nbytes, flags)
        except ssl.SSLError:  # a client that rejects the certificate: no traceback on stderr
            return 0


class TlsLoopbackServer(LoopbackServer):
    """The scripted loopback server behind TLS, at ``https://localhost:<port>``."""

    def __init__(self) -> None:
        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CERTIFICATE, KEY)
        context.sslsocket_class = _QuietTlsSocket
        # No client can connect before the test knows the port, so swapping the listening
        # socket under the running accept loop is safe. The handshake is left to the first
        # read, in the handler's thread and under its timeout, not in the accept loop.
        server = self._server
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        port: int = self._server.server_address[1]
        return port

    @property
    def base_url(self) -> str:
        """``https://localhost:<port>``: the name the certificate is for."""
        return f"https://localhost:{self.port}"


class ProxyServer:
    """The proxy; a context manager that starts it and stops it, joining every thread.

    Args:
        credentials: the user and password it requires; ``None`` lets anyone through.

    Attributes:
        request_lines: every request line it received, in order (``CONNECT host:port
            HTTP/1.1``, ``POST http://host:port/path HTTP/1.1``).
        connects: the targets of the ``CONNECT`` requests (``host:port``), in order.
        authorizations: the ``Proxy-Authorization`` of each request (``None`` if absent).
        refusals: how many requests it answered with ``407``.
    """

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.request_lines: list[str] = []
        self.connects: list[str] = []
        self.authorizations: list[str | None] = []
        self.refusals = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{THREAD_NAME}-accept",
            daemon=True,
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, with no credentials."""
        return f"http://{self.address}"

    def url_with(self, user: str, password: str) -> str:
        """The URL with ``user`` and ``password`` in it, percent-encoded."""
        return f"http://{quote(user, safe='')}:{quote(password, safe='')}@{self.address}"

    @property
    def expected_authorization(self) -> str | None:
        """The ``Proxy-Authorization`` it requires (``Basic ...``), if any."""
        if self.credentials is None:
            return None
        pair = ":".join(self.credentials).encode()
        return "Basic " + base64.b64encode(pair).decode()

    def record(self, line: str, authorization: str | None, connect: str | None) -> None:
        """Note one request: its line, its credentials and, for ``CONNECT``, its target."""
        with self._lock:
            self.request_lines.append(line)
            self.authorizations.append(authorization)
            if connect is not None:
                self.connects.append(connect)

    def note_refusal(self) -> None:
        """Count one ``407``."""
        with self._lock:
            self.refusals += 1

    def close(self) -> None:
        """Stop serving, cut every tunnel and forwarded exchange, join the threads."""
        self.stopping.set()
        self._server.shutdown()
        self._server.wake_handlers()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Unbuffered reads: whatever follows a CONNECT's head stays in the socket for the relay.
    rbufsize = 0
    timeout = 10  # an idle kept-alive connection ends by itself at the latest then
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        threading.current_thread().name = f"{THREAD_NAME}-handler"
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: tests do not want access logs on stderr."""

    def do_CONNECT(self) -> None:
        self.close_connection = True  # after a tunnel (or a refusal), nothing more to read
        self.server.proxy.record(self.requestline, self._authorization(), connect=self.path)
        if not self._authorized():
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except (OSError, ValueError):
            self._fail(502, "Bad Gateway")
            return
        with upstream:
            self.send_response_only(200, "Connection established")
            self.end_headers()
            self._relay(upstream)

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _authorization(self) -> str | None:
        return self.headers.get("Proxy-Authorization")

    def _authorized(self) -> bool:
        expected = self.server.proxy.expected_authorization
        if expected is None or self._authorization() == expected:
            return True
        self.server.proxy.note_refusal()
        self.send_response_only(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="orkes tests"')
        self._end_empty()
        return False

    def _fail(self, status: int, reason: str) -> None:
        self.send_response_only(status, reason)
        self._end_empty()

    def _end_empty(self) -> None:
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _relay(self, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side hangs up or the proxy closes."""
        self.server.track(upstream)
        client = self.connection
        try:
            while not self.server.proxy.stopping.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.1)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return  # either side broke off: the tunnel ends
        finally:
            self.server.untrack(upstream)

    def _forward(self) -> None:
        self.server.proxy.record(self.requestline, self._authorization(), connect=None)
        if not self._authorized():
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._fail(400, "Bad Request")  # a forward proxy takes absolute http:// URLs
            return
        body = _read_exactly(self.rfile.read, int(self.headers.get("Content-Length") or 0))
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
        }
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=5)
        answered = False
        try:
            upstream.connect()
            assert upstream.sock is not None
            self.server.track(upstream.sock)
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            answered = True
            self._relay_answer(answer)
        except (OSError, http.client.HTTPException):
            if answered:
                self.close_connection = True  # cut mid-answer: the client sees it cut too
            else:
                self._fail(502, "Bad Gateway")
        finally:
            if upstream.sock is not None:
                self.server.untrack(upstream.sock)
            upstream.close()

    def _relay_answer(self, answer: http.client.HTTPResponse) -> None:
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        if answer.getheader("Content-Length") is not None:
            body = answer.read()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while chunk := answer.read1(65536):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """``size`` bytes from an unbuffered stream's ``read``, which may return fewer at a time."""
    parts: list[bytes] = []
    while size > 0:
        part = read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives a test
    block_on_close = True
    request_queue_size = 128

    def __init__(self, proxy: ProxyServer) -> None:
        self.proxy = proxy
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops a kept-alive connection is no fault of the proxy's.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    def wake_handlers(self) -> None:
        """Shut down every socket, so that handlers waiting to read or relay return."""
        with self._sockets_lock:
            open_sockets = list(self._open_sockets)
        for connection in open_sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
