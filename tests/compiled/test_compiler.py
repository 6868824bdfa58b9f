"""The compiler's per-plan memory: costs remembered per page size, never across page sizes."""

from __future__ import annotations

import httpx

from tests.compiled.test_guards import Client, _client_app
from tests.compiled.test_guards import world as world  # a fixture

PAGED = """query($n: Int, $id: ID!) {
  customers(first: $n) { nodes { id } } customer(id: $id) { id } }"""


async def test_costs_are_remembered_per_page_size_only(db, settings, world) -> None:
    app = _client_app(db, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        client = Client(http, app)
        costs = []
        asked = ((5, world["id"]), (5, "Q3VzdG9tZXI6OTk5"), (50, world["id"]), (5, world["id"]))
        for n, id_ in asked:
            body = (await client.post(PAGED, world["admin"], n=n, id=id_)).json()
            costs.append(body["extensions"]["cost"]["requested"])
        assert costs == [13, 13, 103, 13]  # 1 + n * (nodes + id), + 2 for customer { id }
        assert client.counts["compiled"] == 4
        plan = app.state.compiler.plan_for(PAGED, None)
        assert plan.cost_variables == ("n",)
        assert sorted(plan.costs.values()) == [13, 103]  # one per page size asked
