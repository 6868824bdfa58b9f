"""Interaction events for live subscriptions: a short-lived log written by triggers, plus NOTIFY.

Written by hand: statement triggers with transition tables and ``xid8`` are beyond the
autodetector. Every insert or update of ``interaction`` logs one event row per interaction in the
writing transaction and sends one ``NOTIFY crm_interaction_events`` per organization and
transaction with ``{"xid": ..., "org": ...}`` (ids only). PostgreSQL delivers notifications only
when the transaction commits, so rolled-back writes publish nothing. Listeners read the events of
a transaction back by ``xid`` and, after losing their connection, catch up with ``xid >= horizon``.

``SET LOCAL crm.publish_events = 'off'`` suppresses events (bulk seeding of historic data).
Other domains publish from inside their transaction with
``SELECT crm_publish_interaction_events('email_status', ARRAY[...]::bigint[])``.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE TABLE interaction_event (
        id bigserial PRIMARY KEY,
        xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
        kind varchar(32) NOT NULL,
        organization_id bigint NOT NULL,
        interaction_id bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )
    """,
    # a transaction's events of one organization, in order (notification fetch and catch-up)
    "CREATE INDEX interaction_event_xid_idx ON interaction_event (xid, organization_id, id)",
    # retention: old events are deleted by the listeners
    "CREATE INDEX interaction_event_created_idx ON interaction_event (created_at)",
    """
    CREATE FUNCTION crm_events_enabled() RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT coalesce(current_setting('crm.publish_events', true), '') <> 'off'
    $$
    """,
    """
    CREATE FUNCTION crm_notify_interaction_events(orgs bigint[]) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM pg_notify(
            'crm_interaction_events',
            json_build_object('xid', pg_current_xact_id()::text::bigint, 'org', org)::text
        )
        FROM (SELECT DISTINCT unnest(orgs) AS org) o;
    END
    $$
    """,
    """
    CREATE FUNCTION crm_publish_interaction_events(event_kind text, ids bigint[])
    RETURNS void LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        orgs bigint[];
    BEGIN
        IF NOT crm_events_enabled() THEN
            RETURN;
        END IF;
        WITH logged AS (
            INSERT INTO interaction_event (kind, organization_id, interaction_id)
            SELECT event_kind, i.organization_id, i.id
            FROM interaction i WHERE i.id = ANY(ids) ORDER BY i.id
            RETURNING organization_id
        )
        SELECT array_agg(DISTINCT organization_id) INTO orgs FROM logged;
        PERFORM crm_notify_interaction_events(orgs);
    END
    $$
    """,
    """
    CREATE FUNCTION crm_interaction_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        orgs bigint[];
    BEGIN
        IF NOT crm_events_enabled() THEN
            RETURN NULL;
        END IF;
        WITH logged AS (
            INSERT INTO interaction_event (kind, organization_id, interaction_id)
            SELECT 'created', n.organization_id, n.id FROM new_rows n ORDER BY n.id
            RETURNING organization_id
        )
        SELECT array_agg(DISTINCT organization_id) INTO orgs FROM logged;
        PERFORM crm_notify_interaction_events(orgs);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION crm_interaction_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        orgs bigint[];
    BEGIN
        IF NOT crm_events_enabled() THEN
            RETURN NULL;
        END IF;
        WITH logged AS (
            INSERT INTO interaction_event (kind, organization_id, interaction_id)
            SELECT 'updated', n.organization_id, n.id
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE o::text IS DISTINCT FROM n::text ORDER BY n.id
            RETURNING organization_id
        )
        SELECT array_agg(DISTINCT organization_id) INTO orgs FROM logged;
        PERFORM crm_notify_interaction_events(orgs);
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER interaction_inserted_events AFTER INSERT ON interaction"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_interaction_inserted()",
    "CREATE TRIGGER interaction_updated_events AFTER UPDATE ON interaction"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_interaction_updated()",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS interaction_updated_events ON interaction",
    "DROP TRIGGER IF EXISTS interaction_inserted_events ON interaction",
    "DROP FUNCTION IF EXISTS crm_interaction_updated()",
    "DROP FUNCTION IF EXISTS crm_interaction_inserted()",
    "DROP FUNCTION IF EXISTS crm_publish_interaction_events(text, bigint[])",
    "DROP FUNCTION IF EXISTS crm_notify_interaction_events(bigint[])",
    "DROP FUNCTION IF EXISTS crm_events_enabled()",
    "DROP TABLE IF EXISTS interaction_event",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_email")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
