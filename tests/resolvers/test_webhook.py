"""Webhooks through the GraphQL endpoint: ADMIN only, per organization, validated URLs."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from db.sql import fetch
from schema.node import to_global_id
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.security_helpers import make_key
from tests.webhook_receiver import logged, make_webhook

FIELDS = ("id url description events enabled disabledReason consecutiveFailures"
          " circuitOpenUntil lastSuccessAt")
CREATE = f"""
mutation($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{ webhook {{ {FIELDS} }} secret errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateWebhookInput!) {{
  updateWebhook(input: $input) {{ webhook {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
DELIVERIES = """
query($id: ID!, $status: WebhookDeliveryStatus) {
  webhook(id: $id) {
    id
    deliveries(first: 10, status: $status) {
      totalCount
      nodes { id status httpStatus attempt durationMs error nextAttemptAt deliveredAt
              event { id sequence type occurredAt } }
    }
  }
}"""
PUBLIC_URL = "https://93.184.216.34/hooks/crm"


async def _create(api: Api, **overrides: Any) -> dict[str, Any]:
    values = {"url": PUBLIC_URL, "events": ["CUSTOMER_CREATED", "CUSTOMER_UPDATED"]}
    data = await api.data(CREATE, input=values | overrides)
    return data["createWebhook"]  # type: ignore[no-any-return]


async def test_create_returns_the_generated_secret_once(api) -> None:
    payload = await _create(api, description="ERP")
    assert payload["errors"] == []
    assert payload["secret"].startswith("whsec_")
    assert len(payload["secret"]) >= 40
    webhook = payload["webhook"]
    assert webhook["url"] == PUBLIC_URL
    assert webhook["events"] == ["CUSTOMER_CREATED", "CUSTOMER_UPDATED"]
    assert (webhook["enabled"], webhook["consecutiveFailures"]) == (True, 0)
    body = await api("query($id: ID!) { webhook(id: $id) { secret } }", id=webhook["id"])
    assert "errors" in body  # there is no field to read it back


async def test_a_given_secret_must_be_long_enough(api) -> None:
    payload = await _create(api, secret="short")
    assert payload["webhook"] is None
    assert payload["errors"][0]["field"] == ["input", "secret"]
    given = "whsec_" + "g" * 30
    assert (await _create(api, secret=given))["secret"] == given


async def test_unsafe_urls_are_field_errors_and_nothing_is_written(api, org) -> None:
    for url in ("http://127.0.0.1:9000/hook", "http://10.1.2.3/x", "http://169.254.169.254/",
                "http://[::1]/x", "file:///etc/passwd", "http://localhost/x"):
        payload = await _create(api, url=url)
        assert payload["webhook"] is None, url
        assert payload["errors"][0]["code"] == "BAD_USER_INPUT"
        assert payload["errors"][0]["field"] == ["input", "url"], url
    assert await fetch("SELECT id FROM webhook WHERE organization_id = $1", [org.id]) == []
    no_events = await _create(api, events=[])
    assert no_events["errors"][0]["field"] == ["input", "events"]


async def test_update_disable_enable_and_url_check(api) -> None:
    webhook = (await _create(api))["webhook"]
    data = await api.data(UPDATE, input={"id": webhook["id"], "enabled": False,
                                         "events": ["ORDER_CREATED"], "description": "x"})
    updated = data["updateWebhook"]["webhook"]
    assert (updated["enabled"], updated["events"]) == (False, ["ORDER_CREATED"])
    assert updated["disabledReason"] == "disabled by an administrator"
    data = await api.data(UPDATE, input={"id": webhook["id"], "enabled": True})
    assert data["updateWebhook"]["webhook"]["disabledReason"] is None
    data = await api.data(UPDATE, input={"id": webhook["id"], "url": "http://192.168.0.1/"})
    assert data["updateWebhook"]["errors"][0]["field"] == ["input", "url"]


async def test_rotate_delete_and_list(api) -> None:
    first = await _create(api)
    second = await _create(api)
    rotated = await api.data(
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret errors { code } } }",
        id=first["webhook"]["id"])
    assert rotated["rotateWebhookSecret"]["secret"] not in (None, first["secret"])
    listed = await api.data("{ webhooks(first: 10) { totalCount nodes { id } } }")
    assert listed["webhooks"]["totalCount"] == 2
    assert [n["id"] for n in listed["webhooks"]["nodes"]] == [
        second["webhook"]["id"], first["webhook"]["id"]]
    deleted = await api.data(
        "mutation($id: ID!) { deleteWebhook(id: $id) { deletedId errors { code } } }",
        id=first["webhook"]["id"])
    assert deleted["deleteWebhook"]["deletedId"] == first["webhook"]["id"]
    gone = await api.data("query($id: ID!) { webhook(id: $id) { id } }",
                          id=first["webhook"]["id"])
    assert gone["webhook"] is None


async def test_mutation_events_carry_actor_and_request_id(api, http, admin, org) -> None:
    webhook = (await _create(api))["webhook"]
    customer = await make_customer(org, name="Before")
    response = await http.post("/graphql", headers=api.headers, json={
        "query": "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input)"
                 " { errors { code } } }",
        "variables": {"input": {"id": gid(customer), "name": "After"}},
    })
    assert response.json()["data"]["updateCustomer"]["errors"] == []
    updated = (await logged(org.id))[-1]
    assert updated["type"] == "customer.updated"
    assert updated["data"]["changes"] == {"name": {"before": "Before", "after": "After"}}
    assert updated["actor"] == gid(admin)
    assert updated["request_id"] == response.headers["x-request-id"]
    data = await api.data(DELIVERIES, id=webhook["id"], status="PENDING")
    nodes = data["webhook"]["deliveries"]["nodes"]
    assert [n["event"]["type"] for n in nodes] == ["customer.updated", "customer.created"]
    assert [n["event"]["sequence"] for n in nodes] == [2, 1]
    assert nodes[0]["status"] == "PENDING"
    assert nodes[0]["nextAttemptAt"] is not None
    assert data["webhook"]["deliveries"]["totalCount"] == 2
    delivered = await api.data(DELIVERIES, id=webhook["id"], status="DELIVERED")
    assert delivered["webhook"]["deliveries"]["nodes"] == []


async def test_an_api_key_is_the_actor_of_its_mutations(http, org) -> None:
    await make_webhook(org.id)
    key = await make_key(org.id, ("customers:write", "customers:read"))
    data = await Api(http, key).data(
        "mutation { createCustomer(input: {name: \"By key\"}) { customer { id } } }")
    assert data["createCustomer"]["customer"]["id"]
    (event,) = await logged(org.id)
    key_ids = await fetch("SELECT id FROM api_key WHERE organization_id = $1", [org.id])
    assert event["actor"] == to_global_id("ApiKey", key_ids[0]["id"])


async def test_a_mutation_refused_with_errors_logs_nothing(api, org) -> None:
    await _create(api)
    await make_customer(org, email="taken@example.com")
    before = await logged(org.id)
    data = await api.data("mutation { createCustomer(input: {name: \"Dup\","
                          " email: \"taken@example.com\"}) { errors { code } } }")
    assert data["createCustomer"]["errors"]
    assert await logged(org.id) == before


async def test_replay_queues_the_webhook_types_in_range(api, org) -> None:
    webhook = (await _create(api, events=["CUSTOMER_CREATED"]))["webhook"]
    for _ in range(4):
        await make_customer(org)
    await fetch("UPDATE webhook_delivery SET status = 'DELIVERED' WHERE organization_id = $1",
                [org.id])
    replay = """mutation($id: ID!, $from: Int!, $to: Int) {
      replayWebhookEvents(webhookId: $id, fromSequence: $from, toSequence: $to) {
        queued errors { code field } } }"""
    data = await api.data(replay, id=webhook["id"], **{"from": 2})
    assert data["replayWebhookEvents"] == {"queued": 3, "errors": []}
    again = await api.data(replay, id=webhook["id"], **{"from": 1, "to": 4})
    assert again["replayWebhookEvents"]["queued"] == 1  # the other three are already waiting
    bad = await api.data(replay, id=webhook["id"], **{"from": 3, "to": 2})
    assert bad["replayWebhookEvents"]["errors"][0]["field"] == ["toSequence"]


async def test_other_organizations_webhooks_are_invisible(api) -> None:
    other = await make_org()
    theirs = to_global_id("Webhook", await make_webhook(other.id))
    data = await api.data("query($id: ID!) { webhook(id: $id) { id } node(id: $id) { id } }",
                          id=theirs)
    assert data == {"webhook": None, "node": None}
    listed = await api.data("{ webhooks { nodes { id } } }")
    assert theirs not in [n["id"] for n in listed["webhooks"]["nodes"]]
    data = await api.data(UPDATE, input={"id": theirs, "enabled": False})
    assert data["updateWebhook"]["errors"][0]["code"] == "NOT_FOUND"


async def test_admins_only_and_keys_need_admin(http, org, settings) -> None:
    theirs = to_global_id("Webhook", await make_webhook(org.id))
    query = "query($id: ID!) { node(id: $id) { id } webhooks { totalCount } }"
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    body = await manager(query, id=theirs)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    viewer = Api(http, token_for(await make_user(org, role=Role.VIEWER), settings))
    body = await viewer("query($id: ID!) { node(id: $id) { id } }", id=theirs)
    assert body["data"]["node"] is None
    weak = Api(http, await make_key(org.id, ("customers:read",)))
    assert (await weak(query, id=theirs))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    strong = Api(http, await make_key(org.id, ("admin",)))
    data = await strong.data(query, id=theirs)
    assert data == {"node": {"id": theirs}, "webhooks": {"totalCount": 1}}


async def test_logging_events_costs_no_extra_statement(api, org) -> None:
    from tests.statements import count_statements

    query = ("mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input)"
             " { errors { code } } }")
    customer = await make_customer(org)

    async def statements(name: str) -> int:
        with count_statements() as sent:
            await api.data(query, input={"id": gid(customer), "name": name})
        return len(sent)

    without = await statements("One")
    await _create(api)
    assert await statements("Two") == without
    assert (await logged(org.id))[-1]["data"]["changes"]["name"]["after"] == "Two"


async def test_listing_webhooks_with_deliveries_is_batched(api, org) -> None:
    from tests.statements import count_statements

    query = """{ webhooks(first: 10) { nodes { id
        deliveries(first: 2) { totalCount nodes { id event { type } } } } } }"""
    counts = []
    for _ in range(3):
        await _create(api)
        await make_customer(org)
        with count_statements() as statements:
            data = await api.data(query)
        counts.append(len(statements))
    webhooks = data["webhooks"]["nodes"]
    # the n-th webhook saw the customers created after it: 3, 2 and 1 (newest webhook first)
    assert [w["deliveries"]["totalCount"] for w in webhooks] == [1, 2, 3]
    assert [len(w["deliveries"]["nodes"]) for w in webhooks] == [1, 2, 2]
    assert counts[0] == counts[1] == counts[2], counts
