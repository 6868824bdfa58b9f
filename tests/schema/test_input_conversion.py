"""Planned input conversion builds exactly what Strawberry's own conversion builds."""

from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.relay import GlobalID
from strawberry.scalars import JSON

from schema.input_conversion import planned


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


def _inputs(plan: bool) -> Any:
    wrap = planned if plan else (lambda cls: cls)

    @wrap
    @strawberry.input
    class Inner:
        label: str
        count: int = 1

    @wrap
    @strawberry.input
    class Row:
        name: str
        note: str | None = strawberry.UNSET
        colour: Colour | None = strawberry.UNSET
        amount: Decimal | None = strawberry.UNSET
        tags: list[str] | None = strawberry.UNSET
        maybe_tags: list[str | None] | None = strawberry.UNSET
        extra: JSON | None = strawberry.UNSET
        ref: strawberry.ID | None = strawberry.UNSET
        node: GlobalID | None = strawberry.UNSET
        inner: Inner | None = strawberry.UNSET
        inners: list[Inner] | None = strawberry.UNSET

    return Row


def _schema(row: Any) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, rows: list[row]) -> str:  # type: ignore[valid-type]
            return repr([vars(r) | {"inner": r.inner and vars(r.inner),
                                    "inners": r.inners and [vars(i) for i in r.inners]}
                         for r in rows])

    return strawberry.Schema(Query)


QUERY = "query($rows: [Row!]!) { echo(rows: $rows) }"
ROWS = [
    {"name": "a"},
    {"name": "b", "note": None, "colour": "RED", "amount": "1.50", "tags": ["x", "y"],
     "maybeTags": [None, "z"], "extra": {"k": [1]}, "ref": "7",
     "node": str(GlobalID("Customer", "3")), "inner": {"label": "i"},
     "inners": [{"label": "j", "count": 2}]},
    {"name": "c", "colour": None, "tags": None, "inner": None, "inners": None, "extra": None},
]


async def test_same_values_as_strawberry_conversion() -> None:
    planned_result = await _schema(_inputs(plan=True)).execute(QUERY, {"rows": ROWS})
    default_result = await _schema(_inputs(plan=False)).execute(QUERY, {"rows": ROWS})
    assert planned_result.errors is None
    assert planned_result.data == default_result.data
    assert "GlobalID(type_name='Customer', node_id='3')" in str(planned_result.data)


async def test_default_lists_are_copied() -> None:
    @planned
    @strawberry.input
    class Tagged:
        tags: list[str] = strawberry.field(default_factory=lambda: ["default"])

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, row: Tagged) -> int:
            row.tags.append("changed")  # must not leak into the next request's default
            return len(row.tags)

    schema = strawberry.Schema(Query)
    for _ in range(2):
        assert (await schema.execute("{ echo(row: {}) }")).data == {"echo": 2}


async def test_maybe_fields_are_refused() -> None:
    @planned
    @strawberry.input
    class Partial:
        name: strawberry.Maybe[str]

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, row: Partial) -> str:
            return "unreachable"

    result = await strawberry.Schema(Query).execute('{ echo(row: {name: "x"}) }')
    assert result.errors is not None
    assert "Maybe fields are not supported" in result.errors[0].message


def test_only_input_types() -> None:
    @strawberry.type
    class Output:
        name: str

    with pytest.raises(TypeError, match="not an input type"):
        planned(Output)
