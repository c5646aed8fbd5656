"""The shared WeChat access-token cache, with a lease so one process at a time refreshes the token.

Every process of the service (and every worker) must use the same token: WeChat's stable_token hands out
one token per AppID, and a forced refresh anywhere invalidates the token everywhere. So the token lives in
a shared store (the database, or Redis when configured), and a short lease decides who fetches a new one
while the others wait for it to appear.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.models import TokenCache

T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CachedToken:
    """An access token and when WeChat said it expires (aware UTC)."""

    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        # The token is a credential: keep it out of logs and tracebacks.
        return f"CachedToken(token=<{len(self.token)} chars>, expires_at={self.expires_at.isoformat()})"


class TokenStore(Protocol):
    """Where the shared access token and its refresh lease live."""

    async def get(self, appid: str) -> CachedToken | None:
        """The cached token, expired or not (the caller judges freshness), or None."""
        ...

    async def save(self, appid: str, token: str, expires_at: datetime) -> None:
        """Store a freshly fetched token."""
        ...

    async def invalidate(self, appid: str, token: str) -> None:
        """Forget `token`, but only if it is still the cached one: another process may have replaced it."""
        ...

    async def acquire_lease(self, appid: str, owner: str, seconds: float) -> bool:
        """Take (or extend, if `owner` holds it) the refresh lease; False while someone else holds it."""
        ...

    async def release_lease(self, appid: str, owner: str) -> None:
        """Give the lease back, if `owner` still holds it."""
        ...

    async def aclose(self) -> None:
        """Release connections the store opened itself."""
        ...


class DatabaseTokenStore:
    """The token in the `token_cache` row of its AppID; the lease is a conditional UPDATE of that row.

    The lease time comes from this process's clock, so hosts sharing a database need roughly synchronised
    clocks (NTP); a skew of a second or two only shortens or lengthens a lease by that much.
    """

    def __init__(self, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._clock = clock

    async def get(self, appid: str) -> CachedToken | None:
        row = await TokenCache.get_or_none(appid=appid)
        if row is None or not row.access_token or row.expires_at is None:
            return None
        return CachedToken(row.access_token, row.expires_at)

    async def save(self, appid: str, token: str, expires_at: datetime) -> None:
        await self._ensure_row(appid)
        await TokenCache.filter(appid=appid).update(access_token=token, expires_at=expires_at)

    async def invalidate(self, appid: str, token: str) -> None:
        await TokenCache.filter(appid=appid, access_token=token).update(access_token="", expires_at=None)

    async def acquire_lease(self, appid: str, owner: str, seconds: float) -> bool:
        await self._ensure_row(appid)
        now = self._clock()
        # One statement, so two processes can never both see the lease free: the database serialises
        # the UPDATEs on the row and re-checks the condition for the second one.
        taken = (
            await TokenCache.filter(appid=appid)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
            .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        )
        return taken == 1

    async def release_lease(self, appid: str, owner: str) -> None:
        await TokenCache.filter(appid=appid, lease_owner=owner).update(lease_owner=None, lease_until=None)

    async def aclose(self) -> None:
        """Nothing to close: the ORM's connections belong to the application."""

    @staticmethod
    async def _ensure_row(appid: str) -> None:
        # IntegrityError: another process inserted the row between our look-up and our insert.
        with contextlib.suppress(IntegrityError):
            await TokenCache.get_or_create(appid=appid)


_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_EXTEND_OWN_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_INVALIDATE_TOKEN = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


async def _done(result: Awaitable[T] | T) -> T:
    """redis-py types its commands as sync-or-async; on the asyncio client they are always awaitable."""
    if isinstance(result, Awaitable):
        return await result
    return result


class RedisTokenStore:
    """The token in a Redis hash that expires with the token; the lease is a `SET NX PX` key.

    Releasing and invalidating compare before deleting, in Lua, so a process never removes a lease or
    a token that already belongs to someone else.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "4sdesk:wechat:",
        clock: Callable[[], datetime] = _utcnow,
        owns_client: bool = False,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._owns_client = owns_client
        self._release = redis.register_script(_RELEASE_LEASE)
        self._extend = redis.register_script(_EXTEND_OWN_LEASE)
        self._invalidate = redis.register_script(_INVALIDATE_TOKEN)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "4sdesk:wechat:") -> RedisTokenStore:
        """A store with its own connection pool, closed by `aclose()`."""
        return cls(Redis.from_url(url, decode_responses=True), prefix=prefix, owns_client=True)

    def _token_key(self, appid: str) -> str:
        return f"{self._prefix}{appid}:token"

    def _lease_key(self, appid: str) -> str:
        return f"{self._prefix}{appid}:lease"

    async def get(self, appid: str) -> CachedToken | None:
        fields: dict[str | bytes, str | bytes] = await _done(self._redis.hgetall(self._token_key(appid)))
        values = {_text(k): _text(v) for k, v in fields.items()}
        if not values.get("token") or not values.get("expires_at"):
            return None
        return CachedToken(values["token"], datetime.fromisoformat(values["expires_at"]))

    async def save(self, appid: str, token: str, expires_at: datetime) -> None:
        key = self._token_key(appid)
        ttl_ms = int((expires_at - self._clock()).total_seconds() * 1000)
        if ttl_ms <= 0:
            # Already dead (a clock far behind WeChat's): caching it would only cost a failed call.
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"token": token, "expires_at": expires_at.isoformat()})
            pipe.pexpire(key, ttl_ms)
            await pipe.execute()

    async def invalidate(self, appid: str, token: str) -> None:
        await self._invalidate(keys=[self._token_key(appid)], args=[token])

    async def acquire_lease(self, appid: str, owner: str, seconds: float) -> bool:
        key = self._lease_key(appid)
        ms = max(1, int(seconds * 1000))
        taken: bool | str | bytes | None = await _done(self._redis.set(key, owner, nx=True, px=ms))
        if taken:
            return True
        return bool(await self._extend(keys=[key], args=[owner, ms]))

    async def release_lease(self, appid: str, owner: str) -> None:
        await self._release(keys=[self._lease_key(appid)], args=[owner])

    async def aclose(self) -> None:
        """Close the connection pool if this store created it."""
        if self._owns_client:
            await self._redis.aclose()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def token_store_for(redis_url: str | None) -> TokenStore:
    """Redis when the service has one (BOT_REDIS_URL), else the database every process already shares."""
    if redis_url:
        return RedisTokenStore.from_url(redis_url)
    return DatabaseTokenStore()
