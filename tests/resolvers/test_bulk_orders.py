"""The upsertOrders mutation through the GraphQL endpoint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from db.enums import OrderStatus
from db.models import Order
from db.product_models import Product
from tests.factories import Api, gid, make_customer, make_order, make_org

UPSERT = """
mutation($input: UpsertOrdersInput!) {
  upsertOrders(input: $input) {
    results {
      index status
      order { id externalRef status total { amount currency } lineItems { name quantity }
              customer { id } }
      errors { code field message }
    }
    created updated unchanged failed
    errors { code field message }
  }
}"""
PLACED = "2026-03-01T10:00:00+00:00"


async def run(api: Api, rows: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(UPSERT, input={"rows": rows}))["upsertOrders"]
    return payload


def _order(ref: str, **fields: Any) -> dict[str, Any]:
    return {"externalRef": ref, "amount": "10.00", "currency": "EUR", "placedAt": PLACED} | fields


async def test_mixed_batch_reports_each_row(api, org) -> None:
    ada = await make_customer(org, external_ref="C-1", email="ada@example.com")
    bob = await make_customer(org, external_ref="C-2")
    kept = await make_order(ada, external_ref="O-KEPT", amount=Decimal("10.00"), currency="EUR",
                            status=OrderStatus.PAID)
    moved = await make_order(ada, external_ref="O-MOVE", status=OrderStatus.PENDING)
    await make_order(bob, external_ref="O-TAKEN")

    payload = await run(api, [
        _order("O-NEW", customerEmail="ADA@example.com",
               lineItems=[{"name": "Tea", "quantity": 2, "unitPrice": "5.00"}]),
        {"externalRef": "O-KEPT", "amount": "10.00", "currency": "EUR", "status": "PAID"},
        {"externalRef": "O-MOVE", "status": "PAID", "customerId": gid(bob)},
        _order("O-NOBODY", customerExternalRef="C-404"),
        _order("O-NEW", customerId=gid(bob)),
        _order("O-BAD", customerId=gid(bob), amount="-3"),
    ])

    assert [r["status"] for r in payload["results"]] == [
        "CREATED", "UNCHANGED", "UPDATED", "FAILED", "FAILED", "FAILED"]
    assert (payload["created"], payload["updated"], payload["unchanged"], payload["failed"]) == (
        1, 1, 1, 3)
    created = payload["results"][0]["order"]
    assert (created["customer"]["id"], created["total"], created["lineItems"]) == (
        gid(ada), {"amount": "10.00", "currency": "EUR"}, [{"name": "Tea", "quantity": 2}])
    assert payload["results"][1]["order"]["id"] == gid(kept)
    errors = {r["index"]: [(e["code"], e["field"]) for e in r["errors"]]
              for r in payload["results"] if r["status"] == "FAILED"}
    assert errors == {
        3: [("NOT_FOUND", ["input", "rows", "3", "customerExternalRef"])],
        4: [("DUPLICATE", ["input", "rows", "4", "externalRef"])],
        5: [("BAD_USER_INPUT", ["input", "rows", "5", "amount"])],
    }
    await moved.refresh_from_db()
    assert (moved.customer_id, moved.status) == (bob.id, OrderStatus.PAID)
    refs = await Order.filter(organization=org).values_list("external_ref", flat=True)
    assert sorted(refs) == ["O-KEPT", "O-MOVE", "O-NEW", "O-TAKEN"]


async def test_new_orders_need_a_customer_and_required_fields(api, org) -> None:
    payload = await run(api, [{"externalRef": "O-1", "amount": "5"}])
    assert [(e["code"], e["field"]) for e in payload["results"][0]["errors"]] == [
        ("BAD_USER_INPUT", ["input", "rows", "0", "customerExternalRef"]),
        ("BAD_USER_INPUT", ["input", "rows", "0", "currency"]),
        ("BAD_USER_INPUT", ["input", "rows", "0", "placedAt"]),
    ]
    assert await Order.filter(organization=org).count() == 0


async def test_malformed_and_foreign_customer_ids_are_not_found(api, org) -> None:
    stranger = await make_customer(await make_org())
    payload = await run(api, [_order("O-1", customerId="nonsense"),
                              _order("O-2", customerId=gid(stranger))])
    assert [[(e["code"], e["field"]) for e in r["errors"]] for r in payload["results"]] == [
        [("NOT_FOUND", ["input", "rows", "0", "customerId"])],
        [("NOT_FOUND", ["input", "rows", "1", "customerId"])],
    ]
    assert await Order.filter(organization=org).count() == 0


async def test_more_than_a_thousand_rows_write_nothing(api, org) -> None:
    await make_customer(org, external_ref="C-1")
    payload = await run(api, [_order(f"O-{i}", customerExternalRef="C-1") for i in range(1_001)])
    assert (payload["results"], [(e["code"], e["field"]) for e in payload["errors"]]) == (
        [], [("BAD_USER_INPUT", ["input", "rows"])])
    assert await Order.filter(organization=org).count() == 0


async def test_same_external_ref_in_another_organization_is_separate(api, org) -> None:
    other = await make_org()
    theirs = await make_order(await make_customer(other), external_ref="SHARED")
    await make_customer(org, external_ref="C-1")
    payload = await run(api, [_order("SHARED", customerExternalRef="C-1", amount="99.00")])
    assert payload["results"][0]["status"] == "CREATED"
    await theirs.refresh_from_db()
    assert theirs.amount == Decimal("100.00")


async def test_failed_rows_keep_their_codes_paths_and_messages(api, org) -> None:
    customer = await make_customer(org, external_ref="C-1", email="c1@example.com")
    await Product.create(organization=org, sku="c", name="Cup", price=Decimal("2.50"),
                         currency="EUR")
    rows = [
        _order("O-0", customerId=gid(customer), status="PAID",
               lineItems=[{"name": "Tee", "unitPrice": "5.00"},
                          {"name": "Cup", "quantity": 2, "unitPrice": "2.50", "sku": "C"}]),
        _order("O-1", customerExternalRef="C-1", currency="EURO"),
        _order("O-2", customerEmail="nobody@example.com"),
        _order("O-3", customerEmail="C1@example.com", amount="1.00001"),
        _order("O-4", customerExternalRef="C-1", lineItems=None),
    ]
    payload = await run(api, rows)

    assert payload["errors"] == []
    assert [(r["index"], r["status"]) for r in payload["results"]] == [
        (0, "CREATED"), (1, "FAILED"), (2, "FAILED"), (3, "FAILED"), (4, "CREATED")]
    assert {r["index"]: r["errors"] for r in payload["results"] if r["errors"]} == {
        1: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "1", "currency"],
             "message": "must be a three-letter ISO 4217 currency code such as EUR"}],
        2: [{"code": "NOT_FOUND", "field": ["input", "rows", "2", "customerEmail"],
             "message": "customer not found"}],
        3: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "3", "amount"],
             "message": "must have at most four decimal places"}],
    }
    first = payload["results"][0]["order"]
    assert (first["customer"]["id"], first["lineItems"]) == (
        gid(customer), [{"name": "Tee", "quantity": 1}, {"name": "Cup", "quantity": 2}])
    assert sorted(await Order.filter(organization=org).values_list("external_ref", flat=True)) == [
        "O-0", "O-4"]
