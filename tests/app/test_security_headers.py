"""Security headers, CORS and trusted hosts in-process; HSTS over real TLS from `crm serve`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from core.config import Settings
from tests.e2e.test_subscription_processes import Server, free_port

CRM = str(Path(sys.executable).with_name("crm"))
TYPENAME = {"query": "{ __typename }"}


async def _client(app, base_url: str = "http://crm.test") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def test_every_response_denies_framing_and_sniffing(http) -> None:
    for response in (await http.post("/graphql", json=TYPENAME), await http.get("/healthz"),
                     await http.get("/nowhere")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "strict-transport-security" not in headers  # plain HTTP


async def test_the_graphiql_page_may_run_exactly_its_own_inline_script(http) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    [inline] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["object-src"] == "'none'"
    for src in re.findall(r'<script src="([^"]+)"', page.text):
        assert src.startswith("/")  # same origin, allowed by 'self'
        assert (await http.get(src)).status_code == 200


async def test_hsts_only_over_https(app) -> None:
    async with await _client(app, "https://crm.test") as https:
        response = await https.post("/graphql", json=TYPENAME)
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_cors_follows_the_allowed_origins(db: str, settings: Settings) -> None:
    spa = "https://app.example.com"
    async with await _client(create_app(settings, db)) as closed:
        preflight = await closed.options("/graphql", headers={
            "Origin": spa, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers
    app = create_app(settings.model_copy(update={"cors_allow_origins": [spa]}), db)
    async with await _client(app) as http:
        allowed = await http.options("/graphql", headers={
            "Origin": spa, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == spa
        other = await http.options("/graphql", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        post = await http.post("/graphql", json=TYPENAME, headers={"Origin": spa})
        assert post.headers["access-control-allow-origin"] == spa
        assert "x-request-id" in post.headers["access-control-expose-headers"]


async def test_only_trusted_hosts_are_served(db: str, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"trusted_hosts": ["crm.example.com"]}), db)
    async with await _client(app) as http:
        assert (await http.post("/graphql", json=TYPENAME)).status_code == 400
        good = await http.post("/graphql", json=TYPENAME, headers={"Host": "crm.example.com"})
        assert good.status_code == 200


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


async def _serve(
    db: str, settings: Settings, log: Path, *args: str, trusted_proxies: str = "127.0.0.1",
    verify: ssl.SSLContext | None = None,
) -> Server:
    """A `crm serve` process on the test database, once it answers /readyz."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING", "CRM_ML_RESCORE_INTERVAL_SECONDS": "0",
        # the suite's budgets (tests/conftest.py), which every app of the suite shares
        "CRM_RATE_LIMIT_POINTS": "1000000000", "CRM_ANONYMOUS_RATE_LIMIT_POINTS": "1000000000",
        "FORWARDED_ALLOW_IPS": trusted_proxies,  # read by uvicorn itself
    }
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [CRM, "serve", "--no-demo", "--port", str(port), *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(process, port, log)
    scheme = "https" if verify else "http"
    async with httpx.AsyncClient(verify=verify or True) as client, asyncio.timeout(90):
        while True:
            assert process.poll() is None, f"crm serve exited, see {log}"
            try:
                if (await client.get(f"{scheme}://127.0.0.1:{port}/readyz")).status_code == 200:
                    return server
            except httpx.TransportError:
                await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def tls_server(  # type: ignore[no-untyped-def]
    db: str, settings: Settings, certificate, tmp_path_factory
) -> AsyncIterator[Server]:
    """`crm serve` over TLS with a self-signed certificate."""
    cert, key = certificate
    log = tmp_path_factory.mktemp("tls-log") / "serve.log"
    context = ssl.create_default_context(cafile=str(cert))
    server = await _serve(db, settings, log, "--ssl-certfile", str(cert), "--ssl-keyfile",
                          str(key), verify=context)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def proxied_servers(  # type: ignore[no-untyped-def]
    db: str, settings: Settings, tmp_path_factory
) -> AsyncIterator[list[Server]]:
    """Plain HTTP servers: one trusting the loopback proxy, one trusting another address."""
    folder = tmp_path_factory.mktemp("proxy-log")
    servers = []
    try:
        for n, proxies in enumerate(("127.0.0.1", "192.0.2.1")):
            servers.append(await _serve(db, settings, folder / f"{n}.log",
                                        trusted_proxies=proxies))
        yield servers
    finally:
        for server in servers:
            server.stop()


async def test_hsts_behind_a_tls_proxy_only_when_the_proxy_is_trusted(proxied_servers) -> None:
    trusting, distrusting = proxied_servers
    https = {"X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient() as client:
        plain = await client.post(f"{trusting.http}/graphql", json=TYPENAME)
        assert "strict-transport-security" not in plain.headers
        proxied = await client.post(f"{trusting.http}/graphql", json=TYPENAME, headers=https)
        assert proxied.headers["strict-transport-security"].startswith("max-age=")
        spoofed = await client.post(f"{distrusting.http}/graphql", json=TYPENAME, headers=https)
        assert spoofed.status_code == 200
        assert "strict-transport-security" not in spoofed.headers


async def test_crm_serve_over_tls_sends_hsts(tls_server: Server, certificate) -> None:
    cert, _ = certificate
    context = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{tls_server.port}"
    async with httpx.AsyncClient(base_url=url, verify=context) as client:
        response = await client.post("/graphql", json=TYPENAME)
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert response.headers["x-frame-options"] == "DENY"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{tls_server.port}") as plain:
        with pytest.raises(httpx.TransportError):
            await plain.post("/graphql", json=TYPENAME)  # no plain HTTP on the TLS port


def test_hosts_and_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TRUSTED_HOSTS", '["crm.example.com", "*.crm.example.com"]')
    monkeypatch.setenv("CRM_CORS_ALLOW_ORIGINS", '["https://app.example.com"]')
    settings = Settings()
    assert settings.trusted_hosts == ["crm.example.com", "*.crm.example.com"]
    assert settings.cors_allow_origins == ["https://app.example.com"]
    monkeypatch.setenv("CRM_TRUSTED_HOSTS", "[]")
    with pytest.raises(ValueError, match="CRM_TRUSTED_HOSTS must list hosts"):
        Settings()
