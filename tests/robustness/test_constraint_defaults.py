"""Database rules met by construction, proven: an update's null keeps a NOT NULL column, a null
where a default applies succeeds, a repeated idempotency key writes nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import Api
from tests.robustness.constraint_calls import MUTATION, Ids, complete, document, field_errors
from tests.robustness.constraint_rules import DEFAULTED, IDEMPOTENT, KEPT_ON_NULL
from tests.robustness.world import organization_fingerprint, organization_tables


@pytest.mark.parametrize("key", sorted(KEPT_ON_NULL))
async def test_null_in_an_update_keeps_a_not_null_column(
    http: Any, taken: dict[str, Any], key: str
) -> None:
    api = Api(http, taken["token"])
    ids = await complete(api, taken["ids"])
    field, id_key, name, payload, kept = KEPT_ON_NULL[key]
    body = await api.data(
        f"mutation($input: {MUTATION.fields[field].args['input'].type}) {{ {field}(input: $input)"
        f" {{ {payload} {{ {name} }} errors {{ code field message }} }} }}",
        input={"id": ids[id_key], name: None})
    assert body[field]["errors"] == []
    value = body[field][payload][name]
    assert value == kept if kept is not None else value is not None


def _log(**fields: Any) -> Callable[[Ids], tuple[str, dict[str, Any]]]:
    return lambda ids: ("logInteraction", {"input": {
        "customerId": ids["customer"], "channel": "NOTE", "direction": "INBOUND", **fields}})


def _campaign(**fields: Any) -> Callable[[Ids], tuple[str, dict[str, Any]]]:
    return lambda ids: ("sendCampaign", {"input": {"templateId": ids["template"], **fields}})


def _product_row(name: str, value: Any) -> Callable[[Ids], tuple[str, dict[str, Any]]]:
    row = {"sku": f"default-{name}", "name": "P", "price": "1", "currency": "EUR", name: value}
    return lambda ids: ("upsertProducts", {"input": {"rows": [row]}})


def _deal_with_null(name: str) -> Callable[[Ids], tuple[str, dict[str, Any]]]:
    return lambda ids: ("createDeal", {"input": {"name": "D", "amount": "1", name: None}})


# a call giving null where DEFAULTED says null means a default: it must succeed
NULL_DEFAULTS: dict[str, Callable[[Ids], tuple[str, dict[str, Any]]]] = {
    "not null customer.tags": lambda ids: ("createCustomer", {"input": {"name": "A",
                                                                        "tags": None}}),
    "not null customer.custom_fields": lambda ids: (
        "createCustomer", {"input": {"name": "A", "customFields": None}}),
    "not null customer_order.line_items": lambda ids: ("createOrder", {"input": {
        "customerId": ids["customer"], "amount": "1", "currency": "EUR",
        "placedAt": "2026-01-01T00:00:00Z", "lineItems": None}}),
    "not null interaction.body": _log(body=None),
    "not null interaction.occurred_at": _log(occurredAt=None),
    "not null interaction.metadata": _log(metadata=None),
    "not null email_campaign.name": _campaign(name=None),
    "not null email_campaign.customer_filter": _campaign(filter=None),
    "not null email_campaign.variables": _campaign(variables=None),
    "not null prediction_definition.description": lambda ids: ("definePrediction", {
        "input": {"name": "described", "horizonDays": 30, "description": None,
                  "outcome": {"kind": "TAG_ADDED", "tag": "x"}}}),
    **{f"not null product.{column}": _product_row(name, None)
       for column, name in (("active", "active"), ("attributes", "attributes"))},
    "not null company.custom_fields": lambda ids: (
        "createCompany", {"input": {"name": "C", "customFields": None}}),
    **{f"not null deal.{column}": _deal_with_null(name)
       for column, name in (("currency", "currency"), ("pipeline_id", "pipelineId"),
                            ("stage_id", "stageId"))},
    "not null deal.custom_fields": lambda ids: (
        "createDeal", {"input": {"name": "D", "amount": "1", "customFields": None}}),
    "not null task.notes": lambda ids: ("createTask", {"input": {"title": "T", "notes": None}}),
    "not null custom_field_definition.options": lambda ids: ("defineCustomField", {"input": {
        "objectType": "COMPANY", "key": "no_options", "label": "N", "type": "TEXT",
        "options": None}}),
}


def test_every_defaulted_rule_has_a_call() -> None:
    assert set(NULL_DEFAULTS) == set(DEFAULTED)


@pytest.mark.parametrize("key", sorted(NULL_DEFAULTS))
async def test_null_where_a_default_applies_succeeds(
    http: Any, taken: dict[str, Any], key: str
) -> None:
    api = Api(http, taken["token"])
    field, args = NULL_DEFAULTS[key](await complete(api, taken["ids"]))
    body = await api.data(document(field, args), **args)
    assert field_errors(body[field]) == [], key


@pytest.mark.parametrize(("key", "call"), [
    ("unique email_message.email_message_idempotency_uniq", lambda ids: ("sendEmail", {
        "input": {"customerId": ids["customer"], "subject": "S", "text": "T",
                  "idempotencyKey": "same-key"}})),
    ("unique email_campaign.email_campaign_idempotency_uniq", _campaign(idempotencyKey="same")),
    ("unique exchange_rate.exchange_rate_uniq", lambda ids: ("setExchangeRate", {"input": {
        "currency": "CHF", "validOn": "2026-03-01", "rate": "1.05"}})),
    ("unique channel_consent.channel_consent_uniq", lambda ids: ("setChannelConsent", {
        "input": {"customerId": ids["customer"], "channel": "SMS", "optedOut": True}})),
    ("unique channel_message.channel_message_idempotency_uniq", lambda ids: ("sendMessage", {
        "input": {"customerId": ids["holder"], "channel": "SOCIAL", "text": "hi",
                  "idempotencyKey": "same-message"}})),
])
async def test_a_repeated_idempotency_key_writes_once(
    http: Any, taken: dict[str, Any], key: str, call: Any
) -> None:
    assert key in IDEMPOTENT
    api = Api(http, taken["token"])
    field, args = call(await complete(api, taken["ids"]))
    first = await api.data(document(field, args), **args)
    tables = await organization_tables()
    before = await organization_fingerprint(taken["org"].id, tables)
    again = await api.data(document(field, args), **args)
    assert first[field]["errors"] == again[field]["errors"] == []
    after = await organization_fingerprint(taken["org"].id, tables)
    # the repeat is a successful call: audited, and nothing else
    assert {t: v for t, v in after.items() if t != "audit_event"} == {
        t: v for t, v in before.items() if t != "audit_event"}
