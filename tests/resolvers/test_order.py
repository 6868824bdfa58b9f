"""Orders through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from db.models import Order
from tests.factories import gid, make_customer, make_order, make_org

CREATE = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id total { amount currency } status placedAt externalRef
            lineItems { name quantity unitPrice } customer { name } }
    errors { code field message }
  }
}"""


async def test_create_order_and_read_it_back(api, org) -> None:
    customer = await make_customer(org, name="Buyer")
    data = await api.data(CREATE, input={
        "customerId": gid(customer), "amount": "19.90", "currency": "eur",
        "placedAt": "2026-03-01T10:00:00+01:00", "status": "PAID", "externalRef": "SO-1",
        "lineItems": [{"name": "Widget", "quantity": 2, "unitPrice": "9.95"}],
    })
    payload = data["createOrder"]
    assert payload["errors"] == []
    assert payload["order"]["total"] == {"amount": "19.90", "currency": "EUR"}
    assert payload["order"]["lineItems"] == [{"name": "Widget", "quantity": 2, "unitPrice": "9.95"}]
    assert payload["order"]["customer"] == {"name": "Buyer"}
    summary = await api.data("query($id: ID!) { customer(id: $id) { orderCount "
                             "lifetimeValue { amount currency } lastOrderAt } }", id=gid(customer))
    assert summary["customer"] == {"orderCount": 1, "lastOrderAt": "2026-03-01T09:00:00+00:00",
                                   "lifetimeValue": [{"amount": "19.90", "currency": "EUR"}]}


async def test_invalid_orders_write_nothing(api, org) -> None:
    customer = await make_customer(org)
    theirs = await make_customer(await make_org())
    cases = [
        ({"amount": "-1"}, ["input", "amount"]),
        ({"amount": "1.00001"}, ["input", "amount"]),
        ({"currency": "EURO"}, ["input", "currency"]),
        ({"customerId": gid(theirs)}, ["input", "customerId"]),
    ]
    for change, field in cases:
        base = {"customerId": gid(customer), "amount": "5", "currency": "EUR",
                "placedAt": "2026-01-01T00:00:00Z"}
        data = await api.data(CREATE, input=base | change)
        assert data["createOrder"]["errors"][0]["field"] == field, change
    assert await Order.filter(organization_id=org.id).count() == 0


async def test_duplicate_external_ref(api, org) -> None:
    customer = await make_customer(org)
    await make_order(customer, external_ref="SO-9")
    data = await api.data(CREATE, input={"customerId": gid(customer), "amount": "5",
                                         "currency": "EUR", "placedAt": "2026-01-01T00:00:00Z",
                                         "externalRef": "SO-9"})
    assert data["createOrder"]["errors"][0]["code"] == "DUPLICATE"


async def test_update_order_and_list_with_filters(api, org) -> None:
    customer = await make_customer(org)
    order = await make_order(customer, placed_at=datetime(2026, 2, 1, tzinfo=UTC))
    await make_order(customer, placed_at=datetime(2026, 1, 1, tzinfo=UTC), status="PENDING")
    data = await api.data(
        'mutation($id: ID!) { updateOrder(input: {id: $id, status: REFUNDED}) '
        '{ order { status } errors { code } } }', id=gid(order))
    assert data["updateOrder"] == {"order": {"status": "REFUNDED"}, "errors": []}
    listed = await api.data(
        'query($c: ID!) { orders(filter: {customerId: $c, statuses: [REFUNDED]}) '
        '{ totalCount nodes { id } } }', c=gid(customer))
    assert listed["orders"] == {"totalCount": 1, "nodes": [{"id": gid(order)}]}
    nested = await api.data('query($id: ID!) { customer(id: $id) { orders(orderBy: PLACED_AT_ASC) '
                            '{ nodes { status } } } }', id=gid(customer))
    assert [n["status"] for n in nested["customer"]["orders"]["nodes"]] == ["PENDING", "REFUNDED"]
