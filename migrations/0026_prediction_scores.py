"""Custom predictions: definitions, their scores, the change history they learn from.

An ADMIN defines a yes/no outcome over the CRM's own data (``prediction_definition``); its
trained versions live in the model registry as kind SCORE with ``definition_id`` set (one
active version per definition), and every customer's probability in ``customer_score``.

Outcomes about tags, lifecycle stages and custom fields need to know *when* a customer got
them, as of past dates: ``customer_change`` is that history, written by triggers on every
insert and update of a customer (whatever the writer: API, import, COPY), and filled from the
current values at each customer's creation time for customers that existed before.

A score crossing a band (LOW < 0.3 <= MEDIUM < 0.6 <= HIGH) logs a ``prediction.changed``
webhook event naming the prediction.
"""

from enum import StrEnum

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class ModelKind(StrEnum):
    CHURN = "CHURN"
    REVENUE = "REVENUE"
    SEGMENTS = "SEGMENTS"
    FORECAST = "FORECAST"
    RECOMMENDATIONS = "RECOMMENDATIONS"
    SCORE = "SCORE"


_LOGGED_ORGS = "(SELECT w.organization_id FROM webhook w)"

FORWARD = [
    """
    CREATE TABLE prediction_definition (
        id bigserial PRIMARY KEY,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        name varchar(60) NOT NULL,
        description text NOT NULL DEFAULT '',
        outcome jsonb NOT NULL,
        horizon_days integer NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'NOT_TRAINED',
        message text NOT NULL DEFAULT 'not trained yet: run trainModels',
        trained_at timestamptz,
        created_by_id bigint REFERENCES app_user (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT prediction_definition_horizon_range CHECK (horizon_days BETWEEN 7 AND 730),
        CONSTRAINT prediction_definition_name_format
            CHECK (name ~ '^[a-z][a-z0-9_]{0,59}$'),
        CONSTRAINT prediction_definition_outcome_object CHECK (jsonb_typeof(outcome) = 'object')
    )
    """,
    "CREATE UNIQUE INDEX prediction_definition_name_uniq"
    " ON prediction_definition (organization_id, name)",
    "CREATE INDEX prediction_definition_created_by_idx ON prediction_definition (created_by_id)",
    # versions and the active one per definition (kinds without a definition as before)
    "ALTER TABLE prediction_model ADD COLUMN definition_id bigint"
    " REFERENCES prediction_definition (id) ON DELETE CASCADE",
    "DROP INDEX prediction_model_version_uniq",
    "DROP INDEX prediction_model_active_uniq",
    "CREATE UNIQUE INDEX prediction_model_version_uniq"
    " ON prediction_model (organization_id, kind, coalesce(definition_id, 0), version)",
    "CREATE UNIQUE INDEX prediction_model_active_uniq"
    " ON prediction_model (organization_id, kind, coalesce(definition_id, 0)) WHERE active",
    "CREATE INDEX prediction_model_definition_idx ON prediction_model (definition_id)"
    " WHERE definition_id IS NOT NULL",
    """
    CREATE TABLE customer_score (
        customer_id bigint NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
        definition_id bigint NOT NULL REFERENCES prediction_definition (id) ON DELETE CASCADE,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        probability double precision NOT NULL
            CONSTRAINT customer_score_probability_range CHECK (probability BETWEEN 0 AND 1),
        band varchar(8) NOT NULL,
        reasons jsonb NOT NULL DEFAULT '[]',
        model_version integer NOT NULL,
        scored_at timestamptz NOT NULL,
        PRIMARY KEY (customer_id, definition_id)
    )
    """,
    "CREATE INDEX customer_score_definition_idx"
    " ON customer_score (definition_id, probability, customer_id)",
    "CREATE INDEX customer_score_org_idx ON customer_score (organization_id)",
    """
    CREATE TABLE customer_change (
        id bigserial PRIMARY KEY,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        customer_id bigint NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
        field varchar(120) NOT NULL,
        value text,
        removed boolean NOT NULL DEFAULT false,
        changed_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX customer_change_org_idx ON customer_change (organization_id, field, changed_at)",
    "CREATE INDEX customer_change_customer_idx ON customer_change (customer_id)",
    # tags added and removed, the stage reached, custom field values set ('custom:<key>')
    """
    CREATE FUNCTION crm_customer_changes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_change (organization_id, customer_id, field, value, changed_at)
        SELECT n.organization_id, n.id, 'tag', t.tag, n.created_at
        FROM new_rows n CROSS JOIN LATERAL unnest(n.tags) AS t(tag)
        UNION ALL
        SELECT n.organization_id, n.id, 'stage', n.stage, n.created_at FROM new_rows n
        UNION ALL
        SELECT n.organization_id, n.id, 'custom:' || f.key, f.value #>> '{}', n.created_at
        FROM new_rows n CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(n.custom_fields) = 'object' THEN n.custom_fields
                 ELSE '{}'::jsonb END) AS f;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION crm_customer_changes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_change (organization_id, customer_id, field, value, removed,
                                     changed_at)
        SELECT n.organization_id, n.id, 'tag', t.tag, false, now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL unnest(n.tags) AS t(tag) WHERE NOT (t.tag = ANY(coalesce(o.tags, '{}')))
        UNION ALL
        SELECT n.organization_id, n.id, 'tag', t.tag, true, now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL unnest(o.tags) AS t(tag) WHERE NOT (t.tag = ANY(coalesce(n.tags, '{}')))
        UNION ALL
        SELECT n.organization_id, n.id, 'stage', n.stage, false, now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.stage IS DISTINCT FROM o.stage
        UNION ALL
        SELECT n.organization_id, n.id, 'custom:' || f.key, f.value #>> '{}', false, now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(n.custom_fields) = 'object' THEN n.custom_fields
                 ELSE '{}'::jsonb END) AS f
        WHERE (o.custom_fields -> f.key) IS DISTINCT FROM f.value;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER customer_changes_inserted AFTER INSERT ON customer"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_customer_changes_inserted()",
    "CREATE TRIGGER customer_changes_updated AFTER UPDATE ON customer"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_customer_changes_updated()",
    # customers from before: what they have now, as of their creation
    """
    INSERT INTO customer_change (organization_id, customer_id, field, value, changed_at)
    SELECT c.organization_id, c.id, 'tag', t.tag, c.created_at
    FROM customer c CROSS JOIN LATERAL unnest(c.tags) AS t(tag)
    UNION ALL
    SELECT c.organization_id, c.id, 'stage', c.stage, c.created_at FROM customer c
    UNION ALL
    SELECT c.organization_id, c.id, 'custom:' || f.key, f.value #>> '{}', c.created_at
    FROM customer c CROSS JOIN LATERAL jsonb_each(
        CASE WHEN jsonb_typeof(c.custom_fields) = 'object' THEN c.custom_fields
             ELSE '{}'::jsonb END) AS f
    """,
    """
    CREATE FUNCTION crm_score_band(p double precision) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$
        SELECT CASE WHEN p < 0.3 THEN 'LOW' WHEN p < 0.6 THEN 'MEDIUM' ELSE 'HIGH' END
    $$
    """,
    f"""
    CREATE FUNCTION crm_webhook_score_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changes crm_webhook_change[];
    BEGIN
        IF NOT crm_events_enabled() THEN
            RETURN NULL;
        END IF;
        SELECT array_agg(ROW(n.organization_id, 'prediction.changed', 'Customer', n.customer_id,
            n.customer_id, jsonb_build_object(
                'customerId', crm_gid('Customer', n.customer_id), 'prediction', d.name,
                'probability', n.probability,
                'changes', jsonb_build_object('band',
                    jsonb_build_object('before', NULL, 'after', n.band)))
        )::crm_webhook_change ORDER BY n.customer_id, d.id) INTO changes
        FROM new_rows n JOIN prediction_definition d ON d.id = n.definition_id
        WHERE n.organization_id IN {_LOGGED_ORGS};
        PERFORM crm_webhook_log(changes);
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION crm_webhook_score_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changes crm_webhook_change[];
    BEGIN
        IF NOT crm_events_enabled() THEN
            RETURN NULL;
        END IF;
        SELECT array_agg(ROW(n.organization_id, 'prediction.changed', 'Customer', n.customer_id,
            n.customer_id, jsonb_build_object(
                'customerId', crm_gid('Customer', n.customer_id), 'prediction', d.name,
                'probability', n.probability,
                'changes', jsonb_build_object('band',
                    jsonb_build_object('before', o.band, 'after', n.band)))
        )::crm_webhook_change ORDER BY n.customer_id, d.id) INTO changes
        FROM new_rows n
        JOIN old_rows o ON o.customer_id = n.customer_id AND o.definition_id = n.definition_id
        JOIN prediction_definition d ON d.id = n.definition_id
        WHERE o.band IS DISTINCT FROM n.band AND n.organization_id IN {_LOGGED_ORGS};
        PERFORM crm_webhook_log(changes);
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER customer_score_inserted_webhooks AFTER INSERT ON customer_score"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_score_inserted()",
    "CREATE TRIGGER customer_score_updated_webhooks AFTER UPDATE ON customer_score"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_score_updated()",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS customer_score_updated_webhooks ON customer_score",
    "DROP TRIGGER IF EXISTS customer_score_inserted_webhooks ON customer_score",
    "DROP FUNCTION IF EXISTS crm_webhook_score_updated()",
    "DROP FUNCTION IF EXISTS crm_webhook_score_inserted()",
    "DROP FUNCTION IF EXISTS crm_score_band(double precision)",
    "DROP TRIGGER IF EXISTS customer_changes_updated ON customer",
    "DROP TRIGGER IF EXISTS customer_changes_inserted ON customer",
    "DROP FUNCTION IF EXISTS crm_customer_changes_updated()",
    "DROP FUNCTION IF EXISTS crm_customer_changes_inserted()",
    "DROP TABLE IF EXISTS customer_change",
    "DROP TABLE IF EXISTS customer_score",
    "DELETE FROM prediction_model WHERE definition_id IS NOT NULL",
    "DROP INDEX IF EXISTS prediction_model_active_uniq",
    "DROP INDEX IF EXISTS prediction_model_version_uniq",
    "ALTER TABLE prediction_model DROP COLUMN IF EXISTS definition_id",
    "CREATE UNIQUE INDEX prediction_model_version_uniq"
    " ON prediction_model (organization_id, kind, version)",
    "CREATE UNIQUE INDEX prediction_model_active_uniq"
    " ON prediction_model (organization_id, kind) WHERE active",
    "DROP TABLE IF EXISTS prediction_definition",
]


class Migration(migrations.Migration):
    dependencies = [('crm', '0022_custom_fields_search')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='PredictionModel',
            name='kind',
            field=fields.CharEnumField(description='CHURN: CHURN\nREVENUE: REVENUE\nSEGMENTS: SEGMENTS\nFORECAST: FORECAST\nRECOMMENDATIONS: RECOMMENDATIONS\nSCORE: SCORE', enum_type=ModelKind, max_length=16),
        ),
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
