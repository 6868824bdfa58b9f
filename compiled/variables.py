"""Variables of leaf types (ID, String, Int, enums, ...) coerced without the general machinery.

graphql-core's ``get_variable_values`` looks each variable's type up in the schema, checks
nesting depth and walks ``coerce_input_value`` on every request. For an operation whose
variables are all leaves without defaults, the signatures are worked out once per plan and a
request costs one ``coerce_input_value`` of each leaf type, which is the call graphql-core
ends in too. Anything unusual (a missing or null required value, a value the type refuses)
returns None, and graphql-core coerces the request and words the error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLLeafType, GraphQLNonNull, GraphQLSchema, is_leaf_type
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.language import VariableDefinitionNode
from graphql.pyutils import Undefined


@dataclass(frozen=True)
class Leaf:
    """One variable of a leaf type, as graphql-core would see it."""

    name: str
    signature: GraphQLVariableSignature
    type_: GraphQLLeafType
    non_null: bool


def leaves(
    schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode]
) -> tuple[Leaf, ...] | None:
    """The operation's variables when every one is a leaf without a default, else None."""
    found = []
    for definition in definitions:
        if definition.default_value is not None:
            return None
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError):
            return None
        type_ = signature.type
        non_null = isinstance(type_, GraphQLNonNull)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if not is_leaf_type(inner):
            return None
        found.append(Leaf(signature.name, signature, inner, non_null))
    return tuple(found)


def coerce(found: tuple[Leaf, ...], inputs: Mapping[str, Any]) -> VariableValues | None:
    """What ``get_variable_values`` returns for valid ``inputs``; None when it may differ."""
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for leaf in found:
        name = leaf.name
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if leaf.non_null:
                return None
            sources[name] = VariableValueSource(leaf.signature)
            continue  # a nullable variable not given is omitted
        sources[name] = VariableValueSource(leaf.signature, value)
        if value is None:
            if leaf.non_null:
                return None
            coerced[name] = None
            continue
        try:
            parsed = leaf.type_.coerce_input_value(value)
        except Exception:
            return None
        if parsed is Undefined:
            return None
        coerced[name] = parsed
    return VariableValues(sources, coerced)
