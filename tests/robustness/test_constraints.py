"""Validation mirrors the database: every rule the catalog holds is foreseen by the API.

The rules come from the migrated database itself (``catalog.py``: CHECK constraints, NOT NULL
columns, varchar lengths, unique constraints and indexes). Each one of a table the API writes is
either proven here (``VIOLATIONS``: an input breaking it gets a field error with the right path
and code, and nothing is written; ``KEPT_ON_NULL``: an update's null keeps the value) or met by
construction, with the reason (``SERVER_SET``, ``ENUM_BOUND``, ``SCHEMA_REQUIRED``,
``DEFAULTED``, ``IDEMPOTENT``). A new rule in none of these fails
``test_every_rule_is_foreseen``: add validation and a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLNonNull

from tests.factories import Api
from tests.robustness import catalog
from tests.robustness.constraint_calls import (
    MUTATION,
    SCHEMA,
    TAKEN_DEAL,
    TAKEN_DOMAIN,
    TAKEN_EMAIL,
    TAKEN_FIELD,
    TAKEN_HANDLE,
    TAKEN_ORDER,
    TAKEN_PREDICTION,
    TAKEN_PROVIDER,
    TAKEN_REF,
    TAKEN_TEMPLATE,
    Ids,
    complete,
    document,
    field_errors,
)
from tests.robustness.constraint_rules import (
    DEFAULTED,
    ENUM_BOUND,
    IDEMPOTENT,
    KEPT_ON_NULL,
    NOT_YET_MAPPED,
    SCHEMA_REQUIRED,
    SERVER_ONLY_TABLES,
    SERVER_SET,
)
from tests.robustness.world import organization_fingerprint, organization_tables


@dataclass(frozen=True)
class Violation:
    """A mutation call breaking one rule, and the field error it must get."""

    field: str
    args: Callable[[Ids], dict[str, Any]]
    path: tuple[str, ...]
    code: str = "BAD_USER_INPUT"


def _customer(**fields: Any) -> Violation:
    path = ("input", *next(iter(_flatten(fields))))
    return Violation("createCustomer", lambda ids: {"input": {"name": "A", **fields}}, path)


def _update_customer(name: str, value: Any = None) -> Violation:
    return Violation("updateCustomer",
                     lambda ids: {"input": {"id": ids["customer"], name: value}}, ("input", name))


def _order(name: str, value: Any, code: str = "BAD_USER_INPUT") -> Violation:
    def args(ids: Ids) -> dict[str, Any]:
        return {"input": {"customerId": ids["customer"], "amount": "1", "currency": "EUR",
                          "placedAt": "2026-01-01T00:00:00Z", name: value}}

    return Violation("createOrder", args, ("input", name), code)


def _prediction(name: str, value: Any, code: str = "BAD_USER_INPUT") -> Violation:
    given = {"name": "refund_risk", "horizonDays": 30,
             "outcome": {"kind": "ORDER_STATUS", "orderStatus": "REFUNDED"}, name: value}
    return Violation("definePrediction", lambda ids: {"input": given}, ("input", name), code)


def _update(field: str, id_key: str, name: str, value: Any = None) -> Violation:
    return Violation(field, lambda ids: {"input": {"id": ids[id_key], name: value}},
                     ("input", name))


def _template(name: str, value: Any, code: str = "BAD_USER_INPUT") -> Violation:
    return Violation("createEmailTemplate", lambda ids: {"input": {
        "name": "T", "subject": "S", "text": "x", name: value}}, ("input", name), code)


def _webhook(name: str, value: Any) -> Violation:
    return Violation("createWebhook", lambda ids: {"input": {
        "url": "https://hooks.invalid/x", "events": ["CUSTOMER_CREATED"], name: value}},
        ("input", name))


def _product(code: str = "BAD_USER_INPUT", **row: Any) -> Violation:
    """One row of upsertProducts breaking a rule: the row fails, with a path into it."""
    name = next(iter(row))
    values = {"sku": "fresh-sku", "name": "P", "price": "1", "currency": "EUR", **row}
    return Violation("upsertProducts", lambda ids: {"input": {"rows": [values]}},
                     ("input", "rows", "0", name), code)


def _company(**fields: Any) -> Violation:
    path = ("input", *next(iter(_flatten(fields))))
    return Violation("createCompany", lambda ids: {"input": {"name": "C", **fields}}, path)


def _deal(code: str = "BAD_USER_INPUT", **fields: Any) -> Violation:
    path = ("input", next(iter(fields)))
    return Violation("createDeal", lambda ids: {"input": {"name": "D", "amount": "1", **fields}},
                     path, code)


def _link(path: str, **fields: Any) -> Violation:
    return Violation("linkPersonToCompany", lambda ids: {"input": {
        "companyId": ids["company"], "customerId": ids["customer"], **fields}}, ("input", path))


def _pipeline(path: tuple[str, ...], code: str = "BAD_USER_INPUT", pipeline: str = "P",
              **stage: Any) -> Violation:
    return Violation("createPipeline", lambda ids: {"input": {"name": pipeline, "stages": [
        {"name": "S", "probability": 10, **stage}]}}, ("input", *path), code)


def _task(path: str, **fields: Any) -> Violation:
    return Violation("createTask", lambda ids: {"input": {"title": "T", **fields}},
                     ("input", path))


def _rate(name: str, value: Any) -> Violation:
    return Violation("setExchangeRate", lambda ids: {"input": {
        "currency": "GBP", "validOn": "2026-01-01", "rate": "1.2", name: value}},
        ("input", name))


def _field(name: str, value: Any, code: str = "BAD_USER_INPUT") -> Violation:
    given = {"objectType": "DEAL", "key": "fresh", "label": "F", "type": "MONEY", name: value}
    return Violation("defineCustomField", lambda ids: {"input": given}, ("input", name), code)


def _provider(name: str, value: Any, code: str = "BAD_USER_INPUT", path: str = "",
              **more: Any) -> Violation:
    given = {"name": "P", "kind": "WEBHOOK", "channels": ["CHAT"], "sender": "crm",
             "secret": "s" * 16, "baseUrl": "https://hooks.invalid/p", name: value, **more}
    return Violation("createMessageProvider", lambda ids: {"input": given},
                     ("input", path or name), code)


def _handle(path: str, code: str = "BAD_USER_INPUT", **fields: Any) -> Violation:
    return Violation("addCustomerHandle", lambda ids: {"input": {
        "customerId": ids["customer"], "platform": "instagram", "handle": "@fresh", **fields}},
        ("input", path), code)


def _flatten(fields: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(k, *_flatten(v)[0]) if isinstance(v, dict) else (k,) for k, v in fields.items()]


def _organization(name: str, value: Any) -> Violation:
    return Violation("updateOrganization", lambda ids: {"input": {name: value}},
                     ("input", name))


LONG = "x" * 3000
VIOLATIONS: dict[str, Violation] = {
    "check customer.customer_country_iso": _customer(address={"country": "XX"}),
    "check customer.customer_phone_e164": _customer(phone="12"),
    "length customer.name 200": _customer(name="n" * 201),
    "length customer.email 254": _customer(email="a" * 64 + "@" + "b" * 190 + ".com"),
    "length customer.phone 20": _customer(phone="+49" + "1" * 20),
    "length customer.company 200": _customer(company="c" * 201),
    "length customer.street 200": _customer(address={"street": "s" * 201}),
    "length customer.city 100": _customer(address={"city": "c" * 101}),
    "length customer.region 100": _customer(address={"region": "r" * 101}),
    "length customer.postal_code 20": _customer(address={"postalCode": "1" * 21}),
    "length customer.country 2": _customer(address={"country": "DEU"}),
    "length customer.external_ref 100": _customer(externalRef="r" * 101),
    "not null customer.name": _update_customer("name"),
    "unique customer.customer_email_uniq": Violation(
        "createCustomer", lambda ids: {"input": {"name": "A", "email": TAKEN_EMAIL.upper()}},
        ("input", "email"), "DUPLICATE"),
    "unique customer.customer_external_ref_uniq": Violation(
        "createCustomer", lambda ids: {"input": {"name": "A", "externalRef": TAKEN_REF}},
        ("input", "externalRef"), "DUPLICATE"),
    "check customer_order.customer_order_amount_nonneg": _order("amount", "-1"),
    "check customer_order.customer_order_currency_iso": _order("currency", "E1R"),
    "length customer_order.currency 3": _order("currency", "EURO"),
    "length customer_order.external_ref 100": _order("externalRef", "r" * 101),
    "unique customer_order.customer_order_external_ref_uniq": _order(
        "externalRef", TAKEN_ORDER, "DUPLICATE"),
    "not null customer_order.amount": _update("updateOrder", "order", "amount"),
    "not null customer_order.currency": _update("updateOrder", "order", "currency"),
    "length interaction.subject 500": Violation("logInteraction", lambda ids: {"input": {
        "customerId": ids["customer"], "channel": "NOTE", "direction": "INBOUND",
        "subject": "s" * 501}}, ("input", "subject")),
    "length email_template.name 200": _template("name", "n" * 201),
    "length email_template.subject 1000": _template("subject", "s" * 1001),
    "unique email_template.email_template_name_uniq": _template(
        "name", TAKEN_TEMPLATE.lower(), "DUPLICATE"),
    "not null email_template.name": _update("updateEmailTemplate", "template", "name"),
    "not null email_template.subject": _update("updateEmailTemplate", "template", "subject"),
    "length email_campaign.name 200": Violation("sendCampaign", lambda ids: {"input": {
        "templateId": ids["template"], "name": "n" * 201}}, ("input", "name")),
    "length email_campaign.idempotency_key 200": Violation("sendCampaign", lambda ids: {
        "input": {"templateId": ids["template"], "idempotencyKey": "k" * 201}},
        ("input", "idempotencyKey")),
    "length email_message.idempotency_key 200": Violation("sendEmail", lambda ids: {"input": {
        "customerId": ids["customer"], "subject": "S", "text": "T", "idempotencyKey": "k" * 201}},
        ("input", "idempotencyKey")),
    "length webhook.url 2000": _webhook("url", "https://hooks.invalid/" + LONG),
    "length webhook.description 500": _webhook("description", "d" * 501),
    "length webhook.secret 200": _webhook("secret", "s" * 201),
    "check product.product_currency_code": _product(currency="E1R"),
    "check product.product_name_present": _product(name="   "),
    "check product.product_price_nonneg": _product(price="-1"),
    "check product.product_sku_present": _product(sku="   "),
    "length product.category 300": _product(category="c" * 301),
    "length product.currency 3": _product(currency="EURO"),
    "length product.name 200": _product(name="n" * 201),
    "length product.sku 100": _product(sku="s" * 101),
    "not null product.name": _product(name=None),
    "not null product.price": _product(price=None),
    "not null product.currency": _product(currency=None),
    "check prediction_definition.prediction_definition_horizon_range": _prediction(
        "horizonDays", 3),
    "check prediction_definition.prediction_definition_name_format": _prediction(
        "name", "Refund Risk"),
    "length prediction_definition.name 60": _prediction("name", "n" * 61),
    "unique prediction_definition.prediction_definition_name_uniq": _prediction(
        "name", TAKEN_PREDICTION, "DUPLICATE"),
    "length api_key.name 200": Violation(
        "createApiKey", lambda ids: {"name": "n" * 201, "scopes": ["customers:read"]}, ("name",)),
    "not null api_key.name": Violation(
        "createApiKey", lambda ids: {"name": "   ", "scopes": ["customers:read"]}, ("name",)),
    "not null organization.name": _organization("name", None),
    "length organization.name 200": _organization("name", "n" * 201),
    "not null organization.currency": _organization("currency", None),
    "length organization.currency 3": _organization("currency", "EURO"),
    "check organization.organization_currency_code": _organization("currency", "E1R"),
    "not null organization.time_zone": _organization("timeZone", None),
    "length organization.time_zone 64": _organization("timeZone", "Z" * 65),
    "not null organization.locale": _organization("locale", None),
    "length organization.locale 35": _organization("locale", "en-" + "x" * 40),
}
VIOLATIONS |= {
    "length company.name 200": _company(name="n" * 201),
    "length company.domain 253": _company(domain=".".join(["a" * 63] * 4)),
    "length company.industry 100": _company(industry="i" * 101),
    "length company.street 200": _company(address={"street": "s" * 201}),
    "length company.city 100": _company(address={"city": "c" * 101}),
    "length company.region 100": _company(address={"region": "r" * 101}),
    "length company.postal_code 20": _company(address={"postalCode": "1" * 21}),
    "length company.country 2": _company(address={"country": "DEU"}),
    "not null company.name": _update("updateCompany", "company", "name"),
    "unique company.company_domain_uniq": Violation(
        "createCompany", lambda ids: {"input": {"name": "C", "domain": "WWW." + TAKEN_DOMAIN}},
        ("input", "domain"), "DUPLICATE"),
    "check company_membership.company_membership_dates_check": _link(
        "endedOn", startedOn="2026-02-01", endedOn="2026-01-01"),
    "length company_membership.title 200": _link("title", title="t" * 201),
    "length company_membership.role 100": _link("role", role="r" * 101),
    "check deal.deal_amount_check": _deal(amount="-1"),
    "check deal.deal_probability_check": _deal(probability=101),
    "length deal.currency 3": _deal(currency="EURO"),
    "length deal.name 200": _deal(name="n" * 201),
    "length deal.external_ref 100": _deal(externalRef="r" * 101),
    "length deal.lost_reason 500": Violation("createDeal", lambda ids: {"input": {
        "name": "D", "amount": "1", "status": "LOST", "lostReason": "r" * 501}},
        ("input", "lostReason")),
    "not null deal.name": _update("updateDeal", "deal", "name"),
    "not null deal.amount": _update("updateDeal", "deal", "amount"),
    "unique deal.deal_external_ref_uniq": _deal("DUPLICATE", externalRef=TAKEN_DEAL),
    "length pipeline.name 100": _pipeline(("name",), pipeline="n" * 101),
    "not null pipeline.name": _pipeline(("name",), pipeline="   "),
    "unique pipeline.pipeline_name_uniq": _pipeline(("name",), "DUPLICATE", pipeline="sales"),
    "check pipeline_stage.pipeline_stage_probability_check": _pipeline(
        ("stages", "0", "probability"), probability=101),
    "length pipeline_stage.name 100": _pipeline(("stages", "0", "name"), name="n" * 101),
    "not null pipeline_stage.name": _pipeline(("stages", "0", "name"), name=None),
    "not null pipeline_stage.probability": _pipeline(("stages", "0", "probability"),
                                                      probability=None),
    "check task.task_one_link_check": Violation("createTask", lambda ids: {"input": {
        "title": "T", "customerId": ids["customer"], "companyId": ids["company"]}},
        ("input", "companyId")),
    "length task.title 200": _task("title", title="t" * 201),
    "check exchange_rate.exchange_rate_currency_code": _rate("currency", "E1R"),
    "check exchange_rate.exchange_rate_rate_positive": _rate("rate", "0"),
    "length exchange_rate.currency 3": _rate("currency", "EURO"),
    "not null task.title": _task("title", title="   "),
    "check custom_field_definition.custom_field_definition_key_check": _field("key", "Bad Key"),
    "length custom_field_definition.key 63": _field("key", "k" * 64),
    "length custom_field_definition.label 200": _field("label", "l" * 201),
    "length custom_field_definition.currency 3": _field("currency", "EURO"),
    "not null custom_field_definition.label": _update("updateCustomField", "customField",
                                                      "label"),
    "unique custom_field_definition.custom_field_definition_key_uniq": Violation(
        "defineCustomField", lambda ids: {"input": {"objectType": "CUSTOMER", "key": TAKEN_FIELD,
                                                    "label": "T", "type": "TEXT"}},
        ("input", "key"), "DUPLICATE"),
    "check message_provider.message_provider_quiet_hours_check": _provider(
        "quietHoursStart", 24, quietHoursEnd=6),
    "check message_provider.message_provider_rate_check": _provider("ratePerSecond", 0),
    "length message_provider.name 100": _provider("name", "n" * 101),
    "length message_provider.sender 200": _provider("sender", "s" * 201),
    "length message_provider.base_url 500": _provider("baseUrl", "https://hooks.invalid/" + LONG),
    "length message_provider.account_id 200": _provider("accountId", "a" * 201),
    "length message_provider.time_zone 64": _provider("timeZone", "Z" * 65),
    "unique message_provider.message_provider_name_uniq": _provider(
        "name", TAKEN_PROVIDER.upper(), "DUPLICATE"),
    **{f"not null message_provider.{column}": _update("updateMessageProvider", "provider", name)
       for column, name in (
           ("name", "name"), ("channels", "channels"), ("sender", "sender"),
           ("credentials", "secret"), ("base_url", "baseUrl"), ("account_id", "accountId"),
           ("rate_per_second", "ratePerSecond"), ("rate_burst", "rateBurst"),
           ("time_zone", "timeZone"), ("create_leads", "createLeads"))},
    "length customer_handle.platform 50": _handle("platform", platform="p" * 51),
    "length customer_handle.handle 200": _handle("handle", handle="h" * 201),
    "unique customer_handle.customer_handle_uniq": _handle(
        "handle", "DUPLICATE", handle=TAKEN_HANDLE.upper()),
    "length channel_message.idempotency_key 200": Violation("sendMessage", lambda ids: {
        "input": {"customerId": ids["customer"], "channel": "CHAT", "text": "hi",
                  "idempotencyKey": "k" * 201}}, ("input", "idempotencyKey")),
}
FORESEEN = {**SERVER_SET, **ENUM_BOUND, **SCHEMA_REQUIRED, **DEFAULTED, **IDEMPOTENT,
            **KEPT_ON_NULL}


async def test_every_rule_is_foreseen() -> None:
    rules = await catalog.rules()
    unknown_tables = {catalog.table_of(k) for k in rules} - _api_tables(rules) - set(
        SERVER_ONLY_TABLES) - set(NOT_YET_MAPPED)
    assert not unknown_tables, (
        f"new tables {sorted(unknown_tables)}: list them in SERVER_ONLY_TABLES (with why) or"
        " make their rules foreseen below")
    api_rules = {k for k in rules
                 if catalog.table_of(k) not in SERVER_ONLY_TABLES | NOT_YET_MAPPED.keys()}
    missing = sorted(api_rules - set(VIOLATIONS) - set(FORESEEN))
    assert not missing, (
        "database rules no test proves validation foresees; add validation with a field error"
        " and a row to VIOLATIONS (or, if the server alone fills the column, to SERVER_SET"
        " with the reason):\n" + "\n".join(f"  {k}: {rules[k]}" for k in missing))
    stale = sorted((set(VIOLATIONS) | set(FORESEEN)) - set(rules))
    assert not stale, f"rows for rules the database no longer has: {stale}"
    both = sorted(set(VIOLATIONS) & set(FORESEEN))
    assert not both, f"rules both proven and said to be server-set: {both}"


def _api_tables(rules: dict[str, str]) -> set[str]:
    return {catalog.table_of(k) for k in (*VIOLATIONS, *FORESEEN)}


@pytest.mark.parametrize("key", sorted(ENUM_BOUND))
def test_enum_bound_columns_fit_every_value(key: str) -> None:
    enum = SCHEMA.type_map[ENUM_BOUND[key]]
    assert isinstance(enum, GraphQLEnumType)
    assert max(len(value) for value in enum.values) <= int(key.split(" ")[-1])


@pytest.mark.parametrize("key", sorted(SCHEMA_REQUIRED))
def test_schema_required_columns_are_non_null_inputs(key: str) -> None:
    type_name, *names = SCHEMA_REQUIRED[key].split(".")
    if type_name == "Mutation":  # an argument of a root field
        field, argument = names
        assert isinstance(MUTATION.fields[field].args[argument].type, GraphQLNonNull)
        return
    input_type = SCHEMA.type_map[type_name]
    assert isinstance(input_type, GraphQLInputObjectType)
    assert isinstance(input_type.fields[names[0]].type, GraphQLNonNull), SCHEMA_REQUIRED[key]


@pytest.mark.parametrize("key", sorted(VIOLATIONS))
async def test_input_breaking_a_rule_gets_a_field_error_and_writes_nothing(
    http: Any, taken: dict[str, Any], key: str
) -> None:
    api = Api(http, taken["token"])
    ids = await complete(api, taken["ids"])
    violation = VIOLATIONS[key]
    args = violation.args(ids)
    tables = await organization_tables()
    before = await organization_fingerprint(taken["org"].id, tables)
    body = await api(document(violation.field, args), **args)
    assert "errors" not in body, body["errors"]
    errors = field_errors(body["data"][violation.field])
    found = [(e["code"], tuple(str(p) for p in e["field"] or ())) for e in errors]
    assert (violation.code, violation.path) in found, (key, errors)
    after = await organization_fingerprint(taken["org"].id, tables)
    if violation.path[:2] == ("input", "rows"):  # a bulk call whose row failed is audited
        after.pop("audit_event"), before.pop("audit_event")
    assert after == before
