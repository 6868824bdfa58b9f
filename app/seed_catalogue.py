"""The demo catalogue, and what each demo customer puts in their orders.

Tastes are planted so a recommender has something real to find: every customer leans towards
one or two departments, some products are bought together (a grinder, then beans), and
consumables are bought again. Prices are in the organization's currency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# (sku, name, category, price, consumable)
CATALOGUE: tuple[tuple[str, str, str, str, bool], ...] = (
    ("COF-BEAN-ETH", "Ethiopia Yirgacheffe beans 500 g", "Coffee/Beans", "16.90", True),
    ("COF-BEAN-COL", "Colombia Huila beans 500 g", "Coffee/Beans", "14.50", True),
    ("COF-BEAN-ESP", "House espresso blend 1 kg", "Coffee/Beans", "24.00", True),
    ("COF-BEAN-DEC", "Swiss water decaf 500 g", "Coffee/Beans", "15.90", True),
    ("COF-GRIND-1", "Burr grinder", "Coffee/Equipment", "129.00", False),
    ("COF-KETTLE", "Gooseneck kettle", "Coffee/Equipment", "59.00", False),
    ("COF-DRIPPER", "Pour-over dripper", "Coffee/Equipment", "24.00", False),
    ("COF-FILTER", "Paper filters, 100", "Coffee/Supplies", "6.50", True),
    ("COF-SCALE", "Brewing scale", "Coffee/Equipment", "39.00", False),
    ("COF-ESPM", "Espresso machine", "Coffee/Equipment", "649.00", False),
    ("COF-CLEAN", "Machine cleaning tablets", "Coffee/Supplies", "9.90", True),
    ("TEA-GREEN", "Sencha green tea 100 g", "Tea/Loose leaf", "11.00", True),
    ("TEA-BLACK", "Assam black tea 250 g", "Tea/Loose leaf", "9.50", True),
    ("TEA-OOLONG", "Tieguanyin oolong 100 g", "Tea/Loose leaf", "18.00", True),
    ("TEA-POT", "Cast iron teapot", "Tea/Equipment", "45.00", False),
    ("TEA-CUPS", "Porcelain cups, set of 4", "Tea/Equipment", "28.00", False),
    ("OUT-TENT-2", "Two-person tent", "Outdoor/Camping", "249.00", False),
    ("OUT-BAG", "Down sleeping bag", "Outdoor/Camping", "189.00", False),
    ("OUT-MAT", "Inflatable sleeping mat", "Outdoor/Camping", "79.00", False),
    ("OUT-STOVE", "Camping stove", "Outdoor/Camping", "49.00", False),
    ("OUT-GAS", "Stove gas canister", "Outdoor/Camping", "7.50", True),
    ("OUT-JACKET", "Rain jacket", "Outdoor/Clothing", "159.00", False),
    ("OUT-SOCKS", "Merino hiking socks", "Outdoor/Clothing", "19.00", True),
    ("OUT-BOOTS", "Hiking boots", "Outdoor/Clothing", "179.00", False),
    ("TRV-LIS-3", "Lisbon, 3 nights", "Travel/Trips", "420.00", False),
    ("TRV-ALP-7", "Alpine hut trek, 7 days", "Travel/Trips", "1190.00", False),
    ("TRV-KYO-5", "Kyoto, 5 nights", "Travel/Trips", "1650.00", False),
    ("TRV-ROOM-STD", "Hotel room, standard night", "Travel/Rooms", "110.00", False),
    ("TRV-ROOM-SEA", "Hotel room, sea view night", "Travel/Rooms", "165.00", False),
    ("TRV-INS", "Travel insurance", "Travel/Extras", "39.00", False),
    ("TRV-TRANSFER", "Airport transfer", "Travel/Extras", "45.00", False),
    ("BOOK-COF", "The coffee atlas (book)", "Books/Food", "32.00", False),
    ("BOOK-TEA", "The story of tea (book)", "Books/Food", "27.00", False),
    ("BOOK-TRAIL", "Great trails of Europe (book)", "Books/Travel", "35.00", False),
    ("GIFT-CARD-50", "Gift card 50", "Gifts", "50.00", False),
)
# department -> share of customers leaning towards it
TASTES = {"Coffee": 0.35, "Tea": 0.2, "Outdoor": 0.25, "Travel": 0.2}
# bought X: Y tends to follow (or to come in the same order)
COMPLEMENTS = {
    "COF-GRIND-1": ("COF-BEAN-ETH", "COF-BEAN-COL"), "COF-DRIPPER": ("COF-FILTER", "COF-KETTLE"),
    "COF-ESPM": ("COF-BEAN-ESP", "COF-CLEAN"), "COF-KETTLE": ("COF-DRIPPER",),
    "TEA-POT": ("TEA-CUPS", "TEA-OOLONG"), "OUT-TENT-2": ("OUT-BAG", "OUT-MAT"),
    "OUT-STOVE": ("OUT-GAS",), "OUT-BOOTS": ("OUT-SOCKS",), "TRV-LIS-3": ("TRV-INS",),
    "TRV-ALP-7": ("TRV-INS", "OUT-BOOTS"), "TRV-KYO-5": ("TRV-INS", "TRV-TRANSFER"),
    "TRV-ROOM-SEA": ("TRV-TRANSFER",),
}
PRODUCT_COLUMNS = ("organization_id", "sku", "name", "category", "price", "currency", "active",
                   "attributes", "created_at", "updated_at")


@dataclass
class Basket:
    """What one customer likes and has bought so far (it shapes their next orders)."""

    departments: tuple[str, ...]
    bought: list[str] = field(default_factory=list)


def basket(rng: random.Random) -> Basket:
    """A customer's leaning: one department, sometimes a second."""
    names, weights = list(TASTES), list(TASTES.values())
    first = rng.choices(names, weights)[0]
    if rng.random() < 0.3:
        second = rng.choices([n for n in names if n != first],
                             [TASTES[n] for n in names if n != first])[0]
        return Basket((first, second))
    return Basket((first,))


_BY_SKU = {row[0]: row for row in CATALOGUE}
_BY_DEPARTMENT: dict[str, list[str]] = {}
for _row in CATALOGUE:
    _BY_DEPARTMENT.setdefault(_row[2].split("/")[0], []).append(_row[0])


def _next_sku(rng: random.Random, b: Basket) -> str:
    consumables = [s for s in b.bought if _BY_SKU[s][4]]
    follow = [c for s in b.bought for c in COMPLEMENTS.get(s, ()) if c not in b.bought]
    roll = rng.random()
    if consumables and roll < 0.35:
        return rng.choice(consumables)  # buys it again
    if follow and roll < 0.6:
        return rng.choice(follow)
    if roll < 0.93:
        return rng.choice(_BY_DEPARTMENT[rng.choice(b.departments)])
    return rng.choice(CATALOGUE)[0]  # now and then, anything


def order_lines(rng: random.Random, b: Basket) -> tuple[list[dict[str, Any]], Decimal]:
    """The line items of a customer's next order and its total."""
    skus: list[str] = []
    for _ in range(rng.choices((1, 2, 3), (0.55, 0.3, 0.15))[0]):
        sku = _next_sku(rng, b)
        if sku not in skus:
            skus.append(sku)
        for extra in COMPLEMENTS.get(sku, ()):
            if extra not in skus and extra not in b.bought and rng.random() < 0.25:
                skus.append(extra)  # bought together
    items, total = [], Decimal(0)
    for sku in skus:
        _, name, _, price, consumable = _BY_SKU[sku]
        quantity = rng.choice((1, 1, 2, 3)) if consumable else 1
        items.append({"sku": sku, "name": name, "quantity": quantity, "unit_price": price})
        total += Decimal(price) * quantity
        b.bought.append(sku)
    return items, total


def product_rows(org_id: int, currency: str, now: Any) -> list[tuple[Any, ...]]:
    """The catalogue as rows for COPY into ``product``."""
    return [(org_id, sku, name, category, Decimal(price), currency, True,
             '{"demo": true}', now, now)
            for sku, name, category, price, _ in CATALOGUE]
