"""Messaging queries and mutations: sendMessage, its preview, providers, consent, handles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from auth.permissions import IsAdmin, IsAgent, IsAuthenticated, IsManager
from auth.pii import refuse_hidden_search
from core.errors import ErrorCode, FieldError, InputError
from db import channel_contact as contacts
from db import conversation as conversations
from db import customer as customers
from db import interaction as interactions
from db import message_provider as providers
from db.channel_enums import MessageRefused
from db.customer_filter import CustomerFilter
from db.enums import Channel
from resolvers.common import attempt, missing, provided
from schema.customer import Customer
from schema.interaction import Interaction
from schema.message import (
    AddCustomerHandleInput,
    CreateMessageProviderInput,
    CustomerChannelPayload,
    MessageCampaignPayload,
    MessageDelivery,
    MessageError,
    MessagePreview,
    MessagePreviewPayload,
    MessageProvider,
    MessageProviderPayload,
    SendMessageCampaignInput,
    SendMessageInput,
    SendMessagePayload,
    SetChannelConsentInput,
    UpdateMessageProviderInput,
)
from schema.node import decode_id
from services.messaging import providers as provider_settings
from services.messaging.campaigns import CampaignResult, MessageCampaignRequest, send_campaign
from services.messaging.send import MessageRequest, preview, send_message

T = TypeVar("T")
RENAMES = {"baseUrl": "base_url"}


async def attempt_message(work: Callable[[], Awaitable[T]]
                          ) -> tuple[T | None, list[MessageError]]:
    """Like ``attempt``, with message refusals (OPTED_OUT, ...) as payload errors too."""
    try:
        result, errors = await attempt(work)
    except MessageRefused as exc:
        return None, [MessageError(code=exc.code, field=list(exc.field) or None,
                                   message=exc.message)]
    return result, [MessageError.from_user_error(e) for e in errors]


def _request(input: SendMessageInput) -> MessageRequest:
    return MessageRequest(
        customer_id=decode_id(input.customer_id, "Customer", "input.customerId"),
        channel=Channel(input.channel), text=input.text,
        template_id=decode_id(input.template_id, "EmailTemplate", "input.templateId")
        if input.template_id is not None else None,
        variables=input.variables if input.variables is not None else {},
        idempotency_key=input.idempotency_key,
    )


async def _customer(org_id: int, customer_id: int) -> Customer:
    row = (await customers.get_many(org_id=org_id, ids=[customer_id])).get(customer_id)
    if row is None:
        raise missing("customer", "input", "customerId")
    return Customer.from_row(row)


@strawberry.type
class MessageQuery:
    @strawberry.field(permission_classes=[IsAdmin])
    async def message_providers(self, info: strawberry.Info) -> list[MessageProvider]:
        """Your organization's messaging providers (credentials are never returned)."""
        org_id = info.context.require_viewer().organization_id
        base = info.context.settings.public_base_url
        return [MessageProvider.from_row(row, base)
                for row in await providers.list_(org_id=org_id)]

    @strawberry.field(permission_classes=[IsAgent])
    async def message_preview(
        self, info: strawberry.Info, input: SendMessageInput
    ) -> MessagePreviewPayload:
        """What sendMessage would send: recipient, encoding, segments, quiet hours."""
        org_id = info.context.require_viewer().organization_id
        found, errors = await attempt_message(
            lambda: preview(org_id=org_id, request=_request(input)))
        if found is None:
            return MessagePreviewPayload(errors=errors)
        count = found.count
        return MessagePreviewPayload(preview=MessagePreview(
            channel=found.channel, recipient=found.recipient, provider=found.provider["name"],
            text=found.text, encoding=count.encoding, characters=count.units,
            segments=count.segments, per_segment=count.per_segment,
            remaining_in_segment=count.remaining, time_zone=found.time_zone,
            scheduled_for=found.scheduled_for,
        ))


@strawberry.type
class MessageMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def send_message(
        self, info: strawberry.Info, input: SendMessageInput
    ) -> SendMessagePayload:
        """Queue an SMS, WhatsApp message, call, chat or social reply (an OUTBOUND interaction)."""
        viewer = info.context.require_viewer()
        org_id = viewer.organization_id

        async def work() -> tuple[dict[str, Any], dict[str, Any]]:
            row = await send_message(org_id=org_id, user_id=viewer.user_id,
                                     request=_request(input))
            found = await interactions.get_many(org_id=org_id, ids=[row["interaction_id"]])
            return row, found[row["interaction_id"]]

        result, errors = await attempt_message(work)
        if result is None:
            return SendMessagePayload(errors=errors)
        row, interaction = result
        return SendMessagePayload(interaction=Interaction.from_row(interaction),
                                  message=MessageDelivery.from_row(row))

    @strawberry.mutation(permission_classes=[IsManager])
    async def send_message_campaign(
        self, info: strawberry.Info, input: SendMessageCampaignInput
    ) -> MessageCampaignPayload:
        """Queue an SMS or WhatsApp message to every consenting customer matching a filter."""
        viewer = info.context.require_viewer()

        async def work() -> CampaignResult:
            request = MessageCampaignRequest(
                channel=Channel(input.channel),
                customer_filter=input.filter.to_filter() if input.filter else CustomerFilter(),
                text=input.text,
                template_id=decode_id(input.template_id, "EmailTemplate", "input.templateId")
                if input.template_id is not None else None,
                variables=input.variables if input.variables is not None else {},
                idempotency_key=input.idempotency_key,
            )
            refuse_hidden_search(info.context, request.customer_filter)
            return await send_campaign(org_id=viewer.organization_id, user_id=viewer.user_id,
                                       request=request)

        result, errors = await attempt_message(work)
        if result is None:
            return MessageCampaignPayload(errors=errors)
        return MessageCampaignPayload(
            matched=result.matched, queued=result.queued, skipped=result.skipped,
            held_for_quiet_hours=result.held_for_quiet_hours)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_message_provider(
        self, info: strawberry.Info, input: CreateMessageProviderInput
    ) -> MessageProviderPayload:
        """Connect a provider; its secret is stored encrypted and never returned."""
        org_id = info.context.require_viewer().organization_id
        settings = info.context.settings
        row, errors = await attempt(lambda: provider_settings.create(
            settings, org_id=org_id, data=provided(input)))
        return MessageProviderPayload(
            provider=MessageProvider.from_row(row, settings.public_base_url) if row else None,
            errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_message_provider(
        self, info: strawberry.Info, input: UpdateMessageProviderInput
    ) -> MessageProviderPayload:
        """Change a provider's settings or secret."""
        org_id = info.context.require_viewer().organization_id
        settings = info.context.settings

        async def work() -> dict[str, Any]:
            data = provided(input)
            provider_id = decode_id(data.pop("id"), "MessageProvider", "input.id")
            row = await provider_settings.update(settings, org_id=org_id,
                                                 provider_id=provider_id, data=data)
            if row is None:
                raise missing("message provider")
            return row

        row, errors = await attempt(work)
        return MessageProviderPayload(
            provider=MessageProvider.from_row(row, settings.public_base_url) if row else None,
            errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def set_channel_consent(
        self, info: strawberry.Info, input: SetChannelConsentInput
    ) -> CustomerChannelPayload:
        """Record a customer's opt-out (or opt-in) on a channel, as the customer asked."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> Customer:
            customer_id = decode_id(input.customer_id, "Customer", "input.customerId")
            customer = await _customer(org_id, customer_id)
            await contacts.set_consent(org_id=org_id, customer_id=customer_id,
                                       channel=Channel(input.channel),
                                       opted_out=input.opted_out, source="agent")
            return customer

        customer, errors = await attempt(work)
        return CustomerChannelPayload(customer=customer, errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def add_customer_handle(
        self, info: strawberry.Info, input: AddCustomerHandleInput
    ) -> CustomerChannelPayload:
        """Give a customer a handle; messages from it are matched to the customer."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> Customer:
            customer_id = decode_id(input.customer_id, "Customer", "input.customerId")
            customer = await _customer(org_id, customer_id)
            platform, handle = input.platform.strip().lower(), input.handle.strip()
            if not 1 <= len(platform) <= 50:
                raise _bad("platform", "must be 1 to 50 characters")
            if not 1 <= len(handle) <= 200:
                raise _bad("handle", "must be 1 to 200 characters")
            await contacts.add_handle(org_id=org_id, customer_id=customer_id,
                                      platform=platform, handle=handle)
            return customer

        customer, errors = await attempt(work)
        return CustomerChannelPayload(customer=customer, errors=errors)


@strawberry.type
class ConversationMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def mark_read(self, info: strawberry.Info, customer_id: strawberry.ID
                        ) -> CustomerChannelPayload:
        """You have read the customer's conversation up to now (its unreadCount drops to 0)."""
        viewer = info.context.require_viewer()

        async def work() -> Customer:
            pk = decode_id(customer_id, "Customer", "customerId")
            assert viewer.user_id is not None  # keys may not call it (auth/scopes.py USER_ONLY)
            if not await conversations.mark_read(org_id=viewer.organization_id,
                                                 user_id=viewer.user_id, customer_id=pk):
                raise missing("customer", "customerId")
            return await _customer(viewer.organization_id, pk)

        customer, errors = await attempt(work)
        return CustomerChannelPayload(customer=customer, errors=errors)


def _bad(name: str, message: str) -> Exception:
    return InputError([FieldError(ErrorCode.BAD_USER_INPUT, ("input", name), message)])
