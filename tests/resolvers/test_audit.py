"""Every mutation of the schema leaves an audit event when it succeeds (enumerated from it)."""

from __future__ import annotations

from typing import Any

from db.sql import fetch
from tests.factories import PASSWORD, gid, make_customer, make_order
from tests.graphql_docs import graphql_schema

# a successful call of every mutation, in an order where later ones can use earlier results
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("login", """mutation($email: String!, $password: String!) {
        login(email: $email, password: $password) { refreshToken errors { code } } }""", {}),
    ("refreshToken", """mutation($token: String!) {
        refreshToken(token: $token) { refreshToken errors { code } } }""", {}),
    ("logout", """mutation($token: String) {
        logout(refreshToken: $token) { revoked errors { code } } }""", {}),
    ("createCustomer", 'mutation { createCustomer(input: {name: "A"}) { errors { code } } }', {}),
    ("updateCustomer", """mutation($c: ID!) {
        updateCustomer(input: {id: $c, name: "B"}) { errors { code } } }""", {}),
    ("deleteCustomer", "mutation($c: ID!) { deleteCustomer(id: $c) { errors { code } } }", {}),
    ("restoreCustomer", "mutation($c: ID!) { restoreCustomer(id: $c) { errors { code } } }", {}),
    ("logInteraction", """mutation($c: ID!) { logInteraction(input: {customerId: $c,
        channel: NOTE, direction: OUTBOUND, body: "n"}) { errors { code } } }""", {}),
    ("createOrder", """mutation($c: ID!) { createOrder(input: {customerId: $c, amount: "5",
        currency: "EUR", placedAt: "2026-01-01T00:00:00Z"}) { errors { code } } }""", {}),
    ("updateOrder", """mutation($o: ID!) {
        updateOrder(input: {id: $o, status: REFUNDED}) { errors { code } } }""", {}),
    ("importCustomers", """mutation { importCustomers(input: {rows: [
        {externalRef: "imp-1", name: "Imported"}]}) { errors { code } } }""", {}),
    ("upsertCustomers", """mutation { upsertCustomers(input: {rows: [
        {externalRef: "up-1", name: "Upserted"}]}) { errors { code } } }""", {}),
    ("upsertOrders", """mutation { upsertOrders(input: {rows: [{externalRef: "o-up-1",
        customerExternalRef: "up-1", amount: "5", currency: "EUR",
        placedAt: "2026-01-01T00:00:00Z"}]}) { errors { code } } }""", {}),
    ("sendEmail", """mutation($c: ID!) { sendEmail(input: {customerId: $c, subject: "Hi",
        text: "Hello"}) { errors { code } } }""", {}),
    ("createEmailTemplate", """mutation { createEmailTemplate(input: {name: "T",
        subject: "S", text: "Body"}) { template { id } errors { code } } }""", {}),
    ("updateEmailTemplate", """mutation($t: ID!) {
        updateEmailTemplate(input: {id: $t, subject: "S2"}) { errors { code } } }""", {}),
    ("sendCampaign", """mutation($t: ID!) { sendCampaign(input: {templateId: $t}) {
        campaign { id } errors { code } } }""", {}),
    ("cancelCampaign", "mutation($k: ID!) { cancelCampaign(id: $k) { errors { code } } }", {}),
    ("createApiKey", """mutation { createApiKey(name: "k", scopes: ["admin"]) {
        apiKey { id } errors { code } } }""", {}),
    ("revokeApiKey", "mutation($a: ID!) { revokeApiKey(id: $a) { errors { code } } }", {}),
    ("createWebhook", """mutation { createWebhook(input: {url: "https://93.184.216.34/h",
        events: [CUSTOMER_CREATED]}) { webhook { id } errors { code } } }""", {}),
    ("updateWebhook", """mutation($w: ID!) {
        updateWebhook(input: {id: $w, enabled: false}) { errors { code } } }""", {}),
    ("rotateWebhookSecret", """mutation($w: ID!) {
        rotateWebhookSecret(id: $w) { errors { code } } }""", {}),
    ("replayWebhookEvents", """mutation($w: ID!) {
        replayWebhookEvents(webhookId: $w, fromSequence: 1) { errors { code } } }""", {}),
    ("deleteWebhook", "mutation($w: ID!) { deleteWebhook(id: $w) { errors { code } } }", {}),
    ("createCompany", """mutation { createCompany(input: {name: "Co"}) {
        company { id } errors { code } } }""", {}),
    ("updateCompany", """mutation($co: ID!) {
        updateCompany(input: {id: $co, industry: "Retail"}) { errors { code } } }""", {}),
    ("linkPersonToCompany", """mutation($co: ID!, $c: ID!) { linkPersonToCompany(input:
        {companyId: $co, customerId: $c}) { membership { id } errors { code } } }""", {}),
    ("updateCompanyMembership", """mutation($m: ID!) { updateCompanyMembership(input:
        {id: $m, title: "CEO"}) { errors { code } } }""", {}),
    ("removeCompanyMembership", """mutation($m: ID!) {
        removeCompanyMembership(id: $m) { errors { code } } }""", {}),
    ("deleteCompany", "mutation($co: ID!) { deleteCompany(id: $co) { errors { code } } }", {}),
    ("restoreCompany", "mutation($co: ID!) { restoreCompany(id: $co) { errors { code } } }", {}),
    ("createPipeline", """mutation { createPipeline(input: {name: "P", stages: [{name: "S",
        probability: 50}]}) { pipeline { id stages { id } } errors { code } } }""", {}),
    ("updatePipeline", """mutation($p: ID!) {
        updatePipeline(input: {id: $p, name: "P2"}) { errors { code } } }""", {}),
    ("createDeal", """mutation { createDeal(input: {name: "D", amount: "5"}) {
        deal { id } errors { code } } }""", {}),
    ("updateDeal", """mutation($dl: ID!) {
        updateDeal(input: {id: $dl, amount: "6"}) { errors { code } } }""", {}),
    ("moveDeal", """mutation($dl: ID!, $s: ID!) {
        moveDeal(input: {id: $dl, stageId: $s}) { errors { code } } }""", {}),
    ("createTask", """mutation { createTask(input: {title: "T"}) {
        task { id } errors { code } } }""", {}),
    ("updateTask", """mutation($tk: ID!) {
        updateTask(input: {id: $tk, priority: HIGH}) { errors { code } } }""", {}),
    ("completeTask", "mutation($tk: ID!) { completeTask(id: $tk) { errors { code } } }", {}),
    ("deleteDeal", "mutation($dl: ID!) { deleteDeal(id: $dl) { errors { code } } }", {}),
    ("mergeCustomers", """mutation($c: ID!, $d: ID!) {
        mergeCustomers(input: {primaryId: $c, duplicateIds: [$d]}) { errors { code } } }""", {}),
    ("eraseCustomer", """mutation($e: ID!) {
        eraseCustomer(customerId: $e) { errors { code } } }""", {}),
    ("trainModels", "mutation { trainModels { errors { code } } }", {}),
    ("definePrediction", """mutation { definePrediction(input: {name: "refund_risk",
        horizonDays: 30, outcome: {kind: ORDER_STATUS, orderStatus: REFUNDED}}) {
        prediction { id } errors { code } } }""", {}),
    ("updatePrediction", """mutation($pd: ID!) {
        updatePrediction(input: {id: $pd, horizonDays: 60}) { errors { code } } }""", {}),
    ("deletePrediction", "mutation($pd: ID!) { deletePrediction(id: $pd) { errors { code } } }",
     {}),
    ("updatePrivacySettings", """mutation { updatePrivacySettings(input: {
        personalCustomFields: ["birthday"]}) { errors { code } } }""", {}),
    ("createProduct", """mutation { createProduct(input: {sku: "P-1", name: "P", price: "1",
        currency: "EUR"}) { product { id } errors { code } } }""", {}),
    ("updateProduct", """mutation($pr: ID!) {
        updateProduct(input: {id: $pr, price: "2"}) { errors { code } } }""", {}),
    ("upsertProducts", """mutation { upsertProducts(input: {rows: [{sku: "P-2", name: "Q",
        price: "3", currency: "EUR"}]}) { errors { code } } }""", {}),
    ("updateCatalogSettings", """mutation {
        updateCatalogSettings(createUnknownProducts: true) { createUnknownProducts } }""", {}),
]


def test_every_mutation_is_covered() -> None:
    mutation = graphql_schema().mutation_type
    assert mutation is not None
    assert sorted(mutation.fields) == sorted(name for name, _, _ in CALLS)


def _declared(query: str) -> set[str]:
    head = query.split("{", 1)[0]
    return {part.split(":")[0].strip(" ($") for part in head.split("$")[1:]}


async def test_each_successful_mutation_is_audited_once(api, admin, org) -> None:  # type: ignore[no-untyped-def]
    customer, doomed = await make_customer(org, email="c@example.com"), await make_customer(org)
    given: dict[str, Any] = {"email": admin.email, "password": PASSWORD, "c": gid(customer),
                             "o": gid(await make_order(customer)), "e": gid(doomed),
                             "d": gid(await make_customer(org))}
    for action, query, _ in CALLS:
        variables = {name: given[name] for name in _declared(query)}
        data = (await api.data(query, **variables))[action]
        assert not data.get("errors"), (action, data)
        given["token"] = data.get("refreshToken") or given.get("token")
        given["t"] = (data.get("template") or {}).get("id") or given.get("t")
        given["k"] = (data.get("campaign") or {}).get("id") or given.get("k")
        given["a"] = (data.get("apiKey") or {}).get("id") or given.get("a")
        given["w"] = (data.get("webhook") or {}).get("id") or given.get("w")
        given["pr"] = (data.get("product") or {}).get("id") or given.get("pr")
        for key, name in (("co", "company"), ("m", "membership"), ("p", "pipeline"),
                          ("dl", "deal"), ("tk", "task"), ("pd", "prediction")):
            given[key] = (data.get(name) or {}).get("id") or given.get(key)
        given["s"] = ((data.get("pipeline") or {}).get("stages") or [{}])[0].get("id") or (
            given.get("s"))
    rows = await fetch("SELECT action FROM audit_event WHERE organization_id = $1 ORDER BY id",
                       [org.id])
    assert [row["action"] for row in rows] == [name for name, _, _ in CALLS]
