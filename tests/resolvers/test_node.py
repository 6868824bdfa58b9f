"""Relay node(id:) and global IDs."""

from __future__ import annotations

from tests.factories import gid, make_customer, make_interaction, make_order, make_org

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Customer { name } ... on Order { status } ... on Interaction { channel } } }"""


async def test_node_resolves_each_type(api, org, admin) -> None:
    customer = await make_customer(org, name="N")
    order, interaction = await make_order(customer), await make_interaction(customer)
    for obj, typename in ((customer, "Customer"), (order, "Order"),
                          (interaction, "Interaction"), (admin, "User")):
        data = await api.data(NODE, id=gid(obj))
        assert data["node"]["__typename"] == typename
        assert data["node"]["id"] == gid(obj)


async def test_node_of_another_organization_is_null(api) -> None:
    theirs = await make_customer(await make_org())
    assert (await api.data(NODE, id=gid(theirs)))["node"] is None


async def test_malformed_ids_are_user_errors(api) -> None:
    for bad in ("", "!!!", "Q3VzdG9tZXI6", "Q3VzdG9tZXI6YWJj", "Q3VzdG9tZXI6LTE", "x" * 200):
        body = await api(NODE, id=bad)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", bad
