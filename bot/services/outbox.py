"""The outbox: durable outbound messages, written with the change that causes them and sent after commit."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.models import OutboxKind, OutboxMessage, OutboxStatus
from bot.services.batching import as_columns, pg_arrays

log = logging.getLogger(__name__)

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


def _insert_sql(meta: Any, names: Sequence[str], rows: int, unique: str) -> str:
    """`INSERT ... VALUES (...), (...) ON CONFLICT (unique) DO NOTHING RETURNING pk, unique` for `rows` rows."""
    projection = meta.fields_db_projection
    columns = tuple(projection[name] for name in names)
    return _insert_text(meta.db_table, columns, rows, meta.db_pk_column, projection[unique], placeholder())


# Kept: a booking's inserts repeat the same few texts (a bulk insert's long ones age out).
@functools.lru_cache(maxsize=32)
def _insert_text(table: str, columns: tuple[str, ...], rows: int, pk: str, key: str, p: str) -> str:
    width = len(columns)
    values = ", ".join(
        "(" + ", ".join(f"{p}{row * width + n}" for n in range(1, width + 1)) + ")" for row in range(rows)
    )
    listed = ", ".join(f'"{column}"' for column in columns)
    return (
        f'INSERT INTO "{table}" ({listed}) VALUES {values} ON CONFLICT ("{key}") DO NOTHING RETURNING "{pk}", "{key}"'
    )


_WRITTEN: dict[type[Model], tuple[list[str], list[Any]]] = {}


def insert_columns(instance: Model) -> tuple[list[str], list[Any]]:
    """The fields an INSERT writes (not generated ones) and their database values."""
    cls = type(instance)
    written = _WRITTEN.get(cls)
    if written is None:
        meta = instance._meta
        names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
        written = _WRITTEN[cls] = (names, [meta.fields_map[name] for name in names])
    names, fields = written
    return names, [
        field.to_db_value(getattr(instance, name), instance) for name, field in zip(names, fields, strict=True)
    ]


# What a new row is written with inside a bigger PostgreSQL statement (`pg_insert_for_each`): column and type.
_PG_NEW_ROW = (
    ("kind", "varchar"),
    ("openid", "varchar"),
    ("payload", "jsonb"),
    ("status", "varchar"),
    ("attempts", "int"),
    ("next_attempt_at", "timestamptz"),
    ("client_msg_id", "varchar"),
    ("dedupe_key", "varchar"),
    ("purpose", "varchar"),
    ("created_at", "timestamptz"),
)


def pg_insert_for_each(rows: Sequence[OutboxMessage], source: str, first: int, mark: str) -> tuple[str, list[Any]]:
    """PostgreSQL, for a data-modifying WITH: an INSERT of `rows` (new, unsaved) once for each row of the
    CTE `source` (so not at all when it is empty), with `mark` in each dedupe key replaced by that row's
    "id"; its parameters, one array per column, are numbered from `first`. A dedupe key already taken is
    skipped, as in `insert_many_unless_taken`; it returns the "id" and "dedupe_key" of each row written."""
    values = []
    for row in rows:
        names, written = insert_columns(row)
        by_name = dict(zip(names, written, strict=True))
        values.append([by_name[name] for name, _ in _PG_NEW_ROW])
    columns = ", ".join(f'"{name}"' for name, _ in _PG_NEW_ROW)
    arrays = pg_arrays((kind for _, kind in _PG_NEW_ROW), first)
    picked = ", ".join(
        f'replace(r.c{i}, ${first + len(_PG_NEW_ROW)}, s."id"::text)'
        if name == "dedupe_key"
        else (f"r.c{i}::jsonb" if kind == "jsonb" else f"r.c{i}")
        for i, (name, kind) in enumerate(_PG_NEW_ROW)
    )
    aliases = ", ".join(f"c{i}" for i in range(len(_PG_NEW_ROW)))
    sql = (
        f'INSERT INTO "outbox_message" ({columns}) SELECT {picked} FROM {source} AS s, unnest({arrays}) '
        f'AS r({aliases}) ON CONFLICT ("dedupe_key") DO NOTHING RETURNING "id", "dedupe_key"'
    )
    return sql, [*as_columns(values, len(_PG_NEW_ROW)), mark]


async def insert_unless_taken(instance: Model, unique: str) -> bool:
    """INSERT `instance` (a new, unsaved row) unless another row already holds its value of the `unique`
    field: True and the row saved (pk set), or False and nothing written. One statement, no savepoint:
    `INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING pk`. A conflict on any other constraint still
    raises IntegrityError. On PostgreSQL a concurrent uncommitted holder of the value is waited for.
    """
    names, values = insert_columns(instance)
    rows = await connections.get("default").execute_query_dict(_insert_sql(instance._meta, names, 1, unique), values)
    if not rows:
        return False
    instance.pk = rows[0][instance._meta.db_pk_column]
    instance._saved_in_db = True
    return True


# Rows per multi-row INSERT: well inside SQLite's and PostgreSQL's limits on bound parameters (32,766).
INSERT_CHUNK = 500


async def insert_many_unless_taken(instances: Sequence[Model], unique: str) -> list[Model]:
    """`insert_unless_taken` for many new rows of one model in a few multi-row statements (`INSERT_CHUNK`
    rows each): returns those written, pk set, in order. A value of `unique` already stored, or repeated in
    `instances`, is written once at most. Call it inside a transaction to make the whole batch atomic."""
    written: list[Model] = []
    if not instances:
        return written
    if any(getattr(instance, unique) is None for instance in instances):
        raise ValueError(f"insert_many_unless_taken needs a {unique} on every row")
    meta = instances[0]._meta
    key = meta.fields_db_projection[unique]
    conn = connections.get("default")
    for start in range(0, len(instances), INSERT_CHUNK):
        chunk = list({getattr(i, unique): i for i in reversed(instances[start : start + INSERT_CHUNK])}.values())
        chunk.reverse()  # the first of any repeated value wins, order kept
        names: list[str] = []
        params: list[Any] = []
        for instance in chunk:
            names, values = insert_columns(instance)
            params += values
        pks = {
            row[key]: row[meta.db_pk_column]
            for row in await conn.execute_query_dict(_insert_sql(meta, names, len(chunk), unique), params)
        }
        for instance in chunk:
            value = meta.fields_map[unique].to_db_value(getattr(instance, unique), instance)
            if value in pks:
                instance.pk = pks[value]
                instance._saved_in_db = True
                written.append(instance)
    return written


async def enqueue_text(
    openid: str, text: str, *, now: datetime, dedupe_key: str | None = None, purpose: str | None = None
) -> OutboxMessage:
    """Queue a customer-service text to `openid`; a second call with the same `dedupe_key` returns the first."""
    return await _enqueue(OutboxKind.TEXT, openid, {"text": text}, now=now, dedupe_key=dedupe_key, purpose=purpose)


async def enqueue_template(
    openid: str,
    template_id: str | None,
    data: Mapping[str, str],
    *,
    now: datetime,
    url: str | None = None,
    dedupe_key: str | None = None,
    purpose: str | None = None,
    values: Mapping[str, str] | None = None,
) -> OutboxMessage:
    """Queue a template message to `openid` (values already rendered within WeChat's limits); it is sent
    from `now` on, so a later `now` holds it back (quiet hours). `purpose` names the template kind.
    `template_id` None means no template is configured for the kind: the dispatcher then sends the named
    `values` as a customer-service text inside the 48-hour window, or records the row undeliverable."""
    payload = template_payload(template_id, data, url, values)
    return await _enqueue(OutboxKind.TEMPLATE, openid, payload, now=now, dedupe_key=dedupe_key, purpose=purpose)


def new_row(
    kind: OutboxKind,
    openid: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str | None = None,
    purpose: str | None = None,
) -> OutboxMessage:
    """An unsaved outbox row, due from `now` (for `insert_many_unless_taken`)."""
    return OutboxMessage(
        kind=kind,
        openid=openid,
        payload=payload,
        next_attempt_at=now,
        client_msg_id=uuid.uuid4().hex,
        dedupe_key=dedupe_key,
        purpose=purpose,
    )


def template_payload(
    template_id: str | None, data: Mapping[str, str], url: str | None, values: Mapping[str, str] | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"template_id": template_id, "data": dict(data), "url": url}
    if values is not None:
        payload["values"] = dict(values)
    return payload


async def _enqueue(
    kind: OutboxKind,
    openid: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str | None,
    purpose: str | None = None,
) -> OutboxMessage:
    row = new_row(kind, openid, payload, now=now, dedupe_key=dedupe_key, purpose=purpose)
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
    free" test itself, and returns the claimed rows whole: one statement.
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
            f"AND {free} RETURNING *"
        )
    else:
        sql = f'UPDATE "outbox_message" SET "claimed_until" = {p}1 WHERE "id" IN ({due}) AND {free} RETURNING *'
    rows = await conn.execute_query_dict(sql, [until, OutboxStatus.PENDING.value, at, limit])
    claimed = [OutboxMessage._init_from_db(**row) for row in rows]
    return sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send: the row's new state, written by `record` with others in one transaction."""

    row_id: int
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    error_code: int | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    wechat_msgid: int | None = None
    delivery_status: str | None = None


def sent(row: OutboxMessage, now: datetime, wechat_msgid: int | None = None, *, note: str | None = None) -> Outcome:
    """The row reached WeChat; `note` marks how (a template sent as a customer-service text)."""
    return Outcome(
        row.id, OutboxStatus.SENT, row.attempts + 1, row.next_attempt_at, None, None, now, wechat_msgid, note
    )


def retry_later(
    row: OutboxMessage, now: datetime, code: int | None, error: str, *, not_before: datetime | None = None
) -> Outcome:
    """Another attempt with exponential backoff and jitter (never before `not_before`), or FAILED after
    MAX_ATTEMPTS with the last error."""
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return failed(row, now, code, f"gave up after {attempts} attempts: {error}")
    # Jitter spreads a burst of failures (WeChat down for a minute) so the retries do not arrive together.
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)
    at = now + timedelta(seconds=delay)
    if not_before is not None and not_before > at:
        at = not_before
    return Outcome(row.id, OutboxStatus.PENDING, attempts, at, code, error[:500])


def failed(row: OutboxMessage, now: datetime, code: int | None, error: str, *, undeliverable: bool = False) -> Outcome:
    """A permanent failure: recorded with its reason and never retried."""
    status = OutboxStatus.UNDELIVERABLE if undeliverable else OutboxStatus.FAILED
    return Outcome(row.id, status, row.attempts + 1, row.next_attempt_at, code, error[:500])


_RECORD_SQL = (
    'UPDATE "outbox_message" SET "status" = {p}1, "attempts" = {p}2, "next_attempt_at" = {p}3, '
    '"claimed_until" = NULL, "error_code" = {p}4, "last_error" = {p}5, "sent_at" = COALESCE({p}6, "sent_at"), '
    '"wechat_msgid" = COALESCE({p}7, "wechat_msgid"), "delivery_status" = COALESCE({p}8, "delivery_status") '
    'WHERE "id" = {p}9'
)


# A send result's arrays: status, attempts, due, code, error, sent_at, msgid, delivery, id.
_RESULT_TYPES = ("varchar", "int", "timestamptz", "int", "text", "timestamptz", "bigint", "varchar", "bigint")
_PG_RECORD_SQL = (
    'UPDATE "outbox_message" AS m SET "status" = r.status, "attempts" = r.attempts, "next_attempt_at" = r.due, '
    '"claimed_until" = NULL, "error_code" = r.code, "last_error" = r.error, '
    '"sent_at" = COALESCE(r.sent_at, m."sent_at"), "wechat_msgid" = COALESCE(r.msgid, m."wechat_msgid"), '
    '"delivery_status" = COALESCE(r.delivery, m."delivery_status") '
    f"FROM unnest({pg_arrays(_RESULT_TYPES)}) "
    "AS r(status, attempts, due, code, error, sent_at, msgid, delivery, id) "
    'WHERE m."id" = r.id'
)


async def record(outcomes: Sequence[Outcome]) -> list[None]:
    """Write many sends' outcomes at once: one statement on PostgreSQL, one transaction (one commit) on
    SQLite."""
    if not outcomes:
        return []
    fields = OutboxMessage._meta.fields_map
    at, sent_at = fields["next_attempt_at"], fields["sent_at"]
    rows = [
        [
            o.status.value,
            o.attempts,
            at.to_db_value(o.next_attempt_at, OutboxMessage),
            o.error_code,
            o.last_error,
            sent_at.to_db_value(o.sent_at, OutboxMessage),
            o.wechat_msgid,
            o.delivery_status,
            o.row_id,
        ]
        for o in outcomes
    ]
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        # One statement, atomic on its own: one round trip instead of BEGIN, the batch and COMMIT. A row
        # recorded twice in a batch keeps its last outcome, as the statements one after another did.
        last = list({row[-1]: row for row in rows}.values())
        await conn.execute_query(_PG_RECORD_SQL, list(as_columns(last, len(rows[0]))))
        return [None] * len(outcomes)
    async with in_transaction() as tx:
        await tx.execute_many(_RECORD_SQL.format(p=placeholder()), rows)
    return [None] * len(outcomes)


# WeChat can report a template's delivery before the dispatcher has written the msgid WeChat returned for it
# (send results are written in batches just after the send): the status waits this long for its row.
DELIVERY_WAITS_S: tuple[float, ...] = (0.2, 0.5, 1.0)


async def record_delivery(wechat_msgid: int, status: str) -> bool:
    """Store WeChat's TEMPLATESENDJOBFINISH status (success, failed:user block, ...) on the sent row; False
    when no row has that msgid, even after waiting `DELIVERY_WAITS_S` for its send result to be written."""
    for pause in (0.0, *DELIVERY_WAITS_S):
        if pause:
            await asyncio.sleep(pause)
        if await OutboxMessage.filter(wechat_msgid=wechat_msgid).update(delivery_status=status[:64]):
            return True
    log.info("delivery status %r for a template msgid this outbox does not know", status[:64])
    return False


# --- operations: `python -m bot outbox`, /metrics -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """The outbox at a glance: counts by status and purpose, the oldest due row, the latest errors."""

    counts: dict[tuple[str, str], int]
    oldest_due: datetime | None
    errors: list[OutboxMessage]


async def summary(now: datetime, errors: int = 10) -> Summary:
    """Counts by (status, purpose), the oldest pending row already due, and the last `errors` failures."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        'SELECT "status", COALESCE("purpose", \'-\') AS "purpose", COUNT(*) AS "n" FROM "outbox_message" '
        'GROUP BY "status", COALESCE("purpose", \'-\')'
    )
    counts = {(str(r["status"]), str(r["purpose"])): int(r["n"]) for r in rows}
    oldest = (
        await OutboxMessage.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .first()
    )
    failures = await OutboxMessage.filter(last_error__isnull=False).order_by("-id").limit(errors)
    return Summary(counts, oldest.next_attempt_at if oldest else None, list(failures))


async def depth() -> dict[str, int]:
    """Rows waiting or stuck, by status (pending, failed, undeliverable). Sent rows are not counted here:
    the table keeps every one of them, and the dispatcher's send counter already says how many went."""
    conn = connections.get("default")
    p = placeholder()
    waiting = [OutboxStatus.PENDING.value, OutboxStatus.FAILED.value, OutboxStatus.UNDELIVERABLE.value]
    rows = await conn.execute_query_dict(
        f'SELECT "status", COUNT(*) AS "n" FROM "outbox_message" WHERE "status" IN ({p}1, {p}2, {p}3) '
        'GROUP BY "status"',
        waiting,
    )
    found = {str(r["status"]): int(r["n"]) for r in rows}
    return {status: found.get(status, 0) for status in waiting}


async def retry(now: datetime, row_id: int | None = None) -> int:
    """Put one failed or undeliverable row (`row_id`), or every failed row, back to pending, due now.
    Returns how many rows were requeued. Their client_msg_id is kept: WeChat drops a repeat within
    its dedupe window, so a row that in fact arrived is not delivered twice by a quick retry."""
    if row_id is not None:
        query = OutboxMessage.filter(id=row_id, status__in=[OutboxStatus.FAILED, OutboxStatus.UNDELIVERABLE])
    else:
        query = OutboxMessage.filter(status=OutboxStatus.FAILED)
    return await query.update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
