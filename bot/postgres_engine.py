"""The PostgreSQL engine: Tortoise's asyncpg client, without a reset query each time a connection goes back
to the pool.

asyncpg's pool resets every connection it gets back (`Connection.reset`): one more round trip running
`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` after every statement made outside a
transaction, which is most of what a chat message does (in a profile of the booking benchmark, about a
third of the server's round trips to PostgreSQL were these resets). None of it applies here: the service
takes no advisory locks, opens no cursors outside transactions, listens to nothing and changes settings only
with SET LOCAL, which ends with its transaction. An open transaction is still rolled back when its
connection is released (asyncpg does that before calling the pool's `reset`, whatever it is).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's `reset`: nothing to undo (see the module)."""


class PooledAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_keep_session, **kwargs)


client_class = PooledAsyncpgClient
