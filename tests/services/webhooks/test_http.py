"""The SSRF guard and the bounded, pinned HTTP client, against a real loopback receiver."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from services.webhooks.http import Client, UnsafeURL, check_url, resolve
from tests.webhook_receiver import Receiver, Reply

REFUSED = [
    "http://127.0.0.1/hook", "http://127.1.2.3:8080/hook", "http://localhost/hook",
    "http://api.localhost/hook", "http://10.0.0.8/hook", "http://172.16.3.4/hook",
    "http://192.168.1.1/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
    "http://[fe80::1]/hook", "http://[fc00::1]/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook", "http://[::]/hook", "http://224.0.0.1/hook", "http://100.64.0.1/x",
    "file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "http:///nohost",
    "https://user:pw@example.com/hook", "http://example.com:99999/hook", "example.com/hook",
    # found by fuzzing: host names the resolver cannot encode were a UnicodeError (a 500)
    "https://a..b/", "https://" + "a" * 64 + ".example.com/", "https://.example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_global_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["https://93.184.216.34/hook", "https://hooks.example.com/x?a=1",
                                 "http://[2606:4700::1111]:8443/hook"])
def test_public_urls_pass(url: str) -> None:
    check_url(url, allow_private=False)


def test_the_setting_admits_private_addresses_but_never_other_schemes() -> None:
    check_url("http://127.0.0.1:8080/hook", allow_private=True)
    with pytest.raises(UnsafeURL):
        check_url("file:///etc/passwd", allow_private=True)


async def test_names_are_checked_by_the_addresses_they_resolve_to() -> None:
    with pytest.raises(UnsafeURL):  # a DNS name pointing at loopback (as rebinding would)
        await resolve("localhost", 80, allow_private=False)
    assert str(await resolve("localhost", 80, allow_private=True)) in ("127.0.0.1", "::1")


@pytest.fixture
def client_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "webhook_allow_private": True, "webhook_max_response_bytes": 64 * 1024,
        "webhook_read_timeout_seconds": 2.0, "webhook_total_timeout_seconds": 5.0,
    })


async def test_loopback_is_refused_without_the_setting(settings: Settings) -> None:
    client = Client(settings)
    async with Receiver() as receiver:
        with pytest.raises(UnsafeURL):
            await client.post(receiver.url, b"{}", {})
        assert receiver.requests == []
    await client.close()


async def test_response_reads_are_bounded(client_settings: Settings) -> None:
    client = Client(client_settings)
    async with Receiver() as receiver:
        receiver.script(Reply(status=500, endless=True))
        started = time.monotonic()
        response = await client.post(receiver.url, b"{}", {})
        assert response.status == 500
        assert len(response.body) == 64 * 1024
        assert time.monotonic() - started < 5
    await client.close()


async def test_redirects_are_not_followed(client_settings: Settings) -> None:
    client = Client(client_settings)
    async with Receiver() as receiver:
        receiver.script(Reply(status=307, headers={"Location": "http://169.254.169.254/"}))
        response = await client.post(receiver.url, b"{}", {})
        assert response.status == 307
        assert len(receiver.requests) == 1
        assert receiver.requests[0].headers["host"] == f"127.0.0.1:{receiver.port}"
    await client.close()


async def test_a_slow_endpoint_times_out(client_settings: Settings) -> None:
    quick = client_settings.model_copy(update={"webhook_read_timeout_seconds": 0.3,
                                               "webhook_total_timeout_seconds": 0.5})
    client = Client(quick)
    async with Receiver() as receiver:
        receiver.script(Reply(delay=2.0))
        with pytest.raises((TimeoutError, httpx.TimeoutException)):
            await client.post(receiver.url, b"{}", {})
    await client.close()


@pytest.fixture(scope="module")
def localhost_tls(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for the name localhost only (no IP), and a client
    context trusting it."""
    folder = tmp_path_factory.mktemp("webhook-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(Path(cert), Path(key))
    return server, ssl.create_default_context(cafile=str(cert))


async def test_https_is_pinned_to_the_checked_address_and_verified_for_the_name(
    client_settings: Settings, localhost_tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_tls, trusted = localhost_tls
    client = Client(client_settings, verify=trusted)
    async with Receiver(tls=server_tls) as receiver:
        url = f"https://localhost:{receiver.port}/hooks"
        response = await client.post(url, b"{}", {})  # sent to 127.0.0.1, SNI localhost
        assert response.status == 200
        assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            # the certificate names localhost only: an address alone must not pass
            await client.post(f"https://127.0.0.1:{receiver.port}/hooks", b"{}", {})
    await client.close()
