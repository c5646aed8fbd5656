"""Visits at the store: staff day lists, 代客预约, check-in, completion, and no-shows (by hand and swept)."""

# Each state change locks the appointment row, decides, and only then writes, all in the caller's
# transaction (the turn's, for a chat command): a refusal is raised before anything is written, so a
# handler that answers it leaves nothing half done. The no-show sweep flips a row with a conditional
# UPDATE ... WHERE status = 'booked', and the call-back task carries the dedupe key "noshow:<id>", so two
# workers sweeping at once, or a sweep racing a clerk's 到店, mark and task each appointment once.
#
# Policy decided here:
# - 到店 works for today's and earlier appointments (a customer may come early in the day, never a day
#   early); a no-show of today checked in late becomes checked in and its call-back task is revoked,
#   a no-show of an earlier day stays one.
# - 完成 of a booked (or today's no-show) appointment of today checks it in implicitly.
# - A customer without an active owner clerk: the call-back task goes to the first active manager; with no
#   manager either, nobody gets one (the appointment is still marked).

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final, Literal
from zoneinfo import ZoneInfo

from bot import replies
from bot.models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Customer,
    MileageReading,
    Staff,
    StaffRole,
    Task,
    TaskKind,
    TaskStatus,
    Vehicle,
)
from bot.services import booking, customers, schedule, tasks
from bot.services.outbox import atomic

log = logging.getLogger(__name__)

# Why a visit change is refused: the appointment's state, or a rule of the change.
Refusal = Literal[
    "cancelled",  # it was cancelled
    "checked_in",  # already checked in
    "completed",  # already completed
    "no_show",  # marked no-show (on an earlier day, or already marked)
    "future",  # it is on a later day
    "not_checked_in",  # 完成 of a booked appointment of an earlier day that nobody checked in
    "not_started",  # 未到 before its start
    "mileage_lower",  # the reading is below the vehicle's last one
]

# The call-back task is due by the end of the working day, or in 4 hours when the evening is too near.
CALL_BACK_BY: Final = time(18, 0)
CALL_BACK_MIN_NOTICE: Final = timedelta(hours=1)
CALL_BACK_LATE: Final = timedelta(hours=4)
SWEEP_BATCH: Final = 100
MILEAGE_SOURCE: Final = "visit"


class VisitRefused(Exception):
    """The change does not apply to this appointment now; `reason` says why (see `Refusal`)."""

    def __init__(self, reason: Refusal, appointment: Appointment, *, last_mileage: int | None = None) -> None:
        super().__init__(f"{appointment.reference}: {reason}")
        self.reason: Refusal = reason
        self.appointment = appointment
        self.last_mileage = last_mileage


@dataclass(frozen=True, slots=True)
class DayList:
    """A day's appointments in time order, cancelled ones only counted; customer, owner and vehicle loaded."""

    day: date
    appointments: list[Appointment]
    cancelled: int


@dataclass(frozen=True, slots=True)
class NoShow:
    """A no-show just marked, and who got the task to call the customer (None: nobody could)."""

    appointment: Appointment
    assignee: Staff | None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


async def day_list(day: date, tz: tzinfo) -> DayList:
    """Every appointment starting on `day` (local to `tz`), the whole store's, earliest first."""
    start = datetime.combine(day, time(), tzinfo=tz)
    rows = (
        await Appointment.filter(start_at__gte=_utc(start), start_at__lt=_utc(start + timedelta(days=1)))
        .order_by("start_at", "id")
        .select_related("customer", "customer__owner", "vehicle")
    )
    shown = [a for a in rows if a.status != AppointmentStatus.CANCELLED]
    return DayList(day, shown, len(rows) - len(shown))


async def by_reference(text: str) -> Appointment | None:
    """The appointment with this reference ("A1024", "a 1024", or just "1024"), any customer's."""
    code = "".join(text.split()).upper()
    if code.isdigit():
        code = booking.REFERENCE_LETTER + code
    return await Appointment.get_or_none(reference=code).select_related("customer", "vehicle")


async def customer_for_booking(customer_id: int) -> tuple[Customer, list[Vehicle]] | None:
    """The customer a clerk books for (代客预约) and their vehicles, first registered first; None if unknown."""
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        return None
    return customer, await customers.vehicles_of(customer)


async def book_for_customer(
    customer_id: int, plate: str, service_code: str, start: datetime, now: datetime, *, clerk_id: int
) -> tuple[Appointment, Customer, Vehicle]:
    """Book for a customer on a clerk's behalf (source clerk: the whole slot capacity, every active service).

    A plate the customer has no record of is added to them. The customer gets the usual "appointment
    confirmed" template when they are on WeChat. Raises LookupError for an unknown customer, and what
    `customers.add_vehicle` and `booking.create` raise (PlateTaken, SlotUnavailable, Overlap).
    """
    async with atomic():
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise LookupError(f"no customer {customer_id}")
        vehicle = await customers.add_vehicle(customer, plate, now)
        appointment = await booking.create(
            customer, vehicle, service_code, start, now, source=BookingSource.CLERK, booked_by_id=clerk_id
        )
    return appointment, customer, vehicle


async def _locked(appointment_id: int) -> Appointment:
    """The appointment read again under a row lock (PostgreSQL; SQLite has one writer), so the decision
    below is made on its current state and holds until the caller commits."""
    return await Appointment.select_for_update().get(id=appointment_id)


def _refuse_state(appointment: Appointment) -> None:
    if appointment.status == AppointmentStatus.CANCELLED:
        raise VisitRefused("cancelled", appointment)
    if appointment.status == AppointmentStatus.COMPLETED:
        raise VisitRefused("completed", appointment)


async def check_in(appointment_id: int, now: datetime, tz: tzinfo) -> Appointment:
    """到店: a booked appointment of today (or an earlier day) is checked in at `now`.

    A no-show of today checked in late is checked in too, and its open call-back task revoked. Raises
    `VisitRefused`: cancelled, completed, checked_in (already), no_show (of an earlier day), future.
    """
    async with atomic():
        appointment = await _locked(appointment_id)
        _refuse_state(appointment)
        if appointment.status == AppointmentStatus.CHECKED_IN:
            raise VisitRefused("checked_in", appointment)
        day, today = _local_day(appointment.start_at, tz), _local_day(now, tz)
        if day > today:
            raise VisitRefused("future", appointment)
        if appointment.status == AppointmentStatus.NO_SHOW and day < today:
            raise VisitRefused("no_show", appointment)
        await _check_in(appointment, now)
    return appointment


async def _check_in(appointment: Appointment, now: datetime) -> None:
    if appointment.status == AppointmentStatus.NO_SHOW:
        await _revoke_call_back(appointment.id, now)
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.checked_in_at = now
    appointment.updated_at = now
    await Appointment.filter(id=appointment.id).update(
        status=AppointmentStatus.CHECKED_IN, checked_in_at=_utc(now), updated_at=_utc(now)
    )


async def _revoke_call_back(appointment_id: int, now: datetime) -> None:
    """The customer turned up after all: nobody needs to call them about the missed visit."""
    await Task.filter(dedupe_key=_call_back_key(appointment_id), status=TaskStatus.OPEN).update(
        status=TaskStatus.REVOKED, revoked_at=_utc(now)
    )


async def complete(
    appointment_id: int, now: datetime, tz: tzinfo, *, mileage: int | None = None, note: str = ""
) -> tuple[Appointment, Vehicle]:
    """完成: the visit is done; the vehicle records the service, and the odometer reading when given.

    A booked appointment of today (or today's no-show) is checked in implicitly. The reading is kept on the
    vehicle (mileage, mileage_at) and as a `MileageReading` (source "visit"). Raises `VisitRefused`:
    cancelled, completed, future, not_checked_in (booked on an earlier day), no_show (of an earlier day),
    mileage_lower (below the vehicle's last reading, given as `last_mileage`).
    """
    async with atomic():
        appointment = await _locked(appointment_id)
        _refuse_state(appointment)
        day, today = _local_day(appointment.start_at, tz), _local_day(now, tz)
        if appointment.status != AppointmentStatus.CHECKED_IN:
            if day > today:
                raise VisitRefused("future", appointment)
            if day < today:
                reason: Refusal = "no_show" if appointment.status == AppointmentStatus.NO_SHOW else "not_checked_in"
                raise VisitRefused(reason, appointment)
        vehicle = await Vehicle.select_for_update().get(id=appointment.vehicle_id)
        if mileage is not None and vehicle.mileage is not None and mileage < vehicle.mileage:
            raise VisitRefused("mileage_lower", appointment, last_mileage=vehicle.mileage)
        if appointment.status != AppointmentStatus.CHECKED_IN:
            await _check_in(appointment, now)
        stamp = _utc(now)
        note = " ".join(note.split())[:200]
        await Appointment.filter(id=appointment.id).update(
            status=AppointmentStatus.COMPLETED, completed_at=stamp, mileage=mileage, note=note, updated_at=stamp
        )
        appointment.status, appointment.completed_at, appointment.mileage, appointment.note = (
            AppointmentStatus.COMPLETED,
            now,
            mileage,
            note,
        )
        vehicle.last_service_at, vehicle.last_service = now, appointment.service
        changes: dict[str, object] = {"last_service_at": stamp, "last_service": appointment.service}
        if mileage is not None:
            vehicle.mileage, vehicle.mileage_at = mileage, now
            changes |= {"mileage": mileage, "mileage_at": stamp}
            await MileageReading.create(vehicle_id=vehicle.id, km=mileage, at=stamp, source=MILEAGE_SOURCE)
        await Vehicle.filter(id=vehicle.id).update(**changes)
    return appointment, vehicle


async def no_show(appointment_id: int, now: datetime, tz: ZoneInfo) -> NoShow:
    """未到: a booked appointment whose start has passed is marked no-show; its owner gets a call-back task.

    Raises `VisitRefused`: not_started (its start is still ahead), cancelled, completed, checked_in,
    no_show (already marked).
    """
    async with atomic():
        appointment = await _locked(appointment_id)
        _refuse_state(appointment)
        if appointment.status == AppointmentStatus.CHECKED_IN:
            raise VisitRefused("checked_in", appointment)
        if appointment.status == AppointmentStatus.NO_SHOW:
            raise VisitRefused("no_show", appointment)
        if now < appointment.start_at:
            raise VisitRefused("not_started", appointment)
        await _mark(appointment.id, now)
        appointment.status, appointment.no_show_at = AppointmentStatus.NO_SHOW, now
        assignee = await _call_back_task(appointment, now, tz)
    return NoShow(appointment, assignee)


async def mark_no_shows(now: datetime, tz: ZoneInfo, grace: timedelta) -> int:
    """Mark every appointment still booked `grace` after its start as a no-show; return how many.

    Each one, with its owner's call-back task and that task's template, commits on its own. Safe to run
    again and in several workers at once: a row is marked by one conditional UPDATE only while still
    booked, and the task's dedupe key keeps it single.
    """
    marked = 0
    cutoff = _utc(now - grace)
    while True:
        # A marked row leaves the query, so batches go on until one comes back short.
        batch = (
            await Appointment.filter(status=AppointmentStatus.BOOKED, start_at__lte=cutoff)
            .order_by("start_at", "id")
            .limit(SWEEP_BATCH)
        )
        for appointment in batch:
            async with atomic():
                if not await _mark(appointment.id, now):
                    continue  # checked in, cancelled or marked by someone else meanwhile
                appointment.status, appointment.no_show_at = AppointmentStatus.NO_SHOW, now
                await _call_back_task(appointment, now, tz)
                marked += 1
        if len(batch) < SWEEP_BATCH:
            return marked


async def _mark(appointment_id: int, now: datetime) -> bool:
    stamp = _utc(now)
    done = await Appointment.filter(id=appointment_id, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.NO_SHOW, no_show_at=stamp, updated_at=stamp
    )
    return bool(done)


def _call_back_key(appointment_id: int) -> str:
    return f"noshow:{appointment_id}"


def call_back_due(now: datetime, tz: tzinfo) -> datetime:
    """When a no-show's call-back is due: today 18:00, or 4 hours on when 18:00 is less than an hour away."""
    local = now.astimezone(tz)
    evening = datetime.combine(local.date(), CALL_BACK_BY, tzinfo=tz)
    return evening if local <= evening - CALL_BACK_MIN_NOTICE else now + CALL_BACK_LATE


async def _call_back_task(appointment: Appointment, now: datetime, tz: ZoneInfo) -> Staff | None:
    """Give the customer's owner clerk (else the first active manager) a task to call them back."""
    customer = await Customer.get(id=appointment.customer_id)
    assignee = None
    if customer.owner_id is not None:
        assignee = await Staff.get_or_none(id=customer.owner_id, active=True)
    if assignee is None:
        assignee = await Staff.filter(role=StaffRole.MANAGER, active=True).order_by("id").first()
    if assignee is None:
        log.warning("no-show %s: no active owner or manager to call the customer", appointment.reference)
        return None
    title = replies.render(
        "visits.no_show_task",
        customer=customer.name or replies.render("visits.unnamed"),
        reference=appointment.reference,
        when=booking.format_when(appointment.start_at, tz),
        service=await schedule.service_name(appointment.service),
    )
    await tasks.create(
        title,
        assignee,
        now,
        tz=tz,
        due_at=call_back_due(now, tz),
        customer=customer,
        appointment_id=appointment.id,
        kind=TaskKind.NO_SHOW,
        dedupe_key=_call_back_key(appointment.id),
    )
    return assignee
