"""Database rules no API input can break, each with the reason (for test_constraints.py).

Rule keys are ``catalog.py``'s: ``check T.name``, ``not null T.column``, ``length T.column N``,
``unique T.index``.
"""

from __future__ import annotations

from typing import Any

# Tables no mutation writes from its input (the server, the CLI, workers or routes do).
SERVER_ONLY_TABLES: dict[str, str] = {
    "app_user": "created by the CLI (crm users create), acceptInvitation and signUp from checked"
                " inputs (email <= 254 and unused: DUPLICATE at input.email; name <= 200; the"
                " password only as a hash; tests/resolvers/test_team.py); login only reads it",
    "audit_event": "written by app/guards.py from the mutation's name and argument names",
    "refresh_token": "random tokens and hashes made by auth/tokens.py",
    "login_throttle": "failure counters keyed by hashes (auth/login_throttle.py)",
    "customer_erasure": "eraseCustomer takes an id only; the row holds ids and a time",
    "training_run": "trainModels' asOf and horizonDays are optional and range-checked"
                    " (resolvers/prediction.py); workers write the rest",
    "prediction": "written by ML workers from model output",
    "prediction_model": "written by ML workers (versions, metrics, artifacts)",
    "interaction_event": "a trigger's log of interaction changes",
    "email_inbound": "written by the inbound email route from parsed messages",
    "email_suppression": "written by bounces and the unsubscribe route",
    "email_send_bucket": "the outbox's send-rate buckets",
    "webhook_event": "the change log triggers write",
    "webhook_delivery": "the delivery worker's attempts",
    "webhook_commit": "the change log's commit order",
    "webhook_sequence": "the change log's per-organization counter",
    "webhook_prediction_band": "the prediction change detector's state",
    "recommendation_list": "written by the recommender's training (ML workers)",
    "recommendation_popular": "written by the recommender's training (ML workers)",
    "product_neighbour": "written by the recommender's training (ML workers)",
    "customer_score": "written by ML workers from custom prediction models",
    "customer_change": "written by triggers on customer (tags, stage, custom fields history)",
    "rate_limit": "the rate limiter's budgets (app/limits.py), keyed by principal",
    "channel_send_bucket": "the channel outbox's send-rate buckets, one per provider",
    "channel_inbound": "written by the provider webhook routes from verified payloads",
    "conversation_read": "markRead takes a customer id only; the row holds ids and a time",
    "account_token": "inviteUser's email is validated and its role is a Role; the rest (hash,"
                     " purpose, expiry) is made by services/email/staff.py",
    "task_event": "the reminder step's log of tasks falling due (db/task_reminder.py)",
    "search_word": "the dictionary of customers' words, kept by a trigger (migration 0022)",
}

# Tables the API writes whose rules are not mapped here yet: their resolvers validate with field
# paths, but no row below proves each database rule is foreseen. Debt, listed so it stays visible.
NOT_YET_MAPPED: dict[str, str] = {}

_FILLED = "filled by the server on every write"


def _server(table: str, *columns: str, reason: str = _FILLED) -> dict[str, str]:
    return {f"not null {table}.{c}": reason for c in columns}


# Rules of API-written tables that only the server's own values meet.
SERVER_SET: dict[str, str] = {
    **_server("customer", "id", "organization_id", "created_at", "updated_at"),
    **_server("customer_order", "id", "organization_id", "created_at", "updated_at"),
    **_server("interaction", "id", "organization_id", "created_at"),
    **_server("email_template", "id", "organization_id", "created_at", "updated_at"),
    **_server("email_campaign", "id", "organization_id", "created_at", "status", "cursor",
              "max_customer_id", "total", "queued", "skipped"),
    **_server("email_message", "id", "organization_id", "created_at", "updated_at", "status",
              "attempts", "available_at", "mime"),
    "not null email_message.kind": "set by the server: CUSTOMER, or the staff email's kind",
    "length email_message.kind 16": "an EmailKind value",
    "check email_message.email_message_kind_known": "set by the server to EmailKind values",
    "check email_message.email_message_customer_kind": "customer email is queued with its"
        " customer and interaction (db/email.py queue), staff email with neither (queue_staff)",
    **_server("webhook", "id", "organization_id", "created_at", "updated_at",
              "consecutive_failures", "circuit_trips"),
    **_server("api_key", "id", "organization_id", "created_at"),
    **_server("saved_view", "id", "organization_id", "user_id", "created_at", "updated_at"),
    "not null saved_view.name": "saveView's name: a String! of 1-100 printable characters",
    "not null saved_view.filter": "saveView's filter is a JSON! checked to be an object",
    "not null saved_view.order_by": "saveView's orderBy is a CustomerOrderBy! with a default",
    "unique saved_view.saved_view_name_uniq": "saveView replaces the user's view of that name"
                                              " (ON CONFLICT)",
    **_server("product", "id", "organization_id", "created_at", "updated_at"),
    **_server("prediction_definition", "id", "organization_id", "created_at", "updated_at",
              "status", "message"),
    "length prediction_definition.status 16": "a training outcome the server records",
    "check prediction_definition.prediction_definition_outcome_object":
        "built from PredictionOutcomeInput by db.prediction_outcome.clean (always an object)",
    "unique product.product_sku_uniq": "upsertProducts' match key: a known SKU (in any case)"
                                       " updates its product",
    "not null email_message.sender": "the organization's configured sender",
    "not null email_message.recipient": "the customer's email, validated when it was stored",
    "not null email_message.message_id": "generated (<uuid@domain>)",
    "length email_message.sender 254": "the configured sender address",
    "length email_message.recipient 254": "the customer's email (at most 254, validated)",
    "length email_message.message_id 300": "generated by make_msgid in the sender's domain",
    "length email_message.locked_by 100": "the outbox worker's id",
    "length email_message.status 16": "an EmailStatus value",
    "check email_message.email_message_attempts_nonneg": "counted up by the outbox",
    "check email_message.email_message_status_known": "set by the outbox to EmailStatus values",
    "unique email_message.email_message_interaction_id_key": "one message per new interaction",
    "unique email_message.email_message_message_id_key": "generated unique ids",
    "unique email_message.email_message_campaign_customer_uniq":
        "a campaign queues each customer once (ON CONFLICT DO NOTHING)",
    "length email_campaign.status 16": "a CampaignStatus value",
    "not null webhook.secret": "generated (whsec_...) when the input leaves it out",
    "length webhook.previous_secret 200": "a secret this API generated or accepted (<= 200)",
    "not null api_key.prefix": "generated",
    "not null api_key.secret_hash": "generated",
    "length api_key.prefix 20": "generated: the first SHOWN_PREFIX_LENGTH characters",
    "length api_key.secret_hash 64": "a SHA-256 hex digest",
    "unique api_key.api_key_secret_hash_key": "hashes of random secrets",
    # organizations are made by the CLI or signUp (off unless CRM_SIGNUP_ENABLED; its slug is
    # made from the name, cut to 100, a taken one is DUPLICATE at input.organizationName:
    # tests/resolvers/test_team.py); updatePrivacySettings writes nullable arrays only,
    # updateCatalogSettings a flag (SCHEMA_REQUIRED), updateOrganization validated settings
    # (VIOLATIONS)
    **_server("organization", "id", "slug", "created_at",
              reason="set by the CLI (crm users create / crm orgs create) or signUp"),
    "length organization.slug 100": "made from the name by db.user.slugify (cut to 100)",
    "unique organization.organization_slug_key": "the CLI reuses the organization; signUp"
                                                 " answers DUPLICATE at input.organizationName",
    # companies, pipelines, deals and tasks
    **_server("company", "id", "organization_id", "created_at", "updated_at"),
    **_server("company_membership", "id", "organization_id", "created_at", "updated_at"),
    **_server("pipeline", "id", "organization_id", "created_at", "updated_at", "is_default"),
    **_server("pipeline_stage", "id", "organization_id", "pipeline_id", "position"),
    **_server("deal", "id", "organization_id", "created_at", "updated_at", "stage_entered_at"),
    **_server("task", "id", "organization_id", "created_at", "updated_at"),
    **_server("exchange_rate", "id", "organization_id", "created_at", "updated_at"),
    **_server("deal_person", "id", "organization_id", "deal_id", "customer_id",
              reason="written from a deal's personIds, each checked to be a live customer"),
    **_server("deal_stage_change", "id", "organization_id", "deal_id", "changed_at",
              "to_stage_name", reason="recorded by the server when a deal enters a stage"),
    "length deal_stage_change.from_stage_name 100": "copied from pipeline_stage.name (<= 100)",
    "length deal_stage_change.to_stage_name 100": "copied from pipeline_stage.name (<= 100)",
    "unique deal_person.deal_person_uniq": "personIds are deduplicated before they are written",
    "unique pipeline.pipeline_default_uniq": "only the organization's first pipeline (made by a"
                                             " trigger) is the default; createPipeline's never",
    "unique company_membership.company_membership_primary_uniq":
        "a new current primary membership unsets the person's other one first",
    # custom field definitions
    **_server("custom_field_definition", "id", "organization_id", "created_at", "updated_at"),
    "check custom_field_definition.custom_field_definition_object_type_check":
        "objectType is a CustomFieldObjectType: exactly the values the check allows",
    "check custom_field_definition.custom_field_definition_type_check":
        "type is a CustomFieldType: exactly the values the check allows",
    # messaging: providers, consent, handles, queued messages
    **_server("message_provider", "id", "organization_id", "created_at", "updated_at",
              "inbound_key"),
    "length message_provider.inbound_key 64": "generated: secrets.token_urlsafe(24), 32 chars",
    "unique message_provider.message_provider_inbound_key_key": "generated random keys",
    **_server("channel_consent", "id", "organization_id", "updated_at"),
    "not null channel_consent.source": "set by the server: 'agent', or the inbound keyword",
    "length channel_consent.source 100": "set by the server, cut to 100 characters",
    **_server("customer_handle", "id", "organization_id", "created_at"),
    **_server("channel_message", "id", "organization_id", "created_at", "updated_at", "status",
              "attempts", "available_at", "encoding", "segments", "interaction_id",
              "provider_id", reason="set by sendMessage's queueing (db/channel_message.py)"),
    "not null channel_message.body": "the given text or the rendered template, refused when"
                                     " empty (input.text / input.templateId)",
    "not null channel_message.recipient": "the customer's phone or latest handle; a customer"
                                          " without one is refused (NO_ADDRESS at customerId)",
    "length channel_message.recipient 254": "a phone (<= 20) or platform:handle (<= 50+1+200)",
    "length channel_message.encoding 8": "GSM-7 or UCS-2, counted by services/messaging",
    "length channel_message.status 16": "a MessageStatus value set by the outbox",
    "length channel_message.locked_by 100": "the channel outbox worker's id",
    "length channel_message.provider_message_id 200": "a provider's id, stored by the worker"
                                                      " and the receipt routes",
    "check channel_message.channel_message_counts_check": "attempts and segments are counted"
                                                          " up from 0 by the server",
    "unique channel_message.channel_message_interaction_id_key": "one message per new"
                                                                 " interaction",
    "unique channel_message.channel_message_provider_message_uniq": "a provider's own ids,"
                                                                    " unique per provider",
}

# varchar columns holding a GraphQL enum's value: every value fits (proven by a test).
ENUM_BOUND: dict[str, str] = {
    "length customer.kind 16": "CustomerKind",
    "length customer.stage 16": "LifecycleStage",
    "length customer_order.status 16": "OrderStatus",
    "length interaction.channel 16": "Channel",
    "length interaction.direction 16": "Direction",
    "length company.size 16": "CompanySize",
    "length deal.status 8": "DealStatus",
    "length task.priority 16": "TaskPriority",
    "length task.status 16": "TaskStatus",
    "length custom_field_definition.object_type 16": "CustomFieldObjectType",
    "length custom_field_definition.field_type 16": "CustomFieldType",
    "length message_provider.kind 16": "ProviderKind",
    "length channel_consent.channel 16": "Channel",
    "length channel_message.channel 16": "Channel",
}

# NOT NULL columns whose input field (or root field argument) is non-null in the schema.
SCHEMA_REQUIRED: dict[str, str] = {
    "not null customer_order.customer_id": "CreateOrderInput.customerId",
    "not null interaction.customer_id": "LogInteractionInput.customerId",
    "not null interaction.channel": "LogInteractionInput.channel",
    "not null interaction.direction": "LogInteractionInput.direction",
    "not null email_campaign.template_id": "SendCampaignInput.templateId",
    "not null api_key.scopes": "Mutation.createApiKey.scopes",
    "not null product.sku": "ProductUpsertRow.sku",
    "not null company_membership.company_id": "LinkPersonInput.companyId",
    "not null company_membership.customer_id": "LinkPersonInput.customerId",
    "not null company_membership.is_primary": "LinkPersonInput.isPrimary",
    "not null deal.status": "CreateDealInput.status",
    "not null task.priority": "CreateTaskInput.priority",
    "not null exchange_rate.currency": "ExchangeRateInput.currency",
    "not null exchange_rate.valid_on": "ExchangeRateInput.validOn",
    "not null exchange_rate.rate": "ExchangeRateInput.rate",
    "not null prediction_definition.name": "DefinePredictionInput.name",
    "not null prediction_definition.outcome": "DefinePredictionInput.outcome",
    "not null prediction_definition.horizon_days": "DefinePredictionInput.horizonDays",
    "not null organization.create_unknown_products":
        "Mutation.updateCatalogSettings.createUnknownProducts",
    "not null custom_field_definition.object_type": "DefineCustomFieldInput.objectType",
    "not null custom_field_definition.key": "DefineCustomFieldInput.key",
    "not null custom_field_definition.field_type": "DefineCustomFieldInput.type",
    "not null message_provider.kind": "CreateMessageProviderInput.kind",
    "not null channel_consent.customer_id": "SetChannelConsentInput.customerId",
    "not null channel_consent.channel": "SetChannelConsentInput.channel",
    "not null channel_consent.opted_out": "SetChannelConsentInput.optedOut",
    "not null customer_handle.customer_id": "AddCustomerHandleInput.customerId",
    "not null customer_handle.platform": "AddCustomerHandleInput.platform",
    "not null customer_handle.handle": "AddCustomerHandleInput.handle",
    "not null channel_message.customer_id": "SendMessageInput.customerId",
    "not null channel_message.channel": "SendMessageInput.channel",
}

# NOT NULL columns where a missing or null input means a documented default, not an error.
DEFAULTED: dict[str, str] = {
    "not null customer.tags": "null clears: no tags ([])",
    "not null customer.custom_fields": "null clears: {}",
    "not null customer_order.line_items": "null or omitted: no line items ([])",
    "not null interaction.body": "null: an empty body",
    "not null interaction.occurred_at": "null: now",
    "not null interaction.metadata": "null: {}",
    "not null email_campaign.name": "null: the template's name",
    "not null email_campaign.customer_filter": "null: every consenting customer",
    "not null email_campaign.variables": "null: {}",
    "not null product.active": "null or omitted: active (true)",
    "not null product.attributes": "null or omitted: {}",
    "not null company.custom_fields": "null clears: {}",
    "not null deal.custom_fields": "null clears: {}",
    "not null deal.currency": "null or omitted: the organization's currency",
    "not null deal.pipeline_id": "null or omitted: the default pipeline (or the stage's)",
    "not null deal.stage_id": "null or omitted: the first stage of the pipeline",
    "not null task.notes": "null: no notes",
    "not null prediction_definition.description": "null or omitted: ''",
    "not null custom_field_definition.options": "null or omitted: none (a select field's"
                                                " null is refused at input.options)",
}

# Unique keys a repeated call is meant to hit: it returns the first call's result.
IDEMPOTENT: dict[str, str] = {
    "unique email_campaign.email_campaign_idempotency_uniq": "sendCampaign idempotencyKey",
    "unique email_message.email_message_idempotency_uniq": "sendEmail idempotencyKey",
    "unique exchange_rate.exchange_rate_uniq": "setExchangeRate and uploadExchangeRates: the same"
                                               " currency and day replaces that day's rate",
    "unique channel_consent.channel_consent_uniq": "setChannelConsent on the same customer and"
                                                   " channel replaces the choice (ON CONFLICT)",
    "unique channel_message.channel_message_idempotency_uniq": "sendMessage idempotencyKey",
}

# NOT NULL columns an update leaves as they are when its input gives null (a test proves it):
# key -> (mutation, id, input field, payload object, the value it keeps; None: any non-null)
KEPT_ON_NULL: dict[str, tuple[str, str, str, str, Any]] = {
    "not null customer.kind": ("updateCustomer", "customer", "kind", "customer", "PERSON"),
    "not null customer.stage": ("updateCustomer", "customer", "stage", "customer", "LEAD"),
    "not null customer.email_opt_out": (
        "updateCustomer", "customer", "emailOptOut", "customer", False),
    "not null customer_order.status": ("updateOrder", "order", "status", "order", "PAID"),
    "not null customer_order.placed_at": ("updateOrder", "order", "placedAt", "order", None),
    "not null webhook.url": (
        "updateWebhook", "webhook", "url", "webhook", "https://hooks.invalid/x"),
    "not null webhook.description": ("updateWebhook", "webhook", "description", "webhook", ""),
    "not null webhook.event_types": (
        "updateWebhook", "webhook", "events", "webhook", ["CUSTOMER_CREATED"]),
    "not null webhook.enabled": ("updateWebhook", "webhook", "enabled", "webhook", True),
    "not null task.status": ("updateTask", "task", "status", "task", "OPEN"),
    "not null custom_field_definition.required": (
        "updateCustomField", "customField", "required", "field", False),
    "not null custom_field_definition.is_unique": (
        "updateCustomField", "customField", "unique", "field", False),
    "not null custom_field_definition.personal": (
        "updateCustomField", "customField", "personal", "field", False),
    "not null custom_field_definition.position": (
        "updateCustomField", "customField", "position", "field", 0),
}
