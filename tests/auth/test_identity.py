"""Access tokens and the viewer they identify, including the short cache of users' rows."""

from __future__ import annotations

import time

import jwt
import pytest

from auth.identity import forget_viewers, issue_token, verified_claims, viewer_from_token
from core.errors import AppError
from db.enums import Role
from db.models import User
from tests.factories import make_org, make_user


def _token(user: User, settings) -> str:  # type: ignore[no-untyped-def]
    return issue_token({"id": user.id, "organization_id": user.organization_id,
                        "role": user.role}, settings)


async def test_a_cached_viewer_is_trusted_for_its_seconds_only(org, settings) -> None:
    cached = settings.model_copy(update={"viewer_cache_seconds": 60})
    user = await make_user(org, role=Role.AGENT)
    token = _token(user, cached)
    assert (await viewer_from_token(token, cached)).role == Role.AGENT
    await User.filter(id=user.id).update(is_active=False)
    # within the cache's seconds the row is not read again ...
    assert (await viewer_from_token(token, cached)).user_id == user.id
    forget_viewers()  # ... as if they had passed
    with pytest.raises(AppError, match="invalid access token"):
        await viewer_from_token(token, cached)


async def test_without_a_cache_every_request_reads_the_user(org, settings) -> None:
    strict = settings.model_copy(update={"viewer_cache_seconds": 0})
    user = await make_user(org, role=Role.AGENT)
    token = _token(user, strict)
    assert (await viewer_from_token(token, strict)).role == Role.AGENT
    await User.filter(id=user.id).update(role=Role.VIEWER)
    assert (await viewer_from_token(token, strict)).role == Role.VIEWER
    await User.filter(id=user.id).update(is_active=False)
    with pytest.raises(AppError):
        await viewer_from_token(token, strict)


async def test_the_cache_is_per_organization_claim(org, settings) -> None:
    cached = settings.model_copy(update={"viewer_cache_seconds": 60})
    user = await make_user(org)
    await viewer_from_token(_token(user, cached), cached)
    other = await make_org()
    forged_org = issue_token({"id": user.id, "organization_id": other.id, "role": user.role},
                             cached)
    with pytest.raises(AppError):
        await viewer_from_token(forged_org, cached)


async def test_a_cached_token_still_expires(org, settings, monkeypatch) -> None:
    cached = settings.model_copy(update={"viewer_cache_seconds": 60})
    user = await make_user(org)
    token = _token(user, cached)
    await viewer_from_token(token, cached)
    later = time.time() + cached.access_token_ttl_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AppError, match="access token expired"):
        await viewer_from_token(token, cached)


async def test_a_verified_signature_is_remembered_but_not_its_expiry(
    org, settings, monkeypatch
) -> None:
    strict = settings.model_copy(update={"viewer_cache_seconds": 0})
    user = await make_user(org)
    token = _token(user, strict)
    assert verified_claims(token, strict)["sub"] == str(user.id)
    later = time.time() + strict.access_token_ttl_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(jwt.ExpiredSignatureError):
        verified_claims(token, strict)
    with pytest.raises(AppError, match="access token expired"):
        await viewer_from_token(token, strict)


async def test_a_remembered_signature_does_not_hold_under_another_key(org, settings) -> None:
    user = await make_user(org)
    token = _token(user, settings)
    assert verified_claims(token, settings)["sub"] == str(user.id)
    rotated = settings.model_copy(update={"secret_key": "rotated-" + "y" * 40})
    with pytest.raises(jwt.InvalidSignatureError):
        verified_claims(token, rotated)
    with pytest.raises(AppError, match="invalid access token"):
        await viewer_from_token(token, rotated.model_copy(update={"viewer_cache_seconds": 0}))


async def test_forgetting_a_user_drops_its_cached_viewers_at_once(org, settings) -> None:
    from auth.identity import forget_user

    cached = settings.model_copy(update={"viewer_cache_seconds": 60})
    user, other = await make_user(org, role=Role.AGENT), await make_user(org, role=Role.AGENT)
    token, other_token = _token(user, cached), _token(other, cached)
    await viewer_from_token(token, cached)
    await viewer_from_token(other_token, cached)
    await User.filter(id__in=[user.id, other.id]).update(is_active=False)
    forget_user(user.id)
    with pytest.raises(AppError, match="invalid access token"):
        await viewer_from_token(token, cached)
    assert (await viewer_from_token(other_token, cached)).user_id == other.id  # still cached
    forget_viewers()
