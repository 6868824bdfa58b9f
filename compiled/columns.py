"""Which columns a page of rows must hold for the fields a query selects on its objects.

A nested page selects only what the document asks for (an interaction's ``body`` and
``metadata`` can be large), plus what the batched fields below it need. A type or field not
listed here reads every column.
"""

from __future__ import annotations

from collections.abc import Iterable

# GraphQL field -> the columns its value (or its batched resolver) reads
INTERACTION = {
    "id": ("id",), "channel": ("channel",), "direction": ("direction",),
    "subject": ("subject",), "body": ("body",), "occurredAt": ("occurred_at",),
    "metadata": ("metadata",), "createdAt": ("created_at",), "customer": ("customer_id",),
    "createdBy": ("created_by_id",), "email": ("channel", "direction"),
    "message": ("channel", "direction"), "dealId": ("deal_id",), "companyId": ("company_id",),
    "__typename": (),
}
# GraphQL field -> (column, the type of the global ID it holds or None): how ``from_row`` fills
# the field, so a selection of only these leaves is written from the rows themselves (no API
# object per row); the differential tests hold both ways to the same bytes
INTERACTION_ROW = {
    "id": ("id", "Interaction"), "channel": ("channel", None),
    "direction": ("direction", None), "subject": ("subject", None), "body": ("body", None),
    "occurredAt": ("occurred_at", None), "metadata": ("metadata", None),
    "createdAt": ("created_at", None), "dealId": ("deal_id", "Deal"),
    "companyId": ("company_id", "Company"),
}
ROWS = {"Interaction": INTERACTION_ROW}
# every row names itself and its parent (cursors and grouping read them)
ALWAYS = ("id", "customer_id")
BY_TYPE = {"Interaction": INTERACTION}


def needed(type_name: str, fields: Iterable[str] | None) -> str | None:
    """The ``t.``-qualified column list for these selected fields, or None for all columns."""
    known = BY_TYPE.get(type_name)
    if known is None or fields is None:
        return None
    fields = set(fields)
    if not fields <= known.keys():
        return None
    columns = dict.fromkeys(ALWAYS)
    for name, reads in known.items():  # in the table's order: the same text every time
        if name in fields:
            columns.update(dict.fromkeys(reads))
    return ", ".join(f"t.{c}" for c in columns)
