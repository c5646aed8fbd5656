"""The booking dialog: plate, service, time, and on a first booking name and mobile; confirm; book.

See booking.mmd beside this file for the flow. Every rule about time slots and capacity lives in
`bot.services.schedule` and `bot.services.booking`; this module only holds the conversation.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar

from bot import replies
from bot.dialogs.base import CONFIRM, GLOBAL_WORDS, Dialog, DialogTurn, Step
from bot.models import Appointment, BookingSource
from bot.nlu import (
    SERVICE_TYPES,
    ServiceType,
    is_no,
    is_yes,
    normalize,
    parse_mobile,
    parse_pick,
    parse_plate,
    parse_service,
    parse_when,
)
from bot.nlu.phone import mask_mobile
from bot.nlu.service import pick_service
from bot.services import booking, crm, customers, schedule, visits
from bot.services.schedule import Source

SERVICES_BY_CODE = {s.code: s for s in SERVICE_TYPES}
DAY_PARTS: dict[str, schedule.DayPart] = {
    "上午": "morning",
    "早上": "morning",
    "中午": "afternoon",
    "下午": "afternoon",
    "傍晚": "evening",
    "晚上": "evening",
}
# Words that name a day and its part at once (the day itself comes from parse_when).
DAY_AND_PART: dict[str, schedule.DayPart] = {"明早": "morning", "今晚": "evening", "明晚": "evening"}
MAX_CHOICES = 6
# A day part said alone ("下午", "下午吧") after a day was chosen narrows that day, not today.
BARE_DAY_PART = re.compile(rf"(?:那就|就)?({'|'.join(DAY_PARTS)})(?:吧|呢|的|可以|都行|好了|的时候)?")


def numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def when_text(turn: DialogTurn, dt: datetime) -> str:
    return booking.format_when(dt, turn.settings.tz)


def time_choices(turn: DialogTurn, starts: list[datetime], *, with_day: bool = True) -> str:
    if with_day:
        return numbered([when_text(turn, dt) for dt in starts])
    return numbered([dt.astimezone(turn.settings.tz).strftime("%H:%M") for dt in starts])


# --- slot readers (pure, except that they look at the turn to know which menu is on screen) ------------


# "没有车" / "新车还没上牌" where the plate is asked: understood, and answered (`BookingDialog.no_plate`).
NO_PLATE = "-"
NO_PLATE_RE = re.compile(r"没有?车|还没有?上牌|没有?上牌|没有?车牌|无车牌|新车|还没提车|没提车")


def read_plate(text: str, turn: DialogTurn) -> str | None:
    vehicles: list[str] = turn.data.get("vehicles", [])
    if vehicles and turn.session.step == "plate":
        pick = parse_pick(text, len(vehicles))
        if pick is not None:
            return vehicles[pick - 1]
    plate = parse_plate(text)
    if plate is None and turn.session.step == "plate" and NO_PLATE_RE.search(text):
        return NO_PLATE
    return plate


def menu_of(turn: DialogTurn) -> list[ServiceType]:
    return [SERVICES_BY_CODE[code] for code in turn.data.get("menu", []) if code in SERVICES_BY_CODE]


def read_service(text: str, turn: DialogTurn) -> str | None:
    service = pick_service(text, menu_of(turn)) if turn.session.step == "service" else parse_service(text)
    return service.code if service is not None else None


def read_when(text: str, turn: DialogTurn) -> Any:
    """An ISO datetime, {"day": ISO date, "part": ...} for a day without a time, or None."""
    choices: list[str] = turn.data.get("choices", [])
    if choices and turn.session.step in ("when", CONFIRM):
        pick = parse_pick(text, len(choices))
        if pick is not None:
            return choices[pick - 1]
    local_now = turn.now.astimezone(turn.settings.tz)
    pending = turn.data.get("day")
    bare_part = BARE_DAY_PART.fullmatch(normalize(text).strip("。.!！？?，, "))
    if pending and bare_part:
        return {"day": pending, "part": DAY_PARTS[bare_part[1]]}
    parsed = parse_when(text, local_now)
    if pending and isinstance(parsed, datetime):
        # "10点" after "明天上午": a bare clock time belongs to the day already chosen.
        day = date.fromisoformat(pending)
        anchored = parse_when(f"{day.month}月{day.day}日 {text}", local_now)
        if isinstance(anchored, datetime) and anchored.date() == day and anchored.time() == parsed.time():
            parsed = anchored
    if isinstance(parsed, datetime):
        return parsed.isoformat()
    if isinstance(parsed, date):
        part = next((p for word, p in (DAY_PARTS | DAY_AND_PART).items() if word in text), None)
        return {"day": parsed.isoformat(), "part": part}
    return None


def read_name(text: str, turn: DialogTurn) -> str | None:
    if turn.session.step != "name":
        return crm.marked_name(text)  # "我叫张三，明天下午3点保养": only a name said as one
    name = crm.read_name(text.strip().removeprefix("我叫").removeprefix("我是").removeprefix("姓名"))
    if name is None or len(name) > 20:  # a longer text is a sentence, not a name
        return None
    if is_yes(name) or is_no(name) or name in GLOBAL_WORDS:  # "确认" is an answer, not a name
        return None
    return name


def read_mobile(text: str, turn: DialogTurn) -> str | None:
    return parse_mobile(text)


def first_booking(turn: DialogTurn) -> bool:
    return not turn.data.get("returning", False)


class BookingDialog(Dialog):
    """预约: a customer books a service visit; slots come from any message, in any order."""

    name = "booking"
    # Whose rules apply: customers book the online share of a slot and online services only.
    source: ClassVar[Source] = BookingSource.SELF
    vehicle_ask: ClassVar[str] = "booking.ask_vehicle"
    vehicle_retry: ClassVar[str] = "booking.retry_vehicle"
    no_plate: ClassVar[str] = "booking.no_plate"
    steps: ClassVar[tuple[Step, ...]] = (
        Step("plate", ask="booking.ask_plate", retry="booking.retry_plate", parse=read_plate),
        Step("service", ask="booking.ask_service", retry="booking.retry_service", parse=read_service),
        Step("when", ask="booking.ask_when", retry="booking.retry_when", parse=read_when),
        Step("name", ask="booking.ask_name", retry="booking.retry_name", parse=read_name, needed=first_booking),
        Step("mobile", ask="booking.ask_mobile", retry="booking.retry_mobile", parse=read_mobile, needed=first_booking),
    )
    kept_on_restart = frozenset({"campaign"})
    stays_for = frozenset({"book"})
    edits: ClassVar[dict[str, str]] = {
        "改时间": "when",
        "换时间": "when",
        "改车牌": "plate",
        "换车": "plate",
        "改项目": "service",
        "改服务": "service",
        "改手机": "mobile",
        "改姓名": "name",
        "改名字": "name",
    }

    async def prepare(self, turn: DialogTurn) -> None:
        turn.data["menu"] = [kind.code for kind in await schedule.bookable_services()]
        customer = await customers.by_openid(turn.openid)
        if customer is None:
            return
        turn.data["returning"] = True
        plates = [v.plate for v in await customers.vehicles_of(customer)]
        if len(plates) == 1:
            turn.data["plate"] = plates[0]
        elif plates:
            turn.data["vehicles"] = plates

    def ask_params(self, turn: DialogTurn, step: Step) -> dict[str, Any]:
        if step.slot == "service":
            return {"menu": numbered([s.name for s in menu_of(turn)])}
        if step.slot == "plate" and turn.data.get("vehicles"):
            return {"menu": numbered(turn.data["vehicles"])}
        return {}

    async def advance(self, turn: DialogTurn) -> None:
        step = self.pending(turn)
        if step is not None and step.slot == "plate" and turn.data.get("vehicles"):
            turn.session.step = "plate"
            turn.say(self.vehicle_ask, menu=numbered(turn.data["vehicles"]))
            return
        if step is not None and step.slot == "when" and turn.data.get("day") and not turn.data.get("choices"):
            service = turn.data.get("service") or "maintenance"
            day = date.fromisoformat(turn.data["day"])
            await offer_day(turn, service, day, turn.data.get("part"), source=self.source)
            return
        await super().advance(turn)

    def miss(self, turn: DialogTurn, step: Step | None) -> None:
        if step is not None and step.slot == "plate" and turn.data.get("vehicles"):
            turn.session.misses += 1
            turn.say(self.vehicle_retry, menu=numbered(turn.data["vehicles"]))
            return
        super().miss(turn, step)

    async def accept(self, turn: DialogTurn, slot: str, value: Any) -> bool:
        if slot == "plate" and value == NO_PLATE:
            # Every appointment is for a car on record: say so and who can help, the question stands.
            turn.say(self.no_plate, phone=turn.settings.store_phone)
            return False
        if slot != "when":
            turn.data[slot] = value
            return True
        pending = self.pending(turn)
        if isinstance(value, dict) and pending is not None and pending.slot in ("plate", "service"):
            # A day before we know the service: keep it, and offer its times once we get to the time step.
            turn.data["day"], turn.data["part"] = value["day"], value.get("part")
            return True
        return await take_time(turn, turn.data.get("service") or "maintenance", value, source=self.source)

    def summary(self, turn: DialogTurn) -> str:
        d = turn.data
        person = ""
        if first_booking(turn):
            person = replies.render("booking.confirm_person", name=d["name"], mobile=mask_mobile(d["mobile"]))
        return replies.render(
            "booking.confirm",
            plate=d["plate"],
            service=SERVICES_BY_CODE[d["service"]].name,
            when=when_text(turn, datetime.fromisoformat(d["when"])),
            person=person,
        )

    async def finish(self, turn: DialogTurn) -> None:
        d = turn.data
        try:
            # A first booking goes straight to `identify`, which finds any record linked since `prepare`.
            customer = None if first_booking(turn) else await customers.by_openid(turn.openid)
            created = False
            if customer is None:
                customer, vehicle, created = await customers.identify(
                    turn.openid, name=d["name"], mobile=d["mobile"], plate=d["plate"], now=turn.now
                )
            else:
                vehicle = await customers.add_vehicle(customer, d["plate"], turn.now)
            appointment = await booking.create(
                customer,
                vehicle,
                d["service"],
                datetime.fromisoformat(d["when"]),
                turn.now,
                source="self",
                campaign=d.get("campaign"),
                new_customer=created,
            )
        except customers.PlateTaken:
            plate = d.pop("plate")
            turn.session.step = "plate"
            turn.say("booking.plate_taken", plate=plate, phone=turn.settings.store_phone)
            return
        except booking.SlotUnavailable as exc:
            d.pop("when", None)
            refuse_time(turn, exc.check)
            return
        except booking.Overlap as exc:
            self.end(turn)
            say_overlap(turn, exc.existing)
            return
        self.end(turn)
        turn.say(
            "booking.done",
            reference=appointment.reference,
            when=when_text(turn, appointment.start_at),
            service=SERVICES_BY_CODE[appointment.service].name,
            plate=vehicle.plate,
            address=turn.settings.store_address,
            phone=turn.settings.store_phone,
        )


def say_overlap(turn: DialogTurn, existing: Appointment) -> None:
    """The customer already has an appointment at that time: name it and how to move it."""
    turn.say("booking.overlap", when=when_text(turn, existing.start_at), reference=existing.reference)


async def take_time(turn: DialogTurn, service: str, value: Any, *, source: Source = BookingSource.SELF) -> bool:
    """Take a time the customer gave for `service` if it can be booked; otherwise offer open times."""
    if isinstance(value, dict):
        return await offer_day(turn, service, date.fromisoformat(value["day"]), value.get("part"), source=source)
    start = datetime.fromisoformat(value)
    check = await schedule.check(service, start, turn.now, source=source)
    if check.ok:
        turn.data["when"] = start.isoformat()
        turn.data.pop("choices", None)
        turn.data.pop("day", None)
        return True
    refuse_time(turn, check)
    return False


async def offer_day(
    turn: DialogTurn,
    service: str,
    day: date,
    part: schedule.DayPart | None,
    *,
    source: Source = BookingSource.SELF,
) -> bool:
    """A day without a time: show that day's (or day part's) open times, or the nearest ones if it is full."""
    starts = await schedule.open_slots(service, day, turn.now, part=part, source=source)
    turn.session.step = "when"
    if starts:
        shown = _spread(starts, MAX_CHOICES)
        turn.data["day"] = day.isoformat()
        turn.data["choices"] = [dt.isoformat() for dt in shown]
        turn.say("booking.ask_time_of_day", day=booking.format_day(day), menu=time_choices(turn, shown, with_day=False))
        return False
    check = await schedule.day_check(service, day, turn.now, part=part, source=source)
    if check.reason != "full":
        refuse_time(turn, check)  # closed, past, too far ...: said as for a single time
        return False
    turn.data["choices"] = [dt.isoformat() for dt in check.alternatives]
    turn.data.pop("day", None)
    if check.alternatives:
        turn.say("booking.day_full", day=booking.format_day(day), menu=time_choices(turn, check.alternatives))
    else:
        turn.say("booking.no_slots", reason="", phone=turn.settings.store_phone)
    return False


def refuse_time(turn: DialogTurn, check: schedule.SlotCheck) -> None:
    """Say why the time cannot be booked and offer the nearest open times as numbered choices."""
    params: dict[str, Any] = {
        "lead": schedule.lead_text(check.lead_minutes),
        "days": check.horizon_days,
        "day": booking.format_day(check.requested.astimezone(turn.settings.tz).date()),
        "hours": check.hours_text or turn.settings.store_hours,
    }
    reason = replies.render(f"booking.{check.reason}", **params)
    turn.data["choices"] = [dt.isoformat() for dt in check.alternatives]
    turn.data.pop("day", None)
    turn.session.step = "when"
    if check.alternatives:
        picks = "、".join(str(i) for i in range(1, len(check.alternatives) + 1))
        turn.say("booking.slot_refused", reason=reason, menu=time_choices(turn, check.alternatives), picks=picks)
    else:
        turn.say("booking.no_slots", reason=reason, phone=turn.settings.store_phone)


def _spread(starts: list[datetime], limit: int) -> list[datetime]:
    """Up to `limit` starts spread over the day, so a long list still shows morning and afternoon."""
    if len(starts) <= limit:
        return starts
    step = len(starts) / limit
    return [starts[int(i * step)] for i in range(limit)]


class ClerkBookingDialog(BookingDialog):
    """代客预约: a clerk books for a customer chosen before the dialog starts (preset `customer_id`).

    The clerk's own session runs it. The customer's vehicles are the vehicle menu and a new plate is added
    to that customer; no name or mobile is asked; clerks' rules apply (the whole slot capacity, services
    not bookable online). The customer still gets the "appointment confirmed" template when on WeChat.
    """

    name = "book_for_customer"
    source = BookingSource.CLERK
    vehicle_ask = "visits.book_ask_vehicle"
    vehicle_retry = "visits.book_retry_vehicle"
    no_plate = "visits.book_no_plate"
    steps: ClassVar[tuple[Step, ...]] = (
        Step("plate", ask="visits.book_ask_plate", retry="booking.retry_plate", parse=read_plate),
        Step("service", ask="booking.ask_service", retry="booking.retry_service", parse=read_service),
        Step("when", ask="visits.book_ask_when", retry="booking.retry_when", parse=read_when),
    )
    kept_on_restart = frozenset({"customer_id"})
    edits: ClassVar[dict[str, str]] = {
        word: slot for word, slot in BookingDialog.edits.items() if slot in ("plate", "service", "when")
    }

    async def prepare(self, turn: DialogTurn) -> None:
        found = await visits.customer_for_booking(turn.data["customer_id"])
        if found is None:
            self.end(turn)
            turn.say("visits.book_gone")
            return
        customer, vehicles = found
        turn.data["menu"] = [kind.code for kind in await schedule.bookable_services(source=self.source)]
        turn.data["customer"] = customer.name or replies.render("visits.unnamed")
        turn.data["masked_mobile"] = (
            mask_mobile(customer.mobile) if customer.mobile else replies.render("visits.no_mobile")
        )
        plates = [v.plate for v in vehicles]
        if len(plates) == 1:
            turn.data["plate"] = plates[0]
        elif plates:
            turn.data["vehicles"] = plates
        turn.say("visits.book_start", customer=turn.data["customer"], mobile=turn.data["masked_mobile"])

    def summary(self, turn: DialogTurn) -> str:
        d = turn.data
        return replies.render(
            "visits.book_confirm",
            customer=d["customer"],
            mobile=d["masked_mobile"],
            plate=d["plate"],
            service=SERVICES_BY_CODE[d["service"]].name,
            when=when_text(turn, datetime.fromisoformat(d["when"])),
        )

    async def finish(self, turn: DialogTurn) -> None:
        d = turn.data
        # The command table let a clerk start this; one deactivated since then is a customer again and must
        # not book in the store's name from a dialog left open.
        if turn.speaker.staff_id is None:
            self.end(turn)
            turn.say("roles.staff_only")
            return
        try:
            appointment, customer, vehicle = await visits.book_for_customer(
                d["customer_id"],
                d["plate"],
                d["service"],
                datetime.fromisoformat(d["when"]),
                turn.now,
                clerk_id=turn.speaker.staff_id,
            )
        except LookupError:
            self.end(turn)
            turn.say("visits.book_gone")
            return
        except customers.PlateTaken:
            plate = d.pop("plate")
            turn.session.step = "plate"
            turn.say("visits.book_plate_taken", plate=plate)
            return
        except booking.SlotUnavailable as exc:
            d.pop("when", None)
            refuse_time(turn, exc.check)
            return
        except booking.Overlap as exc:
            self.end(turn)
            turn.say(
                "visits.book_overlap", when=when_text(turn, exc.existing.start_at), reference=exc.existing.reference
            )
            return
        self.end(turn)
        turn.say(
            "visits.book_done",
            reference=appointment.reference,
            customer=d["customer"],
            when=when_text(turn, appointment.start_at),
            service=SERVICES_BY_CODE[appointment.service].name,
            plate=vehicle.plate,
            notice=replies.render("visits.book_notified" if customer.openid else "visits.book_not_notified"),
        )
