"""Indexes for every filter and sort the API offers, case-insensitive uniqueness and trigram search.

Written by hand: Tortoise's autodetector cannot express expression, partial or GIN indexes.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # users sign in with their email alone, so it is unique across organizations
    "CREATE UNIQUE INDEX app_user_email_uniq ON app_user (lower(email))",
    "CREATE INDEX app_user_organization_idx ON app_user (organization_id, id)",
    # customers
    "ALTER TABLE customer ADD COLUMN search_text text GENERATED ALWAYS AS ("
    " lower(coalesce(name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')"
    " || ' ' || coalesce(company, ''))) STORED",
    "CREATE INDEX customer_search_trgm_idx ON customer USING gin (search_text gin_trgm_ops)",
    "CREATE UNIQUE INDEX customer_email_uniq ON customer (organization_id, lower(email))"
    " WHERE email IS NOT NULL",
    "CREATE UNIQUE INDEX customer_external_ref_uniq ON customer (organization_id, external_ref)"
    " WHERE external_ref IS NOT NULL",
    "CREATE INDEX customer_created_idx ON customer (organization_id, created_at DESC, id DESC)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX customer_updated_idx ON customer (organization_id, updated_at DESC, id DESC)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX customer_name_idx ON customer (organization_id, lower(name), id)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX customer_deleted_idx ON customer (organization_id, deleted_at DESC, id DESC)"
    " WHERE deleted_at IS NOT NULL",
    "CREATE INDEX customer_stage_idx ON customer (organization_id, stage, created_at DESC, id DESC)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX customer_owner_idx ON customer (owner_id, created_at DESC, id DESC)",
    "CREATE INDEX customer_tags_idx ON customer USING gin (tags)",
    "ALTER TABLE customer ADD CONSTRAINT customer_country_iso CHECK (country ~ '^[A-Z]{2}$')",
    "ALTER TABLE customer ADD CONSTRAINT customer_phone_e164 CHECK (phone ~ '^\\+[1-9][0-9]{6,14}$')",
    # orders
    "CREATE UNIQUE INDEX customer_order_external_ref_uniq"
    " ON customer_order (organization_id, external_ref) WHERE external_ref IS NOT NULL",
    "CREATE INDEX customer_order_customer_idx ON customer_order (customer_id, placed_at DESC, id DESC)",
    "CREATE INDEX customer_order_org_idx ON customer_order (organization_id, placed_at DESC, id DESC)",
    "CREATE INDEX customer_order_status_idx"
    " ON customer_order (organization_id, status, placed_at DESC, id DESC)",
    "ALTER TABLE customer_order ADD CONSTRAINT customer_order_amount_nonneg CHECK (amount >= 0)",
    "ALTER TABLE customer_order ADD CONSTRAINT customer_order_currency_iso"
    " CHECK (currency ~ '^[A-Z]{3}$')",
    # interactions: the latest of a customer, the latest of an organization (optionally by channel)
    "CREATE INDEX interaction_customer_idx ON interaction (customer_id, occurred_at DESC, id DESC)",
    "CREATE INDEX interaction_org_idx ON interaction (organization_id, occurred_at DESC, id DESC)",
    "CREATE INDEX interaction_channel_idx"
    " ON interaction (organization_id, channel, occurred_at DESC, id DESC)",
    "CREATE INDEX interaction_created_by_idx ON interaction (created_by_id)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS interaction_created_by_idx",
    "DROP INDEX IF EXISTS interaction_channel_idx",
    "DROP INDEX IF EXISTS interaction_org_idx",
    "DROP INDEX IF EXISTS interaction_customer_idx",
    "ALTER TABLE customer_order DROP CONSTRAINT IF EXISTS customer_order_currency_iso",
    "ALTER TABLE customer_order DROP CONSTRAINT IF EXISTS customer_order_amount_nonneg",
    "DROP INDEX IF EXISTS customer_order_status_idx",
    "DROP INDEX IF EXISTS customer_order_org_idx",
    "DROP INDEX IF EXISTS customer_order_customer_idx",
    "DROP INDEX IF EXISTS customer_order_external_ref_uniq",
    "ALTER TABLE customer DROP CONSTRAINT IF EXISTS customer_phone_e164",
    "ALTER TABLE customer DROP CONSTRAINT IF EXISTS customer_country_iso",
    "DROP INDEX IF EXISTS customer_tags_idx",
    "DROP INDEX IF EXISTS customer_owner_idx",
    "DROP INDEX IF EXISTS customer_stage_idx",
    "DROP INDEX IF EXISTS customer_deleted_idx",
    "DROP INDEX IF EXISTS customer_name_idx",
    "DROP INDEX IF EXISTS customer_updated_idx",
    "DROP INDEX IF EXISTS customer_created_idx",
    "DROP INDEX IF EXISTS customer_external_ref_uniq",
    "DROP INDEX IF EXISTS customer_email_uniq",
    "DROP INDEX IF EXISTS customer_search_trgm_idx",
    "ALTER TABLE customer DROP COLUMN IF EXISTS search_text",
    "DROP INDEX IF EXISTS app_user_organization_idx",
    "DROP INDEX IF EXISTS app_user_email_uniq",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
