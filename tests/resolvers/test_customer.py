"""Customers through the GraphQL endpoint."""

from __future__ import annotations

import pytest

from db.enums import Role
from db.models import Customer
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.robustness.hostile import nested

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


UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id name email phone company address { city country } }
    errors { code field message }
  }
}"""


async def test_update_changes_only_given_fields_and_null_clears(api, org) -> None:
    customer = await make_customer(org, name="Old", company="ACME", city="Berlin")
    data = await api.data(UPDATE, input={"id": gid(customer), "name": "New", "company": None})
    assert data["updateCustomer"]["errors"] == []
    assert data["updateCustomer"]["customer"]["name"] == "New"
    assert data["updateCustomer"]["customer"]["company"] is None
    assert data["updateCustomer"]["customer"]["address"]["city"] == "Berlin"


async def test_duplicate_email_is_a_field_error_and_writes_nothing(api, org) -> None:
    await make_customer(org, email="taken@example.com")
    data = await api.data(CREATE, input={"name": "Second", "email": "TAKEN@example.com"})
    assert data["createCustomer"] == {
        "customer": None,
        "errors": [{"code": "DUPLICATE", "field": ["input", "email"],
                    "message": "a customer with this email already exists"}],
    }
    assert await Customer.filter(organization=org).count() == 1


async def test_same_email_in_another_organization_is_fine(api, org) -> None:
    other = await make_org()
    await make_customer(other, email="shared@example.com")
    data = await api.data(CREATE, input={"name": "Mine", "email": "shared@example.com"})
    assert data["createCustomer"]["errors"] == []


async def test_invalid_fields_are_all_reported_and_nothing_is_written(api, org) -> None:
    data = await api.data(CREATE, input={
        "name": "x" * 201, "email": "not-an-email", "phone": "12",
        "address": {"country": "XX"}, "tags": ["ok", ""],
    })
    errors = data["createCustomer"]["errors"]
    assert {tuple(e["field"]) for e in errors} == {
        ("input", "name"), ("input", "email"), ("input", "phone"),
        ("input", "address", "country"), ("input", "tags"),
    }
    assert all(e["code"] == "BAD_USER_INPUT" for e in errors)
    assert await Customer.filter(organization=org).count() == 0


async def test_national_phone_number_uses_address_country(api) -> None:
    data = await api.data(CREATE, input={
        "name": "Hans", "phone": "030 1234567", "address": {"country": "DE"}})
    assert data["createCustomer"]["customer"]["phone"] == "+49301234567"


async def test_huge_body_is_refused_as_user_input(api, org) -> None:
    data = await api.data(CREATE, input={"name": "Ok", "customFields": {"x": "y" * 20_000}})
    assert data["createCustomer"]["errors"][0]["field"] == ["input", "customFields"]
    assert await Customer.filter(organization=org).count() == 0


@pytest.mark.parametrize("custom_fields", [
    {"n": 2**64}, {"deep": nested(300)},
])
async def test_json_that_cannot_be_stored_is_a_field_error(api, org, custom_fields) -> None:
    """Found by fuzzing: integers past 64 bits and JSON nested past 254 levels were a 500."""
    data = await api.data(CREATE, input={"name": "Ok", "customFields": custom_fields})
    [error] = data["createCustomer"]["errors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "customFields"])
    assert error["message"].startswith("cannot be stored as JSON")
    assert await Customer.filter(organization=org).count() == 0


async def test_other_organizations_customer_looks_not_found(api) -> None:
    other = await make_org()
    theirs = await make_customer(other, name="Theirs")
    data = await api.data("query($id: ID!) { customer(id: $id) { id } }", id=gid(theirs))
    assert data["customer"] is None
    data = await api.data(UPDATE, input={"id": gid(theirs), "name": "Hijacked"})
    assert data["updateCustomer"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["input", "id"], "message": "customer not found"}
    ]
    await theirs.refresh_from_db()
    assert theirs.name == "Theirs"


async def test_unknown_owner_is_not_found(api, org) -> None:
    other_user = await make_user(await make_org())
    data = await api.data(CREATE, input={"name": "A", "ownerId": gid(other_user)})
    assert data["createCustomer"]["errors"][0]["code"] == "NOT_FOUND"
    assert data["createCustomer"]["errors"][0]["field"] == ["input", "ownerId"]


PAYLOAD = "{ customer { deletedAt } errors { code } }"
DELETE = "mutation($id: ID!) { deleteCustomer(id: $id) " + PAYLOAD + " }"
RESTORE = "mutation($id: ID!) { restoreCustomer(id: $id) " + PAYLOAD + " }"


async def test_soft_delete_and_restore(api, org) -> None:
    customer = await make_customer(org)
    data = await api.data(DELETE, id=gid(customer))
    assert data["deleteCustomer"]["customer"]["deletedAt"] is not None
    listed = await api.data("{ customers { totalCount } }")
    assert listed["customers"]["totalCount"] == 0
    deleted = await api.data("{ customers(filter: {deleted: true}) { nodes { id } } }")
    assert deleted["customers"]["nodes"] == [{"id": gid(customer)}]
    assert (await api.data(DELETE, id=gid(customer)))["deleteCustomer"]["errors"][0]["code"] == (
        "NOT_FOUND"
    )
    data = await api.data(RESTORE, id=gid(customer))
    assert data["restoreCustomer"]["customer"]["deletedAt"] is None
    assert (await api.data("{ customers { totalCount } }"))["customers"]["totalCount"] == 1


async def test_agent_cannot_delete(http, org, settings) -> None:
    agent = Api(http, token_for(await make_user(org, Role.AGENT), settings))
    customer = await make_customer(org)
    body = await agent(DELETE, id=gid(customer))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await customer.refresh_from_db()
    assert customer.deleted_at is None


SEARCH = "query($f: CustomerFilter) { customers(filter: $f) { nodes { name } } }"


async def test_filters(api, org) -> None:
    owner = await make_user(org)
    await make_customer(org, name="张三", email="zhang@example.cn", tags=["vip"], owner=owner)
    await make_customer(org, name="Ada Lovelace", phone="+442071234567", company="Analytical",
                        stage="CUSTOMER")
    await make_customer(org, name="Bob", email="bob_100%@example.com", tags=["vip", "b2b"])

    async def names(**f):
        data = await api.data(SEARCH, f=f)
        return sorted(n["name"] for n in data["customers"]["nodes"])

    assert await names(search="张三") == ["张三"]
    assert await names(search="LOVE") == ["Ada Lovelace"]
    assert await names(search="2071234") == ["Ada Lovelace"]
    assert await names(search="analyt") == ["Ada Lovelace"]
    assert await names(search="_100%") == ["Bob"]
    assert await names(search="%") == ["Bob"]
    assert await names(tags=["vip"]) == ["Bob", "张三"]
    assert await names(tags=["vip", "b2b"]) == ["Bob"]
    assert await names(stages=["CUSTOMER"]) == ["Ada Lovelace"]
    assert await names(ownerIds=[gid(owner)]) == ["张三"]
    assert await names(createdAfter="2000-01-01T00:00:00Z", search="bob") == ["Bob"]
    assert await names(createdBefore="2000-01-01T00:00:00Z") == []
