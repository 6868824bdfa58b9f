"""Custom predictions in the graph: definitions, their outcomes and customers' scores."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from db import prediction_outcome as outcomes
from db.sql import Row
from schema.enums import OrderStatus
from schema.errors import UserError
from schema.node import Node, to_global_id
from schema.prediction import ReasonDirection


@strawberry.enum(description="What kind of event a custom prediction is about.")
class PredictionOutcomeKind(Enum):
    ORDER_STATUS = "ORDER_STATUS"
    ORDER_UNPAID = "ORDER_UNPAID"
    TAG_ADDED = "TAG_ADDED"
    STAGE_REACHED = "STAGE_REACHED"
    DEAL_STAGE_REACHED = "DEAL_STAGE_REACHED"
    CUSTOM_FIELD = "CUSTOM_FIELD"


@strawberry.enum(description="A probability's band: LOW below 0.3, HIGH from 0.6.")
class ScoreBand(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@strawberry.type(description="The yes/no outcome a custom prediction is about.")
class PredictionOutcome:
    kind: PredictionOutcomeKind
    order_status: OrderStatus | None = strawberry.field(
        description="ORDER_STATUS: the customer places an order that ends up in this status.")
    days: int | None = strawberry.field(
        description="ORDER_UNPAID: an order still unpaid (PENDING or CANCELLED) this many days"
        " after it was placed.")
    tag: str | None = strawberry.field(description="TAG_ADDED: the tag the customer gets.")
    stage: str | None = strawberry.field(
        description="STAGE_REACHED: a lifecycle stage; DEAL_STAGE_REACHED: a pipeline stage's"
        " name (any deal the customer is on).")
    field: str | None = strawberry.field(description="CUSTOM_FIELD: the custom field's key.")
    value: str | None = strawberry.field(description="CUSTOM_FIELD: the value it gets.")
    text: str = strawberry.field(description="The outcome in words.")

    @classmethod
    def of(cls, o: dict[str, Any]) -> PredictionOutcome:
        return cls(
            kind=PredictionOutcomeKind(o["kind"]),
            order_status=OrderStatus(o["status"]) if "status" in o else None,
            days=o.get("days"), tag=o.get("tag"), stage=o.get("stage"), field=o.get("field"),
            value=o.get("value"), text=outcomes.words(o),
        )


@strawberry.input(description="A yes/no outcome: the kind, and the parameters it needs.")
class PredictionOutcomeInput:
    kind: PredictionOutcomeKind
    order_status: OrderStatus | None = None
    days: int | None = None
    tag: str | None = None
    stage: str | None = None
    field: str | None = None
    value: str | None = None

    def to_outcome(self) -> dict[str, Any]:
        given = {"kind": self.kind.value, "status": self.order_status, "days": self.days,
                 "tag": self.tag, "stage": self.stage, "field": self.field, "value": self.value}
        if isinstance(self.order_status, Enum):
            given["status"] = self.order_status.value
        return {k: v for k, v in given.items() if v is not None}


@strawberry.type(description="An organization's own yes/no prediction and how training went.")
class PredictionDefinition(Node):
    id: strawberry.ID
    name: str
    description: str
    outcome: PredictionOutcome
    horizon_days: int = strawberry.field(description="The outcome must happen within this.")
    status: str = strawberry.field(description=(
        "NOT_TRAINED, ACTIVATED (serving), NOT_ACTIVATED (did not beat the base rate) or"
        " NOT_ENOUGH_DATA, from the latest training run."))
    message: str
    trained_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> PredictionDefinition:
        return cls(
            id=to_global_id("PredictionDefinition", row["id"]), name=row["name"],
            description=row["description"], outcome=PredictionOutcome.of(row["outcome"]),
            horizon_days=row["horizon_days"], status=row["status"], message=row["message"],
            trained_at=row["trained_at"], created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.input(description="A new custom prediction (trained by the next training run).")
class DefinePredictionInput:
    name: str = strawberry.field(description="Lower-case letters, digits, _ (refund_risk).")
    outcome: PredictionOutcomeInput
    horizon_days: int
    description: str | None = None


@strawberry.input(description="Changes to a custom prediction; a new outcome or horizon"
                  " retires its models and scores until the next training run.")
class UpdatePredictionInput:
    id: strawberry.ID
    name: str | None = None
    outcome: PredictionOutcomeInput | None = None
    horizon_days: int | None = None
    description: str | None = None


@strawberry.type
class PredictionDefinitionPayload:
    prediction: PredictionDefinition | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePredictionPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Something about the customer that moved a score up or down.")
class ScoreReason:
    feature: str
    direction: ReasonDirection
    weight: float = strawberry.field(description="How much it moved the probability.")
    about: str = strawberry.field(description="The prediction it explains (its name).")
    text: str = strawberry.field(description="The reason in words, for a salesperson.")


@strawberry.type(description="A customer's probability of a custom prediction's outcome.")
class CustomerScore:
    name: str
    probability: float
    band: ScoreBand
    reasons: list[ScoreReason]
    model_version: int
    scored_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> CustomerScore:
        return cls(
            name=row["name"], probability=row["probability"], band=ScoreBand(row["band"]),
            reasons=[ScoreReason(feature=r["feature"], direction=ReasonDirection(r["direction"]),
                                 weight=r["weight"], about=r["about"], text=r["text"])
                     for r in row["reasons"] or []],
            model_version=row["model_version"], scored_at=row["scored_at"],
        )


@strawberry.input(description="Customers whose score of a custom prediction is in a range.")
class ScoreFilter:
    name: str
    min: float | None = None
    max: float | None = None
    bands: list[ScoreBand] | None = None


@strawberry.input(description="Order customers by a custom prediction's score (unscored last).")
class ScoreOrder:
    name: str
    descending: bool = True


