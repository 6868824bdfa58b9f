"""Login throttling: lockouts per email and per IP, doubling, shared through PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from auth import login_throttle
from core.config import Settings
from db.sql import fetch, fetch_one
from tests.factories import PASSWORD, make_user

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken errors { code message } }
}"""


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "login_max_failures": 3, "login_ip_max_failures": 6,
        "login_lockout_base_seconds": 60.0, "login_lockout_max_seconds": 200.0,
    })


@pytest.fixture
def ip() -> str:
    """A client address of this test alone (the table is shared by the whole session)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62_500 % 250 + 1}"


class Client:
    """Logs in through its own app instance (its own process, as far as memory goes)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def login(self, email: str, password: str) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["data"]["login"]
        return result


@pytest.fixture
async def clients(db: str, tight: Settings, ip: str) -> AsyncIterator[list[Client]]:
    """Two independent app instances, reached from the same client IP."""
    made = []
    for _ in range(2):
        transport = httpx.ASGITransport(app=create_app(tight, db), client=(ip, 40_000))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://crm.test"))
    try:
        yield [Client(http) for http in made]
    finally:
        for http in made:
            await http.aclose()


def _message(result: dict[str, Any]) -> str:
    assert result["accessToken"] is None
    [error] = result["errors"]
    assert error["code"] == "UNAUTHENTICATED"
    return str(error["message"])


async def test_an_email_is_locked_after_repeated_failures_in_every_process(clients, org) -> None:
    user = await make_user(org)
    first, second = clients
    for _ in range(3):
        assert _message(await first.login(user.email, "wrong")) == "invalid email or password"
    locked = _message(await second.login(user.email, PASSWORD))  # right password, other process
    assert locked.startswith("too many failed sign-in attempts; try again in ")
    assert int(locked.split()[-2]) in range(55, 61)


async def test_unknown_and_known_emails_lock_the_same_way(clients, org) -> None:
    user = await make_user(org)
    client = clients[0]
    for email in (user.email, f"nobody-{uuid.uuid4().hex}@example.com"):
        messages = [_message(await client.login(email, "wrong")) for _ in range(4)]
        assert messages[:3] == ["invalid email or password"] * 3
        assert messages[3].startswith("too many failed sign-in attempts")


async def test_success_clears_the_email_failures(clients, org) -> None:
    user = await make_user(org)
    client = clients[0]
    for _ in range(2):
        await client.login(user.email, "wrong")
    assert (await client.login(user.email.upper(), PASSWORD))["accessToken"]
    for _ in range(2):
        assert _message(await client.login(user.email, "wrong")) == "invalid email or password"
    assert (await client.login(user.email, PASSWORD))["accessToken"]


async def test_one_ip_guessing_many_emails_is_locked(clients, org, ip) -> None:
    user = await make_user(org)
    client = clients[0]
    for n in range(6):
        await client.login(f"guess{n}-{uuid.uuid4().hex}@example.com", "wrong")
    assert _message(await client.login(user.email, PASSWORD)).startswith("too many failed")
    other_ip = httpx.ASGITransport(app=client.http._transport.app, client=("192.0.2.1", 1))
    async with httpx.AsyncClient(transport=other_ip, base_url="http://crm.test") as http:
        assert (await Client(http).login(user.email, PASSWORD))["accessToken"]


async def test_lockouts_double_up_to_the_cap(tight: Settings, ip: str) -> None:
    email = f"doubling-{uuid.uuid4().hex}@example.com"
    key = login_throttle.email_key(email, tight)
    seconds = []
    for _ in range(6):
        await _expire_lock(key)  # as if the lockout had run out
        await login_throttle.record_failure(email, ip, tight)
        row = await fetch_one(
            "SELECT extract(epoch FROM locked_until - now()) AS left FROM login_throttle"
            " WHERE key = $1", [key],
        )
        seconds.append(round(float(row["left"])) if row and row["left"] else 0)
    assert seconds == [0, 0, 60, 120, 200, 200]


async def test_old_failures_are_forgotten(tight: Settings, ip: str) -> None:
    email = f"window-{uuid.uuid4().hex}@example.com"
    key = login_throttle.email_key(email, tight)
    for _ in range(2):
        await login_throttle.record_failure(email, ip, tight)
    await fetch(
        "UPDATE login_throttle SET last_failure_at = now() - make_interval(secs => $2)"
        " WHERE key = $1", [key, tight.login_failure_window_seconds + 1],
    )
    await login_throttle.record_failure(email, ip, tight)
    assert await login_throttle.retry_after(email, ip, tight) == 0
    row = await fetch_one("SELECT failures FROM login_throttle WHERE key = $1", [key])
    assert row == {"failures": 1}


async def test_no_email_address_is_stored(tight: Settings, ip: str) -> None:
    email = f"private-{uuid.uuid4().hex}@example.com"
    await login_throttle.record_failure(email, ip, tight)
    rows = await fetch("SELECT key FROM login_throttle WHERE key LIKE '%private-%'")
    assert rows == []
    assert login_throttle.email_key(email.upper() + " ", tight) == login_throttle.email_key(
        email, tight
    )


async def _expire_lock(key: str) -> None:
    await fetch(
        "UPDATE login_throttle SET locked_until = now() - interval '1 second' WHERE key = $1",
        [key],
    )


async def test_parallel_guesses_cannot_outrun_the_count(clients, org) -> None:
    user = await make_user(org)
    client = clients[0]
    results = await asyncio.gather(*(client.login(user.email, f"guess{n}") for n in range(8)))
    messages = sorted(_message(result) for result in results)
    assert messages[:3] == ["invalid email or password"] * 3
    assert all(m.startswith("too many failed sign-in attempts") for m in messages[3:])


def test_a_lockout_cannot_start_longer_than_its_cap() -> None:
    with pytest.raises(ValueError, match="LOCKOUT_BASE_SECONDS must not exceed"):
        Settings(env="test", secret_key="t" * 40, login_lockout_base_seconds=10.0,
                 login_lockout_max_seconds=5.0)
