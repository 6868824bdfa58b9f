"""Task queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated
from core.errors import AppError, ErrorCode
from db import task as tasks
from db.sales_enums import TaskStatus as DbTaskStatus
from resolvers import relay
from resolvers.common import attempt, missing, provided
from resolvers.ids import maybe_pk, pk
from schema.node import decode_id
from schema.pagination import Connection, root_connection
from schema.task import (
    CreateTaskInput,
    Task,
    TaskFilter,
    TaskOrderBy,
    TaskPayload,
    TaskStatus,
    UpdateTaskInput,
    load_task,
)

_IDS = {"assignee_id": ("User", "assigneeId"), "customer_id": ("Customer", "customerId"),
        "company_id": ("Company", "companyId"), "deal_id": ("Deal", "dealId")}


def _task_data(input: CreateTaskInput | UpdateTaskInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    for key, (type_name, path) in _IDS.items():
        if key in data:
            data[key] = maybe_pk(data[key], type_name, "input", path)
    return data


def _payload(row: dict[str, Any] | None, errors: list[Any]) -> TaskPayload:
    return TaskPayload(task=Task.from_row(row) if row else None, errors=errors)


@strawberry.type
class TaskQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def task(self, info: strawberry.Info, id: strawberry.ID) -> Task | None:
        """A task of your organization, or null."""
        return await load_task(info, decode_id(id, "Task"))

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def tasks(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, filter: TaskFilter | None = None,
        order_by: TaskOrderBy = TaskOrderBy.DUE_AT_ASC,
    ) -> Connection[Task]:
        """Your organization's tasks, a page at a time."""
        f = filter.to_filter() if filter else tasks.TaskFilter()
        return await relay.list_(
            info, tasks.SORTS[order_by.value], lambda org_id: tasks.source(org_id, f),
            Task.from_row, first, after, last, before,
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def my_tasks(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        statuses: list[TaskStatus] | None = None,  # type: ignore[valid-type]
    ) -> Connection[Task]:
        """Tasks assigned to you, overdue first, then by due time (open ones by default)."""
        viewer = info.context.require_viewer()
        if viewer.user_id is None:
            raise AppError(ErrorCode.FORBIDDEN, "this operation is for signed-in users only")
        f = tasks.TaskFilter(statuses=tuple(statuses or (DbTaskStatus.OPEN,)),
                             assignee_ids=(viewer.user_id,))
        return await root_connection(
            info, tasks.SORTS["DUE_AT_ASC"],
            lambda: tasks.source(viewer.organization_id, f), Task.from_row,
            first, after, last, before,
        )


@strawberry.type
class TaskMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_task(self, info: strawberry.Info, input: CreateTaskInput) -> TaskPayload:
        """A new task, assigned to you unless an assignee is given."""
        viewer = info.context.require_viewer()
        return _payload(*await attempt(lambda: tasks.create(
            org_id=viewer.organization_id, user_id=viewer.user_id, data=_task_data(input)
        )))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_task(self, info: strawberry.Info, input: UpdateTaskInput) -> TaskPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await tasks.update(org_id=org_id, task_id=pk(input.id, "Task", "input", "id"),
                                     data=_task_data(input))
            if row is None:
                raise missing("task")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def complete_task(self, info: strawberry.Info, id: strawberry.ID) -> TaskPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await tasks.complete(org_id=org_id, task_id=pk(id, "Task", "id"))
            if row is None:
                raise missing("task", "id")
            return row

        return _payload(*await attempt(work))
