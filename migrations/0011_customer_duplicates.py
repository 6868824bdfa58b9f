"""Duplicate detection: normalised email and name keys as stored columns, and their indexes.

Written by hand: functions, generated columns and GIN trigram indexes are beyond the
autodetector. The keys are stored (not computed per query) so that the organization-wide pair
search reads them from indexes instead of normalising every customer on every page.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    # lower case; "+tag" stripped for every domain; Gmail ignores dots and googlemail is gmail
    """
    CREATE FUNCTION crm_email_key(email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
        SELECT CASE WHEN d IN ('gmail.com', 'googlemail.com')
                    THEN replace(l, '.', '') || '@gmail.com'
                    ELSE l || '@' || d END
        FROM (SELECT split_part(split_part(e, '@', 1), '+', 1) AS l, split_part(e, '@', 2) AS d
              FROM (SELECT lower(btrim(email)) AS e) s) p
    $$
    """,
    # lower case, German umlauts spelled out (Müller = Mueller), other accents dropped,
    # punctuation and repeated spaces gone: "Dr. José  Müller-Lüdenscheidt" = "dr jose mueller..."
    """
    CREATE FUNCTION crm_name_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
        SELECT btrim(regexp_replace(translate(
            replace(replace(replace(replace(replace(lower(name),
                'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'), 'æ', 'ae'),
            'àáâãåāăąçćčďèéêëēėęěğìíîïīįıłñńňòóôõøōőŕřśšşťùúûůūűųýÿźżž',
            'aaaaaaaacccdeeeeeeeegiiiiiiilnnnooooooorrssstuuuuuuuyyzzz'),
            '[^[:alnum:]]+', ' ', 'g'))
    $$
    """,
    "ALTER TABLE customer ADD COLUMN email_key text"
    " GENERATED ALWAYS AS (crm_email_key(email)) STORED",
    "ALTER TABLE customer ADD COLUMN name_key text"
    " GENERATED ALWAYS AS (crm_name_key(name)) STORED",
    # equal keys of live customers: the pair search joins on these (id included: index-only)
    "CREATE INDEX customer_email_key_idx ON customer (organization_id, email_key, id)"
    " WHERE deleted_at IS NULL AND email_key IS NOT NULL",
    "CREATE INDEX customer_phone_key_idx ON customer (organization_id, phone, id)"
    " WHERE deleted_at IS NULL AND phone IS NOT NULL",
    "CREATE INDEX customer_name_key_idx ON customer (organization_id, name_key, id)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX customer_postal_code_idx ON customer (organization_id, postal_code, id)"
    " WHERE deleted_at IS NULL AND postal_code IS NOT NULL",
    # similar names of one customer (the % operator)
    "CREATE INDEX customer_name_key_trgm_idx ON customer USING gin (name_key gin_trgm_ops)"
    " WHERE deleted_at IS NULL",
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_name_key_trgm_idx",
    "DROP INDEX IF EXISTS customer_postal_code_idx",
    "DROP INDEX IF EXISTS customer_name_key_idx",
    "DROP INDEX IF EXISTS customer_phone_key_idx",
    "DROP INDEX IF EXISTS customer_email_key_idx",
    "ALTER TABLE customer DROP COLUMN IF EXISTS name_key",
    "ALTER TABLE customer DROP COLUMN IF EXISTS email_key",
    "DROP FUNCTION IF EXISTS crm_name_key(text)",
    "DROP FUNCTION IF EXISTS crm_email_key(text)",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0010_webhooks")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
