"""Bulk upserts of deals, matched on their external reference, else on name and company.

The natural key of a deal is its ``externalRef`` (unique in the organization; a deleted deal
keeps its own). A row without one is matched on its name (case-insensitively) together with its
company (none counts as a company of its own): among live deals, exactly one must match, else a
new deal is created (none) or the row fails asking for an externalRef (several). A row names its
company by ``companyId``, ``companyDomain`` or ``companyName`` (checked in that order), its stage
by ``stageId`` or by ``stageName`` (in ``pipelineName``'s pipeline, else the deal's, else the
default one). Rows are written one by one with the single-deal writes of db/deal_write.py, each
in a savepoint, so a stage change is recorded in the deal's history as moveDeal records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, InputError
from db import deal as deals
from db import deal_write
from db.bulk import CUSTOM_FIELDS_PATCH
from db.bulk_companies import name_key
from db.company import normalise_domain
from db.sql import fetch
from db.upsert import Plan, RowResult, check_size, rebase, reject_repeated_keys, row_path

# fields a row compares with the stored deal to tell an update from no change
COMPARED = ("name", "amount", "currency", "probability", "expected_close_on", "status",
            "lost_reason", "company_id", "owner_id", "external_ref", "custom_fields")


@dataclass
class _Refs:
    """A batch's companies and stages, looked up once."""

    domains: dict[str, int]
    names: dict[str, list[int]]
    stages: dict[tuple[str, str], int]  # (pipeline name, stage name) -> stage id
    default_pipeline: str
    pipeline_of_stage: dict[int, str]


def _domain_or_none(row: dict[str, Any]) -> str | None:
    try:
        return normalise_domain(row.get("company_domain") or "")
    except ValueError:
        return None


async def _refs(conn: BaseDBAsyncClient, org_id: int, rows: Sequence[dict[str, Any]]) -> _Refs:
    domains = [d for d in map(_domain_or_none, rows) if d]
    names = [name_key(r["company_name"]) for r in rows if r.get("company_name")]
    companies = await fetch(
        "SELECT id, domain, lower(name) AS name FROM company WHERE organization_id = $1"
        " AND deleted_at IS NULL AND (domain = ANY($2::text[]) OR lower(name) = ANY($3::text[]))",
        [org_id, domains, names], conn,
    )
    stages = await fetch(
        "SELECT s.id, lower(p.name) AS pipeline, lower(s.name) AS stage, p.is_default"
        " FROM pipeline_stage s JOIN pipeline p ON p.id = s.pipeline_id"
        " WHERE s.organization_id = $1 ORDER BY s.position DESC, s.id DESC", [org_id], conn,
    )
    refs = _Refs({}, {}, {}, "", {})
    for c in companies:
        if c["domain"]:
            refs.domains[c["domain"]] = c["id"]
        refs.names.setdefault(name_key(c["name"]), []).append(c["id"])
    for s in stages:  # the first stage of a repeated name wins (listed last)
        refs.stages[(s["pipeline"], s["stage"])] = s["id"]
        refs.pipeline_of_stage[s["id"]] = s["pipeline"]
        if s["is_default"]:
            refs.default_pipeline = s["pipeline"]
    return refs


def _resolve_company(plan: Plan, row: dict[str, Any], refs: _Refs) -> None:
    """Turn companyDomain / companyName into company_id (companyId wins)."""
    domain, name = row.pop("company_domain", None), row.pop("company_name", None)
    if "company_id" in row or plan.failed:
        return
    if domain:
        try:
            found = refs.domains.get(normalise_domain(domain))
        except ValueError:
            plan.error(ErrorCode.BAD_USER_INPUT, "companyDomain",
                       "is not a valid domain such as example.com")
            return
        if found is None:
            plan.error(ErrorCode.NOT_FOUND, "companyDomain", "no company has this domain")
        row["company_id"] = found
    elif name:
        ids = refs.names.get(name_key(name), [])
        if len(ids) != 1:
            plan.error(ErrorCode.NOT_FOUND if not ids else ErrorCode.DUPLICATE, "companyName",
                       "no company has this name" if not ids
                       else f"{len(ids)} companies have this name; give companyDomain")
        row["company_id"] = ids[0] if len(ids) == 1 else None
    elif domain == "" or name == "":
        row["company_id"] = None  # an empty cell: no company


def deal_key(row: dict[str, Any]) -> str | None:
    """A CSV row's key before companies are looked up: its reference, else its name with the
    company as the row names it."""
    ref = row.get("external_ref")
    if isinstance(ref, str) and ref.strip():
        return f"ref:{ref.strip()}"
    name = row.get("name")
    if not (isinstance(name, str) and name.strip()):
        return None
    company = row.get("company_domain") or name_key(row.get("company_name") or "")
    return f"name:{company}:{name_key(name)}"


def _key(plan: Plan, row: dict[str, Any]) -> None:
    ref = row.get("external_ref")
    if isinstance(ref, str) and ref.strip():
        plan.key, plan.key_path = f"ref:{ref.strip()}", "externalRef"
    elif isinstance(row.get("name"), str) and row["name"].strip():
        plan.key = f"name:{row.get('company_id') or 0}:{name_key(row['name'])}"
        plan.key_path = "name"
    elif not plan.failed:
        plan.error(ErrorCode.BAD_USER_INPUT, "externalRef",
                   "an externalRef or a name is needed to match the row")


async def _stored(
    conn: BaseDBAsyncClient, org_id: int, plans: list[Plan]
) -> dict[str, list[dict[str, Any]]]:
    """Deals holding the keys: any deal with the reference, live deals with name and company."""
    refs = [p.key[4:] for p in plans if p.key and p.key.startswith("ref:")]
    names = [p.key.split(":", 2)[2] for p in plans if p.key and p.key.startswith("name:")]
    rows = await fetch(
        f"SELECT {deals.COLUMNS} FROM {deals.TABLE} t WHERE t.organization_id = $1"
        " AND (t.external_ref = ANY($2::text[])"
        " OR (t.deleted_at IS NULL AND lower(t.name) = ANY($3::text[]))) ORDER BY t.id",
        [org_id, refs, names], conn,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["external_ref"] in refs:
            found.setdefault(f"ref:{row['external_ref']}", []).append(row)
        if row["deleted_at"] is None:
            key = f"name:{row['company_id'] or 0}:{name_key(row['name'])}"
            found.setdefault(key, []).append(row)
    return found


def _stage(plan: Plan, row: dict[str, Any], refs: _Refs, existing: dict[str, Any] | None) -> None:
    """Turn pipelineName / stageName into stage_id (stageId wins)."""
    pipeline, stage = row.pop("pipeline_name", None), row.pop("stage_name", None)
    if "stage_id" in row or not (pipeline or stage):
        return
    if not stage:
        plan.error(ErrorCode.BAD_USER_INPUT, "stageName", "name the stage in the pipeline")
        return
    chosen = (pipeline or (refs.pipeline_of_stage.get(existing["stage_id"], "") if existing
                           else refs.default_pipeline)).lower()
    found = refs.stages.get((chosen, stage.strip().lower()))
    if found is None:
        plan.error(ErrorCode.NOT_FOUND, "stageName", f"no stage of this name in {chosen!r}")
        return
    row["stage_id"] = found


async def upsert_deals(
    *, org_id: int, user_id: int | None, rows: Sequence[dict[str, Any]]
) -> list[RowResult]:
    """Create or update deals matched on externalRef, else name and company."""
    check_size(rows)
    data = [dict(row) for row in rows]
    plans = [Plan(i) for i in range(len(data))]
    async with in_transaction() as conn:
        refs = await _refs(conn, org_id, data)
        for plan, row in zip(plans, data, strict=True):
            _resolve_company(plan, row, refs)
            _key(plan, row)
        reject_repeated_keys(plans)
        stored = await _stored(conn, org_id, plans)
        for plan, row in zip(plans, data, strict=True):
            if not plan.failed:
                await _write(org_id, user_id, plan, row, refs, stored.get(plan.key or "", []))
    return [p.result for p in plans]


async def _write(
    org_id: int, user_id: int | None, plan: Plan, row: dict[str, Any], refs: _Refs,
    matches: list[dict[str, Any]],
) -> None:
    if len(matches) > 1:
        plan.error(ErrorCode.DUPLICATE, "name", f"{len(matches)} deals of this company have"
                   " this name; give an externalRef to choose one")
        return
    existing = matches[0] if matches else None
    if existing is not None and existing["deleted_at"] is not None:
        plan.error(ErrorCode.DUPLICATE, "externalRef", "belongs to a deleted deal")
        return
    _stage(plan, row, refs, existing)
    if plan.failed:
        return
    try:
        async with in_transaction():
            plan.result = await _store(org_id, user_id, plan.index, row, existing)
    except InputError as exc:
        plan.fail(rebase(plan.index, exc.errors))
    except IntegrityError as exc:
        plan.fail([deal_write.conflict(exc, row_path(plan.index))])


async def _store(
    org_id: int, user_id: int | None, index: int, row: dict[str, Any],
    existing: dict[str, Any] | None,
) -> RowResult:
    patch = row.pop(CUSTOM_FIELDS_PATCH, None)
    if patch is not None:  # CSV columns: merged into the stored values, None clears a key
        merged = dict((existing or {}).get("custom_fields") or {}) | patch
        row["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    if existing is None:
        created = await deal_write.create(org_id=org_id, user_id=user_id, data=row)
        return RowResult(index, "created", created)
    stage_id = row.pop("stage_id", None)
    row.pop("pipeline_id", None)  # a deal changes pipeline by moving to one of its stages
    changed = {k: v for k, v in row.items() if k not in COMPARED or existing.get(k) != v}
    after: dict[str, Any] | None = existing
    if changed:
        after = await deal_write.update(org_id=org_id, deal_id=existing["id"], data=changed)
    if stage_id is not None and stage_id != existing["stage_id"]:
        after = await deal_write.move(org_id=org_id, deal_id=existing["id"], stage_id=stage_id,
                                      user_id=user_id)
    assert after is not None
    if after is existing:
        return RowResult(index, "unchanged", existing)
    return RowResult(index, "updated" if _differs(existing, after) else "unchanged", after)


def _differs(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(k) != after.get(k) for k in (*COMPARED, "stage_id", "pipeline_id"))
