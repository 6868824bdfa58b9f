"""Input types converted by a per-type plan: bulk rows without Strawberry's per-value overhead.

Strawberry turns a coerced input value into its dataclass field by field, resolving each field's
type and GraphQL name again for every value: about a third of a 1,000-row upsert. ``planned``
installs Strawberry's ``from_input`` hook with a plan made once per type: fields holding scalars,
enums or lists of them are passed on as graphql-core coerced them (what Strawberry would do),
nested planned inputs (and lists of them) are built by their own plans, anything else is left
to Strawberry's own conversion. The result is the same dataclass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    StrawberryType,
    get_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField

T = TypeVar("T", bound=type)
Hook = Callable[[type, Mapping[str, Any], InputContext], Any]
_AS_GIVEN, _COPIED, _NESTED, _NESTED_LIST, _CONVERTED = range(5)
# per field: GraphQL name, Python name, how its value is converted, its Strawberry type (the
# item class for nested planned inputs) and the planned hook of that class
Step = tuple[str, str, int, Any, Hook | None]
Plan = tuple[dict[str, None], list[Step]]
_PLANNED: set[Hook] = set()


def planned(cls: T) -> T:
    """Convert the input type ``cls`` with a plan made on first use (a class decorator)."""
    definition = get_object_definition(cls, strict=True)
    if not definition.is_input:
        raise TypeError(f"{cls.__name__} is not an input type")
    plans: dict[int, tuple[StrawberryConfig, Plan]] = {}

    def from_input(target: type, value: Mapping[str, Any], context: InputContext) -> Any:
        cached = plans.get(id(context.config))
        if cached is None or cached[0] is not context.config:
            cached = plans[id(context.config)] = (context.config, _plan(definition.fields, context))
        required, steps = cached[1]
        kwargs: dict[str, Any] = dict(required)
        for graphql_name, python_name, how, field_type, hook in steps:
            if graphql_name not in value:
                continue
            given = value[graphql_name]
            if how == _AS_GIVEN or given is None:
                kwargs[python_name] = given
            elif how == _COPIED:
                kwargs[python_name] = list(given)  # graphql-core may share a default list
            elif how == _NESTED:
                assert hook is not None
                kwargs[python_name] = hook(field_type, given, _within(context, graphql_name))
            elif how == _NESTED_LIST:
                assert hook is not None
                kwargs[python_name] = [
                    None if item is None
                    else hook(field_type, item, _within(context, graphql_name, index))
                    for index, item in enumerate(given)
                ]
            else:
                kwargs[python_name] = context.convert(given, field_type, graphql_name)
        return target(**kwargs)

    definition.from_input = from_input
    _PLANNED.add(from_input)
    return cls


def _within(context: InputContext, *keys: str | int) -> InputContext:
    return InputContext(context.info, context.config, context.scalar_registry,
                        (*context.path, *keys))


def _plan(fields: list[StrawberryField], context: InputContext) -> Plan:
    # like Strawberry: fields without a default start as None, graphql-core has made sure
    # that required ones are given
    required = {
        f.python_name: None for f in fields
        if f.default_value is MISSING and f.default_factory is MISSING
    }
    steps = []
    for field in fields:
        field_type = field.resolve_type()
        if isinstance(field_type, StrawberryMaybe):
            # Strawberry's null check of Maybe fields skips types with a from_input hook
            raise TypeError(f"{field.python_name}: Maybe fields are not supported")
        how, target = _how(field_type, context.scalar_registry)
        definition = get_object_definition(target) if how in (_NESTED, _NESTED_LIST) else None
        steps.append((context.config.name_converter.from_field(field), field.python_name, how,
                      target, definition.from_input if definition else None))
    return required, steps


def _how(field_type: StrawberryType | type, scalars: Mapping[object, Any]) -> tuple[int, Any]:
    inner = _required(field_type)
    if _is_leaf(inner, scalars):
        return _AS_GIVEN, field_type
    if _is_planned(inner):
        return _NESTED, inner
    if isinstance(inner, StrawberryList):
        item = _required(inner.of_type)
        if _is_leaf(item, scalars):
            return _COPIED, field_type
        if _is_planned(item):
            return _NESTED_LIST, item
    return _CONVERTED, field_type


def _required(field_type: StrawberryType | type) -> StrawberryType | type:
    return field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type


def _is_planned(field_type: StrawberryType | type) -> bool:
    definition = get_object_definition(field_type)
    return definition is not None and definition.from_input in _PLANNED


def _is_leaf(field_type: StrawberryType | type, scalars: Mapping[object, Any]) -> bool:
    """Scalars and enums other than GlobalID: Strawberry passes their values on unchanged."""
    if field_type is GlobalID:
        return False
    if isinstance(field_type, StrawberryEnumDefinition) or has_enum_definition(field_type):
        return True
    return is_scalar(field_type, scalars)
