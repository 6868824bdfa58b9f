"""Short factories for test data; every test gets organizations of its own."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from auth import identity as auth
from core.config import Settings
from db.enums import Channel, Direction, OrderStatus, Role
from db.models import Customer, Interaction, Order, Organization, User
from schema.node import to_global_id

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = auth.hash_password(PASSWORD)
_seq = itertools.count(1)


async def make_org(name: str | None = None) -> Organization:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    return await Organization.create(name=name or slug, slug=slug)


async def make_user(org: Organization, role: Role = Role.ADMIN, **overrides: Any) -> User:
    values: dict[str, Any] = {
        "email": f"user{next(_seq)}-{uuid.uuid4().hex[:6]}@example.com",
        "name": "Test User",
        "password_hash": _PASSWORD_HASH,
        "role": role,
    }
    return await User.create(organization=org, **(values | overrides))


async def make_customer(org: Organization, **overrides: Any) -> Customer:
    n = next(_seq)
    values: dict[str, Any] = {"name": f"Customer {n}", "email": f"customer{n}@example.com"}
    return await Customer.create(organization=org, **(values | overrides))


async def make_order(customer: Customer, **overrides: Any) -> Order:
    values: dict[str, Any] = {
        "amount": Decimal("100.00"), "currency": "EUR", "status": OrderStatus.PAID,
        "placed_at": datetime.now(UTC),
    }
    return await Order.create(
        organization_id=customer.organization_id, customer=customer, **(values | overrides)
    )


async def make_interaction(customer: Customer, **overrides: Any) -> Interaction:
    values: dict[str, Any] = {
        "channel": Channel.PHONE, "direction": Direction.INBOUND, "subject": "Call",
        "body": "Talked.", "occurred_at": datetime.now(UTC),
    }
    return await Interaction.create(
        organization_id=customer.organization_id, customer=customer, **(values | overrides)
    )


def token_for(user: User, settings: Settings) -> str:
    return auth.issue_token({"id": user.id, "organization_id": user.organization_id}, settings)


def gid(obj: Customer | Order | Interaction | User) -> str:
    return to_global_id(type(obj).__name__, obj.id)


class Api:
    """Posts GraphQL documents as one user (or anonymously) and returns the JSON body."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        assert response.headers["content-type"].startswith("application/json"), response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a request that must not fail."""
        body = await self(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


async def make_email_message(interaction: Interaction, **overrides: Any) -> Any:
    """An outbox entry of an (outbound email) interaction."""
    from db.email_models import EmailMessage

    values: dict[str, Any] = {
        "message_id": f"<{uuid.uuid4().hex}@crm.test>", "sender": "crm@org.test",
        "recipient": "someone@example.com", "available_at": datetime.now(UTC), "mime": b"x",
    }
    return await EmailMessage.create(
        organization_id=interaction.organization_id, interaction=interaction,
        customer_id=interaction.customer_id, **(values | overrides),
    )
