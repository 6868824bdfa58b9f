"""Custom fields on deals, and webhook events when custom field definitions change.

AddField as makemigrations writes it (with a database default, so existing deals get ``{}``);
the rest by hand.

- ``deal.custom_fields``: typed values under the keys of the organization's DEAL definitions
  (free-form keys as on customers and companies), GIN ``jsonb_path_ops`` indexed for the
  equality and containment filters; deal webhook documents carry them as ``customFields``.
- ``custom_field.defined`` / ``custom_field.updated`` / ``custom_field.deleted``: logged by
  triggers on ``custom_field_definition`` like every other event (see 0010_webhooks), with
  ``after``, ``changes`` ({field: {before, after}}) and ``before``.
"""

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops

_LOGGED_ORGS = "(SELECT w.organization_id FROM webhook w)"

FORWARD = [
    "CREATE INDEX deal_custom_fields_idx ON deal USING gin (custom_fields jsonb_path_ops)",
    """
    CREATE OR REPLACE FUNCTION crm_webhook_deal_doc(d deal) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
            'id', crm_gid('Deal', d.id), 'name', d.name,
            'amount', jsonb_build_object('amount', trim_scale(d.amount)::text,
                                         'currency', d.currency),
            'pipelineId', crm_gid('Pipeline', d.pipeline_id),
            'stageId', crm_gid('PipelineStage', d.stage_id),
            'probabilityOverride', d.probability, 'expectedCloseOn', d.expected_close_on,
            'status', d.status, 'lostReason', d.lost_reason, 'closedAt', d.closed_at,
            'ownerId', crm_gid('User', d.owner_id), 'companyId', crm_gid('Company', d.company_id),
            'customFields', d.custom_fields,
            'createdAt', d.created_at, 'deletedAt', d.deleted_at)
    $$
    """,
    """
    CREATE FUNCTION crm_webhook_custom_field_doc(f custom_field_definition) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
            'id', crm_gid('CustomFieldDefinition', f.id), 'objectType', f.object_type,
            'key', f.key, 'label', f.label, 'type', f.field_type, 'options', to_jsonb(f.options),
            'currency', f.currency, 'required', f.required, 'unique', f.is_unique,
            'personal', f.personal, 'position', f.position)
    $$
    """,
    f"""
    CREATE FUNCTION crm_webhook_custom_field_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF crm_events_enabled() THEN
            PERFORM crm_webhook_log(array_agg(ROW(n.organization_id, 'custom_field.defined',
                'CustomFieldDefinition', n.id, NULL,
                jsonb_build_object('after', crm_webhook_custom_field_doc(n))
            )::crm_webhook_change ORDER BY n.id))
            FROM new_rows n WHERE n.organization_id IN {_LOGGED_ORGS};
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION crm_webhook_custom_field_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF crm_events_enabled() THEN
            PERFORM crm_webhook_log(array_agg(ROW(d.organization_id, 'custom_field.updated',
                'CustomFieldDefinition', d.id, NULL, jsonb_build_object('changes', d.changes)
            )::crm_webhook_change ORDER BY d.id))
            FROM (
                SELECT n.id, n.organization_id, crm_webhook_changes(
                    crm_webhook_custom_field_doc(o), crm_webhook_custom_field_doc(n)) AS changes
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE n.organization_id IN {_LOGGED_ORGS}
            ) d WHERE d.changes <> '{{}}'::jsonb;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION crm_webhook_custom_field_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF crm_events_enabled() THEN
            PERFORM crm_webhook_log(array_agg(ROW(o.organization_id, 'custom_field.deleted',
                'CustomFieldDefinition', o.id, NULL,
                jsonb_build_object('before', crm_webhook_custom_field_doc(o))
            )::crm_webhook_change ORDER BY o.id))
            FROM old_rows o WHERE o.organization_id IN {_LOGGED_ORGS};
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER custom_field_inserted_webhooks AFTER INSERT ON custom_field_definition"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_custom_field_inserted()",
    "CREATE TRIGGER custom_field_updated_webhooks AFTER UPDATE ON custom_field_definition"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_custom_field_updated()",
    "CREATE TRIGGER custom_field_deleted_webhooks AFTER DELETE ON custom_field_definition"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_custom_field_deleted()",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS custom_field_deleted_webhooks ON custom_field_definition",
    "DROP TRIGGER IF EXISTS custom_field_updated_webhooks ON custom_field_definition",
    "DROP TRIGGER IF EXISTS custom_field_inserted_webhooks ON custom_field_definition",
    "DROP FUNCTION IF EXISTS crm_webhook_custom_field_deleted()",
    "DROP FUNCTION IF EXISTS crm_webhook_custom_field_updated()",
    "DROP FUNCTION IF EXISTS crm_webhook_custom_field_inserted()",
    "DROP FUNCTION IF EXISTS crm_webhook_custom_field_doc(custom_field_definition)",
    """
    CREATE OR REPLACE FUNCTION crm_webhook_deal_doc(d deal) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
            'id', crm_gid('Deal', d.id), 'name', d.name,
            'amount', jsonb_build_object('amount', trim_scale(d.amount)::text,
                                         'currency', d.currency),
            'pipelineId', crm_gid('Pipeline', d.pipeline_id),
            'stageId', crm_gid('PipelineStage', d.stage_id),
            'probabilityOverride', d.probability, 'expectedCloseOn', d.expected_close_on,
            'status', d.status, 'lostReason', d.lost_reason, 'closedAt', d.closed_at,
            'ownerId', crm_gid('User', d.owner_id), 'companyId', crm_gid('Company', d.company_id),
            'createdAt', d.created_at, 'deletedAt', d.deleted_at)
    $$
    """,
    "DROP INDEX IF EXISTS deal_custom_fields_idx",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0026_prediction_scores")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Deal",
            name="custom_fields",
            field=fields.JSONField(default=dict, db_default={}, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
