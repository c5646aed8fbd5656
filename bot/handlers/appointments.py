"""我的预约, 取消预约 <预约号|序号>, 改约 <预约号|序号>: a customer's own appointments, and only theirs."""

from __future__ import annotations

import re

from bot import replies
from bot.dialogs import DIALOGS, DialogTurn
from bot.dialogs.booking import SERVICES_BY_CODE, when_text
from bot.handlers.turn import HandlerResult, Turn
from bot.models import Appointment
from bot.services import booking, customers

REFERENCE = re.compile(r"^[A-Za-z]\d{3,}$")


def _service_name(code: str) -> str:
    service = SERVICES_BY_CODE.get(code)
    return service.name if service else code


async def _upcoming(turn: Turn) -> list[Appointment]:
    customer = await customers.by_openid(turn.msg.openid)
    if customer is None:
        return []
    return await booking.upcoming(customer, turn.now)


def _listing(turn: Turn, appointments: list[Appointment]) -> str:
    tz = turn.settings.tz
    items = [
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
    return replies.render("appts.list", items="\n".join(items))


async def my_appointments(turn: Turn) -> HandlerResult:
    appointments = await _upcoming(turn)
    if not appointments:
        return HandlerResult("my_appointments", replies.render("appts.none"))
    return HandlerResult("my_appointments", _listing(turn, appointments))


async def _resolve(turn: Turn, arg: str) -> Appointment | None:
    """The customer's own appointment named by reference or list number; never anyone else's."""
    customer = await customers.by_openid(turn.msg.openid)
    if customer is None:
        return None
    if REFERENCE.match(arg):
        return await booking.for_customer_by_reference(customer, arg.upper())
    if arg.isdigit():
        upcoming = await booking.upcoming(customer, turn.now)
        index = int(arg)
        return upcoming[index - 1] if 1 <= index <= len(upcoming) else None
    return None


async def _which(turn: Turn, command: str, handler: str) -> HandlerResult:
    appointments = await _upcoming(turn)
    if not appointments:
        return HandlerResult(handler, replies.render("appts.none"))
    return HandlerResult(handler, replies.render("appts.which", command=command, listing=_listing(turn, appointments)))


async def cancel(turn: Turn, arg: str) -> HandlerResult:
    if not arg:
        return await _which(turn, "取消预约", "cancel_appointment")
    appointment = await _resolve(turn, arg)
    if appointment is None:
        return HandlerResult("cancel_appointment", replies.render("appts.not_found"))
    try:
        await booking.cancel(appointment, turn.now)
    except booking.TooLate:
        return HandlerResult("cancel_appointment", replies.render("appts.too_late", phone=turn.settings.store_phone))
    when = when_text_for(turn, appointment)
    return HandlerResult(
        "cancel_appointment", replies.render("appts.cancelled", reference=appointment.reference, when=when)
    )


def when_text_for(turn: Turn, appointment: Appointment) -> str:
    return booking.format_when(appointment.start_at, turn.settings.tz)


async def reschedule(turn: Turn, arg: str) -> HandlerResult:
    if not arg:
        return await _which(turn, "改约", "reschedule")
    appointment = await _resolve(turn, arg)
    if appointment is None:
        return HandlerResult("reschedule", replies.render("appts.not_found"))
    if not await booking.can_change(appointment, turn.now):
        return HandlerResult("reschedule", replies.render("appts.too_late", phone=turn.settings.store_phone))
    assert turn.session is not None
    dturn = DialogTurn(turn.msg.openid, "", turn.now, turn.settings, turn.session)
    preset = {
        "reference": appointment.reference,
        "old": when_text(dturn, appointment.start_at),
        "service": appointment.service,
    }
    await DIALOGS["reschedule"].begin(dturn, preset)
    return HandlerResult("reschedule", "\n".join(dturn.out))
