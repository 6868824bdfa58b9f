"""Realistic demo data, written with COPY so that a million customers take minutes, not hours.

Who buys when, and who leaves, comes from ``app.seed_behaviour``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberType

from app import seed_behaviour as behaviour
from app import seed_catalogue as catalogue
from app.seed_pipeline import seed_pipeline
from core import database

CHANNELS = ["EMAIL", "EMAIL", "EMAIL", "PHONE", "PHONE", "SMS", "MEETING", "CHAT", "SOCIAL", "NOTE"]
CONTACT_CHANNELS = ["EMAIL", "EMAIL", "PHONE", "SMS", "CHAT", "SOCIAL", "MEETING"]
DEMO_PREDICTION = json.dumps({"kind": "ORDER_STATUS", "status": "REFUNDED"})
TAGS = ["vip", "newsletter", "b2b", "b2c", "trade-show", "partner", "wholesale", "online"]
LOCALES = ["en_US", "de_DE", "fr_FR", "zh_CN", "ja_JP", "es_ES", "en_GB"]
COUNTRY_OF = {"en_US": "US", "de_DE": "DE", "fr_FR": "FR", "zh_CN": "CN", "ja_JP": "JP",
              "es_ES": "ES", "en_GB": "GB"}
POOL_SIZE = 400  # distinct fake values per locale; sampling from pools is 100x faster than Faker
BATCH = 2_000
CUSTOMER_COLUMNS = (
    "id", "organization_id", "kind", "name", "email", "phone", "company", "street", "city",
    "region", "postal_code", "country", "stage", "tags", "custom_fields", "owner_id",
    "external_ref", "email_opt_out", "created_at", "updated_at",
)
ORDER_COLUMNS = (
    "organization_id", "customer_id", "external_ref", "amount", "currency", "status",
    "placed_at", "line_items", "created_at", "updated_at",
)
INTERACTION_COLUMNS = (
    "organization_id", "customer_id", "channel", "direction", "subject", "body", "occurred_at",
    "created_by_id", "metadata", "created_at",
)


@dataclass(frozen=True)
class SeedPlan:
    customers: int
    orders_per_customer: int = 3
    interactions_per_customer: int = 20
    history_days: int = 730
    seed: int = 42


class _Pools:
    """Pre-generated fake values per locale."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.by_locale: dict[str, dict[str, list[str]]] = {}
        for locale in LOCALES:
            fake = Faker(locale)
            fake.seed_instance(seed)
            makers = {"name": fake.name, "company": fake.company, "street": fake.street_address,
                      "city": fake.city, "postcode": fake.postcode, "sentence": fake.sentence}
            self.by_locale[locale] = {
                kind: [" ".join(make().split()) for _ in range(POOL_SIZE)]  # one line each
                for kind, make in makers.items()
            }

    def pick(self, locale: str, kind: str) -> str:
        return self.rng.choice(self.by_locale[locale][kind])


def _customer_rows(
    ids: list[int], org_id: int, owner_ids: list[int], plan: SeedPlan, pools: _Pools,
    now: datetime,
) -> Iterator[tuple[tuple[Any, ...], behaviour.Story]]:
    rng = pools.rng
    for cid in ids:
        locale = rng.choice(LOCALES)
        country = COUNTRY_OF[locale]
        story = behaviour.story(rng, now, plan.history_days, plan.orders_per_customer,
                                plan.interactions_per_customer, CONTACT_CHANNELS)
        created = story.created
        company = rng.random() < 0.3
        name = pools.pick(locale, "company" if company else "name")
        tags = rng.sample(TAGS, rng.randint(0, 2))
        if story.persona == "LOYAL" and "vip" not in tags and rng.random() < 0.5:
            tags.append("vip")
        yield (
            cid, org_id, "COMPANY" if company else "PERSON", name,
            f"customer{cid}@example.com", _phone(rng, country),
            None if company else (pools.pick(locale, "company") if rng.random() < 0.4 else None),
            pools.pick(locale, "street"), pools.pick(locale, "city"), None,
            pools.pick(locale, "postcode")[:20], country, behaviour.stage(story, now, rng),
            tags, json.dumps({"source": rng.choice(["web", "referral", "event", "import"])}),
            rng.choice(owner_ids) if owner_ids else None, f"ERP-{cid}", rng.random() < 0.05,
            created, created,
        ), story


def _phone(rng: random.Random, country: str) -> str | None:
    """A valid mobile number of ``country`` in E.164 (the example number with new last digits)."""
    if rng.random() < 0.2:
        return None
    example = phonenumbers.example_number_for_type(country, PhoneNumberType.MOBILE)
    if example is None:
        return None
    digits = str(example.national_number)
    for _ in range(10):
        candidate = digits[:-4] + f"{rng.randrange(10_000):04d}"
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _activity_rows(
    customers: list[tuple[tuple[Any, ...], behaviour.Story]], org_id: int, owner_ids: list[int],
    pools: _Pools, now: datetime, currency: str,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = pools.rng
    orders: list[tuple[Any, ...]] = []
    interactions: list[tuple[Any, ...]] = []
    for row, story in customers:
        cid = row[0]
        locale = next(k for k, v in COUNTRY_OF.items() if v == row[11])
        taste = catalogue.basket(rng)
        for n, placed in enumerate(story.order_times):
            items, amount = catalogue.order_lines(rng, taste)
            orders.append((
                org_id, cid, f"SO-{cid}-{n}", amount, currency,
                behaviour.order_status(rng, placed, now), placed, json.dumps(items), placed,
                placed,
            ))
        for at, inbound in story.contact_times:
            channel = story.preferred_channel if inbound or rng.random() < 0.5 else rng.choice(
                CHANNELS)
            interactions.append((
                org_id, cid, "NOTE" if channel == "NOTE" else channel,
                "INBOUND" if inbound and channel != "NOTE" else "OUTBOUND",
                pools.pick(locale, "sentence")[:200], pools.pick(locale, "sentence"), at,
                rng.choice(owner_ids) if owner_ids else None, "{}", at,
            ))
    return orders, interactions


async def seed(
    url: str, org_id: int, plan: SeedPlan, owner_ids: list[int],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Add ``plan.customers`` customers with orders and interactions to an organization."""
    rng = random.Random(plan.seed)
    pools = _Pools(rng, plan.seed)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        # COPY is binary: jsonb's binary form is a version byte then the text
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", format="binary",
            encoder=lambda text: b"\x01" + text.encode(), decoder=lambda data: data[1:].decode(),
        )
        # orders in the organization's own currency, so revenue figures add up
        currency = await conn.fetchval("SELECT currency FROM organization WHERE id = $1", org_id)
        if not await conn.fetchval("SELECT count(*) FROM product WHERE organization_id = $1",
                                   org_id):
            async with conn.transaction():
                await conn.execute("SET LOCAL crm.publish_events = 'off'")
                await conn.copy_records_to_table(
                    "product", records=catalogue.product_rows(org_id, currency, now),
                    columns=catalogue.PRODUCT_COLUMNS)
        done = 0
        while done < plan.customers:
            size = min(BATCH, plan.customers - done)
            ids = [r[0] for r in await conn.fetch(
                "SELECT nextval('customer_id_seq') FROM generate_series(1, $1)", size
            )]
            customers = list(_customer_rows(ids, org_id, owner_ids, plan, pools, now))
            rows = [row for row, _ in customers]
            orders, interactions = _activity_rows(
                customers, org_id, owner_ids, pools, now, currency
            )
            async with conn.transaction():
                # bulk history is not news: no live events for subscribers (see db/events.py)
                await conn.execute("SET LOCAL crm.publish_events = 'off'")
                await conn.copy_records_to_table("customer", records=rows,
                                                 columns=CUSTOMER_COLUMNS)
                await conn.copy_records_to_table("customer_order", records=orders,
                                                 columns=ORDER_COLUMNS)
                await conn.copy_records_to_table("interaction", records=interactions,
                                                 columns=INTERACTION_COLUMNS)
            done += size
            if progress:
                progress(size)
        # a question of the organization's own for the prediction builder (README)
        await conn.execute(
            "INSERT INTO prediction_definition (organization_id, name, description, outcome,"
            " horizon_days) VALUES ($1, 'refund_risk', 'Will they have an order refunded?',"
            " $2::jsonb, 90) ON CONFLICT DO NOTHING", org_id, DEMO_PREDICTION)
        await conn.execute("ANALYZE customer; ANALYZE customer_order; ANALYZE interaction")
    finally:
        await conn.close()
    await seed_pipeline(url, org_id, plan.seed, owner_ids)
