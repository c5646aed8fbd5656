"""What every handler receives (a Turn) and returns (a HandlerResult)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.sessions import Session
from bot.settings import Settings
from bot.wechat.messages import InboundMessage


@dataclass(frozen=True, slots=True)
class Turn:
    """One inbound message with what every handler needs: the clock (injected), settings, the session."""

    msg: InboundMessage
    now: datetime
    settings: Settings
    session: Session | None = None  # loaded after the user's lock is taken; None for stateless events

    def store(self) -> dict[str, str]:
        s = self.settings
        return {"store": s.store_name, "address": s.store_address, "phone": s.store_phone, "hours": s.store_hours}


@dataclass(frozen=True, slots=True)
class HandlerResult:
    handler: str
    text: str | None = None  # None: nothing to say (WeChat gets "success")


Handler = Callable[[Turn], Awaitable[HandlerResult]]
