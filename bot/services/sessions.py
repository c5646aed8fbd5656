"""Dialog sessions in the database: loaded after the user's lock is taken, saved by compare-and-set."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections

from bot.models import DialogSession
from bot.services.batching import Coalescer, as_columns, pg_arrays
from bot.sqlite_engine import runs_inline


@dataclass
class Session:
    """A user's conversation state as the dialog engine works on it (a copy; the row changes only on save)."""

    openid: str
    dialog: str = ""
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    misses: int = 0
    expires_at: datetime | None = None
    version: int = 0  # the version loaded; 0 with `stored` False means no row yet
    stored: bool = False

    @property
    def active(self) -> bool:
        return bool(self.dialog)

    def expired(self, now: datetime) -> bool:
        return self.active and self.expires_at is not None and self.expires_at <= now

    def reset(self) -> None:
        """Leave any dialog (the row is kept, so the version sequence continues)."""
        self.dialog, self.step, self.data, self.misses, self.expires_at = "", "", {}, 0, None


async def _load_batch(openids: Sequence[str]) -> list[DialogSession | None]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        # One statement text for any number of users (`as_columns` says why).
        sql = 'SELECT * FROM "dialog_session" WHERE "openid" = ANY($1::varchar[])'
        found = await conn.execute_query_dict(sql, [list(set(openids))])
        rows = {row["openid"]: DialogSession._init_from_db(**row) for row in found}
    else:
        rows = {row.openid: row for row in await DialogSession.filter(openid__in=set(openids))}
    return [rows.get(openid) for openid in openids]


def _batches_in_flight() -> int:
    """How many batches of loads or saves may be in flight at once: one on SQLite, where the saves of
    everyone waiting share one commit (its one writer would queue them anyway); several on PostgreSQL, where
    a save arriving while a batch is written goes out at once instead of waiting for that batch first."""
    return 1 if connections.get("default").capabilities.dialect == "sqlite" else PG_BATCHES_IN_FLIGHT


PG_BATCHES_IN_FLIGHT = 4

# Every text message reads its user's session, so concurrent reads share one query.
_loader: Coalescer[str, DialogSession | None] = Coalescer(_load_batch, parallel=_batches_in_flight)
# This worker's last saved copy of each session. Used only under the user's lock; if another worker saved
# since, our compare-and-set fails and the router reloads from the database, so a stale copy costs a retry,
# never a lost update. The data is kept as its JSON text (what `save` writes anyway): parsing it back is
# several times cheaper than a deepcopy of the dict, and every message loads and saves a copy.
_cache: OrderedDict[str, tuple[Session, str]] = OrderedDict()
CACHE_SIZE = 20_000


def _copy(s: Session, data: dict[str, Any]) -> Session:
    """`s` with `data` (dataclasses.replace, which inspects the fields each time, cost more: every message)."""
    return Session(s.openid, s.dialog, s.step, data, s.misses, s.expires_at, s.version, s.stored)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _remember(session: Session, data: str) -> None:
    _cache[session.openid] = (_copy(session, {}), data)
    _cache.move_to_end(session.openid)
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def forget_all() -> None:
    """Drop every cached copy (the test suite empties the database between tests)."""
    _cache.clear()


def forget(openid: str) -> None:
    """Drop this worker's copy (after a conflict, or a failed turn whose changes were rolled back)."""
    _cache.pop(openid, None)


async def load(openid: str, *, fresh: bool = False) -> Session:
    """The session of `openid`, or a fresh idle one. Call it after taking the user's lock.

    `fresh` skips this worker's copy and reads the database (after a conflict)."""
    cached = None if fresh else _cache.get(openid)
    if cached is not None:
        kept, data = cached
        return _copy(kept, json.loads(data))
    # Shared with other users' loads, except where statements run on the spot (SQLite): waiting for a batch
    # would only cost the user two turns of the event loop.
    row = (await _load_batch([openid]))[0] if runs_inline() else await _loader(openid)
    if row is None:
        return Session(openid)
    session = Session(
        openid=openid,
        dialog=row.dialog,
        step=row.step,
        data=dict(row.data or {}),
        misses=row.misses,
        expires_at=row.expires_at,
        version=row.version,
        stored=True,
    )
    _remember(session, _dumps(session.data))
    return session


@dataclass(frozen=True, slots=True)
class _Write:
    """One compare-and-set save: insert a new row (expected version 0) or update the row at `version`."""

    openid: str
    version: int
    insert: bool
    values: tuple[Any, ...]  # dialog, step, data (JSON text), misses, expires_at, updated_at


_COLUMNS = ("dialog", "step", "data", "misses", "expires_at", "updated_at")


def _rows(count: int) -> str:
    return ", ".join("(" + ", ".join("?" * (2 + len(_COLUMNS))) + ")" for _ in range(count))


# PostgreSQL: a batch's rows are sent as arrays so that the text is the same for every batch (see
# `as_columns`). New rows and changed rows each have a statement, and a batch of both kinds goes as one
# statement holding the two (a data-modifying WITH), one round trip.
# The arrays of a row: openid, [version,] then `_COLUMNS` (dialog, step, data as JSON text, misses, expires_at,
# updated_at), with their aliases.
_PG_ARRAYS = (("o", "varchar"), ("d", "varchar"), ("s", "varchar"), ("j", "text"), ("m", "int"))
_PG_STAMPS = (("e", "timestamptz"), ("u", "timestamptz"))


def _unnest(first: int, arrays: tuple[tuple[str, str], ...], alias: str) -> str:
    """`unnest($first::type[], ...) AS alias(names)` for `arrays` of (name, type)."""
    params = pg_arrays((kind for _, kind in arrays), first)
    return f"unnest({params}) AS {alias}({', '.join(name for name, _ in arrays)})"


def _pg_insert_many(first: int) -> str:
    return (
        'INSERT INTO "dialog_session" ("openid", "version", "dialog", "step", "data", "misses", "expires_at", '
        '"updated_at") SELECT n.o, 1, n.d, n.s, n.j::jsonb, n.m, n.e, n.u '
        f'FROM {_unnest(first, _PG_ARRAYS + _PG_STAMPS, "n")} ON CONFLICT ("openid") DO NOTHING RETURNING "openid"'
    )


def _pg_update_many(first: int) -> str:
    arrays = (_PG_ARRAYS[0], ("ver", "int"), *_PG_ARRAYS[1:], *_PG_STAMPS)
    return (
        'UPDATE "dialog_session" SET "version" = "dialog_session"."version" + 1, "dialog" = v.d, "step" = v.s, '
        '"data" = v.j::jsonb, "misses" = v.m, "expires_at" = v.e, "updated_at" = v.u '
        f"FROM {_unnest(first, arrays, 'v')} "
        'WHERE "dialog_session"."openid" = v.o AND "dialog_session"."version" = v.ver '
        'RETURNING "dialog_session"."openid"'
    )


_PG_INSERT_MANY = _pg_insert_many(1)
_PG_UPDATE_MANY = _pg_update_many(1)
_PG_WRITE = (
    f"WITH i AS ({_pg_insert_many(1)}), u AS ({_pg_update_many(8)}) "
    'SELECT "openid" FROM i UNION ALL SELECT "openid" FROM u'
)


# PostgreSQL, one save: a plain statement. PostgreSQL spends ~170 µs on it against ~450 µs on `_PG_WRITE` with
# one row (two data-modifying CTEs over 15 arrays); the confirmation's save, inside its transaction, is always
# one, and so is many a batch.
_PG_INSERT_ONE = (
    'INSERT INTO "dialog_session" ("openid", "version", "dialog", "step", "data", "misses", "expires_at", '
    '"updated_at") VALUES ($1, 1, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT ("openid") DO NOTHING RETURNING "openid"'
)
_PG_UPDATE_ONE = (
    'UPDATE "dialog_session" SET "version" = "version" + 1, "dialog" = $3, "step" = $4, "data" = $5::jsonb, '
    '"misses" = $6, "expires_at" = $7, "updated_at" = $8 WHERE "openid" = $1 AND "version" = $2 RETURNING "openid"'
)


def _pg_statements(inserts: list[_Write], updates: list[_Write]) -> list[tuple[str, list[Any]]]:
    if len(inserts) + len(updates) == 1:
        if inserts:
            (w,) = inserts
            return [(_PG_INSERT_ONE, [w.openid, *w.values])]
        (w,) = updates
        return [(_PG_UPDATE_ONE, [w.openid, w.version, *w.values])]
    new = as_columns([(w.openid, *w.values) for w in inserts], 1 + len(_COLUMNS))
    changed = as_columns([(w.openid, w.version, *w.values) for w in updates], 2 + len(_COLUMNS))
    if not inserts:  # the usual batch: every step after the first changes a row
        return [(_PG_UPDATE_MANY, changed)]
    if not updates:
        return [(_PG_INSERT_MANY, new)]
    return [(_PG_WRITE, new + changed)]


def _sqlite_statements(inserts: list[_Write], updates: list[_Write]) -> list[tuple[str, list[Any]]]:
    statements: list[tuple[str, list[Any]]] = []
    if inserts:
        columns = ", ".join(f'"{column}"' for column in _COLUMNS)
        sql = (
            f'INSERT INTO "dialog_session" ("openid", "version", {columns}) '
            f'VALUES {_rows(len(inserts))} ON CONFLICT ("openid") DO NOTHING RETURNING "openid"'
        )
        statements.append((sql, [value for w in inserts for value in (w.openid, 1, *w.values)]))
    if updates:
        sets = ", ".join(f'"{column}" = v.column{i}' for i, column in enumerate(_COLUMNS, 3))
        sql = (
            f'UPDATE "dialog_session" SET "version" = "dialog_session"."version" + 1, {sets} '
            f"FROM (VALUES {_rows(len(updates))}) AS v "
            'WHERE "dialog_session"."openid" = v.column1 AND "dialog_session"."version" = v.column2 '
            'RETURNING "dialog_session"."openid"'
        )
        statements.append((sql, [value for w in updates for value in (w.openid, w.version, *w.values)]))
    return statements


async def _write(writes: Sequence[_Write]) -> list[bool]:
    """Apply compare-and-set saves, whatever their number in one statement on PostgreSQL (`_pg_statements`)
    and at most two on SQLite (a multi-row INSERT that yields to existing rows, an UPDATE ... FROM VALUES
    guarded by each row's version); per save, whether it took. Runs on the caller's transaction when there
    is one."""
    if len({w.openid for w in writes}) < len(writes):
        # Two saves of one user in a batch (never from the router, which holds the user's lock): one at a
        # time, since one statement would report both by the same openid.
        return [took for w in writes for took in await _write([w])]
    conn = connections.get("default")
    inserts = [w for w in writes if w.insert]
    updates = [w for w in writes if not w.insert]
    if conn.capabilities.dialect == "postgres":
        statements = _pg_statements(inserts, updates)
    else:
        statements = _sqlite_statements(inserts, updates)
    took = {row["openid"] for sql, values in statements for row in await conn.execute_query_dict(sql, values)}
    return [w.openid in took for w in writes]


# Saves outside a transaction (every dialog step but the confirmation) are group-committed: concurrent
# users' saves share a statement and, on SQLite, a commit, which was most of a step's cost.
_writer: Coalescer[_Write, bool] = Coalescer(_write, parallel=_batches_in_flight)


async def save(session: Session, now: datetime) -> bool:
    """Write `session` only if nobody saved it since it was loaded; False means another process won.

    Inside the caller's transaction: its own statement there. Otherwise batched with other users' saves
    made meanwhile (one statement per kind, never two saves of one user: each runs under the user's lock);
    the caller still waits until its row is written."""
    data = _dumps(session.data)
    write = _Write(
        session.openid,
        session.version,
        not session.stored,
        (session.dialog, session.step, data, session.misses, session.expires_at, now),
    )
    if isinstance(connections.get("default"), TransactionalDBClient):
        (took,) = await _write([write])
    else:
        took = await _writer(write)
    if not took:
        forget(session.openid)
        return False
    session.version += 1
    session.stored = True
    _remember(session, data)
    return True
