"""The reminder rules: who is reminded of what and when, as pure decisions plus the queries that feed them."""

# Every rule is idempotent: each message carries an outbox dedupe key and each task a Task.dedupe_key that
# name the thing, the rule and the moment (an appointment's start, a task's deadline, a maintenance period),
# so a rule run twice, by two workers or after a restart, queues each message once. Keys already queued
# are read first in one query, so a rule that runs every minute writes nothing when nothing is new.
#
# Decisions (documented here, where the rules live):
# - Quiet hours hold back messages to customers only (`not_before` = the end of quiet hours). Staff
#   reminders are not held: deadlines are set by the staff themselves, and a "due in 2 hours" held till
#   morning would arrive after the deadline.
# - Reminders go to customers with a linked openid who follow the account and have not turned reminders
#   off; staff reminders go to active, bound staff who follow the account.
# - A customer marked lost (流失) gets no more maintenance reminders; their next booking or visit clears
#   the mark (this pass clears it as soon as it sees the activity).
# - The evening-before reminder is skipped for appointments booked after that evening's 18:00 (their
#   confirmation has just arrived), the 2-hour one for appointments booked less than 2 hours ahead.

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from tortoise.connection import connections
from tortoise.transactions import in_transaction

from bot.models import (
    Appointment,
    AppointmentStatus,
    Customer,
    FollowUp,
    OutboxMessage,
    Staff,
    StaffRole,
    Task,
    TaskKind,
    TaskStatus,
)
from bot.services import crm, followers, notify, schedule, tasks
from bot.services.outbox import placeholder

log = logging.getLogger(__name__)

EVENING_AT: Final = time(18, 0)
SOON: Final = timedelta(hours=2)
OVERDUE_AT: Final = time(9, 0)
OVERDUE_DAYS: Final = 3
MANAGER_OVERDUE: Final = timedelta(days=1)
MAINTENANCE_REPEAT_DAYS: Final = 30
LOST_AFTER_DAYS: Final = 365
MAINTENANCE_TASK_DUE: Final = time(18, 0)
BATCH: Final = 5000


@dataclass(frozen=True, slots=True)
class Context:
    """One scheduler pass: the moment (aware UTC), the store's zone and its quiet hours."""

    now: datetime
    tz: ZoneInfo
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    @property
    def local(self) -> datetime:
        return self.now.astimezone(self.tz)

    @property
    def today(self) -> date:
        return self.local.date()

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def hold(self) -> datetime | None:
        """When a customer message queued now may go out: None (at once) or the end of quiet hours."""
        return quiet_until(self.now, self.tz, self.quiet_start, self.quiet_end)


# --- pure decisions ------------------------------------------------------------------------------------


def quiet_until(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours `now` falls in (aware UTC), or None outside them. A span may wrap
    midnight (21:00-08:00); equal ends mean no quiet hours."""
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC) if inside else None


def evening_before(start_at: datetime, tz: ZoneInfo) -> datetime:
    """When the evening-before reminder of an appointment is due: 18:00 the day before, local."""
    day = start_at.astimezone(tz).date() - timedelta(days=1)
    return datetime.combine(day, EVENING_AT, tzinfo=tz).astimezone(UTC)


def wants_soon_reminder(start_at: datetime, created_at: datetime) -> bool:
    """The 2-hour reminder only for appointments booked at least 2 hours ahead."""
    return created_at <= start_at - SOON


def overdue_morning(due_at: datetime, now: datetime, tz: ZoneInfo) -> int | None:
    """Which overdue morning (1..3) today is for a task due at `due_at`, or None: the first is the first
    09:00 after the deadline, and there are at most three, on consecutive days."""
    if due_at >= now:
        return None
    due_local = due_at.astimezone(tz)
    first = due_local.date() if due_local.time().replace(tzinfo=None) < OVERDUE_AT else due_local.date() + timedelta(1)
    morning = (now.astimezone(tz).date() - first).days + 1
    return morning if 1 <= morning <= OVERDUE_DAYS else None


def maintenance_period(due: date, today: date) -> int | None:
    """The 30-day reminder period of a car due on `due` (0 from the due day), or None before it."""
    return (today - due).days // MAINTENANCE_REPEAT_DAYS if due <= today else None


def is_lost(last_visit: date | None, last_booking: date | None, today: date) -> bool:
    """Lost (流失): visited once, and neither visited nor booked within 12 months of the last visit."""
    if last_visit is None:
        return False
    latest = max(last_visit, last_booking) if last_booking else last_visit
    return (today - latest).days > LOST_AFTER_DAYS


def _day_text(day: date) -> str:
    return f"{day.month}月{day.day}日"


# --- shared plumbing ------------------------------------------------------------------------------------


async def _new_keys(keys: Iterable[str]) -> set[str]:
    """Of `keys`, those no outbox row carries yet (read in one query, so repeated passes write nothing)."""
    wanted = set(keys)
    if not wanted:
        return set()
    taken = await OutboxMessage.filter(dedupe_key__in=list(wanted)).values_list("dedupe_key", flat=True)
    return wanted - set(taken)


async def _staff_reachable(members: Iterable[Staff]) -> dict[int, Staff]:
    """Active, bound staff who follow the account, by id."""
    bound = [m for m in members if m.active and m.openid]
    stop = await followers.blocked((m.openid for m in bound if m.openid), reminders=False)
    return {m.id: m for m in bound if m.openid not in stop}


async def _managers() -> dict[int, Staff]:
    return await _staff_reachable(await Staff.filter(role=StaffRole.MANAGER, active=True).order_by("id"))


# --- appointments -----------------------------------------------------------------------------------------


async def _remind_appointments(ctx: Context, found: Sequence[Appointment], rule: str) -> int:
    keyed = {f"appt:{a.id}:remind:{rule}:{int(a.start_at.timestamp())}": a for a in found if a.customer.openid}
    fresh = await _new_keys(keyed)
    stop = await followers.blocked(a.customer.openid for a in keyed.values() if a.customer.openid)
    sent = 0
    for key, appt in keyed.items():
        openid = appt.customer.openid
        if key not in fresh or openid is None or openid in stop:
            continue
        values = {
            "reference": appt.reference,
            "service": await schedule.service_name(appt.service),
            "time": notify.template_time(appt.start_at, ctx.tz),
            "plate": appt.vehicle.plate,
        }
        await notify.send("appointment_reminder", openid, values, now=ctx.now, dedupe_key=key, not_before=ctx.hold())
        sent += 1
    return sent


async def appointments_evening(ctx: Context) -> int:
    """The evening-before reminder: every booked appointment tomorrow (local) booked before tonight's 18:00."""
    tomorrow = ctx.today + timedelta(days=1)
    evening = datetime.combine(ctx.today, EVENING_AT, tzinfo=ctx.tz).astimezone(UTC)
    found = await Appointment.filter(
        status=AppointmentStatus.BOOKED,
        start_at__gte=ctx.midnight(tomorrow),
        start_at__lt=ctx.midnight(tomorrow + timedelta(days=1)),
        created_at__lt=evening,
    ).select_related("customer", "vehicle")
    return await _remind_appointments(ctx, found, "evening")


async def appointments_soon(ctx: Context) -> int:
    """The 2-hour reminder: booked appointments starting within 2 hours that were booked 2 hours ahead."""
    found = await Appointment.filter(
        status=AppointmentStatus.BOOKED, start_at__gt=ctx.now, start_at__lte=ctx.now + SOON
    ).select_related("customer", "vehicle")
    return await _remind_appointments(ctx, [a for a in found if wants_soon_reminder(a.start_at, a.created_at)], "2h")


# --- tasks ------------------------------------------------------------------------------------------------


async def _task_message(ctx: Context, task: Task, member: Staff, state: str, key: str, title: str = "") -> None:
    values = {
        "task": title or task.title,
        "due": notify.template_time(task.due_at, ctx.tz) if task.due_at else "-",
        "state": state,
        "customer": task.customer.name if task.customer and task.customer.name else "-",
    }
    assert member.openid is not None
    await notify.send("task_due", member.openid, values, now=ctx.now, dedupe_key=key)


async def _remind_assignees(ctx: Context, found: Sequence[Task], keyed: dict[str, Task], state: str) -> int:
    fresh = await _new_keys(keyed)
    reachable = await _staff_reachable(t.assignee for t in found)
    sent = 0
    for key, task in keyed.items():
        member = reachable.get(task.assignee_id)
        if key in fresh and member is not None:
            await _task_message(ctx, task, member, state, key)
            sent += 1
    return sent


async def tasks_due_soon(ctx: Context) -> int:
    """Tell the assignee once when an open task is due within 2 hours (tasks set less than 2 hours before
    their deadline are skipped: the assignment message has just told them)."""
    found = [
        t
        for t in await Task.filter(
            status=TaskStatus.OPEN, due_at__gt=ctx.now, due_at__lte=ctx.now + SOON
        ).select_related("assignee", "customer")
        if t.due_at is not None and t.created_at <= t.due_at - SOON
    ]
    keyed = {f"task:{t.id}:soon:{int(t.due_at.timestamp())}": t for t in found if t.due_at is not None}
    return await _remind_assignees(ctx, found, keyed, "即将到期")


async def tasks_overdue(ctx: Context) -> int:
    """The morning (09:00) reminder of overdue open tasks to their assignee, on at most 3 mornings running."""
    found = [
        t
        for t in await Task.filter(
            status=TaskStatus.OPEN, due_at__lt=ctx.now, due_at__gte=ctx.now - timedelta(days=OVERDUE_DAYS + 1)
        ).select_related("assignee", "customer")
        if t.due_at is not None and overdue_morning(t.due_at, ctx.now, ctx.tz) is not None
    ]
    keyed = {f"task:{t.id}:overdue:{ctx.today.isoformat()}": t for t in found}
    return await _remind_assignees(ctx, found, keyed, "已逾期")


async def tasks_day_overdue(ctx: Context) -> int:
    """Tell every manager once when an open task is a day past its deadline."""
    found = await Task.filter(
        status=TaskStatus.OPEN,
        due_at__lte=ctx.now - MANAGER_OVERDUE,
        due_at__gt=ctx.now - 2 * MANAGER_OVERDUE,
    ).select_related("assignee", "customer")
    managers = await _managers()
    keyed = {
        f"task:{t.id}:late:{int(t.due_at.timestamp())}:{m.id}": (t, m)
        for t in found
        if t.due_at is not None
        for m in managers.values()
    }
    fresh = await _new_keys(keyed)
    for key in fresh:
        task, member = keyed[key]
        await _task_message(ctx, task, member, "逾期一天", key, title=f"{task.assignee.name}：{task.title}")
    return len(fresh)


# --- follow-ups and the digest ------------------------------------------------------------------------------


async def follow_ups_due(ctx: Context) -> int:
    """Each clerk's follow-ups planned for today (FollowUp.next_at), as one morning message with the count
    and the customers' names."""
    start = ctx.midnight(ctx.today)
    rows = await FollowUp.filter(
        next_at__gte=start, next_at__lt=ctx.midnight(ctx.today + timedelta(days=1)), staff_id__isnull=False
    ).select_related("customer", "staff")
    names: dict[int, list[str]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.next_at or start, r.id)):
        if row.staff_id is not None and row.customer.name not in names[row.staff_id]:
            names[row.staff_id].append(row.customer.name or "客户")
    reachable = await _staff_reachable(r.staff for r in rows if r.staff is not None)
    keyed = {f"followups:{staff_id}:{ctx.today.isoformat()}": staff_id for staff_id in names if staff_id in reachable}
    fresh = await _new_keys(keyed)
    for key in fresh:
        member = reachable[keyed[key]]
        listed = names[member.id]
        values = {"count": str(len(listed)), "customers": "、".join(listed), "day": _day_text(ctx.today)}
        assert member.openid is not None
        await notify.send("follow_up_due", member.openid, values, now=ctx.now, dedupe_key=key)
    return len(fresh)


@dataclass(frozen=True, slots=True)
class Digest:
    """The managers' morning numbers."""

    appointments: int
    overdue_tasks: int
    no_shows: int


async def digest_numbers(ctx: Context) -> Digest:
    """Today's appointments (not cancelled), open tasks past their deadline, yesterday's no-shows."""
    today, tomorrow = ctx.midnight(ctx.today), ctx.midnight(ctx.today + timedelta(days=1))
    yesterday = ctx.midnight(ctx.today - timedelta(days=1))
    return Digest(
        appointments=await Appointment.filter(start_at__gte=today, start_at__lt=tomorrow)
        .exclude(status=AppointmentStatus.CANCELLED)
        .count(),
        overdue_tasks=await Task.filter(status=TaskStatus.OPEN, due_at__lt=ctx.now).count(),
        no_shows=await Appointment.filter(
            status=AppointmentStatus.NO_SHOW, start_at__gte=yesterday, start_at__lt=today
        ).count(),
    )


async def daily_digest(ctx: Context) -> int:
    """The managers' morning digest, one per manager and day."""
    managers = await _managers()
    keyed = {f"digest:{m.id}:{ctx.today.isoformat()}": m for m in managers.values()}
    fresh = await _new_keys(keyed)
    if not fresh:
        return 0
    numbers = await digest_numbers(ctx)
    values = {
        "day": _day_text(ctx.today),
        "appointments": str(numbers.appointments),
        "overdue_tasks": str(numbers.overdue_tasks),
        "no_shows": str(numbers.no_shows),
    }
    for key in fresh:
        openid = keyed[key].openid
        assert openid is not None
        await notify.send("daily_digest", openid, values, now=ctx.now, dedupe_key=key)
    return len(fresh)


# --- maintenance and lost customers ---------------------------------------------------------------------


def _dt(value: Any) -> datetime | None:
    """A datetime column as read by raw SQL (asyncpg: datetime; SQLite: ISO text), aware UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1 << 16)
def _local_day(value: Any, tz: ZoneInfo) -> date:
    """The store-local day of a datetime column's raw value (cached: a pass meets the same moments often,
    and the conversion is most of the per-row cost over a million cars)."""
    moment = _dt(value)
    assert moment is not None
    return moment.astimezone(tz).date()


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    assert isinstance(value, date)
    return value


@dataclass(slots=True)
class _Car:
    id: int
    customer_id: int
    plate: str
    purchase: date | None
    last_service: date | None
    readings: list[tuple[date, int]]
    active_booking: bool = False


@dataclass(slots=True)
class _Owner:
    id: int
    name: str
    openid: str | None
    owner_id: int | None
    lost_at: datetime | None
    cars: list[_Car]
    last_booking: date | None = None


@dataclass(frozen=True, slots=True)
class MaintenanceOutcome:
    """What one maintenance pass did: customers seen, cars due (reminded this period), marked or cleared lost."""

    customers: int = 0
    due: int = 0
    lost: int = 0
    back: int = 0


async def _batch_end(after: int, size: int) -> int | None:
    """The last customer id of the next keyset batch after `after` (None when no customers are left)."""
    p = placeholder()
    rows = await connections.get("default").execute_query_dict(
        f'SELECT MAX("id") AS "last" FROM (SELECT "id" FROM "customer" WHERE "id" > {p}1 '
        f'ORDER BY "id" LIMIT {p}2) AS "batch"',
        [after, size],
    )
    last = rows[0]["last"] if rows else None
    return int(last) if last is not None else None


async def _load_batch(first: int, last: int, tz: ZoneInfo) -> list[_Owner]:
    """Customers with ids in (first, last], their cars, odometer readings and appointments: four range
    queries on indexed columns, whatever the batch size."""
    conn = connections.get("default")
    p = placeholder()
    span = [first, last]
    people = {
        row["id"]: _Owner(row["id"], row["name"] or "", row["openid"], row["owner_id"], _dt(row["lost_at"]), [])
        for row in await conn.execute_query_dict(
            f'SELECT "id", "name", "openid", "owner_id", "lost_at" FROM "customer" WHERE "id" > {p}1 AND "id" <= {p}2',
            span,
        )
    }
    cars: dict[int, _Car] = {}
    for row in await conn.execute_query_dict(
        f'SELECT "id", "customer_id", "plate", "purchase_date", "last_service_at", "mileage", "mileage_at" '
        f'FROM "vehicle" WHERE "customer_id" > {p}1 AND "customer_id" <= {p}2',
        span,
    ):
        serviced = row["last_service_at"]
        car = _Car(
            row["id"],
            row["customer_id"],
            row["plate"],
            _day(row["purchase_date"]),
            _local_day(serviced, tz) if serviced is not None else None,
            [],
        )
        if row["mileage"] is not None and row["mileage_at"] is not None:
            car.readings.append((_local_day(row["mileage_at"], tz), int(row["mileage"])))
        cars[car.id] = car
        people[car.customer_id].cars.append(car)
    if not cars:
        return list(people.values())
    seen_vehicle_reading: set[int] = set()
    for row in await conn.execute_query_dict(
        f'SELECT r."vehicle_id", r."km", r."at" FROM "mileage_reading" r JOIN "vehicle" v ON v."id" = r."vehicle_id" '
        f'WHERE v."customer_id" > {p}1 AND v."customer_id" <= {p}2',
        span,
    ):
        car = cars[row["vehicle_id"]]
        if row["vehicle_id"] not in seen_vehicle_reading:
            # The readings table has them all: the vehicle's own latest reading counts only without rows.
            seen_vehicle_reading.add(row["vehicle_id"])
            car.readings.clear()
        car.readings.append((_local_day(row["at"], tz), int(row["km"])))
    for row in await conn.execute_query_dict(
        f'SELECT "customer_id", "vehicle_id", "status", "start_at", "created_at" FROM "appointment" '
        f'WHERE "customer_id" > {p}1 AND "customer_id" <= {p}2 AND "status" <> {p}3',
        [*span, AppointmentStatus.CANCELLED.value],
    ):
        owner, car_ = people[row["customer_id"]], cars.get(row["vehicle_id"])
        booked = _local_day(row["created_at"], tz)
        owner.last_booking = max(owner.last_booking or booked, booked)
        if car_ is None:
            continue
        if row["status"] in (AppointmentStatus.BOOKED.value, AppointmentStatus.CHECKED_IN.value):
            car_.active_booking = True
        elif row["status"] == AppointmentStatus.COMPLETED.value:
            day = _local_day(row["start_at"], tz)
            car_.last_service = max(car_.last_service or day, day)
    return list(people.values())


async def maintenance(ctx: Context, *, batch: int = BATCH) -> MaintenanceOutcome:
    """Cars due for maintenance and customers gone lost, streamed over every customer in keyset batches
    (memory bounded by `batch`, not by the number of customers).

    A car due (crm.next_maintenance) and not booked in: the customer gets "maintenance_due" and the owner
    clerk (else the first active manager) a follow-up task, once per 30-day period from the due day, until a
    visit is booked. A customer with no visit or booking within 12 months of their last visit is marked lost."""
    after, seen, due, lost, back = 0, 0, 0, 0, 0
    today = ctx.today
    fallback = await Staff.filter(role=StaffRole.MANAGER, active=True).order_by("id").first()
    while (last := await _batch_end(after, batch)) is not None:
        people = await _load_batch(after, last, ctx.tz)
        after = last
        seen += len(people)
        gone, returned, reminders = [], [], []
        for person in people:
            last_visit = max((c.last_service for c in person.cars if c.last_service), default=None)
            lost_now = is_lost(last_visit, person.last_booking, today)
            if lost_now and person.lost_at is None:
                gone.append(person.id)
            elif not lost_now and person.lost_at is not None:
                returned.append(person.id)
            if lost_now:
                continue
            for car in person.cars:
                if car.active_booking:
                    continue
                when = crm.next_maintenance(car.purchase, car.last_service, car.readings)
                period = maintenance_period(when.day, today) if when else None
                if when is not None and period is not None:
                    reminders.append((person, car, when, f"maint:{car.id}:{when.day.isoformat()}:{period}"))
        if gone:
            lost += await Customer.filter(id__in=gone, lost_at__isnull=True).update(lost_at=ctx.now)
        if returned:
            back += await Customer.filter(id__in=returned).update(lost_at=None)
        if reminders:
            due += await _remind_maintenance(ctx, reminders, fallback)
    return MaintenanceOutcome(seen, due, lost, back)


async def _remind_maintenance(
    ctx: Context, due: list[tuple[_Owner, _Car, crm.MaintenanceDue, str]], fallback: Staff | None
) -> int:
    keys = [key for *_, key in due]
    fresh_messages = await _new_keys(keys)
    fresh_tasks = set(keys) - set(await Task.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    stop = await followers.blocked(p.openid for p, *_ in due if p.openid)
    owners = {s.id: s for s in await Staff.filter(id__in={p.owner_id for p, *_ in due if p.owner_id}, active=True)}
    needs_task = {p.id for p, _, _, key in due if key in fresh_tasks}
    customers = {c.id: c for c in await Customer.filter(id__in=needs_task)} if needs_task else {}
    new = 0
    messages: list[notify.Outgoing] = []
    new_tasks: list[tasks.NewTask] = []
    for person, car, when, key in due:
        assignee = (owners.get(person.owner_id) if person.owner_id else None) or fallback
        message = key in fresh_messages and person.openid is not None and person.openid not in stop
        task = key in fresh_tasks and assignee is not None
        if not message and not task:
            continue
        new += 1
        if message and person.openid is not None:
            reason = (
                "行驶里程约到5000公里"
                if when.by_km
                else ("首次保养" if car.last_service is None else "距上次保养满5个月")
            )
            values = {"plate": car.plate, "due": _day_text(when.day), "reason": reason}
            messages.append(notify.Outgoing("maintenance_due", person.openid, values, key, not_before=ctx.hold()))
        if task and assignee is not None:
            title = f"保养到期回访：{person.name or '客户'} {car.plate}（{_day_text(when.day)}到期）"
            new_tasks.append(
                tasks.NewTask(
                    title,
                    assignee,
                    due_at=datetime.combine(ctx.today, MAINTENANCE_TASK_DUE, tzinfo=ctx.tz),
                    customer=customers[person.id],
                    kind=TaskKind.MAINTENANCE,
                    dedupe_key=key,
                )
            )
    # A batch's reminders, tasks and task notices in a few multi-row statements, together or not at all.
    async with in_transaction():
        await notify.send_many(messages, now=ctx.now)
        await tasks.create_many(new_tasks, ctx.now, tz=ctx.tz)
    return new


async def lost_count(start: datetime, end: datetime) -> int:
    """Customers marked lost (流失) within [start, end), for the reports."""
    return await Customer.filter(lost_at__gte=start, lost_at__lt=end).count()
