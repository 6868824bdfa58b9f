"""The product catalogue through the API, and order line items that name its products."""

from __future__ import annotations

from db.product_models import Product
from tests.factories import gid, make_customer, make_org

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id sku name category categoryPath price { amount currency } active attributes }
    errors { code field message }
  }
}"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { name price { amount currency } active }
                                 errors { code field message } }
}"""
LIST = """
query($filter: ProductFilter, $orderBy: ProductOrderBy!) {
  products(first: 10, filter: $filter, orderBy: $orderBy) { totalCount nodes { sku } }
}"""
ORDER = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { lineItems { sku product { sku name active } } }
    errors { code field message }
  }
}"""


def _product(sku: str, **overrides: object) -> dict[str, object]:
    return {"sku": sku, "name": f"Product {sku}", "price": "10.00", "currency": "EUR",
            **overrides}


async def test_create_read_update_a_product(api) -> None:
    created = (await api.data(CREATE, input=_product(
        "ROOM-SEA-2", name="Sea view double", category=" Travel / Rooms ", price="129.5",
        currency="eur", attributes={"nights": 1, "board": "breakfast"})))["createProduct"]
    assert created["errors"] == []
    product = created["product"]
    assert product | {"id": None} == {
        "id": None, "sku": "ROOM-SEA-2", "name": "Sea view double", "category": "Travel/Rooms",
        "categoryPath": ["Travel", "Rooms"], "price": {"amount": "129.50", "currency": "EUR"},
        "active": True, "attributes": {"nights": 1, "board": "breakfast"},
    }
    read = await api.data("query($id: ID!) { product(id: $id) { sku } node(id: $id) {"
                          " ... on Product { name } } }", id=product["id"])
    assert read == {"product": {"sku": "ROOM-SEA-2"}, "node": {"name": "Sea view double"}}
    updated = (await api.data(UPDATE, input={"id": product["id"], "price": "99",
                                             "active": False}))["updateProduct"]
    assert updated == {"product": {"name": "Sea view double", "active": False,
                                   "price": {"amount": "99.00", "currency": "EUR"}},
                       "errors": []}


async def test_bad_products_are_refused_with_their_fields_and_write_nothing(api, org) -> None:
    await api.data(CREATE, input=_product("ab-1"))
    cases = [
        (_product("AB-1"), "DUPLICATE", ["input", "sku"]),  # SKUs compare case-insensitively
        (_product(" "), "BAD_USER_INPUT", ["input", "sku"]),
        (_product("X-1", price="-1"), "BAD_USER_INPUT", ["input", "price"]),
        (_product("X-2", currency="EURO"), "BAD_USER_INPUT", ["input", "currency"]),
        (_product("X-3", category="Travel//Rooms"), "BAD_USER_INPUT", ["input", "category"]),
        (_product("X-4", name="n" * 201), "BAD_USER_INPUT", ["input", "name"]),
    ]
    for row, code, field in cases:
        payload = (await api.data(CREATE, input=row))["createProduct"]
        assert payload["product"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], row
    assert await Product.filter(organization_id=org.id).count() == 1
    other = await Product.create(organization=await make_org(), sku="T-1", name="Theirs",
                                 price=1, currency="EUR")
    from schema.node import to_global_id

    payload = (await api.data(UPDATE, input={"id": to_global_id("Product", other.id),
                                             "name": "Mine"}))["updateProduct"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]


async def test_search_filters_and_orderings(api) -> None:
    for sku, name, category, price in [
        ("TRIP-1", "Lisbon city break", "Travel/Trips", "450"),
        ("ROOM-1", "Garden room", "Travel/Rooms", "90"),
        ("ROOM-2", "Suite", "Travel/Rooms/Suites", "300"),
        ("MUG-1", "Coffee mug", "Home/Kitchen", "12"),
    ]:
        await api.data(CREATE, input=_product(sku, name=name, category=category, price=price))
    await api.data(CREATE, input=_product("OLD-1", name="Retired room", category="Travel/Rooms",
                                          active=False))

    async def skus(order_by: str = "NAME_ASC", **f: object) -> list[str]:
        data = await api.data(LIST, filter=f, orderBy=order_by)
        return [n["sku"] for n in data["products"]["nodes"]]

    assert await skus(category="Travel/Rooms", active=True) == ["ROOM-1", "ROOM-2"]
    assert await skus("PRICE_DESC", category="Travel") == ["TRIP-1", "ROOM-2", "ROOM-1", "OLD-1"]
    page = "query($after: String) { products(first: 2, after: $after, orderBy: PRICE_ASC) {" \
           " nodes { sku } pageInfo { endCursor hasNextPage } } }"
    first = (await api.data(page))["products"]
    second = (await api.data(page, after=first["pageInfo"]["endCursor"]))["products"]
    assert [n["sku"] for n in first["nodes"] + second["nodes"]] == [
        "OLD-1", "MUG-1", "ROOM-1", "ROOM-2"]  # 10 and 12 then 90 and 300: exact keyset
    assert await skus(search="ROOM") == ["ROOM-1", "OLD-1", "ROOM-2"]  # sku, name or category
    assert await skus(minPrice="50", maxPrice="300", active=True) == ["ROOM-1", "ROOM-2"]
    body = await api(LIST, filter={"category": "/"}, orderBy="NAME_ASC")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                               "field": ["filter", "category"]}


async def test_order_line_items_name_known_skus(api, org) -> None:
    customer = await make_customer(org)
    await api.data(CREATE, input=_product("Tee-1", name="Tee"))
    order = {"customerId": gid(customer), "amount": "15.00", "currency": "EUR",
             "placedAt": "2026-03-01T10:00:00Z", "lineItems": [
                 {"name": "Tee", "unitPrice": "10.00", "sku": "tee-1"},
                 {"name": "Gift wrap", "unitPrice": "5.00"},  # no SKU: a free-text item
             ]}
    created = (await api.data(ORDER, input=order))["createOrder"]
    assert created["errors"] == []
    assert created["order"]["lineItems"] == [
        {"sku": "tee-1", "product": {"sku": "Tee-1", "name": "Tee", "active": True}},
        {"sku": None, "product": None},
    ]
    unknown = {**order, "lineItems": [{"name": "Tee", "unitPrice": "10.00", "sku": "tee-1"},
                                      {"name": "Cap", "unitPrice": "5.00", "sku": "CAP-9"}]}
    refused = (await api.data(ORDER, input=unknown))["createOrder"]
    assert refused["order"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["input", "lineItems", "1", "sku"])]
    assert "CAP-9" in refused["errors"][0]["message"]
    from db.models import Order

    assert await Order.filter(customer_id=customer.id).count() == 1


async def test_unknown_skus_become_inactive_products_when_the_organization_says_so(
    api, org
) -> None:
    from db.models import Organization

    await Organization.filter(id=org.id).update(create_unknown_products=True)
    customer = await make_customer(org)
    created = (await api.data(ORDER, input={
        "customerId": gid(customer), "amount": "5.00", "currency": "USD",
        "placedAt": "2026-03-01T10:00:00Z",
        "lineItems": [{"name": "Cap", "unitPrice": "5.00", "sku": "CAP-9"}]}))["createOrder"]
    assert created["errors"] == []
    assert created["order"]["lineItems"] == [
        {"sku": "CAP-9", "product": {"sku": "CAP-9", "name": "Cap", "active": False}}]
    placeholder = await Product.get(organization_id=org.id, sku="CAP-9")
    assert (placeholder.price, placeholder.currency, placeholder.attributes) == (
        5, "USD", {"placeholder": True})


async def test_bulk_orders_with_unknown_skus_fail_alone(api, org) -> None:
    await make_customer(org, external_ref="C-1")
    await api.data(CREATE, input=_product("OK-1"))
    rows = [
        {"externalRef": f"O-{i}", "customerExternalRef": "C-1", "amount": "10.00",
         "currency": "EUR", "placedAt": "2026-03-01T10:00:00Z",
         "lineItems": [{"name": "Thing", "unitPrice": "10.00", "sku": sku}]}
        for i, sku in enumerate(["OK-1", "NOPE-1", "ok-1"])
    ]
    payload = (await api.data(
        "mutation($rows: [OrderUpsertRow!]!) { upsertOrders(input: {rows: $rows}) {"
        " results { index status errors { code field } } } }", rows=rows))["upsertOrders"]
    assert [(r["index"], r["status"]) for r in payload["results"]] == [
        (0, "CREATED"), (1, "FAILED"), (2, "CREATED")]
    assert payload["results"][1]["errors"] == [
        {"code": "NOT_FOUND", "field": ["input", "rows", "1", "lineItems", "0", "sku"]}]


async def test_upsert_products_by_sku_with_results_per_row(api, org) -> None:
    await api.data(CREATE, input=_product("ROOM-1", name="Garden room", price="90"))
    upsert = """mutation($rows: [ProductUpsertRow!]!) { upsertProducts(input: {rows: $rows}) {
        created updated unchanged failed
        results { index status product { sku name price { amount } active }
                  errors { code field message } } } }"""
    payload = (await api.data(upsert, rows=[
        {"sku": "room-1", "price": "95"},  # matched in any case; the stored SKU stays
        {"sku": "ROOM-2", "name": "Suite", "price": "300", "currency": "EUR"},
        {"sku": "ROOM-3", "name": "No price", "currency": "EUR"},
        {"sku": "ROOM-2", "name": "Again"},
        {"sku": "ROOM-4", "name": "Bad", "price": "1", "currency": "EURO"},
    ]))["upsertProducts"]
    assert (payload["created"], payload["updated"], payload["failed"]) == (1, 1, 3)
    results = payload["results"]
    assert results[0]["product"] == {"sku": "ROOM-1", "name": "Garden room",
                                     "price": {"amount": "95.00"}, "active": True}
    assert results[1]["status"] == "CREATED"
    assert {r["index"]: [(e["code"], e["field"]) for e in r["errors"]]
            for r in results if r["errors"]} == {
        2: [("BAD_USER_INPUT", ["input", "rows", "2", "price"])],
        3: [("DUPLICATE", ["input", "rows", "3", "sku"])],
        4: [("BAD_USER_INPUT", ["input", "rows", "4", "currency"])],
    }
    assert await Product.filter(organization_id=org.id).count() == 2
