"""Audit helpers of app/guards.py that need no database."""

from __future__ import annotations

from app.graphql import build_schema
from app.guards import field_names
from core.config import Settings


def test_field_names_of_bulk_rows_are_the_union_of_the_rows() -> None:
    schema = build_schema(Settings(env="test", secret_key="b" * 48, database_url=None))
    defs = schema._schema.mutation_type.fields["upsertCustomers"].args
    rows = [{"name": "A", "address": {"city": "X"}}, {"email": None, "address": None},
            {"tags": ["x"], "address": {"country": "DE", "street": "S"}}] * 300
    match_on = schema._schema.get_type("UpsertCustomersInput").fields["matchOn"]
    args = {"input": {"rows": rows, "matchOn": match_on.default_value}}  # a default: not named

    assert field_names(args, defs) == [
        "input.rows.address", "input.rows.address.city", "input.rows.address.country",
        "input.rows.address.street", "input.rows.email", "input.rows.name", "input.rows.tags"]
