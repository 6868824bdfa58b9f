"""API key management, scopes, PII masking and the audit log through the GraphQL endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asyncpg.exceptions import RaiseError

from db.sql import fetch
from tests.factories import Api, gid, make_customer, make_interaction, make_user, token_for
from tests.security_helpers import make_key

CREATE_KEY = """
mutation($name: String!, $scopes: [String!]!, $expiresAt: DateTime) {
  createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {
    secret apiKey { id name prefix scopes active lastUsedAt revokedAt }
    errors { code field message }
  }
}"""
CUSTOMER = """query($id: ID!) { customer(id: $id) {
  name email phone address { street city postalCode region country } } }"""


async def test_create_list_and_revoke_a_key(api, http) -> None:  # type: ignore[no-untyped-def]
    created = (await api.data(CREATE_KEY, name="ERP", scopes=["customers:read"]))["createApiKey"]
    assert created["errors"] == []
    secret, key = created["secret"], created["apiKey"]
    assert secret.startswith(key["prefix"])
    assert key["active"]
    assert key["scopes"] == ["customers:read"]
    listed = (await api.data("{ apiKeys { id name prefix lastUsedAt } }"))["apiKeys"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert secret not in repr(listed)
    await Api(http, secret).data("{ customers { totalCount } }")
    assert (await api.data("{ apiKeys { lastUsedAt } }"))["apiKeys"][0]["lastUsedAt"]
    revoked = (await api.data(
        "mutation($id: ID!) { revokeApiKey(id: $id) {"
        " apiKey { active revokedAt } errors { code } } }",
        id=key["id"],
    ))["revokeApiKey"]
    assert revoked["apiKey"]["active"] is False
    assert revoked["apiKey"]["revokedAt"]
    body = await Api(http, secret)("{ customers { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("variables", "field"), [
    ({"name": " ", "scopes": ["customers:read"]}, "name"),
    ({"name": "k", "scopes": ["customers:everything"]}, "scopes"),
    ({"name": "k", "scopes": []}, "scopes"),
    ({"name": "k", "scopes": ["admin"], "expiresAt": "2001-01-01T00:00:00+00:00"}, "expiresAt"),
    # found by fuzzing: a naive moment was compared with an aware one (a TypeError, a 500)
    ({"name": "k", "scopes": ["admin"], "expiresAt": "2999-01-01T00:00:00"}, "expiresAt"),
])
async def test_invalid_key_requests_are_field_errors(  # type: ignore[no-untyped-def]
    api, variables: dict[str, Any], field: str
) -> None:
    payload = (await api.data(CREATE_KEY, **variables))["createApiKey"]
    assert payload["secret"] is None
    assert payload["apiKey"] is None
    assert [e["field"] for e in payload["errors"]] == [[field]]
    assert (await api.data("{ apiKeys { id } }"))["apiKeys"] == []


async def test_keys_without_pii_read_see_contact_data_masked(http, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org, name="Jane", email="jane.doe@example.com",
                                   phone="+4930123456", street="Main St 1", city="Berlin",
                                   postal_code="10115", region="BE", country="DE")
    masked = await Api(http, await make_key(org.id, ["customers:read"])).data(
        CUSTOMER, id=gid(customer))
    assert masked["customer"] == {
        "name": "Jane", "email": "j***@example.com", "phone": "***56",
        "address": {"street": "***", "city": "***", "postalCode": "***", "region": "BE",
                    "country": "DE"},
    }
    clear = await Api(http, await make_key(org.id, ["customers:read", "pii:read"])).data(
        CUSTOMER, id=gid(customer))
    assert clear["customer"]["email"] == "jane.doe@example.com"
    assert clear["customer"]["address"]["street"] == "Main St 1"


async def test_keys_without_pii_read_cannot_probe_contact_data_by_search(http, org) -> None:  # type: ignore[no-untyped-def]
    await make_customer(org, name="Jane", email="secret.person@example.com")
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
    masked = Api(http, await make_key(org.id, ["customers:read"]))
    for f in ({"search": "secret.person"}, {"and": [{"tags": []}, {"search": "secret"}]}):
        body = await masked(query, f=f)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", f
    assert (await masked.data(query, f={"tags": []}))["customers"]["totalCount"] == 1
    clear = Api(http, await make_key(org.id, ["customers:read", "pii:read"]))
    assert (await clear.data(query, f={"search": "secret.person"}))["customers"]["totalCount"] == 1


async def test_nested_fields_need_their_own_scope(http, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    await make_interaction(customer, body="private note")
    query = """query($id: ID!) { customer(id: $id) { name
      interactions(first: 5) { nodes { body } } } }"""
    body = await Api(http, await make_key(org.id, ["customers:read"]))(query, id=gid(customer))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "private note" not in repr(body)
    scopes = ["customers:read", "interactions:read", "pii:read"]  # pii:read: the body unmasked
    both = await Api(http, await make_key(org.id, scopes)).data(
        query, id=gid(customer))
    assert both["customer"]["interactions"]["nodes"] == [{"body": "private note"}]


AUDIT = """query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    nodes { action actorUserId actorApiKeyId targetType targetId changedFields requestId ip }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _events(api, **filter_: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    nodes: list[dict[str, Any]] = (await api.data(AUDIT, filter=filter_ or None, first=100))[
        "auditEvents"]["nodes"]
    return nodes


async def test_each_mutation_writes_one_audit_event_without_values(api, admin, org) -> None:  # type: ignore[no-untyped-def]
    created = (await api.data("""mutation { createCustomer(input: {name: "Ann Secret",
      email: "ann.secret@example.com", address: {city: "Oslo"}}) { customer { id } } }"""))
    customer_id = created["createCustomer"]["customer"]["id"]
    await api.data("""mutation($id: ID!) { updateCustomer(input: {id: $id, phone: "+4722334455"})
      { errors { code } } }""", id=customer_id)
    await api.data("""mutation($id: ID!) { logInteraction(input: {customerId: $id,
      channel: NOTE, direction: OUTBOUND, body: "confidential"}) { errors { code } } }""",
                   id=customer_id)
    await api.data("mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }",
                   id=customer_id)
    events = await _events(api)
    assert [e["action"] for e in events] == [
        "deleteCustomer", "logInteraction", "updateCustomer", "createCustomer"]
    create = events[-1]
    assert create["actorUserId"] == gid(admin)
    assert create["actorApiKeyId"] is None
    assert (create["targetType"], create["targetId"]) == ("Customer", customer_id)
    assert create["changedFields"] == ["input.address.city", "input.email", "input.name"]
    assert create["requestId"]
    assert len({e["requestId"] for e in events}) == 4
    assert events[2]["changedFields"] == ["input.id", "input.phone"]
    assert events[1]["targetType"] == "Interaction"
    rows = await fetch("SELECT * FROM audit_event WHERE organization_id = $1", [org.id])
    assert len(rows) == 4
    for secret in ("Ann Secret", "ann.secret", "Oslo", "4722334455", "confidential"):
        assert secret not in repr(rows)


async def test_failed_mutations_leave_no_audit_event(api) -> None:  # type: ignore[no-untyped-def]
    payload = (await api.data("""mutation { createCustomer(input: {name: ""})
      { errors { code } } }"""))["createCustomer"]
    assert payload["errors"]
    assert await _events(api) == []


async def test_key_actions_are_attributed_to_the_key(api, http, org) -> None:  # type: ignore[no-untyped-def]
    secret = await make_key(org.id, ["customers:write"])
    await Api(http, secret).data('mutation { createCustomer(input: {name: "By key"}) '
                                 "{ customer { id } } }")
    (event,) = await _events(api)
    assert event["actorUserId"] is None
    assert event["actorApiKeyId"].startswith("QXBpS2V5")


async def test_audit_events_filter_and_paginate(api, admin) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        await api.data('mutation($n: String!) { createCustomer(input: {name: $n}) '
                       "{ errors { code } } }", n=f"C{n}")
    await api.data(CREATE_KEY, name="k", scopes=["admin"])
    only = await _events(api, actions=["createApiKey"])
    assert [e["action"] for e in only] == ["createApiKey"]
    assert len(await _events(api, actorId=gid(admin))) == 4
    assert await _events(api, after=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    first = (await api.data(AUDIT, first=2))["auditEvents"]
    rest = (await api.data(AUDIT, first=2, after=first["pageInfo"]["endCursor"]))["auditEvents"]
    assert len(first["nodes"]) == 2
    assert len(rest["nodes"]) == 2
    assert not rest["pageInfo"]["hasNextPage"]


async def test_audit_events_are_per_organization(http, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_org

    one, two = await make_org(), await make_org()
    first = Api(http, token_for(await make_user(one), settings))
    second = Api(http, token_for(await make_user(two), settings))
    await first.data('mutation { createCustomer(input: {name: "x"}) { errors { code } } }')
    assert len(await _events(first)) == 1
    assert await _events(second) == []


async def test_sign_in_is_audited_with_the_user_as_actor(http, admin) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import PASSWORD

    login = """mutation($email: String!, $password: String!) {
      login(email: $email, password: $password) { accessToken errors { code } } }"""
    token = (await Api(http).data(login, email=admin.email, password=PASSWORD))["login"]
    events = await _events(Api(http, token["accessToken"]), actions=["login"])
    assert [(e["actorUserId"], e["changedFields"]) for e in events] == [
        (gid(admin), ["email", "password"])]


async def test_audit_rows_cannot_be_changed_even_in_the_database(api, org) -> None:  # type: ignore[no-untyped-def]
    await api.data('mutation { createCustomer(input: {name: "x"}) { errors { code } } }')
    with pytest.raises(RaiseError, match="cannot be changed"):
        await fetch("UPDATE audit_event SET action = 'x' WHERE organization_id = $1", [org.id])
    with pytest.raises(RaiseError, match="cannot be changed"):
        await fetch("DELETE FROM audit_event WHERE organization_id = $1", [org.id])
    assert [e["action"] for e in await _events(api)] == ["createCustomer"]


async def test_a_change_and_its_audit_event_commit_together(api, org, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from db import audit

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", failing)
    body = await api('mutation { createCustomer(input: {name: "Unaudited"}) '
                     "{ customer { id } } }")
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await fetch("SELECT id FROM customer WHERE organization_id = $1", [org.id]) == []
