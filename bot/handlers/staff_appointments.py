"""Appointments for staff: 今日预约, 明日预约, 预约 <day>, 代客预约, 到店, 完成, 未到."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Final

from bot import replies
from bot.dialogs import DialogTurn, register
from bot.dialogs.booking import ClerkBookingDialog
from bot.handlers.commands import Command
from bot.handlers.turn import HandlerResult, Turn
from bot.models import Appointment
from bot.nlu import mask_mobile, parse_when
from bot.services import booking, ids, schedule, visits
from bot.services.roles import STAFF

BOOK_FOR_CUSTOMER: Final = register(ClerkBookingDialog())
PER_PAGE: Final = 5

# "A1024", "a1024", "#A1024" or "1024" at the start, then whatever follows (完成's mileage and note).
REFERENCE: Final = re.compile(r"^#?([a-z]?\d{4,9})(?!\d)\s*(.*)$", re.IGNORECASE | re.DOTALL)
CUSTOMER_ID: Final = re.compile(r"#?[cC]?\d{1,9}(?!\d)")
_NUMBER = r"(\d+(?:\.\d+)?)\s*(万)?"
_UNIT = r"(?:公里|千米|km)"
# "里程 32000", "里程：3.2万公里"; a word with no number after it is a mistake to point out.
MILEAGE_WORD: Final = re.compile(rf"(?:里程|公里数|表显)[\s:：]*(?:{_NUMBER}\s*{_UNIT}?)?", re.IGNORECASE)
# "32000公里", "3.2万公里", "3.2万": a number is a reading only with its unit (a note may hold numbers).
MILEAGE_UNIT: Final = re.compile(rf"{_NUMBER}\s*{_UNIT}|(\d+(?:\.\d+)?)\s*(万)", re.IGNORECASE)
MAX_MILEAGE: Final = 2_000_000


def parse_mileage(text: str) -> tuple[int | None, str, bool]:
    """The odometer reading in what follows a 完成 reference, the note that remains, and whether a
    reading was named but could not be read ("里程 很多")."""
    text = unicodedata.normalize("NFKC", text)
    km: int | None = None
    bad = False
    match = MILEAGE_WORD.search(text)
    if match is not None:
        number, wan = match.group(1), match.group(2)
        bad = number is None
    else:
        match = MILEAGE_UNIT.search(text)
        if match is not None:
            number, wan = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    if match is not None and number is not None:
        km = round(float(number) * (10_000 if wan else 1))
        if not 0 < km <= MAX_MILEAGE:
            km, bad = None, True
    if match is not None:
        text = text[: match.start()] + " " + text[match.end() :]
    note = " ".join(text.split()).strip(" ，,。;；")
    note = note.removeprefix("备注").strip(" ：:，,")
    return km, note, bad


def _local_today(turn: Turn) -> date:
    return turn.now.astimezone(turn.settings.tz).date()


def _entry(turn: Turn, number: int, appointment: Appointment, service: str) -> str:
    customer = appointment.customer
    owner = customer.owner
    if customer.mobile is None:
        mobile = replies.render("visits.no_mobile")
    elif turn.speaker.is_manager or customer.owner_id == turn.speaker.staff_id:
        mobile = customer.mobile
    else:
        mobile = mask_mobile(customer.mobile)
    return replies.render(
        "visits.day_entry",
        number=number,
        time=appointment.start_at.astimezone(turn.settings.tz).strftime("%H:%M"),
        reference=appointment.reference,
        status=replies.render(f"visits.status_{appointment.status.value}"),
        customer=customer.name or replies.render("visits.unnamed"),
        mobile=mobile,
        plate=appointment.vehicle.plate,
        service=service,
        owner=owner.name if owner is not None else replies.render("visits.no_owner"),
    )


async def _day(turn: Turn, day: date, *, hint: bool = False) -> HandlerResult:
    listed = await visits.day_list(day, turn.settings.tz)
    title = booking.format_day(day)
    tail = []
    if listed.cancelled:
        tail.append(replies.render("visits.day_cancelled", count=listed.cancelled))
    if hint:
        tail.append(replies.render("visits.day_hint"))
    if not listed.appointments:
        return HandlerResult("day_appointments", "\n".join([replies.render("visits.day_empty", day=title), *tail]))
    entries = [_entry(turn, i, a, await schedule.service_name(a.service)) for i, a in enumerate(listed.appointments, 1)]
    pages = []
    for start in range(0, len(entries), PER_PAGE):
        if start == 0:
            head = replies.render("visits.day_header", day=title, count=len(entries))
        else:
            head = replies.render("visits.day_header_more", day=title)
        pages.append("\n".join([head, *entries[start : start + PER_PAGE]]))
    pages[-1] = "\n".join([pages[-1], *tail])
    if len(pages) == 1:
        return HandlerResult("day_appointments", pages[0])
    return HandlerResult("day_appointments", pages=tuple(pages))


async def today_appointments(turn: Turn, arg: str) -> HandlerResult:
    return await _day(turn, _local_today(turn))


async def tomorrow_appointments(turn: Turn, arg: str) -> HandlerResult:
    return await _day(turn, _local_today(turn) + timedelta(days=1))


async def day_appointments(turn: Turn, arg: str) -> HandlerResult:
    """预约 <day>; 预约 alone is today's list with a hint how to ask for another day."""
    if not arg:
        return await _day(turn, _local_today(turn), hint=True)
    when = parse_when(arg, turn.now.astimezone(turn.settings.tz))
    if when is None:
        shown = arg if len(arg) <= 20 else arg[:20] + "…"
        return HandlerResult("day_appointments", replies.render("visits.day_unknown", text=shown))
    return await _day(turn, when.date() if isinstance(when, datetime) else when)


async def book_for_customer(turn: Turn, arg: str) -> HandlerResult:
    """代客预约 C1024 [粤A12345 明天下午3点 保养]: start the booking dialog for that customer."""
    # The id first, then anything the booking dialog can read ("C1024 明天下午3点", "C1024粤A12345").
    match = CUSTOMER_ID.match(arg)
    customer_id = ids.parse_customer_code(match.group(0)) if match else None
    if match is None or customer_id is None:
        return HandlerResult("book_for_customer", replies.render("visits.book_usage"))
    if await visits.customer_for_booking(customer_id) is None:
        return HandlerResult(
            "book_for_customer", replies.render("visits.book_no_customer", code=ids.customer_code(customer_id))
        )
    assert turn.session is not None
    rest = arg[match.end() :].strip()
    dturn = DialogTurn(turn.msg.openid, rest, turn.now, turn.settings, turn.session, speaker=turn.speaker)
    await BOOK_FOR_CUSTOMER.begin(dturn, {"customer_id": customer_id})
    return HandlerResult("book_for_customer", "\n".join(dturn.out))


async def _find(arg: str, command: str) -> tuple[Appointment | None, str, str]:
    """The appointment named at the start of `arg`, the rest of `arg`, and the reply when there is none."""
    match = REFERENCE.match(unicodedata.normalize("NFKC", arg).strip())
    if match is None:
        return None, "", replies.render("visits.reference_missing", command=command)
    appointment = await visits.by_reference(match.group(1))
    if appointment is None:
        return None, "", replies.render("visits.not_found", reference=match.group(1).upper())
    return appointment, match.group(2), ""


def _refusal(turn: Turn, exc: visits.VisitRefused, action: str, *, km: int | None = None) -> str:
    a = exc.appointment
    tz = turn.settings.tz
    done_at = a.completed_at if exc.reason == "completed" else a.checked_in_at
    return replies.render(
        f"visits.refused_{exc.reason}",
        reference=a.reference,
        action=replies.render(f"visits.action_{action}"),
        when=booking.format_when(a.start_at, tz),
        at=booking.format_when(done_at, tz) if done_at else "",
        customer=ids.customer_code(a.customer_id),
        km=km,
        last=exc.last_mileage,
    )


async def _facts(turn: Turn, appointment: Appointment) -> dict[str, str]:
    return {
        "reference": appointment.reference,
        "customer": appointment.customer.name or replies.render("visits.unnamed"),
        "plate": appointment.vehicle.plate,
        "service": await schedule.service_name(appointment.service),
        "when": booking.format_when(appointment.start_at, turn.settings.tz),
    }


async def check_in(turn: Turn, arg: str) -> HandlerResult:
    appointment, _, missing = await _find(arg, "到店")
    if appointment is None:
        return HandlerResult("check_in", missing)
    late = appointment.status == "no_show"
    try:
        await visits.check_in(appointment.id, turn.now, turn.settings.tz)
    except visits.VisitRefused as exc:
        return HandlerResult("check_in", _refusal(turn, exc, "check_in"))
    key = "visits.checked_in_late" if late else "visits.checked_in"
    return HandlerResult("check_in", replies.render(key, **await _facts(turn, appointment)))


async def complete_visit(turn: Turn, arg: str) -> HandlerResult:
    appointment, rest, missing = await _find(arg, "完成")
    if appointment is None:
        return HandlerResult("complete_visit", missing)
    km, note, bad = parse_mileage(rest)
    if bad:
        return HandlerResult("complete_visit", replies.render("visits.bad_mileage", reference=appointment.reference))
    try:
        await visits.complete(appointment.id, turn.now, turn.settings.tz, mileage=km, note=note)
    except visits.VisitRefused as exc:
        return HandlerResult("complete_visit", _refusal(turn, exc, "complete", km=km))
    text = replies.render(
        "visits.completed",
        mileage=replies.render("visits.completed_mileage", km=km) if km is not None else "",
        note=replies.render("visits.completed_note", note=note) if note else "",
        **await _facts(turn, appointment),
    )
    return HandlerResult("complete_visit", text)


async def no_show(turn: Turn, arg: str) -> HandlerResult:
    appointment, _, missing = await _find(arg, "未到")
    if appointment is None:
        return HandlerResult("no_show", missing)
    try:
        marked = await visits.no_show(appointment.id, turn.now, turn.settings.tz)
    except visits.VisitRefused as exc:
        return HandlerResult("no_show", _refusal(turn, exc, "no_show"))
    facts = await _facts(turn, appointment)
    if marked.assignee is None:
        return HandlerResult("no_show", replies.render("visits.no_show_marked_alone", **facts))
    return HandlerResult("no_show", replies.render("visits.no_show_marked", owner=marked.assignee.name, **facts))


COMMANDS: tuple[Command, ...] = (
    Command("today_appointments", ("今日预约", "今天预约"), today_appointments, STAFF, "visits.help_today"),
    Command("tomorrow_appointments", ("明日预约", "明天预约"), tomorrow_appointments, STAFF, "visits.help_tomorrow"),
    # 预约 is also the customers' booking word; the roles do not overlap, so each side gets its own.
    Command("day_appointments", ("预约",), day_appointments, STAFF, "visits.help_day", arg=True),
    Command("book_for_customer", ("代客预约",), book_for_customer, STAFF, "visits.help_book", arg=True, writes=True),
    Command("check_in", ("到店",), check_in, STAFF, "visits.help_check_in", arg=True, writes=True),
    # 完成任务 (tasks) is a longer word and wins over 完成 when typed.
    Command("complete_visit", ("完成",), complete_visit, STAFF, "visits.help_complete", arg=True, writes=True),
    Command("no_show", ("未到",), no_show, STAFF, "visits.help_no_show", arg=True, writes=True),
)
