"""The router: picks the handler for each message type, event and command word, and returns its reply."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot import replies
from bot.services import outbox, paging
from bot.settings import Settings
from bot.wechat.messages import InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turn:
    """One inbound message with what every handler needs: the clock (injected) and the settings."""

    msg: InboundMessage
    now: datetime
    settings: Settings

    def store(self) -> dict[str, str]:
        s = self.settings
        return {
            "store": s.store_name,
            "address": s.store_address,
            "phone": s.store_phone,
            "hours": s.store_hours,
        }


@dataclass(frozen=True, slots=True)
class HandlerResult:
    handler: str
    text: str | None = None  # None: nothing to say (WeChat gets "success")


Handler = Callable[[Turn], Awaitable[HandlerResult]]

# What users type, mapped to commands. Keys are compared after normalising case and full-width forms.
ALIASES: dict[str, str] = {
    "帮助": "help",
    "help": "help",
    "?": "help",
    "菜单": "help",
    "功能": "help",
    "你好": "hello",
    "您好": "hello",
    "hi": "hello",
    "hello": "hello",
    "联系门店": "contact",
    "联系我们": "contact",
    "人工": "contact",
    "客服": "contact",
    "电话": "contact",
    "地址": "contact",
    "下一页": "next_page",
    "更多": "next_page",
    "预约": "book",
    "预约保养": "book",
    "我要保养": "book",
    "我的预约": "my_appointments",
}


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！~～").lower()


async def _help(turn: Turn) -> HandlerResult:
    return HandlerResult("help", replies.render("help"))


async def _hello(turn: Turn) -> HandlerResult:
    return HandlerResult("hello", replies.render("welcome", **turn.store()))


async def _contact(turn: Turn) -> HandlerResult:
    return HandlerResult("contact", replies.render("contact", **turn.store()))


async def _next_page(turn: Turn) -> HandlerResult:
    page = await paging.next_page(turn.msg.openid, turn.now)
    if page is None:
        return HandlerResult("next_page", replies.render("no_more_pages"))
    text = page.text
    if page.number < page.total:
        text += "\n" + replies.render("next_page_hint", page=page.number, pages=page.total)
    return HandlerResult("next_page", text)


async def _book(turn: Turn) -> HandlerResult:
    return HandlerResult("book", replies.render("coming_soon", feature="在线预约", phone=turn.settings.store_phone))


async def _my_appointments(turn: Turn) -> HandlerResult:
    return HandlerResult(
        "my_appointments", replies.render("coming_soon", feature="我的预约", phone=turn.settings.store_phone)
    )


COMMANDS: dict[str, Handler] = {
    "help": _help,
    "hello": _hello,
    "contact": _contact,
    "next_page": _next_page,
    "book": _book,
    "my_appointments": _my_appointments,
}

# Menu CLICK keys: the same commands as typed words.
CLICK_KEYS: dict[str, str] = {
    "BOOK": "book",
    "MY_APPTS": "my_appointments",
    "CONTACT": "contact",
    "HELP": "help",
}


async def _text(turn: Turn, text: str) -> HandlerResult:
    command = ALIASES.get(_normalise(text))
    if command is not None:
        return await COMMANDS[command](turn)
    shown = text if len(text) <= 20 else text[:20] + "…"
    return HandlerResult("unknown", replies.render("unknown", text=shown, help=replies.render("help")))


async def _event(turn: Turn) -> HandlerResult:
    msg = turn.msg
    if msg.event == "subscribe":
        if msg.event_key:
            log.info("subscribe via scene %s", msg.event_key)
        return HandlerResult("subscribe", replies.render("welcome", **turn.store()))
    if msg.event == "scan":
        log.info("scan of scene %s", msg.event_key)
        return HandlerResult("scan", replies.render("scan_known", **turn.store()))
    if msg.event == "click":
        command = CLICK_KEYS.get(msg.event_key)
        if command is None:
            return HandlerResult("click", replies.render("help"))
        return await COMMANDS[command](turn)
    if msg.event == "templatesendjobfinish":
        if msg.event_key.isdigit():
            await outbox.record_delivery(int(msg.event_key), msg.status)
        return HandlerResult("template_finished")
    # unsubscribe, VIEW and anything new WeChat invents: acknowledge silently.
    return HandlerResult(msg.event or "event")


async def dispatch(turn: Turn) -> HandlerResult:
    """Answer one message or event. Never raises for unknown input: unknown things get help or silence."""
    msg = turn.msg
    if msg.is_event:
        return await _event(turn)
    if msg.msg_type == "text":
        return await _text(turn, msg.content)
    if msg.msg_type == "voice":
        if not msg.content:
            return HandlerResult("voice", replies.render("voice_unrecognized"))
        return await _text(turn, msg.content)
    if msg.msg_type == "location":
        return HandlerResult("location", replies.render("location_received", **turn.store()))
    kind = replies.MEDIA_KINDS.get(msg.msg_type)
    if kind is not None:
        return HandlerResult("media", replies.render("media_received", kind=kind))
    return HandlerResult("unsupported")
