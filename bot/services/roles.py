"""Who is speaking: a customer, or a bound and active clerk or manager, resolved once per turn by openid."""

# Every message needs the speaker's role, and the staff table is small: each worker keeps the whole
# openid -> role map and reloads it at most every few seconds. A change made in this worker (binding,
# deactivation, role change) calls `invalidate()` and takes effect at once; another worker sees it within
# `TTL` seconds.

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import StrEnum
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

_cache: dict[str, Speaker] = {}
_openids: dict[int, str] = {}  # staff id -> openid, for the same active, bound staff
_loaded_at = float("-inf")
_generation = 0  # bumped by invalidate(): a load that started before a change must not count as fresh
_loading: asyncio.Task[None] | None = None


async def speaker_of(openid: str) -> Speaker:
    """The speaker for `openid`: staff only while bound and active, everyone else a customer."""
    if time.monotonic() - _loaded_at > TTL:
        await _reload()
    return _cache.get(openid, CUSTOMER)


async def staff_openid(staff_id: int | None) -> str | None:
    """The WeChat openid of an active, bound staff member (None otherwise), from the same map as
    `speaker_of` while it is fresh (every message refreshes it): notices to a customer's owner clerk
    mostly need no query. Safe inside a transaction."""
    if staff_id is None:
        return None
    if time.monotonic() - _loaded_at <= TTL:
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
    global _loading
    task = _loading
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        task = _loading = asyncio.ensure_future(_load())
    await asyncio.shield(task)


async def _load() -> None:
    global _cache, _openids, _loaded_at
    started, generation = time.monotonic(), _generation
    rows = await Staff.filter(active=True, openid__isnull=False).values_list("openid", "id", "name", "role")
    _cache = {
        openid: Speaker(Role.MANAGER if role == StaffRole.MANAGER else Role.CLERK, staff_id, name)
        for openid, staff_id, name, role in rows
    }
    _openids = {staff_id: openid for openid, staff_id, _, _ in rows}
    if generation == _generation:
        _loaded_at = started
