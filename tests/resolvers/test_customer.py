"""Customers through the GraphQL endpoint."""

from __future__ import annotations

from tests.factories import gid, make_customer

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id name email phone address { city country } tags stage }
    errors { code field message }
  }
}"""


async def test_create_customer_normalises_fields(api) -> None:
    data = await api.data(CREATE, input={
        "name": " 张三 ", "email": "ZhangSan@Example.COM", "phone": "+86 138 0013 8000",
        "address": {"city": "北京市", "country": "cn"}, "tags": ["vip", "VIP", "b2b"],
    })
    payload = data["createCustomer"]
    assert payload["errors"] == []
    customer = payload["customer"]
    assert customer["name"] == "张三"
    assert customer["email"] == "ZhangSan@example.com"
    assert customer["phone"] == "+8613800138000"
    assert customer["address"] == {"city": "北京市", "country": "CN"}
    assert customer["tags"] == ["vip", "b2b"]
    assert customer["stage"] == "LEAD"


async def test_customer_query_returns_own_customer(api, org) -> None:
    customer = await make_customer(org, name="Ada")
    data = await api.data("query($id: ID!) { customer(id: $id) { id name } }", id=gid(customer))
    assert data["customer"] == {"id": gid(customer), "name": "Ada"}
