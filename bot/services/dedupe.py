"""De-duplication of WeChat's retries: a retry gets the first attempt's reply and is never processed again.

WeChat retries a message only after waiting 5 s for an answer (up to 3 times), so a retry is always at
least 5 s older than its CreateTime. That makes two layers enough:
- `RecentMessages`: this process's memory of the messages it is handling or handled lately. Every retry
  that reaches the same worker (all of them, with one worker) is answered from here, with no query.
- The `processed_message` table, for retries that reach another worker: looked up only for messages old
  enough to be retries (`RETRY_MIN_AGE_S`), and written once per message, group-committed (see
  `bot.services.batching`). A handler that outlives the reply budget is recorded as running at that
  moment, before WeChat's retry can arrive elsewhere.
A crash between a turn's commit and its record can let a retry run again; a dialog turn replays harmlessly
then, because the session step was saved in the same transaction as the turn's business writes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.connection import connections

from bot.models import ProcessedMessage
from bot.services.batching import Coalescer, insert_rows

# WeChat retries after 5 s; a message younger than this (by its CreateTime) cannot be a retry. The margin
# covers clock skew between WeChat and this server.
RETRY_MIN_AGE_S = 2


@dataclass(frozen=True, slots=True)
class Seen:
    done: bool  # False: the first attempt is still running (retries get "success")
    reply: str | None = None  # the first attempt's reply XML; None: it answered "success"


class RecentMessages:
    """Bounded, time-limited memory of this process's messages: key -> Seen."""

    # WeChat's last retry comes ~15 s after the first attempt; a minute covers it with room to spare.
    def __init__(self, ttl_s: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, Seen]] = OrderedDict()

    def get(self, key: str) -> Seen | None:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl_s:
            return None
        return item[1]

    def put(self, key: str, seen: Seen) -> None:
        # Only a cache of the durable record: evict by size; get() ignores entries past their TTL.
        self._items[key] = (time.monotonic(), seen)
        self._items.move_to_end(key)
        if len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def forget(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def may_be_retry(create_time: int, now: float | None = None) -> bool:
    """Whether a message is old enough that another worker may have handled its first attempt."""
    return (time.time() if now is None else now) - create_time >= RETRY_MIN_AGE_S


async def _lookup_batch(keys: Sequence[str]) -> list[Seen | None]:
    rows = await ProcessedMessage.filter(key__in=set(keys)).values("key", "done", "reply")
    found = {row["key"]: Seen(bool(row["done"]), row["reply"]) for row in rows}
    return [found.get(key) for key in keys]


_RECORD_TYPES = ("varchar", "timestamptz", "bool", "text")  # key, received_at, done, reply


async def _record_batch(items: Sequence[tuple[str, datetime, bool, str | None]]) -> list[None]:
    # One multi-row upsert per batch: one statement, one commit, one round trip for every message in flight.
    latest = {key: (received, done, reply) for key, received, done, reply in items}
    # Arrays on PostgreSQL: one statement text whatever the batch size (batching.as_columns says why).
    source, params = insert_rows([(key, *values) for key, values in latest.items()], _RECORD_TYPES)
    sql = (
        f'INSERT INTO "processed_message" ("key", "received_at", "done", "reply") {source} '
        'ON CONFLICT ("key") DO UPDATE SET "done" = excluded."done", "reply" = excluded."reply"'
    )
    await connections.get("default").execute_query(sql, params)
    return [None] * len(items)


_lookups: Coalescer[str, Seen | None] = Coalescer(_lookup_batch)
_records: Coalescer[tuple[str, datetime, bool, str | None], None] = Coalescer(_record_batch)


async def lookup(key: str) -> Seen | None:
    """What the durable record says about `key` (handled by any worker), or None if nobody has."""
    return await _lookups(key)


def record(key: str, received_at: datetime, *, done: bool, reply: str | None = None) -> None:
    """Record durably, write-behind, that `key` is running (done=False) or finished with `reply` (None:
    "success"). The batch lands within milliseconds, long before WeChat's first retry (5 s)."""
    _records.submit((key, received_at, done, reply))


async def record_running(key: str, received_at: datetime) -> None:
    """Record, and wait until it is written, that `key` is still running past the reply budget: a retry
    reaching another worker must find it before this worker answers "success"."""
    await _records((key, received_at, False, None))


async def flush() -> None:
    """Wait for every queued record to be written (graceful shutdown, tests)."""
    await _records.flush()


async def prune(now: datetime, retention: timedelta) -> int:
    """Delete records older than `retention` (WeChat stops retrying after ~15 s; a day is generous)."""
    return await ProcessedMessage.filter(received_at__lt=now - retention).delete()
