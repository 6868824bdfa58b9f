"""The organization the constraint tests write to, and mutation documents built from the schema."""

from __future__ import annotations

from typing import Any

from core.config import Settings
from tests.factories import Api, gid, make_customer, make_order, make_org, make_user, token_for
from tests.graphql_docs import graphql_schema

SCHEMA = graphql_schema()
MUTATION = SCHEMA.mutation_type
assert MUTATION is not None
TAKEN_EMAIL, TAKEN_REF, TAKEN_ORDER, TAKEN_TEMPLATE = (
    "taken@example.com", "taken-ref", "taken-order", "Taken Template")
TAKEN_DOMAIN, TAKEN_DEAL = "taken.example", "taken-deal"
TAKEN_PREDICTION = "taken_prediction"
TAKEN_FIELD, TAKEN_PROVIDER, TAKEN_HANDLE = "taken_field", "Taken Provider", "@taken"
Ids = dict[str, str]


def document(field: str, args: dict[str, Any]) -> str:
    """A mutation calling ``field`` with ``args`` as variables, selecting its errors."""
    definition = MUTATION.fields[field]
    declared = ", ".join(f"${n}: {definition.args[n].type}" for n in args)
    passed = ", ".join(f"{n}: ${n}" for n in args)
    errors = "errors { code field message }"
    rows = f" results {{ {errors} }}" if "results" in _payload_fields(field) else ""
    return f"mutation({declared}) {{ {field}({passed}) {{ {errors}{rows} }} }}"


def _payload_fields(field: str) -> set[str]:
    payload = MUTATION.fields[field].type
    while not hasattr(payload, "fields"):
        payload = payload.of_type
    return set(payload.fields)


def field_errors(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A payload's errors: of the whole input, and of each row of a bulk call."""
    return [*payload["errors"], *(e for row in payload.get("results") or () for e in row["errors"])]


async def make_taken(settings: Settings) -> dict[str, Any]:
    """An organization holding the values the unique rules are tested with."""
    org = await make_org()
    admin = await make_user(org)
    customer = await make_customer(org, email=TAKEN_EMAIL, external_ref=TAKEN_REF)
    order = await make_order(customer, external_ref=TAKEN_ORDER)
    return {"org": org, "token": token_for(admin, settings),
            "ids": {"customer": gid(customer), "order": gid(order)}}


async def complete(api: Api, ids: Ids) -> Ids:
    """``ids`` with a template and a webhook of the organization (made on first use)."""
    if "template" not in ids:
        made = await api.data(
            "mutation($n: String!) { createEmailTemplate(input: {name: $n, subject: \"S\","
            ' text: "T"}) { template { id } } }', n=TAKEN_TEMPLATE)
        ids["template"] = made["createEmailTemplate"]["template"]["id"]
        hook = await api.data(
            'mutation { createWebhook(input: {url: "https://hooks.invalid/x",'
            " events: [CUSTOMER_CREATED]}) { webhook { id } } }")
        ids["webhook"] = hook["createWebhook"]["webhook"]["id"]
        await api.data(
            "mutation($n: String!) { definePrediction(input: {name: $n, horizonDays: 30,"
            " outcome: {kind: TAG_ADDED, tag: \"x\"}}) { prediction { id } } }",
            n=TAKEN_PREDICTION)
    if "company" not in ids:
        await _complete_sales(api, ids)
    if "provider" not in ids:
        await _complete_channels(api, ids)
    return ids


async def _complete_channels(api: Api, ids: Ids) -> None:
    """A custom field, a chat provider, and another customer holding the taken handle."""
    made = await api.data(
        "mutation($k: String!) { defineCustomField(input: {objectType: CUSTOMER, key: $k,"
        ' label: "Taken", type: TEXT}) { field { id } } }', k=TAKEN_FIELD)
    ids["customField"] = made["defineCustomField"]["field"]["id"]
    made = await api.data(
        "mutation($n: String!) { createMessageProvider(input: {name: $n, kind: WEBHOOK,"
        ' channels: [CHAT, SOCIAL], sender: "crm", secret: "s3cret-s3cret-s3cret",'
        ' baseUrl: "https://hooks.invalid/chat"}) { provider { id } errors { message } } }',
        n=TAKEN_PROVIDER)
    ids["provider"] = made["createMessageProvider"]["provider"]["id"]
    made = await api.data('mutation { createCustomer(input: {name: "Handle holder"})'
                          " { customer { id } } }")
    ids["holder"] = made["createCustomer"]["customer"]["id"]
    await api.data(
        "mutation($c: ID!, $h: String!) { addCustomerHandle(input: {customerId: $c,"
        ' platform: "instagram", handle: $h}) { errors { message } } }',
        c=ids["holder"], h=TAKEN_HANDLE)


async def _complete_sales(api: Api, ids: Ids) -> None:
    """A company, a deal of it and a task, holding the taken domain and deal reference."""
    made = await api.data(
        "mutation($d: String!) { createCompany(input: {name: \"Taken Co\", domain: $d})"
        " { company { id } } }", d=TAKEN_DOMAIN)
    ids["company"] = made["createCompany"]["company"]["id"]
    made = await api.data(
        "mutation($r: String!, $c: ID!) { createDeal(input: {name: \"Taken\", amount: \"1\","
        " externalRef: $r, companyId: $c}) { deal { id } } }", r=TAKEN_DEAL, c=ids["company"])
    ids["deal"] = made["createDeal"]["deal"]["id"]
    made = await api.data('mutation { createTask(input: {title: "T"}) { task { id } } }')
    ids["task"] = made["createTask"]["task"]["id"]
