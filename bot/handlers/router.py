"""The router: one turn per message. Stateless events are answered at once; everything else runs under the
user's lock with their dialog session, and the session is saved with the turn's writes in one transaction."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace
from datetime import datetime

from tortoise.transactions import in_transaction

from bot import replies
from bot.dialogs import DIALOGS, DialogTurn
from bot.dialogs.base import CONFIRM
from bot.handlers import appointments
from bot.handlers.locks import UserLocks
from bot.handlers.turn import Handler, HandlerResult, Turn
from bot.nlu import parse_service, parse_when
from bot.services import outbox, paging, sessions
from bot.services.sessions import Session

log = logging.getLogger(__name__)
LOCKS = UserLocks()

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
    "我要预约": "book",
    "预约保养": "book",
    "我要保养": "book",
    "约保养": "book",
    "订": "book",
    "book": "book",
    "我的预约": "my_appointments",
    "查预约": "my_appointments",
    "查看预约": "my_appointments",
}
# Commands that take an argument: "取消预约 A1024", "改约 2".
WITH_ARGUMENT = re.compile(r"^(取消预约|改约|改预约)\s*(\S*)$")


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


async def _book(turn: Turn, text: str | None = None, campaign: str | None = None) -> HandlerResult:
    assert turn.session is not None
    said = turn.msg.content if text is None else text
    dturn = DialogTurn(turn.msg.openid, said, turn.now, turn.settings, turn.session)
    await DIALOGS["booking"].begin(dturn, {"campaign": campaign} if campaign else None)
    return HandlerResult("booking", "\n".join(dturn.out))


async def _book_command(turn: Turn) -> HandlerResult:
    return await _book(turn)


COMMANDS: dict[str, Handler] = {
    "help": _help,
    "hello": _hello,
    "contact": _contact,
    "next_page": _next_page,
    "book": _book_command,
    "my_appointments": appointments.my_appointments,
}

# Menu CLICK keys: the same commands as typed words.
CLICK_KEYS: dict[str, str] = {"BOOK": "book", "MY_APPTS": "my_appointments", "CONTACT": "contact", "HELP": "help"}


async def _text(turn: Turn, text: str) -> HandlerResult:
    normal = _normalise(text)
    command = ALIASES.get(normal)
    if command is not None:
        return await COMMANDS[command](turn)
    with_arg = WITH_ARGUMENT.match(normal)
    if with_arg:
        verb, arg = with_arg.groups()
        if verb == "取消预约":
            return await appointments.cancel(turn, arg)
        return await appointments.reschedule(turn, arg)
    if _wants_booking(text, normal, turn):
        return await _book(turn, text)
    shown = text if len(text) <= 20 else text[:20] + "…"
    return HandlerResult("unknown", replies.render("unknown", text=shown, help=replies.render("help")))


# Words that show a day mentioned in passing is about coming to the store ("明天能过去吗").
BOOKING_HINTS = ("约", "订", "到店", "来店", "去店", "过去", "过来", "去做", "来做", "有空", "可以吗", "行吗")


def _wants_booking(text: str, normal: str, turn: Turn) -> bool:
    """A message naming a service or a clock time starts booking; a bare day only with a booking word."""
    if normal.startswith("预约") or parse_service(text) is not None:
        return True
    when = parse_when(text, turn.now.astimezone(turn.settings.tz))
    if isinstance(when, datetime):
        return True
    return when is not None and any(hint in normal for hint in BOOKING_HINTS)


def _booking_scene(key: str) -> tuple[bool, str | None]:
    """QR scenes that start booking: "book", or "campaign:<code>" (the code is kept on the appointment)."""
    if key == "book":
        return True, None
    if key.startswith("campaign:") and len(key) > len("campaign:"):
        return True, key.removeprefix("campaign:")[:32]
    return False, None


async def _stateful_event(turn: Turn) -> HandlerResult:
    msg = turn.msg
    if msg.event in ("subscribe", "scan"):
        books, campaign = _booking_scene(msg.event_key)
        greeting = replies.render("welcome" if msg.event == "subscribe" else "scan_known", **turn.store())
        if not books:
            if msg.event_key:
                log.info("%s via scene %s", msg.event, msg.event_key)
            return HandlerResult(msg.event, greeting)
        started = await _book(turn, "", campaign)
        first = greeting if msg.event == "subscribe" else ""
        return HandlerResult(msg.event, "\n\n".join(t for t in (first, started.text) if t))
    command = CLICK_KEYS.get(msg.event_key)
    if command is None:
        return HandlerResult("click", replies.render("help"))
    return await COMMANDS[command](turn)


async def _stateless_event(turn: Turn) -> HandlerResult:
    msg = turn.msg
    if msg.event == "templatesendjobfinish":
        if msg.event_key.isdigit():
            await outbox.record_delivery(int(msg.event_key), msg.status)
        return HandlerResult("template_finished")
    # unsubscribe, VIEW, LOCATION reports and anything new WeChat invents: acknowledge silently.
    return HandlerResult(msg.event or "event")


async def _route(turn: Turn) -> HandlerResult:
    """Answer a message that may touch the session (already loaded, under the user's lock)."""
    session = turn.session
    assert session is not None
    notice = ""
    if session.expired(turn.now):
        session.reset()
        notice = replies.render("dialog.expired")
    if turn.msg.is_event:  # menu clicks and scans are commands, whether or not a dialog is open
        result = await _stateful_event(turn)
    elif session.active:
        dturn = DialogTurn(turn.msg.openid, turn.msg.content, turn.now, turn.settings, session)
        await DIALOGS[session.dialog].handle(dturn)
        result = HandlerResult(DIALOGS[session.dialog].name if session.active else "dialog", "\n".join(dturn.out))
    else:
        result = await _text(turn, turn.msg.content)
    if notice:
        return HandlerResult(result.handler, f"{notice}\n{result.text or ''}".strip())
    return result


# Informational commands answer the same whatever the user is doing: they read no session and leave an open
# dialog untouched ("联系门店" in the middle of booking gives the phone number, then booking goes on).
ANSWERED_ANYWHERE = frozenset({"contact", "my_appointments"})


def _answered_anywhere(turn: Turn) -> Handler | None:
    msg = turn.msg
    if msg.is_event:
        command = CLICK_KEYS.get(msg.event_key) if msg.event == "click" else None
    else:
        command = ALIASES.get(_normalise(msg.content))
    return COMMANDS[command] if command in ANSWERED_ANYWHERE else None


class _Conflict(Exception):
    """Another process saved this user's session since we loaded it."""


def _snapshot(session: Session) -> tuple[object, ...]:
    return (session.dialog, session.step, repr(session.data), session.misses, session.expires_at)


async def dispatch(turn: Turn) -> HandlerResult:
    """Answer one message or event. Never raises for unknown input: unknown things get help or silence."""
    msg = turn.msg
    if msg.is_event and msg.event not in ("subscribe", "scan", "click"):
        return await _stateless_event(turn)
    if msg.msg_type == "voice" and not msg.content:
        return HandlerResult("voice", replies.render("voice_unrecognized"))
    if msg.msg_type == "location":
        return HandlerResult("location", replies.render("location_received", **turn.store()))
    if msg.msg_type not in ("text", "voice", "event"):
        kind = replies.MEDIA_KINDS.get(msg.msg_type)
        if kind is None:
            return HandlerResult("unsupported")
        return HandlerResult("media", replies.render("media_received", kind=kind))
    anywhere = _answered_anywhere(turn)
    if anywhere is not None:  # informational: no session needed, and an open dialog stays as it was
        return await anywhere(turn)
    async with LOCKS.hold(msg.openid):
        for attempt in range(2):
            session = await sessions.load(msg.openid, fresh=attempt > 0)
            try:
                if _writes_business_data(turn, session):
                    async with in_transaction():
                        return await _turn(turn, session)
                return await _turn(turn, session)
            except _Conflict:
                log.info("session changed by another worker; retrying the turn once")
            except BaseException:
                sessions.forget(msg.openid)  # its changes were rolled back
                raise
    return HandlerResult("busy", replies.render("busy"))


async def _turn(turn: Turn, session: Session) -> HandlerResult:
    before = _snapshot(session)
    result = await _route(replace(turn, session=session))
    if _snapshot(session) != before and not await sessions.save(session, turn.now):
        raise _Conflict
    return result


def _writes_business_data(turn: Turn, session: Session) -> bool:
    """Whether the turn may write more than its session: confirming a booking or a move, cancelling, paging.
    Then those writes and the session save commit together, and a lost compare-and-set rolls them back
    before the turn reruns. Every other turn writes at most the session: one version-guarded statement."""
    if session.step == CONFIRM and not session.expired(turn.now):
        return True
    if turn.msg.is_event:
        return False
    normal = _normalise(turn.msg.content)
    return WITH_ARGUMENT.match(normal) is not None or ALIASES.get(normal) == "next_page"
