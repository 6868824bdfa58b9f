"""CSV import and export of customers and orders."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from db.models import Customer, Order
from services.csv.transfer import CsvError, Rejected, export_csv, import_csv
from tests.factories import make_customer, make_order, make_org

CUSTOMERS = """\ufeffexternal_ref,name,email,phone,city,country,tags,email_opt_out,stage
ERP-1,张三,zhangsan@example.com,+86 138 0013 8000,北京市,cn,vip;b2b,no,customer
ERP-2,Bad Email,not-an-email,,,,,,
ERP-3,Bad Phone,bad.phone@example.com,12345,,DE,,,
ERP-4,Same Email,ZhangSan@example.com,,,,,,
,"Ada
Lovelace",ada@example.com,,London,GB,,,
,Ada Lovelace,ada.lovelace@example.com,,London,GB,a|b,true,lead
"""


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


async def test_import_customers_reports_rows_by_line(tmp_path: Path, org) -> None:
    seen: list[int] = []
    path = write(tmp_path, CUSTOMERS)
    report = await import_csv("customers", path, org.slug, progress=seen.append, batch_size=2)

    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert [r.line for r in report.rejected] == [3, 4, 5, 6]
    assert report.rejected[0].reason.startswith("email: is not a valid email address")
    assert report.rejected[1].reason.startswith("phone: is not a valid phone number")
    assert report.rejected[2] == Rejected(5, "email: a customer with this email already exists")
    assert report.rejected[3] == Rejected(6, "name: contains control characters")
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size
    zhang = await Customer.get(organization=org, external_ref="ERP-1")
    assert (zhang.name, zhang.city, zhang.country, zhang.phone) == (
        "张三", "北京市", "CN", "+8613800138000")
    assert (zhang.tags, zhang.email_opt_out, zhang.stage) == (["vip", "b2b"], False, "CUSTOMER")
    ada = await Customer.get(organization=org, email="ada.lovelace@example.com")
    assert (ada.name, ada.tags, ada.email_opt_out, ada.external_ref) == (
        "Ada Lovelace", ["a", "b"], True, None)
    assert await Customer.filter(organization=org).count() == 2


async def test_reimport_is_all_unchanged(tmp_path: Path, org) -> None:
    path = write(tmp_path, CUSTOMERS)
    await import_csv("customers", path, org.name)
    stamps = await Customer.filter(organization=org).values_list("id", "updated_at")

    again = await import_csv("customers", path, org.name)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert len(again.rejected) == 4
    assert await Customer.filter(organization=org).values_list("id", "updated_at") == stamps


async def test_partial_columns_update_only_those_fields(tmp_path: Path, org) -> None:
    customer = await make_customer(org, external_ref="P-1", city="Paris", tags=["keep"])
    path = write(tmp_path, "external_ref,stage\nP-1,PROSPECT\nP-1,CHURNED\n")
    report = await import_csv("customers", path, org.slug)

    assert report.updated == 1
    assert report.rejected == [Rejected(3, "repeats the key of line 2")]
    await customer.refresh_from_db()
    assert (customer.stage, customer.city, customer.tags) == ("PROSPECT", "Paris", ["keep"])


async def test_export_then_import_is_all_unchanged(tmp_path: Path, org) -> None:
    await make_customer(org, external_ref="X-1", name="Zoë, \"the\" first", tags=["a", "b"],
                        phone="+4930123456", country="DE", email_opt_out=True)
    await make_customer(org, email="noref@example.com", street="Main St 1")
    await make_customer(org, external_ref="X-gone", deleted_at=datetime.now(UTC))
    out = io.StringIO(newline="")
    assert await export_csv("customers", org.slug, out) == 2
    path = write(tmp_path, out.getvalue())

    report = await import_csv("customers", path, org.slug)

    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, [])
    assert out.getvalue().splitlines()[0].startswith("external_ref,name,email,phone")
    assert "a;b" in out.getvalue()


async def test_export_pages_through_many_rows(tmp_path: Path, org) -> None:
    await Customer.bulk_create([
        Customer(organization=org, name=f"C{i}", email=f"c{i}@example.com") for i in range(2_345)
    ])
    out = io.StringIO(newline="")
    assert await export_csv("customers", org.slug, out) == 2_345
    emails = [line.split(",")[2] for line in out.getvalue().splitlines()[1:]]
    assert len(set(emails)) == 2_345


async def test_import_orders_by_customer_reference_or_email(tmp_path: Path, org) -> None:
    ada = await make_customer(org, external_ref="C-ADA")
    bob = await make_customer(org, email="bob@example.com")
    path = write(tmp_path, (
        "external_ref,customer_external_ref,customer_email,amount,currency,status,placed_at\n"
        "SO-1,C-ADA,,19.99,eur,paid,2024-05-01T10:00:00\n"
        "SO-2,,BOB@example.com,5,USD,,2024-05-02T10:00:00+02:00\n"
        "SO-3,C-NOBODY,,1,EUR,PAID,2024-05-03\n"
        "SO-4,C-ADA,,abc,EUR,PAID,2024-05-03\n"
        "SO-5,C-ADA,,1,EUR,SHIPPED,2024-05-03\n"
    ))
    report = await import_csv("orders", path, org.slug)

    assert report.created == 2
    assert report.rejected == [
        Rejected(4, "customer_external_ref: customer not found"),
        Rejected(5, "amount: is not a number"),
        Rejected(6, "status: must be one of PENDING, PAID, REFUNDED, CANCELLED"),
    ]
    orders = {o.external_ref: o for o in await Order.filter(organization=org)}
    assert set(orders) == {"SO-1", "SO-2"}
    assert (orders["SO-1"].customer_id, orders["SO-1"].amount) == (ada.id, Decimal("19.99"))
    assert orders["SO-1"].placed_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert (orders["SO-2"].customer_id, orders["SO-2"].status) == (bob.id, "PENDING")
    assert orders["SO-2"].placed_at == datetime(2024, 5, 2, 8, tzinfo=UTC)


async def test_orders_export_then_import_is_all_unchanged(tmp_path: Path, org) -> None:
    customer = await make_customer(org, external_ref="C-1")
    await make_order(customer, external_ref="SO-1", amount=Decimal("12.5"))
    await make_order(customer, external_ref="SO-2", amount=Decimal("0"))
    out = io.StringIO(newline="")
    assert await export_csv("orders", org.slug, out) == 2
    report = await import_csv("orders", write(tmp_path, out.getvalue()), org.slug)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, [])


async def test_other_organizations_are_untouched(tmp_path: Path, org) -> None:
    other = await make_org()
    theirs = await make_customer(other, external_ref="ERP-1", name="Theirs")
    await import_csv("customers", write(tmp_path, CUSTOMERS), org.slug)
    await theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert await Customer.filter(organization=other).count() == 1


@pytest.mark.parametrize(("text", "message"), [
    ("external_ref,name,favourite_colour\n", "unknown column 'favourite_colour'"),
    ("name,name\n", "appears more than once"),
    ("name,city\n", "need a column to match rows on"),
    ("", "needs a header row"),
])
async def test_bad_files_are_rejected_whole(tmp_path: Path, org, text: str, message: str) -> None:
    with pytest.raises(CsvError, match=message):
        await import_csv("customers", write(tmp_path, text), org.slug)


async def test_bad_encoding_and_unknown_organization(tmp_path: Path, org) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("external_ref,name\nL-1,Müller\n".encode("latin-1"))
    with pytest.raises(CsvError, match="line 2 is not valid UTF-8"):
        await import_csv("customers", path, org.slug)
    with pytest.raises(CsvError, match="no organization"):
        await import_csv("customers", write(tmp_path, CUSTOMERS), "no-such-org-anywhere")
    assert await Customer.filter(organization=org).count() == 0


async def test_large_file_is_imported_in_batches(tmp_path: Path, org) -> None:
    lines = ["external_ref,name,email"] + [f"B-{i},Name {i},b{i}@example.com" for i in range(2_500)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    seen: list[int] = []
    report = await import_csv("customers", path, org.slug, progress=seen.append)
    assert (report.created, report.rejected) == (2_500, [])
    assert len(seen) == 3
    assert await Customer.filter(organization=org).count() == 2_500


async def test_imports_and_exports_are_audited_with_their_counts(tmp_path: Path, org) -> None:
    from tests.security_helpers import audit_events

    await make_customer(org, external_ref="A-1")
    await make_customer(org, external_ref="A-2")
    out = io.StringIO(newline="")
    assert await export_csv("customers", org.slug, out) == 2
    await import_csv("customers", write(tmp_path, out.getvalue()), org.slug)
    [exported] = await audit_events(org.id, "cliExportCustomers")
    [imported] = await audit_events(org.id, "cliImportCustomers")
    assert (exported["item_count"], imported["item_count"]) == (2, 2)
    assert (exported["actor_user_id"], exported["actor_api_key_id"]) == (None, None)


async def test_products_import_by_sku_then_export_and_reimport_unchanged(
    tmp_path: Path, org
) -> None:
    from db.product_models import Product

    text = ("sku,name,category,price,currency,active\n"
            "ROOM-1,Garden room,Travel/Rooms,90,EUR,true\n"
            "TRIP-1,Lisbon city break, Travel / Trips ,450.50,eur,yes\n"
            "BAD-1,No currency,,10,,\n"
            "room-1,Garden room (again),,,,\n")
    report = await import_csv("products", write(tmp_path, text), org.slug)
    assert (report.created, report.updated) == (2, 0)
    assert [r.line for r in report.rejected] == [4, 5]  # a missing currency; a repeated SKU
    trip = await Product.get(organization_id=org.id, sku="TRIP-1")
    assert (trip.category, trip.price, trip.currency) == ("Travel/Trips", Decimal("450.5"), "EUR")
    out = io.StringIO(newline="")
    assert await export_csv("products", org.slug, out) == 2
    again = await import_csv("products", write(tmp_path, out.getvalue(), "out.csv"), org.slug)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])
