"""Dialog sessions in the database: loaded after the user's lock is taken, saved by compare-and-set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

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


async def load(openid: str) -> Session:
    """The stored session of `openid`, or a fresh idle one. Call it after taking the user's lock."""
    row = await _loader(openid)
    if row is None:
        return Session(openid)
    return Session(
        openid=openid,
        dialog=row.dialog,
        step=row.step,
        data=dict(row.data or {}),
        misses=row.misses,
        expires_at=row.expires_at,
        version=row.version,
        stored=True,
    )


async def save(session: Session, now: datetime) -> bool:
    """Write `session` only if nobody saved it since it was loaded; False means another process won."""
    values: dict[str, Any] = {
        "dialog": session.dialog,
        "step": session.step,
        "data": session.data,
        "misses": session.misses,
        "expires_at": session.expires_at,
        "updated_at": now,
    }
    if not session.stored:
        try:
            await DialogSession.create(openid=session.openid, version=1, **values)
        except IntegrityError:
            return False
    else:
        updated = await DialogSession.filter(openid=session.openid, version=session.version).update(
            version=session.version + 1, **values
        )
        if updated != 1:
            return False
    session.version += 1
    session.stored = True
    return True
