"""The database enumerations, exposed in the API under the same names."""

import strawberry

from db.enums import Channel, CustomerKind, Direction, LifecycleStage, OrderStatus, Role

for _enum in (Channel, CustomerKind, Direction, LifecycleStage, OrderStatus, Role):
    strawberry.enum(_enum)

__all__ = ["Channel", "CustomerKind", "Direction", "LifecycleStage", "OrderStatus", "Role"]
