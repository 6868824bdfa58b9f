"""API keys as credentials: format, hashing, and forged, expired, revoked and foreign keys."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from auth import api_keys
from db.sql import fetch, fetch_one
from tests.factories import Api, gid, make_customer, make_org
from tests.resolvers.test_subscription import LOG, TIMEOUT, GraphQLSocket
from tests.resolvers.test_subscription import live as live  # the served app, as a fixture
from tests.security_helpers import make_key

CUSTOMERS = "{ customers(first: 5) { nodes { id name } } }"


def test_keys_are_prefixed_random_and_stored_only_as_a_hash() -> None:
    first, second = api_keys.generate(), api_keys.generate()
    assert first.secret.startswith("crm_live_")
    assert len(first.secret) >= 50
    assert first.secret != second.secret
    assert first.secret.startswith(first.prefix)
    assert len(first.prefix) < 20
    assert first.secret_hash == hashlib.sha256(first.secret.encode()).hexdigest()
    assert api_keys.is_api_key(first.secret)
    assert not api_keys.is_api_key("eyJhbGciOi")


async def test_a_key_reads_its_own_organization_only(http) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = await make_org(), await make_org()
    own = await make_customer(mine, name="Own")
    await make_customer(theirs, name="Foreign")
    secret = await make_key(mine.id, ["customers:read"])
    data = await Api(http, secret).data(CUSTOMERS)
    assert data["customers"]["nodes"] == [{"id": gid(own), "name": "Own"}]


async def _refusal(http, secret: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    body = await Api(http, secret)(CUSTOMERS)
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return error  # type: ignore[no-any-return]


async def test_forged_and_malformed_keys_are_refused(http) -> None:  # type: ignore[no-untyped-def]
    forged = api_keys.generate().secret
    assert (await _refusal(http, forged))["message"] == "invalid API key"
    assert (await _refusal(http, "crm_live_"))["message"] == "invalid API key"


async def test_expired_keys_are_refused(http) -> None:  # type: ignore[no-untyped-def]
    org = await make_org()
    secret = await make_key(org.id, ["customers:read"],
                            expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await _refusal(http, secret))["message"] == "API key expired"


async def test_revoked_keys_are_refused_at_once(http) -> None:  # type: ignore[no-untyped-def]
    org = await make_org()
    secret = await make_key(org.id, ["customers:read"])
    await Api(http, secret).data(CUSTOMERS)
    await fetch("UPDATE api_key SET revoked_at = now() WHERE secret_hash = $1",
                [api_keys.hash_secret(secret)])
    assert (await _refusal(http, secret))["message"] == "API key revoked"


async def test_last_used_is_written_at_most_once_a_minute(http) -> None:  # type: ignore[no-untyped-def]
    org = await make_org()
    secret = await make_key(org.id, ["customers:read"])
    digest = api_keys.hash_secret(secret)

    async def last_used() -> datetime | None:
        row = await fetch_one("SELECT last_used_at FROM api_key WHERE secret_hash = $1", [digest])
        assert row is not None
        return row["last_used_at"]  # type: ignore[no-any-return]

    assert await last_used() is None
    await Api(http, secret).data(CUSTOMERS)
    first = await last_used()
    assert first is not None
    await Api(http, secret).data(CUSTOMERS)
    assert await last_used() == first
    await fetch("UPDATE api_key SET last_used_at = last_used_at - interval '2 minutes'"
                " WHERE secret_hash = $1", [digest])
    await Api(http, secret).data(CUSTOMERS)
    latest = await last_used()
    assert latest is not None
    assert latest > first - timedelta(minutes=1)


async def test_a_user_token_is_never_taken_for_a_key(http) -> None:  # type: ignore[no-untyped-def]
    body = await Api(http, "not-a-key-nor-a-jwt")(CUSTOMERS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "invalid access token"


async def test_keys_open_websockets_and_stream_within_their_scopes(live, api, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org, email="streamed@example.com")
    reader = await make_key(org.id, ["interactions:read", "customers:read"])
    query = "subscription { interactionCreated { id customer { email } } }"
    async with GraphQLSocket.open(live.url, reader) as socket:
        op = await socket.subscribe(query)
        await live.subscribed(org.id)
        await api.data(LOG, input={"customerId": gid(customer), "channel": "NOTE",
                                   "direction": "OUTBOUND"})
        data = await socket.data(op)
    assert data["interactionCreated"]["customer"] == {"email": "s***@example.com"}
    narrow = await make_key(org.id, ["customers:read"])
    async with GraphQLSocket.open(live.url, narrow) as socket:
        message = await socket.message(await socket.subscribe(query))
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_revoked_keys_cannot_open_websockets(live, org) -> None:  # type: ignore[no-untyped-def]
    secret = await make_key(org.id, ["interactions:read"])
    await fetch("UPDATE api_key SET revoked_at = now() WHERE secret_hash = $1",
                [api_keys.hash_secret(secret)])
    async with connect(live.url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(orjson.dumps({"type": "connection_init",
                                    "payload": {"Authorization": f"Bearer {secret}"}}).decode())
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_use_of_pii_read_is_audited_once_per_key_and_period(http) -> None:  # type: ignore[no-untyped-def]
    from db.api_key import PII_AUDIT_ACTION, PII_AUDIT_EVERY
    from tests.security_helpers import audit_events

    org = await make_org()
    reader = await make_key(org.id, ["customers:read", "pii:read"])
    plain = await make_key(org.id, ["customers:read"])
    for _ in range(3):
        await Api(http, reader).data("{ customers(first: 1) { totalCount } }")
        await Api(http, plain).data("{ customers(first: 1) { totalCount } }")
    [event] = await audit_events(org.id, PII_AUDIT_ACTION)
    key_id = (await fetch_one("SELECT id FROM api_key WHERE secret_hash = $1",
                              [api_keys.hash_secret(reader)]) or {})["id"]
    assert (event["actor_api_key_id"], event["target_id"]) == (key_id, None)
    # the next period's first request is audited again
    await fetch("UPDATE api_key SET pii_audited_at = pii_audited_at - $2::interval"
                " WHERE id = $1", [key_id, PII_AUDIT_EVERY])
    await Api(http, reader).data("{ customers(first: 1) { totalCount } }")
    assert len(await audit_events(org.id, PII_AUDIT_ACTION)) == 2
