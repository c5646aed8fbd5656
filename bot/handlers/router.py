"""The router: one turn per message. Stateless events are answered at once; everything else runs under the
user's lock with their dialog session, and the session is saved with the turn's writes in one transaction."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from bot import replies
from bot.dialogs import DIALOGS, DialogTurn
from bot.dialogs.base import GLOBAL_WORDS
from bot.handlers import appointments, customers, reminders, reports, staff, staff_appointments, tasks
from bot.handlers.commands import Command, CommandTable, Match, normalise
from bot.handlers.locks import UserLocks
from bot.handlers.turn import HandlerResult, SceneHandler, Turn
from bot.nlu import parse_service, parse_when
from bot.services import customers as customer_records
from bot.services import followers, outbox, paging, roles, sessions
from bot.services.roles import CUSTOMERS, EVERYONE
from bot.services.sessions import Session

log = logging.getLogger(__name__)
LOCKS = UserLocks()


async def _help(turn: Turn, arg: str) -> HandlerResult:
    return HandlerResult("help", TABLE.help(turn.speaker.role))


async def _hello(turn: Turn, arg: str) -> HandlerResult:
    if turn.speaker.is_staff:
        return HandlerResult("hello", TABLE.help(turn.speaker.role))
    return HandlerResult("hello", replies.render("welcome", **turn.store()))


async def _contact(turn: Turn, arg: str) -> HandlerResult:
    return HandlerResult("contact", replies.render("contact", **turn.store()))


async def _next_page(turn: Turn, arg: str) -> HandlerResult:
    page = await paging.next_page(turn.msg.openid, turn.now)
    if page is None:
        return HandlerResult("next_page", replies.render("no_more_pages"))
    text = page.text
    if page.number < page.total:
        text += "\n" + replies.render("next_page_hint", page=page.number, pages=page.total)
    return HandlerResult("next_page", text)


async def _book(turn: Turn, text: str | None = None, campaign: str | None = None) -> HandlerResult:
    said = turn.msg.content if text is None else text
    dturn = dialog_turn(turn, said)
    await DIALOGS["booking"].begin(dturn, {"campaign": campaign} if campaign else None)
    return HandlerResult("booking", "\n".join(dturn.out))


async def _book_command(turn: Turn, arg: str) -> HandlerResult:
    return await _book(turn)


async def _my_appointments(turn: Turn, arg: str) -> HandlerResult:
    return await appointments.my_appointments(turn)


# A car owner's own commands; staff commands live in their handler modules.
OWNER_COMMANDS: tuple[Command, ...] = (
    Command(
        "book",
        ("预约", "我要预约", "预约保养", "我要保养", "约保养"),
        _book_command,
        CUSTOMERS,
        "help.book",
        arg=True,
        reads_ahead=customer_records.reading_ahead,  # starting the booking dialog reads the customer first
    ),
    Command("book_word", ("订", "book"), _book_command, CUSTOMERS, reads_ahead=customer_records.reading_ahead),
    Command(
        "my_appointments",
        ("我的预约", "查预约", "查看预约", "预约号", "我的预约号"),  # 预约号: not 预约 + 号
        _my_appointments,
        CUSTOMERS,
        "help.my_appointments",
        anywhere=True,
    ),
    Command(
        "cancel_appointment",
        ("取消预约",),
        appointments.cancel,
        CUSTOMERS,
        "help.change_appointment",
        arg=True,
        writes=True,
    ),
    Command("reschedule", ("改约", "改预约"), appointments.reschedule, CUSTOMERS, arg=True, writes=True),
)

# The commands every speaker shares.
SHARED_COMMANDS: tuple[Command, ...] = (
    Command(
        "contact",
        ("联系门店", "联系我们", "人工", "客服", "电话", "地址"),
        _contact,
        EVERYONE,
        "help.contact",
        anywhere=True,
    ),
    Command("next_page", ("下一页", "更多"), _next_page, EVERYONE, writes=True),
    Command("hello", ("你好", "您好", "hi", "hello"), _hello, EVERYONE),
    Command("help", ("帮助", "help", "?", "菜单", "功能"), _help, EVERYONE, "help.help"),
)

# 帮助 lists commands in this order: staff see their work first, car owners booking and their appointments,
# then their reminders; then what everyone shares, 帮助 last.
TABLE = CommandTable(
    staff.COMMANDS
    + customers.COMMANDS
    + staff_appointments.COMMANDS
    + tasks.COMMANDS
    + reports.COMMANDS
    + OWNER_COMMANDS
    + reminders.COMMANDS
    + SHARED_COMMANDS
)

# Commands that never leave an open dialog when typed as its answer: greetings and paging are no change of
# mind, and "订" could be meant as an answer.
STAY_IN_DIALOG = frozenset({"hello", "next_page", "help", "book_word"})

# Menu CLICK keys: the same commands as typed words (the role guard applies as for typed words).
CLICK_KEYS: dict[str, str] = {
    "BOOK": "book",
    "MY_APPTS": "my_appointments",
    "CONTACT": "contact",
    "HELP": "help",
    **staff.CLICK_KEYS,
}

# QR scene prefixes handled by a module: "bind:<code>" -> staff binding.
SCENES: dict[str, SceneHandler] = {**staff.SCENES}


def dialog_turn(turn: Turn, text: str) -> DialogTurn:
    assert turn.session is not None
    return DialogTurn(turn.msg.openid, text, turn.now, turn.settings, turn.session, speaker=turn.speaker)


def _refuse(command: Command) -> HandlerResult:
    return HandlerResult("refused", replies.render(command.refusal))


async def _run(turn: Turn, found: Match | Command) -> HandlerResult:
    if isinstance(found, Command):
        log.info("refused %s for role %s", found.name, turn.speaker.role.value)
        return _refuse(found)
    return await found.command.run(turn, found.arg)


async def _text(turn: Turn, text: str) -> HandlerResult:
    found = TABLE.find(text, turn.speaker.role)
    if found is not None:
        return await _run(turn, found)
    if GLOBAL_WORDS.get(normalise(text)) in ("cancel", "back", "restart"):
        # 取消 / 返回 with nothing open (often just after a dialog ended or expired): say so, and how to cancel
        # an appointment, rather than "not understood".
        key = "staff.nothing_open" if turn.speaker.is_staff else "nothing_open"
        return HandlerResult("nothing_open", replies.render(key))
    shown = text if len(text) <= 20 else text[:20] + "…"
    if turn.speaker.is_staff:
        close = TABLE.suggest(text, turn.speaker.role)
        if not close:
            return HandlerResult("unknown", replies.render("staff.unknown_plain", text=shown))
        lines = "\n".join(replies.render(c.help) for c in close if c.help)
        return HandlerResult("unknown", replies.render("staff.unknown", text=shown, suggestions=lines))
    if _wants_booking(text, normalise(text), turn):
        return await _book(turn, text)
    picked = await appointments.bare_pick(turn, text)  # "2" after 我的预约
    if picked is not None:
        return picked
    return HandlerResult("unknown", replies.render("unknown", text=shown, help=TABLE.help(turn.speaker.role)))


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
    if msg.event == "subscribe":
        await followers.subscribed(msg.openid, turn.now)
    if msg.event in ("subscribe", "scan"):
        prefix, _, value = msg.event_key.partition(":")
        scene = SCENES.get(prefix) if value else None
        if scene is not None:
            return await scene(turn, value)
        books, campaign = _booking_scene(msg.event_key)
        greeting = replies.render("welcome" if msg.event == "subscribe" else "scan_known", **turn.store())
        if not books:
            if msg.event_key:
                log.info("%s via scene %s", msg.event, msg.event_key)
            return HandlerResult(msg.event, greeting)
        started = await _book(turn, "", campaign)
        first = greeting if msg.event == "subscribe" else ""
        return HandlerResult(msg.event, "\n\n".join(t for t in (first, started.text) if t))
    command = TABLE.by_name.get(CLICK_KEYS.get(msg.event_key, ""))
    if command is None:
        return HandlerResult("click", TABLE.help(turn.speaker.role))
    if turn.speaker.role not in command.roles:
        return _refuse(command)
    return await command.run(turn, "")


async def _stateless_event(turn: Turn) -> HandlerResult:
    msg = turn.msg
    if msg.event == "templatesendjobfinish":
        if msg.event_key.isdigit():
            await outbox.record_delivery(int(msg.event_key), msg.status)
        return HandlerResult("template_finished")
    if msg.event == "unsubscribe":
        # Nothing more may be sent to them: queued messages are dropped, the customer record unlinked.
        await followers.unsubscribed(msg.openid, turn.now)
        return HandlerResult("unsubscribe")
    # VIEW, LOCATION reports and anything new WeChat invents: acknowledge silently.
    return HandlerResult(msg.event or "event")


async def _route(turn: Turn) -> HandlerResult:
    """Answer a message that may touch the session (already loaded, under the user's lock)."""
    session = turn.session
    assert session is not None
    notice = ""
    if session.expired(turn.now):
        expired = DIALOGS.get(session.dialog)
        session.reset()
        notice = replies.render(expired.wording("expired") if expired else "dialog.expired")
    if turn.msg.is_event and session.active and _clicked_name(turn) in DIALOGS[session.dialog].stays_for:
        # The menu's 预约 while booking: as typed 预约, no start over; the booking's help and question again.
        dialog = DIALOGS[session.dialog]
        dturn = dialog_turn(turn, "帮助")
        await dialog.handle(dturn)
        result = HandlerResult(dialog.name, "\n".join(dturn.out))
    elif turn.msg.is_event:  # menu clicks and scans are commands, whether or not a dialog is open
        result = await _stateful_event(turn)
    elif session.active:
        dialog = DIALOGS[session.dialog]
        dturn = dialog_turn(turn, turn.msg.content)
        await dialog.handle(dturn)
        called = TABLE.find(turn.msg.content, turn.speaker.role) if dturn.missed else None
        if dturn.then is not None:  # the dialog ended and hands on to a command ("取消预约 A1024")
            then = TABLE.find(dturn.then, turn.speaker.role)
            assert isinstance(then, Match), dturn.then
            result = await then.command.run(turn, then.arg)
        elif isinstance(called, Match) and called.command.name not in STAY_IN_DIALOG | dialog.stays_for:
            # Not an answer but a command ("改约 A1024" while booking): the dialog is left for it.
            session.reset()
            ran = await called.command.run(turn, called.arg)
            result = HandlerResult(ran.handler, f"{replies.render(dialog.wording('left'))}\n{ran.text or ''}".strip())
        else:
            result = HandlerResult(dialog.name if session.active else "dialog", "\n".join(dturn.out))
    else:
        result = await _text(turn, turn.msg.content)
    if notice:
        return HandlerResult(result.handler, f"{notice}\n{result.text or ''}".strip())
    return result


def _clicked_name(turn: Turn) -> str | None:
    """The name of the command a menu click calls (None for other events)."""
    return CLICK_KEYS.get(turn.msg.event_key) if turn.msg.event == "click" else None


def _called(turn: Turn) -> Match | Command | None:
    """The command a text message or menu click calls (or a `Command` the speaker may not use)."""
    msg = turn.msg
    if not msg.is_event:
        return TABLE.find(msg.content, turn.speaker.role)
    if msg.event != "click":
        return None
    command = TABLE.by_name.get(CLICK_KEYS.get(msg.event_key, ""))
    if command is None or turn.speaker.role not in command.roles:
        return command
    return Match(command, "")


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
    turn = turn.with_speaker(await roles.speaker_of(msg.openid))
    called = _called(turn)
    # Informational commands answer the same whatever the user is doing: they read no session and leave an
    # open dialog untouched ("联系门店" in the middle of booking gives the phone number, then booking goes on).
    if isinstance(called, Match) and called.command.anywhere:
        return await called.command.run(turn, called.arg)
    ahead = called.command.reads_ahead if isinstance(called, Match) else None
    async with LOCKS.hold(msg.openid):
        with ahead(msg.openid) if ahead else contextlib.nullcontext():
            for attempt in range(2):
                session = await sessions.load(msg.openid, fresh=attempt > 0)
                try:
                    if _writes_business_data(turn, session, called):
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
    result = await _route(turn.with_session(session))
    if _snapshot(session) != before and not await sessions.save(session, turn.now):
        raise _Conflict
    return result


def _writes_business_data(turn: Turn, session: Session, called: Match | Command | None) -> bool:
    """Whether the turn may write more than its session: a dialog step that writes (`Dialog.writes_at`: the
    confirmation, the pick of the appointment to cancel), or a command that writes
    (cancelling, paging, 到店, 跟进 ...). Then those writes and the session save commit together, and a lost
    compare-and-set rolls them back before the turn reruns. Every other turn writes at most the session:
    one version-guarded statement."""
    dialog = DIALOGS.get(session.dialog)
    if dialog is not None and session.step in dialog.writes_at and not session.expired(turn.now):
        return True
    return isinstance(called, Match) and called.command.writes
