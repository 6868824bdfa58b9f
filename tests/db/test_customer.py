"""Writes that attach to a customer see a merge or deletion in progress through to its end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from core.database import connection_params
from core.errors import ErrorCode, InputError
from db import interaction as interactions
from db import order as orders
from db.enums import Channel, Direction
from db.models import Customer, Interaction, Order
from tests.factories import make_customer, make_org

GONE = {
    "merged": "UPDATE customer SET merged_into_id = $1, deleted_at = now() WHERE id = $2",
    "deleted": "UPDATE customer SET deleted_at = now() WHERE id = $2 AND $1::bigint > 0",
}


def _log(org_id: int, customer_id: int) -> Awaitable[Any]:
    return interactions.create(org_id=org_id, user_id=None, data={
        "customer_id": customer_id, "channel": Channel.NOTE, "direction": Direction.OUTBOUND})


def _order(org_id: int, customer_id: int) -> Awaitable[Any]:
    return orders.create(org_id=org_id, data={
        "customer_id": customer_id, "amount": Decimal("5"), "currency": "EUR",
        "placed_at": datetime.now(UTC)})


@pytest.mark.parametrize("gone", sorted(GONE))
@pytest.mark.parametrize("write", [_log, _order], ids=["interaction", "order"])
async def test_a_write_racing_a_merge_or_deletion_is_refused(
    database_url: str, gone: str, write: Callable[[int, int], Awaitable[Any]]
) -> None:
    org = await make_org()
    primary, duplicate = await make_customer(org), await make_customer(org)
    conn = await asyncpg.connect(**connection_params(database_url))
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(GONE[gone], primary.id, duplicate.id)
        racing = asyncio.create_task(write(org.id, duplicate.id))
        await asyncio.sleep(0.2)
        assert not racing.done(), "the write did not wait for the change in progress"
        await tx.commit()
        with pytest.raises(InputError) as caught:
            await asyncio.wait_for(racing, 5)
    finally:
        await conn.close()
    assert [(e.code, e.field) for e in caught.value.errors] == [
        (ErrorCode.NOT_FOUND, ("input", "customerId"))]
    assert await Interaction.filter(customer_id=duplicate.id).count() == 0
    assert await Order.filter(customer_id=duplicate.id).count() == 0


async def test_a_live_customer_is_held_only_until_the_write_commits() -> None:
    org = await make_org()
    customer = await make_customer(org)
    await _log(org.id, customer.id)
    await _order(org.id, customer.id)
    await Customer.filter(id=customer.id).update(name="Renamed")  # not blocked afterwards
    assert await Interaction.filter(customer_id=customer.id).count() == 1


async def test_an_email_racing_a_merge_is_refused(database_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    from db.email_enums import EmailRefused, Refusal
    from services.email.send import SendRequest, send_email

    org = await make_org()
    primary = await make_customer(org)
    duplicate = await make_customer(org, email="dup@example.com")
    conn = await asyncpg.connect(**connection_params(database_url))
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(GONE["merged"], primary.id, duplicate.id)
        racing = asyncio.create_task(send_email(settings, org_id=org.id, user_id=None, request=(
            SendRequest(customer_id=duplicate.id, subject="Hi", text="Hello"))))
        await asyncio.sleep(0.2)
        assert not racing.done()
        await tx.commit()
        with pytest.raises(EmailRefused) as caught:
            await asyncio.wait_for(racing, 5)
    finally:
        await conn.close()
    assert caught.value.code == Refusal.NOT_FOUND
    assert await Interaction.filter(customer_id=duplicate.id).count() == 0
