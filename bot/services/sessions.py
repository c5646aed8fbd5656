"""Dialog sessions in the database: loaded after the user's lock is taken, saved by compare-and-set."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tortoise.connection import connections

from bot.models import DialogSession
from bot.services.batching import Coalescer


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


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _remember(session: Session, data: str) -> None:
    _cache[session.openid] = (replace(session, data={}), data)
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
        return replace(kept, data=json.loads(data))
    row = await _loader(openid)
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


async def save(session: Session, now: datetime) -> bool:
    """Write `session` only if nobody saved it since it was loaded; False means another process won.

    One statement either way (an insert that yields to an existing row, or an update guarded by the
    version), on the caller's transaction when there is one."""
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    data = _dumps(session.data)
    fields = [session.dialog, session.step, data, session.misses, session.expires_at, now]
    if not session.stored:
        marks = ", ".join(f"${i}" for i in range(1, 9)) if pg else ", ".join("?" * 8)
        sql = (
            'INSERT INTO "dialog_session" ("openid", "version", "dialog", "step", "data", "misses", '
            f'"expires_at", "updated_at") VALUES ({marks}) ON CONFLICT ("openid") DO NOTHING RETURNING "version"'
        )
        rows = await conn.execute_query_dict(sql, [session.openid, 1, *fields])
    else:
        sets = ", ".join(
            f'"{column}" = {f"${i}" if pg else "?"}'
            for i, column in enumerate(("dialog", "step", "data", "misses", "expires_at", "updated_at"), 1)
        )
        where = '"openid" = $7 AND "version" = $8' if pg else '"openid" = ? AND "version" = ?'
        sql = f'UPDATE "dialog_session" SET "version" = "version" + 1, {sets} WHERE {where} RETURNING "version"'
        rows = await conn.execute_query_dict(sql, [*fields, session.openid, session.version])
    if not rows:
        forget(session.openid)
        return False
    session.version += 1
    session.stored = True
    _remember(session, data)
    return True
