"""Bulk upserts of customers and orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.errors import ErrorCode, FieldError, InputError
from db import bulk
from db.models import Customer, Order
from tests.factories import make_customer, make_order, make_org

PLACED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def customer_row(ref: str, **overrides: Any) -> dict[str, Any]:
    return {"external_ref": ref, "name": f"Customer {ref}", "email": f"{ref.lower()}@example.com",
            **overrides}


def statuses(results: list[bulk.RowResult]) -> list[str]:
    return [r.status for r in results]


async def test_creates_then_reports_unchanged_without_rewriting(org) -> None:
    rows = [customer_row("A-1", phone="+49 30 1234567", tags=["vip"]), customer_row("A-2")]
    first = await bulk.upsert_customers(org_id=org.id, rows=rows)
    assert statuses(first) == ["created", "created"]
    assert first[0].row is not None
    assert first[0].row["phone"] == "+49301234567"
    stamps = {c.external_ref: c.updated_at for c in await Customer.filter(organization=org)}

    again = await bulk.upsert_customers(org_id=org.id, rows=rows)

    assert statuses(again) == ["unchanged", "unchanged"]
    stored = await Customer.filter(organization=org)
    assert {c.external_ref: c.updated_at for c in stored} == stamps
    assert {c.external_ref: c.tags for c in stored} == {"A-1": ["vip"], "A-2": []}


async def test_updates_only_the_given_fields(org) -> None:
    customer = await make_customer(org, external_ref="U-1", city="Berlin", phone="+49301234567")
    results = await bulk.upsert_customers(org_id=org.id, rows=[{"external_ref": "U-1",
                                                                "name": "Renamed"}])
    assert statuses(results) == ["updated"]
    await customer.refresh_from_db()
    assert (customer.name, customer.city, customer.phone) == ("Renamed", "Berlin", "+49301234567")
    assert results[0].row is not None
    assert results[0].row["updated_at"] == customer.updated_at


async def test_invalid_rows_fail_alone_and_write_nothing(org) -> None:
    customer = await make_customer(org, external_ref="V-1", phone="+49301234567")
    rows = [
        customer_row("V-2"),
        customer_row("V-3", email="not-an-email"),
        {"external_ref": "V-1", "name": "Changed", "phone": "12"},
    ]
    results = await bulk.upsert_customers(org_id=org.id, rows=rows)

    assert statuses(results) == ["created", "failed", "failed"]
    assert [e.field for e in results[1].errors] == [("rows", "1", "email")]
    assert [e.field for e in results[2].errors] == [("rows", "2", "phone")]
    name = customer.name
    await customer.refresh_from_db()
    assert (customer.name, customer.phone) == (name, "+49301234567")
    assert await Customer.filter(organization=org).count() == 2


async def test_repeated_key_in_a_batch_fails_the_later_row(org) -> None:
    rows = [customer_row("D-1"), customer_row("D-1", name="Again", email="again@example.com")]
    results = await bulk.upsert_customers(org_id=org.id, rows=rows)
    assert statuses(results) == ["created", "failed"]
    assert results[1].errors[0].code == ErrorCode.DUPLICATE
    assert results[1].errors[0].field == ("rows", "1", "externalRef")
    assert await Customer.filter(organization=org).values_list("name", flat=True) == [
        "Customer D-1"]


async def test_email_taken_by_another_customer_fails_that_row_only(org) -> None:
    await make_customer(org, email="taken@example.com", external_ref="OLD")
    rows = [customer_row("E-1", email="Taken@EXAMPLE.com"), customer_row("E-2"),
            customer_row("E-3", email="e-2@example.com")]
    results = await bulk.upsert_customers(org_id=org.id, rows=rows)

    assert statuses(results) == ["failed", "created", "failed"]
    assert results[0].errors == [FieldError(
        ErrorCode.DUPLICATE, ("rows", "0", "email"), "a customer with this email already exists")]
    assert results[2].errors[0].field == ("rows", "2", "email")
    refs = await Customer.filter(organization=org).values_list("external_ref", flat=True)
    assert sorted(refs) == ["E-2", "OLD"]


async def test_conflict_missed_by_the_checks_is_isolated_by_savepoints(org, monkeypatch) -> None:
    async def no_checks(*args: Any) -> None:
        return None

    monkeypatch.setattr(bulk, "_reject_taken", no_checks)
    await make_customer(org, email="race@example.com")
    rows = [customer_row("R-1"), customer_row("R-2", email="race@example.com"),
            customer_row("R-3")]
    results = await bulk.upsert_customers(org_id=org.id, rows=rows)

    assert statuses(results) == ["created", "failed", "created"]
    assert results[1].errors[0].code == ErrorCode.DUPLICATE
    refs = await Customer.filter(organization=org).values_list("external_ref", flat=True)
    assert sorted(r for r in refs if r) == ["R-1", "R-3"]


async def test_match_on_email_is_case_insensitive_and_sets_the_reference(org) -> None:
    customer = await make_customer(org, email="mia@example.com")
    rows = [{"email": "MIA@example.com", "external_ref": "M-1", "name": "Mia"}]
    results = await bulk.upsert_customers(org_id=org.id, rows=rows, match_on="email")
    assert statuses(results) == ["updated"]
    await customer.refresh_from_db()
    assert (customer.external_ref, customer.name, customer.email) == (
        "M-1", "Mia", "MIA@example.com")


async def test_rows_without_reference_fall_back_to_email(org) -> None:
    customer = await make_customer(org, email="noref@example.com")
    results = await bulk.upsert_customers(
        org_id=org.id, rows=[{"email": "noref@example.com", "stage": "CUSTOMER"}, {"name": "X"}]
    )
    assert statuses(results) == ["updated", "failed"]
    assert results[1].errors[0].field == ("rows", "1", "externalRef")
    await customer.refresh_from_db()
    assert customer.stage == "CUSTOMER"


async def test_deleted_customer_is_not_revived(org) -> None:
    await make_customer(org, external_ref="DEL-1", deleted_at=PLACED)
    results = await bulk.upsert_customers(org_id=org.id, rows=[customer_row("DEL-1")])
    assert statuses(results) == ["failed"]
    assert results[0].errors[0].field == ("rows", "0", "externalRef")


async def test_more_than_the_limit_is_refused_whole(org) -> None:
    rows = [customer_row(f"L-{i}") for i in range(bulk.MAX_ROWS + 1)]
    with pytest.raises(InputError) as caught:
        await bulk.upsert_customers(org_id=org.id, rows=rows)
    assert caught.value.errors[0].field == ("rows",)
    assert await Customer.filter(organization=org).count() == 0


async def test_other_organizations_are_neither_matched_nor_changed(org) -> None:
    other = await make_org()
    theirs = await make_customer(other, external_ref="SAME", email="same@example.com")
    results = await bulk.upsert_customers(
        org_id=org.id, rows=[customer_row("SAME", email="same@example.com")]
    )
    assert statuses(results) == ["created"]
    await theirs.refresh_from_db()
    assert theirs.name != "Customer SAME"
    assert await Customer.filter(organization=org, external_ref="SAME").count() == 1


def order_row(ref: str, **overrides: Any) -> dict[str, Any]:
    return {"external_ref": ref, "amount": Decimal("10.50"), "currency": "eur",
            "status": "PAID", "placed_at": PLACED, **overrides}


async def test_orders_find_customers_by_reference_or_email(org) -> None:
    ada = await make_customer(org, external_ref="C-ADA", email="ada@example.com")
    bob = await make_customer(org, email="bob@example.com")
    rows = [order_row("O-1", customer_external_ref="C-ADA"),
            order_row("O-2", customer_email="BOB@example.com"),
            order_row("O-3", customer_external_ref="C-NOBODY")]
    results = await bulk.upsert_orders(org_id=org.id, rows=rows)

    assert statuses(results) == ["created", "created", "failed"]
    assert results[2].errors == [FieldError(
        ErrorCode.NOT_FOUND, ("rows", "2", "customerExternalRef"), "customer not found")]
    stored = {o.external_ref: o for o in await Order.filter(organization=org)}
    assert set(stored) == {"O-1", "O-2"}
    assert (stored["O-1"].customer_id, stored["O-2"].customer_id) == (ada.id, bob.id)
    assert (stored["O-1"].amount, stored["O-1"].currency) == (Decimal("10.50"), "EUR")


async def test_orders_are_unchanged_on_repeat_and_updated_on_change(org) -> None:
    customer = await make_customer(org, external_ref="C-1")
    order = await make_order(customer, external_ref="O-9", amount=Decimal("5"), placed_at=PLACED)
    before = order.updated_at
    same = await bulk.upsert_orders(org_id=org.id, rows=[order_row(
        "O-9", amount=Decimal("5.0000"), currency="EUR", customer_external_ref="C-1")])
    changed = await bulk.upsert_orders(org_id=org.id, rows=[{"external_ref": "O-9",
                                                             "status": "REFUNDED"}])

    assert (statuses(same), statuses(changed)) == (["unchanged"], ["updated"])
    await order.refresh_from_db()
    assert (order.status, order.amount, order.customer_id) == ("REFUNDED", 5, customer.id)
    assert order.updated_at > before


async def test_new_orders_need_a_customer_and_the_required_fields(org) -> None:
    await make_customer(org, external_ref="C-2")
    rows = [{"external_ref": "O-1", "customer_external_ref": "C-2"},
            order_row("O-2"), order_row("O-3", customer_external_ref="C-2", amount=Decimal("-1")),
            order_row("", customer_external_ref="C-2")]
    results = await bulk.upsert_orders(org_id=org.id, rows=rows)

    assert statuses(results) == ["failed"] * 4
    assert {e.field[-1] for e in results[0].errors} == {"amount", "currency", "placedAt"}
    assert [e.field[-1] for e in results[1].errors] == ["customerExternalRef"]
    assert [e.field[-1] for e in results[2].errors] == ["amount"]
    assert [e.field[-1] for e in results[3].errors] == ["externalRef"]
    assert await Order.filter(organization=org).count() == 0


async def test_stored_values_are_not_revalidated_unless_they_change(org) -> None:
    legacy = await make_customer(org, external_ref="LEG-1", phone="+12020000000")
    same = await bulk.upsert_customers(org_id=org.id, rows=[
        {"external_ref": "LEG-1", "phone": "+12020000000", "name": legacy.name}])
    renamed = await bulk.upsert_customers(org_id=org.id, rows=[
        {"external_ref": "LEG-1", "phone": "+12020000000", "name": "Renamed"}])
    changed = await bulk.upsert_customers(org_id=org.id, rows=[
        {"external_ref": "LEG-1", "phone": "+12020000001"}])

    assert (statuses(same), statuses(renamed), statuses(changed)) == (
        ["unchanged"], ["updated"], ["failed"])
    await legacy.refresh_from_db()
    assert (legacy.name, legacy.phone) == ("Renamed", "+12020000000")
