"""Tasks through the GraphQL endpoint: links, completion, my tasks overdue first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.enums import Role
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.security_helpers import make_key

FIELDS = """id title status priority dueAt overdue completedAt assignee { id }
  customer { name } company { name } deal { name }"""
CREATE = f"""
mutation($input: CreateTaskInput!) {{
  createTask(input: $input) {{ task {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateTaskInput!) {{
  updateTask(input: $input) {{ task {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
COMPLETE = f"""
mutation($id: ID!) {{ completeTask(id: $id) {{ task {{ {FIELDS} }} errors {{ code field }} }} }}"""
MINE = "{ myTasks { nodes { title overdue } } }"


def _at(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def _task(api: Api, **values: object) -> dict:  # type: ignore[type-arg]
    data = await api.data(CREATE, input={"title": "Call back"} | values)
    assert data["createTask"]["errors"] == [], data
    return data["createTask"]["task"]  # type: ignore[no-any-return]


async def test_a_task_links_to_one_thing_and_is_assigned_to_its_creator(api, admin, org) -> None:
    ada = await make_customer(org, name="Ada")
    task = await _task(api, customerId=gid(ada), dueAt=_at(-1), priority="HIGH")
    assert task["assignee"] == {"id": gid(admin)}
    assert task["customer"] == {"name": "Ada"}
    assert task["overdue"] is True
    deal = (await api.data('mutation { createDeal(input: {name: "D", amount: "5"})'
                           " { deal { id } } }"))["createDeal"]["deal"]
    data = await api.data(UPDATE, input={"id": task["id"], "dealId": deal["id"]})
    moved = data["updateTask"]["task"]
    assert moved["customer"] is None
    assert moved["deal"] == {"name": "D"}
    both = await api.data(CREATE, input={"title": "x", "customerId": gid(ada),
                                         "dealId": deal["id"]})
    assert both["createTask"]["errors"] == [{
        "code": "BAD_USER_INPUT", "field": ["input", "dealId"],
        "message": "a task is linked to one customer, company or deal"}]


async def test_bad_input_has_field_paths(api) -> None:
    stranger = await make_customer(await make_org())
    data = await api.data(CREATE, input={"title": " ", "customerId": gid(stranger),
                                         "assigneeId": "bm9wZQ"})
    assert [e["field"] for e in data["createTask"]["errors"]] == [["input", "assigneeId"]]
    data = await api.data(CREATE, input={"title": " ", "customerId": gid(stranger)})
    assert sorted(e["field"] for e in data["createTask"]["errors"]) == [
        ["input", "customerId"], ["input", "title"]]


async def test_my_tasks_overdue_first_then_by_due_time(api, admin, org) -> None:
    colleague = await make_user(org)
    await _task(api, title="Later", dueAt=_at(48))
    await _task(api, title="Someday")
    await _task(api, title="Late", dueAt=_at(-2))
    await _task(api, title="Soon", dueAt=_at(2))
    await _task(api, title="Theirs", dueAt=_at(-5), assigneeId=gid(colleague))
    done = await _task(api, title="Done", dueAt=_at(-9))
    completed = await api.data(COMPLETE, id=done["id"])
    assert completed["completeTask"]["task"]["status"] == "DONE"
    assert completed["completeTask"]["task"]["overdue"] is False
    data = await api.data(MINE)
    assert data["myTasks"]["nodes"] == [
        {"title": "Late", "overdue": True}, {"title": "Soon", "overdue": False},
        {"title": "Later", "overdue": False}, {"title": "Someday", "overdue": False}]
    overdue = await api.data("{ tasks(filter: {overdue: true}) { nodes { title } } }")
    assert [n["title"] for n in overdue["tasks"]["nodes"]] == ["Theirs", "Late"]


async def test_cancelled_tasks_cannot_be_completed(api) -> None:
    task = await _task(api)
    await api.data(UPDATE, input={"id": task["id"], "status": "CANCELLED"})
    data = await api.data(COMPLETE, id=task["id"])
    assert data["completeTask"]["errors"] == [{"code": "BAD_USER_INPUT", "field": ["id"]}]


async def test_roles_isolation_and_keys(http, api, org, settings) -> None:
    task = await _task(api)
    viewer = Api(http, token_for(await make_user(org, role=Role.VIEWER), settings))
    refused = await viewer(COMPLETE, id=task["id"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = Api(http, token_for(await make_user(await make_org()), settings))
    assert (await other.data("query($id: ID!) { task(id: $id) { id } }",
                             id=task["id"]))["task"] is None
    key = Api(http, await make_key(org.id, ("tasks:read",)))
    assert (await key(MINE))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await key.data("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 1
