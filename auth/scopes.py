"""Scopes: what an API key may do, which scopes each role implies, what each operation needs."""

from __future__ import annotations

from enum import StrEnum

from db.enums import Role


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    INTERACTIONS_READ = "interactions:read"
    INTERACTIONS_WRITE = "interactions:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    EMAIL_READ = "email:read"
    EMAIL_SEND = "email:send"
    MESSAGES_SEND = "messages:send"
    PREDICTIONS_READ = "predictions:read"
    PII_READ = "pii:read"
    COMPANIES_READ = "companies:read"
    COMPANIES_WRITE = "companies:write"
    DEALS_READ = "deals:read"
    DEALS_WRITE = "deals:write"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    ADMIN = "admin"


S = Scope
# pii:read is no role's by rank: users read personal data by their organization's PII roles
_READ = frozenset({S.CUSTOMERS_READ, S.INTERACTIONS_READ, S.ORDERS_READ, S.PRODUCTS_READ,
                   S.EMAIL_READ, S.PREDICTIONS_READ, S.COMPANIES_READ, S.DEALS_READ,
                   S.TASKS_READ})
_WRITE = _READ | {S.CUSTOMERS_WRITE, S.INTERACTIONS_WRITE, S.ORDERS_WRITE, S.PRODUCTS_WRITE,
                  S.EMAIL_SEND, S.MESSAGES_SEND, S.COMPANIES_WRITE, S.DEALS_WRITE, S.TASKS_WRITE}
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _READ,
    Role.AGENT: _WRITE,
    Role.MANAGER: _WRITE,
    Role.ADMIN: _WRITE | {S.ADMIN},
}

# Operations only a signed-in person may call, never a key (they are about the person).
USER_ONLY = frozenset({"Query.viewer", "Query.apiKeys", "Mutation.createApiKey",
                       "Mutation.revokeApiKey", "Query.myTasks",
                       "Query.savedViews", "Mutation.saveView", "Mutation.deleteView",
                       "Mutation.markRead", "Mutation.changePassword",
                       "Mutation.updateMyPreferences", "Subscription.taskDue"})
# Operations anyone may call (they create the credentials).
PUBLIC = frozenset({"Mutation.login", "Mutation.refreshToken", "Mutation.logout",
                    "Mutation.acceptInvitation", "Mutation.requestPasswordReset",
                    "Mutation.resetPassword", "Mutation.signUp"})

# What an API key needs for each root field: all of the listed scopes.
FIELD_SCOPES: dict[str, tuple[Scope, ...]] = {
    "Query.node": (),  # checked per object type by the node guard
    "Query.customer": (S.CUSTOMERS_READ,),
    "Query.customers": (S.CUSTOMERS_READ,),
    "Query.interaction": (S.INTERACTIONS_READ,),
    "Query.interactions": (S.INTERACTIONS_READ,),
    "Query.order": (S.ORDERS_READ,),
    "Query.orders": (S.ORDERS_READ,),
    "Query.product": (S.PRODUCTS_READ,),
    "Query.products": (S.PRODUCTS_READ,),
    "Query.catalogSettings": (S.PRODUCTS_READ,),
    "Query.emailTemplates": (S.EMAIL_READ,),
    "Query.emailTemplate": (S.EMAIL_READ,),
    "Query.campaign": (S.EMAIL_READ,),
    "Query.emailStats": (S.EMAIL_READ,),
    # renders the customer's fields into the content, as sendEmail would
    "Query.previewEmail": (S.EMAIL_SEND, S.CUSTOMERS_READ),
    "Query.trainingRun": (S.PREDICTIONS_READ,),
    "Query.latestTrainingRun": (S.PREDICTIONS_READ,),
    "Query.models": (S.PREDICTIONS_READ,),
    "Query.segments": (S.PREDICTIONS_READ,),
    "Query.predictionDefinitions": (S.PREDICTIONS_READ,),
    "Query.salesForecast": (S.PREDICTIONS_READ,),
    "Query.customerStats": (S.CUSTOMERS_READ,),
    # its customer filter and groupings reveal customer fields too
    "Query.orderStats": (S.ORDERS_READ, S.CUSTOMERS_READ),
    "Query.auditEvents": (S.ADMIN,),
    "Query.exportCustomerData": (S.CUSTOMERS_READ, S.PII_READ),
    "Query.customerDuplicates": (S.CUSTOMERS_READ,),
    "Query.findDuplicateCustomers": (S.CUSTOMERS_READ,),
    # shows the merged record and every conflicting value: contact data unmasked
    "Query.mergeCustomersPreview": (S.CUSTOMERS_READ, S.PII_READ),
    "Query.customerMergedInto": (S.CUSTOMERS_READ,),
    "Query.privacySettings": (S.CUSTOMERS_READ,),
    "Mutation.updatePrivacySettings": (S.ADMIN,),
    "Mutation.createCustomer": (S.CUSTOMERS_WRITE,),
    "Mutation.updateCustomer": (S.CUSTOMERS_WRITE,),
    "Mutation.deleteCustomer": (S.CUSTOMERS_WRITE,),
    "Mutation.restoreCustomer": (S.CUSTOMERS_WRITE,),
    "Mutation.importCustomers": (S.CUSTOMERS_WRITE,),
    "Mutation.mergeCustomers": (S.CUSTOMERS_WRITE,),
    "Mutation.upsertCustomers": (S.CUSTOMERS_WRITE,),
    # rows name their customer by email or external reference: a lookup of customers
    "Mutation.upsertOrders": (S.ORDERS_WRITE, S.CUSTOMERS_READ),
    "Mutation.eraseCustomer": (S.CUSTOMERS_WRITE, S.ADMIN),
    "Mutation.logInteraction": (S.INTERACTIONS_WRITE,),
    "Mutation.createOrder": (S.ORDERS_WRITE,),
    "Mutation.updateOrder": (S.ORDERS_WRITE,),
    "Mutation.createProduct": (S.PRODUCTS_WRITE,),
    "Mutation.updateProduct": (S.PRODUCTS_WRITE,),
    "Mutation.upsertProducts": (S.PRODUCTS_WRITE,),
    "Mutation.updateCatalogSettings": (S.ADMIN,),
    "Mutation.sendEmail": (S.EMAIL_SEND,),
    "Mutation.createEmailTemplate": (S.EMAIL_SEND,),
    "Mutation.updateEmailTemplate": (S.EMAIL_SEND,),
    "Mutation.sendCampaign": (S.EMAIL_SEND, S.CUSTOMERS_READ),  # selects by a customer filter
    "Mutation.cancelCampaign": (S.EMAIL_SEND,),
    "Mutation.sendMessage": (S.MESSAGES_SEND,),
    "Mutation.sendMessageCampaign": (S.MESSAGES_SEND, S.CUSTOMERS_READ),  # a customer filter
    "Query.messagePreview": (S.MESSAGES_SEND,),
    "Query.messageProviders": (S.ADMIN,),
    "Mutation.createMessageProvider": (S.ADMIN,),
    "Mutation.updateMessageProvider": (S.ADMIN,),
    # a consent or a handle is part of the customer record
    "Mutation.setChannelConsent": (S.CUSTOMERS_WRITE,),
    "Mutation.addCustomerHandle": (S.CUSTOMERS_WRITE,),
    "Mutation.trainModels": (S.ADMIN,),
    "Mutation.definePrediction": (S.ADMIN,),
    "Mutation.updatePrediction": (S.ADMIN,),
    "Mutation.deletePrediction": (S.ADMIN,),
    "Query.webhooks": (S.ADMIN,),
    "Query.webhook": (S.ADMIN,),
    "Mutation.createWebhook": (S.ADMIN,),
    "Mutation.updateWebhook": (S.ADMIN,),
    "Mutation.deleteWebhook": (S.ADMIN,),
    "Mutation.rotateWebhookSecret": (S.ADMIN,),
    "Mutation.replayWebhookEvents": (S.ADMIN,),
    "Query.company": (S.COMPANIES_READ,),
    "Query.companies": (S.COMPANIES_READ,),
    "Mutation.createCompany": (S.COMPANIES_WRITE,),
    "Mutation.updateCompany": (S.COMPANIES_WRITE,),
    "Mutation.deleteCompany": (S.COMPANIES_WRITE,),
    "Mutation.restoreCompany": (S.COMPANIES_WRITE,),
    # a membership names a customer: a lookup of customers
    "Mutation.linkPersonToCompany": (S.COMPANIES_WRITE, S.CUSTOMERS_READ),
    "Mutation.updateCompanyMembership": (S.COMPANIES_WRITE,),
    "Mutation.removeCompanyMembership": (S.COMPANIES_WRITE,),
    "Mutation.upsertCompanies": (S.COMPANIES_WRITE,),
    "Query.companyDuplicates": (S.COMPANIES_READ,),
    "Mutation.mergeCompanies": (S.COMPANIES_WRITE,),
    "Query.exchangeRates": (S.ORDERS_READ,),
    "Mutation.setExchangeRate": (S.ADMIN,),
    "Mutation.uploadExchangeRates": (S.ADMIN,),
    "Query.pipelines": (S.DEALS_READ,),
    "Mutation.createPipeline": (S.ADMIN,),
    "Mutation.updatePipeline": (S.ADMIN,),
    "Query.deal": (S.DEALS_READ,),
    "Query.deals": (S.DEALS_READ,),
    "Query.dealStats": (S.DEALS_READ,),
    "Query.dealStatsBy": (S.DEALS_READ,),
    "Query.dealForecast": (S.DEALS_READ,),
    # the fields' names and types, none of their values
    "Query.customFieldDefinitions": (),
    "Mutation.defineCustomField": (S.ADMIN,),
    "Mutation.updateCustomField": (S.ADMIN,),
    "Mutation.deleteCustomField": (S.ADMIN,),
    "Mutation.createDeal": (S.DEALS_WRITE,),
    "Mutation.updateDeal": (S.DEALS_WRITE,),
    "Mutation.moveDeal": (S.DEALS_WRITE,),
    "Mutation.deleteDeal": (S.DEALS_WRITE,),
    # rows may name their company by domain or name: a lookup of companies
    "Mutation.upsertDeals": (S.DEALS_WRITE, S.COMPANIES_READ),
    "Query.task": (S.TASKS_READ,),
    "Query.tasks": (S.TASKS_READ,),
    "Mutation.createTask": (S.TASKS_WRITE,),
    "Mutation.updateTask": (S.TASKS_WRITE,),
    "Mutation.completeTask": (S.TASKS_WRITE,),
    "Query.users": (S.ADMIN,),
    "Mutation.inviteUser": (S.ADMIN,),
    "Mutation.updateUserRole": (S.ADMIN,),
    "Mutation.deactivateUser": (S.ADMIN,),
    "Mutation.reactivateUser": (S.ADMIN,),
    "Query.invitations": (S.ADMIN,),
    "Mutation.revokeInvitation": (S.ADMIN,),
    "Mutation.updateOrganization": (S.ADMIN,),
    "Subscription.interactionCreated": (S.INTERACTIONS_READ,),
    "Subscription.interactionUpdated": (S.INTERACTIONS_READ,),
    "Subscription.emailStatusChanged": (S.EMAIL_READ,),
}

# Nested fields that reach another domain's data need that domain's scope too.
NESTED_SCOPES: dict[str, Scope] = {
    "Customer.interactions": S.INTERACTIONS_READ,
    "Customer.orders": S.ORDERS_READ,
    "Customer.lifetimeValue": S.ORDERS_READ,
    "Customer.lifetimeValueConverted": S.ORDERS_READ,
    "Customer.orderCount": S.ORDERS_READ,
    "Customer.lastOrderAt": S.ORDERS_READ,
    "Customer.prediction": S.PREDICTIONS_READ,
    "Customer.scores": S.PREDICTIONS_READ,
    "Customer.recommendations": S.PREDICTIONS_READ,
    "Interaction.customer": S.CUSTOMERS_READ,
    "Interaction.email": S.EMAIL_READ,
    "Customer.conversation": S.INTERACTIONS_READ,
    "Customer.unreadCount": S.INTERACTIONS_READ,
    "Order.customer": S.CUSTOMERS_READ,
    "LineItem.product": S.PRODUCTS_READ,
    "Customer.companies": S.COMPANIES_READ,
    "Company.people": S.CUSTOMERS_READ,
    "Company.deals": S.DEALS_READ,
    "CompanyMembership.person": S.CUSTOMERS_READ,
    "CompanyMembership.company": S.COMPANIES_READ,
    "Deal.company": S.COMPANIES_READ,
    "Deal.people": S.CUSTOMERS_READ,
    "Task.customer": S.CUSTOMERS_READ,
    "Task.company": S.COMPANIES_READ,
    "Task.deal": S.DEALS_READ,
}

# The scope ``node(id)`` needs, by the type the id names.
NODE_SCOPES: dict[str, Scope] = {
    "Customer": S.CUSTOMERS_READ,
    "Interaction": S.INTERACTIONS_READ,
    "Order": S.ORDERS_READ,
    "Product": S.PRODUCTS_READ,
    "User": S.ADMIN,
    "EmailTemplate": S.EMAIL_READ,
    "Campaign": S.EMAIL_READ,
    "TrainingRun": S.PREDICTIONS_READ,
    "Webhook": S.ADMIN,
    "Company": S.COMPANIES_READ,
    "CompanyMembership": S.COMPANIES_READ,
    "Pipeline": S.DEALS_READ,
    "PipelineStage": S.DEALS_READ,
    "Deal": S.DEALS_READ,
    "Task": S.TASKS_READ,
}


def parse_scopes(names: list[str]) -> frozenset[Scope]:
    """The scopes named; ValueError names the first unknown one."""
    known = {s.value: s for s in Scope}
    for name in names:
        if name not in known:
            raise ValueError(f"unknown scope {name!r}")
    return frozenset(known[name] for name in names)


def required(field: str) -> tuple[Scope, ...] | None:
    """What a key needs for root ``field`` (``Type.field``); None: no key may call it."""
    if field in USER_ONLY:
        return None
    return FIELD_SCOPES.get(field, (S.ADMIN,))
