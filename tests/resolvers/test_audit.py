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
    ("createMessageProvider", """mutation { createMessageProvider(input: {name: "Chat",
        kind: WEBHOOK, channels: [CHAT, SMS], sender: "shop", secret: "s3cret-s3cret-s3cret",
        baseUrl: "https://93.184.216.34/chat"}) { provider { id } errors { code } } }""", {}),
    ("updateMessageProvider", """mutation($mp: ID!) { updateMessageProvider(input:
        {id: $mp, rateBurst: 5}) { errors { code } } }""", {}),
    ("addCustomerHandle", """mutation($c: ID!) { addCustomerHandle(input: {customerId: $c,
        platform: "chat", handle: "visitor-1"}) { errors { code } } }""", {}),
    ("setChannelConsent", """mutation($c: ID!) { setChannelConsent(input: {customerId: $c,
        channel: CHAT, optedOut: false}) { errors { code } } }""", {}),
    ("sendMessage", """mutation($c: ID!) { sendMessage(input: {customerId: $c, channel: CHAT,
        text: "Hello"}) { errors { code } } }""", {}),
    ("markRead", "mutation($c: ID!) { markRead(customerId: $c) { errors { code } } }", {}),
    ("sendMessageCampaign", """mutation { sendMessageCampaign(input: {channel: SMS,
        text: "Sale"}) { queued errors { code } } }""", {}),
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
    ("mergeCompanies", """mutation($co: ID!, $co2: ID!) { mergeCompanies(input: {primaryId: $co,
        duplicateIds: [$co2]}) { errors { code } } }""", {}),
    ("deleteCompany", "mutation($co: ID!) { deleteCompany(id: $co) { errors { code } } }", {}),
    ("restoreCompany", "mutation($co: ID!) { restoreCompany(id: $co) { errors { code } } }", {}),
    ("upsertCompanies", """mutation { upsertCompanies(input: {rows: [{name: "Up",
        domain: "up.example"}]}) { errors { code } } }""", {}),
    ("upsertDeals", """mutation { upsertDeals(input: {rows: [{externalRef: "U-1", name: "U",
        amount: "1"}]}) { errors { code } } }""", {}),
    ("setExchangeRate", """mutation { setExchangeRate(input: {currency: "GBP",
        validOn: "2026-01-01", rate: "1.17"}) { errors { code } } }""", {}),
    ("uploadExchangeRates", """mutation { uploadExchangeRates(input: {rows: [{currency: "GBP",
        validOn: "2026-02-01", rate: "1.18"}]}) { errors { code } } }""", {}),
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
    ("defineCustomField", """mutation { defineCustomField(input: {objectType: CUSTOMER,
        key: "tier", label: "Tier", type: TEXT}) { field { id } errors { code } } }""", {}),
    ("updateCustomField", """mutation($cf: ID!) {
        updateCustomField(input: {id: $cf, label: "Level"}) { errors { code } } }""", {}),
    ("deleteCustomField", """mutation($cf: ID!) {
        deleteCustomField(id: $cf) { errors { code } } }""", {}),
    ("createProduct", """mutation { createProduct(input: {sku: "P-1", name: "P", price: "1",
        currency: "EUR"}) { product { id } errors { code } } }""", {}),
    ("updateProduct", """mutation($pr: ID!) {
        updateProduct(input: {id: $pr, price: "2"}) { errors { code } } }""", {}),
    ("upsertProducts", """mutation { upsertProducts(input: {rows: [{sku: "P-2", name: "Q",
        price: "3", currency: "EUR"}]}) { errors { code } } }""", {}),
    ("updateCatalogSettings", """mutation {
        updateCatalogSettings(createUnknownProducts: true) { createUnknownProducts } }""", {}),
    ("saveView", """mutation { saveView(input: {name: "Big spenders",
        filter: {orders: {totalSpent: {gte: "100"}}}}) { view { id } errors { code } } }""", {}),
    ("deleteView", """mutation($v: ID!) { deleteView(id: $v) { errors { code } } }""", {}),
    ("inviteUser", """mutation { inviteUser(email: "invited@example.com", role: VIEWER) {
        invitation { id } errors { code } } }""", {}),
    ("revokeInvitation", """mutation($iv: ID!) { revokeInvitation(id: $iv) {
        errors { code } } }""", {}),
    ("acceptInvitation", """mutation($it: String!) { acceptInvitation(token: $it, name: "J",
        password: "long enough") { user { id } errors { code } } }""", {}),
    ("updateUserRole", """mutation($u: ID!) { updateUserRole(id: $u, role: MANAGER) {
        errors { code } } }""", {}),
    ("deactivateUser", "mutation($u: ID!) { deactivateUser(id: $u) { errors { code } } }", {}),
    ("reactivateUser", "mutation($u: ID!) { reactivateUser(id: $u) { errors { code } } }", {}),
    ("signUp", """mutation { signUp(input: {organizationName: "Audit Newco",
        email: "founder@audit-newco.example", name: "F", password: "long enough"}) {
        errors { code } } }""", {}),
    ("updateOrganization", """mutation { updateOrganization(input: {currency: "eur"}) {
        errors { code } } }""", {}),
    ("updateMyPreferences", """mutation { updateMyPreferences(input: {taskDigest: false}) {
        errors { code } } }""", {}),
    ("requestPasswordReset", """mutation($email: String!) { requestPasswordReset(email: $email)
        { errors { code } } }""", {}),
    ("resetPassword", """mutation($rt: String!) { resetPassword(token: $rt,
        password: "a new password") { errors { code } } }""", {}),
    ("changePassword", """mutation { changePassword(currentPassword: "a new password",
        newPassword: "another password") { errors { code } } }""", {}),
]


def test_every_mutation_is_covered() -> None:
    mutation = graphql_schema().mutation_type
    assert mutation is not None
    assert sorted(mutation.fields) == sorted(name for name, _, _ in CALLS)


async def _company_id(org: Any) -> str:
    from db.sales_models import Company
    from schema.node import to_global_id

    return str(to_global_id("Company", (await Company.create(organization=org, name="Twin")).id))
async def _link(org_id: int, purpose: str, email: str, user_id: int | None = None) -> str:
    """A live invitation or reset link's token (as if read from its email)."""
    from auth.account_links import INVITATION_PREFIX, RESET_PREFIX, new_token

    token, digest = new_token(INVITATION_PREFIX if purpose == "INVITATION" else RESET_PREFIX)
    await fetch(
        "INSERT INTO account_token (organization_id, purpose, email, role, user_id, token_hash,"
        " expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, now() + interval '1 hour',"
        " now())",
        [org_id, purpose, email, "AGENT" if purpose == "INVITATION" else None, user_id, digest],
    )
    return token


def _declared(query: str) -> set[str]:
    head = query.split("{", 1)[0]
    return {part.split(":")[0].strip(" ($") for part in head.split("$")[1:]}


async def test_each_successful_mutation_is_audited_once(  # type: ignore[no-untyped-def]
    api, admin, org, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "signup_enabled", True)
    customer, doomed = await make_customer(org, email="c@example.com"), await make_customer(org)
    given: dict[str, Any] = {"email": admin.email, "password": PASSWORD, "c": gid(customer),
                             "o": gid(await make_order(customer)), "e": gid(doomed),
                             "d": gid(await make_customer(org)),
                             "co2": await _company_id(org),
                             "it": await _link(org.id, "INVITATION", "joiner@example.com"),
                             "rt": await _link(org.id, "PASSWORD_RESET", admin.email, admin.id)}
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
        given["v"] = (data.get("view") or {}).get("id") or given.get("v")
        given["mp"] = (data.get("provider") or {}).get("id") or given.get("mp")
        given["u"] = (data.get("user") or {}).get("id") or given.get("u")
        for key, name in (("co", "company"), ("m", "membership"), ("p", "pipeline"),
                          ("dl", "deal"), ("tk", "task"), ("cf", "field"),
                          ("pd", "prediction"), ("iv", "invitation")):
            given[key] = (data.get(name) or {}).get("id") or given.get(key)
        given["s"] = ((data.get("pipeline") or {}).get("stages") or [{}])[0].get("id") or (
            given.get("s"))
    # signing up is audited in the organization it created
    rows = await fetch("SELECT action FROM audit_event WHERE organization_id = $1"
                       " OR organization_id = (SELECT id FROM organization"
                       " WHERE slug = 'audit-newco') ORDER BY id", [org.id])
    assert [row["action"] for row in rows] == [name for name, _, _ in CALLS]
