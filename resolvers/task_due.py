"""``taskDue``: your tasks as their due time comes, live over a websocket, from any process."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from functools import partial

import strawberry

from auth.context import Context
from auth.permissions import IsAuthenticated
from core.errors import AppError, ErrorCode
from db.events import Event
from resolvers.subscription import _check_token
from schema.subscription import subscriber_too_slow
from schema.task import Task
from services.live import fanout, pubsub


@strawberry.type
class TaskSubscription:
    @strawberry.subscription(permission_classes=[IsAuthenticated])
    async def task_due(self, info: strawberry.Info) -> AsyncGenerator[Task, None]:
        """Each open task assigned to you when its due time comes (once per due time; moving
        the due time reminds again), published by the worker (``crm worker``)."""
        context = info.context
        _check_token(context)
        viewer = context.require_viewer()
        if viewer.user_id is None:
            raise AppError(ErrorCode.FORBIDDEN, "this operation is for signed-in users only")
        user_id = viewer.user_id
        return _stream(context, lambda event: event.about_task and event.owner_id == user_id)


async def _stream(context: Context, accepts: Callable[[Event], bool]) -> AsyncGenerator[Task, None]:
    """Tasks as the broker delivers them; registered on first iteration, removed on exit."""
    broker = pubsub.broker_of(context.request.app)
    org_id = context.require_viewer().organization_id
    async with broker.subscribe(org_id, accepts) as subscription:
        try:
            async for event in subscription:
                _check_token(context)
                context.reset_loaders()
                if await fanout.deliver(event, partial(Task.from_row, event.row)):
                    continue
                yield Task.from_row(event.row)
        except pubsub.SubscriberTooSlow:
            raise subscriber_too_slow(broker.queue_size) from None
