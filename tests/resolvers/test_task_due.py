"""``taskDue`` over real websockets: reminders published by the worker's reminder step reach the
assignee's subscription through PostgreSQL's LISTEN/NOTIFY, once per due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import task as tasks
from db import task_reminder as reminders
from db.enums import Role
from schema.node import to_global_id
from tests.factories import gid, make_customer, make_interaction, make_user, token_for
from tests.resolvers.test_subscription import GraphQLSocket
from tests.resolvers.test_subscription import live as live  # the fixture

TASK_DUE = "subscription { taskDue { id title overdue assignee { email } } }"


async def test_each_assignee_hears_of_their_own_task_falling_due(live, org, settings) -> None:
    ann, bob = await make_user(org, role=Role.AGENT), await make_user(org, role=Role.AGENT)
    due = datetime.now(UTC) - timedelta(seconds=1)
    anns = await tasks.create(org_id=org.id, user_id=ann.id,
                              data={"title": "Call Ada", "due_at": due})
    bobs = await tasks.create(org_id=org.id, user_id=bob.id,
                              data={"title": "Send offer", "due_at": due})
    async with GraphQLSocket.open(live.url, token_for(ann, settings)) as ann_socket, \
            GraphQLSocket.open(live.url, token_for(bob, settings)) as bob_socket:
        ann_op = await ann_socket.subscribe(TASK_DUE)
        bob_op = await bob_socket.subscribe(TASK_DUE)
        await live.subscribed(org.id, 2)
        fired = await reminders.fire_due(org_ids=[org.id])
        assert sorted(t["id"] for t in fired) == sorted([anns["id"], bobs["id"]])
        assert await reminders.fire_due(org_ids=[org.id]) == []  # once per due time
        ann_event = (await ann_socket.data(ann_op))["taskDue"]
        bob_event = (await bob_socket.data(bob_op))["taskDue"]
        # a new due time is reminded again
        later = datetime.now(UTC) - timedelta(milliseconds=1)
        await tasks.update(org_id=org.id, task_id=anns["id"], data={"due_at": later})
        assert [t["id"] for t in await reminders.fire_due(org_ids=[org.id])] == [anns["id"]]
        again = (await ann_socket.data(ann_op))["taskDue"]
    assert ann_event == {"id": to_global_id("Task", anns["id"]), "title": "Call Ada",
                         "overdue": True, "assignee": {"email": ann.email}}
    assert bob_event["id"] == to_global_id("Task", bobs["id"])
    assert again["id"] == ann_event["id"]


async def test_interaction_subscriptions_do_not_hear_task_events(live, org, settings) -> None:
    user = await make_user(org, role=Role.AGENT)
    interaction = await make_interaction(await make_customer(org))
    task = await tasks.create(org_id=org.id, user_id=user.id, data={
        "title": "Quiet", "due_at": datetime.now(UTC) - timedelta(seconds=1)})
    async with GraphQLSocket.open(live.url, token_for(user, settings)) as socket:
        updated = await socket.subscribe("subscription { interactionUpdated { id } }")
        due = await socket.subscribe(TASK_DUE)
        await live.subscribed(org.id, 2)
        await reminders.fire_due(org_ids=[org.id])
        assert (await socket.data(due))["taskDue"]["id"] == to_global_id("Task", task["id"])
        interaction.subject = "Changed"
        await interaction.save()
        first = await socket.data(updated)
    # the interaction subscription's first event is the interaction's, not the task's
    assert first == {"interactionUpdated": {"id": gid(interaction)}}


async def test_a_deactivated_users_open_subscriptions_end(live, api, org, settings) -> None:
    user = await make_user(org, role=Role.AGENT)
    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, token_for(user, settings)) as socket:
        op = await socket.subscribe("subscription { interactionCreated { id } }")
        await live.subscribed(org.id)
        await make_interaction(customer)
        assert (await socket.data(op))["interactionCreated"]["id"]
        gone = await api.data("mutation($id: ID!) { deactivateUser(id: $id) { errors { code } } }",
                              id=gid(user))
        assert gone["deactivateUser"]["errors"] == []
        await make_interaction(customer)
        message = await socket.message(op)
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not (message["payload"].get("data") or {}).get("interactionCreated")
