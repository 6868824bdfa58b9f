"""Tortoise models of the prediction domain: training runs, the model registry, predictions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.models import Customer, Organization, User


class ModelKind(StrEnum):
    CHURN = "CHURN"
    REVENUE = "REVENUE"
    SEGMENTS = "SEGMENTS"
    FORECAST = "FORECAST"
    RECOMMENDATIONS = "RECOMMENDATIONS"
    SCORE = "SCORE"


class RunStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class TrainingRun(Model):
    """One request to train every model kind of an organization, and how it went."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="training_runs", on_delete=fields.CASCADE
    )
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="training_runs", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.PENDING)
    progress = fields.FloatField(default=0.0)
    stage = fields.CharField(max_length=100, default="queued")
    as_of = fields.DatetimeField()
    horizon_days = fields.IntField()
    backtest = fields.BooleanField(default=False)
    results: Any = fields.JSONField(default=list)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    requested_by_id: int | None

    class Meta:
        table = "training_run"


class PredictionModel(Model):
    """A trained model version with its window, metrics and checksummed artifact."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="prediction_models", on_delete=fields.CASCADE
    )
    training_run: fields.ForeignKeyNullableRelation[TrainingRun] = fields.ForeignKeyField(
        "crm.TrainingRun", related_name="models", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(ModelKind, max_length=16)
    version = fields.IntField()
    active = fields.BooleanField(default=False)
    activated = fields.BooleanField(description="beat its baseline when trained")
    note = fields.TextField(default="")
    as_of = fields.DatetimeField()
    horizon_days = fields.IntField()
    backtest = fields.BooleanField(default=False)
    train_from = fields.DatetimeField(null=True)
    train_to = fields.DatetimeField(null=True)
    validation_from = fields.DatetimeField(null=True)
    validation_to = fields.DatetimeField(null=True)
    train_samples = fields.IntField(default=0)
    validation_samples = fields.IntField(default=0)
    features: Any = fields.JSONField(default=list)
    metrics: Any = fields.JSONField(default=dict)
    artifact = fields.BinaryField(null=True)
    checksum = fields.CharField(max_length=64, null=True)
    trained_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    training_run_id: int | None

    class Meta:
        table = "prediction_model"


class Prediction(Model):
    """The latest scores of one customer (replaced when the customer is scored again)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="predictions", on_delete=fields.CASCADE
    )
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "crm.Customer", related_name="prediction", on_delete=fields.CASCADE
    )
    churn_risk = fields.FloatField(null=True)
    expected_revenue = fields.FloatField(null=True)
    expected_orders = fields.FloatField(null=True)
    segment = fields.CharField(max_length=50, null=True)
    reasons: Any = fields.JSONField(default=list)
    model_version = fields.CharField(max_length=200)
    as_of = fields.DatetimeField()
    horizon_days = fields.IntField()
    scored_at = fields.DatetimeField()

    organization_id: int
    customer_id: int

    class Meta:
        table = "prediction"
