"""Typed custom field definitions, their indexes, the customers' search words and their
dictionary, trigram search on deal names, and the adoption of existing free-form customer
custom fields as defined fields.

Written by hand. Values stay in each object's ``custom_fields`` JSONB (customers and companies
have one), indexed with GIN ``jsonb_path_ops`` for the equality and containment filters; the
definitions say how each key is typed and validated.
The adoption infers a type per (organization, key) from the values customers hold: all
booleans, all numbers, all ISO dates, all emails, all URLs, all strings (TEXT), or all arrays
of strings (MULTI_SELECT with the values seen as options); keys with mixed values stay
free-form. Type names are copied from db/custom_field.py as it was written.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

_KEY = "'^[a-z][a-z0-9_]{0,62}$'"

_WORDS = (
    "array_remove(regexp_split_to_array(lower(coalesce(name, '') || ' ' || coalesce(email, '')"
    " || ' ' || coalesce(company, '')), '[^[:alpha:]]+'), '')"
)

FORWARD = [
    "CREATE INDEX deal_name_trgm_idx ON deal USING gin (lower(name) gin_trgm_ops)",
    # customers' words, and the dictionary of every word they hold (see db/search.py)
    f"ALTER TABLE customer ADD COLUMN search_words text[] GENERATED ALWAYS AS ({_WORDS}) STORED",
    "CREATE INDEX customer_search_words_idx ON customer USING gin (search_words)",
    "CREATE TABLE search_word (word text PRIMARY KEY)",
    "CREATE INDEX search_word_trgm_idx ON search_word USING gin (word gin_trgm_ops)",
    "INSERT INTO search_word SELECT DISTINCT unnest(search_words) FROM customer"
    " ON CONFLICT DO NOTHING",
    """
    CREATE FUNCTION crm_search_words_learn() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_word (word) SELECT DISTINCT unnest(w.search_words) FROM changed w
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END
    $$
    """,
    # one statement per writing statement (a bulk import adds its words at once)
    "CREATE TRIGGER customer_search_words_insert AFTER INSERT ON customer"
    " REFERENCING NEW TABLE AS changed FOR EACH STATEMENT"
    " EXECUTE FUNCTION crm_search_words_learn()",
    "CREATE TRIGGER customer_search_words_update AFTER UPDATE ON customer"
    " REFERENCING NEW TABLE AS changed FOR EACH STATEMENT"
    " EXECUTE FUNCTION crm_search_words_learn()",
    "CREATE INDEX customer_custom_fields_idx ON customer USING gin (custom_fields jsonb_path_ops)",
    "CREATE INDEX company_custom_fields_idx ON company USING gin (custom_fields jsonb_path_ops)",
    """
    CREATE TABLE custom_field_definition (
        id bigserial PRIMARY KEY,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE RESTRICT,
        object_type varchar(16) NOT NULL,
        key varchar(63) NOT NULL,
        label varchar(200) NOT NULL,
        field_type varchar(16) NOT NULL,
        options text[] NOT NULL DEFAULT '{}',
        currency varchar(3),
        required boolean NOT NULL DEFAULT false,
        is_unique boolean NOT NULL DEFAULT false,
        personal boolean NOT NULL DEFAULT false,
        position integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT custom_field_definition_object_type_check
            CHECK (object_type IN ('CUSTOMER', 'COMPANY', 'DEAL')),
        CONSTRAINT custom_field_definition_type_check CHECK (field_type IN (
            'TEXT', 'NUMBER', 'MONEY', 'DATE', 'BOOLEAN', 'SINGLE_SELECT', 'MULTI_SELECT',
            'URL', 'EMAIL', 'PHONE')),
        CONSTRAINT custom_field_definition_key_check CHECK (key ~ """ + _KEY + """)
    )
    """,
    "CREATE UNIQUE INDEX custom_field_definition_key_uniq"
    " ON custom_field_definition (organization_id, object_type, key)",
    # adopt the keys customers already use, where every value agrees on a type
    """
    INSERT INTO custom_field_definition
        (organization_id, object_type, key, label, field_type, options, position)
    SELECT g.organization_id, 'CUSTOMER', g.key, initcap(replace(g.key, '_', ' ')), g.field_type,
           g.options, row_number() OVER (PARTITION BY g.organization_id ORDER BY g.key)
    FROM (
        SELECT c.organization_id, e.key,
            CASE
                WHEN bool_and(jsonb_typeof(e.value) = 'boolean') THEN 'BOOLEAN'
                WHEN bool_and(jsonb_typeof(e.value) = 'number') THEN 'NUMBER'
                WHEN bool_and(jsonb_typeof(e.value) = 'string'
                              AND e.value #>> '{}' ~ '^\\d{4}-\\d{2}-\\d{2}$') THEN 'DATE'
                WHEN bool_and(jsonb_typeof(e.value) = 'string'
                              AND e.value #>> '{}' ~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$') THEN 'EMAIL'
                WHEN bool_and(jsonb_typeof(e.value) = 'string'
                              AND e.value #>> '{}' ~* '^https?://\\S+$') THEN 'URL'
                WHEN bool_and(jsonb_typeof(e.value) = 'string') THEN 'TEXT'
                WHEN bool_and(jsonb_typeof(e.value) = 'array'
                              AND NOT jsonb_path_exists(e.value, '$[*] ? (@.type() != "string")'))
                    THEN 'MULTI_SELECT'
            END AS field_type,
            CASE WHEN bool_and(jsonb_typeof(e.value) = 'array') THEN (
                SELECT coalesce(array_agg(DISTINCT o ORDER BY o), '{}')
                FROM customer c2, jsonb_each(c2.custom_fields) e2,
                     jsonb_array_elements_text(e2.value) o
                WHERE c2.organization_id = c.organization_id AND e2.key = e.key
                  AND jsonb_typeof(e2.value) = 'array'
            ) ELSE '{}' END AS options
        FROM customer c, jsonb_each(c.custom_fields) e
        WHERE jsonb_typeof(c.custom_fields) = 'object' AND e.key ~ """ + _KEY + """
          AND jsonb_typeof(e.value) <> 'null'
        GROUP BY c.organization_id, e.key
    ) g
    WHERE g.field_type IS NOT NULL
    """,
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS customer_search_words_update ON customer",
    "DROP TRIGGER IF EXISTS customer_search_words_insert ON customer",
    "DROP FUNCTION IF EXISTS crm_search_words_learn()",
    "DROP TABLE IF EXISTS search_word",
    "DROP INDEX IF EXISTS customer_search_words_idx",
    "ALTER TABLE customer DROP COLUMN IF EXISTS search_words",
    "DROP TABLE IF EXISTS custom_field_definition",
    "DROP INDEX IF EXISTS company_custom_fields_idx",
    "DROP INDEX IF EXISTS customer_custom_fields_idx",
    "DROP INDEX IF EXISTS deal_name_trgm_idx",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0021_team")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
