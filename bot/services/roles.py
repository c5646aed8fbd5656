"""Who is speaking: a customer, or a bound and active clerk or manager, resolved once per turn by openid."""

# Every message needs the speaker's role, and the staff table is small: each worker keeps the whole
# openid -> role map and reloads it at most every few seconds. A change made in this worker (binding,
# deactivation, role change) calls `invalidate()` and takes effect at once; another worker sees it within
# `TTL` seconds and one query. A map past its TTL keeps answering while a reload runs in the background
# (messages used to wait for it, on PostgreSQL behind the other queries in the pool: a p99 spike every
# 5 s); only a map older than `MAX_STALE`, or one invalidated, is waited for.

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from enum import StrEnum
from time import monotonic as _monotonic  # a name of our own, so tests can move this clock alone
from typing import Final

from bot.models import Staff, StaffRole


class Role(StrEnum):
    CUSTOMER = "customer"
    CLERK = "clerk"
    MANAGER = "manager"


EVERYONE: Final = frozenset(Role)
CUSTOMERS: Final = frozenset({Role.CUSTOMER})
STAFF: Final = frozenset({Role.CLERK, Role.MANAGER})
MANAGERS: Final = frozenset({Role.MANAGER})


@dataclass(frozen=True, slots=True)
class Speaker:
    """The person behind an openid: a customer, or a staff member with their staff id and name."""

    role: Role = Role.CUSTOMER
    staff_id: int | None = None
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


CUSTOMER: Final = Speaker()
TTL: Final = 5.0
MAX_STALE: Final = 30.0  # a map this old (the database was unreachable meanwhile) is not trusted
log = logging.getLogger(__name__)

_cache: dict[str, Speaker] = {}
_openids: dict[int, str] = {}  # staff id -> openid, for the same active, bound staff
_loaded_at = float("-inf")
_generation = 0  # bumped by invalidate(): a load that started before a change must not count as fresh
_loading: asyncio.Task[None] | None = None


async def speaker_of(openid: str) -> Speaker:
    """The speaker for `openid`: staff only while bound and active, everyone else a customer."""
    age = _monotonic() - _loaded_at
    if age > MAX_STALE:
        await _reload()
    elif age > TTL:
        _start_reload()
    return _cache.get(openid, CUSTOMER)


async def staff_openid(staff_id: int | None) -> str | None:
    """The WeChat openid of an active, bound staff member (None otherwise), from the same map as
    `speaker_of` while it is fresh (every message refreshes it): notices to a customer's owner clerk
    mostly need no query. Safe inside a transaction."""
    if staff_id is None:
        return None
    if _monotonic() - _loaded_at <= TTL:
        return _openids.get(staff_id)
    # Not the shared reload: callers run inside a booking's transaction, and on SQLite a reload started
    # outside it would wait for the transaction's connection while the transaction waited for the reload.
    row = await Staff.get_or_none(id=staff_id, active=True).values_list("openid", flat=True)
    return str(row) if row else None


def invalidate() -> None:
    """Forget the map so the next message reads the staff table again (call after any staff change)."""
    global _loaded_at, _generation
    _loaded_at = float("-inf")
    _generation += 1


async def _reload() -> None:
    """One load at a time per event loop, shared by every message waiting for it. A task, not a lock: a
    lock held by a task that died with its loop (a test's) would block every later reload forever."""
    await asyncio.shield(_start_reload())


def _start_reload() -> asyncio.Task[None]:
    """The reload in progress, or a new one: its own task in a clean context (never inside the caller's
    transaction), so a caller that does not wait for it leaves it running."""
    global _loading
    task = _loading
    loop = asyncio.get_running_loop()
    if task is None or task.done() or task.get_loop() is not loop:
        task = _loading = loop.create_task(_load(), context=contextvars.Context())
        task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("reloading the staff map failed: %r", task.exception())


async def _load() -> None:
    global _cache, _openids, _loaded_at
    started, generation = _monotonic(), _generation
    rows = await Staff.filter(active=True, openid__isnull=False).values_list("openid", "id", "name", "role")
    _cache = {
        openid: Speaker(Role.MANAGER if role == StaffRole.MANAGER else Role.CLERK, staff_id, name)
        for openid, staff_id, name, role in rows
    }
    _openids = {staff_id: openid for openid, staff_id, _, _ in rows}
    if generation == _generation:
        _loaded_at = started
