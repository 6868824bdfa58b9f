"""Custom prediction definitions: an ADMIN's yes/no outcome and horizon, and how training went.

Changing a definition's outcome or horizon retires its models and scores (they answered
another question); the next training run learns the new one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import prediction_outcome as outcomes
from db.sql import fetch, fetch_one, violated_constraint

COLUMNS = (
    "id, organization_id, name, description, outcome, horizon_days, status, message,"
    " trained_at, created_by_id, created_at, updated_at"
)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MIN_HORIZON, MAX_HORIZON = 7, 730
MAX_DEFINITIONS = 20
NOT_TRAINED = ("NOT_TRAINED", "not trained yet: run trainModels")


def _error(path: Sequence[str], message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT
           ) -> InputError:
    return InputError([FieldError(code, tuple(path), message)])


def clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Checked values of the given fields (InputError with ``input.<field>`` paths)."""
    out: dict[str, Any] = {}
    if creating or data.get("name") is not None:
        name = data.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise _error(["input", "name"], "name must be 1 to 60 lower-case letters, digits"
                         " or underscores, starting with a letter (e.g. refund_risk)")
        out["name"] = name
    if data.get("description") is not None:
        if len(data["description"]) > 500:
            raise _error(["input", "description"], "description must be at most 500 characters")
        out["description"] = data["description"]
    if creating or data.get("outcome") is not None:
        out["outcome"] = outcomes.clean(data.get("outcome") or {}, ["input", "outcome"])
    if creating or data.get("horizon_days") is not None:
        horizon = data.get("horizon_days")
        if not isinstance(horizon, int) or not MIN_HORIZON <= horizon <= MAX_HORIZON:
            raise _error(["input", "horizonDays"],
                         f"horizonDays must be between {MIN_HORIZON} and {MAX_HORIZON}")
        out["horizon_days"] = horizon
    return out


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) == "prediction_definition_name_uniq":
        return _error(["input", "name"], "a prediction with this name already exists",
                      ErrorCode.DUPLICATE)
    raise exc


async def create(*, org_id: int, user_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """A new definition (not trained until the next training run)."""
    values = clean(data, creating=True)
    try:
        async with in_transaction() as conn:
            count = await fetch_one(
                "SELECT count(*) AS n FROM prediction_definition WHERE organization_id = $1",
                [org_id], conn,
            )
            if count and count["n"] >= MAX_DEFINITIONS:
                raise _error(["input"], f"an organization has at most {MAX_DEFINITIONS}"
                             " custom predictions")
            row = await fetch_one(
                "INSERT INTO prediction_definition (organization_id, name, description, outcome,"
                " horizon_days, created_by_id) VALUES ($1, $2, $3, $4::jsonb, $5, $6)"
                f" RETURNING {COLUMNS}",
                [org_id, values["name"], values.get("description", ""),
                 orjson.dumps(values["outcome"]).decode(), values["horizon_days"], user_id],
                conn,
            )
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    assert row is not None
    return row


async def update(*, org_id: int, definition_id: int, data: dict[str, Any]
                 ) -> dict[str, Any] | None:
    """Change the given fields; None if the organization has no such definition."""
    values = clean(data, creating=False)
    try:
        async with in_transaction() as conn:
            old = await fetch_one(
                f"SELECT {COLUMNS} FROM prediction_definition WHERE id = $1"
                " AND organization_id = $2 FOR UPDATE", [definition_id, org_id], conn,
            )
            if old is None:
                return None
            new = {**old, **values}
            retrain = (new["outcome"], new["horizon_days"]) != (old["outcome"],
                                                                 old["horizon_days"])
            if retrain:
                await fetch("UPDATE prediction_model SET active = false WHERE definition_id = $1",
                            [definition_id], conn)
                await fetch("DELETE FROM customer_score WHERE definition_id = $1",
                            [definition_id], conn)
            status, message = NOT_TRAINED if retrain else (old["status"], old["message"])
            row = await fetch_one(
                "UPDATE prediction_definition SET name = $2, description = $3,"
                " outcome = $4::jsonb, horizon_days = $5, status = $6, message = $7,"
                f" updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
                [definition_id, new["name"], new["description"],
                 orjson.dumps(new["outcome"]).decode(), new["horizon_days"], status, message],
                conn,
            )
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row


async def delete(*, org_id: int, definition_id: int) -> bool:
    """Remove a definition with its models and scores; False if there is none."""
    rows = await fetch(
        "DELETE FROM prediction_definition WHERE id = $1 AND organization_id = $2 RETURNING id",
        [definition_id, org_id],
    )
    return bool(rows)


async def list_(*, org_id: int) -> list[dict[str, Any]]:
    """The organization's definitions, by name."""
    return await fetch(
        f"SELECT {COLUMNS} FROM prediction_definition WHERE organization_id = $1 ORDER BY name",
        [org_id],
    )


async def get(*, org_id: int, definition_id: int) -> dict[str, Any] | None:
    """One definition of the organization."""
    return await fetch_one(
        f"SELECT {COLUMNS} FROM prediction_definition WHERE id = $1 AND organization_id = $2",
        [definition_id, org_id],
    )


async def record_training(*, definition_id: int, status: str, message: str,
                          using: Any = None) -> None:
    """What the latest training run made of the definition."""
    await fetch(
        "UPDATE prediction_definition SET status = $2, message = $3, trained_at = now()"
        " WHERE id = $1", [definition_id, status, message], using,
    )
