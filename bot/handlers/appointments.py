"""我的预约, 取消预约 <预约号|序号>, 改约 <预约号|序号>: a customer's own appointments, and only theirs."""

from __future__ import annotations

from bot import replies
from bot.dialogs import DIALOGS, DialogTurn
from bot.dialogs.booking import SERVICES_BY_CODE, when_text
from bot.handlers.turn import HandlerResult, Turn
from bot.models import Appointment, AppointmentStatus
from bot.nlu import parse_pick
from bot.services import booking, customers


def _service_name(code: str) -> str:
    service = SERVICES_BY_CODE.get(code)
    return service.name if service else code


async def _upcoming(turn: Turn) -> list[Appointment]:
    customer = await customers.by_openid(turn.msg.openid)
    if customer is None:
        return []
    return await booking.upcoming(customer, turn.now)


def _items(turn: Turn, appointments: list[Appointment]) -> list[str]:
    tz = turn.settings.tz
    return [
        replies.render(
            "appts.item",
            n=i,
            when=booking.format_when(a.start_at, tz),
            service=_service_name(a.service),
            plate=a.vehicle.plate,
            reference=a.reference,
        )
        for i, a in enumerate(appointments, 1)
    ]


def _listing(turn: Turn, appointments: list[Appointment]) -> str:
    return replies.render("appts.list", items="\n".join(_items(turn, appointments)))


async def my_appointments(turn: Turn) -> HandlerResult:
    appointments = await _upcoming(turn)
    if not appointments:
        return HandlerResult("my_appointments", replies.render("appts.none"))
    return HandlerResult("my_appointments", _listing(turn, appointments))


async def bare_pick(turn: Turn, text: str) -> HandlerResult | None:
    """A list number sent on its own ("2", "第二个"), as after 我的预约: which appointment that is, and how to
    move or cancel it. None when `text` is no number, or the customer has no such appointment."""
    if parse_pick(text, 99) is None:
        return None
    appointments = await _upcoming(turn)
    pick = parse_pick(text, len(appointments))
    if pick is None:
        return None
    item = _items(turn, appointments)[pick - 1].split(". ", 1)[1]
    return HandlerResult("my_appointments", replies.render("appts.which_action", n=pick, item=item))


async def _resolve(turn: Turn, arg: str) -> Appointment | None:
    """The customer's own appointment named by reference or list number; never anyone else's."""
    customer = await customers.by_openid(turn.msg.openid)
    if customer is None:
        return None
    if booking.REFERENCE_RE.match(arg):
        return await booking.for_customer_by_reference(customer, arg.upper())
    if arg.isdigit():
        upcoming = await booking.upcoming(customer, turn.now)
        index = int(arg)
        return upcoming[index - 1] if 1 <= index <= len(upcoming) else None
    return None


async def _which(turn: Turn, appointments: list[Appointment], command: str, handler: str) -> HandlerResult:
    """A bare 取消预约 / 改约: the appointments, and the next message picks one (`PickAppointmentDialog`)."""
    if not appointments:
        return HandlerResult(handler, replies.render("appts.none"))
    assert turn.session is not None
    dturn = DialogTurn(turn.msg.openid, "", turn.now, turn.settings, turn.session)
    listing = "\n".join(_items(turn, appointments))
    preset = {"command": command, "refs": [a.reference for a in appointments], "listing": listing}
    await DIALOGS["pick_appointment"].begin(dturn, preset)
    return HandlerResult(handler, "\n".join(dturn.out))


async def _target(turn: Turn, arg: str, command: str, handler: str) -> tuple[Appointment, str] | HandlerResult:
    """The appointment a 取消预约/改约 command names first, with what was typed after it ("改约 2 周五上午10点":
    the second appointment, "周五上午10点"), or the reply when it names none of the user's. A bare 改约 with
    one appointment moves that one; otherwise a bare command asks which."""
    if not arg:
        appointments = await _upcoming(turn)
        if command == "改约" and len(appointments) == 1:
            return appointments[0], ""
        return await _which(turn, appointments, command, handler)
    named, _, rest = arg.partition(" ")
    appointment = await _resolve(turn, named)
    if appointment is None:
        return HandlerResult(handler, replies.render("appts.not_found"))
    return appointment, rest.strip()


def _refused(turn: Turn, handler: str, appointment: Appointment, *, too_late: bool) -> HandlerResult:
    """Why the customer cannot change it online: too close to the visit, or already checked in or over."""
    phone = turn.settings.store_phone
    if too_late:
        return HandlerResult(handler, replies.render("appts.too_late", phone=phone))
    return HandlerResult(handler, replies.render("appts.not_changeable", reference=appointment.reference, phone=phone))


async def cancel(turn: Turn, arg: str) -> HandlerResult:
    named = await _target(turn, arg, "取消预约", "cancel_appointment")
    if isinstance(named, HandlerResult):
        return named
    target, _ = named  # a reason typed after it changes nothing
    try:
        await booking.cancel(target, turn.now)
    except (booking.TooLate, booking.NotChangeable) as exc:
        return _refused(turn, "cancel_appointment", target, too_late=isinstance(exc, booking.TooLate))
    when = booking.format_when(target.start_at, turn.settings.tz)
    return HandlerResult("cancel_appointment", replies.render("appts.cancelled", reference=target.reference, when=when))


async def reschedule(turn: Turn, arg: str) -> HandlerResult:
    named = await _target(turn, arg, "改约", "reschedule")
    if isinstance(named, HandlerResult):
        return named
    appointment, new_time = named
    if not await booking.can_change(appointment, turn.now):
        return _refused(turn, "reschedule", appointment, too_late=appointment.status == AppointmentStatus.BOOKED)
    assert turn.session is not None
    # A time typed with the command is the dialog's first answer ("改约 2 周五上午10点" goes to the confirmation).
    dturn = DialogTurn(turn.msg.openid, new_time, turn.now, turn.settings, turn.session)
    preset = {
        "reference": appointment.reference,
        "old": when_text(dturn, appointment.start_at),
        "service": appointment.service,
    }
    await DIALOGS["reschedule"].begin(dturn, preset)
    return HandlerResult("reschedule", "\n".join(dturn.out))
