"""WeChat's 48-hour customer-service window: when each user last wrote to us, and whether they still may be answered.

The webhook calls `touch` on every interaction, so it must cost next to nothing: each worker remembers
when it last recorded a user and writes again only an hour later, through a write-behind batch (one
upsert for many users, never a read). The stored time may therefore be up to an hour older than the
real last interaction, which only ever makes `within_window` answer "no" early: never a text that
WeChat would refuse with 45015.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from tortoise.connection import connections

from bot.models import Follower
from bot.services.batching import Coalescer, insert_rows
from bot.services.outbox import placeholder

WINDOW: Final = timedelta(hours=48)
# A user is written at most once per worker in this time; 1 hour of 48 is the precision we give up.
REFRESH: Final = timedelta(hours=1)
# Past this many users the memory is cleared; the next touch of each costs one write again.
MAX_REMEMBERED: Final = 100_000

_recorded: dict[str, datetime] = {}
_loop: asyncio.AbstractEventLoop | None = None


async def _upsert(items: Sequence[tuple[str, datetime]]) -> list[None]:
    latest: dict[str, datetime] = {}
    for openid, at in items:
        if openid not in latest or at > latest[openid]:
            latest[openid] = at
    field = Follower._meta.fields_map["last_interaction_at"]
    rows = [(openid, field.to_db_value(at, Follower)) for openid, at in latest.items()]
    # Arrays on PostgreSQL: one statement text whatever the batch size (batching.as_columns says why).
    source, params = insert_rows(rows, ("varchar", "timestamptz"), ", TRUE, FALSE")
    # One statement for the whole batch, outside any transaction, like the dedupe records: on SQLite a
    # background transaction here would queue behind (and stall) the turns holding its single connection.
    # Only last_interaction_at is written: following and reminder choices belong to other code paths.
    sql = (
        f'INSERT INTO "follower" ("openid", "last_interaction_at", "following", "reminders_off") {source} '
        'ON CONFLICT ("openid") DO UPDATE SET "last_interaction_at" = excluded."last_interaction_at" '
        'WHERE "follower"."last_interaction_at" IS NULL '
        'OR "follower"."last_interaction_at" < excluded."last_interaction_at"'
    )
    await connections.get("default").execute_query(sql, params)
    return [None] * len(items)


_writer: Coalescer[tuple[str, datetime], None] = Coalescer(_upsert)


def touch(openid: str, now: datetime) -> None:
    """The user just wrote, clicked, scanned or followed: the window is open for 48 hours (recorded
    write-behind, at most once an hour per user and worker)."""
    global _loop
    loop = asyncio.get_running_loop()
    if loop is not _loop:  # a new event loop (a test, a restarted app): what we remembered may be gone
        _loop = loop
        _recorded.clear()
    last = _recorded.get(openid)
    if last is not None and last <= now < last + REFRESH:
        return
    if len(_recorded) >= MAX_REMEMBERED:
        _recorded.clear()
    _recorded[openid] = now
    _writer.submit((openid, now))


async def flush() -> None:
    """Wait until every touch so far is written (shutdown, tests)."""
    await _writer.flush()


def forget() -> None:
    """Forget what this worker recorded (tests that empty the database)."""
    _recorded.clear()


async def within_window(openid: str, now: datetime) -> bool:
    """Whether a customer-service text to `openid` is allowed now (they interacted within 48 hours)."""
    conn = connections.get("default")
    p = placeholder()
    field = Follower._meta.fields_map["last_interaction_at"]
    rows = await conn.execute_query_dict(
        f'SELECT 1 FROM "follower" WHERE "openid" = {p}1 AND "following" AND "last_interaction_at" > {p}2',
        [openid, field.to_db_value(now - WINDOW, Follower)],
    )
    return bool(rows)
