"""The database enumerations, exposed in the API under the same names."""

import strawberry

from db.enums import Channel, CustomerKind, Direction, LifecycleStage, OrderStatus, Role
from db.sales_enums import DealStatus as DbDealStatus

for _enum in (Channel, CustomerKind, Direction, LifecycleStage, OrderStatus, Role):
    strawberry.enum(_enum)

DealStatus = strawberry.enum(DbDealStatus, name="DealStatus")

__all__ = [
    "Channel", "CustomerKind", "DealStatus", "Direction", "LifecycleStage", "OrderStatus", "Role",
]
