"""Who a request is charged to: its user, its API key, or its client address."""

from __future__ import annotations

import jwt

from app.principals import Callers, client_ip, principal_of
from auth.identity import Viewer
from db.enums import Role
from tests.factories import make_user, token_for
from tests.security_helpers import make_key


def _scope(token: str | None) -> dict[str, object]:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return {"type": "http", "headers": headers, "client": ("192.0.2.1", 4000)}


async def test_users_and_keys_are_named_by_their_ids(org, settings) -> None:
    callers = Callers(settings)
    user = await make_user(org)
    token = token_for(user, settings)
    assert await callers.principal(_scope(token)) == f"user:{user.id}"
    key = await make_key(org.id, ["customers:read"])
    principal = await callers.principal(_scope(key))
    assert principal is not None
    assert principal.startswith("key:")
    key_id = int(principal.removeprefix("key:"))
    viewer = Viewer(user_id=None, organization_id=org.id, role=Role.VIEWER, api_key_id=key_id)
    assert principal_of(viewer) == principal  # the websocket's viewer pays the same budget
    assert principal_of(Viewer(user.id, org.id, Role.ADMIN)) == f"user:{user.id}"


async def test_anyone_else_is_their_address(org, settings) -> None:
    callers = Callers(settings)
    user = await make_user(org)
    forged = jwt.encode({"sub": str(user.id), "typ": "access", "iss": "crm", "exp": 2**40},
                        "not-the-secret-" + "y" * 40, algorithm="HS256")
    for scope in (_scope(None), _scope(forged), _scope("crm_live_unknown")):
        assert await callers.principal(scope) is None
    assert client_ip(_scope(None)) == "ip:192.0.2.1"
