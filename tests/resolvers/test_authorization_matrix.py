"""Every root field of the schema, for every role and the relevant API key scopes.

The fields come from the built schema itself: a field missing from ``EXPECTED`` fails the test,
so a new operation cannot ship without a decision on who may call it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from app.graphql import build_schema
from auth.context import Context
from auth.scopes import Scope
from core.config import Settings
from db.enums import Role
from tests.factories import Api, make_org, make_user, token_for
from tests.graphql_docs import document, root_fields
from tests.security_helpers import make_key

PUBLIC = "PUBLIC"
USER_ONLY = "USER_ONLY"
V, A, M, AD = Role.VIEWER, Role.AGENT, Role.MANAGER, Role.ADMIN
CR, CW = "customers:read", "customers:write"
IR, IW = "interactions:read", "interactions:write"
OR, OW = "orders:read", "orders:write"
PDR, PDW = "products:read", "products:write"
ER, ES, PR, PII, ADM = "email:read", "email:send", "predictions:read", "pii:read", "admin"
COR, COW = "companies:read", "companies:write"
DR, DW, TR, TW = "deals:read", "deals:write", "tasks:read", "tasks:write"
MS = "messages:send"

# field -> (least user role or PUBLIC, scopes a key needs or USER_ONLY)
EXPECTED: dict[str, tuple[Role | str, tuple[str, ...] | str]] = {
    "Query.node": (V, (CR,)),  # the sample id names a Customer
    "Query.viewer": (V, USER_ONLY),
    "Query.customer": (V, (CR,)),
    "Query.customers": (V, (CR,)),
    "Query.interaction": (V, (IR,)),
    "Query.interactions": (V, (IR,)),
    "Query.order": (V, (OR,)),
    "Query.orders": (V, (OR,)),
    "Query.product": (V, (PDR,)),
    "Query.products": (V, (PDR,)),
    "Query.catalogSettings": (V, (PDR,)),
    "Query.emailTemplates": (V, (ER,)),
    "Query.emailTemplate": (V, (ER,)),
    "Query.campaign": (V, (ER,)),
    "Query.emailStats": (V, (ER,)),
    "Query.previewEmail": (A, (ES, CR)),
    "Query.savedViews": (V, USER_ONLY),
    "Mutation.saveView": (V, USER_ONLY),
    "Mutation.deleteView": (V, USER_ONLY),
    "Query.trainingRun": (V, (PR,)),
    "Query.latestTrainingRun": (V, (PR,)),
    "Query.models": (V, (PR,)),
    "Query.segments": (V, (PR,)),
    "Query.salesForecast": (V, (PR,)),
    "Query.customerStats": (V, (CR,)),
    "Query.orderStats": (V, (OR, CR)),
    "Query.apiKeys": (AD, USER_ONLY),
    "Query.auditEvents": (AD, (ADM,)),
    "Query.exportCustomerData": (M, (CR, PII)),
    "Query.customerDuplicates": (V, (CR,)),
    "Query.findDuplicateCustomers": (V, (CR,)),
    # shows personal data: users of the organization's PII roles (by default AGENT and up)
    "Query.mergeCustomersPreview": (A, (CR, PII)),
    "Query.customerMergedInto": (V, (CR,)),
    "Query.privacySettings": (V, (CR,)),
    "Mutation.updatePrivacySettings": (AD, (ADM,)),
    "Mutation.login": (PUBLIC, PUBLIC),
    "Mutation.refreshToken": (PUBLIC, PUBLIC),
    "Mutation.logout": (PUBLIC, PUBLIC),
    "Mutation.createCustomer": (A, (CW,)),
    "Mutation.updateCustomer": (A, (CW,)),
    "Mutation.deleteCustomer": (M, (CW,)),
    "Mutation.restoreCustomer": (M, (CW,)),
    "Mutation.importCustomers": (A, (CW,)),
    "Mutation.mergeCustomers": (M, (CW,)),
    "Mutation.upsertCustomers": (A, (CW,)),
    "Mutation.upsertOrders": (A, (OW, CR)),
    "Mutation.logInteraction": (A, (IW,)),
    "Mutation.createOrder": (A, (OW,)),
    "Mutation.updateOrder": (A, (OW,)),
    "Mutation.createProduct": (A, (PDW,)),
    "Mutation.updateProduct": (A, (PDW,)),
    "Mutation.upsertProducts": (A, (PDW,)),
    "Mutation.updateCatalogSettings": (AD, (ADM,)),
    "Mutation.sendEmail": (A, (ES,)),
    "Mutation.createEmailTemplate": (M, (ES,)),
    "Mutation.updateEmailTemplate": (M, (ES,)),
    "Mutation.sendCampaign": (M, (ES, CR)),
    "Mutation.cancelCampaign": (M, (ES,)),
    "Mutation.trainModels": (AD, (ADM,)),
    "Query.predictionDefinitions": (V, (PR,)),
    "Mutation.definePrediction": (AD, (ADM,)),
    "Mutation.updatePrediction": (AD, (ADM,)),
    "Mutation.deletePrediction": (AD, (ADM,)),
    "Mutation.createApiKey": (AD, USER_ONLY),
    "Mutation.revokeApiKey": (AD, USER_ONLY),
    "Mutation.eraseCustomer": (M, (CW, ADM)),
    "Query.webhooks": (AD, (ADM,)),
    "Query.webhook": (AD, (ADM,)),
    "Mutation.createWebhook": (AD, (ADM,)),
    "Mutation.updateWebhook": (AD, (ADM,)),
    "Mutation.deleteWebhook": (AD, (ADM,)),
    "Mutation.rotateWebhookSecret": (AD, (ADM,)),
    "Mutation.replayWebhookEvents": (AD, (ADM,)),
    "Query.company": (V, (COR,)),
    "Query.companies": (V, (COR,)),
    "Mutation.createCompany": (A, (COW,)),
    "Mutation.updateCompany": (A, (COW,)),
    "Mutation.deleteCompany": (M, (COW,)),
    "Mutation.restoreCompany": (M, (COW,)),
    "Mutation.linkPersonToCompany": (A, (COW, CR)),
    "Mutation.updateCompanyMembership": (A, (COW,)),
    "Mutation.removeCompanyMembership": (M, (COW,)),
    "Mutation.upsertCompanies": (A, (COW,)),
    "Query.companyDuplicates": (V, (COR,)),
    "Mutation.mergeCompanies": (M, (COW,)),
    "Query.exchangeRates": (V, (OR,)),
    "Mutation.setExchangeRate": (AD, (ADM,)),
    "Mutation.uploadExchangeRates": (AD, (ADM,)),
    "Query.pipelines": (V, (DR,)),
    "Mutation.createPipeline": (AD, (ADM,)),
    "Mutation.updatePipeline": (AD, (ADM,)),
    "Query.deal": (V, (DR,)),
    "Query.deals": (V, (DR,)),
    "Query.dealStats": (V, (DR,)),
    "Query.dealStatsBy": (V, (DR,)),
    "Query.dealForecast": (V, (DR,)),
    "Query.customFieldDefinitions": (V, ()),
    "Mutation.defineCustomField": (AD, (ADM,)),
    "Mutation.updateCustomField": (AD, (ADM,)),
    "Mutation.deleteCustomField": (AD, (ADM,)),
    "Mutation.createDeal": (A, (DW,)),
    "Mutation.updateDeal": (A, (DW,)),
    "Mutation.moveDeal": (A, (DW,)),
    "Mutation.deleteDeal": (M, (DW,)),
    "Mutation.upsertDeals": (A, (DW, COR)),
    "Query.task": (V, (TR,)),
    "Query.tasks": (V, (TR,)),
    "Query.myTasks": (V, USER_ONLY),
    "Mutation.createTask": (A, (TW,)),
    "Mutation.updateTask": (A, (TW,)),
    "Mutation.completeTask": (A, (TW,)),
    "Query.messageProviders": (AD, (ADM,)),
    "Query.messagePreview": (A, (MS,)),
    "Mutation.sendMessage": (A, (MS,)),
    "Mutation.sendMessageCampaign": (M, (MS, CR)),
    "Mutation.createMessageProvider": (AD, (ADM,)),
    "Mutation.updateMessageProvider": (AD, (ADM,)),
    "Mutation.setChannelConsent": (A, (CW,)),
    "Mutation.addCustomerHandle": (A, (CW,)),
    "Mutation.markRead": (V, USER_ONLY),
    "Subscription.interactionCreated": (V, (IR,)),
    "Subscription.interactionUpdated": (V, (IR,)),
    "Subscription.emailStatusChanged": (V, (ER,)),
    "Subscription.taskDue": (V, USER_ONLY),
    "Query.users": (M, (ADM,)),
    "Mutation.inviteUser": (AD, (ADM,)),
    "Mutation.acceptInvitation": (PUBLIC, PUBLIC),
    "Mutation.signUp": (PUBLIC, PUBLIC),  # and only where CRM_SIGNUP_ENABLED is on
    "Mutation.updateUserRole": (AD, (ADM,)),
    "Mutation.deactivateUser": (AD, (ADM,)),
    "Mutation.reactivateUser": (AD, (ADM,)),
    "Query.invitations": (AD, (ADM,)),
    "Mutation.revokeInvitation": (AD, (ADM,)),
    "Mutation.changePassword": (V, USER_ONLY),
    "Mutation.requestPasswordReset": (PUBLIC, PUBLIC),
    "Mutation.resetPassword": (PUBLIC, PUBLIC),
    "Mutation.updateOrganization": (AD, (ADM,)),
    "Mutation.updateMyPreferences": (V, USER_ONLY),
}
RANK = [V, A, M, AD]
ALL_SCOPES = tuple(s.value for s in Scope)
DENIED = {"FORBIDDEN", "UNAUTHENTICATED"}


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    return build_schema(Settings(env="test", secret_key="s" * 48))


def test_every_schema_field_has_an_expectation(schema) -> None:  # type: ignore[no-untyped-def]
    fields = set(root_fields(schema._schema))
    assert fields - set(EXPECTED) == set(), "new operations need a row in EXPECTED"
    assert set(EXPECTED) - fields == set(), "EXPECTED names operations the schema lacks"


class _NoEvents:
    """A broker whose subscriptions end at once: enough to see that a subscribe was allowed."""

    @contextlib.asynccontextmanager
    async def _empty(self) -> AsyncIterator[Any]:
        async def nothing() -> AsyncIterator[Any]:
            return
            yield

        yield nothing()

    def subscribe(self, org_id: int, accepts: Any) -> Any:
        return self._empty()


async def _outcome(schema, http, path: str, credential: str | None) -> str:  # type: ignore[no-untyped-def]
    operation, field = root_fields(schema._schema)[path]
    query, variables = document(path, field)
    if operation == "subscription":
        errors = await _subscribe(schema, query, credential)
    else:
        body = await Api(http, credential)(query, **variables)
        errors = body.get("errors") or []
    codes = {e.get("extensions", {}).get("code") for e in errors}
    return "denied" if codes & DENIED else "allowed"


async def _subscribe(schema, query: str, credential: str | None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    settings = Settings(env="test", secret_key="test-secret-" + "x" * 40)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(pubsub=_NoEvents())))
    context = Context(request=request, response=None, settings=settings,  # type: ignore[arg-type]
                      request_id="matrix")
    from auth.api_keys import viewer_for

    if credential is not None:
        context.viewer = await viewer_for(credential, settings)
    else:
        context.auth_error = None
    stream = await schema.subscribe(query, context_value=context)
    if not hasattr(stream, "__aiter__"):
        return [e.formatted for e in stream.errors or ()]
    errors: list[dict[str, Any]] = []
    async for result in stream:
        errors.extend(e.formatted for e in result.errors or ())
    return errors


@pytest.fixture(scope="module")
async def principals(settings: Settings) -> dict[str, str | None]:
    """An anonymous caller and one user of each role, all in one fresh organization."""
    org = await make_org()
    found: dict[str, str | None] = {"anonymous": None}
    for role in RANK:
        found[role.value] = token_for(await make_user(org, role=role), settings)
    found["org"] = str(org.id)
    return found


async def _key(principals: dict[str, str | None], scopes: tuple[str, ...]) -> str:
    cache = principals.setdefault("keys", {})  # type: ignore[arg-type]
    if scopes not in cache:  # type: ignore[operator]
        cache[scopes] = await make_key(int(str(principals["org"])), scopes)  # type: ignore[index]
    return cache[scopes]  # type: ignore[index,no-any-return]


@pytest.mark.parametrize("path", sorted(EXPECTED))
async def test_roles(schema, http, principals, path: str) -> None:  # type: ignore[no-untyped-def]
    least, _ = EXPECTED[path]
    anonymous = await _outcome(schema, http, path, None)
    assert anonymous == ("allowed" if least == PUBLIC else "denied"), "anonymous"
    for role in RANK:
        expected = least == PUBLIC or RANK.index(role) >= RANK.index(least)  # type: ignore[arg-type]
        got = await _outcome(schema, http, path, principals[role.value])
        assert got == ("allowed" if expected else "denied"), role


@pytest.mark.parametrize("path", sorted(EXPECTED))
async def test_key_scopes(schema, http, principals, path: str) -> None:  # type: ignore[no-untyped-def]
    _, needed = EXPECTED[path]
    if needed == PUBLIC:
        assert await _outcome(schema, http, path, await _key(principals, (CR,))) == "allowed"
        return
    if needed == USER_ONLY:
        every = await _key(principals, ALL_SCOPES)
        assert await _outcome(schema, http, path, every) == "denied", "no key, whatever scopes"
        return
    exact = await _key(principals, tuple(needed))
    assert await _outcome(schema, http, path, exact) == "allowed", needed
    for scope in needed:
        others = tuple(s for s in ALL_SCOPES if s != scope)
        assert await _outcome(schema, http, path, await _key(principals, others)) == "denied", scope


MARK = "zq-tenant-b-secret"


@pytest.fixture(scope="module")
async def other_tenant() -> dict[str, Any]:
    """Objects of another organization, each carrying a marker string."""
    from datetime import UTC, datetime

    from db.email_models import Campaign, EmailTemplate
    from db.prediction_models import TrainingRun
    from db.sql import fetch_one
    from tests.factories import gid, make_customer, make_interaction, make_order

    org = await make_org()
    customer = await make_customer(org, name=f"{MARK} person", email="zq-b@example.com")
    gone = await make_customer(org, name=f"{MARK} gone", deleted_at=datetime.now(UTC))
    interaction = await make_interaction(customer, body=f"{MARK} body")
    order = await make_order(customer)
    from db.product_models import Product

    product = await Product.create(organization=org, sku=f"{MARK}-1", name=f"{MARK} p",
                                   price=1, currency="EUR")
    template = await EmailTemplate.create(organization=org, name=f"{MARK} t", subject=MARK,
                                          text=MARK)
    campaign = await Campaign.create(organization=org, template=template, name=f"{MARK} c",
                                     status="QUEUED")
    run = await TrainingRun.create(organization=org, status="SUCCEEDED", as_of=datetime.now(UTC),
                                   horizon_days=90)
    await make_key(org.id, ("admin",))
    from db.security_models import ApiKey
    from db.webhook_models import Webhook

    webhook = await Webhook.create(organization=org, url=f"https://example.com/{MARK}",
                                   event_types=["customer.created"], secret="s" * 32)

    key = await ApiKey.filter(organization_id=org.id).first()
    assert key is not None
    from db.channel_models import MessageProvider

    provider = await MessageProvider.create(
        organization=org, name=f"{MARK} provider", kind="WEBHOOK", channels=["CHAT"],
        base_url=f"https://example.com/{MARK}", sender=MARK, credentials=MARK,
        inbound_key=f"{MARK}-{org.id}")
    sales = await _sales_objects(org, customer)
    view = await fetch_one(
        "INSERT INTO saved_view (organization_id, user_id, name, filter, order_by)"
        " VALUES ($1, $2, $3, '{}', 'NAME_ASC') RETURNING id",
        [org.id, (await make_user(org)).id, f"{MARK} view"])
    assert view is not None
    sales["user"] = await make_user(org, role=Role.AGENT)
    from db import prediction_definition as definitions

    prediction = await definitions.create(org_id=org.id, user_id=None, data={
        "name": "zq_tenant_b", "description": MARK, "horizon_days": 30,
        "outcome": {"kind": "TAG_ADDED", "tag": MARK}})
    ids = {
        "view": to_global("SavedView", view["id"]),
        "customer": gid(customer), "gone": gid(gone), "interaction": gid(interaction),
        "order": gid(order), "product": to_global("Product", product.id),
        "template": str(to_global("EmailTemplate", template.id)),
        "campaign": str(to_global("Campaign", campaign.id)),
        "run": str(to_global("TrainingRun", run.id)),
        "key": str(to_global("ApiKey", key.id)),
        "webhook": str(to_global("Webhook", webhook.id)),
        "provider": str(to_global("MessageProvider", provider.id)),
        "prediction": to_global("PredictionDefinition", prediction["id"]),
        **{name: str(to_global(type(obj).__name__, obj.id)) for name, obj in sales.items()},
        "customField": await _custom_field(org.id),
        "invitation": await _invitation(org.id),
    }
    return {"org": org, "ids": ids, "customer": customer, "gone": gone, "key": key,
            "webhook": webhook, "product": product, **sales,
            "campaign": campaign, "template": template}


async def _sales_objects(org: Any, customer: Any) -> dict[str, Any]:
    """The other tenant's company, membership, pipeline stage, deal and task."""
    from datetime import UTC, datetime

    from db.sales_models import (
        Company,
        CompanyMembership,
        Deal,
        Pipeline,
        PipelineStage,
        Task,
    )

    company = await Company.create(organization=org, name=f"{MARK} co", domain="zq.example")
    membership = await CompanyMembership.create(organization=org, company=company,
                                                customer=customer, title=MARK)
    pipeline = await Pipeline.get(organization_id=org.id, is_default=True)
    stage = await PipelineStage.filter(pipeline=pipeline).order_by("position").first()
    assert stage is not None
    deal = await Deal.create(organization=org, name=f"{MARK} deal", amount=1, currency="EUR",
                             pipeline=pipeline, stage=stage, stage_entered_at=datetime.now(UTC))
    task = await Task.create(organization=org, title=f"{MARK} task")
    twin = await Company.create(organization=org, name=f"{MARK} co")
    return {"company": company, "membership": membership, "pipeline": pipeline,
            "stage": stage, "deal": deal, "task": task, "twin": twin}


async def _custom_field(org_id: int) -> str:
    """The other tenant's custom field definition, as a global id."""
    from db.custom_field import ObjectType, create

    row = await create(org_id=org_id, object_type=ObjectType.CUSTOMER,
                       data={"key": "zq", "label": MARK, "field_type": "TEXT"})
    return to_global("CustomFieldDefinition", row["id"])


async def _invitation(org_id: int) -> str:
    """A pending invitation of the other tenant, as a global id."""
    from datetime import UTC, datetime, timedelta

    from db import account_token
    from db.team_models import TokenPurpose

    row = await account_token.create(
        org_id=org_id, purpose=TokenPurpose.INVITATION, email="zq-invited@example.com",
        token_hash="f" * 64, expires_at=datetime.now(UTC) + timedelta(days=1), role=Role.AGENT)
    return to_global("Invitation", row["id"])


def to_global(type_name: str, pk: int) -> str:
    from schema.node import to_global_id

    return str(to_global_id(type_name, pk))


# the other tenant's ids to pass, by argument name, for every field that takes an id
CROSS: dict[str, dict[str, str]] = {
    "Query.node": {"id": "customer"},
    "Query.customer": {"id": "customer"},
    "Query.interaction": {"id": "interaction"},
    "Query.order": {"id": "order"},
    "Query.emailTemplate": {"id": "template"},
    "Query.campaign": {"id": "campaign"},
    "Query.trainingRun": {"id": "run"},
    "Query.exportCustomerData": {"customerId": "customer"},
    "Query.customerDuplicates": {"customerId": "customer"},
    "Query.mergeCustomersPreview": {"primaryId": "customer", "duplicateIds": "gone"},
    "Query.customerMergedInto": {"id": "customer"},
    "Mutation.mergeCustomers": {"primaryId": "customer", "duplicateIds": "gone"},
    "Mutation.updateCustomer": {"id": "customer"},
    "Mutation.deleteCustomer": {"id": "customer"},
    "Mutation.restoreCustomer": {"id": "gone"},
    "Mutation.logInteraction": {"customerId": "customer"},
    "Mutation.createOrder": {"customerId": "customer"},
    "Mutation.updateOrder": {"id": "order"},
    "Query.product": {"id": "product"},
    "Mutation.updateProduct": {"id": "product"},
    "Mutation.sendEmail": {"customerId": "customer"},
    "Query.previewEmail": {"customerId": "customer"},
    "Mutation.deleteView": {"id": "view"},
    "Mutation.sendMessage": {"customerId": "customer"},
    "Query.messagePreview": {"customerId": "customer"},
    "Mutation.setChannelConsent": {"customerId": "customer"},
    "Mutation.addCustomerHandle": {"customerId": "customer"},
    "Mutation.markRead": {"customerId": "customer"},
    "Mutation.updateMessageProvider": {"id": "provider"},
    "Mutation.updateEmailTemplate": {"id": "template"},
    "Mutation.sendCampaign": {"templateId": "template"},
    "Mutation.cancelCampaign": {"id": "campaign"},
    "Mutation.revokeApiKey": {"id": "key"},
    "Mutation.eraseCustomer": {"customerId": "customer"},
    "Query.webhook": {"id": "webhook"},
    "Mutation.updateWebhook": {"id": "webhook"},
    "Mutation.deleteWebhook": {"id": "webhook"},
    "Mutation.rotateWebhookSecret": {"id": "webhook"},
    "Mutation.replayWebhookEvents": {"webhookId": "webhook"},
    "Query.company": {"id": "company"},
    "Query.companyDuplicates": {"companyId": "company"},
    "Mutation.mergeCompanies": {"primaryId": "company", "duplicateIds": "twin"},
    "Mutation.updateCompany": {"id": "company"},
    "Mutation.deleteCompany": {"id": "company"},
    "Mutation.restoreCompany": {"id": "company"},
    "Mutation.linkPersonToCompany": {"companyId": "company", "customerId": "customer"},
    "Mutation.updateCompanyMembership": {"id": "membership"},
    "Mutation.removeCompanyMembership": {"id": "membership"},
    "Mutation.updatePipeline": {"id": "pipeline"},
    "Query.deal": {"id": "deal"},
    "Mutation.updateDeal": {"id": "deal"},
    "Mutation.moveDeal": {"id": "deal", "stageId": "stage"},
    "Mutation.deleteDeal": {"id": "deal"},
    "Query.task": {"id": "task"},
    "Mutation.updateTask": {"id": "task"},
    "Mutation.completeTask": {"id": "task"},
    "Mutation.updateUserRole": {"id": "user"},
    "Mutation.deactivateUser": {"id": "user"},
    "Mutation.reactivateUser": {"id": "user"},
    "Mutation.revokeInvitation": {"id": "invitation"},
    "Mutation.updateCustomField": {"id": "customField"},
    "Mutation.deleteCustomField": {"id": "customField"},
    "Mutation.updatePrediction": {"id": "prediction"},
    "Mutation.deletePrediction": {"id": "prediction"},
}


def test_every_field_taking_an_id_is_tried_across_tenants(schema) -> None:  # type: ignore[no-untyped-def]
    from tests.graphql_docs import SCALAR_VALUES

    takes_id = {
        path for path, (_, field) in root_fields(schema._schema).items()
        if SCALAR_VALUES["ID"] in repr(document(path, field)[1])
    }
    assert takes_id - set(CROSS) == set()


@pytest.mark.parametrize("who", ["ADMIN", "key"])
async def test_other_tenants_ids_look_unknown_and_change_nothing(  # type: ignore[no-untyped-def]
    schema, http, principals, other_tenant, who: str
) -> None:
    credential = principals["ADMIN"] if who == "ADMIN" else await _key(principals, ALL_SCOPES)
    fields = root_fields(schema._schema)
    for path, names in CROSS.items():
        ids = {arg: other_tenant["ids"][what] for arg, what in names.items()}
        query, variables = document(path, fields[path][1], ids)
        body = await Api(http, credential)(query, **variables)
        assert MARK not in repr(body), path
        value = (body.get("data") or {}).get(path.split(".")[1])
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
        if value is not None:  # a payload: nothing but its errors
            assert set(value) <= {"__typename", "errors"}, path
            codes |= {e["code"] for e in value.get("errors") or []}
        if who == "key" and EXPECTED[path][1] == USER_ONLY:
            assert codes == {"FORBIDDEN"}, path
        else:
            assert not codes - {"NOT_FOUND", "BAD_USER_INPUT"}, (path, body)
            assert codes or value is None, path  # a mutation says why it did nothing
    await _assert_untouched(other_tenant)


async def _assert_untouched(other: dict[str, Any]) -> None:
    from db.email_models import Campaign
    from db.models import Customer, Interaction, Order
    from db.security_models import ApiKey

    customer = await Customer.get(id=other["customer"].id)
    assert (customer.name, customer.email, customer.deleted_at) == (
        other["customer"].name, "zq-b@example.com", None)
    assert (await Customer.get(id=other["gone"].id)).deleted_at is not None
    assert await Interaction.filter(customer_id=customer.id).count() == 1
    assert await Order.filter(customer_id=customer.id).count() == 1
    assert (await Campaign.get(id=other["campaign"].id)).status == "QUEUED"
    from db.product_models import Product

    product = await Product.get(id=other["product"].id)
    assert (product.name, product.active) == (other["product"].name, True)
    assert (await ApiKey.get(id=other["key"].id)).revoked_at is None
    from db.webhook_models import Webhook

    webhook = await Webhook.get(id=other["webhook"].id)
    assert (webhook.secret, webhook.enabled) == ("s" * 32, True)
    from db.sales_models import Company, CompanyMembership, Deal, Pipeline, Task

    assert (await Company.get(id=other["company"].id)).deleted_at is None
    assert (await Company.get(id=other["twin"].id)).deleted_at is None
    from db.models import User

    user = await User.get(id=other["user"].id)
    assert (user.role, user.is_active) == (Role.AGENT, True)
    from db.team_models import AccountToken

    assert await AccountToken.filter(organization_id=other["org"].id, used_at=None).count() == 1
    assert (await CompanyMembership.get(id=other["membership"].id)).title == MARK
    assert (await Pipeline.get(id=other["pipeline"].id)).name == "Sales"
    deal = await Deal.get(id=other["deal"].id)
    assert (deal.stage_id, deal.deleted_at, deal.amount) == (other["stage"].id, None, 1)
    assert (await Task.get(id=other["task"].id)).status == "OPEN"
    from db.sql import fetch_one

    assert await fetch_one("SELECT id FROM saved_view WHERE organization_id = $1",
                           [other["org"].id]) is not None
    from db.sql import fetch

    assert [r["label"] for r in await fetch(
        "SELECT label FROM custom_field_definition WHERE organization_id = $1",
        [other["org"].id])] == [MARK]
    from db import prediction_definition as definitions

    kept = await definitions.list_(org_id=other["org"].id)
    assert [(d["name"], d["horizon_days"]) for d in kept] == [("zq_tenant_b", 30)]


# Personal data: who reads it unmasked, by default and after an ADMIN changes the roles.
PERSONAL = """query($c: ID!) { customer(id: $c) {
  email phone address { street city postalCode country } customFields
  interactions(first: 1) { nodes { subject body metadata } } } }"""
CLEAR = {
    "email": "jane.doe@example.com", "phone": "+4930123456",
    "address": {"street": "Main St 1", "city": "Berlin", "postalCode": "10115", "country": "DE"},
    "customFields": {"birthday": "1990-02-03", "tier": "gold"},
    "interactions": {"nodes": [{
        "subject": "Re: offer", "body": "My IBAN is DE89...",
        "metadata": {"from": "jane.doe@example.com", "messageId": "<m1>"}}]},
}
MASKED = {
    "email": "j***@example.com", "phone": "***56",
    "address": {"street": "***", "city": "***", "postalCode": "***", "country": "DE"},
    "customFields": {"birthday": "***", "tier": "gold"},
    # the subject stays: it is the timeline's headline (write personal details in the body)
    "interactions": {"nodes": [{"subject": "Re: offer", "body": "***",
                                "metadata": {"from": "j***@example.com", "messageId": "<m1>"}}]},
}
# principal -> reads personal data, with the default settings and with piiRoles [VIEWER]
PII_EXPECTED: dict[str, tuple[bool, bool]] = {
    "VIEWER": (False, True), "AGENT": (True, False), "MANAGER": (True, False),
    "ADMIN": (True, True), "key": (False, False), "key with pii:read": (True, True),
}


async def test_personal_data_by_role_and_key(http, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import gid, make_customer, make_interaction

    org = await make_org()
    customer = await make_customer(
        org, email="jane.doe@example.com", phone="+4930123456", street="Main St 1",
        city="Berlin", postal_code="10115", country="DE",
        custom_fields={"birthday": "1990-02-03", "tier": "gold"},
    )
    await make_interaction(customer, subject="Re: offer", body="My IBAN is DE89...",
                           metadata={"from": "jane.doe@example.com", "messageId": "<m1>"})
    callers = {role.value: Api(http, token_for(await make_user(org, role=role), settings))
               for role in RANK}
    callers["key"] = Api(http, await make_key(org.id, (CR, IR)))
    callers["key with pii:read"] = Api(http, await make_key(org.id, (CR, IR, PII)))
    admin = callers["ADMIN"]
    settings_doc = """mutation($roles: [Role!]) { updatePrivacySettings(input: {
        piiRoles: $roles, personalCustomFields: ["birthday"]}) {
        privacySettings { piiRoles personalCustomFields } errors { code } } }"""
    payload = (await admin.data(settings_doc, roles=None))["updatePrivacySettings"]
    assert payload["privacySettings"] == {
        "piiRoles": ["ADMIN", "MANAGER", "AGENT"], "personalCustomFields": ["birthday"]}
    for phase in (0, 1):
        for who, reads in PII_EXPECTED.items():
            got = (await callers[who].data(PERSONAL, c=gid(customer)))["customer"]
            assert got == (CLEAR if reads[phase] else MASKED), (phase, who)
        payload = (await admin.data(settings_doc, roles=["VIEWER"]))["updatePrivacySettings"]
        assert payload["privacySettings"]["piiRoles"] == ["ADMIN", "VIEWER"]
