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
from bot.services.batching import Coalescer
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
    rows = {row.openid: row for row in await DialogSession.filter(openid__in=set(openids))}
    return [rows.get(openid) for openid in openids]


# Every text message reads its user's session, so concurrent reads share one query.
_loader: Coalescer[str, DialogSession | None] = Coalescer(_load_batch)
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
# PostgreSQL infers nothing from a bare VALUES list in UPDATE ... FROM: each parameter is cast.
_PG_TYPES = ("varchar", "int", "varchar", "varchar", "jsonb", "int", "timestamptz", "timestamptz")


def _rows(count: int, pg: bool, *, cast: bool, first: int = 1) -> str:
    """`count` rows of VALUES placeholders; on PostgreSQL numbered from `first`."""
    width = len(_PG_TYPES)
    if not pg:
        return ", ".join("(" + ", ".join("?" * width) + ")" for _ in range(count))
    return ", ".join(
        "(" + ", ".join(f"${first + r * width + i}" + (f"::{t}" if cast else "") for i, t in enumerate(_PG_TYPES)) + ")"
        for r in range(count)
    )


async def _write(writes: Sequence[_Write]) -> list[bool]:
    """Apply compare-and-set saves, at most two statements whatever their number (a multi-row INSERT that
    yields to existing rows, an UPDATE ... FROM VALUES guarded by each row's version), sent as one on
    PostgreSQL; per save, whether it took. Runs on the caller's transaction when there is one."""
    if len({w.openid for w in writes}) < len(writes):
        # Two saves of one user in a batch (never from the router, which holds the user's lock): one at a
        # time, since one statement would report both by the same openid.
        return [took for w in writes for took in await _write([w])]
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    inserts = [w for w in writes if w.insert]
    updates = [w for w in writes if not w.insert]
    parts: list[tuple[str, list[Any]]] = []
    if inserts:
        columns = ", ".join(f'"{column}"' for column in _COLUMNS)
        sql = (
            f'INSERT INTO "dialog_session" ("openid", "version", {columns}) '
            f'VALUES {_rows(len(inserts), pg, cast=False)} ON CONFLICT ("openid") DO NOTHING RETURNING "openid"'
        )
        parts.append((sql, [value for w in inserts for value in (w.openid, 1, *w.values)]))
    if updates:
        sets = ", ".join(f'"{column}" = v.column{i}' for i, column in enumerate(_COLUMNS, 3))
        # Numbered after the inserts' parameters: on PostgreSQL the two go as one statement.
        rows = _rows(len(updates), pg, cast=True, first=len(inserts) * len(_PG_TYPES) + 1)
        sql = (
            f'UPDATE "dialog_session" SET "version" = "dialog_session"."version" + 1, {sets} '
            f"FROM (VALUES {rows}) AS v "
            'WHERE "dialog_session"."openid" = v.column1 AND "dialog_session"."version" = v.column2 '
            'RETURNING "dialog_session"."openid"'
        )
        parts.append((sql, [value for w in updates for value in (w.openid, w.version, *w.values)]))
    if pg and len(parts) == 2:
        # One round trip (a data-modifying WITH): every user in the batch waits for it. SQLite runs its two
        # statements on the spot (bot/sqlite_engine.py), with nothing to wait for between them.
        (ins, ins_values), (upd, upd_values) = parts
        both = f'WITH i AS ({ins}), u AS ({upd}) SELECT "openid" FROM i UNION ALL SELECT "openid" FROM u'
        parts = [(both, ins_values + upd_values)]
    took = {row["openid"] for sql, values in parts for row in await conn.execute_query_dict(sql, values)}
    return [w.openid in took for w in writes]


# Saves outside a transaction (every dialog step but the confirmation) are group-committed: concurrent
# users' saves share a statement and, on SQLite, a commit, which was most of a step's cost.
_writer: Coalescer[_Write, bool] = Coalescer(_write)


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
