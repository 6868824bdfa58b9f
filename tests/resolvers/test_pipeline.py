"""Pipelines through the GraphQL endpoint: an ADMIN edits stages; deals follow removals."""

from __future__ import annotations

from db.enums import Role
from tests.factories import Api, make_user, token_for

STAGES = "id name isDefault stages { id name position probability }"
UPDATE = f"""
mutation($input: UpdatePipelineInput!) {{
  updatePipeline(input: $input) {{ pipeline {{ {STAGES} }} errors {{ code field message }} }}
}}"""
CREATE_DEAL = """
mutation($stage: ID!) { createDeal(input: {name: "D", amount: "10", stageId: $stage})
  { deal { id } errors { code } } }"""


async def _default(api: Api) -> dict:  # type: ignore[type-arg]
    return (await api.data(f"{{ pipelines {{ {STAGES} }} }}"))["pipelines"][0]  # type: ignore[no-any-return]


async def test_admins_create_pipelines_with_stages(api) -> None:
    data = await api.data(f"""mutation {{ createPipeline(input: {{name: "Renewals", stages: [
        {{name: "Due", probability: 60}}, {{name: "Signed", probability: 95}}]}})
        {{ pipeline {{ {STAGES} }} errors {{ code field message }} }} }}""")
    pipeline = data["createPipeline"]["pipeline"]
    assert not pipeline["isDefault"]
    assert [(s["name"], s["position"]) for s in pipeline["stages"]] == [("Due", 1),
                                                                        ("Signed", 2)]
    again = await api.data("""mutation { createPipeline(input: {name: "renewals", stages: [
        {name: "A", probability: 101}, {name: " "}]}) { errors { field } } }""")
    assert [e["field"] for e in again["createPipeline"]["errors"]] == [
        ["input", "stages", "0", "probability"], ["input", "stages", "1", "name"],
        ["input", "stages", "1", "probability"]]
    duplicate = await api.data("""mutation { createPipeline(input: {name: "renewals", stages: [
        {name: "A", probability: 1}]}) { errors { code field } } }""")
    assert duplicate["createPipeline"]["errors"] == [
        {"code": "DUPLICATE", "field": ["input", "name"]}]


async def test_rename_reorder_add_and_remove_stages_moving_their_deals(api) -> None:
    pipeline = await _default(api)
    q, n, p, neg = (s["id"] for s in pipeline["stages"])
    deal = (await api.data(CREATE_DEAL, stage=n))["createDeal"]["deal"]
    stages = [{"id": neg}, {"id": p, "name": "Offer", "probability": 40}, {"id": q},
              {"name": "Verbal yes", "probability": 90}]
    refused = await api.data(UPDATE, input={"id": pipeline["id"], "stages": stages})
    assert refused["updatePipeline"]["errors"] == [{
        "code": "BAD_USER_INPUT", "field": ["input", "moveDeals"],
        "message": "stage 'Needs analysis' has 1 deals: name the stage to move them to"}]
    data = await api.data(UPDATE, input={
        "id": pipeline["id"], "name": "New business", "stages": stages,
        "moveDeals": [{"fromStageId": n, "toStageId": p}]})
    assert data["updatePipeline"]["errors"] == []
    updated = data["updatePipeline"]["pipeline"]
    assert [(s["name"], s["position"], s["probability"]) for s in updated["stages"]] == [
        ("Negotiation", 1, 75), ("Offer", 2, 40), ("Qualification", 3, 10),
        ("Verbal yes", 4, 90)]
    moved = await api.data("query($id: ID!) { deal(id: $id) { stage { name } probability"
                           " stageHistory { fromStage toStage fromStageId } } }", id=deal["id"])
    assert moved["deal"]["stage"] == {"name": "Offer"}
    assert moved["deal"]["probability"] == 40
    assert [(h["fromStage"], h["toStage"]) for h in moved["deal"]["stageHistory"]] == [
        (None, "Needs analysis"), ("Needs analysis", "Offer")]
    assert moved["deal"]["stageHistory"][1]["fromStageId"] is None  # the stage is gone


async def test_only_admins_edit_pipelines(http, org, settings) -> None:
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    pipeline = await _default(manager)
    body = await manager(UPDATE, input={"id": pipeline["id"], "name": "Mine"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
