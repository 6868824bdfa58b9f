"""SSRF-safe webhook HTTP: URL checks, DNS pinned to checked addresses, bounded responses.

A webhook URL may only reach global addresses (unless ``CRM_WEBHOOK_ALLOW_PRIVATE``). The check
runs when a webhook is saved and again at every delivery: the host is resolved, every address
checked, and the request sent to the checked address itself (``Host`` header and TLS SNI carry
the name, so certificates are still verified for it). A DNS answer that changes between check
and connect (rebinding) therefore cannot redirect a delivery. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

from core import tracing
from core.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2000
_CLIENTS_KEPT = 128


class UnsafeURL(ValueError):
    """A URL a webhook may not use (the message says why)."""


@dataclass(frozen=True)
class Response:
    """What came back: status, at most the allowed bytes of the body, timing."""

    status: int
    headers: httpx.Headers
    body: bytes
    duration_ms: int


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def check_address(address: IPAddress, allow_private: bool) -> None:
    """Refuse loopback, private, link-local, multicast and every other non-global address."""
    if allow_private:
        return
    if not address.is_global or address.is_multicast:
        raise UnsafeURL(f"{address} is not a public address")


def check_url(url: str, allow_private: bool) -> SplitResult:
    """The parsed URL if its form is acceptable (http/https, a host, no credentials)."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeURL("the URL needs a host")
    if parts.username or parts.password:
        raise UnsafeURL("credentials in the URL are not allowed (use the signing secret)")
    if parts.fragment:
        raise UnsafeURL("the URL must not have a fragment")
    try:
        parts.port  # noqa: B018  # raises on an invalid port
    except ValueError:
        raise UnsafeURL("the URL has an invalid port") from None
    host = parts.hostname.rstrip(".").lower()
    literal = _address(host)
    if literal is not None:
        check_address(literal, allow_private)
    elif not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeURL(f"{host} is not a public host")
    if literal is None:
        try:
            host.encode("idna")  # empty or over-long labels cannot be looked up
        except UnicodeError:
            raise UnsafeURL("the URL's host is not a valid host name") from None
    return parts


async def resolve(host: str, port: int, allow_private: bool) -> IPAddress:
    """The address to connect to: every address the name has must pass, the first is used."""
    literal = _address(host)
    if literal is not None:
        check_address(literal, allow_private)
        return literal
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from None
    addresses = [a for a in (_address(str(info[4][0])) for info in infos) if a is not None]
    if not addresses:
        raise ConnectionError(f"{host} has no address")
    for address in addresses:
        check_address(address, allow_private)
    return addresses[0]


async def check_reachable_url(url: str, allow_private: bool, wait_seconds: float = 3.0) -> None:
    """``check_url`` plus the addresses the host resolves to now (names that do not resolve
    yet are accepted: every delivery checks again)."""
    parts = check_url(url, allow_private)
    try:
        async with asyncio.timeout(wait_seconds):
            port = parts.port or (443 if parts.scheme == "https" else 80)
            await resolve(str(parts.hostname), port, allow_private)
    except (ConnectionError, TimeoutError):
        return


class Client:
    """Pinned POSTs with timeouts and bounded reads; one connection pool per host name."""

    def __init__(self, settings: Settings, verify: ssl.SSLContext | bool = True) -> None:
        self.settings = settings
        self.verify = verify  # certificate checks; tests pass their own authority
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    def _client(self, host: str) -> httpx.AsyncClient:
        # per name: a pooled TLS connection was verified for one name and must serve only it
        client = self._clients.pop(host, None)
        if client is None:
            s = self.settings
            client = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, verify=self.verify,
                timeout=httpx.Timeout(s.webhook_read_timeout_seconds,
                                      connect=s.webhook_connect_timeout_seconds),
                limits=httpx.Limits(max_connections=s.webhook_concurrency,
                                    max_keepalive_connections=4),
            )
        self._clients[host] = client
        while len(self._clients) > _CLIENTS_KEPT:
            _, old = self._clients.popitem(last=False)
            asyncio.get_running_loop().create_task(old.aclose())
        return client

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST ``body`` to ``url`` at a checked address (raises UnsafeURL, httpx errors or
        TimeoutError)."""
        s = self.settings
        started = time.monotonic()
        parts = check_url(url, s.webhook_allow_private)
        host = str(parts.hostname)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        async with asyncio.timeout(s.webhook_total_timeout_seconds):
            address = await resolve(host, port, s.webhook_allow_private)
            target = httpx.URL(url).copy_with(host=str(address))
            extensions: dict[str, str] = {}
            if parts.scheme == "https" and _address(host) is None:
                extensions["sni_hostname"] = host
            sent = {**headers, "Host": parts.netloc.rpartition("@")[2]}
            client = self._client(host)
            request = client.build_request(
                "POST", target, content=body, headers=sent, extensions=extensions
            )
            with tracing.span("webhook.post", {
                "http.request.method": "POST", "server.address": host,
            }, kind="client") as span:
                response = await client.send(request, stream=True)
                try:
                    kept = await _read_at_most(response, s.webhook_max_response_bytes)
                finally:
                    await response.aclose()
                tracing.set_attributes(span, {"http.response.status_code": response.status_code})
        return Response(response.status_code, response.headers, kept,
                        int((time.monotonic() - started) * 1000))

    async def close(self) -> None:
        """Close every pooled connection."""
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.aclose()


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; the rest is never read (the connection is dropped)."""
    kept = bytearray()
    if limit == 0:
        return b""
    async for chunk in response.aiter_raw():
        kept.extend(chunk)
        if len(kept) >= limit:
            break
    return bytes(kept[:limit])
