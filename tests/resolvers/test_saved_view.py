"""Saved views: per user and organization, replaced by name, filters returned as given."""

from __future__ import annotations

from typing import Any

from tests.factories import Api, make_user, token_for

SAVE = """mutation($input: SaveViewInput!) {
  saveView(input: $input) { view { id name filter orderBy } errors { code field message } } }"""
LIST = "{ savedViews { id name filter orderBy } }"
DELETE = """mutation($id: ID!) { deleteView(id: $id) {
  view { id } errors { code field message } } }"""
FILTER: dict[str, Any] = {"or": [{"orders": {"count": {"gte": 3}}},
                                 {"not": {"interactions": {"noneWithinDays": 30}}}]}


async def test_a_view_is_saved_listed_replaced_and_deleted(api) -> None:  # type: ignore[no-untyped-def]
    saved = (await api.data(SAVE, input={"name": " Loyal  ", "filter": FILTER,
                                         "orderBy": "NAME_ASC"}))["saveView"]
    assert saved["errors"] == []
    assert saved["view"]["name"] == "Loyal"
    assert saved["view"]["filter"] == FILTER
    again = (await api.data(SAVE, input={"name": "Loyal", "filter": {"stages": ["LEAD"]}}))
    assert again["saveView"]["view"]["id"] == saved["view"]["id"]  # replaced, not added
    [view] = (await api.data(LIST))["savedViews"]
    assert view == {"id": saved["view"]["id"], "name": "Loyal", "filter": {"stages": ["LEAD"]},
                    "orderBy": "CREATED_AT_DESC"}
    gone = (await api.data(DELETE, id=view["id"]))["deleteView"]
    assert gone["errors"] == []
    assert gone["view"]["id"] == view["id"]
    assert (await api.data(LIST))["savedViews"] == []


async def test_views_are_each_users_own(api, http, org, settings) -> None:  # type: ignore[no-untyped-def]
    mine = (await api.data(SAVE, input={"name": "Mine", "filter": {}}))["saveView"]["view"]
    colleague = Api(http, token_for(await make_user(org), settings))
    assert (await colleague.data(LIST))["savedViews"] == []
    refused = (await colleague.data(DELETE, id=mine["id"]))["deleteView"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert len((await api.data(LIST))["savedViews"]) == 1


async def test_bad_input_is_refused_with_its_field(api) -> None:  # type: ignore[no-untyped-def]
    for given, field in (({"name": " ", "filter": {}}, "name"),
                         ({"name": "x" * 101, "filter": {}}, "name"),
                         ({"name": "List", "filter": [1, 2]}, "filter")):
        payload = (await api.data(SAVE, input=given))["saveView"]
        assert payload["view"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("BAD_USER_INPUT", ["input", field])]
    body = await api(DELETE, id="not-an-id")
    assert "INTERNAL_SERVER_ERROR" not in str(body)
    assert (await api.data(LIST))["savedViews"] == []
