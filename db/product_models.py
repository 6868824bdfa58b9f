"""The Tortoise model of the product catalogue (its search column, case-insensitive SKU index
and webhook triggers live in ``migrations/0018_products.py``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.models import Organization


class Product(Model):
    """Something an organization sells: goods, a service, a trip, a room, a route."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="products", on_delete=fields.RESTRICT
    )
    sku = fields.CharField(max_length=100)
    name = fields.CharField(max_length=200)
    category = fields.CharField(max_length=300, null=True)  # a path: "Travel/Rooms/Suites"
    price: Decimal = fields.DecimalField(max_digits=18, decimal_places=4)
    currency = fields.CharField(max_length=3)
    active = fields.BooleanField(default=True)
    attributes: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "product"
