"""Customer, company and deal CSV files carry the organization's custom fields as
``custom.<key>`` columns."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from db import custom_field as definitions
from db.models import Customer
from db.sales_models import Deal
from db.sql import fetch
from services.csv.transfer import Rejected, export_csv, import_csv
from tests.factories import make_customer

FIELDS = (
    ("tier", "SINGLE_SELECT", ["gold", "silver"]), ("seats", "NUMBER", []),
    ("budget", "MONEY", []), ("renewal", "DATE", []), ("vip", "BOOLEAN", []),
    ("topics", "MULTI_SELECT", ["ml", "crm", "erp"]),
)
FILE = """external_ref,name,custom.tier,custom.seats,custom.budget,custom.renewal,custom.vip,\
custom.topics
E-1,Ada,gold,12,1500.5,2031-01-31,yes,ml;crm
E-2,Bob,platinum,3,,,,
E-3,Cy,,x,,,,
E-4,Di,silver,,,,false,
"""


async def _define(org_id: int) -> None:
    for key, kind, options in FIELDS:
        await definitions.create(
            org_id=org_id, object_type=definitions.ObjectType.CUSTOMER,
            data={"key": key, "label": key.title(), "field_type": kind, "options": options})


async def test_custom_fields_round_trip(tmp_path: Path, org) -> None:
    await _define(org.id)
    await make_customer(org, name="Eve", external_ref="E-5",
                        custom_fields={"tier": "gold", "free": "kept"})
    path = tmp_path / "in.csv"
    path.write_text(FILE, encoding="utf-8", newline="")
    report = await import_csv("customers", path, org.slug)
    assert (report.created, report.updated) == (2, 0)
    assert report.rejected == [
        Rejected(3, "custom.tier: must be one of gold, silver"),
        Rejected(4, "custom.seats: is not a number"),
    ]
    ada = await Customer.get(organization=org, external_ref="E-1")
    assert ada.custom_fields == {"tier": "gold", "seats": 12, "budget": "1500.50",
                                 "renewal": "2031-01-31", "vip": True, "topics": ["ml", "crm"]}
    out = io.StringIO()
    assert await export_csv("customers", org.slug, out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(",custom.tier,custom.seats,custom.budget,custom.renewal,"
                             "custom.vip,custom.topics")
    exported = {line.split(",")[0]: line for line in lines[1:]}
    assert exported["E-1"].endswith(",gold,12,1500.50,2031-01-31,true,ml;crm")
    assert exported["E-4"].endswith(",silver,,,,false,")
    # the exported file imports as it is: nothing changes
    again = tmp_path / "again.csv"
    again.write_text(out.getvalue(), encoding="utf-8", newline="")
    report = await import_csv("customers", again, org.slug)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 3, [])
    # a file with only some columns keeps the other fields (and free-form keys) as stored
    part = tmp_path / "part.csv"
    part.write_text("external_ref,name,custom.seats\nE-5,Eve,7\n", encoding="utf-8", newline="")
    await import_csv("customers", part, org.slug)
    eve = await Customer.get(organization=org, external_ref="E-5")
    assert eve.custom_fields == {"tier": "gold", "free": "kept", "seats": 7}


DEAL_FILE = """external_ref,name,amount,custom.tier,custom.seats
D-1,Alpha,100,gold,12
D-2,Beta,200,platinum,3
D-3,Gamma,300,,x
D-4,Delta,400,silver,
"""


async def test_deal_custom_fields_round_trip(tmp_path: Path, org) -> None:
    for key, kind, options in FIELDS[:2]:
        await definitions.create(
            org_id=org.id, object_type=definitions.ObjectType.DEAL,
            data={"key": key, "label": key.title(), "field_type": kind, "options": options})
    path = tmp_path / "deals.csv"
    path.write_text(DEAL_FILE, encoding="utf-8", newline="")
    report = await import_csv("deals", path, org.slug)
    assert (report.created, report.updated) == (2, 0)
    assert report.rejected == [
        Rejected(3, "custom.tier: must be one of gold, silver"),
        Rejected(4, "custom.seats: is not a number"),
    ]
    alpha = await Deal.get(organization=org, external_ref="D-1")
    assert alpha.custom_fields == {"tier": "gold", "seats": 12}
    out = io.StringIO()
    assert await export_csv("deals", org.slug, out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(",company_name,custom.tier,custom.seats")
    exported = {line.split(",")[0]: line for line in lines[1:]}
    assert exported["D-1"].endswith(",gold,12")
    assert exported["D-4"].endswith(",silver,")
    again = tmp_path / "again.csv"
    again.write_text(out.getvalue(), encoding="utf-8", newline="")
    report = await import_csv("deals", again, org.slug)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, [])
    # columns a file leaves out keep their values; an empty cell clears one
    part = tmp_path / "part.csv"
    part.write_text("external_ref,name,custom.seats\nD-1,Alpha,\n", encoding="utf-8",
                    newline="")
    report = await import_csv("deals", part, org.slug)
    assert report.updated == 1
    alpha = await Deal.get(organization=org, external_ref="D-1")
    assert alpha.custom_fields == {"tier": "gold"}


COMPANY_FILE = """domain,name,custom.tier,custom.seats,custom.ref
acme.example,Acme,gold,12,A-1
beta.example,Beta,platinum,3,B-1
gamma.example,Gamma,,x,G-1
delta.example,Delta,silver,,A-1
eps.example,Eps,silver,4,
zeta.example,Zeta,,,Z-1
"""


async def _company_fields(org_id: int) -> list[tuple[str, Any]]:
    rows = await fetch("SELECT name, custom_fields FROM company WHERE organization_id = $1"
                       " ORDER BY name", [org_id])
    return [(row["name"], row["custom_fields"]) for row in rows]


async def test_company_custom_fields_round_trip(tmp_path: Path, org) -> None:
    for key, kind, options in FIELDS[:2]:
        await definitions.create(
            org_id=org.id, object_type=definitions.ObjectType.COMPANY,
            data={"key": key, "label": key.title(), "field_type": kind, "options": options})
    await definitions.create(
        org_id=org.id, object_type=definitions.ObjectType.COMPANY,
        data={"key": "ref", "label": "Ref", "field_type": "TEXT", "required": True,
              "is_unique": True})
    path = tmp_path / "companies.csv"
    path.write_text(COMPANY_FILE, encoding="utf-8", newline="")
    report = await import_csv("companies", path, org.slug)
    assert (report.created, report.updated) == (2, 0)
    assert report.rejected == [
        Rejected(3, "custom.tier: must be one of gold, silver"),
        Rejected(4, "custom.seats: is not a number"),
        Rejected(5, "custom.ref: another record has this Ref"),
        Rejected(6, "custom.ref: Ref is required"),
    ]
    # rejected rows wrote nothing
    assert await _company_fields(org.id) == [
        ("Acme", {"tier": "gold", "seats": 12, "ref": "A-1"}), ("Zeta", {"ref": "Z-1"})]
    out = io.StringIO()
    assert await export_csv("companies", org.slug, out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(",country,custom.tier,custom.seats,custom.ref")
    exported = {line.split(",")[0]: line for line in lines[1:]}
    assert exported["acme.example"].endswith(",gold,12,A-1")
    assert exported["zeta.example"].endswith(",,,Z-1")
    again = tmp_path / "again.csv"
    again.write_text(out.getvalue(), encoding="utf-8", newline="")
    report = await import_csv("companies", again, org.slug)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, [])
    # columns a file leaves out keep their values (a company keeps its own unique value);
    # an empty cell clears one, and a required field may not be cleared
    part = tmp_path / "part.csv"
    part.write_text("domain,custom.seats,custom.tier\nacme.example,,silver\n"
                    "zeta.example,7,\n", encoding="utf-8", newline="")
    report = await import_csv("companies", part, org.slug)
    assert (report.updated, report.rejected) == (2, [])
    cleared = tmp_path / "cleared.csv"
    cleared.write_text("domain,custom.ref\nzeta.example,\nacme.example,Z-1\n",
                       encoding="utf-8", newline="")
    report = await import_csv("companies", cleared, org.slug)
    assert report.rejected == [Rejected(2, "custom.ref: Ref is required"),
                               Rejected(3, "custom.ref: another record has this Ref")]
    assert await _company_fields(org.id) == [
        ("Acme", {"tier": "silver", "ref": "A-1"}), ("Zeta", {"ref": "Z-1", "seats": 7})]
