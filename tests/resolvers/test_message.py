"""Messaging through GraphQL: providers, previews, refusals, calls, conversations, read marks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from db.sql import fetch_one
from schema.node import decode_id
from tests.channel_helpers import (
    Crm,
    connect_generic,
    connect_twilio,
    running_worker,
    send,
    wait_message,
)
from tests.factories import Api, gid, make_customer, make_user, token_for
from tests.twilio_standin import generic_platform, standin

PHONE = "+14155550123"
BERLIN = ZoneInfo("Europe/Berlin")
PREVIEW = """query($input: SendMessageInput!) { messagePreview(input: $input) {
    preview { channel recipient provider text encoding characters segments perSegment
              remainingInSegment timeZone scheduledFor }
    errors { code field message } } }"""


async def test_a_provider_secret_is_stored_encrypted_and_never_returned(api, org) -> None:
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
    listed = await api.data("{ messageProviders { id name kind channels sender inboundUrls } }")
    assert listed["messageProviders"] == [connected]
    assert provider.auth_token not in repr(listed)
    stored = await fetch_one("SELECT credentials FROM message_provider WHERE id = $1",
                             [decode_id(connected["id"], "MessageProvider")])
    assert stored is not None
    assert provider.auth_token not in stored["credentials"]
    assert all(url.startswith("http://127.0.0.1:8000/inbound/channels/")
               for url in connected["inboundUrls"])


async def test_bad_provider_settings_are_refused_with_field_paths(api) -> None:
    data = await api.data("""mutation { createMessageProvider(input: {name: "T", kind: TWILIO,
        channels: [CHAT], sender: "not a number", secret: "short", accountId: "",
        quietHoursStart: 22, timeZone: "Mars/Olympus"}) { provider { id }
        errors { code field message } } }""")
    fields = [e["field"] for e in data["createMessageProvider"]["errors"]]
    assert fields == [["input", "channels"], ["input", "accountId"], ["input", "sender"],
                      ["input", "secret"], ["input", "quietHoursStart"], ["input", "timeZone"]]
    assert data["createMessageProvider"]["provider"] is None


async def test_the_preview_shows_encoding_and_segments_before_sending(api, org) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        await connect_twilio(api, provider)
    gsm = await api.data(PREVIEW, input={"customerId": gid(customer), "channel": "SMS",
                                         "text": "Hello {there}! " * 12})
    ucs = await api.data(PREVIEW, input={"customerId": gid(customer), "channel": "SMS",
                                         "text": "Grüße aus Köln 🙂"})
    preview = gsm["messagePreview"]["preview"]
    assert (preview["encoding"], preview["characters"], preview["segments"]) == ("GSM7", 203, 2)
    assert (preview["perSegment"], preview["remainingInSegment"]) == (153, 103)
    assert preview["recipient"] == PHONE
    assert preview["timeZone"] == "America/Los_Angeles"
    ucs_preview = ucs["messagePreview"]["preview"]
    assert (ucs_preview["encoding"], ucs_preview["characters"]) == ("UCS2", 17)
    assert ucs_preview["segments"] == 1


async def test_inside_quiet_hours_a_message_waits_until_they_end(api, org) -> None:
    customer = await make_customer(org, phone="+4930123456")  # Europe/Berlin
    hour = datetime.now(BERLIN).hour
    async with standin() as provider:
        # quiet from this hour for two: now is inside them, even at the turn of the hour
        await connect_twilio(api, provider, quietHoursStart=hour,
                             quietHoursEnd=(hour + 2) % 24)
    preview = (await api.data(PREVIEW, input={"customerId": gid(customer), "channel": "SMS",
                                              "text": "Night owl?"}))["messagePreview"]
    payload = await send(api, gid(customer), text="Night owl?")
    scheduled = datetime.fromisoformat(preview["preview"]["scheduledFor"])
    assert preview["preview"]["timeZone"] == "Europe/Berlin"
    assert scheduled > datetime.now(UTC)
    assert scheduled.astimezone(BERLIN).hour == (hour + 2) % 24
    assert payload["message"]["status"] == "QUEUED"
    assert datetime.fromisoformat(payload["message"]["notBefore"]) == scheduled


async def test_refusals_name_the_reason_and_field(api, org) -> None:
    no_phone = await make_customer(org)
    with_phone = await make_customer(org, phone=PHONE)
    nothing = await send(api, gid(with_phone), text="x")
    email = await send(api, gid(with_phone), channel="EMAIL", text="x")
    async with standin() as provider:
        await connect_twilio(api, provider)
    no_address = await send(api, gid(no_phone), text="x")
    empty = await send(api, gid(with_phone), text="   ")
    both = await send(api, gid(with_phone), text="x", variables={"a": 1})
    assert nothing["errors"][0]["code"] == "NO_PROVIDER"
    assert email["errors"][0]["field"] == ["input", "channel"]
    assert no_address["errors"][0] == {"code": "NO_ADDRESS", "field": ["input", "customerId"],
                                       "message": "the customer has no phone number"}
    assert empty["errors"][0]["field"] == ["input", "text"]
    assert both["errors"][0]["field"] == ["input", "variables"]
    assert await fetch_one("SELECT 1 AS x FROM channel_message WHERE customer_id = $1",
                           [with_phone.id]) is None


async def test_a_template_is_rendered_and_an_idempotency_key_sends_once(api, org) -> None:
    from tests.email_helpers import make_template

    customer = await make_customer(org, name="Ada", phone=PHONE)
    template = await make_template(org, text="Hi {{ customer.name }}, code {{ code }}")
    async with standin() as provider:
        await connect_twilio(api, provider)
    key = uuid.uuid4().hex
    fields = {"templateId": str(_gid("EmailTemplate", template["id"])),
              "variables": {"code": "X1"}, "idempotencyKey": key}
    first = await send(api, gid(customer), **fields)
    again = await send(api, gid(customer), **fields)
    assert first["interaction"]["body"] == "Hi Ada, code X1"
    assert again["interaction"]["id"] == first["interaction"]["id"]
    missing = await send(api, gid(customer), templateId=fields["templateId"])
    assert missing["errors"][0]["code"] == "TEMPLATE_ERROR"


def _gid(type_name: str, pk: int) -> str:
    from schema.node import to_global_id

    return str(to_global_id(type_name, pk))


async def test_a_call_is_placed_and_its_events_complete_it(api, org, crm: Crm) -> None:
    customer = await make_customer(org, phone=PHONE)
    async with standin() as provider:
        connected = await connect_twilio(api, provider)
        payload = await send(api, gid(customer), channel="PHONE",
                             text="Your table is ready <now> & waiting.")
        interaction_id = decode_id(payload["interaction"]["id"], "Interaction")
        async with running_worker(crm.settings, [org.id]):
            row = await wait_message(interaction_id, "SENT")
        [call] = provider.sent
        url = crm.inbound(connected, f"twilio/call?ref={row['id']}")
        params = {"CallSid": call.sid, "From": "+15005550006", "To": PHONE,
                  "Direction": "outbound-api"}
        for state in ("ringing", "in-progress"):
            await provider.post(url, params | {"CallStatus": state})
        done = await provider.post(url, params | {"CallStatus": "completed",
                                                  "CallDuration": "31"})
    assert call.kind == "Calls"
    assert call.form["Twiml"] == (
        "<Response><Say>Your table is ready &lt;now&gt; &amp; waiting.</Say></Response>")
    assert call.events == ["initiated", "ringing", "answered", "completed"]
    assert done.status_code == 200
    final = await wait_message(interaction_id, "DELIVERED")
    assert final["provider_message_id"] == call.sid
    data = await api.data("""query($id: ID!) { interaction(id: $id) { body metadata
        message { status providerMessageId } } }""", id=payload["interaction"]["id"])
    assert data["interaction"]["metadata"]["durationSeconds"] == 31
    assert data["interaction"]["message"] == {"status": "DELIVERED",
                                              "providerMessageId": call.sid}


CONVERSATION = """query($id: ID!, $channel: Channel) { customer(id: $id) {
    unreadCount conversation(channel: $channel) { edges { node { channel direction body } } }
} }"""


async def test_the_conversation_threads_channels_in_time_order_with_unread_counts(
    api, org, crm: Crm, http, settings
) -> None:
    customer = await make_customer(org, phone=PHONE)
    other_agent = Api(http, token_for(await make_user(org), settings))
    async with standin() as provider, generic_platform() as platform:
        twilio = await connect_twilio(api, provider)
        social = await connect_generic(api, platform)
        await send(api, gid(customer), text="Your parcel left the warehouse.")
        await provider.post(crm.inbound(twilio, "twilio/message"), {
            "MessageSid": "SM" + uuid.uuid4().hex, "From": PHONE, "To": "+15005550006",
            "Body": "Thanks! When will it arrive?"})
        await platform.post(crm.inbound(social, "webhook"), {
            "type": "message", "id": uuid.uuid4().hex, "channel": "CHAT", "platform": "chat",
            "from": {"phone": PHONE}, "text": "Also: can I change the address?"})
    mine = await api.data(CONVERSATION, id=gid(customer))
    sms_only = await api.data(CONVERSATION, id=gid(customer), channel="SMS")
    nodes = [e["node"] for e in mine["customer"]["conversation"]["edges"]]
    assert [(n["channel"], n["direction"]) for n in nodes] == [
        ("SMS", "OUTBOUND"), ("SMS", "INBOUND"), ("CHAT", "INBOUND")]
    assert len(sms_only["customer"]["conversation"]["edges"]) == 2
    assert mine["customer"]["unreadCount"] == 2
    marked = await api.data("""mutation($id: ID!) { markRead(customerId: $id) {
        customer { unreadCount } errors { code } } }""", id=gid(customer))
    assert marked["markRead"] == {"customer": {"unreadCount": 0}, "errors": []}
    theirs = await other_agent.data(CONVERSATION, id=gid(customer))
    assert theirs["customer"]["unreadCount"] == 2  # read marks are per agent
