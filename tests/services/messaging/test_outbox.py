"""The channel outbox against the stand-in provider over real HTTP: sends, receipts, retries."""

from __future__ import annotations

import asyncio

from db.sql import fetch_one
from schema.node import decode_id
from tests.channel_helpers import (
    Crm,
    channel_settings,
    connect_twilio,
    message_row,
    running_worker,
    send,
    wait_message,
)
from tests.email_helpers import wait_until
from tests.factories import gid, make_customer
from tests.twilio_standin import standin

PHONE = "+14155550123"


async def test_an_sms_is_sent_with_basic_auth_and_delivered_by_a_signed_receipt(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        payload = await send(api, gid(customer), text="Your order has shipped.")
        assert payload["errors"] == []
        assert payload["message"]["status"] == "QUEUED"
        assert payload["interaction"]["direction"] == "OUTBOUND"
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "DELIVERED")
        await provider.settle()
    [sent] = provider.sent
    assert sent.form["To"] == PHONE
    assert sent.form["From"] == "+15005550006"
    assert sent.form["Body"] == "Your order has shipped."
    assert sent.form["StatusCallback"] == crm.inbound(connected, f"twilio/status?ref={row['id']}")
    assert row["provider_message_id"] == sent.sid
    assert row["attempts"] == 1
    assert row["sent_at"] is not None
    assert row["delivered_at"] is not None
    assert provider.refused == {}
    assert [status for _, status in provider.callbacks] == [200, 200]


async def test_5xx_and_429_answers_are_retried_until_accepted(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        await connect_twilio(api, provider)
        provider.receipts = False
        provider.script.extend(["500", "429", "503"])
        payload = await send(api, gid(customer), text="Retry me")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "SENT")
    assert row["attempts"] == 4
    assert provider.attempts == 4
    assert len(provider.sent) == 1
    assert row["last_error"].startswith("HTTP 503")


async def test_a_timeout_is_retried_with_the_same_idempotency_token(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    settings = channel_settings(crm.settings, crm.url, channel_http_timeout_seconds=0.5)
    async with standin() as provider:
        await connect_twilio(api, provider)
        provider.receipts = False
        provider.hang_seconds = 1.0
        provider.script.append("hang")
        payload = await send(api, gid(customer), text="Slow provider")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(settings, [org.id]):
            row = await wait_message(interaction_id, "SENT")
    assert row["attempts"] == 2
    assert "did not answer in time" in row["last_error"]
    # the timed-out request reached the provider too: it answered the retry with the same sid
    tokens = {sent.idempotency_token for sent in provider.sent}
    assert tokens == {f"crm-{row['id']}"}
    assert {sent.sid for sent in provider.sent} == {row["provider_message_id"]}


async def test_a_4xx_answer_fails_the_message_at_once(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        await connect_twilio(api, provider)
        provider.script.append("400")
        payload = await send(api, gid(customer), text="Refused")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "FAILED")
    assert row["attempts"] == 1
    assert "HTTP 400" in row["last_error"]


async def test_wrong_credentials_are_refused_by_the_provider_and_fail(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        await connect_twilio(api, provider, secret="not-the-auth-token")
        payload = await send(api, gid(customer), text="Who am I")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "FAILED")
    assert provider.refused == {"auth": 1}
    assert provider.sent == []
    assert "HTTP 401" in row["last_error"]


async def test_a_worker_killed_mid_send_loses_nothing_and_repeats_only_that_message(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    lease = 1.5
    settings = channel_settings(crm.settings, crm.url, channel_lease_seconds=lease,
                                channel_worker_concurrency=1)
    async with standin() as provider:
        await connect_twilio(api, provider)
        provider.receipts = False
        provider.hang_seconds = 0.8  # the first request is in flight when the worker dies
        provider.script.append("hang")
        ids = []
        for n in range(3):
            payload = await send(api, gid(customer), text=f"Message {n}")
            ids.append(decode_id(payload["interaction"]["id"], "Interaction"))
        from services.messaging.outbox import Worker

        doomed = Worker(settings, org_ids=[org.id])
        task = asyncio.create_task(doomed.run())
        await wait_until(lambda: _attempted(provider))
        task.cancel()  # killed: no outcome recorded, its claims stay SENDING until leases end
        await asyncio.gather(task, return_exceptions=True)
        held = await fetch_one("SELECT count(*) AS n FROM channel_message WHERE"
                               " organization_id = $1 AND status = 'SENDING'", [org.id])
        assert held is not None
        assert held["n"] == 3
        await asyncio.sleep(1.0)  # the hanging request reaches the provider after all
        async with running_worker(settings, [org.id]):
            rows = [await wait_message(i, "SENT") for i in ids]
    bodies = [sent.form["Body"] for sent in provider.sent]
    assert sorted(set(bodies)) == ["Message 0", "Message 1", "Message 2"]
    assert len(bodies) <= 4  # at most the in-flight message twice
    assert all(row["attempts"] == 2 for row in rows)  # each claim counted once per worker


async def _attempted(provider) -> bool:  # type: ignore[no-untyped-def]
    return bool(provider.attempts)


async def test_a_customer_who_opts_out_before_delivery_is_not_messaged(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        await connect_twilio(api, provider)
        payload = await send(api, gid(customer), text="Too late")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        await api.data("""mutation($c: ID!) { setChannelConsent(input: {customerId: $c,
            channel: SMS, optedOut: true}) { errors { code } } }""", c=gid(customer))
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "FAILED")
    assert provider.sent == []
    assert "opted out" in row["last_error"]
    assert (await message_row(interaction_id))["attempts"] == 1
