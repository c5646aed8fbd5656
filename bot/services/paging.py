"""Long replies split into pages; the rest waits per user until they ask for "下一页"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import PagedReply


@dataclass(frozen=True, slots=True)
class Page:
    text: str
    number: int
    total: int


async def keep_rest(openid: str, pages: list[str], now: datetime) -> None:
    """Remember the pages after the first one for `openid`, replacing any older unread pages."""
    rest = pages[1:]
    if not rest:
        await PagedReply.filter(openid=openid).delete()
        return
    await PagedReply.update_or_create(defaults={"pages": rest, "total": len(pages), "updated_at": now}, openid=openid)


async def next_page(openid: str, now: datetime) -> Page | None:
    """Pop the next unread page for `openid`, or None when there is none."""
    row = await PagedReply.get_or_none(openid=openid)
    if row is None or not row.pages:
        return None
    pages: list[str] = list(row.pages)
    text = pages.pop(0)
    number = row.total - len(pages)
    if pages:
        await PagedReply.filter(openid=openid).update(pages=pages, updated_at=now)
    else:
        await row.delete()
    return Page(text=text, number=number, total=row.total)
