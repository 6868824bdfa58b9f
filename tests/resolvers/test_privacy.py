"""Data-subject access (exportCustomerData) and erasure (eraseCustomer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from db.email_enums import SuppressionReason
from db.email_models import EmailMessage, EmailSuppression, InboundEmail
from db.enums import Channel, Direction, Role
from db.models import Customer, Order
from db.prediction_models import Prediction
from db.sql import fetch, fetch_one
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_user,
    token_for,
)

EXPORT = "query($id: ID!) { exportCustomerData(customerId: $id) }"
ERASE = """mutation($id: ID!) { eraseCustomer(customerId: $id) {
  customer { id name email phone deletedAt } errors { code field message } } }"""
def personal(t: str) -> tuple[str, ...]:
    """The personal strings of the person made by ``_person(org, t)``."""
    return (f"Zebulon{t}", f"Quuxley{t}", f"zebulon{t}.quuxley", f"Quuxstrasse{t}",
            f"ZQ-BODY{t}", f"Zeb-Quux{t}", f"zq-tag{t}", f"ZQ-EXT{t}", f"ZQ-SUBJECT{t}",
            f"ZQ-REASON{t}", f"151{t[:5]}")


async def _person(org: Any, t: str) -> dict[str, Any]:
    """A customer with personal data in every place the CRM keeps it (``t`` makes it unique)."""
    digits = str(int(t, 16))[:5].rjust(5, "0")
    email = f"zebulon{t}.quuxley@example.org"
    customer = await make_customer(
        org, name=f"Zebulon{t} Quuxley{t}", email=email, phone=f"+49151{digits}678",
        street=f"Quuxstrasse{t} 9", city="Quuxhausen", postal_code="12345",
        tags=[f"zq-tag{t}"], custom_fields={"nick": f"Zeb-Quux{t}"}, external_ref=f"ZQ-EXT{t}",
    )
    call = await make_interaction(customer, subject=f"ZQ-SUBJECT{t} call",
                                  body=f"Zebulon{t} said ZQ-BODY{t}",
                                  metadata={"caller": f"Zebulon{t}"})
    mail = await make_interaction(customer, channel=Channel.EMAIL, direction=Direction.OUTBOUND,
                                  subject=f"Hello Zebulon{t}", body=f"Dear Zebulon{t} Quuxley{t}")
    reply = await make_interaction(customer, channel=Channel.EMAIL, subject="Re: Hello",
                                   body=f"ZQ-BODY{t} reply from {email}")
    now = datetime.now(UTC)
    await EmailMessage.create(
        organization=org, interaction=mail, customer=customer, message_id=f"<{mail.id}@crm.test>",
        sender="crm@org.test", recipient=email, available_at=now,
        mime=f"To: Zebulon{t} <{email}>\r\n\r\nDear Zebulon{t}".encode(),
    )
    await InboundEmail.create(organization=org, interaction=reply, message_id=f"<in-{t}@mail>",
                              sender=email)
    await EmailSuppression.create(organization=org, customer=customer, email=email.upper(),
                                  reason=SuppressionReason.UNSUBSCRIBED,
                                  detail=f"Zebulon{t} asked")
    await Prediction.create(organization=org, customer=customer, churn_risk=0.4,
                            reasons=[f"ZQ-REASON{t}: Zebulon{t}"], model_version="v1", as_of=now,
                            horizon_days=90, scored_at=now)
    order = await make_order(customer, amount=Decimal("123.45"))
    return {"customer": customer, "order": order, "call": call, "email": email,
            "strings": (*personal(t)[:-1], f"151{digits}678")}


async def test_export_holds_everything_on_the_person(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    person = await _person(org, uuid.uuid4().hex[:8])
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    document = (await manager.data(EXPORT, id=gid(person["customer"])))["exportCustomerData"]
    email = person["email"]
    assert document["customer"]["email"] == email
    assert document["customer"]["custom_fields"]["nick"].startswith("Zeb-Quux")
    assert [i["subject"][:5] for i in document["interactions"]] == ["ZQ-SU", "Hello", "Re: H"]
    assert [o["amount"] for o in document["orders"]] == ["123.4500"]
    assert [e["recipient"] for e in document["emails"]] == [email]
    assert [e["sender"] for e in document["inboundEmails"]] == [email]
    assert [s["reason"] for s in document["emailSuppressions"]] == ["UNSUBSCRIBED"]
    assert document["predictions"][0]["reasons"][0].startswith("ZQ-REASON")
    assert document["erasedAt"] is None


async def test_export_of_unknown_or_foreign_customers_is_null(http, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_org

    mine, theirs = await make_org(), await make_org()
    foreign = await make_customer(theirs, name="Foreign")
    api = Api(http, token_for(await make_user(mine), settings))
    assert (await api.data(EXPORT, id=gid(foreign)))["exportCustomerData"] is None


async def _text_columns() -> list[dict[str, Any]]:
    return await fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type IN"
        " ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea')"
    )


async def _leftovers(strings: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every (table, column, string) where a string still occurs, in any row of any table."""
    found = []
    for column in await _text_columns():
        table, name = column["table_name"], column["column_name"]
        # bytea is searched as its escaped text, which keeps ASCII readable
        text_of = (f"encode(\"{name}\", 'escape')" if column["data_type"] == "bytea"
                   else f"\"{name}\"::text")
        for text in strings:
            hit = await fetch_one(
                f'SELECT 1 AS hit FROM "{table}" WHERE position(lower($1) IN lower({text_of})) > 0'
                " LIMIT 1", [text],
            )
            if hit:
                found.append((table, name, text))
    return found


async def test_erasure_leaves_no_personal_string_anywhere(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    person = await _person(org, uuid.uuid4().hex[:8])
    bystander = await make_customer(org, name="Bystander Bob", email="bob@example.org")
    assert len(await _leftovers(person["strings"])) >= 12  # the search finds it before erasure
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    payload = (await manager.data(ERASE, id=gid(person["customer"])))["eraseCustomer"]
    assert payload["errors"] == []
    erased = payload["customer"]
    assert (erased["email"], erased["phone"]) == (None, None)
    assert erased["deletedAt"]
    assert await _leftovers(person["strings"]) == []
    assert (await Order.get(id=person["order"].id)).amount == Decimal("123.45")
    assert (await Customer.get(id=bystander.id)).name == "Bystander Bob"


async def test_erased_customers_stay_out_of_scoring_campaigns_and_lists(  # type: ignore[no-untyped-def]
    api, http, org
) -> None:
    person = await _person(org, uuid.uuid4().hex[:8])
    customer_id = gid(person["customer"])
    assert (await api.data(ERASE, id=customer_id))["eraseCustomer"]["errors"] == []
    row = await Customer.get(id=person["customer"].id)
    assert row.deleted_at is not None
    assert row.email_opt_out
    assert not await Prediction.filter(customer_id=row.id).exists()
    message = await EmailMessage.get(customer_id=row.id)
    assert message.status == "FAILED"
    assert message.recipient == ""
    assert (await api.data("{ customers { totalCount } }"))["customers"]["totalCount"] == 0
    restore = await api.data(
        "mutation($id: ID!) { restoreCustomer(id: $id) { errors { code } } }", id=customer_id)
    assert restore["restoreCustomer"]["errors"] == [{"code": "NOT_FOUND"}]
    assert (await Customer.get(id=row.id)).deleted_at is not None
    (event,) = (await api.data(
        '{ auditEvents(filter: {actions: ["eraseCustomer"]}) { nodes { targetId } } }'
    ))["auditEvents"]["nodes"]
    assert event["targetId"] == customer_id


async def test_only_managers_erase_and_foreign_ids_are_not_found(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_org

    person = await make_customer(org, name="Kept")
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    body = await agent(ERASE, id=gid(person))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    outsider = Api(http, token_for(await make_user(await make_org(), role=Role.ADMIN), settings))
    payload = (await outsider.data(ERASE, id=gid(person)))["eraseCustomer"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert (await Customer.get(id=person.id)).name == "Kept"


SETTINGS = """mutation($input: UpdatePrivacySettingsInput!) { updatePrivacySettings(input: $input) {
  privacySettings { piiRoles personalCustomFields } errors { code field message } } }"""


async def test_privacy_settings_default_and_change(api) -> None:  # type: ignore[no-untyped-def]
    read = "{ privacySettings { piiRoles personalCustomFields } }"
    assert (await api.data(read))["privacySettings"] == {
        "piiRoles": ["ADMIN", "MANAGER", "AGENT"], "personalCustomFields": []}
    changed = (await api.data(SETTINGS, input={
        "piiRoles": [], "personalCustomFields": ["b", "a", "b"]}))["updatePrivacySettings"]
    # ADMIN always reads personal data; keys are kept once, sorted
    assert changed["privacySettings"] == {"piiRoles": ["ADMIN"],
                                          "personalCustomFields": ["a", "b"]}
    kept = (await api.data(SETTINGS, input={"piiRoles": ["VIEWER"]}))["updatePrivacySettings"]
    assert kept["privacySettings"]["personalCustomFields"] == ["a", "b"]
    assert (await api.data(read))["privacySettings"]["piiRoles"] == ["ADMIN", "VIEWER"]


async def test_privacy_settings_refuse_bad_keys_with_their_paths(api) -> None:  # type: ignore[no-untyped-def]
    payload = (await api.data(SETTINGS, input={
        "personalCustomFields": ["ok", " ", "x" * 101]}))["updatePrivacySettings"]
    assert payload["privacySettings"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("BAD_USER_INPUT", ["input", "personalCustomFields", "1"]),
        ("BAD_USER_INPUT", ["input", "personalCustomFields", "2"]),
    ]
    many = (await api.data(SETTINGS, input={
        "personalCustomFields": [f"k{n}" for n in range(101)]}))["updatePrivacySettings"]
    assert many["errors"][0]["field"] == ["input", "personalCustomFields"]
    read = "{ privacySettings { personalCustomFields } }"
    assert (await api.data(read))["privacySettings"]["personalCustomFields"] == []
