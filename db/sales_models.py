"""Tortoise models of companies, pipelines, deals and tasks.

Unique and partial indexes, check constraints, the default-pipeline trigger and the webhook
triggers live in ``migrations/0017_companies_deals_tasks.py``.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.models import Customer, Organization, User
from db.sales_enums import CompanySize, DealStatus, TaskPriority, TaskStatus


class Company(Model):
    """An account: a company the organization sells to, with people working there."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="companies", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    domain = fields.CharField(max_length=253, null=True)
    industry = fields.CharField(max_length=100, null=True)
    size = fields.CharEnumField(CompanySize, max_length=16, null=True)
    street = fields.CharField(max_length=200, null=True)
    city = fields.CharField(max_length=100, null=True)
    region = fields.CharField(max_length=100, null=True)
    postal_code = fields.CharField(max_length=20, null=True)
    country = fields.CharField(max_length=2, null=True)
    custom_fields: Any = fields.JSONField(default=dict)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="owned_companies", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)
    # set when mergeCompanies absorbed this company into another
    merged_into: fields.ForeignKeyNullableRelation[Company] = fields.ForeignKeyField(
        "crm.Company", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    organization_id: int
    owner_id: int | None
    merged_into_id: int | None

    class Meta:
        table = "company"


class CompanyMembership(Model):
    """A person working at a company, for a time; ended memberships stay as history."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="company_memberships", on_delete=fields.RESTRICT
    )
    company: fields.ForeignKeyRelation[Company] = fields.ForeignKeyField(
        "crm.Company", related_name="memberships", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="memberships", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200, null=True)
    role = fields.CharField(max_length=100, null=True)
    is_primary = fields.BooleanField(default=False)
    started_on = fields.DateField(null=True)
    ended_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    company_id: int
    customer_id: int

    class Meta:
        table = "company_membership"


class Pipeline(Model):
    """An organization's sales process: ordered stages deals move through."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="pipelines", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "pipeline"


class PipelineStage(Model):
    """One step of a pipeline, with the win probability a deal in it has by default."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="pipeline_stages", on_delete=fields.RESTRICT
    )
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "crm.Pipeline", related_name="stages", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    position = fields.IntField()
    probability = fields.SmallIntField()  # percent, 0 to 100

    organization_id: int
    pipeline_id: int

    class Meta:
        table = "pipeline_stage"


class Deal(Model):
    """An opportunity: an amount the organization hopes to win, moving through a pipeline."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="deals", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    currency = fields.CharField(max_length=3)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "crm.Pipeline", related_name="deals", on_delete=fields.RESTRICT
    )
    stage: fields.ForeignKeyRelation[PipelineStage] = fields.ForeignKeyField(
        "crm.PipelineStage", related_name="deals", on_delete=fields.RESTRICT
    )
    probability = fields.SmallIntField(null=True)  # percent; null: the stage's
    expected_close_on = fields.DateField(null=True)
    status = fields.CharEnumField(DealStatus, max_length=8, default=DealStatus.OPEN)
    lost_reason = fields.CharField(max_length=500, null=True)
    closed_at = fields.DatetimeField(null=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="owned_deals", null=True, on_delete=fields.SET_NULL
    )
    company: fields.ForeignKeyNullableRelation[Company] = fields.ForeignKeyField(
        "crm.Company", related_name="deals", null=True, on_delete=fields.RESTRICT
    )
    stage_entered_at = fields.DatetimeField()
    external_ref = fields.CharField(max_length=100, null=True)  # unique in the organization
    custom_fields: Any = fields.JSONField(default=dict, db_default={})
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)

    organization_id: int
    pipeline_id: int
    stage_id: int
    owner_id: int | None
    company_id: int | None

    class Meta:
        table = "deal"


class DealPerson(Model):
    """A person involved in a deal."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="deal_people", on_delete=fields.RESTRICT
    )
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField(
        "crm.Deal", related_name="people", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="deal_links", on_delete=fields.RESTRICT
    )

    organization_id: int
    deal_id: int
    customer_id: int

    class Meta:
        table = "deal_person"


class DealStageChange(Model):
    """A deal entering a stage; stage names are copied so history outlives removed stages."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="deal_stage_changes", on_delete=fields.RESTRICT
    )
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField(
        "crm.Deal", related_name="stage_changes", on_delete=fields.CASCADE
    )
    from_stage: fields.ForeignKeyNullableRelation[PipelineStage] = fields.ForeignKeyField(
        "crm.PipelineStage", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    from_stage_name = fields.CharField(max_length=100, null=True)
    to_stage: fields.ForeignKeyNullableRelation[PipelineStage] = fields.ForeignKeyField(
        "crm.PipelineStage", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    to_stage_name = fields.CharField(max_length=100)
    changed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    changed_at = fields.DatetimeField()

    organization_id: int
    deal_id: int
    from_stage_id: int | None
    to_stage_id: int | None
    changed_by_id: int | None

    class Meta:
        table = "deal_stage_change"


class Task(Model):
    """Something to do by a time, for a user, about a customer, company or deal."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="tasks", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200)
    notes = fields.TextField(default="")
    due_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.OPEN)
    priority = fields.CharEnumField(TaskPriority, max_length=16, default=TaskPriority.NORMAL)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    company: fields.ForeignKeyNullableRelation[Company] = fields.ForeignKeyField(
        "crm.Company", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    deal: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "crm.Deal", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    completed_at = fields.DatetimeField(null=True)
    # the due time a taskDue reminder went out for (a new due time is reminded again)
    reminded_for = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    assignee_id: int | None
    customer_id: int | None
    company_id: int | None
    deal_id: int | None
    created_by_id: int | None

    class Meta:
        table = "task"
