"""The outbox: durable outbound messages, written with the change that causes them and sent after commit."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.models import OutboxKind, OutboxMessage, OutboxStatus

# A dispatcher owns the rows it claimed this long; if it dies, another picks them up afterwards.
CLAIM_SECONDS = 60
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


def placeholder() -> str:
    """The numbered-parameter prefix of the current database: `$` (asyncpg) or `?` (SQLite), as in `$1`."""
    return "$" if connections.get("default").capabilities.dialect == "postgres" else "?"


def atomic() -> contextlib.AbstractAsyncContextManager[Any]:
    """A transaction, unless the caller's transaction already covers us (then nothing: no savepoint)."""
    if isinstance(connections.get("default"), TransactionalDBClient):
        return contextlib.nullcontext()
    return in_transaction()


async def insert_unless_taken(instance: Model, unique: str) -> bool:
    """INSERT `instance` (a new, unsaved row) unless another row already holds its value of the `unique`
    field: True and the row saved (pk set), or False and nothing written. One statement, no savepoint:
    `INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING pk`. A conflict on any other constraint still
    raises IntegrityError. On PostgreSQL a concurrent uncommitted holder of the value is waited for.
    """
    meta = instance._meta
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
    values = [meta.fields_map[name].to_db_value(getattr(instance, name), instance) for name in names]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    p = placeholder()
    params = ", ".join(f"{p}{n}" for n in range(1, len(values) + 1))
    pk = meta.db_pk_column
    sql = (
        f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({params}) '
        f'ON CONFLICT ("{meta.fields_db_projection[unique]}") DO NOTHING RETURNING "{pk}"'
    )
    rows = await connections.get("default").execute_query_dict(sql, values)
    if not rows:
        return False
    instance.pk = rows[0][pk]
    instance._saved_in_db = True
    return True


async def enqueue_text(
    openid: str, text: str, *, now: datetime, dedupe_key: str | None = None, purpose: str | None = None
) -> OutboxMessage:
    """Queue a customer-service text to `openid`; a second call with the same `dedupe_key` returns the first."""
    return await _enqueue(OutboxKind.TEXT, openid, {"text": text}, now=now, dedupe_key=dedupe_key, purpose=purpose)


async def enqueue_template(
    openid: str,
    template_id: str,
    data: Mapping[str, str],
    *,
    now: datetime,
    url: str | None = None,
    dedupe_key: str | None = None,
    purpose: str | None = None,
) -> OutboxMessage:
    """Queue a template message to `openid` (values already rendered within WeChat's limits); it is sent
    from `now` on, so a later `now` holds it back (quiet hours). `purpose` names the template kind."""
    payload: dict[str, Any] = {"template_id": template_id, "data": dict(data), "url": url}
    return await _enqueue(OutboxKind.TEMPLATE, openid, payload, now=now, dedupe_key=dedupe_key, purpose=purpose)


async def _enqueue(
    kind: OutboxKind,
    openid: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str | None,
    purpose: str | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        kind=kind,
        openid=openid,
        payload=payload,
        next_attempt_at=now,
        client_msg_id=uuid.uuid4().hex,
        dedupe_key=dedupe_key,
        purpose=purpose,
    )
    if dedupe_key is None:
        await row.save()
        return row
    # One statement: no read first, and a key already queued (or being queued) is simply not inserted.
    if await insert_unless_taken(row, "dedupe_key"):
        return row
    return await OutboxMessage.get(dedupe_key=dedupe_key)


async def claim_due(now: datetime, limit: int = 50) -> list[OutboxMessage]:
    """Rows due now, claimed by one UPDATE so two dispatchers never send the same row.

    The UPDATE picks the due rows in a subquery (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so a concurrent
    dispatcher's rows are passed over instead of waited for; SQLite has one writer) and repeats the "still
    free" test itself, then the claimed rows are read in one query.
    """
    fields = OutboxMessage._meta.fields_map
    at = fields["next_attempt_at"].to_db_value(now, OutboxMessage)
    until = fields["claimed_until"].to_db_value(now + timedelta(seconds=CLAIM_SECONDS), OutboxMessage)
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    p = "$" if postgres else "?"
    free = f'"status" = {p}2 AND ("claimed_until" IS NULL OR "claimed_until" < {p}3)'
    due = (
        f'SELECT "id" FROM "outbox_message" WHERE {free} AND "next_attempt_at" <= {p}3 '
        f'ORDER BY "next_attempt_at", "id" LIMIT {p}4'
    )
    if postgres:
        # A materialised CTE runs the locking subquery exactly once (inside IN it may be re-run and
        # so claim more than `limit` rows).
        sql = (
            f"WITH due AS MATERIALIZED ({due} FOR UPDATE SKIP LOCKED) "
            f'UPDATE "outbox_message" SET "claimed_until" = {p}1 WHERE "id" IN (SELECT "id" FROM due) '
            f'AND {free} RETURNING "id"'
        )
    else:
        sql = f'UPDATE "outbox_message" SET "claimed_until" = {p}1 WHERE "id" IN ({due}) AND {free} RETURNING "id"'
    rows = await conn.execute_query_dict(sql, [until, OutboxStatus.PENDING.value, at, limit])
    if not rows:
        return []
    return await OutboxMessage.filter(id__in=[row["id"] for row in rows]).order_by("next_attempt_at", "id")


async def mark_sent(row: OutboxMessage, now: datetime, wechat_msgid: int | None = None) -> None:
    await OutboxMessage.filter(id=row.id).update(
        status=OutboxStatus.SENT,
        sent_at=now,
        wechat_msgid=wechat_msgid,
        attempts=row.attempts + 1,
        claimed_until=None,
        error_code=None,
        last_error=None,
    )


async def mark_retry(row: OutboxMessage, now: datetime, code: int | None, error: str) -> None:
    """Schedule another attempt with exponential backoff and jitter, or give up after MAX_ATTEMPTS."""
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        await mark_failed(row, now, code, f"gave up after {attempts} attempts: {error}")
        return
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)
    await OutboxMessage.filter(id=row.id).update(
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=delay),
        claimed_until=None,
        error_code=code,
        last_error=error[:500],
    )


async def mark_failed(
    row: OutboxMessage, now: datetime, code: int | None, error: str, *, undeliverable: bool = False
) -> None:
    """A permanent failure: recorded with its reason and never retried."""
    await OutboxMessage.filter(id=row.id).update(
        status=OutboxStatus.UNDELIVERABLE if undeliverable else OutboxStatus.FAILED,
        attempts=row.attempts + 1,
        claimed_until=None,
        error_code=code,
        last_error=error[:500],
    )


async def record_delivery(wechat_msgid: int, status: str) -> bool:
    """Store WeChat's TEMPLATESENDJOBFINISH status (success, failed:user block, ...) on the sent row."""
    return bool(await OutboxMessage.filter(wechat_msgid=wechat_msgid).update(delivery_status=status[:64]))
