"""The team through GraphQL on real PostgreSQL, with email through the real outbox and SMTP."""

from __future__ import annotations

import re
from typing import Any

from db.enums import Role
from db.sql import fetch, fetch_one
from tests.email_helpers import email_settings, running_worker
from tests.factories import PASSWORD, Api, gid, make_org, make_user, token_for
from tests.smtp import Sink, smtp_sink

INVITE = """mutation($email: String!, $role: Role!) { inviteUser(email: $email, role: $role) {
  invitation { email role expiresAt } errors { code field message } } }"""
ACCEPT = """mutation($token: String!, $name: String!, $password: String!) {
  acceptInvitation(token: $token, name: $name, password: $password) {
    accessToken refreshToken user { email name role } errors { code field message } } }"""
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password)
  { accessToken refreshToken errors { code } } }"""
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(email: $email) {
  errors { code field message } } }"""
RESET = """mutation($token: String!, $password: String!) { resetPassword(token: $token,
  password: $password) { accessToken user { email } errors { code field message } } }"""
ROLE = """mutation($id: ID!, $role: Role!) { updateUserRole(id: $id, role: $role) {
  user { id role } errors { code field message } } }"""
DEACTIVATE = """mutation($id: ID!) { deactivateUser(id: $id) {
  user { id isActive } errors { code field message } } }"""
CHANGE = """mutation($current: String!, $new: String!) { changePassword(currentPassword: $current,
  newPassword: $new) { accessToken refreshToken errors { code field message } } }"""
REFRESH = "mutation($t: String!) { refreshToken(token: $t) { accessToken errors { code } } }"
USERS = """query($f: UserFilter) { users(first: 50, filter: $f) { totalCount
  nodes { email role isActive } } }"""
VIEWER = "{ viewer { user { email role } preferences { taskDigest } } }"
LINK = re.compile(r"token=(crm[ip]_[A-Za-z0-9_\-]+)")


def link_token(sink: Sink, recipient: str) -> str:
    """The token in the link of the last email the sink received for ``recipient``."""
    [message] = [r.message for r in sink.received if r.rcpt_tos == [recipient]][-1:]
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)


async def _mail(settings: Any, org_id: int, sink: Sink, count: int) -> None:
    """Let a real outbox worker deliver the organization's queued email to the sink."""
    async with running_worker(email_settings(settings, sink.port), [org_id]):
        await sink.wait_for(count)


async def test_invitation_round_trip_through_the_outbox_and_smtp(
    http, api, org, settings
) -> None:
    async with smtp_sink() as sink:
        sent = await api.data(INVITE, email="New.Person@Example.COM", role="AGENT")
        assert sent["inviteUser"]["errors"] == []
        assert sent["inviteUser"]["invitation"]["role"] == "AGENT"
        address = sent["inviteUser"]["invitation"]["email"]
        await _mail(settings, org.id, sink, 1)
        token = link_token(sink, address)
    stored = await fetch_one("SELECT kind, customer_id, interaction_id, status FROM email_message"
                             " WHERE organization_id = $1", [org.id])
    assert stored == {"kind": "INVITATION", "customer_id": None, "interaction_id": None,
                      "status": "SENT"}
    assert await fetch_one("SELECT 1 AS x FROM account_token WHERE token_hash = $1",
                           [token]) is None  # only a hash is kept
    joined = await Api(http).data(ACCEPT, token=token, name="New Person", password="a new secret")
    assert joined["acceptInvitation"]["errors"] == []
    assert joined["acceptInvitation"]["user"] == {"email": address, "name": "New Person",
                                                  "role": "AGENT"}
    me = await Api(http, joined["acceptInvitation"]["accessToken"]).data(VIEWER)
    assert me["viewer"]["user"] == {"email": address, "role": "AGENT"}
    again = await Api(http).data(ACCEPT, token=token, name="Mallory", password="another one")
    assert again["acceptInvitation"]["accessToken"] is None
    assert again["acceptInvitation"]["errors"][0]["field"] == ["token"]


async def test_an_expired_or_replaced_invitation_does_not_work(http, api, org, settings) -> None:
    async with smtp_sink() as sink:
        await api.data(INVITE, email="late@example.com", role="VIEWER")
        await _mail(settings, org.id, sink, 1)
        first = link_token(sink, "late@example.com")
        await api.data(INVITE, email="late@example.com", role="MANAGER")
        await _mail(settings, org.id, sink, 2)
        second = link_token(sink, "late@example.com")
    replaced = await Api(http).data(ACCEPT, token=first, name="Late", password="long enough")
    assert replaced["acceptInvitation"]["errors"][0]["code"] == "BAD_USER_INPUT"
    await fetch("UPDATE account_token SET expires_at = now() - interval '1 second'"
                " WHERE organization_id = $1", [org.id])
    expired = await Api(http).data(ACCEPT, token=second, name="Late", password="long enough")
    assert expired["acceptInvitation"]["errors"][0]["field"] == ["token"]
    assert await fetch_one("SELECT 1 AS x FROM app_user WHERE email = 'late@example.com'") is None


async def test_invitation_input_errors_have_field_paths(http, api, org, admin) -> None:
    bad = await api.data(INVITE, email="not an address", role="AGENT")
    assert bad["inviteUser"]["errors"][0]["field"] == ["email"]
    taken = await api.data(INVITE, email=admin.email, role="AGENT")
    assert taken["inviteUser"]["errors"][0]["code"] == "DUPLICATE"
    short = await Api(http).data(ACCEPT, token="crmi_nothing", name=" ", password="short")
    assert {tuple(e["field"]) for e in short["acceptInvitation"]["errors"]} == {
        ("name",), ("password",)}


async def test_password_reset_by_email_reveals_nothing(http, org, settings) -> None:
    user = await make_user(org, role=Role.AGENT)
    anonymous = Api(http)
    async with smtp_sink() as sink:
        known = await anonymous.data(REQUEST_RESET, email=user.email.upper())
        unknown = await anonymous.data(REQUEST_RESET, email="nobody-here@example.com")
        assert known == unknown == {"requestPasswordReset": {"errors": []}}
        await _mail(settings, org.id, sink, 1)
        token = link_token(sink, user.email)
        assert len(sink.received) == 1
    done = await anonymous.data(RESET, token=token, password="brand new password")
    assert done["resetPassword"]["errors"] == []
    assert done["resetPassword"]["user"]["email"] == user.email
    old = await anonymous.data(LOGIN, email=user.email, password=PASSWORD)
    assert old["login"]["errors"][0]["code"] == "UNAUTHENTICATED"
    new = await anonymous.data(LOGIN, email=user.email, password="brand new password")
    assert new["login"]["errors"] == []
    reused = await anonymous.data(RESET, token=token, password="yet another password")
    assert reused["resetPassword"]["errors"][0]["field"] == ["token"]


async def test_deactivation_stops_access_and_refresh_tokens_at_once(http, api, org) -> None:
    user = await make_user(org, role=Role.AGENT)
    signed = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    session = Api(http, signed["login"]["accessToken"])
    assert (await session.data(VIEWER))["viewer"]["user"]["role"] == "AGENT"  # now cached
    gone = await api.data(DEACTIVATE, id=gid(user))
    assert gone["deactivateUser"] == {"user": {"id": gid(user), "isActive": False}, "errors": []}
    refused = await session(VIEWER)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refreshed = await Api(http).data(REFRESH, t=signed["login"]["refreshToken"])
    assert refreshed["refreshToken"]["errors"][0]["code"] == "UNAUTHENTICATED"
    again = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    assert again["login"]["accessToken"] is None


async def test_a_role_change_applies_to_the_next_request(http, api, org, settings) -> None:
    user = await make_user(org, role=Role.VIEWER)
    session = Api(http, token_for(user, settings))
    assert (await session.data(VIEWER))["viewer"]["user"]["role"] == "VIEWER"
    changed = await api.data(ROLE, id=gid(user), role="MANAGER")
    assert changed["updateUserRole"]["user"]["role"] == "MANAGER"
    assert (await session.data(VIEWER))["viewer"]["user"]["role"] == "MANAGER"
    listed = await session.data(USERS, f={"roles": ["MANAGER"]})
    assert [n["email"] for n in listed["users"]["nodes"]] == [user.email]


async def test_who_may_manage_the_team(http, org, settings) -> None:
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    assert (await manager.data(USERS))["users"]["totalCount"] == 2
    for caller in (manager, agent):
        refused = await caller(INVITE, email="x@example.com", role="VIEWER")
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await agent(USERS)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_last_admin_cannot_step_down(http, api, org, admin, settings) -> None:
    for document, args in ((ROLE, {"role": "MANAGER"}), (DEACTIVATE, {})):
        body = await api.data(document, id=gid(admin), **args)
        [payload] = body.values()
        assert payload["user"] is None
        assert payload["errors"][0]["code"] == "LAST_ADMIN"
    second = await make_user(org, role=Role.ADMIN)
    stepped = await api.data(ROLE, id=gid(admin), role="MANAGER")
    assert stepped["updateUserRole"]["errors"] == []
    last = Api(http, token_for(second, settings))
    refused = await last.data(DEACTIVATE, id=gid(second))
    assert refused["deactivateUser"]["errors"][0]["code"] == "LAST_ADMIN"


async def test_other_organizations_users_look_unknown(http, api, org) -> None:
    other = await make_user(await make_org(), role=Role.AGENT)
    for document, args in ((ROLE, {"role": "VIEWER"}), (DEACTIVATE, {})):
        body = await api.data(document, id=gid(other), **args)
        [payload] = body.values()
        assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert other.email not in {n["email"] for n in (await api.data(USERS))["users"]["nodes"]}
    row = await fetch_one("SELECT role, is_active FROM app_user WHERE id = $1", [other.id])
    assert row == {"role": "AGENT", "is_active": True}


async def test_change_password_needs_the_current_one(http, org, settings) -> None:
    user = await make_user(org, role=Role.AGENT)
    signed = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    session = Api(http, signed["login"]["accessToken"])
    wrong = await session.data(CHANGE, current="not it", new="a better password")
    assert wrong["changePassword"]["errors"][0]["field"] == ["currentPassword"]
    weak = await session.data(CHANGE, current=PASSWORD, new="short")
    assert weak["changePassword"]["errors"][0]["field"] == ["newPassword"]
    changed = await session.data(CHANGE, current=PASSWORD, new="a better password")
    assert changed["changePassword"]["errors"] == []
    old_refresh = await Api(http).data(REFRESH, t=signed["login"]["refreshToken"])
    assert old_refresh["refreshToken"]["errors"][0]["code"] == "UNAUTHENTICATED"
    assert (await Api(http).data(REFRESH, t=changed["changePassword"]["refreshToken"]))[
        "refreshToken"]["errors"] == []


async def test_team_changes_are_audited(http, api, org, admin) -> None:
    user = await make_user(org, role=Role.AGENT)
    await api.data(INVITE, email="audited@example.com", role="VIEWER")
    await api.data(ROLE, id=gid(user), role="VIEWER")
    await api.data(DEACTIVATE, id=gid(user))
    await api.data("""mutation { updateOrganization(input: {timeZone: "Europe/Berlin"}) {
        errors { code } } }""")
    rows = await fetch(
        "SELECT action, actor_user_id, target_type, target_id, changed_fields FROM audit_event"
        " WHERE organization_id = $1 ORDER BY id", [org.id])
    assert [(r["action"], r["actor_user_id"], r["target_type"], r["target_id"],
             r["changed_fields"]) for r in rows] == [
        ("inviteUser", admin.id, None, None, ["email", "role"]),
        ("updateUserRole", admin.id, "User", user.id, ["id", "role"]),
        ("deactivateUser", admin.id, "User", user.id, ["id"]),
        ("updateOrganization", admin.id, "Organization", org.id, ["input.timeZone"]),
    ]


ORGANIZATION = """mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) {
  organization { name currency timeZone locale } errors { code field message } } }"""


async def test_update_organization_validates_and_canonicalises(http, api, org, settings) -> None:
    bad = await api.data(ORGANIZATION, input={
        "currency": "XYZ", "timeZone": "Mars/Olympus", "locale": "english please"})
    assert bad["updateOrganization"]["organization"] is None
    assert sorted(e["field"][1] for e in bad["updateOrganization"]["errors"]) == [
        "currency", "locale", "timeZone"]
    good = await api.data(ORGANIZATION, input={
        "name": " Acme GmbH ", "currency": "eur", "timeZone": "europe/berlin",
        "locale": "DE-de"})
    assert good["updateOrganization"] == {"organization": {
        "name": "Acme GmbH", "currency": "EUR", "timeZone": "Europe/Berlin", "locale": "de-DE",
    }, "errors": []}
    seen = await api.data("{ viewer { organization { currency timeZone locale } } }")
    assert seen["viewer"]["organization"] == {
        "currency": "EUR", "timeZone": "Europe/Berlin", "locale": "de-DE"}
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    refused = await manager(ORGANIZATION, input={"currency": "USD"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


REACTIVATE = """mutation($id: ID!) { reactivateUser(id: $id) {
  user { id isActive } errors { code field message } } }"""
INVITATIONS = """{ invitations(first: 10) { totalCount
  nodes { id email role expiresAt invitedBy { email } } } }"""
REVOKE = """mutation($id: ID!) { revokeInvitation(id: $id) {
  invitation { email } errors { code field message } } }"""


async def test_reactivation_lets_the_user_in_again_and_old_tokens_stay_dead(
    http, api, org, admin, settings
) -> None:
    user = await make_user(org, role=Role.AGENT)
    signed = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    old = Api(http, signed["login"]["accessToken"])
    assert (await old.data(VIEWER))["viewer"]["user"]["role"] == "AGENT"
    await api.data(DEACTIVATE, id=gid(user))
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    body = await manager(REACTIVATE, id=gid(user))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    back = await api.data(REACTIVATE, id=gid(user))
    assert back["reactivateUser"] == {"user": {"id": gid(user), "isActive": True}, "errors": []}
    refused = await old(VIEWER)  # issued before the deactivation
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refreshed = await Api(http).data(REFRESH, t=signed["login"]["refreshToken"])
    assert refreshed["refreshToken"]["errors"][0]["code"] == "UNAUTHENTICATED"
    again = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    fresh = Api(http, again["login"]["accessToken"])
    assert (await fresh.data(VIEWER))["viewer"]["user"]["role"] == "AGENT"
    renewed = await Api(http).data(REFRESH, t=again["login"]["refreshToken"])
    assert renewed["refreshToken"]["errors"] == []
    audit = await fetch_one("SELECT actor_user_id, target_type, target_id FROM audit_event"
                            " WHERE action = 'reactivateUser' AND organization_id = $1",
                            [org.id])
    assert audit == {"actor_user_id": admin.id, "target_type": "User", "target_id": user.id}
    other = Api(http, token_for(await make_user(await make_org(), role=Role.ADMIN), settings))
    foreign = await other.data(REACTIVATE, id=gid(user))
    assert foreign["reactivateUser"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["id"], "message": "user not found"}]
    bad = await api.data(REACTIVATE, id="not an id")
    assert bad["reactivateUser"]["errors"][0]["field"] == ["id"]


async def test_pending_invitations_are_listed_and_a_revoked_link_stops_at_once(
    http, api, org, admin, settings
) -> None:
    async with smtp_sink() as sink:
        await api.data(INVITE, email="keep@example.com", role="VIEWER")
        await api.data(INVITE, email="drop@example.com", role="MANAGER")
        await _mail(settings, org.id, sink, 2)
        dropped = link_token(sink, "drop@example.com")
    listed = (await api.data(INVITATIONS))["invitations"]
    assert listed["totalCount"] == 2
    assert [(n["email"], n["role"], n["invitedBy"]) for n in listed["nodes"]] == [
        ("drop@example.com", "MANAGER", {"email": admin.email}),
        ("keep@example.com", "VIEWER", {"email": admin.email})]
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    assert (await manager(INVITATIONS))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = Api(http, token_for(await make_user(await make_org(), role=Role.ADMIN), settings))
    assert (await other.data(INVITATIONS))["invitations"]["totalCount"] == 0
    target = listed["nodes"][0]["id"]
    foreign = await other.data(REVOKE, id=target)
    assert foreign["revokeInvitation"]["errors"][0]["code"] == "NOT_FOUND"
    revoked = await api.data(REVOKE, id=target)
    assert revoked["revokeInvitation"] == {"invitation": {"email": "drop@example.com"},
                                           "errors": []}
    refused = await Api(http).data(ACCEPT, token=dropped, name="Drop", password="long enough")
    assert refused["acceptInvitation"]["errors"][0]["field"] == ["token"]
    twice = await api.data(REVOKE, id=target)
    assert twice["revokeInvitation"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["id"], "message": "pending invitation not found"}]
    left = (await api.data(INVITATIONS))["invitations"]
    assert [n["email"] for n in left["nodes"]] == ["keep@example.com"]
    audit = await fetch("SELECT target_type FROM audit_event WHERE action = 'revokeInvitation'"
                        " AND organization_id = $1", [org.id])
    assert [r["target_type"] for r in audit] == ["Invitation"]


SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
  accessToken user { email role } errors { code field message } } }"""
NEWCO = {"organizationName": "Newco Iberia", "currency": "eur", "timeZone": "europe/madrid",
         "email": "founder@newco.example", "name": "Founder", "password": "long enough"}


async def test_sign_up_is_off_unless_the_server_allows_it(http) -> None:
    body = await Api(http).data(SIGN_UP, input=NEWCO | {"organizationName": "Closed Co"})
    assert body["signUp"]["accessToken"] is None
    assert body["signUp"]["errors"][0]["code"] == "FORBIDDEN"
    assert await fetch_one("SELECT 1 AS x FROM organization WHERE slug = 'closed-co'") is None


async def test_sign_up_creates_an_organization_and_its_first_admin(
    http, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "signup_enabled", True)
    bad = await Api(http).data(SIGN_UP, input=NEWCO | {
        "organizationName": " ", "currency": "EURO", "timeZone": "Mars/Base", "locale": "??",
        "email": "nope", "name": "", "password": "short"})
    assert sorted(e["field"][-1] for e in bad["signUp"]["errors"]) == [
        "currency", "email", "locale", "name", "organizationName", "password", "timeZone"]
    assert all(e["field"][0] == "input" for e in bad["signUp"]["errors"])
    made = await Api(http).data(SIGN_UP, input=NEWCO)
    assert made["signUp"]["errors"] == []
    assert made["signUp"]["user"] == {"email": "founder@newco.example", "role": "ADMIN"}
    me = await Api(http, made["signUp"]["accessToken"]).data(
        "{ viewer { organization { name currency timeZone locale } } pipelines { name } }")
    assert me["viewer"]["organization"] == {"name": "Newco Iberia", "currency": "EUR",
                                            "timeZone": "Europe/Madrid", "locale": "en-US"}
    assert me["pipelines"] == [{"name": "Sales"}]
    again = await Api(http).data(SIGN_UP, input=NEWCO | {"email": "other@newco.example"})
    assert again["signUp"]["errors"][0]["field"] == ["input", "organizationName"]
    taken = await Api(http).data(SIGN_UP, input=NEWCO | {"organizationName": "Newco Two"})
    assert taken["signUp"]["errors"] == [{"code": "DUPLICATE", "field": ["input", "email"],
                                          "message": "a user with this email already exists"}]
    assert await fetch_one("SELECT 1 AS x FROM organization WHERE slug = 'newco-two'") is None
    audit = await fetch_one("SELECT a.action, a.target_type FROM audit_event a"
                            " JOIN organization o ON o.id = a.organization_id"
                            " WHERE o.slug = 'newco-iberia'")
    assert audit == {"action": "signUp", "target_type": "User"}
