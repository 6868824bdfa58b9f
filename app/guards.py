"""Guards installed on the built schema in one place: audit per mutation, scopes, PII masking.

Every mutation runs in one transaction that also appends its audit event, so a change and
its audit row commit together or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from functools import partial
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
)
from tortoise.transactions import in_transaction

from auth import scopes
from auth.pii import MASKS, Mask, masking
from core.errors import AppError, ErrorCode
from db import audit
from schema.node import Node, parse_global_id

Resolver = Callable[..., Any]
# Mutations that hand what they wrote to another process at once (trainModels starts a worker
# on the new run, which must already see it committed): their audit event is written right
# after their own commit instead of inside one shared transaction.
OWN_TRANSACTION = frozenset({"trainModels"})


def install(schema: strawberry.Schema) -> None:
    """Wrap the resolvers of ``schema`` that need guarding (idempotent per built schema)."""
    graphql_schema: GraphQLSchema = schema._schema
    if getattr(graphql_schema, "_crm_guarded", False):
        return
    mutation = graphql_schema.mutation_type
    for name, field in (mutation.fields.items() if mutation else ()):
        field.resolve = _audited(field.resolve, name)
    for (type_name, field_name), mask in MASKS.items():
        _wrap(graphql_schema, type_name, field_name, partial(_masked, mask=mask))
    for path, scope in scopes.NESTED_SCOPES.items():
        type_name, field_name = path.split(".")
        _wrap(graphql_schema, type_name, field_name, partial(_scoped, scope=scope))
    _wrap(graphql_schema, "Query", "node", _node_scoped)
    graphql_schema._crm_guarded = True  # type: ignore[attr-defined]


def _wrap(
    schema: GraphQLSchema, type_name: str, field_name: str, wrapper: Callable[[Any], Resolver]
) -> None:
    owner = schema.type_map.get(type_name)
    if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
        raise LookupError(f"no field {type_name}.{field_name} to guard")
    field: GraphQLField = owner.fields[field_name]
    field.resolve = wrapper(field.resolve)


def _audited(resolve: Resolver | None, action: str) -> Resolver:
    assert resolve is not None

    async def run(source: Any, info: Any, **args: Any) -> Any:
        shared = action not in OWN_TRANSACTION
        async with in_transaction() if shared else contextlib.nullcontext() as conn:
            result = resolve(source, info, **args)
            if isawaitable(result):
                result = await result
            # a payload with errors changed nothing worth recording (its writes, like revoking
            # a replayed token's family, still commit)
            if not getattr(result, "errors", None):
                defs = info.parent_type.fields[action].args
                event = event_of(info.context, action, args, result, defs)
                await audit.record(event, conn)
        return result

    run.__wrapped__ = resolve  # type: ignore[attr-defined]
    return run


def event_of(
    context: Any, action: str, args: dict[str, Any], result: object,
    defs: Mapping[str, Any] | None = None,
) -> audit.Event:
    """The audit event of mutation ``action`` called with ``args`` that returned ``result``."""
    defs = defs or {}
    viewer = getattr(context, "viewer", None)
    target = _target(result) or _target_in_args(args)
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    user_id = viewer.user_id if viewer else None
    if viewer is None and target and target[0] == "User":
        user_id = target[1]  # signing in: the actor is the user who signed in
    return audit.Event(
        organization_id=viewer.organization_id if viewer else None,
        action=action,
        actor_user_id=user_id,
        actor_api_key_id=viewer.api_key_id if viewer else None,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        changed_fields=field_names(args, defs),
        request_id=getattr(context, "request_id", None),
        ip=getattr(client, "host", None),
        item_count=item_count(args),
    )


def item_count(args: dict[str, Any]) -> int | None:
    """How many records a bulk mutation touched: rows given, or customers merged."""
    given = args.get("input")
    if not isinstance(given, dict):
        return None
    if isinstance(given.get("rows"), list):
        return len(given["rows"])
    if isinstance(given.get("duplicateIds"), list):
        return len(given["duplicateIds"]) + 1
    return None


def field_names(args: dict[str, Any], defs: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the arguments the client gave (never their values).

    Input fields left at their schema default were not given, so they are not named.
    """
    names: set[str] = set()
    _collect_names([args], defs, prefix, names)
    return sorted(names)


def _collect_names(
    dicts: list[dict[str, Any]], defs: Mapping[str, Any], prefix: str, names: set[str]
) -> None:
    """Add the names given in any of ``dicts`` (values of one input type, e.g. bulk rows)."""
    for key in set().union(*dicts):
        definition = defs.get(key)
        default = Undefined if definition is None else definition.default_value
        nested_type = get_named_type(definition.type) if definition is not None else None
        nests = isinstance(nested_type, GraphQLInputObjectType)
        name = f"{prefix}{key}"
        nested: list[dict[str, Any]] = []
        for item in dicts:
            if key not in item:
                continue
            value = item[key]
            if default is not Undefined and value == default:
                continue
            found = [v for v in (value if isinstance(value, list) else [value])
                     if isinstance(v, dict)]
            if found and nests:
                nested.extend(found)
            else:
                names.add(name)
                if not nests:
                    break  # nothing below this field: one value is enough
        if nested:
            assert isinstance(nested_type, GraphQLInputObjectType)
            _collect_names(nested, nested_type.fields, f"{name}.", names)


def _target(result: object) -> tuple[str, int] | None:
    for value in vars(result).values() if hasattr(result, "__dict__") else ():
        if isinstance(value, Node):
            try:
                return parse_global_id(str(value.id))
            except AppError:
                return None
    return None


def _target_in_args(args: dict[str, Any]) -> tuple[str, int] | None:
    given = args.get("id")
    if given is None and isinstance(args.get("input"), dict):
        given = args["input"].get("id")
    if given is None:
        given = args.get("customerId")
    try:
        return parse_global_id(str(given)) if given is not None else None
    except AppError:
        return None


def _masked(resolve: Resolver | None, *, mask: Mask) -> Resolver:
    assert resolve is not None

    def run(source: Any, info: Any, **args: Any) -> Any:
        value = resolve(source, info, **args)
        personal = masking(info.context)
        return value if personal is None else mask(value, personal)

    return run


def _forbid_without(context: Any, scope: scopes.Scope) -> None:
    viewer = getattr(context, "viewer", None)
    if viewer is not None and viewer.is_key and not viewer.has_scope(scope):
        raise AppError(ErrorCode.FORBIDDEN, f"this API key needs the {scope.value} scope")


def _scoped(resolve: Resolver | None, *, scope: scopes.Scope) -> Resolver:
    assert resolve is not None

    def run(source: Any, info: Any, **args: Any) -> Any:
        try:
            _forbid_without(info.context, scope)
        except AppError as exc:
            return _raising(exc)
        return resolve(source, info, **args)

    return run


async def _raising(error: AppError) -> Any:
    """A refusal delivered as the field's awaited value. Raised at once, in a non-null field it
    would end its parent before graphql-core awaits the siblings it already started (their
    coroutines then never run, and Python warns of each)."""
    raise error


def _node_scoped(resolve: Resolver | None) -> Resolver:
    assert resolve is not None

    def run(source: Any, info: Any, **args: Any) -> Any:
        try:
            type_name, _ = parse_global_id(str(args.get("id", "")))
        except AppError:
            return resolve(source, info, **args)  # the resolver reports the malformed id
        try:
            _forbid_without(info.context, scopes.NODE_SCOPES.get(type_name, scopes.Scope.ADMIN))
        except AppError as exc:
            return _raising(exc)
        return resolve(source, info, **args)

    return run
