"""Builds a minimal valid GraphQL document for any root field, straight from the schema."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
)

from app.graphql import build_schema
from core.config import Settings

ROOTS = ("Query", "Mutation", "Subscription")
SCALAR_VALUES: dict[str, Any] = {
    "ID": "Q3VzdG9tZXI6OTk5OTk5OTk5", "String": "x", "Int": 1, "Float": 1.0, "Boolean": False,
    "DateTime": "2031-01-01T00:00:00+00:00", "Date": "2031-01-01", "Decimal": "1",
    "JSON": {},
}


def graphql_schema() -> GraphQLSchema:
    """The project's schema, as graphql-core sees it."""
    return build_schema(Settings(env="test", secret_key="s" * 48))._schema


def root_fields(schema: GraphQLSchema) -> dict[str, tuple[str, GraphQLField]]:
    """Every root field as ``Type.field`` -> (operation keyword, field)."""
    found: dict[str, tuple[str, GraphQLField]] = {}
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            for name, field in root.fields.items():
                found[f"{root.name}.{name}"] = (root.name.lower(), field)
    return found


def sample(type_: GraphQLInputType, ids: dict[str, str] | None = None, name: str = "") -> Any:
    """A value valid for ``type_`` (required input fields filled, optional ones left out)."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, ids, name)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, ids, name)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            field_name: sample(field.type, ids, field_name)
            for field_name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID" and ids and name in ids:
        return ids[name]
    return SCALAR_VALUES[type_.name]


def selection(field: GraphQLField) -> str:
    """The smallest selection the field's type allows."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType) and "errors" in named.fields:
        return " { __typename errors { code } }"  # a mutation payload
    return " { __typename }" if isinstance(named, GraphQLObjectType) or hasattr(
        named, "resolve_type"
    ) else ""


def document(path: str, field: GraphQLField, ids: dict[str, str] | None = None) -> tuple[
    str, dict[str, Any]
]:
    """A document calling root field ``path`` with required arguments as variables."""
    operation = path.split(".")[0].lower()
    name = path.split(".")[1]
    required = {arg_name: arg for arg_name, arg in field.args.items()
                if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined}
    variables = {arg_name: sample(arg.type, ids, arg_name) for arg_name, arg in required.items()}
    if not required:
        return f"{operation} {{ {name}{selection(field)} }}", {}
    declared = ", ".join(f"${n}: {arg.type}" for n, arg in required.items())
    passed = ", ".join(f"{n}: ${n}" for n in required)
    return f"{operation}({declared}) {{ {name}({passed}){selection(field)} }}", variables
