"""Provider webhooks over real HTTP: inbound messages, STOP, receipts, calls, signatures."""

from __future__ import annotations

import uuid

from db.sql import fetch, fetch_one
from schema.node import decode_id
from tests.channel_helpers import (
    Crm,
    connect_generic,
    connect_twilio,
    interactions_of,
    running_worker,
    send,
    wait_message,
)
from tests.factories import gid, make_customer, make_user, token_for
from tests.resolvers.test_subscription import CREATED, GraphQLSocket
from tests.twilio_standin import generic_platform, standin

PHONE = "+14155550123"


def sms(sender: str = PHONE, body: str = "Hi there", sid: str | None = None) -> dict[str, str]:
    return {"MessageSid": sid or "SM" + uuid.uuid4().hex, "From": sender,
            "To": "+15005550006", "Body": body, "NumMedia": "0"}


async def test_an_inbound_sms_is_recorded_once_threaded_and_streamed(
    api, org, crm: Crm, settings
) -> None:
    customer = await make_customer(org, phone=PHONE)
    viewer = token_for(await make_user(org), settings)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        sent = await send(api, gid(customer), text="Shall we deliver on Monday?")
        url = crm.inbound(connected, "twilio/message")
        ws_url = crm.url.replace("http", "ws") + "/graphql"
        async with GraphQLSocket.open(ws_url, viewer) as socket:
            op = await socket.subscribe(CREATED)
            await crm.subscribed(org.id)
            params = sms(body="Yes, Monday works")
            first = await provider.post(url, params)
            again = await provider.post(url, params)  # the provider retries the webhook
            streamed = await socket.next_id(op)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json() | {"duplicate": True}
    assert first.json()["customerId"] == gid(customer)
    assert streamed == first.json()["interactionId"]
    rows = await interactions_of(customer.id)
    assert [(r["direction"], r["channel"]) for r in rows] == [("OUTBOUND", "SMS"),
                                                             ("INBOUND", "SMS")]
    reply = rows[1]
    assert reply["body"] == "Yes, Monday works"
    assert reply["metadata"]["inReplyToInteractionId"] == decode_id(
        sent["interaction"]["id"], "Interaction")



async def test_a_bad_signature_is_refused_with_403_and_nothing_is_recorded(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        url = crm.inbound(connected, "twilio/message")
        forged = await provider.post(url, sms(), token="not-the-auth-token")
        unsigned = await _post_unsigned(url, sms())
        other_url = await provider.post(crm.inbound(connected, "twilio/message") + "?x=1",
                                        sms(), token=None)
    assert forged.status_code == 403
    assert unsigned.status_code == 403
    assert other_url.status_code == 201  # the query string is part of what is signed
    rows = await interactions_of(customer.id)
    assert len(rows) == 1
    count = await fetch_one("SELECT count(*) AS n FROM channel_inbound i JOIN message_provider p"
                            " ON p.id = i.provider_id WHERE p.organization_id = $1", [org.id])
    assert count is not None
    assert count["n"] == 1


async def _post_unsigned(url: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
    import httpx

    async with httpx.AsyncClient() as client:
        return await client.post(url, data=params)


async def test_stop_opts_out_and_start_opts_back_in(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        url = crm.inbound(connected, "twilio/message")
        assert (await provider.post(url, sms(body=" stop "))).status_code == 201
        refused = await send(api, gid(customer), text="Sale today!")
        channels = await api.data("query($id: ID!) { customer(id: $id) { optedOutChannels } }",
                                  id=gid(customer))
        whatsapp = await send(api, gid(customer), channel="WHATSAPP", text="Still allowed")
        assert (await provider.post(url, sms(body="START"))).status_code == 201
        allowed = await send(api, gid(customer), text="Welcome back")
    assert refused["errors"] == [{"code": "OPTED_OUT", "field": ["input", "customerId"],
                                  "message": "the customer opted out of SMS"}]
    assert channels["customer"]["optedOutChannels"] == ["SMS"]
    assert whatsapp["errors"] == []
    assert allowed["errors"] == []
    events = [r["metadata"].get("event") for r in await interactions_of(customer.id)
              if r["direction"] == "INBOUND"]
    assert events == ["optOut", "optIn"]


async def test_unknown_numbers_are_ignored_or_become_leads_as_the_organization_chose(
    api, org, crm: Crm
) -> None:
    stranger = "+14155550999"
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        url = crm.inbound(connected, "twilio/message")
        ignored = await provider.post(url, sms(sender=stranger, sid="SM-unknown-1"))
        await api.data("""mutation($id: ID!) { updateMessageProvider(input: {id: $id,
            createLeads: true}) { errors { code } } }""", id=connected["id"])
        retried = await provider.post(url, sms(sender=stranger, sid="SM-unknown-1"))
    assert ignored.status_code == 200
    assert ignored.json()["recorded"] is False
    assert retried.status_code == 201
    lead = await fetch_one("SELECT * FROM customer WHERE organization_id = $1 AND phone = $2",
                           [org.id, stranger])
    assert lead is not None
    assert lead["stage"] == "LEAD"
    assert lead["tags"] == ["inbound-lead"]
    assert retried.json()["customerId"] == gid_of("Customer", lead["id"])


def gid_of(type_name: str, pk: int) -> str:
    from schema.node import to_global_id

    return str(to_global_id(type_name, pk))


async def test_whatsapp_is_received_and_sent_with_the_whatsapp_prefix(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        url = crm.inbound(connected, "twilio/message")
        received = await provider.post(url, sms(sender=f"whatsapp:{PHONE}", body="Olá 👋") | {
            "ProfileName": "Ana"})
        payload = await send(api, gid(customer), channel="WHATSAPP", text="Olá Ana 👋")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            await wait_message(interaction_id, "DELIVERED")
        await provider.settle()
    assert received.status_code == 201
    inbound = (await interactions_of(customer.id))[0]
    assert (inbound["channel"], inbound["body"]) == ("WHATSAPP", "Olá 👋")
    [sent] = provider.sent
    assert (sent.form["To"], sent.form["From"]) == (f"whatsapp:{PHONE}", "whatsapp:+15005550006")
    assert payload["message"]["encoding"] == "UCS2"


async def test_a_failed_receipt_records_the_error(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        provider.receipts = False
        payload = await send(api, gid(customer), text="Unlucky")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "SENT")
        status_url = crm.inbound(connected, f"twilio/status?ref={row['id']}")
        failed = await provider.post(status_url, {
            "MessageSid": row["provider_message_id"], "MessageStatus": "undelivered",
            "ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"})
        late = await provider.post(status_url, {
            "MessageSid": row["provider_message_id"], "MessageStatus": "delivered"})
        unknown = await provider.post(crm.inbound(connected, "twilio/status"), {
            "MessageSid": "SM-not-ours", "MessageStatus": "delivered"})
    assert failed.json() == {"status": "FAILED", "changed": True}
    assert late.json() == {"status": "FAILED", "changed": False}  # a final state stays
    assert unknown.status_code == 404
    final = await wait_message(interaction_id, "FAILED")
    assert final["last_error"] == "30003: Unreachable destination handset"


async def test_call_events_make_one_interaction_with_duration_and_voicemail(
    api, org, crm: Crm
) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        url = crm.inbound(connected, "twilio/call")
        call = {"CallSid": "CA" + uuid.uuid4().hex, "From": PHONE, "To": "+15005550006",
                "Direction": "inbound"}
        answers = [await provider.post(url, call | event) for event in (
            {"CallStatus": "ringing"}, {"CallStatus": "in-progress"},
            {"CallStatus": "completed", "CallDuration": "42"},
            {"CallStatus": "completed", "CallDuration": "42"},  # a retried webhook
        )]
        voicemail_call = call | {"CallSid": "CA" + uuid.uuid4().hex}
        await provider.post(url, voicemail_call | {"CallStatus": "ringing"})
        await provider.post(url, voicemail_call | {
            "CallStatus": "completed", "CallDuration": "15", "DialCallStatus": "no-answer",
            "RecordingUrl": "https://recordings.example/RE1", "RecordingSid": "RE1"})
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    assert answers[3].json()["duplicate"] is True
    calls = await interactions_of(customer.id)
    assert [(c["channel"], c["direction"]) for c in calls] == [("PHONE", "INBOUND")] * 2
    assert calls[0]["metadata"] | {} == calls[0]["metadata"]
    assert calls[0]["metadata"]["callStatus"] == "completed"
    assert calls[0]["metadata"]["durationSeconds"] == 42
    assert calls[0]["body"] == "Call completed (42 s)"
    assert calls[1]["metadata"]["voicemail"] is True
    assert calls[1]["metadata"]["recordingUrl"] == "https://recordings.example/RE1"
    assert calls[1]["body"] == "Voicemail: https://recordings.example/RE1"


async def test_social_and_chat_messages_are_matched_by_handle_or_email_and_answered(
    api, org, crm: Crm
) -> None:
    by_handle = await make_customer(org)
    by_email = await make_customer(org, email=f"chat-{uuid.uuid4().hex[:6]}@example.com")
    await api.data("""mutation($c: ID!) { addCustomerHandle(input: {customerId: $c,
        platform: "instagram", handle: "@ann.b"}) { errors { code } } }""", c=gid(by_handle))
    async with generic_platform() as platform:
        connected = await connect_generic(api, platform)
        url = crm.inbound(connected, "webhook")
        social = await platform.post(url, {
            "type": "message", "id": "ig-1", "channel": "SOCIAL", "platform": "instagram",
            "from": {"handle": "@Ann.B"}, "text": "Is the blue one in stock?"})
        chat = await platform.post(url, {
            "type": "message", "id": "chat-1", "channel": "CHAT", "platform": "chat",
            "from": {"handle": "visitor-7", "email": by_email.email}, "text": "Hello?",
            "sentAt": "2026-01-02T10:00:00Z"})
        forged = await platform.post(url, {"type": "message", "id": "x", "channel": "CHAT",
                                           "from": {"handle": "h"}, "text": "x"},
                                     secret="s" * 32)
        replies = [await send(api, gid(by_handle), channel="SOCIAL", text="Yes, it is!"),
                   await send(api, gid(by_email), channel="CHAT", text="Hi! How can we help?")]
        ids = [decode_id(r["interaction"]["id"], "Interaction") for r in replies]
        async with running_worker(crm.settings, [org.id]):
            rows = [await wait_message(i, "SENT") for i in ids]
        receipt = await platform.post(url, {"type": "status", "id": "st-1",
                                            "messageId": rows[0]["provider_message_id"],
                                            "status": "DELIVERED"})
    assert (social.status_code, chat.status_code, forged.status_code) == (201, 201, 403)
    assert social.json()["customerId"] == gid(by_handle)
    assert chat.json()["customerId"] == gid(by_email)
    assert [(m["channel"], m["to"], m["text"]) for m in platform.received] == [
        ("SOCIAL", "instagram:@ann.b", "Yes, it is!"),
        ("CHAT", "chat:visitor-7", "Hi! How can we help?")]
    assert platform.bad_signatures == 0
    assert receipt.json() == {"status": "DELIVERED", "changed": True}
    chat_row = [r for r in await interactions_of(by_email.id) if r["direction"] == "INBOUND"]
    assert chat_row[0]["occurred_at"].isoformat().startswith("2026-01-02T10:00:00")


async def test_malformed_payloads_get_400_and_unknown_keys_404(api, org, crm: Crm) -> None:
    async with generic_platform() as platform:
        connected = await connect_generic(api, platform)
        url = crm.inbound(connected, "webhook")
        wrong = await platform.post(url, {"type": "message", "channel": "FAX"})
        status = await platform.post(url, {"type": "status", "messageId": "m", "status": "X"})
        missing = await platform.post(url.replace("/channels/", "/channels/nokey"), {})
    assert (wrong.status_code, status.status_code, missing.status_code) == (400, 400, 404)
    assert await fetch("SELECT 1 FROM channel_inbound i JOIN message_provider p ON"
                       " p.id = i.provider_id WHERE p.organization_id = $1", [org.id]) == []
