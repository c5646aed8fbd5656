"""Appointments: booking, listing, cancelling and moving them, never past a slot's capacity."""

# Each change is one transaction: the capacity (see bot.services.schedule), the appointment row and the
# outbox rows telling the customer and their owner clerk commit together or not at all; called inside the
# dialog's own transaction, ours becomes a savepoint of it. Rows are locked in one order everywhere
# (customer, then appointment, then slots by time), so concurrent changes wait for each other and never
# deadlock.

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final

from tortoise.connection import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, BookingSource, Customer, Vehicle
from bot.services import notify, outbox, schedule
from bot.services.schedule import SlotCheck, Source

log = logging.getLogger(__name__)

REFERENCE_LETTER: Final = "A"
# What a customer types as a reference (case and length as `for_customer_by_reference` accepts them).
REFERENCE_RE: Final = re.compile(r"^[A-Za-z]\d{3,}$")
# References are drawn at random with the letter and `_digits` digits (A1024). Each stays unique for good,
# so a length gets crowded over a store's life: once two draws in a row hit taken references, every later
# booking draws one digit more (A10245). A process starts at the length of the newest reference.
FIRST_DIGITS: Final = 4
MAX_DIGITS: Final = 9
MISSES_BEFORE_LONGER: Final = 2
_digits: int | None = None
# A reservation lost to a concurrent booking is re-checked; the check then reports the slot full.
RESERVE_ATTEMPTS: Final = 3
WEEKDAYS: Final = "一二三四五六日"


class BookingError(Exception):
    """A booking change the rules refuse; the dialog explains it to the customer."""


class SlotUnavailable(BookingError):
    """The time cannot be booked: `check.reason` says why, `check.alternatives` what to offer instead."""

    def __init__(self, check: SlotCheck) -> None:
        super().__init__(f"{check.requested.isoformat()} unavailable: {check.reason}")
        self.check = check


class Overlap(BookingError):
    """The customer already holds an active appointment overlapping the requested time."""

    def __init__(self, existing: Appointment) -> None:
        super().__init__(f"overlaps appointment {existing.reference}")
        self.existing = existing


class TooLate(BookingError):
    """A customer's change too close to the start; `deadline` was the last moment it was allowed."""

    def __init__(self, appointment: Appointment, deadline: datetime) -> None:
        super().__init__(f"appointment {appointment.reference} can no longer be changed")
        self.appointment = appointment
        self.deadline = deadline


class NotChangeable(BookingError):
    """The appointment is no longer booked (cancelled, checked in, completed, no-show, or just moved)."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(f"appointment {appointment.reference} is {appointment.status}")
        self.appointment = appointment


class _Lost(Exception):
    """A concurrent booking took the last place between the check and the reservation."""


async def create(
    customer: Customer,
    vehicle: Vehicle,
    service_code: str,
    start: datetime,
    now: datetime,
    *,
    source: Source = BookingSource.SELF,
    campaign: str | None = None,
    booked_by_id: int | None = None,
    new_customer: bool = False,
) -> Appointment:
    """Book `service_code` for the customer's vehicle at `start` (aware) and queue the notifications.

    `booked_by_id` is the clerk who booked on the customer's behalf (代客预约), None for the customer.
    `new_customer` says the record was created in the caller's transaction (`customers.identify`): nobody
    else can book for it and it holds no appointment, so neither the lock nor the overlap check is needed.

    Raises `SlotUnavailable` (any rule of `schedule.check`, including a slot filled by a concurrent
    booking), `Overlap` (the customer's active appointment overlaps), ValueError when the vehicle is not
    the customer's. Customers (source "self") get the online share of each slot, clerks all of it.
    """
    if vehicle.customer_id != customer.id:
        raise ValueError("the vehicle belongs to another customer")
    source = BookingSource(source)
    stamp = _utc(now)
    # The calendar rules only: the slots' load is not read first, since the reservation below is
    # conditional anyway. Only a refused reservation costs the full check, for its alternatives.
    check = await schedule.check(service_code, start, now, source=source, read_load=False)
    if not check.ok:
        raise SlotUnavailable(check)
    assert check.end is not None
    # No savepoint inside the caller's transaction: Overlap is raised before anything is written and a
    # refused reservation undoes its own slots; on its own, create is one transaction.
    async with outbox.atomic():
        if not new_customer:
            await _lock_id(customer.id)
            existing = await _overlapping(customer.id, check.requested, check.end)
            if existing is not None:
                raise Overlap(existing)
        values: dict[str, Any] = {
            "customer_id": customer.id,
            "vehicle_id": vehicle.id,
            "service": service_code,
            "start_at": _utc(check.requested),
            "end_at": _utc(check.end),
            "source": source,
            "booked_by_id": booked_by_id,
            "campaign": campaign[:64] if campaign else None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        appointment = await _reserve_and_insert(
            dict.fromkeys(check.slots, 1), check.capacity, values, customer, vehicle, now
        )
        if appointment is not None:
            return appointment
    raise SlotUnavailable(await _full(service_code, start, now, source))


async def _reserve_and_insert(
    changes: dict[datetime, int],
    limit: int,
    values: dict[str, Any],
    customer: Customer,
    vehicle: Vehicle,
    now: datetime,
) -> Appointment | None:
    """Reserve the slots, create the appointment and queue its notifications; None, with every count as it
    was and nothing written, when a slot has no room. On PostgreSQL the three go as one statement (a
    data-modifying WITH: the appointment is written only when every slot was reserved, the outbox rows only
    when the appointment was, their dedupe keys made from its new id), two round trips fewer inside the
    confirmation's transaction."""
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres" or any(delta > limit for delta in changes.values()):
        if not await schedule.adjust_load(changes, limit):
            return None
        return await _insert_and_queue(values, customer, vehicle, now)
    reserve, params = schedule.reservation(changes, limit)
    digits = await _reference_digits()
    appointment = Appointment(reference=_reference(digits), **values)
    names, row = outbox.insert_columns(appointment)
    columns = ", ".join(f'"{Appointment._meta.fields_db_projection[name]}"' for name in names)
    marks = ", ".join(f"${n}" for n in range(len(params) + 1, len(params) + len(row) + 1))
    messages = await notify.booked_messages(appointment, customer=customer, vehicle=vehicle, id_mark=True)
    queue, queue_params = outbox.pg_insert_for_each(
        notify.rows_of(messages, now=now), "a", len(params) + len(row) + 1, notify.ID_MARK
    )
    sql = (
        f"WITH s AS ({reserve}), "
        f'a AS (INSERT INTO "appointment" ({columns}) SELECT {marks} WHERE (SELECT COUNT(*) FROM s) = {len(changes)} '
        'ON CONFLICT ("reference") DO NOTHING RETURNING "id"), '
        f"o AS ({queue}) "
        'SELECT ARRAY(SELECT "slot_start" FROM s) AS "reserved", (SELECT "id" FROM a) AS "id"'
    )
    (result,) = await conn.execute_query_dict(sql, params + row + queue_params)
    if len(result["reserved"]) < len(changes):
        await schedule.undo_reservation(result["reserved"], changes)
        return None
    if result["id"] is None:  # the reference was taken: the slots are ours, another reference
        return await _insert_and_queue(values, customer, vehicle, now, taken=(digits, 1))
    appointment.pk = result["id"]
    appointment._saved_in_db = True
    return appointment


async def _insert_and_queue(
    values: dict[str, Any], customer: Customer, vehicle: Vehicle, now: datetime, taken: tuple[int, int] | None = None
) -> Appointment:
    """The appointment (its slots already reserved) and its notifications, one statement each. `taken`: the
    caller already drew this many references of this length, all taken (`_insert`)."""
    appointment = await _insert(values, taken)
    await notify.appointment_booked(appointment, now, customer=customer, vehicle=vehicle)
    return appointment


async def upcoming(customer: Customer, now: datetime) -> list[Appointment]:
    """The customer's booked appointments starting from `now` on, soonest first."""
    return (
        await Appointment.filter(customer_id=customer.id, status=AppointmentStatus.BOOKED, start_at__gte=_utc(now))
        .order_by("start_at", "id")
        .prefetch_related("vehicle")
    )


async def for_customer_by_reference(customer: Customer, reference: str) -> Appointment | None:
    """The customer's appointment with this reference (any status; spaces and case ignored).

    None for an unknown reference and for another customer's: nobody learns that it exists.
    """
    code = "".join(reference.split()).upper()
    return await Appointment.get_or_none(customer_id=customer.id, reference=code)


async def cancel(appointment: Appointment, now: datetime, *, by_customer: bool = True) -> Appointment:
    """Cancel a booked appointment, release its capacity and tell the customer and the owner clerk.

    Cancelling a cancelled appointment returns it unchanged. Raises `TooLate` when a customer cancels
    within the store's cut-off (2 hours by default) of the start, `NotChangeable` for an appointment
    checked in, completed or marked no-show.
    """
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotChangeable(appointment)
    cal = await schedule.load_calendar()
    if by_customer:
        _refuse_late(appointment, now, cal.change_cutoff)
    async with in_transaction():
        # Conditional, so two cancels at once release the capacity once.
        done = await Appointment.filter(
            id=appointment.id, status=AppointmentStatus.BOOKED, start_at=_utc(appointment.start_at)
        ).update(status=AppointmentStatus.CANCELLED, cancelled_at=_utc(now), updated_at=_utc(now))
        if not done:
            current = await Appointment.get(id=appointment.id)
            if current.status == AppointmentStatus.CANCELLED:
                return current
            raise NotChangeable(current)
        slots = cal.covered(appointment.start_at, appointment.end_at)
        await schedule.adjust_load(dict.fromkeys(slots, -1), cal.capacity)
        await appointment.refresh_from_db()
        await notify.appointment_cancelled(appointment, now, by_customer=by_customer)
    return appointment


async def reschedule(
    appointment: Appointment, new_start: datetime, now: datetime, *, by_customer: bool = True
) -> Appointment:
    """Move a booked appointment to `new_start` under the rules of `create`, and tell both sides.

    The old slots are released and the new ones reserved in one transaction, so a move onto partly the
    same slots works even when they are full. Moving to the current time changes nothing. Raises
    `TooLate` within the cut-off before the current start (customers only), `SlotUnavailable` (never
    offering the current time), `Overlap` with another of the customer's appointments, `NotChangeable`
    when it is no longer booked.
    """
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotChangeable(appointment)
    cal = await schedule.load_calendar()
    if by_customer:
        _refuse_late(appointment, now, cal.change_cutoff)
    if new_start == appointment.start_at:
        return appointment
    source = BookingSource.SELF if by_customer else BookingSource.CLERK
    old_start = appointment.start_at
    held = cal.covered(old_start, appointment.end_at)
    for _ in range(RESERVE_ATTEMPTS):
        check = await schedule.check(
            appointment.service, new_start, now, source=source, held=held, exclude=(old_start,)
        )
        if not check.ok:
            raise SlotUnavailable(check)
        assert check.end is not None
        try:
            async with in_transaction():
                await _lock_id(appointment.customer_id)
                existing = await _overlapping(appointment.customer_id, check.requested, check.end, appointment.id)
                if existing is not None:
                    raise Overlap(existing)
                moved = await Appointment.filter(
                    id=appointment.id, status=AppointmentStatus.BOOKED, start_at=_utc(old_start)
                ).update(
                    start_at=_utc(check.requested),
                    end_at=_utc(check.end),
                    changes=F("changes") + 1,
                    updated_at=_utc(now),
                )
                if not moved:
                    raise NotChangeable(await Appointment.get(id=appointment.id))
                changes = dict.fromkeys(held, -1)
                for slot in check.slots:
                    changes[slot] = changes.get(slot, 0) + 1
                if not await schedule.adjust_load(changes, check.capacity):
                    raise _Lost
                await appointment.refresh_from_db()
                await notify.appointment_rescheduled(appointment, old_start, now)
            return appointment
        except _Lost:
            continue
    raise SlotUnavailable(await _full(appointment.service, new_start, now, source))


async def can_change(appointment: Appointment, now: datetime, *, by_customer: bool = True) -> bool:
    """Whether `cancel` / `reschedule` would accept a change now (booked, and before the customer cut-off)."""
    if appointment.status != AppointmentStatus.BOOKED:
        return False
    if not by_customer:
        return True
    cal = await schedule.load_calendar()
    return now <= appointment.start_at - cal.change_cutoff


def format_day(day: date) -> str:
    """A day as customers and staff read it: "11月29日（周日）"."""
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def format_when(moment: datetime, tz: tzinfo) -> str:
    """A start time as customers read it: "11月29日（周日）15:00"."""
    local = moment.astimezone(tz)
    return f"{format_day(local)}{local:%H:%M}"


def _utc(moment: datetime) -> datetime:
    """Times are written and compared in UTC: SQLite keeps an UPDATE's datetime as text with the offset
    it was given, and text only compares correctly when every row has the same offset."""
    return moment.astimezone(UTC)


def _refuse_late(appointment: Appointment, now: datetime, cutoff: timedelta) -> None:
    deadline = appointment.start_at - cutoff
    if now > deadline:
        raise TooLate(appointment, deadline)


async def _lock_id(customer_id: int) -> None:
    """Serialise one customer's bookings across processes on PostgreSQL (a row lock until commit).

    Nothing on SQLite: a transaction there already excludes every other writer, and SQLite has no
    row locks (the ORM's FOR UPDATE would be a plain, useless SELECT)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query('SELECT 1 FROM "customer" WHERE "id" = $1 FOR UPDATE', [customer_id])


async def _overlapping(
    customer_id: int, start: datetime, end: datetime, exclude_id: int | None = None
) -> Appointment | None:
    """The customer's earliest active appointment overlapping [start, end), or None.

    Raw SQL for the id (this runs in every booking's transaction; the ORM's query building cost more
    than the query itself); the row is loaded only in the rare case there is one."""
    conn = connections.get("default")
    p = outbox.placeholder()
    field = Appointment._meta.fields_map["start_at"]
    statuses = [status.value for status in ACTIVE_STATUSES]
    marks = ", ".join(f"{p}{n}" for n in range(4, 4 + len(statuses)))
    sql = (
        f'SELECT "id" FROM "appointment" WHERE "customer_id" = {p}1 AND "start_at" < {p}2 AND "end_at" > {p}3 '
        f'AND "status" IN ({marks})'
    )
    params: list[Any] = [
        customer_id,
        field.to_db_value(_utc(end), Appointment),
        field.to_db_value(_utc(start), Appointment),
        *statuses,
    ]
    if exclude_id is not None:
        params.append(exclude_id)
        sql += f' AND "id" <> {p}{len(params)}'
    rows = await conn.execute_query_dict(sql + ' ORDER BY "start_at" LIMIT 1', params)
    return await Appointment.get(id=rows[0]["id"]) if rows else None


async def _insert(values: dict[str, Any], taken: tuple[int, int] | None = None) -> Appointment:
    """Create the appointment under a fresh random reference (`_digits`); `taken` is (length, draws) of the
    caller's own draws that hit taken references."""
    digits, missed = taken or (await _reference_digits(), 0)
    while digits <= MAX_DIGITS:
        # ON CONFLICT DO NOTHING: a taken reference leaves the surrounding transaction usable.
        appointment = Appointment(reference=_reference(digits), **values)
        if await outbox.insert_unless_taken(appointment, "reference"):
            return appointment
        missed += 1
        if missed >= MISSES_BEFORE_LONGER:
            _crowded(digits)
            digits, missed = digits + 1, 0
    raise RuntimeError("no free appointment reference")


async def _reference_digits() -> int:
    """How many digits a new reference has (learnt from the database the first time it is asked)."""
    return _digits if _digits is not None else await learn_reference_length()


async def learn_reference_length() -> int:
    """Start at the length of the newest reference (the app does this at start, outside any message)."""
    global _digits
    newest = await Appointment.all().order_by("-id").first().values_list("reference", flat=True)
    number = str(newest or "").removeprefix(REFERENCE_LETTER)
    _digits = min(max(len(number) if number.isdigit() else 0, FIRST_DIGITS), MAX_DIGITS)
    return _digits


def _crowded(digits: int) -> None:
    """References of `digits` digits are crowded: draw longer ones from now on."""
    global _digits
    if _digits is not None and _digits <= digits < MAX_DIGITS:
        _digits = digits + 1
        log.info("appointment references now have %d digits: %d-digit ones are crowded", _digits, digits)


def forget_reference_length() -> None:
    """Learn the reference length from the database again (the test suite empties it between tests)."""
    global _digits
    _digits = None


def _reference(digits: int) -> str:
    """A random reference: the letter and `digits` digits, the first not 0 (A1024)."""
    return f"{REFERENCE_LETTER}{10 ** (digits - 1) + secrets.randbelow(9 * 10 ** (digits - 1))}"


async def _full(service_code: str, start: datetime, now: datetime, source: BookingSource) -> SlotCheck:
    """The refusal after losing every reservation race: the re-check, or "full" if it has since freed up."""
    check = await schedule.check(service_code, start, now, source=source)
    if check.ok:
        alternatives = await schedule.nearest_open(service_code, start, now, source=source)
        return dataclasses.replace(check, reason="full", alternatives=[a for a in alternatives if a != start])
    return check
