"""Subscriptions: interactions of the viewer's organization, live, once their writes commit."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from functools import partial

import strawberry

from auth import identity
from auth.context import Context
from auth.permissions import IsAuthenticated
from core.errors import AppError, ErrorCode, not_found
from db.events import Event, EventFilter, EventKind
from schema.interaction import Interaction
from schema.subscription import InteractionSubscriptionFilter, subscriber_too_slow
from services.live import fanout, pubsub


@strawberry.type
class InteractionSubscription:
    @strawberry.subscription(permission_classes=[IsAuthenticated])
    async def interaction_created(
        self, info: strawberry.Info, filter: InteractionSubscriptionFilter | None = None
    ) -> AsyncGenerator[Interaction, None]:
        """Each new interaction of your organization matching the filter, once committed."""
        f = await _checked(info.context, filter)
        return _stream(info.context, lambda event: event.created and f.matches(event))

    @strawberry.subscription(permission_classes=[IsAuthenticated])
    async def interaction_updated(
        self, info: strawberry.Info, filter: InteractionSubscriptionFilter | None = None
    ) -> AsyncGenerator[Interaction, None]:
        """Each committed change to an existing interaction matching the filter.

        Includes delivery status changes of emailed interactions.
        """
        f = await _checked(info.context, filter)
        return _stream(info.context, lambda event: not event.created and f.matches(event))


    @strawberry.subscription(permission_classes=[IsAuthenticated])
    async def email_status_changed(
        self, info: strawberry.Info, filter: InteractionSubscriptionFilter | None = None
    ) -> AsyncGenerator[Interaction, None]:
        """Each committed delivery status change of an emailed interaction (see its ``email``)."""
        f = await _checked(info.context, filter)
        return _stream(
            info.context, lambda event: EventKind.EMAIL_STATUS in event.kinds and f.matches(event)
        )


async def _checked(context: Context, given: InteractionSubscriptionFilter | None) -> EventFilter:
    """The filter, with its customer and owner checked to exist in the organization."""
    _check_token(context)
    f = given.to_filter() if given is not None else EventFilter()
    if f.customer_id is not None and await context.loaders.customer.load(f.customer_id) is None:
        raise not_found("Customer", ["filter", "customerId"])
    if f.owner_id is not None and await context.loaders.user.load(f.owner_id) is None:
        raise not_found("User", ["filter", "ownerId"])
    return f


async def _stream(
    context: Context, accepts: Callable[[Event], bool]
) -> AsyncGenerator[Interaction, None]:
    """Interactions as the broker delivers them; registered on first iteration, removed on exit."""
    broker = pubsub.broker_of(context.request.app)
    org_id = context.require_viewer().organization_id
    async with broker.subscribe(org_id, accepts) as subscription:
        try:
            async for event in subscription:
                # the socket's context outlives events: nested fields must load afresh
                _check_token(context)
                context.reset_loaders()
                # sent the payload its group rendered once for all its members
                if await fanout.deliver(event, partial(Interaction.from_row, event.row)):
                    continue
                yield Interaction.from_row(event.row)
        except pubsub.SubscriberTooSlow:
            raise subscriber_too_slow(broker.queue_size) from None


def _check_token(context: Context) -> None:
    """A socket whose access token has expired, or whose user was deactivated or given another
    role since it signed in, gets no more data (clients reconnect)."""
    expires_at = getattr(context, "token_expires_at", None)
    if expires_at is not None and time.time() >= expires_at:
        raise AppError(
            ErrorCode.UNAUTHENTICATED, "access token expired; reconnect with a fresh token"
        )
    signed_in_at = getattr(context, "signed_in_at", None)
    if signed_in_at is not None and context.viewer is not None and identity.changed_since(
        context.viewer.user_id, signed_in_at
    ):
        raise AppError(
            ErrorCode.UNAUTHENTICATED, "your access changed (deactivated or a new role);"
            " reconnect to continue"
        )
