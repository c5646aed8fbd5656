"""What every handler receives (a Turn) and returns (a HandlerResult)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.roles import CUSTOMER, Speaker
from bot.services.sessions import Session
from bot.settings import Settings
from bot.wechat.api import WeChatClient
from bot.wechat.messages import InboundMessage


@dataclass(frozen=True, slots=True)
class Turn:
    """One inbound message with what every handler needs: the clock (injected), settings, the session."""

    msg: InboundMessage
    now: datetime
    settings: Settings
    session: Session | None = None  # loaded after the user's lock is taken; None for stateless events
    speaker: Speaker = CUSTOMER  # resolved by the router once per turn
    # The WeChat API client, for the few turns that must call WeChat before replying (a binding QR code);
    # None where no client runs (unit tests of handlers). Notifications go through the outbox instead.
    api: WeChatClient | None = None

    # Direct constructions instead of dataclasses.replace, which inspects the fields on every call (twice a
    # message).
    def with_speaker(self, speaker: Speaker) -> Turn:
        return Turn(self.msg, self.now, self.settings, self.session, speaker, self.api)

    def with_session(self, session: Session) -> Turn:
        return Turn(self.msg, self.now, self.settings, session, self.speaker, self.api)

    def store(self) -> dict[str, str]:
        s = self.settings
        return {"store": s.store_name, "address": s.store_address, "phone": s.store_phone, "hours": s.store_hours}


@dataclass(frozen=True, slots=True)
class HandlerResult:
    handler: str
    text: str | None = None  # None: nothing to say (WeChat gets "success")
    # A list cut into pages by the handler (5 customers a page): `text` is ignored and the first page is
    # the reply; the rest wait for "下一页". Without it, a long `text` is cut by size.
    pages: tuple[str, ...] = ()


Handler = Callable[[Turn], Awaitable[HandlerResult]]

# A QR scene handler ("bind:<code>"): the turn and the value after the scene's prefix.
SceneHandler = Callable[[Turn, str], Awaitable[HandlerResult]]
