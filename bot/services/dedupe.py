"""Durable de-duplication of WeChat's retries: the first attempt claims the message, retries get its reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from bot.models import ProcessedMessage


@dataclass(frozen=True, slots=True)
class Claim:
    first: bool  # True: this attempt processes the message
    done: bool = False  # a retry: the first attempt has finished
    reply: str | None = None  # a retry: the first attempt's reply XML (None: it answered "success")


async def claim(key: str, now: datetime) -> Claim:
    """Claim `key` for processing; a retry (same MsgId or event key) gets what the first attempt left."""
    try:
        await ProcessedMessage.create(key=key, received_at=now)
    except IntegrityError:
        row = await ProcessedMessage.get_or_none(key=key)
        if row is None:  # released between our insert and our read: let this attempt run it
            return await claim(key, now)
        return Claim(first=False, done=row.done, reply=row.reply)
    return Claim(first=True)


async def finish(key: str, reply: str | None) -> None:
    """Record the reply WeChat's retries of `key` should get (None: they get "success")."""
    await ProcessedMessage.filter(key=key).update(done=True, reply=reply)


async def release(key: str) -> None:
    """Forget a claim whose processing failed, so WeChat's retry runs it again."""
    await ProcessedMessage.filter(key=key).delete()


async def prune(now: datetime, retention: timedelta) -> int:
    """Delete records older than `retention` (WeChat stops retrying after ~15 s; a day is generous)."""
    return await ProcessedMessage.filter(received_at__lt=now - retention).delete()
