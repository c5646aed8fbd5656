"""The PostgreSQL engine: Tortoise's asyncpg client on a pool that hands connections back cheaply.

asyncpg's pool does two things on every release that cost a chat message dearly:

1. It resets the connection (`Connection.reset`): one more round trip running
   `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` after every statement made outside a
   transaction, which is most of what a chat message does (in a profile of the booking benchmark, about a
   third of the server's round trips to PostgreSQL were these resets). None of it applies here: the service
   takes no advisory locks, opens no cursors outside transactions, listens to nothing and changes settings
   only with SET LOCAL, which ends with its transaction. An open transaction is still rolled back when its
   connection is released (asyncpg does that before calling the pool's `reset`, whatever it is).

2. It releases through `asyncio.shield(...)`: a new task per statement, so that a cancelled caller cannot
   strand a connection half-way through its reset, which the caller then waits a turn of the event loop
   for. Here a release with nothing to roll back or wait for never suspends, so it cannot be cancelled
   half-way either: it runs on the spot, unless another task may be waiting for a connection (none is
   free), where the shielded release keeps asyncpg's order of hand-over.

And a new connection learns all the array types our statements send at once (`_learn_types`): asyncpg knows
`text[]` by heart but looks every other array type up in the catalogue the first time a statement on that
connection uses it, which the benchmark caught costing PostgreSQL ~5 ms of planning (and three round trips)
per type and connection, in the middle of a chat message, each time the pool grew.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from asyncpg.pool import Pool, PoolConnectionProxy
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's `reset`: nothing to undo (see the module)."""


# Every array type the service's statements send (`$1::varchar[]` ...), bar text[], which asyncpg has built in.
ARRAY_TYPES = ("varchar", "int", "bigint", "bool", "timestamptz")
_LEARN_TYPES = "SELECT " + ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(ARRAY_TYPES, 1))


async def _learn_types(connection: asyncpg.Connection) -> None:
    """The pool's `init` for a new connection: one catalogue lookup for all of `ARRAY_TYPES` (see the module)."""
    await connection.prepare(_LEARN_TYPES)


class ReleasingPool(Pool):  # type: ignore[misc]  # asyncpg has no type hints
    """asyncpg's pool, releasing on the spot when the release has nothing to wait for (see the module)."""

    __slots__ = ()  # Pool's layout, so that a pool built by asyncpg.create_pool can become one

    async def release(self, connection: PoolConnectionProxy, *, timeout: float | None = None) -> None:
        holder = getattr(connection, "_holder", None)
        con = getattr(connection, "_con", None)
        if holder is None or con is None or holder._pool is not self or not self._settles_at_once(holder, con):
            await super().release(connection, timeout=timeout)
            return
        con._on_release()
        await holder.release(None)  # awaits nothing that suspends: done when this returns

    def _settles_at_once(self, holder: Any, con: asyncpg.Connection) -> bool:
        return (
            self._reset is _keep_session
            and not self._queue.empty()  # a connection is free, so nobody is waiting for this one
            and not con.is_closed()
            and not con.is_in_transaction()
            and con._top_xact is None
            and not con._protocol._is_cancelling()
            and con._protocol.queries_count < holder._max_queries
            and holder._generation == self._generation
        )


class PooledAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        pool = asyncpg.create_pool(None, reset=_keep_session, init=_learn_types, **kwargs)  # built, not yet connected
        pool.__class__ = ReleasingPool
        return await pool


client_class = PooledAsyncpgClient
