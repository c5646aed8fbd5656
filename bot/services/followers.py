"""Who may be reminded: 退订提醒 / 开启提醒, and following or unsubscribing from the account."""

# Decisions:
# - A customer who unsubscribes is unlinked (Customer.openid = NULL): the dealership keeps the record, and
#   their dialog session and unread pages (WeChat-only data) are deleted. Every message still queued for
#   the openid is marked undeliverable at once rather than left to fail against WeChat one by one.
# - A staff member who unsubscribes keeps their record and binding: they are still staff, and following
#   again restores everything. Nothing is sent to them meanwhile (their pending rows are marked
#   undeliverable and the reminder rules skip openids that do not follow).

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from bot.models import Customer, DialogSession, Follower, OutboxMessage, OutboxStatus, PagedReply
from bot.services import sessions
from bot.services.outbox import atomic, insert_unless_taken

UNFOLLOWED_REASON = "用户已取消关注"


async def _upsert(openid: str, **values: object) -> None:
    """Write `values` onto the openid's follower row, creating it when it does not exist yet."""
    if await Follower.filter(openid=openid).update(**values):
        return
    if not await insert_unless_taken(Follower(openid=openid, **values), "openid"):
        await Follower.filter(openid=openid).update(**values)  # another turn created it meanwhile


async def reminders_off(openid: str) -> bool:
    """Whether the user turned reminders off (退订提醒)."""
    return await Follower.filter(openid=openid, reminders_off=True).exists()


async def set_reminders(openid: str, *, on: bool, now: datetime) -> bool:
    """Turn reminders on or off for `openid`; False when they already were so (nothing changed)."""
    row = await Follower.get_or_none(openid=openid)
    if (row.reminders_off if row else False) == (not on):
        return False
    await _upsert(openid, reminders_off=not on, reminders_changed_at=now)
    return True


async def blocked(openids: Iterable[str], *, reminders: bool = True) -> set[str]:
    """Of `openids`, those that must get nothing: not following, or (for reminders) reminders turned off.

    An openid without a follower row follows and wants reminders (the default)."""
    wanted = list(set(openids))
    if not wanted:
        return set()
    stop = Q(following=False) | Q(reminders_off=True) if reminders else Q(following=False)
    return {str(o) for o in await Follower.filter(Q(openid__in=wanted) & stop).values_list("openid", flat=True)}


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """What an unsubscribe changed: queued messages dropped, customer records unlinked."""

    dropped: int
    unlinked: int


async def unsubscribed(openid: str, now: datetime) -> Unsubscribed:
    """The user left the account: stop all sending, unlink their customer record, delete WeChat-only data."""
    async with atomic():
        await _upsert(openid, following=False, unsubscribed_at=now)
        # One UPDATE: rows a dispatcher has claimed but not sent yet are caught too (it marks them from
        # status pending only, so the worst case is a send WeChat itself refuses with 43004).
        dropped = await OutboxMessage.filter(openid=openid, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.UNDELIVERABLE, last_error=UNFOLLOWED_REASON, claimed_until=None
        )
        unlinked = await Customer.filter(openid=openid).update(openid=None, updated_at=now)
        await DialogSession.filter(openid=openid).delete()
        await PagedReply.filter(openid=openid).delete()
    sessions.forget(openid)
    return Unsubscribed(dropped, unlinked)


async def subscribed(openid: str, now: datetime) -> None:
    """The user follows the account (again): messages may be sent to them from now on."""
    if await Follower.filter(openid=openid, following=True).exists():
        return
    await _upsert(openid, following=True, unsubscribed_at=None)
