"""Customer merge: one plan shown by the preview and applied, atomically, by the merge.

Policy: the primary's non-empty values win; its empty fields are filled from the duplicates,
the most recently updated first (the address as a whole, never mixed from several records);
``overrides`` pick a field's value from a named customer. Stage: the most advanced (CUSTOMER >
CHURNED > PROSPECT > LEAD). Tags are unioned, custom fields merged (primary's keys win, then the
most recently updated duplicate's). Opted out if any is: consent is never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db.customer import COLUMNS
from db.sql import fetch, fetch_one

MAX_DUPLICATES = 10
# fields the primary keeps unless empty; "address" is street, city, region, postal code, country
FILLED = ("kind", "name", "email", "phone", "company", "external_ref", "owner_id", "address")
ADDRESS = ("street", "city", "region", "postal_code", "country")
OVERRIDABLE = (*FILLED, "stage")
STAGE_RANK = {"LEAD": 0, "PROSPECT": 1, "CHURNED": 2, "CUSTOMER": 3}
# released by the absorbed customer in the absorbing statement when the primary takes it over
UNIQUE = ("email", "external_ref")
# a campaign emails a customer at most once: the primary keeps its own (or one absorbed) message
EMAIL_MOVABLE = (
    "(e.campaign_id IS NULL OR (NOT EXISTS (SELECT 1 FROM email_message m"
    " WHERE m.campaign_id = e.campaign_id AND m.customer_id = $2)"
    " AND e.id = (SELECT min(m.id) FROM email_message m"
    " WHERE m.campaign_id = e.campaign_id AND m.customer_id = ANY($1::bigint[]))))"
)
MOVES = f"""
SELECT (SELECT count(*) FROM interaction WHERE customer_id = ANY($1::bigint[])) AS interactions,
 (SELECT count(*) FROM customer_order WHERE customer_id = ANY($1::bigint[])) AS orders,
 (SELECT count(*) FROM email_message e WHERE e.customer_id = ANY($1::bigint[])
    AND {EMAIL_MOVABLE}) AS email_messages,
 (SELECT count(*) FROM email_message e WHERE e.customer_id = ANY($1::bigint[])
    AND NOT {EMAIL_MOVABLE}) AS email_messages_kept,
 (SELECT count(*) FROM email_suppression WHERE customer_id = ANY($1::bigint[]))
    AS email_suppressions,
 (SELECT count(*) FROM prediction WHERE customer_id = ANY($1::bigint[])) AS predictions_dropped
 WHERE $2::bigint IS NOT NULL
"""
REPOINT = (
    "UPDATE interaction SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    "UPDATE customer_order SET customer_id = $2, updated_at = now()"
    " WHERE customer_id = ANY($1::bigint[])",
    f"UPDATE email_message e SET customer_id = $2, updated_at = now()"
    f" WHERE e.customer_id = ANY($1::bigint[]) AND {EMAIL_MOVABLE}",
    "UPDATE email_suppression SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    # the primary is scored again; absorbed customers are not scored at all
    "DELETE FROM prediction WHERE customer_id = ANY($1::bigint[]) AND $2::bigint IS NOT NULL",
    # so are their recommendation lists (the primary's is recomputed at the next training)
    "DELETE FROM recommendation_list WHERE customer_id = ANY($1::bigint[])"
    " AND $2::bigint IS NOT NULL",
    # and their custom prediction scores
    "DELETE FROM customer_score WHERE customer_id = ANY($1::bigint[]) AND $2::bigint IS NOT NULL",
    # their tag, stage and custom field history is the primary's now (custom predictions learn
    # from it)
    "UPDATE customer_change SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    # jobs come along as history; the primary's own primary company stays the primary one
    "UPDATE company_membership SET customer_id = $2, is_primary = false, updated_at = now()"
    " WHERE customer_id = ANY($1::bigint[])",
    "UPDATE task SET customer_id = $2, updated_at = now() WHERE customer_id = ANY($1::bigint[])",
    # a deal names a person once: links the primary (or an earlier absorbed) already has go
    "DELETE FROM deal_person d WHERE d.customer_id = ANY($1::bigint[]) AND EXISTS ("
    " SELECT 1 FROM deal_person x WHERE x.deal_id = d.deal_id AND (x.customer_id = $2"
    " OR (x.customer_id = ANY($1::bigint[]) AND x.id < d.id)))",
    "UPDATE deal_person SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    # messages, handles come along; an opt-out of any absorbed customer binds the primary
    "UPDATE channel_message SET customer_id = $2, updated_at = now()"
    " WHERE customer_id = ANY($1::bigint[])",
    "UPDATE customer_handle SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    "UPDATE channel_consent p SET opted_out = true, source = d.source, updated_at = now()"
    " FROM channel_consent d WHERE p.customer_id = $2 AND d.customer_id = ANY($1::bigint[])"
    " AND d.channel = p.channel AND d.opted_out AND NOT p.opted_out",
    "DELETE FROM channel_consent d WHERE d.customer_id = ANY($1::bigint[]) AND EXISTS ("
    " SELECT 1 FROM channel_consent x WHERE x.channel = d.channel AND (x.customer_id = $2"
    " OR (x.customer_id = ANY($1::bigint[]) AND (x.opted_out, x.id) > (d.opted_out, d.id))))",
    "UPDATE channel_consent SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
    # what a user read of an absorbed customer: the primary's own read mark stays
    "DELETE FROM conversation_read d WHERE d.customer_id = ANY($1::bigint[]) AND EXISTS ("
    " SELECT 1 FROM conversation_read x WHERE x.user_id = d.user_id AND (x.customer_id = $2"
    " OR (x.customer_id = ANY($1::bigint[]) AND x.id < d.id)))",
    "UPDATE conversation_read SET customer_id = $2 WHERE customer_id = ANY($1::bigint[])",
)
ABSORB = (
    "UPDATE customer SET merged_into_id = $2, deleted_at = now(), updated_at = now(),"
    " email = CASE WHEN id = $3 THEN NULL ELSE email END,"
    " external_ref = CASE WHEN id = $4 THEN NULL ELSE external_ref END"
    " WHERE id = ANY($1::bigint[])"
)
# how an error names a customer (the API passes its global ids)
NameOf = Callable[[int], str]
WRITTEN = (*FILLED[:-1], *ADDRESS, "stage", "tags", "custom_fields", "email_opt_out")


@dataclass(frozen=True)
class Conflict:
    """A field whose customers disagree: each one's value, whose value wins and by which rule."""

    field: str
    values: list[tuple[int, Any]]
    chosen_id: int
    rule: str


@dataclass
class Plan:
    """What a merge of ``duplicates`` into ``primary`` writes and moves."""

    primary: dict[str, Any]
    duplicates: list[dict[str, Any]]
    merged: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)
    released: dict[str, int | None] = field(default_factory=dict)

    @property
    def duplicate_ids(self) -> list[int]:
        return sorted(row["id"] for row in self.duplicates)


def _empty(value: Any) -> bool:
    if isinstance(value, dict):  # an address: empty when every part is
        return all(_empty(part) for part in value.values())
    return value is None or (isinstance(value, str) and not value.strip())


def value_of(row: dict[str, Any], name: str) -> Any:
    """A field's value in ``row``; the address as one dict."""
    return {k: row[k] for k in ADDRESS} if name == "address" else row[name]


def _fill(plan: Plan, name: str, overrides: dict[str, int]) -> None:
    everyone = [plan.primary, *plan.duplicates]
    if name in overrides:
        source, rule = next(r for r in everyone if r["id"] == overrides[name]), "OVERRIDE"
    else:
        source = next((r for r in everyone if not _empty(value_of(r, name))), plan.primary)
        rule = "PRIMARY" if source is plan.primary else "FILLED_FROM_DUPLICATE"
    chosen = value_of(source, name)
    plan.merged.update(chosen if name == "address" else {name: chosen})
    for unique in UNIQUE:
        if name == unique and source is not plan.primary and chosen is not None:
            plan.released[unique] = source["id"]
    _conflict(plan, name, source["id"], rule)


def _conflict(plan: Plan, name: str, chosen_id: int, rule: str) -> None:
    values = [(r["id"], value_of(r, name)) for r in (plan.primary, *plan.duplicates)]
    distinct = {orjson.dumps(v, option=orjson.OPT_SORT_KEYS) for _, v in values if not _empty(v)}
    if len(distinct) > 1 or rule == "OVERRIDE":
        plan.conflicts.append(Conflict(name, values, chosen_id, rule))


def _stage(plan: Plan, overrides: dict[str, int]) -> None:
    if "stage" in overrides:
        _fill(plan, "stage", overrides)
        return
    best = max((plan.primary, *plan.duplicates), key=lambda r: STAGE_RANK[str(r["stage"])])
    plan.merged["stage"] = best["stage"]
    _conflict(plan, "stage", best["id"], "MOST_ADVANCED")


def _collections(plan: Plan) -> None:
    everyone = [plan.primary, *plan.duplicates]
    tags: dict[str, str] = {}
    for row in everyone:
        for tag in row["tags"] or ():
            tags.setdefault(tag.casefold(), tag)
    plan.merged["tags"] = list(tags.values())
    custom: dict[str, Any] = {}
    for row in reversed(everyone):
        custom.update(row["custom_fields"] or {})
    plan.merged["custom_fields"] = custom
    if any(k in r["custom_fields"] and r["custom_fields"][k] != v
           for r in everyone for k, v in custom.items()):
        plan.conflicts.append(Conflict(
            "custom_fields", [(r["id"], r["custom_fields"]) for r in everyone],
            plan.primary["id"], "PRIMARY_KEYS_WIN"))
    opted_out = next((r for r in everyone if r["email_opt_out"]), None)
    plan.merged["email_opt_out"] = opted_out is not None
    _conflict(plan, "email_opt_out", (opted_out or plan.primary)["id"], "CONSENT_KEPT")


def _invalid(path: tuple[str, ...], message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT
             ) -> InputError:
    return InputError([FieldError(code, path, message)])


def check_ids(primary_id: int, duplicate_ids: Sequence[int], prefix: tuple[str, ...]) -> None:
    """Refuse an empty, too long or repeating list of duplicates before touching anything."""
    path = (*prefix, "duplicateIds")
    if not duplicate_ids:
        raise _invalid(path, "name at least one duplicate")
    if len(duplicate_ids) > MAX_DUPLICATES:
        raise _invalid(path, f"at most {MAX_DUPLICATES} duplicates per merge")
    seen: set[int] = set()
    for index, pk in enumerate(duplicate_ids):
        if pk == primary_id:
            raise _invalid((*path, str(index)), "the primary cannot be one of its duplicates")
        if pk in seen:
            raise _invalid((*path, str(index)), "this duplicate is named twice")
        seen.add(pk)


async def _rows(
    org_id: int, ids: list[int], conn: BaseDBAsyncClient | None, lock: bool
) -> dict[int, dict[str, Any]]:
    # locked in id order, so merges of overlapping sets queue instead of deadlocking
    rows = await fetch(
        f"SELECT {COLUMNS}, t.merged_into_id FROM customer t"
        " WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[])"
        f" ORDER BY t.id{' FOR UPDATE' if lock else ''}",
        [org_id, ids], conn,
    )
    return {row["id"]: row for row in rows}


def _live(
    rows: dict[int, dict[str, Any]], pk: int, path: tuple[str, ...], name_of: NameOf
) -> dict[str, Any]:
    row = rows.get(pk)
    if row is not None and row["merged_into_id"] is not None and row["deleted_at"] is not None:
        into = name_of(row["merged_into_id"])
        raise _invalid(path, f"customer was already merged into {into}", ErrorCode.NOT_FOUND)
    if row is None or row["deleted_at"] is not None:
        raise _invalid(path, "customer not found", ErrorCode.NOT_FOUND)
    return row


async def plan(
    *, org_id: int, primary_id: int, duplicate_ids: Sequence[int], overrides: dict[str, int],
    prefix: tuple[str, ...] = (), using: BaseDBAsyncClient | None = None, lock: bool = False,
    name_of: NameOf = str,
) -> Plan:
    """The merge as it would happen now; user mistakes raise InputError."""
    check_ids(primary_id, duplicate_ids, prefix)
    rows = await _rows(org_id, [primary_id, *duplicate_ids], using, lock)
    primary = _live(rows, primary_id, (*prefix, "primaryId"), name_of)
    duplicates = [_live(rows, pk, (*prefix, "duplicateIds", str(i)), name_of)
                  for i, pk in enumerate(duplicate_ids)]
    duplicates.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
    involved = {primary_id, *duplicate_ids}
    for index, source in enumerate(overrides.values()):
        if source not in involved:
            raise _invalid((*prefix, "overrides", str(index), "fromId"),
                           "must be the primary or one of the duplicates")
    result = Plan(primary=primary, duplicates=duplicates, merged=dict(primary))
    for name in FILLED:
        _fill(result, name, overrides)
    _stage(result, overrides)
    _collections(result)
    moves = await fetch_one(MOVES, [result.duplicate_ids, primary_id], using)
    result.moves = {k: int(v) for k, v in (moves or {}).items()}
    return result


async def merge(
    *, org_id: int, primary_id: int, duplicate_ids: Sequence[int], overrides: dict[str, int],
    prefix: tuple[str, ...] = ("input",), name_of: NameOf = str,
) -> tuple[Plan, dict[str, Any]]:
    """Apply the plan in the caller's transaction; the plan and the primary's new row."""
    async with in_transaction() as conn:
        planned = await plan(org_id=org_id, primary_id=primary_id, duplicate_ids=duplicate_ids,
                             overrides=overrides, prefix=prefix, using=conn, lock=True,
                             name_of=name_of)
        ids = planned.duplicate_ids
        # one statement: the webhook trigger makes it one customer.merged event
        await fetch(ABSORB, [ids, primary_id, planned.released.get("email"),
                             planned.released.get("external_ref")], conn)
        for statement in REPOINT:
            await fetch(statement, [ids, primary_id], conn)
        values = [planned.merged[name] for name in WRITTEN]
        values[WRITTEN.index("custom_fields")] = orjson.dumps(planned.merged["custom_fields"]
                                                              ).decode()
        assignments = ", ".join(
            f"{name} = ${i}" + ("::text::jsonb" if name == "custom_fields" else "")
            for i, name in enumerate(WRITTEN, start=2)
        )
        row = await fetch_one(
            f"UPDATE customer t SET {assignments}, updated_at = now() WHERE t.id = $1"
            f" RETURNING {COLUMNS}", [primary_id, *values], conn,
        )
    assert row is not None
    return planned, row


async def merged_into(*, org_id: int, ids: Sequence[int]) -> dict[int, int]:
    """The live customer now holding each customer's history: itself if live, else the one a
    merge absorbed it into (chains followed); customers with no live holder are left out."""
    rows = await fetch(
        "WITH RECURSIVE chain(origin, id, merged_into_id, deleted_at, depth) AS ("
        " SELECT id, id, merged_into_id, deleted_at, 0 FROM customer"
        " WHERE organization_id = $1 AND id = ANY($2::bigint[])"
        " UNION ALL SELECT chain.origin, c.id, c.merged_into_id, c.deleted_at, chain.depth + 1"
        " FROM chain JOIN customer c ON c.id = chain.merged_into_id"
        " WHERE chain.deleted_at IS NOT NULL AND chain.depth < 50)"
        " SELECT DISTINCT ON (origin) origin, id FROM chain WHERE deleted_at IS NULL"
        " ORDER BY origin, depth",
        [org_id, list(ids)],
    )
    return {row["origin"]: row["id"] for row in rows}
