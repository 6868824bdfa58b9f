"""Email templates of an organization: validated writes, lookups and keyset pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.email_enums import EmailRefused, Refusal
from db.email_models import EmailTemplate
from db.pagination import Sort, Source
from db.sql import Params, fetch, row_of, violated_constraint

COLUMNS = "t.id, t.organization_id, t.name, t.subject, t.text, t.html, t.created_at, t.updated_at"
SORT = Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True)
FIELDS = ("name", "subject", "text", "html")
# (part, source) -> what is wrong with the template's syntax, or None; the email service
# owns the template language, so it passes its checker in
SyntaxCheck = Callable[[str, str | None], str | None]


def source(org_id: int) -> Source:
    """The organization's templates, as a pageable source."""
    params = Params()
    return Source("email_template", COLUMNS, f"t.organization_id = {params.add(org_id)}", params)


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's templates with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM email_template t"
        " WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[])",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def get(*, org_id: int, template_id: int) -> dict[str, Any] | None:
    """One template of the organization."""
    return (await get_many(org_id=org_id, ids=[template_id])).get(template_id)


def clean(
    data: dict[str, Any], syntax_error: SyntaxCheck, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validated template fields; syntax errors are TEMPLATE_ERROR refusals."""
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if current is None or "name" in data:
        out["name"] = c.text("name", data.get("name"), 200, required=True)
    if current is None or "subject" in data:
        out["subject"] = c.text("subject", data.get("subject"), 1000, required=True)
    for part in ("text", "html"):
        if part in data:
            out[part] = c.text(part, data[part], 200_000, multiline=True)
    merged = {**(current or {}), **out}
    if not merged.get("text") and not merged.get("html"):
        c.fail("text", "a template needs a text or an HTML body")
    c.raise_if_any()
    for part in ("subject", "text", "html"):
        problem = syntax_error(part, out.get(part))
        if problem is not None:
            raise EmailRefused(Refusal.TEMPLATE_ERROR, ("input", part), problem)
    return out


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) != "email_template_name_uniq":
        raise exc
    return InputError([FieldError(
        ErrorCode.DUPLICATE, ("input", "name"), "a template with this name already exists"
    )])


async def create(
    *, org_id: int, data: dict[str, Any], syntax_error: SyntaxCheck
) -> dict[str, Any]:
    """Store a new template."""
    values = clean(data, syntax_error)
    try:
        async with in_transaction() as conn:
            template = await EmailTemplate.create(using_db=conn, organization_id=org_id, **values)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(template)


async def update(
    *, org_id: int, template_id: int, data: dict[str, Any], syntax_error: SyntaxCheck
) -> dict[str, Any] | None:
    """Change the given fields of a template; None if there is none."""
    try:
        async with in_transaction() as conn:
            template = await (
                EmailTemplate.filter(id=template_id, organization_id=org_id)
                .using_db(conn).select_for_update().first()
            )
            if template is None:
                return None
            values = clean(
                data, syntax_error, {name: getattr(template, name) for name in FIELDS}
            )
            if values:
                template.update_from_dict(values)
                await template.save(using_db=conn)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(template)
