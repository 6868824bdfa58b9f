"""Plans: what to produce for every field of a validated query, worked out once per document.

A plan knows, for each selected field, how its value is obtained: an attribute of the object
the parent produced (Strawberry's "basic" fields), a batched counterpart of the field's resolver
that serves every parent at once (``compiled.batches``), or the real root resolver. Documents
the plan cannot serve exactly as the generic executor would (introspection, abstract types,
directives, resolver fields without a batched counterpart) are refused with a reason, and the
generic executor serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import isfinite
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from auth.pii import MASKS, Mask
from auth.scopes import NESTED_SCOPES, Scope
from compiled.batches import BATCHES, ROW_NODES, Batch, Nodes
from compiled.columns import ROWS
from compiled.root_pages import DirectPage, direct_page
from compiled.roots import DirectRoot, direct_root
from compiled.variables import Leaf

Serialize = Callable[[Any], Any]
MAX_INT = 2**31


class Unsupported(Exception):
    """The generic executor must serve this document; the message says why (for the counters)."""


@dataclass(eq=False)
class Field:
    """One response key of a selection: where its value comes from and how it is written."""

    key: str
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField
    non_null: bool
    is_list: bool = False
    item_non_null: bool = False
    attr: str | None = None  # a basic field: this attribute of the parent object
    batch: Batch | None = None  # a resolver field served for all parents at once
    strawberry_field: StrawberryField | None = None
    serialize: Serialize | None = None  # leaves only
    kind: str = "other"  # the serializer's shortcut (str, bool, int, float, datetime, enum)
    enum_names: dict[Any, str] = field(default_factory=dict)  # enum leaves: value -> name
    mask: Mask | None = None  # applied for viewers who may not read personal data
    child: Selection | None = None  # objects only
    selected: Nodes | None = None  # connections: what is asked of their nodes
    typename: str | None = None  # ``__typename``: the constant it answers


@dataclass(eq=False)
class Selection:
    """What to produce for each object of one GraphQL object type."""

    type_name: str
    fields: list[Field]
    builders: dict[bool, Any] = field(default_factory=dict)  # compiled.codegen, per PII mode
    rows: bool = False  # its objects are the rows themselves (compiled.columns.ROWS)


@dataclass(eq=False)
class RootField:
    """A root field: run by its real resolver (permissions, arguments, guards and all)."""

    key: str
    field: Field
    parent_type: GraphQLObjectType
    # served without its resolver (compiled.roots, compiled.root_pages)
    direct: DirectRoot | DirectPage | None = None


@dataclass(eq=False)
class Plan:
    """A compiled query operation of one document."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    roots: list[RootField]
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    masked: bool = False  # some selected field is masked for viewers without PII access
    argument_fields: list[Field] = field(default_factory=list)
    # the query cost by the values of the variables that size pages (compiled.compiler)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict)
    cost_variables: tuple[str, ...] | None = None  # None: not yet known
    # its variables when all are leaves without defaults, else () (compiled.variables)
    leaves: tuple[Leaf, ...] | None = None


def build(
    schema: strawberry.Schema, document: DocumentNode, operation: OperationDefinitionNode
) -> Plan:
    """The plan of ``operation`` (a validated query of ``document``), or Unsupported."""
    if operation.operation != OperationType.QUERY:
        raise Unsupported(f"{operation.operation.value} operation")
    query = schema._schema.query_type
    assert query is not None
    return build_on(schema, document, operation, query)


def build_on(
    schema: strawberry.Schema, document: DocumentNode, operation: OperationDefinitionNode,
    root_type: GraphQLObjectType,
) -> Plan:
    """The plan of ``operation``'s selection on ``root_type`` (its root fields run by their
    resolvers), or Unsupported; ``build`` for queries, ``compiled.events`` for subscriptions."""
    builder = _Builder(schema, document)
    roots = []
    for key, nodes in builder.collect(root_type, [operation.selection_set]).items():
        name = nodes[0].name.value
        if name.startswith("__"):
            raise Unsupported(f"root {name}")
        root = builder.field(root_type, key, nodes, root=True)
        roots.append(RootField(key, root, root_type, _direct(root_type.name, root)))
    return Plan(
        document=document, operation=operation, fragments=builder.fragments, roots=roots,
        scopes=frozenset(builder.scopes), masked=builder.masked,
        argument_fields=builder.argument_fields,
    )


def _direct(type_name: str, root: Field) -> DirectRoot | DirectPage | None:
    """The direct lookup or page of a root field, unless app.guards wraps its resolver."""
    path = f"{type_name}.{root.name}"
    if (type_name, root.name) in MASKS or path in NESTED_SCOPES or path == "Query.node":
        return None
    assert root.strawberry_field is not None
    permissions = root.strawberry_field.permission_classes
    return direct_root(path, root.nodes, permissions) or direct_page(path, root.nodes, permissions)


class _Builder:
    def __init__(self, schema: strawberry.Schema, document: DocumentNode) -> None:
        self.strawberry = schema
        self.schema: GraphQLSchema = schema._schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.scopes: set[Scope] = set()
        self.masked = False
        self.argument_fields: list[Field] = []

    def collect(
        self, owner: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """Field nodes by response key, in first-seen order (as graphql-core collects them)."""
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(owner, selection_set, grouped)
        return grouped

    def _collect(
        self, owner: GraphQLObjectType, selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, owner):
                    self._collect(owner, selection.selection_set, grouped)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.variable_definitions:
                    raise Unsupported("fragment variables")
                if self._applies(fragment.type_condition.name.value, owner):
                    self._collect(owner, fragment.selection_set, grouped)

    def _applies(self, condition: str, owner: GraphQLObjectType) -> bool:
        target = self.schema.get_type(condition)
        if target is owner:
            return True
        return target is not None and not isinstance(target, GraphQLObjectType) and (
            self.schema.is_sub_type(target, owner)  # type: ignore[arg-type]
        )

    def field(
        self, owner: GraphQLObjectType, key: str, nodes: list[FieldNode], root: bool = False
    ) -> Field:
        name = nodes[0].name.value
        if name == "__typename":
            return Field(key, name, nodes, owner.fields.get(name) or _TYPENAME, non_null=True,
                         typename=owner.name)
        if name.startswith("__"):
            raise Unsupported(f"introspection {name}")
        definition = owner.fields[name]
        strawberry_field = self.strawberry.get_field_for_type(name, owner.name)
        if strawberry_field is None:
            raise Unsupported(f"{owner.name}.{name} is not a Strawberry field")
        path = f"{owner.name}.{name}"
        out = Field(key, name, nodes, definition, non_null=False,
                    strawberry_field=strawberry_field)
        if not root:
            self._source(out, owner, strawberry_field)
        if path in NESTED_SCOPES:
            self.scopes.add(NESTED_SCOPES[path])
        mask = MASKS.get((owner.name, name))
        if mask is not None:
            out.mask = mask
            self.masked = True
        self._shape(out, definition.type)
        return out

    def _source(
        self, out: Field, owner: GraphQLObjectType, strawberry_field: StrawberryField
    ) -> None:
        definition = self.strawberry.get_type_by_name(owner.name)
        # generic types (InteractionConnection, ...) share their Strawberry name (Connection)
        type_name = definition.name if isinstance(definition, StrawberryObjectDefinition) else ""
        path = f"{type_name or owner.name}.{out.name}"
        batch = BATCHES.get(path)
        if batch is not None:
            out.batch = batch
            if out.definition.args:
                self.argument_fields.append(out)
        elif strawberry_field.is_basic_field and strawberry_field.python_name.isidentifier():
            out.attr = strawberry_field.python_name  # read in generated code (codegen.py)
        else:
            raise Unsupported(f"resolver {path}")

    def _shape(self, out: Field, type_: GraphQLOutputType) -> None:
        if isinstance(type_, GraphQLNonNull):
            out.non_null = True
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            out.is_list = True
            item = type_.of_type
            if isinstance(item, GraphQLNonNull):
                out.item_non_null = True
                item = item.of_type
            if isinstance(item, GraphQLList):
                raise Unsupported("nested lists")
            type_ = item
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            out.serialize, out.kind = serializer(type_)
            if isinstance(type_, GraphQLEnumType):
                out.enum_names = enum_names(type_)
            return
        if not isinstance(type_, GraphQLObjectType):
            raise Unsupported(f"abstract type {type_}")
        definition = self.strawberry.get_type_by_name(type_.name)
        if not isinstance(definition, StrawberryObjectDefinition):
            raise Unsupported(f"type {type_.name}")
        sets = [node.selection_set for node in out.nodes if node.selection_set]
        collected = self.collect(type_, sets)
        children = [self.field(type_, key, nodes) for key, nodes in collected.items()]
        out.child = Selection(type_.name, children)
        if isinstance(definition, StrawberryObjectDefinition) and definition.name == "Connection":
            out.selected = _nodes(out.child, rows=out.batch in ROW_NODES)


def _rows_suffice(selection: Selection) -> bool:
    """Whether every field of ``selection`` is a leaf its rows hold (compiled.columns.ROWS)."""
    readers = ROWS.get(selection.type_name)
    return readers is not None and all(
        f.typename is not None or (
            f.name in readers and f.attr is not None and f.serialize is not None
            and not f.is_list
        )
        for f in selection.fields
    )


def _nodes(connection: Selection, *, rows: bool) -> Nodes:
    """What a connection's nodes must give (under ``edges { node }`` or ``nodes``); with
    ``rows`` (its batch can give rows), the node selections are row-backed when all can be."""
    nodes: list[Selection] = []
    for part in connection.fields:
        if part.name == "nodes" and part.child:
            nodes.append(part.child)
        elif part.name == "edges" and part.child:
            nodes += [f.child for f in part.child.fields if f.name == "node" and f.child]
    rows = rows and bool(nodes) and all(_rows_suffice(node) for node in nodes)
    for node in nodes:
        node.rows = rows
    return Nodes(frozenset(f.name for node in nodes for f in node.fields), rows)


_TYPENAME = GraphQLField(GraphQLNonNull(GraphQLString))


def enum_names(type_: GraphQLEnumType) -> dict[Any, str]:
    """Stored enum values to their GraphQL names, as ``coerce_output_value`` looks them up."""
    names: dict[Any, str] = {}
    for name, value in type_.values.items():
        names.setdefault(value.value, name)
    return names


def serializer(type_: GraphQLScalarType | GraphQLEnumType) -> tuple[Serialize, str]:
    """How the generic executor writes a leaf of ``type_``, with shortcuts for plain values.

    Each shortcut covers exactly the values the type's own ``coerce_output_value`` returns
    unchanged (or, for enums, looks up the same way); anything else goes through it, as in
    graphql-core. Aware datetimes stay datetimes: orjson writes them exactly as
    ``isoformat()``, Strawberry's serializer, does.
    """
    slow = type_.coerce_output_value
    if isinstance(type_, GraphQLEnumType):
        names = enum_names(type_)

        def enum(value: Any) -> Any:
            try:
                return names[value]
            except (KeyError, TypeError):
                return slow(value)

        return enum, "enum"
    builtin: Mapping[str, tuple[type, str]] = {
        "String": (str, "str"), "ID": (str, "str"), "Boolean": (bool, "bool"),
    }
    if type_.name in builtin:
        plain, kind = builtin[type_.name]
        return (lambda value: value if type(value) is plain else slow(value)), kind
    if type_.name == "Int":
        return (lambda value: (
            value if type(value) is int and -MAX_INT <= value < MAX_INT else slow(value)
        )), "int"
    if type_.name == "Float":
        return (
            lambda value: value if type(value) is float and isfinite(value) else slow(value)
        ), "float"
    if type_.name == "DateTime" and slow(_PROBE) == _PROBE.isoformat():
        return (lambda value: (
            value if type(value) is datetime and value.tzinfo in ORJSON_ZONES else slow(value)
        )), "datetime"
    return (identity if _passes_through(slow) else slow), "other"


def identity(value: Any) -> Any:
    """A leaf written as it is (the run skips calling it)."""
    return value


def _passes_through(coerce: Serialize) -> bool:
    probe = object()
    try:
        return coerce(probe) is probe
    except Exception:
        return False


_PROBE = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
# zones orjson writes as isoformat() does (None: naive, written without an offset)
ORJSON_ZONES = (UTC, None)
