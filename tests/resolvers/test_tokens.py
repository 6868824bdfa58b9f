"""Refresh tokens: issued at login, rotated on every use, reuse revokes the family; logout."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from auth import tokens
from core.config import Settings
from db.models import User
from db.sql import fetch
from tests.factories import PASSWORD, Api, make_user

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken expiresAt refreshToken refreshTokenExpiresAt errors { code message }
  }
}"""
REFRESH = """
mutation($token: String!) {
  refreshToken(token: $token) {
    accessToken refreshToken user { email } errors { code message }
  }
}"""
LOGOUT = """
mutation($token: String, $everywhere: Boolean! = false) {
  logout(refreshToken: $token, everywhere: $everywhere) { revoked errors { code field } }
}"""
VIEWER = "{ viewer { user { email } } }"


async def _login(http, user: User) -> dict:
    data = await Api(http).data(LOGIN, email=user.email, password=PASSWORD)
    assert data["login"]["errors"] == []
    return data["login"]


async def _refresh(http, token: str) -> dict:
    return (await Api(http).data(REFRESH, token=token))["refreshToken"]


def _refused(payload: dict) -> bool:
    return payload["accessToken"] is None and payload["refreshToken"] is None and [
        e["code"] for e in payload["errors"]
    ] == ["UNAUTHENTICATED"]


async def test_login_returns_a_refresh_token_and_a_short_lived_access_token(
    http, admin, settings
) -> None:
    login = await _login(http, admin)
    assert login["refreshToken"].startswith("crmr_")
    expires = datetime.fromisoformat(login["expiresAt"])
    lifetime = expires - datetime.now(UTC)
    assert timedelta(0) < lifetime <= timedelta(seconds=settings.access_token_ttl_seconds)
    assert datetime.fromisoformat(login["refreshTokenExpiresAt"]) > expires
    assert Settings(env="test", secret_key="t" * 40).access_token_ttl_seconds == 900


async def test_refresh_rotates_and_the_new_access_token_works(http, admin) -> None:
    login = await _login(http, admin)
    renewed = await _refresh(http, login["refreshToken"])
    assert renewed["errors"] == []
    assert renewed["user"] == {"email": admin.email}
    assert renewed["refreshToken"] not in {None, login["refreshToken"]}
    me = await Api(http, renewed["accessToken"]).data(VIEWER)
    assert me["viewer"]["user"]["email"] == admin.email
    again = await _refresh(http, renewed["refreshToken"])
    assert again["errors"] == []


async def test_reusing_a_rotated_token_revokes_the_whole_family(http, org) -> None:
    user = await make_user(org)
    first = await _login(http, user)
    other_session = await _login(http, user)
    second = await _refresh(http, first["refreshToken"])
    assert _refused(await _refresh(http, first["refreshToken"]))  # replayed: a thief or a bug
    assert _refused(await _refresh(http, second["refreshToken"]))  # its successor is gone too
    assert (await _refresh(http, other_session["refreshToken"]))["errors"] == []


async def test_only_one_of_two_concurrent_refreshes_wins(http, admin) -> None:
    login = await _login(http, admin)
    results = await asyncio.gather(*(_refresh(http, login["refreshToken"]) for _ in range(2)))
    assert sorted(_refused(r) for r in results) == [False, True]


async def test_only_a_hash_is_stored(http, admin) -> None:
    token = (await _login(http, admin))["refreshToken"]
    rows = await fetch("SELECT * FROM refresh_token WHERE user_id = $1", [admin.id])
    assert len(rows) == 1
    assert token not in {str(v) for v in rows[0].values()}
    assert len(rows[0]["token_hash"]) == 64


async def test_expired_unknown_and_forged_tokens_are_refused_alike(http, org) -> None:
    user = await make_user(org)
    login = await _login(http, user)
    await fetch(
        "UPDATE refresh_token SET expires_at = now() - interval '1 second' WHERE user_id = $1",
        [user.id],
    )
    expired = await _refresh(http, login["refreshToken"])
    unknown = await _refresh(http, "crmr_" + "A" * 43)
    forged = await _refresh(http, login["accessToken"])
    assert expired == unknown == forged
    assert _refused(expired)


async def test_a_deactivated_user_cannot_refresh(http, org) -> None:
    user = await make_user(org)
    login = await _login(http, user)
    await User.filter(id=user.id).update(is_active=False)
    assert _refused(await _refresh(http, login["refreshToken"]))


async def test_logout_revokes_the_session(http, org) -> None:
    user = await make_user(org)
    login = await _login(http, user)
    kept = await _login(http, user)
    renewed = await _refresh(http, login["refreshToken"])
    out = await Api(http).data(LOGOUT, token=renewed["refreshToken"])
    assert out["logout"] == {"revoked": 1, "errors": []}
    assert _refused(await _refresh(http, renewed["refreshToken"]))
    assert (await _refresh(http, kept["refreshToken"]))["errors"] == []
    unknown = await Api(http).data(LOGOUT, token="crmr_unknown")
    assert unknown["logout"] == {"revoked": 0, "errors": []}


async def test_logout_everywhere_needs_the_user_and_spares_others(http, org) -> None:
    user, colleague = await make_user(org), await make_user(org)
    sessions = [await _login(http, user) for _ in range(2)]
    colleague_session = await _login(http, colleague)
    anonymous = await Api(http)(LOGOUT, everywhere=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    out = await Api(http, sessions[0]["accessToken"]).data(LOGOUT, everywhere=True)
    assert out["logout"]["revoked"] == 2
    for session in sessions:
        assert _refused(await _refresh(http, session["refreshToken"]))
    assert (await _refresh(http, colleague_session["refreshToken"]))["errors"] == []


async def test_logout_without_a_token_says_what_is_missing(http) -> None:
    out = await Api(http).data(LOGOUT)
    assert out["logout"] == {
        "revoked": 0, "errors": [{"code": "BAD_USER_INPUT", "field": ["refreshToken"]}]
    }


async def test_expired_tokens_and_stale_throttles_are_purged(org, settings) -> None:
    user = await make_user(org)
    await tokens.issue(user.id, settings)
    old = await tokens.issue(user.id, settings)
    await fetch(
        "UPDATE refresh_token SET expires_at = now() - interval '2 days' WHERE token_hash = $1",
        [tokens.token_hash(old.token)],
    )
    stale, fresh = f"ip:purge-{uuid.uuid4().hex}", f"ip:keep-{uuid.uuid4().hex}"
    await fetch(
        "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES"
        " ($1, 1, now() - make_interval(secs => $3)), ($2, 1, now())",
        [stale, fresh, settings.login_failure_window_seconds + 5],
    )
    await tokens.purge_expired(settings)
    left = await fetch("SELECT count(*) AS n FROM refresh_token WHERE user_id = $1", [user.id])
    assert left == [{"n": 1}]
    keys = await fetch("SELECT key FROM login_throttle WHERE key = ANY($1)", [[stale, fresh]])
    assert keys == [{"key": fresh}]
