"""SMS campaigns: consent, quiet hours per customer, idempotency, pacing by the provider."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from db.sql import fetch
from tests.channel_helpers import Crm, connect_twilio, running_worker
from tests.email_helpers import wait_until
from tests.factories import make_customer
from tests.twilio_standin import standin

CAMPAIGN = """mutation($input: SendMessageCampaignInput!) { sendMessageCampaign(input: $input) {
    matched queued skipped heldForQuietHours errors { code field message } } }"""


async def test_a_campaign_reaches_consenting_customers_and_waits_out_their_night(
    api, org, crm: Crm
) -> None:
    tag = "sms-sale"
    us = [await make_customer(org, phone=f"+1415555{2000 + i}", tags=[tag]) for i in range(3)]
    berlin = await make_customer(org, phone="+4930123456", tags=[tag])
    opted_out = await make_customer(org, phone="+14155552999", tags=[tag])
    await make_customer(org, tags=[tag])  # no phone number
    await api.data("""mutation($c: ID!) { setChannelConsent(input: {customerId: $c,
        channel: SMS, optedOut: true}) { errors { code } } }""", c=_gid(opted_out.id))
    hour = datetime.now(ZoneInfo("Europe/Berlin")).hour
    async with standin() as provider:
        # quiet hours that cover now in Berlin and not in California (9 hours behind)
        await connect_twilio(api, provider, quietHoursStart=hour,
                             quietHoursEnd=(hour + 2) % 24, rateBurst=2, ratePerSecond=20.0)
        provider.receipts = False
        variables = {"input": {"channel": "SMS", "text": "20% off today only",
                               "filter": {"tags": [tag]}, "idempotencyKey": "sale-1"}}
        first = (await api.data(CAMPAIGN, **variables))["sendMessageCampaign"]
        again = (await api.data(CAMPAIGN, **variables))["sendMessageCampaign"]
        assert first == {"matched": 4, "queued": 4, "skipped": 0, "heldForQuietHours": 1,
                         "errors": []}
        async with running_worker(crm.settings, [org.id]):
            await wait_until(lambda: _sent(org.id, 3))
    assert first == {"matched": 4, "queued": 4, "skipped": 0, "heldForQuietHours": 1,
                     "errors": []}
    assert again == first  # the same key: the same messages, nothing queued twice
    rows = await fetch("SELECT customer_id, status FROM channel_message WHERE"
                       " organization_id = $1 ORDER BY customer_id", [org.id])
    assert {r["customer_id"]: r["status"] for r in rows} == {
        **{c.id: "SENT" for c in us}, berlin.id: "QUEUED"}
    assert sorted(sent.form["To"] for sent in provider.sent) == sorted(c.phone for c in us)


def _gid(pk: int) -> str:
    from schema.node import to_global_id

    return str(to_global_id("Customer", pk))


async def _sent(org_id: int, n: int) -> bool:
    rows = await fetch("SELECT count(*) AS n FROM channel_message WHERE organization_id = $1"
                       " AND status = 'SENT'", [org_id])
    return rows[0]["n"] >= n


async def test_a_campaign_on_another_channel_or_without_a_provider_is_refused(api) -> None:
    chat = (await api.data(CAMPAIGN, input={"channel": "CHAT", "text": "x"}))
    sms = (await api.data(CAMPAIGN, input={"channel": "SMS", "text": "x"}))
    assert chat["sendMessageCampaign"]["errors"][0]["field"] == ["input", "channel"]
    assert sms["sendMessageCampaign"]["errors"][0]["code"] == "NO_PROVIDER"
