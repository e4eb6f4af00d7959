"""Which proxy a request goes through: ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``.

The conventions of curl and the Python HTTP libraries: the lower-case name wins over the
upper-case one; ``NO_PROXY`` lists hosts (``example.com`` also covers its subdomains, a
leading dot or ``*.`` changes nothing), ``host:port`` pairs, IP addresses and networks
(``10.0.0.0/8``), or ``*`` for every host. Under CGI (``REQUEST_METHOD`` set), the
upper-case ``HTTP_PROXY`` is ignored: a client could set it with a ``Proxy:`` header.

Example:
    >>> env = {"HTTPS_PROXY": "http://user:pw@proxy.corp:3128", "NO_PROXY": "localhost,.internal"}
    >>> proxy_for("https", "api.openai.com", 443, env)
    Proxy('proxy.corp', 3128)
    >>> proxy_for("https", "llm.internal", 443, env) is None
    True
    >>> proxy_for("http", "api.openai.com", 80, env) is None  # no HTTP_PROXY
    True
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from orkes.connectors._secrets import Secret
from orkes.errors import ConnectorError

__all__ = ["Proxy", "parse_proxy", "proxy_for"]


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens, and the credentials it asks for (never shown)."""

    host: str
    port: int
    authorization: Secret | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Proxy({self.host!r}, {self.port})"

    @property
    def address(self) -> str:
        """``host:port`` (``[::1]:port`` for an IPv6 address), for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_proxy(url: str, *, setting: str = "proxy") -> Proxy:
    """The proxy that ``url`` names (``http://user:password@host:port``; no scheme: ``http``).

    Messages name ``setting`` and show the URL without its user and password.

    Raises:
        ConnectorError: the URL names no host, or a proxy this transport can't speak to
            (``https://`` or ``socks5://``: the httpx transport can).
    """
    if not isinstance(url, str):  # its value is not shown: it may hold a password
        kind = type(url).__name__
        raise ConnectorError(f"{setting}= takes a URL such as 'http://host:port', got {kind}")
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    shown = f"{setting}={_without_credentials(text)!r}"
    if parts.scheme != "http":
        message = (
            f"{shown}: the standard-library transport speaks plain HTTP to its "
            "proxy (http://host:port; https targets still go through an encrypted tunnel); "
            "for an https:// or socks5:// proxy use HttpxTransport (pip install 'orkes[httpx]')"
        )
        raise ConnectorError(message)
    if "@" in parts.path + parts.query + parts.fragment:
        message = f"{shown}: percent-encode a '/', '?', '#' or '@' in the user or password"
        raise ConnectorError(message + " (%2F, %3F, %23, %40)")
    try:
        host, port = parts.hostname, parts.port or 80
    except ValueError:  # a port that is no number (the text may hold a piece of a password)
        raise ConnectorError(f"{shown} has no valid port; use http://host:port") from None
    if not host or any(character.isspace() for character in host):
        raise ConnectorError(f"{shown} names no host; use http://host:port")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = Secret("Basic " + base64.b64encode(pair.encode()).decode())
    return Proxy(host, port, authorization)


def _without_credentials(url: str) -> str:
    """``url`` with whatever stands before the host's ``@`` (user, password) as ``***``."""
    scheme, separator, rest = url.partition("://") if "://" in url else ("", "", url)
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + separator + rest


def _setting(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if entry.startswith("[") and "]" in entry:  # [::1] or [::1]:8080
            name, _, rest = entry[1:].partition("]")
            entry_port = rest.lstrip(":")
        elif entry.count(":") == 1:
            name, _, entry_port = entry.partition(":")
        else:
            name, entry_port = entry, ""
        if entry_port and entry_port != str(port):
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.removeprefix("*").lstrip(".").rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy that ``environ`` sets for ``scheme://host:port``, or ``None`` to go direct.

    Raises:
        ConnectorError: the variable that applies holds a proxy URL that can't work; the
            message names the variable.
    """
    no_proxy = _setting(("no_proxy", "NO_PROXY"), environ)
    if no_proxy is not None and _bypassed(host, port, no_proxy[1]):
        return None
    if scheme == "https":
        names: tuple[str, ...] = ("https_proxy", "HTTPS_PROXY")
    elif "REQUEST_METHOD" in environ:
        names = ("http_proxy",)
    else:
        names = ("http_proxy", "HTTP_PROXY")
    found = _setting((*names, "all_proxy", "ALL_PROXY"), environ)
    if found is None:
        return None
    name, url = found
    return parse_proxy(url, setting=name)
