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


async def test_node_resolves_email_and_training_objects(api, org) -> None:
    from datetime import UTC, datetime

    from db import prediction as predictions
    from schema.node import to_global_id
    from tests.email_helpers import make_template

    template = await make_template(org, name="Welcome")
    other = await make_template(await make_org())
    query = "query($id: ID!) { node(id: $id) { __typename ... on EmailTemplate { name } } }"
    found = await api.data(query, id=to_global_id("EmailTemplate", template["id"]))
    assert found["node"] == {"__typename": "EmailTemplate", "name": "Welcome"}
    assert (await api.data(query, id=to_global_id("EmailTemplate", other["id"])))["node"] is None
    # a run row only: no worker process is started for it
    row, _ = await predictions.start_run(org_id=org.id, user_id=None, as_of=datetime.now(UTC),
                                         horizon_days=90, backtest=False)
    run_id = to_global_id("TrainingRun", row["id"])
    node = await api.data("query($id: ID!) { node(id: $id) { __typename id } }", id=run_id)
    assert node["node"] == {"__typename": "TrainingRun", "id": run_id}
