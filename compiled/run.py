"""Running a plan: root fields through their real resolvers, everything below level by level.

Below the root nothing is awaited per field or per object: each level's objects are completed
column by column (one list comprehension per selected field, one batched call per resolver
field for all of the level's objects), then zipped into response dicts. Anything the generic
executor would answer with an error (a refused permission, a bad argument, a null in a non-null
field, a failing statement) raises ``Fallback``: the caller then runs the generic executor,
which produces the error exactly as before. Nothing here writes, so running twice is harmless.
"""

from __future__ import annotations

import asyncio
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.types.arguments import convert_arguments

from auth.pii import masking
from compiled import codegen
from compiled.batches import Work
from compiled.plan import Field, Plan, RootField, Selection, identity
from db.sql import one_connection


class Fallback(Exception):
    """The generic executor must answer this request (the message says why, for counters)."""


async def run(
    plan: Plan, schema: strawberry.Schema, context: Any, variables: VariableValues
) -> dict[str, Any]:
    """The response ``data`` of ``plan`` for this request, or Fallback."""
    viewer = context.viewer
    if viewer is None or context.auth_error is not None:
        raise Fallback("unauthenticated")
    if viewer.is_key and any(not viewer.has_scope(scope) for scope in plan.scopes):
        raise Fallback("scope")
    settings = context.settings
    job = _Job(
        Work(viewer.organization_id, settings.default_page_size, settings.max_page_size,
             user_id=viewer.user_id),
        schema, plan, variables, masking(context) if plan.masked else None,
    )
    context.reset_loaders()
    data: dict[str, Any] = {}
    for root in plan.roots:
        if root.direct is None:  # the real resolver may read concurrently (DataLoaders)
            value = await job.root(root, context)
        async with one_connection():  # everything below runs one read at a time
            if root.direct is not None:
                value = await job.root(root, context)
            data[root.key] = (await job.values(root.field, [value]))[0]
    return data


class _Job:
    def __init__(
        self, work: Work, schema: strawberry.Schema, plan: Plan, variables: VariableValues,
        personal: frozenset[str] | None,
    ) -> None:
        self.work = work
        self.schema = schema
        self.plan = plan
        self.variables = variables
        self.personal = personal  # None: nothing masked; else what masks need
        self.arguments: dict[int, dict[str, Any]] = {}

    async def root(self, root: RootField, context: Any) -> Any:
        field = root.field
        if root.direct is not None:
            try:
                value = await root.direct.resolve(
                    self.work, context.viewer, self.variables.coerced
                )
            except Exception as exc:  # Refused, or a failing statement: the resolver answers
                raise Fallback(f"root {field.name}: {exc or type(exc).__name__}") from exc
            if field.mask is not None and self.personal is not None:
                value = field.mask(value, self.personal)
            return value
        definition = field.definition
        info = GraphQLResolveInfo(
            field.name, field.nodes, definition.type, root.parent_type,
            Path(None, root.key, root.parent_type.name), self.schema._schema,
            self.plan.fragments, None, self.plan.operation, self.variables, context,
            isawaitable, None, _HELPERS,  # type: ignore[arg-type]
        )
        try:
            args = get_argument_values(definition, field.nodes[0], self.variables)
            assert definition.resolve is not None
            context.immediate = True
            try:
                value = definition.resolve(None, info, **args)
                if isawaitable(value):
                    value = await value
            finally:
                context.immediate = False
        except Exception as exc:
            raise Fallback(f"root {field.name}: {type(exc).__name__}") from exc
        if isinstance(value, Exception):
            raise Fallback(f"root {field.name} returned an error")
        if field.mask is not None and self.personal is not None:
            value = field.mask(value, self.personal)
        return value

    def kwargs(self, field: Field) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (Python names, input types)."""
        if not field.definition.args:
            return {}
        key = id(field)
        if key not in self.arguments:
            coerced = get_argument_values(field.definition, field.nodes[0], self.variables)
            assert field.strawberry_field is not None
            self.arguments[key] = convert_arguments(
                coerced, field.strawberry_field.arguments,
                scalar_registry=self.schema.schema_converter.scalar_registry,
                config=self.schema.config,
            )
        return self.arguments[key]

    async def complete(self, selection: Selection, objects: list[Any]) -> list[dict[str, Any]]:
        """The response dicts of ``objects`` (all of one type): leaves inline, in a generated
        builder; every other field as a column computed for all objects at once."""
        if not objects:
            return []
        columns = []
        for field in selection.fields:
            if codegen.inline(field):
                continue
            if field.attr is not None:
                attr = field.attr
                raw = [getattr(o, attr) for o in objects]
            else:
                assert field.batch is not None
                try:
                    raw = await field.batch(
                        self.work, objects, self.kwargs(field), field.selected
                    )
                except Fallback:
                    raise
                except Exception as exc:
                    raise Fallback(
                        f"{selection.type_name}.{field.name}: {type(exc).__name__}"
                    ) from exc
            if field.mask is not None and self.personal is not None:
                raw = [field.mask(v, self.personal) for v in raw]
            columns.append(await self.values(field, raw))
        try:
            masked = self.personal is not None
            return codegen.build(selection, masked)(objects, columns, self.personal)
        except codegen.NullInNonNull as exc:
            raise Fallback(f"null in {selection.type_name}.{exc}") from exc
        except (TypeError, ValueError) as exc:  # e.g. an enum value it cannot name
            raise Fallback(f"{selection.type_name}: {type(exc).__name__}") from exc

    async def values(self, field: Field, raw: list[Any]) -> list[Any]:
        """The response values of ``field`` for each raw value (None stays None)."""
        if field.non_null and None in raw:
            raise Fallback(f"null in non-null {field.name}")
        if field.is_list:
            return await self._lists(field, raw)
        serialize = field.serialize
        if serialize is identity:
            return raw
        if serialize is not None:
            out = [None if v is None else serialize(v) for v in raw]
            if out.count(None) != raw.count(None):
                raise Fallback(f"{field.name} serialized to null")
            return out
        assert field.child is not None
        present = [v for v in raw if v is not None]
        done = iter(await self.complete(field.child, present))
        return [None if v is None else next(done) for v in raw]

    async def _lists(self, field: Field, raw: list[Any]) -> list[Any]:
        lists = [None if v is None else list(v) for v in raw]
        flat = [item for items in lists if items is not None for item in items]
        if field.item_non_null and None in flat:
            raise Fallback(f"null item in {field.name}")
        serialize = field.serialize
        if serialize is identity:
            done_items = flat
        elif serialize is not None:
            done_items = [None if v is None else serialize(v) for v in flat]
            if done_items.count(None) != flat.count(None):
                raise Fallback(f"{field.name} item serialized to null")
        else:
            assert field.child is not None
            completed = iter(await self.complete(field.child, [v for v in flat if v is not None]))
            done_items = [None if v is None else next(completed) for v in flat]
        out: list[Any] = []
        position = 0
        for items in lists:
            if items is None:
                out.append(None)
            else:
                out.append(done_items[position:position + len(items)])
                position += len(items)
        return out


async def _gather(awaitables: Any) -> list[Any]:
    return list(await asyncio.gather(*awaitables))


_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=lambda values: None)
