"""Tasks: the type, filters, inputs and payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry

from db import task as tasks
from db.sales_enums import TaskPriority as DbTaskPriority
from db.sales_enums import TaskStatus as DbTaskStatus
from db.sql import Row
from schema.company import Company, load_company, load_user
from schema.customer import Customer
from schema.deal import Deal, load_deal
from schema.errors import UserError
from schema.node import Node, decode_id, to_global_id
from schema.user import User

TaskStatus = strawberry.enum(DbTaskStatus, name="TaskStatus")
TaskPriority = strawberry.enum(DbTaskPriority, name="TaskPriority")


async def load_task(info: strawberry.Info, pk: int) -> Task | None:
    """A task of the caller's organization, batched per operation."""
    loader = info.context.loaders.keyed(
        "task", lambda org_id, ids: tasks.get_many(org_id=org_id, ids=ids)
    )
    row = await loader.load(pk)
    return Task.from_row(row) if row else None


@strawberry.type(description="Something to do by a time, about a customer, company or deal.")
class Task(Node):
    id: strawberry.ID
    title: str
    notes: str
    due_at: datetime | None
    status: TaskStatus  # type: ignore[valid-type]
    priority: TaskPriority  # type: ignore[valid-type]
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    assignee_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]
    customer_pk: strawberry.Private[int | None]
    company_pk: strawberry.Private[int | None]
    deal_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Row) -> Task:
        return cls(
            id=to_global_id("Task", row["id"]), title=row["title"], notes=row["notes"],
            due_at=row["due_at"], status=row["status"], priority=row["priority"],
            completed_at=row["completed_at"], created_at=row["created_at"],
            updated_at=row["updated_at"], assignee_pk=row["assignee_id"],
            created_by_pk=row["created_by_id"], customer_pk=row["customer_id"],
            company_pk=row["company_id"], deal_pk=row["deal_id"],
        )

    @strawberry.field(description="Open and past its due time.")
    def overdue(self) -> bool:
        return (self.status == DbTaskStatus.OPEN and self.due_at is not None
                and self.due_at < datetime.now(UTC))

    @strawberry.field
    async def assignee(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.assignee_pk)

    @strawberry.field
    async def created_by(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.created_by_pk)

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_pk) if (
            self.customer_pk is not None) else None
        return Customer.from_row(row) if row else None

    @strawberry.field
    async def company(self, info: strawberry.Info) -> Company | None:
        return await load_company(info, self.company_pk)

    @strawberry.field
    async def deal(self, info: strawberry.Info) -> Deal | None:
        return await load_deal(info, self.deal_pk) if self.deal_pk is not None else None


@strawberry.enum(description="Orderings of task lists.")
class TaskOrderBy(Enum):
    DUE_AT_ASC = "DUE_AT_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"


@strawberry.input(description="Which tasks to list; every given condition must hold.")
class TaskFilter:
    statuses: list[TaskStatus] | None = None  # type: ignore[valid-type]
    priorities: list[TaskPriority] | None = None  # type: ignore[valid-type]
    assignee_ids: list[strawberry.ID] | None = None
    customer_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None

    def to_filter(self) -> tasks.TaskFilter:
        def one(value: strawberry.ID | None, type_name: str, path: str) -> int | None:
            return decode_id(value, type_name, f"filter.{path}") if value else None

        return tasks.TaskFilter(
            statuses=tuple(self.statuses or ()), priorities=tuple(self.priorities or ()),
            assignee_ids=tuple(decode_id(i, "User", "filter.assigneeIds")
                               for i in self.assignee_ids or ()),
            customer_id=one(self.customer_id, "Customer", "customerId"),
            company_id=one(self.company_id, "Company", "companyId"),
            deal_id=one(self.deal_id, "Deal", "dealId"),
            due_before=self.due_before, due_after=self.due_after, overdue=self.overdue,
        )


@strawberry.input(description="A new task, linked to at most one customer, company or deal.")
class CreateTaskInput:
    title: str
    notes: str | None = None
    due_at: datetime | None = None
    priority: TaskPriority = DbTaskPriority.NORMAL  # type: ignore[valid-type]
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="You, if omitted."
    )
    customer_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None


@strawberry.input(description="Changes to a task; omitted fields stay, null clears. "
                  "A new link replaces the old one.")
class UpdateTaskInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    due_at: datetime | None = strawberry.UNSET
    status: TaskStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    priority: TaskPriority | None = strawberry.UNSET  # type: ignore[valid-type]
    assignee_id: strawberry.ID | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.UNSET
    company_id: strawberry.ID | None = strawberry.UNSET
    deal_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class TaskPayload:
    task: Task | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
