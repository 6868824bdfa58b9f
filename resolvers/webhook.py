"""Outbound webhooks: ADMIN only (API keys need the admin scope)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry

from auth.permissions import IsAdmin
from core.errors import ErrorCode, FieldError, InputError
from db import webhook as webhooks
from resolvers.common import attempt, missing, provided
from schema.node import decode_id
from schema.pagination import Connection, root_connection
from schema.webhook import (
    CreateWebhookInput,
    CreateWebhookPayload,
    DeleteWebhookPayload,
    ReplayWebhookEventsPayload,
    RotateWebhookSecretPayload,
    UpdateWebhookInput,
    Webhook,
    WebhookEventType,
    WebhookPayload,
)
from services.webhooks import http as webhook_http

MIN_SECRET_LENGTH = 24
MAX_DESCRIPTION_LENGTH = 500


def _bad(path: tuple[str, ...], message: str) -> InputError:
    return InputError([FieldError(ErrorCode.BAD_USER_INPUT, path, message)])


def new_secret() -> str:
    """A fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


async def _checked_url(info: strawberry.Info, url: str, path: tuple[str, ...]) -> str:
    try:
        await webhook_http.check_reachable_url(
            url.strip(), info.context.settings.webhook_allow_private
        )
    except webhook_http.UnsafeURL as exc:
        raise _bad(path, str(exc)) from None
    return url.strip()


def _checked_events(events: list[WebhookEventType], path: tuple[str, ...]) -> list[str]:
    if not events:
        raise _bad(path, "give at least one event type")
    return sorted({event.value for event in events})


def _checked_description(description: str, path: tuple[str, ...]) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise _bad(path, f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return description.strip()


def _webhook_id(id: strawberry.ID, path: tuple[str, ...]) -> int:
    return decode_id(id, "Webhook", ".".join(path))


@strawberry.type
class WebhookQuery:
    @strawberry.field(permission_classes=[IsAdmin])
    async def webhooks(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Webhook]:
        """Your organization's webhooks, newest first."""
        org_id = info.context.require_viewer().organization_id
        return await root_connection(
            info, webhooks.SORT, lambda: webhooks.source(org_id), Webhook.from_row,
            first, after, last, before,
        )

    @strawberry.field(permission_classes=[IsAdmin])
    async def webhook(self, info: strawberry.Info, id: strawberry.ID) -> Webhook | None:
        """One webhook of your organization, with its deliveries."""
        org_id = info.context.require_viewer().organization_id
        row = await webhooks.get(org_id=org_id, webhook_id=decode_id(id, "Webhook"))
        return Webhook.from_row(row) if row else None


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_webhook(
        self, info: strawberry.Info, input: CreateWebhookInput
    ) -> CreateWebhookPayload:
        """A new webhook; its signing secret is in this payload and never shown again.

        Events are logged only for organizations that have at least one webhook: changes made
        before the first webhook was created cannot be replayed.
        """
        viewer = info.context.require_viewer()

        async def work() -> tuple[dict[str, Any], str]:
            url = await _checked_url(info, input.url, ("input", "url"))
            events = _checked_events(input.events, ("input", "events"))
            secret = input.secret if input.secret is not None else new_secret()
            if len(secret) < MIN_SECRET_LENGTH or len(secret) > 200:
                raise _bad(("input", "secret"),
                           f"secret must be {MIN_SECRET_LENGTH} to 200 characters")
            row = await webhooks.create(
                org_id=viewer.organization_id, user_id=viewer.user_id, url=url,
                event_types=events, secret=secret,
                description=_checked_description(input.description, ("input", "description")),
            )
            return row, secret

        made, errors = await attempt(work)
        if made is None:
            return CreateWebhookPayload(errors=errors)
        return CreateWebhookPayload(webhook=Webhook.from_row(made[0]), secret=made[1])

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_webhook(
        self, info: strawberry.Info, input: UpdateWebhookInput
    ) -> WebhookPayload:
        """Change a webhook; enabling it again closes its circuit and clears its failures."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            webhook_id = _webhook_id(input.id, ("input", "id"))
            given = {k: v for k, v in provided(input).items() if v is not None}  # null: keep
            changes: dict[str, Any] = {}
            if "url" in given:
                changes["url"] = await _checked_url(info, given["url"], ("input", "url"))
            if "events" in given:
                changes["event_types"] = _checked_events(given["events"], ("input", "events"))
            if "enabled" in given:
                changes["enabled"] = given["enabled"]
            if "description" in given:
                changes["description"] = _checked_description(
                    given["description"], ("input", "description"))
            row = await webhooks.update(org_id=org_id, webhook_id=webhook_id, changes=changes)
            if row is None:
                raise missing("webhook")
            return row

        row, errors = await attempt(work)
        return WebhookPayload(webhook=Webhook.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_webhook(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> DeleteWebhookPayload:
        """Delete a webhook and its pending deliveries."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> strawberry.ID:
            if not await webhooks.delete(org_id=org_id, webhook_id=_webhook_id(id, ("id",))):
                raise missing("webhook", "id")
            return id

        deleted, errors = await attempt(work)
        return DeleteWebhookPayload(deleted_id=deleted, errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def rotate_webhook_secret(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> RotateWebhookSecretPayload:
        """A new signing secret; deliveries carry both signatures until the old one expires."""
        org_id = info.context.require_viewer().organization_id
        overlap = timedelta(seconds=info.context.settings.webhook_secret_overlap_seconds)

        async def work() -> tuple[dict[str, Any], str]:
            secret = new_secret()
            row = await webhooks.rotate_secret(
                org_id=org_id, webhook_id=_webhook_id(id, ("id",)), secret=secret,
                overlap_until=datetime.now(UTC) + overlap,
            )
            if row is None:
                raise missing("webhook", "id")
            return row, secret

        made, errors = await attempt(work)
        if made is None:
            return RotateWebhookSecretPayload(errors=errors)
        return RotateWebhookSecretPayload(webhook=Webhook.from_row(made[0]), secret=made[1])

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def replay_webhook_events(
        self, info: strawberry.Info, webhook_id: strawberry.ID, from_sequence: int,
        to_sequence: int | None = None,
    ) -> ReplayWebhookEventsPayload:
        """Send the logged events from ``fromSequence`` (to ``toSequence``) of the webhook's
        types again, with their original ids; returns how many were queued."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> int:
            pk = _webhook_id(webhook_id, ("webhookId",))
            if from_sequence < 1:
                raise _bad(("fromSequence",), "fromSequence must be at least 1")
            if to_sequence is not None and to_sequence < from_sequence:
                raise _bad(("toSequence",), "toSequence must not be below fromSequence")
            queued = await webhooks.replay(org_id=org_id, webhook_id=pk,
                                           from_sequence=from_sequence, to_sequence=to_sequence)
            if queued is None:
                raise missing("webhook", "webhookId")
            return queued

        queued, errors = await attempt(work)
        return ReplayWebhookEventsPayload(queued=queued or 0, errors=errors)
