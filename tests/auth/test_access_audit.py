"""Bulk reads of personal data through the API leave audit events (who, what, how many)."""

from __future__ import annotations

from db.enums import Role
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_user,
    token_for,
)
from tests.security_helpers import audit_events, make_key

EXPORT = "query($id: ID!) { exportCustomerData(customerId: $id) }"


async def test_exports_are_audited_with_actor_target_and_count(api, org, admin) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    await make_interaction(customer)
    await make_order(customer)
    assert (await api.data(EXPORT, id=gid(customer)))["exportCustomerData"] is not None
    [event] = await audit_events(org.id, "exportCustomerData")
    assert (event["actor_user_id"], event["target_type"], event["target_id"]) == (
        admin.id, "Customer", customer.id)
    assert event["item_count"] == 3  # the record, one interaction, one order
    assert event["request_id"]


async def test_refused_exports_leave_no_event(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    key = Api(http, await make_key(org.id, ["customers:read"]))
    body = await key(EXPORT, id=gid(customer))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await audit_events(org.id, "exportCustomerData") == []


async def test_bulk_mutations_record_how_many_records_they_touched(api, org) -> None:  # type: ignore[no-untyped-def]
    rows = [{"externalRef": f"r-{n}", "name": f"Row {n}"} for n in range(3)]
    await api.data("""mutation($rows: [CustomerUpsertRow!]!) {
        upsertCustomers(input: {rows: $rows}) { errors { code } } }""", rows=rows)
    [upserted] = await audit_events(org.id, "upsertCustomers")
    assert upserted["item_count"] == 3
    primary, one, two = [await make_customer(org) for _ in range(3)]
    payload = (await api.data("""mutation($p: ID!, $d: [ID!]!) {
        mergeCustomers(input: {primaryId: $p, duplicateIds: $d}) { errors { code } } }""",
        p=gid(primary), d=[gid(one), gid(two)]))["mergeCustomers"]
    assert payload["errors"] == []
    [merged] = await audit_events(org.id, "mergeCustomers")
    assert merged["item_count"] == 3


async def test_managers_outside_the_pii_roles_may_not_export(api, http, org, settings) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    assert (await manager.data(EXPORT, id=gid(customer)))["exportCustomerData"] is not None
    await api.data("""mutation { updatePrivacySettings(input: {piiRoles: [AGENT]}) {
        errors { code } } }""")
    body = await manager(EXPORT, id=gid(customer))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] == {"exportCustomerData": None}
