"""Customer merge through the GraphQL endpoint: preview, merge, audit, absorbed ids."""

from __future__ import annotations

from typing import Any

from db.enums import LifecycleStage, Role
from db.models import Customer
from tests.db.test_merge import snapshot
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_org,
    make_user,
    token_for,
)

FIELDS = """id kind name email phone company stage tags customFields externalRef emailOptOut
  address { street city region postalCode country }"""
PREVIEW = f"""query($primary: ID!, $duplicates: [ID!]!, $overrides: [MergeOverride!]) {{
  mergeCustomersPreview(primaryId: $primary, duplicateIds: $duplicates, overrides: $overrides) {{
    merged {{ {FIELDS} ownerId }}
    conflicts {{ field primaryValue duplicateValues {{ customerId value }} value chosenFrom rule }}
    moves {{ interactions orders emailMessages emailMessagesKept emailSuppressions
             predictionsDropped }}
  }}
}}"""
MERGE = f"""mutation($input: MergeCustomersInput!) {{
  mergeCustomers(input: $input) {{
    customer {{ {FIELDS} owner {{ id }} interactions {{ totalCount }} orders {{ totalCount }} }}
    absorbedIds
    moves {{ interactions orders emailMessages emailMessagesKept emailSuppressions
             predictionsDropped }}
    errors {{ code field message }}
  }}
}}"""


async def _world(org: Any) -> dict[str, Customer]:
    primary = await make_customer(org, name="Jane Doe", email=None, stage=LifecycleStage.LEAD,
                                  tags=["vip"])
    shop = await make_customer(org, name="J. Doe", email="jane+shop@example.com",
                               phone="+4915112345678", email_opt_out=True, external_ref="WEB-1")
    erp = await make_customer(org, name="Jane Doe (ERP)", email=None, company="ACME",
                              city="Berlin",
                              stage=LifecycleStage.CUSTOMER, tags=["b2b"], external_ref="ERP-9")
    for customer in (primary, shop, erp):
        await make_interaction(customer)
        await make_order(customer)
    return {"primary": primary, "shop": shop, "erp": erp}


async def test_the_merge_does_exactly_what_the_preview_showed(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    world = await _world(org)
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    args = {"primary": gid(world["primary"]), "duplicates": [gid(world["shop"]),
                                                             gid(world["erp"])],
            "overrides": [{"field": "EXTERNAL_REF", "fromId": gid(world["shop"])}]}

    preview = (await manager.data(PREVIEW, **args))["mergeCustomersPreview"]
    payload = (await manager.data(MERGE, input={
        "primaryId": args["primary"], "duplicateIds": args["duplicates"],
        "overrides": args["overrides"]}))["mergeCustomers"]

    assert payload["errors"] == []
    merged, customer = preview["merged"], payload["customer"]
    for name, value in merged.items():
        if name != "ownerId":
            assert customer[name] == value, name
    assert (merged["ownerId"], customer["owner"]) == (None, None)
    assert (merged["email"], merged["emailOptOut"], merged["stage"], merged["externalRef"]) == (
        "jane+shop@example.com", True, "CUSTOMER", "WEB-1")
    assert merged["tags"] == ["vip", "b2b"]
    assert payload["moves"] == preview["moves"]
    assert (preview["moves"]["interactions"], preview["moves"]["orders"]) == (2, 2)
    assert customer["interactions"]["totalCount"] == 3
    assert customer["orders"]["totalCount"] == 3
    assert sorted(payload["absorbedIds"]) == sorted(args["duplicates"])
    conflicts = {c["field"]: c for c in preview["conflicts"]}
    assert conflicts["externalRef"]["rule"] == "OVERRIDE"
    assert conflicts["externalRef"]["chosenFrom"] == gid(world["shop"])
    assert conflicts["emailOptOut"]["rule"] == "CONSENT_KEPT"
    assert conflicts["stage"] == {
        "field": "stage", "primaryValue": "LEAD", "value": "CUSTOMER",
        "chosenFrom": gid(world["erp"]), "rule": "MOST_ADVANCED",
        "duplicateValues": [{"customerId": gid(world["erp"]), "value": "CUSTOMER"},
                            {"customerId": gid(world["shop"]), "value": "LEAD"}],
    }


async def test_absorbed_customers_point_at_the_primary_and_the_audit_names_it(api, org) -> None:  # type: ignore[no-untyped-def]
    world = await _world(org)
    absorbed = [gid(world["shop"]), gid(world["erp"])]
    payload = (await api.data(MERGE, input={"primaryId": gid(world["primary"]),
                                            "duplicateIds": absorbed}))["mergeCustomers"]
    assert payload["errors"] == []

    gone = await api.data("""query($id: ID!) { customer(id: $id) { id }
      customerMergedInto(id: $id) { id }
      customers(filter: {deleted: true}) { nodes { id mergedInto { id } } } }""", id=absorbed[0])
    events = await api.data("""{ auditEvents(filter: {actions: ["mergeCustomers"]}) {
      nodes { action targetId changedFields } } }""")

    assert gone["customer"] is None
    assert gone["customerMergedInto"] == {"id": gid(world["primary"])}
    assert sorted(gone["customers"]["nodes"], key=lambda n: n["id"]) == sorted(
        [{"id": i, "mergedInto": {"id": gid(world["primary"])}} for i in absorbed],
        key=lambda n: n["id"])
    assert events["auditEvents"]["nodes"] == [{
        "action": "mergeCustomers", "targetId": gid(world["primary"]),
        "changedFields": ["input.duplicateIds", "input.primaryId"]}]
    for customer in (world["shop"], world["erp"]):
        await customer.refresh_from_db()
        assert customer.merged_into_id == world["primary"].id


async def test_mistakes_come_back_as_errors_and_write_nothing(api, org) -> None:  # type: ignore[no-untyped-def]
    world = await _world(org)
    stranger = await make_customer(await make_org(), name="Jane Doe")
    primary, shop = gid(world["primary"]), gid(world["shop"])
    before = await snapshot(org.id)

    cases = [
        ({"primaryId": primary, "duplicateIds": [shop, primary]},
         "BAD_USER_INPUT", ["input", "duplicateIds", "1"]),
        ({"primaryId": primary, "duplicateIds": [shop, shop]},
         "BAD_USER_INPUT", ["input", "duplicateIds", "1"]),
        ({"primaryId": primary, "duplicateIds": [shop, gid(stranger)]},
         "NOT_FOUND", ["input", "duplicateIds", "1"]),
        ({"primaryId": gid(stranger), "duplicateIds": [shop]}, "NOT_FOUND", ["input", "primaryId"]),
        ({"primaryId": primary, "duplicateIds": [shop], "overrides": [
            {"field": "NAME", "fromId": gid(world["erp"])}]},
         "BAD_USER_INPUT", ["input", "overrides", "0", "fromId"]),
    ]
    for given, code, field in cases:
        payload = (await api.data(MERGE, input=given))["mergeCustomers"]
        assert (payload["customer"], payload["absorbedIds"]) == (None, [])
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given

    assert await snapshot(org.id) == before
    events = await api.data(
        '{ auditEvents(filter: {actions: ["mergeCustomers"]}) { nodes { id } } }')
    assert events["auditEvents"]["nodes"] == []


async def test_a_second_merge_of_an_absorbed_customer_names_its_primary(api, org) -> None:  # type: ignore[no-untyped-def]
    world = await _world(org)
    first = {"primaryId": gid(world["primary"]), "duplicateIds": [gid(world["shop"])]}
    assert (await api.data(MERGE, input=first))["mergeCustomers"]["errors"] == []

    again = {"primaryId": gid(world["erp"]), "duplicateIds": [gid(world["shop"])]}
    errors = (await api.data(MERGE, input=again))["mergeCustomers"]["errors"]

    assert errors == [{"code": "NOT_FOUND", "field": ["input", "duplicateIds", "0"],
                       "message": f"customer was already merged into {gid(world['primary'])}"}]


async def test_an_absorbed_customer_cannot_be_restored(api, org) -> None:  # type: ignore[no-untyped-def]
    world = await _world(org)
    merge = {"primaryId": gid(world["primary"]), "duplicateIds": [gid(world["shop"])]}
    assert (await api.data(MERGE, input=merge))["mergeCustomers"]["errors"] == []

    restored = await api.data("""mutation($id: ID!) { restoreCustomer(id: $id) {
        customer { id } errors { code field } } }""", id=gid(world["shop"]))

    assert restored["restoreCustomer"] == {
        "customer": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}
    await world["shop"].refresh_from_db()
    assert world["shop"].deleted_at is not None


async def test_merged_into_of_a_page_of_absorbed_customers_is_batched(api, org) -> None:  # type: ignore[no-untyped-def]
    from tests.statements import count_statements

    query = "{ customers(filter: {deleted: true}) { nodes { mergedInto { id } } } }"
    primary = await make_customer(org, name="Primary")
    counts = []
    for i in range(3):
        duplicate = await make_customer(org, name=f"Duplicate {i}")
        merge = {"primaryId": gid(primary), "duplicateIds": [gid(duplicate)]}
        assert (await api.data(MERGE, input=merge))["mergeCustomers"]["errors"] == []
        with count_statements() as statements:
            data = await api.data(query)
        counts.append(len(statements))
    assert data["customers"]["nodes"] == [{"mergedInto": {"id": gid(primary)}}] * 3
    assert counts[0] == counts[1] == counts[2], counts
