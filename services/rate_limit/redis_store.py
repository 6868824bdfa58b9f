"""Budgets in Redis: one Lua script adds the points and starts the window's expiry, atomically."""

from __future__ import annotations

from redis.asyncio import Redis

from db.rate_limit import Reservation

KEY_PREFIX = "crm:rate:"
# KEYS[1]: the principal's counter; ARGV: points, window in ms. The key expires with its window,
# so the first reservation after it ends starts a new one.
RESERVE = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {used, ttl}
"""
TIMEOUT_SECONDS = 1.0  # a store that does not answer lets requests through (see Ledger)


class RedisStore:
    """Budgets in Redis, shared by every process that uses the same server and database."""

    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        self.prefix = prefix
        self._client: Redis = Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self._reserve = self._client.register_script(RESERVE)

    async def reserve(self, principal: str, points: int, window_seconds: int) -> Reservation:
        used, ttl = await self._reserve(
            keys=[self.prefix + principal], args=[points, window_seconds * 1000]
        )
        return Reservation(asked=points, used=int(used), reset_ms=max(0, int(ttl)))

    async def aclose(self) -> None:
        await self._client.aclose()
