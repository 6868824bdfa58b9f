"""Bulk upserts of companies, matched on their normalised domain, else on their name.

A row with a domain is matched on it (``https://www.Acme.example/x`` and ``acme.example`` are
the same company); a row without one on its name, case-insensitively, among live companies: a
name several live companies share cannot match, and the row fails asking for a domain. Rows are
written in bulk with db/upsert.py's machinery (see db/bulk.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, InputError
from db import company as companies
from db import custom_field as custom_fields
from db.bulk import CUSTOM_FIELDS_PATCH
from db.sql import fetch
from db.upsert import (
    Plan,
    RowResult,
    Table,
    check_size,
    claim_unique_values,
    differing,
    rebase,
    reject_repeated_keys,
    settle,
    write,
)

WRITABLE = ("name", "domain", "industry", "size", "street", "city", "region", "postal_code",
            "country", "custom_fields", "owner_id")
COMPANIES = Table(
    name="company", columns=companies.COLUMNS, writable=WRITABLE,
    defaults=dict.fromkeys(WRITABLE) | {"custom_fields": {}},
    unique={"company_domain_uniq": ("domain", "a company with this domain already exists")},
)


def name_key(name: str) -> str:
    """A company name as rows are matched on it: trimmed, lower case, single spaces."""
    return " ".join(name.lower().split())


def company_key(row: dict[str, Any]) -> str | None:
    """``domain:acme.example`` or ``name:acme ltd``; None if the row has neither (or its
    domain is no domain)."""
    domain = row.get("domain")
    if isinstance(domain, str) and domain.strip():
        try:
            return f"domain:{companies.normalise_domain(domain)}"
        except ValueError:
            return None
    name = row.get("name")
    return f"name:{name_key(name)}" if isinstance(name, str) and name.strip() else None


def _plan(index: int, row: dict[str, Any]) -> Plan:
    plan = Plan(index, key=company_key(row))
    domain = row.get("domain")
    plan.key_path = "domain" if isinstance(domain, str) and domain.strip() else "name"
    if plan.key is None and plan.key_path == "domain":
        plan.error(ErrorCode.BAD_USER_INPUT, "domain", "is not a valid domain such as example.com")
    elif plan.key is None:
        plan.error(ErrorCode.BAD_USER_INPUT, "name",
                   "a domain or a name is needed to match the row")
    return plan


async def upsert_companies(*, org_id: int, rows: Sequence[dict[str, Any]]) -> list[RowResult]:
    """Create or update companies matched on domain, else name; each row succeeds or fails
    on its own, in one transaction."""
    check_size(rows)
    plans = [_plan(i, row) for i, row in enumerate(rows)]
    reject_repeated_keys(plans)
    async with in_transaction() as conn:
        stored = await _stored(conn, org_id, [p.key for p in plans if p.key and not p.failed])
        for plan, row in zip(plans, rows, strict=True):
            if not plan.failed:
                await _clean(org_id, plan, row, stored.get(plan.key or "", []))
        await claim_unique_values(conn, org_id, custom_fields.ObjectType.COMPANY, plans)
        await write(conn, COMPANIES, org_id, plans)
    return [p.result for p in plans]


async def _clean(
    org_id: int, plan: Plan, row: dict[str, Any], matches: list[dict[str, Any]]
) -> None:
    if len(matches) > 1:
        plan.error(ErrorCode.DUPLICATE, "name",
                   f"{len(matches)} companies have this name; give the domain to choose one")
        return
    plan.existing = matches[0] if matches else None
    patch = row.get(CUSTOM_FIELDS_PATCH)
    row = {k: v for k, v in row.items() if k != CUSTOM_FIELDS_PATCH}
    if patch is not None:  # some fields' values from a file: the others stay as stored
        merged = dict((plan.existing or {}).get("custom_fields") or {}) | patch
        row["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    try:
        data = differing(row, plan.existing)
        plan.values = await companies.clean(
            org_id, data, creating=plan.existing is None, prefix=("input",),
            company_id=plan.existing["id"] if plan.existing else None,
        )
    except InputError as exc:
        plan.fail(rebase(plan.index, exc.errors))
        return
    settle(plan)


async def _stored(
    conn: BaseDBAsyncClient, org_id: int, keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The live companies holding these keys, locked; a name may have several."""
    domains = [k.split(":", 1)[1] for k in keys if k.startswith("domain:")]
    names = [k.split(":", 1)[1] for k in keys if k.startswith("name:")]
    rows = await fetch(
        f"SELECT {companies.COLUMNS} FROM company t WHERE t.organization_id = $1"
        " AND t.deleted_at IS NULL AND (t.domain = ANY($2::text[])"
        " OR lower(t.name) = ANY($3::text[])) ORDER BY t.id FOR UPDATE",
        [org_id, domains, names], conn,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    wanted_names = set(names)
    for row in rows:
        if row["domain"] in domains:
            found.setdefault(f"domain:{row['domain']}", []).append(row)
        if name_key(row["name"]) in wanted_names:
            found.setdefault(f"name:{name_key(row['name'])}", []).append(row)
    return found
