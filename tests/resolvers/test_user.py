"""Login, tokens and the viewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from db.enums import Role
from tests.factories import PASSWORD, Api, make_customer, make_user, token_for

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken expiresAt user { email role } errors { code message }
  }
}"""
VIEWER = "{ viewer { user { email role } organization { slug } } }"


async def test_login_then_viewer(http, org, admin) -> None:
    data = await Api(http).data(LOGIN, email=admin.email.upper(), password=PASSWORD)
    token = data["login"]["accessToken"]
    assert data["login"]["errors"] == []
    me = await Api(http, token).data(VIEWER)
    assert me["viewer"] == {"user": {"email": admin.email, "role": "ADMIN"},
                            "organization": {"slug": org.slug}}


async def test_wrong_password_and_unknown_email_look_the_same(http, admin) -> None:
    wrong = await Api(http).data(LOGIN, email=admin.email, password="nope")
    unknown = await Api(http).data(LOGIN, email="nobody@example.com", password="nope")
    assert wrong == unknown
    assert wrong["login"]["accessToken"] is None
    assert wrong["login"]["errors"][0]["code"] == "UNAUTHENTICATED"


async def test_inactive_user_cannot_log_in_or_use_a_token(http, org, settings) -> None:
    user = await make_user(org)
    token = token_for(user, settings)
    user.is_active = False
    await user.save()
    data = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    assert data["login"]["errors"][0]["code"] == "UNAUTHENTICATED"
    body = await Api(http, token)(VIEWER)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_requests_without_valid_token_are_refused(http, admin, settings) -> None:
    now = datetime.now(UTC)
    claims = {"sub": str(admin.id), "org": admin.organization_id, "iss": "crm", "typ": "access",
              "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)}
    expired = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    forged = jwt.encode(claims | {"exp": now + timedelta(hours=1)}, "x" * 40, algorithm="HS256")
    cross_org = jwt.encode(claims | {"exp": now + timedelta(hours=1), "org": 999_999},
                           settings.secret_key, algorithm="HS256")
    cases = {None: "authentication required", expired: "access token expired",
             forged: "invalid access token", "garbage": "invalid access token",
             cross_org: "invalid access token"}
    for token, message in cases.items():
        body = await Api(http, token)("{ customers { totalCount } }")
        assert body["data"] is None
        assert body["errors"][0]["message"].startswith(message)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await http.post("/graphql", json={"query": VIEWER},
                               headers={"Authorization": "Basic abc"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_viewer_role_reads_but_cannot_write(http, org, settings) -> None:
    viewer = Api(http, token_for(await make_user(org, Role.VIEWER), settings))
    await make_customer(org)
    assert (await viewer.data("{ customers { totalCount } }"))["customers"]["totalCount"] == 1
    body = await viewer('mutation { createCustomer(input: {name: "x"}) { errors { code } } }')
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
