"""Recommendation lists: one row per customer, its ranked picks as parallel arrays.

A training run rewrites every customer's list. Thirty rows per customer, each with four
foreign-key checks and two index entries, made that write the slowest part of a training run
(3,000,000 rows for 100,000 customers: minutes of PostgreSQL time, and a statement timeout
when written at once). One row per customer carries the same picks in rank order; a product
deleted since simply drops out of the list when it is read (the read joins the catalogue), and
a deleted basis product reads as none, as the foreign keys did.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE TABLE recommendation_list (
        customer_id bigint PRIMARY KEY REFERENCES customer (id) ON DELETE CASCADE,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        product_ids bigint[] NOT NULL,
        scores double precision[] NOT NULL,
        kinds text[] NOT NULL,
        basis_product_ids bigint[] NOT NULL,
        purchased boolean[] NOT NULL,
        CONSTRAINT recommendation_list_lengths CHECK (
            cardinality(scores) = cardinality(product_ids)
            AND cardinality(kinds) = cardinality(product_ids)
            AND cardinality(basis_product_ids) = cardinality(product_ids)
            AND cardinality(purchased) = cardinality(product_ids))
    )
    """,
    "CREATE INDEX recommendation_list_org_idx ON recommendation_list (organization_id)",
    """
    INSERT INTO recommendation_list (customer_id, organization_id, product_ids, scores, kinds,
                                     basis_product_ids, purchased)
    SELECT customer_id, min(organization_id), array_agg(product_id ORDER BY rank),
           array_agg(score ORDER BY rank), array_agg(kind ORDER BY rank),
           array_agg(basis_product_id ORDER BY rank), array_agg(purchased ORDER BY rank)
    FROM recommendation GROUP BY customer_id
    """,
    "DROP TABLE recommendation",
]

BACKWARD = [
    """
    CREATE TABLE recommendation (
        customer_id bigint NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
        rank smallint NOT NULL CHECK (rank >= 0),
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        product_id bigint NOT NULL REFERENCES product (id) ON DELETE CASCADE,
        score double precision NOT NULL,
        kind text NOT NULL,
        basis_product_id bigint REFERENCES product (id) ON DELETE SET NULL,
        purchased boolean NOT NULL,
        PRIMARY KEY (customer_id, rank)
    )
    """,
    "CREATE INDEX recommendation_org_idx ON recommendation (organization_id)",
    """
    INSERT INTO recommendation (customer_id, rank, organization_id, product_id, score, kind,
                                basis_product_id, purchased)
    SELECT l.customer_id, u.n - 1, l.organization_id, u.p, u.s, u.k,
           (SELECT b.id FROM product b WHERE b.id = u.b), u.bought
    FROM recommendation_list l
    CROSS JOIN LATERAL unnest(l.product_ids, l.scores, l.kinds, l.basis_product_ids,
                              l.purchased) WITH ORDINALITY AS u(p, s, k, b, bought, n)
    WHERE EXISTS (SELECT 1 FROM product p WHERE p.id = u.p)
    """,
    "DROP TABLE recommendation_list",
]


class Migration(migrations.Migration):
    dependencies = [('crm', '0028_user_token_epoch')]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
