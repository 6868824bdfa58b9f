"""Relay ``node(id:)``: any object by its global ID."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from auth.permissions import IsAuthenticated
from db import email_templates as templates
from db import prediction as predictions
from db import webhook as webhooks
from db.enums import Role
from db.sql import Row
from resolvers import relay
from resolvers.email import load_campaign
from schema.company import load_company
from schema.customer import Customer
from schema.deal import load_deal
from schema.email import EmailTemplate
from schema.interaction import Interaction
from schema.node import Node, parse_global_id
from schema.order import Order
from schema.pipeline import load_pipeline
from schema.prediction import TrainingRun
from schema.product import Product
from schema.task import load_task
from schema.user import User
from schema.webhook import Webhook

Load = Callable[[strawberry.Info, int, int], Awaitable[Node | None]]


def _loaded(loader: str, node_of: Callable[[Row], Node]) -> Load:
    async def load(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
        return await relay.get(info, loader, pk, node_of)

    return load


async def _template(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    row = await templates.get(org_id=org_id, template_id=pk)
    return EmailTemplate.from_row(row) if row else None


async def _campaign(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    return await load_campaign(org_id, pk)


async def _training_run(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    row = await predictions.get_run(run_id=pk, org_id=org_id)
    return TrainingRun.from_row(row) if row else None


async def _webhook(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    viewer = info.context.require_viewer()
    if not viewer.is_key and not viewer.can(Role.ADMIN):  # keys: the node guard checks scopes
        return None
    row = await webhooks.get(org_id=org_id, webhook_id=pk)
    return Webhook.from_row(row) if row else None


async def _company(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    return await load_company(info, pk)


async def _deal(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    return await load_deal(info, pk)


async def _pipeline(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    return await load_pipeline(info, pk)


async def _task(info: strawberry.Info, org_id: int, pk: int) -> Node | None:
    return await load_task(info, pk)


LOADERS: dict[str, Load] = {
    "Customer": _loaded("customer", Customer.from_row),
    "Order": _loaded("order", Order.from_row),
    "Product": _loaded("product", Product.from_row),
    "Interaction": _loaded("interaction", Interaction.from_row),
    "User": _loaded("user", User.from_row),
    "EmailTemplate": _template, "Campaign": _campaign, "TrainingRun": _training_run,
    "Webhook": _webhook, "Company": _company, "Deal": _deal, "Pipeline": _pipeline,
    "Task": _task,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        """The object with this ID if it belongs to your organization, else null."""
        type_name, pk = parse_global_id(id)
        load = LOADERS.get(type_name)
        if load is None:
            return None
        return await load(info, info.context.require_viewer().organization_id, pk)
