"""Durable de-duplication of WeChat's retries: the first attempt claims the message, retries get its reply.

Every message costs a claim and a finish, so both are group-committed (see `bot.services.batching`): one
multi-row INSERT … ON CONFLICT DO NOTHING RETURNING for the claims in flight, one executemany for finishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.connection import connections
from tortoise.transactions import in_transaction

from bot.models import ProcessedMessage
from bot.services.batching import Coalescer


@dataclass(frozen=True, slots=True)
class Claim:
    first: bool  # True: this attempt processes the message
    done: bool = False  # a retry: the first attempt has finished
    reply: str | None = None  # a retry: the first attempt's reply XML (None: it answered "success")


def _placeholders(dialect: str, rows: int, columns: int) -> str:
    if dialect == "postgres":
        groups = (", ".join(f"${r * columns + c + 1}" for c in range(columns)) for r in range(rows))
    else:
        groups = (", ".join("?" for _ in range(columns)) for _ in range(rows))
    return ", ".join(f"({g})" for g in groups)


async def _claim_batch(items: Sequence[tuple[str, datetime]]) -> list[Claim]:
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    keys = list(dict.fromkeys(key for key, _ in items))
    received = {key: when for key, when in reversed(items)}
    params: list[object] = []
    for key in keys:
        params += [key, received[key], False]
    sql = (
        'INSERT INTO "processed_message" ("key", "received_at", "done") VALUES '
        f"{_placeholders(dialect, len(keys), 3)} "
        'ON CONFLICT ("key") DO NOTHING RETURNING "key"'
    )
    rows = await conn.execute_query_dict(sql, params)
    inserted = {row["key"] for row in rows}
    existing: dict[str, tuple[bool, str | None]] = {}
    retried = [key for key in keys if key not in inserted]
    if retried:
        for row in await ProcessedMessage.filter(key__in=retried).values("key", "done", "reply"):
            existing[row["key"]] = (bool(row["done"]), row["reply"])
    claims: list[Claim] = []
    for key, _ in items:
        if key in inserted:
            inserted.discard(key)  # a duplicate within the batch is a retry of this one
            claims.append(Claim(first=True))
        elif key in existing:
            done, reply = existing[key]
            claims.append(Claim(first=False, done=done, reply=reply))
        else:  # released (deleted) by a failed first attempt between our insert and read: still running
            claims.append(Claim(first=False))
    return claims


async def _finish_batch(items: Sequence[tuple[str, str | None]]) -> list[None]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = 'UPDATE "processed_message" SET "done" = $1, "reply" = $2 WHERE "key" = $3'
    else:
        sql = 'UPDATE "processed_message" SET "done" = ?, "reply" = ? WHERE "key" = ?'
    async with in_transaction() as tx:
        await tx.execute_many(sql, [[True, reply, key] for key, reply in items])
    return [None] * len(items)


_claims: Coalescer[tuple[str, datetime], Claim] = Coalescer(_claim_batch)
_finishes: Coalescer[tuple[str, str | None], None] = Coalescer(_finish_batch)


async def claim(key: str, now: datetime) -> Claim:
    """Claim `key` for processing; a retry (same MsgId or event key) gets what the first attempt left."""
    return await _claims((key, now))


async def finish(key: str, reply: str | None) -> None:
    """Record the reply WeChat's retries of `key` should get (None: they get "success")."""
    await _finishes((key, reply))


async def release(key: str) -> None:
    """Forget a claim whose processing failed, so WeChat's retry runs it again."""
    await ProcessedMessage.filter(key=key).delete()


async def prune(now: datetime, retention: timedelta) -> int:
    """Delete records older than `retention` (WeChat stops retrying after ~15 s; a day is generous)."""
    return await ProcessedMessage.filter(received_at__lt=now - retention).delete()
