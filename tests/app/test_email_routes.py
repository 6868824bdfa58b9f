"""The public email endpoints: one-click unsubscribe and inbound mail from a gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email import policy
from email.parser import BytesParser
from urllib.parse import urlparse

import httpx
import pytest

from core.config import Settings
from db.email_enums import EmailRefused
from db.email_models import EmailSuppression, InboundEmail
from db.models import Customer, Interaction
from schema.node import to_global_id
from tests.email_helpers import INBOUND_SECRET, email_row, email_settings, queue_email
from tests.factories import make_customer, make_org

AUTH = {"Authorization": f"Bearer {INBOUND_SECRET}"}


@pytest.fixture(scope="module")
def email_config(settings: Settings) -> Settings:
    return email_settings(settings)


@pytest.fixture
async def client(db: str, email_config: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    transport = httpx.ASGITransport(app=create_app(email_config, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        yield http


async def _unsubscribe_path(email: dict) -> str:
    mime = bytes((await email_row(email["id"]))["mime"])
    header = str(BytesParser(policy=policy.default).parsebytes(mime)["List-Unsubscribe"])
    url = urlparse(header.strip().strip("<>"))  # a long header is folded onto a new line
    assert url.netloc == "crm.test"
    return url.path


async def test_one_click_unsubscribe_from_the_message_header(client, org, email_config) -> None:
    customer = await make_customer(org)
    path = await _unsubscribe_path(await queue_email(email_config, customer))
    page = await client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    await customer.refresh_from_db()
    assert not customer.email_opt_out  # fetching the link (e.g. by a scanner) changes nothing
    response = await client.post(path, content=b"List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert "Unsubscribed" in response.text
    await customer.refresh_from_db()
    assert customer.email_opt_out
    with pytest.raises(EmailRefused) as refused:
        await queue_email(email_config, customer)
    assert refused.value.code == "OPTED_OUT"
    again = await client.post(path, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200
    assert await EmailSuppression.filter(organization_id=org.id).count() == 1


async def test_tampered_unsubscribe_links_are_refused(client, org, email_config) -> None:
    customer = await make_customer(org)
    path = await _unsubscribe_path(await queue_email(email_config, customer))
    payload, signature = path.rsplit("/", 1)[1].split(".")
    # the first character's six bits all count (a last one may only carry padding bits)
    flipped = "B" if payload[0] == "A" else "A"
    forged = f"/unsubscribe/{flipped}{payload[1:]}.{signature}"
    for bad in (forged, "/unsubscribe/nonsense", f"/unsubscribe/{payload}.{'A' * 22}"):
        assert (await client.post(bad)).status_code == 404
        assert (await client.get(bad)).status_code == 404
    await customer.refresh_from_db()
    assert not customer.email_opt_out


def _raw(sender: str, *, subject: str = "Re: Hello", body: str = "Thanks, sounds good.",
         extra: str = "", message_id: str = "<reply-1@mail.example.org>") -> bytes:
    return (f"From: {sender}\r\nTo: shop@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n{extra}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n").encode()


async def test_reply_is_threaded_and_recorded_once(client, org, email_config) -> None:
    customer = await make_customer(org, name="张三", email="zhangsan@example.com")
    outbound = await queue_email(email_config, customer)
    raw = _raw("=?utf-8?b?5byg5LiJ?= <ZhangSan@Example.com>", body="好的,谢谢!",
               extra=f"In-Reply-To: {outbound['message_id']}\r\n")
    first = await client.post("/inbound/email", content=raw, headers=AUTH)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["inReplyTo"] == to_global_id("Interaction", outbound["interaction_id"])
    assert body["customerId"] == to_global_id("Customer", customer.id)
    retry = await client.post("/inbound/email", content=raw, headers=AUTH)
    assert retry.status_code == 200
    assert retry.json()["duplicate"]
    [reply] = await Interaction.filter(customer_id=customer.id, direction="INBOUND")
    assert (reply.channel, reply.subject) == ("EMAIL", "Re: Hello")
    assert reply.body.strip() == "好的,谢谢!"
    assert reply.metadata["inReplyTo"] == outbound["message_id"]
    assert reply.occurred_at.isoformat() == "2026-11-24T09:00:00+00:00"


async def test_unthreaded_mail_needs_the_organization_and_a_known_sender(client, org) -> None:
    customer = await make_customer(org, email="ada@example.com")
    raw = _raw("Ada <ada@example.com>", message_id="<fresh-1@example.com>")
    assert (await client.post("/inbound/email", content=raw, headers=AUTH)).status_code == 422
    ok = await client.post(f"/inbound/email?org={org.slug}", content=raw, headers=AUTH)
    assert ok.status_code == 201
    assert ok.json()["inReplyTo"] is None
    stranger = _raw("x@example.net", message_id="<fresh-2@example.com>")
    refused = await client.post(f"/inbound/email?org={org.slug}", content=stranger, headers=AUTH)
    assert refused.status_code == 422
    assert "x@example.net" in refused.json()["error"]
    assert await Interaction.filter(customer_id=customer.id).count() == 1


async def test_bad_requests_are_refused_and_nothing_is_recorded(client, org) -> None:
    await make_customer(org, email="ada@example.com")
    url = f"/inbound/email?org={org.slug}"
    good = _raw("ada@example.com", message_id="<auth-1@example.com>")
    assert (await client.post(url, content=good)).status_code == 401
    wrong = {"Authorization": "Bearer wrong-secret-wrong-secret"}
    assert (await client.post(url, content=good, headers=wrong)).status_code == 401
    for raw, reason in ((b"", "empty"), (b"just some text\r\n", "From"),
                        (_raw("a@x.org, b@y.org"), "exactly one address")):
        response = await client.post(url, content=raw, headers=AUTH)
        assert response.status_code == 400
        assert reason in response.json()["error"]
    assert not await InboundEmail.filter(organization_id=org.id).exists()


async def test_inbound_is_off_without_a_secret(http) -> None:
    response = await http.post("/inbound/email", content=_raw("a@example.com"), headers=AUTH)
    assert response.status_code == 404


async def test_delivery_report_marks_bounced_and_suppresses(client, org, email_config) -> None:
    customer = await make_customer(org, email="gone@example.com")
    outbound = await queue_email(email_config, customer)
    report = (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: shop@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        ' boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n'
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com"
        "\r\n\r\nFinal-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1"
        "\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {outbound['message_id']}\r\nTo: gone@example.com\r\n\r\n--B--\r\n"
    ).encode()
    response = await client.post("/inbound/email", content=report, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["bounced"]
    row = await email_row(outbound["id"])
    assert row["status"] == "BOUNCED"
    assert "550 5.1.1 user unknown" in row["last_error"]
    assert (await Customer.get(id=customer.id)).email_opt_out
    from tests.security_helpers import audit_events

    [bounced] = await audit_events(org.id, "inboundBounce")
    assert (bounced["target_type"], bounced["target_id"]) == (
        "Interaction", outbound["interaction_id"])
    other = await make_customer(await make_org(), email="gone@example.com")
    await queue_email(email_config, other)  # another organization's customer is unaffected


async def test_unsubscribes_and_inbound_mail_are_audited(client, org, email_config) -> None:
    from tests.security_helpers import audit_events

    customer = await make_customer(org, email="audited@example.com")
    outbound = await queue_email(email_config, customer)
    raw = _raw("audited@example.com", extra=f"In-Reply-To: {outbound['message_id']}\r\n")
    first = await client.post("/inbound/email", content=raw, headers=AUTH)
    await client.post("/inbound/email", content=raw, headers=AUTH)  # a retry: recorded once
    [inbound] = await audit_events(org.id, "inboundEmail")
    assert (inbound["target_type"], inbound["actor_user_id"]) == ("Interaction", None)
    assert to_global_id("Interaction", inbound["target_id"]) == first.json()["interactionId"]
    path = await _unsubscribe_path(outbound)
    assert (await client.post(path, content=b"List-Unsubscribe=One-Click")).status_code == 200
    [unsubscribed] = await audit_events(org.id, "unsubscribe")
    assert (unsubscribed["target_type"], unsubscribed["target_id"]) == ("Customer", customer.id)
    assert unsubscribed["request_id"]
