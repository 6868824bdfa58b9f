"""Deals' external references, company merges, notes on deals and companies, exchange rates.

AddField as makemigrations writes it; the rest by hand. The ``exchange_rate`` table has no
Tortoise model: db/exchange_rate.py reads and writes it with SQL.

- ``deal.external_ref``: the natural key of upsertDeals (unique in an organization, deleted
  deals keep theirs, as customers do).
- ``company.merged_into_id``: a company absorbed by mergeCompanies points at the one it went to.
- ``interaction.deal_id`` / ``interaction.company_id``: a note (or any interaction) may be about
  a deal or a company as well as its customer.
- ``exchange_rate``: the rate to the organization's currency of one unit of ``currency``, in
  effect from ``valid_on`` until the next rate of that currency.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

FORWARD = [
    "CREATE UNIQUE INDEX deal_external_ref_uniq ON deal (organization_id, external_ref)"
    " WHERE external_ref IS NOT NULL",
    "CREATE INDEX deal_name_idx ON deal (organization_id, lower(name)) WHERE deleted_at IS NULL",
    "CREATE INDEX company_merged_into_idx ON company (merged_into_id)"
    " WHERE merged_into_id IS NOT NULL",
    "CREATE INDEX company_name_trgm_idx ON company USING gin (lower(name) gin_trgm_ops)"
    " WHERE deleted_at IS NULL",
    "CREATE INDEX interaction_deal_idx ON interaction (deal_id, occurred_at, id)"
    " WHERE deal_id IS NOT NULL",
    "CREATE INDEX interaction_company_idx ON interaction (company_id, occurred_at, id)"
    " WHERE company_id IS NOT NULL",
    """
    CREATE TABLE exchange_rate (
        id bigserial PRIMARY KEY,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        currency varchar(3) NOT NULL CONSTRAINT exchange_rate_currency_code
            CHECK (currency ~ '^[A-Z]{3}$'),
        valid_on date NOT NULL,
        rate numeric(24, 10) NOT NULL CONSTRAINT exchange_rate_rate_positive CHECK (rate > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX exchange_rate_uniq ON exchange_rate (organization_id, currency, valid_on)",
]

BACKWARD = [
    "DROP TABLE IF EXISTS exchange_rate",
    "DROP INDEX IF EXISTS interaction_company_idx",
    "DROP INDEX IF EXISTS interaction_deal_idx",
    "DROP INDEX IF EXISTS company_name_trgm_idx",
    "DROP INDEX IF EXISTS company_merged_into_idx",
    "DROP INDEX IF EXISTS deal_name_idx",
    "DROP INDEX IF EXISTS deal_external_ref_uniq",
]


class Migration(migrations.Migration):
    dependencies = [('crm', '0024_saved_views')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Deal',
            name='external_ref',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Company',
            name='merged_into',
            field=fields.ForeignKeyField('crm.Company', source_field='merged_into_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Interaction',
            name='deal',
            field=fields.ForeignKeyField('crm.Deal', source_field='deal_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Interaction',
            name='company',
            field=fields.ForeignKeyField('crm.Company', source_field='company_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
