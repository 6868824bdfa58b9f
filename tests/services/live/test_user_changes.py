"""A deactivation committed by another process reaches this one's viewer cache through the
broker's listening connection (``db.team.USER_CHANNEL``), without waiting for the cache."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from auth.identity import forget_viewers, viewer_from_token
from core import database
from core.errors import AppError
from db import team
from db.enums import Role
from services.live.pubsub import Broker
from tests.factories import make_user, token_for


async def test_a_deactivation_elsewhere_drops_the_cached_viewer(db, org, settings) -> None:
    cached = settings.model_copy(update={"viewer_cache_seconds": 60})
    user = await make_user(org, role=Role.AGENT)
    token = token_for(user, cached)
    params = database.connection_params(db)
    broker = Broker(lambda: asyncpg.connect(**params))
    await broker.start()
    try:
        assert (await viewer_from_token(token, cached)).user_id == user.id  # cached a minute
        # as another process would: the change commits, only the notification reaches us
        await team.deactivate(org_id=org.id, user_id=user.id)
        with pytest.raises(AppError, match="invalid access token"):
            await _until_refused(token, cached)
    finally:
        await broker.stop()
        forget_viewers()


async def _until_refused(token: str, settings: object) -> None:
    """Present the token until it is refused (cached reads touch no database: this waits for
    the notification), for at most 15 seconds."""
    async with asyncio.timeout(15):
        while True:
            await viewer_from_token(token, settings)  # type: ignore[arg-type]
            await asyncio.sleep(0.01)
