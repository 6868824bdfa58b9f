"""The database enumerations, exposed under the same names."""

import strawberry

from db import enums

Role = strawberry.enum(enums.Role, name="Role")
CustomerKind = strawberry.enum(enums.CustomerKind, name="CustomerKind")
LifecycleStage = strawberry.enum(enums.LifecycleStage, name="LifecycleStage")
OrderStatus = strawberry.enum(enums.OrderStatus, name="OrderStatus")
Channel = strawberry.enum(enums.Channel, name="Channel")
Direction = strawberry.enum(enums.Direction, name="Direction")
