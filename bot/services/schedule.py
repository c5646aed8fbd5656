"""The service menu and the store's calendar: opening hours, closed days, the slot grid and online capacity."""

# Capacity lives in `SlotLoad` rows, one per slot of the grid, each counting the appointments that cover
# it. A reservation is one conditional UPDATE per slot (`booked = booked + n WHERE booked <= limit - n`),
# so two customers racing for the last place never both get it: on SQLite there is one writer, on
# PostgreSQL the second UPDATE waits for the first's row lock and then re-evaluates its WHERE. Slots are
# always touched in ascending order, so transactions holding several slots cannot deadlock each other.
#
# A day's grid starts at that weekday's opening time and steps by `slot_minutes`. Editing the slot length
# or an opening time moves the grid, so those editors recount future loads from the appointments.

from __future__ import annotations

import dataclasses
import time as _time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from tortoise.connection import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.models import (
    ACTIVE_STATUSES,
    Appointment,
    BookingSource,
    ClosedDay,
    OpeningHours,
    ServiceKind,
    SlotLoad,
    StoreSchedule,
)
from bot.nlu.service import SERVICE_TYPES

Reason = Literal["unknown_service", "past", "too_soon", "too_far", "closed_day", "outside_hours", "not_on_grid", "full"]
DayPart = Literal["morning", "afternoon", "evening"]
# Who books: a customer in chat gets the online share of a slot, a clerk all of it.
Source = BookingSource | Literal["self", "clerk"]

SCHEDULE_ID: Final = 1
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
DEFAULT_OPENS: Final = time(8, 30)
DEFAULT_CLOSES: Final = time(18, 0)
# Minutes per service code; names and order come from bot.nlu.service so the menu matches what users type.
DEFAULT_DURATIONS: Final[Mapping[str, int]] = {
    "maintenance": 60,
    "minor_service": 60,
    "major_service": 120,
    "repair": 60,
    "bodywork": 120,
    "detailing": 60,
    "inspection": 30,
    "annual_inspection": 60,
    "tyres": 30,
    "test_drive": 30,
}
# Day parts by local start time: morning before noon, afternoon until 18:00, evening after.
NOON: Final = time(12, 0)
EVENING: Final = time(18, 0)
ALTERNATIVES: Final = 3
# The calendar and the service menu are read on every booking step but edited rarely: each worker keeps
# them this long, so an edit made by another worker (the CLI, a manager) applies within this time; this
# worker's own editors below clear the cache at once.
CACHE_SECONDS: Final = 30.0


class ScheduleNotReady(RuntimeError):
    """The store's schedule rows are missing: `ensure_defaults()` has not run on this database."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """A snapshot of the store's booking rules; pure methods, so one load answers many questions."""

    tz: ZoneInfo
    slot: timedelta
    capacity: int
    online_capacity: int
    lead: timedelta
    horizon_days: int
    change_cutoff: timedelta
    # weekday -> (opens, closes) in minutes after local midnight, and whether the weekday is closed
    hours: Mapping[int, tuple[int, int, bool]]
    closed_days: frozenset[date]

    def limit(self, source: Source) -> int:
        """How many appointments of this source a slot takes: customers get the online share only."""
        return self.online_capacity if source == BookingSource.SELF else self.capacity

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def day_of(self, moment: datetime) -> date:
        return self.local(moment).date()

    def _at(self, day: date, minute: int) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz) + timedelta(minutes=minute)

    def is_open(self, day: date) -> bool:
        return day not in self.closed_days and not self.hours[day.weekday()][2]

    def open_span(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing time of `day` as the weekday's hours say (closures not considered)."""
        opens, closes, _ = self.hours[day.weekday()]
        return self._at(day, opens), self._at(day, closes)

    def hours_text(self, day: date) -> str | None:
        """That day's hours as "08:30-18:00", or None when the store is closed."""
        if not self.is_open(day):
            return None
        opens, closes = self.open_span(day)
        end = "24:00" if closes.date() > day else f"{closes:%H:%M}"
        return f"{opens:%H:%M}-{end}"

    def covered(self, start: datetime, end: datetime) -> list[datetime]:
        """Starts of the grid slots that [start, end) overlaps, in order (store time zone)."""
        local = self.local(start)
        anchor, _ = self.open_span(local.date())
        first = anchor + ((local - anchor) // self.slot) * self.slot
        slots = []
        slot = first
        while slot < end:
            slots.append(slot)
            slot += self.slot
        return slots

    def grid(self, day: date, duration: timedelta) -> list[datetime]:
        """Every start on `day` whose visit fits inside the opening hours (closures not considered)."""
        opens, closes = self.open_span(day)
        starts = []
        start = opens
        while start + duration <= closes:
            starts.append(start)
            start += self.slot
        return starts

    def refusal(self, start: datetime, duration: timedelta, now: datetime) -> Reason | None:
        """Why `start` breaks a calendar rule, or None; capacity is not looked at here."""
        if start <= now:
            return "past"
        if start < now + self.lead:
            return "too_soon"
        day = self.day_of(start)
        if day > self.day_of(now) + timedelta(days=self.horizon_days):
            return "too_far"
        if not self.is_open(day):
            return "closed_day"
        opens, closes = self.open_span(day)
        local = self.local(start)
        if local < opens or local + duration > closes:
            return "outside_hours"
        if (local - opens) % self.slot:
            return "not_on_grid"
        return None


@dataclass(frozen=True, slots=True)
class SlotCheck:
    """The answer to "can this service start then?": ok, or a reason and the nearest open starts.

    When ok, `end`, `slots` (the grid slots the visit covers) and `capacity` (the per-slot limit for the
    source) say what to reserve. `lead_minutes`, `horizon_days` and `hours_text` (the day's hours,
    "08:30-18:00", None when closed) let a refusal be explained.
    """

    requested: datetime
    reason: Reason | None
    alternatives: list[datetime]
    lead_minutes: int
    horizon_days: int
    calendar: Calendar = dataclasses.field(repr=False, compare=False)
    end: datetime | None = None
    slots: tuple[datetime, ...] = ()
    capacity: int = 0

    @property
    def hours_text(self) -> str | None:
        # Formatted only when a refusal shows it: most checks are ok, and every time step makes one.
        return self.calendar.hours_text(self.requested.date())

    @property
    def ok(self) -> bool:
        return self.reason is None


_cache: dict[str, tuple[float, Any]] = {}
# Bumped by every clear, so a load that started before an edit never stores its stale answer.
_generation = 0


def clear_cache() -> None:
    """Forget the cached calendar and service menu: the next read goes to the database."""
    global _generation
    _generation += 1
    _cache.clear()


def _cached(key: str) -> Any | None:
    hit = _cache.get(key)
    if hit is None or hit[0] <= _time.monotonic():
        return None
    return hit[1]


def _store(key: str, generation: int, value: Any) -> None:
    if generation == _generation:
        _cache[key] = (_time.monotonic() + CACHE_SECONDS, value)


async def ensure_defaults(timezone: str = DEFAULT_TIMEZONE) -> None:
    """Seed the service menu, the schedule row and opening hours where missing; keep `timezone` current.

    Idempotent and safe when several workers start at once; rows already present (edited by a manager)
    are left alone. Called at app start with `settings.timezone` and by the schedule CLI.
    """
    ZoneInfo(timezone)  # refuse an unknown zone before writing it
    clear_cache()
    try:
        await _ensure_defaults(timezone)
    finally:
        clear_cache()


async def _ensure_defaults(timezone: str) -> None:
    known = set(cast(list[str], await ServiceKind.all().values_list("code", flat=True)))
    services = [
        ServiceKind(
            code=service.code,
            name=service.name,
            duration_minutes=DEFAULT_DURATIONS.get(service.code, 60),
            sort_order=(order + 1) * 10,
        )
        for order, service in enumerate(SERVICE_TYPES)
        if service.code not in known
    ]
    # ignore_conflicts: a worker starting at the same moment may insert the same rows first.
    if services:
        await ServiceKind.bulk_create(services, ignore_conflicts=True)
    row, created = await StoreSchedule.get_or_create(id=SCHEDULE_ID, defaults={"timezone": timezone})
    if not created and row.timezone != timezone:
        await StoreSchedule.filter(id=SCHEDULE_ID).update(timezone=timezone)
    weekdays = set(cast(list[int], await OpeningHours.all().values_list("weekday", flat=True)))
    hours = [
        OpeningHours(weekday=weekday, opens_minute=_minute(DEFAULT_OPENS), closes_minute=_minute(DEFAULT_CLOSES))
        for weekday in range(7)
        if weekday not in weekdays
    ]
    if hours:
        await OpeningHours.bulk_create(hours, ignore_conflicts=True)


async def load_calendar() -> Calendar:
    """The current rules in one snapshot (three small queries, then cached for `CACHE_SECONDS`)."""
    cal = _cached("calendar")
    if cal is not None:
        return cast(Calendar, cal)
    generation = _generation
    cal = await _read_calendar()
    _store("calendar", generation, cal)
    return cal


async def _read_calendar() -> Calendar:
    row = await StoreSchedule.get_or_none(id=SCHEDULE_ID)
    hours = await OpeningHours.all()
    if row is None or len(hours) != 7:
        raise ScheduleNotReady("store schedule missing: run schedule.ensure_defaults() at start")
    tz = ZoneInfo(row.timezone)
    # Closed days far in the past or future never matter to a booking, but the table stays tiny anyway.
    closed = await ClosedDay.all().values_list("day", flat=True)
    return Calendar(
        tz=tz,
        slot=timedelta(minutes=row.slot_minutes),
        capacity=row.capacity_per_slot,
        online_capacity=online_capacity(row.capacity_per_slot, row.online_share),
        lead=timedelta(minutes=row.min_lead_minutes),
        horizon_days=row.horizon_days,
        change_cutoff=timedelta(minutes=row.change_cutoff_minutes),
        hours={h.weekday: (h.opens_minute, h.closes_minute, h.closed) for h in hours},
        closed_days=frozenset(cast(list[date], closed)),
    )


def online_capacity(capacity: int, share_percent: int) -> int:
    """Places per slot customers may book themselves: floor(capacity × share), at least one."""
    return max(1, capacity * share_percent // 100)


async def _services() -> dict[str, ServiceKind]:
    """Every service kind (inactive ones too) by code, in menu order; cached like the calendar.

    The instances are shared by every caller until the cache expires: read them, never change them.
    """
    services = _cached("services")
    if services is not None:
        return cast(dict[str, ServiceKind], services)
    generation = _generation
    services = {kind.code: kind for kind in await ServiceKind.all().order_by("sort_order", "code")}
    _store("services", generation, services)
    return services


async def bookable_services(*, source: Source = BookingSource.SELF) -> list[ServiceKind]:
    """Active services in menu order; customers see only those bookable online."""
    return [
        kind
        for kind in (await _services()).values()
        if kind.active and (kind.bookable_online or source != BookingSource.SELF)
    ]


async def service_kind(code: str, *, source: Source = BookingSource.SELF) -> ServiceKind | None:
    """The service with this code if `source` may book it now (active; online-bookable for customers)."""
    kind = (await _services()).get(code)
    if kind is None or not kind.active or (source == BookingSource.SELF and not kind.bookable_online):
        return None
    return kind


async def service_name(code: str) -> str:
    """The service's display name (inactive services included); the code itself when unknown."""
    kind = (await _services()).get(code)
    return kind.name if kind else code


async def check(
    service_code: str,
    start: datetime,
    now: datetime,
    *,
    source: Source = BookingSource.SELF,
    held: Collection[datetime] = (),
    exclude: Collection[datetime] = (),
    read_load: bool = True,
) -> SlotCheck:
    """Whether `service_code` can start at `start` (aware), judged at `now`.

    Reasons, in the order they are tested: unknown_service (unknown, inactive, or not bookable online by a
    customer), past, too_soon (inside the minimum lead), too_far (after the horizon's last day), closed_day,
    outside_hours (starts before opening or ends after closing), not_on_grid (between slot starts: refused,
    never rounded, so the customer sees the exact times on offer), full (a covered slot is at the source's
    limit). A refusal carries the three open starts nearest in time to `start` (chronological order).
    `held` are slots the caller's own appointment occupies (a reschedule): they count one place freer.
    `exclude` are starts never offered as alternatives (the appointment's current time).
    `read_load=False` judges the calendar rules only (no query when the calendar is cached): for a caller
    about to reserve the slots, whose conditional reservation enforces the capacity anyway.
    """
    _require_aware(start, now)
    cal = await load_calendar()
    requested = cal.local(start)

    def answer(
        reason: Reason | None,
        alternatives: Iterable[datetime] = (),
        *,
        end: datetime | None = None,
        slots: Iterable[datetime] = (),
        capacity: int = 0,
    ) -> SlotCheck:
        return SlotCheck(
            requested=requested,
            reason=reason,
            alternatives=list(alternatives),
            lead_minutes=_minutes(cal.lead),
            horizon_days=cal.horizon_days,
            calendar=cal,
            end=end,
            slots=tuple(slots),
            capacity=capacity,
        )

    kind = await service_kind(service_code, source=source)
    if kind is None:
        return answer("unknown_service")
    duration = timedelta(minutes=kind.duration_minutes)
    limit = cal.limit(source)
    held_counts = Counter(cal.local(s) for s in held)
    reason = cal.refusal(requested, duration, now)
    if reason is None:
        slots = cal.covered(requested, requested + duration)
        loads = await _loads(slots) if read_load else {}
        if all(loads.get(s, 0) - held_counts[s] < limit for s in slots):
            return answer(None, end=requested + duration, slots=slots, capacity=limit)
        reason = "full"
    skip = {cal.local(s) for s in exclude} | {requested}
    return answer(reason, await _nearest(cal, duration, limit, requested, now, ALTERNATIVES, held_counts, skip))


async def open_slots(
    service_code: str,
    day: date,
    now: datetime,
    *,
    part: DayPart | None = None,
    limit: int | None = None,
    source: Source = BookingSource.SELF,
) -> list[datetime]:
    """Open starts for `service_code` on `day` (store time zone, chronological), optionally one day part.

    Morning is before 12:00, afternoon 12:00-18:00, evening from 18:00. Every rule of `check` applies.
    """
    _require_aware(now)
    cal = await load_calendar()
    kind = await service_kind(service_code, source=source)
    if kind is None:
        return []
    duration = timedelta(minutes=kind.duration_minutes)
    starts = await _open_on(cal, duration, cal.limit(source), day, now, Counter())
    starts = [s for s in starts if part is None or _part_of(s) == part]
    return starts if limit is None else starts[:limit]


async def day_check(
    service_code: str,
    day: date,
    now: datetime,
    *,
    part: DayPart | None = None,
    source: Source = BookingSource.SELF,
) -> SlotCheck:
    """Why `day` (or its `part`) offers no open start, as `check` answers for one start (`requested` is that
    day at 10:00, or the part's first start), with the open starts nearest to it. The reason: past, too_far
    or closed_day for the whole day; for an open day, the rule every start of it breaks (too_soon when some
    are past and the rest too soon; outside_hours for a part the hours leave out), otherwise full."""
    _require_aware(now)
    cal = await load_calendar()
    kind = await service_kind(service_code, source=source)
    requested = cal._at(day, 10 * 60)

    def answer(reason: Reason, alternatives: list[datetime]) -> SlotCheck:
        return SlotCheck(requested, reason, alternatives, _minutes(cal.lead), cal.horizon_days, cal)

    if kind is None:
        return answer("unknown_service", [])
    duration = timedelta(minutes=kind.duration_minutes)
    starts = [s for s in cal.grid(day, duration) if part is None or _part_of(s) == part]
    if part is not None and starts:
        requested = starts[0]
    elif part == "evening":  # after hours: offer the end of that day, not its morning
        requested = cal._at(day, _minute(EVENING))
    today = cal.day_of(now)
    reason: Reason
    if day < today:
        reason = "past"
    elif day > today + timedelta(days=cal.horizon_days):
        reason = "too_far"
    elif not cal.is_open(day):
        reason = "closed_day"
    elif not starts:
        reason = "outside_hours"
    else:
        reasons = {cal.refusal(s, duration, now) for s in starts}
        if len(reasons) == 1 and None not in reasons:
            (reason,) = cast(set[Reason], reasons)
        elif reasons <= {"past", "too_soon"}:
            reason = "too_soon"
        else:
            reason = "full"
    around = max(requested, cal.local(now))
    return answer(reason, await _nearest(cal, duration, cal.limit(source), around, now, ALTERNATIVES, Counter(), set()))


async def nearest_open(
    service_code: str,
    around: datetime,
    now: datetime,
    count: int = ALTERNATIVES,
    *,
    source: Source = BookingSource.SELF,
) -> list[datetime]:
    """The `count` open starts nearest in time to `around` (future only, every rule applied), chronological."""
    _require_aware(around, now)
    cal = await load_calendar()
    kind = await service_kind(service_code, source=source)
    if kind is None:
        return []
    duration = timedelta(minutes=kind.duration_minutes)
    return await _nearest(cal, duration, cal.limit(source), cal.local(around), now, count, Counter(), set())


async def adjust_load(changes: Mapping[datetime, int], limit: int) -> bool:
    """Apply load changes (+n reserve, -n release) per slot start; False when a slot had no room.

    On False every change already applied is undone, so the caller need not roll back (no savepoint);
    run it inside a transaction all the same, which keeps the slots locked until commit. Reservations are
    one conditional upsert per slot. Slots are visited in ascending order so concurrent callers never
    deadlock.
    """
    if len(changes) > 1 and all(delta > 0 for delta in changes.values()):
        return await _reserve_all(changes, limit)
    applied: list[tuple[datetime, int]] = []
    for slot in sorted(changes):
        delta = changes[slot]
        at = slot.astimezone(UTC)
        if delta < 0:
            # The guard keeps a count from going negative should it ever have drifted.
            if await SlotLoad.filter(slot_start=at, booked__gte=-delta).update(booked=F("booked") + delta):
                applied.append((at, delta))
        elif delta > 0:
            if not await _reserve(at, delta, limit):
                for done, change in reversed(applied):
                    await SlotLoad.filter(slot_start=done).update(booked=F("booked") - change)
                return False
            applied.append((at, delta))
    return True


async def _reserve(at: datetime, delta: int, limit: int) -> bool:
    """Add `delta` to the slot's count if it stays within `limit`: one upsert, creating the row when missing.

    On a conflict the conditional DO UPDATE applies (PostgreSQL waits for a concurrent holder's row lock,
    then re-evaluates the WHERE); no row comes back when the slot has no room.
    """
    if delta > limit:
        return False
    conn = connections.get("default")
    # The value the ORM itself would bind, so the stored text (SQLite) matches the rows it writes.
    start = SlotLoad._meta.fields_map["slot_start"].to_db_value(at, SlotLoad)
    # Numbered placeholders: $n for asyncpg, ?n for SQLite.
    p = "$" if conn.capabilities.dialect == "postgres" else "?"
    sql = (
        f'INSERT INTO "slot_load" ("slot_start", "booked") VALUES ({p}1, {p}2) '
        f'ON CONFLICT ("slot_start") DO UPDATE SET "booked" = "slot_load"."booked" + {p}2 '
        f'WHERE "slot_load"."booked" + {p}2 <= {p}3 RETURNING "booked"'
    )
    rows = await conn.execute_query_dict(sql, [start, delta, limit])
    return bool(rows)


def reservation(changes: Mapping[datetime, int], limit: int) -> tuple[str, list[Any]]:
    """The statement reserving every slot of `changes` (all deltas > 0) in one multi-row upsert, and its
    parameters (numbered from 1): `RETURNING "slot_start"` gives the slots reserved, and a slot without room
    gives no row. Rows are listed in ascending order, the order PostgreSQL locks them in, as `adjust_load`
    does. After a partial reservation call `undo_reservation`."""
    p = "$" if connections.get("default").capabilities.dialect == "postgres" else "?"
    field = SlotLoad._meta.fields_map["slot_start"]
    params: list[Any] = [limit]
    rows_sql = []
    for slot in sorted(changes):
        params += [field.to_db_value(slot.astimezone(UTC), SlotLoad), changes[slot]]
        rows_sql.append(f"({p}{len(params) - 1}, {p}{len(params)})")
    sql = (
        f'INSERT INTO "slot_load" ("slot_start", "booked") VALUES {", ".join(rows_sql)} '
        'ON CONFLICT ("slot_start") DO UPDATE SET "booked" = "slot_load"."booked" + excluded."booked" '
        f'WHERE "slot_load"."booked" + excluded."booked" <= {p}1 RETURNING "slot_start"'
    )
    return sql, params


async def undo_reservation(reserved: Iterable[Any], changes: Mapping[datetime, int]) -> None:
    """Release the slots a partial `reservation` took (`reserved`: its returned slot_start values)."""
    field = SlotLoad._meta.fields_map["slot_start"]
    for value in reserved:
        at = field.to_python_value(value)
        await SlotLoad.filter(slot_start=at).update(booked=F("booked") - changes[at])


async def _reserve_all(changes: Mapping[datetime, int], limit: int) -> bool:
    """Reserve several slots (a booking's) in one statement instead of one per slot; a False leaves every
    count as it was."""
    if any(delta > limit for delta in changes.values()):
        return False
    sql, params = reservation(changes, limit)
    rows = await connections.get("default").execute_query_dict(sql, params)
    if len(rows) == len(changes):
        return True
    await undo_reservation([row["slot_start"] for row in rows], changes)
    return False


async def _loads(slots: Iterable[datetime]) -> dict[datetime, int]:
    """The booked count of each slot that has any; raw SQL, as every time step of a booking reads it."""
    field = SlotLoad._meta.fields_map["slot_start"]
    keys = [field.to_db_value(s.astimezone(UTC), SlotLoad) for s in slots]
    if not keys:
        return {}
    conn = connections.get("default")
    p = "$" if conn.capabilities.dialect == "postgres" else "?"
    marks = ", ".join(f"{p}{n}" for n in range(1, len(keys) + 1))
    rows = await conn.execute_query_dict(
        f'SELECT "slot_start", "booked" FROM "slot_load" WHERE "slot_start" IN ({marks}) AND "booked" > 0', keys
    )
    return {field.to_python_value(row["slot_start"]): row["booked"] for row in rows}


async def _loads_between(first: datetime, end: datetime) -> dict[datetime, int]:
    rows = await SlotLoad.filter(
        slot_start__gte=first.astimezone(UTC), slot_start__lt=end.astimezone(UTC), booked__gt=0
    ).values_list("slot_start", "booked")
    return {start: booked for start, booked in rows}


async def _open_on(
    cal: Calendar, duration: timedelta, limit: int, day: date, now: datetime, held: Counter[datetime]
) -> list[datetime]:
    starts = [s for s in cal.grid(day, duration) if cal.refusal(s, duration, now) is None]
    if not starts:
        return []
    loads = await _loads_between(starts[0], starts[-1] + duration)
    return [s for s in starts if all(loads.get(slot, 0) - held[slot] < limit for slot in cal.covered(s, s + duration))]


async def _nearest(
    cal: Calendar,
    duration: timedelta,
    limit: int,
    around: datetime,
    now: datetime,
    count: int,
    held: Counter[datetime],
    skip: set[datetime],
) -> list[datetime]:
    today = cal.day_of(now)
    last = today + timedelta(days=cal.horizon_days)
    target = min(max(around.date(), today), last)
    days = sorted(
        (today + timedelta(days=n) for n in range((last - today).days + 1)),
        key=lambda d: (abs((d - target).days), d),
    )
    found: list[datetime] = []
    for day in days:
        if len(found) >= count:
            worst = sorted(abs(s - around) for s in found)[count - 1]
            # Days are visited by distance from the target day: once a whole day lies farther away than
            # the worst pick so far, every later day does too.
            if timedelta(days=abs((day - target).days) - 1) > worst:
                break
        if not cal.is_open(day):
            continue
        found.extend(s for s in await _open_on(cal, duration, limit, day, now, held) if s not in skip)
    nearest = sorted(found, key=lambda s: (abs(s - around), s))[:count]
    return sorted(nearest)


def _part_of(start: datetime) -> DayPart:
    clock = start.timetz().replace(tzinfo=None)
    if clock < NOON:
        return "morning"
    if clock < EVENING:
        return "afternoon"
    return "evening"


def lead_text(minutes: int) -> str:
    """A lead time in words: 60 -> "1小时", 30 -> "30分钟", 90 -> "1小时30分钟"."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}小时{rest}分钟"
    return f"{hours}小时" if hours else f"{rest}分钟"


def _minute(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")


# --- editing: used by the schedule CLI now and by managers in chat later -------------------------------


async def set_opening_hours(
    weekday: int, opens: time, closes: time, *, closed: bool = False, now: datetime
) -> OpeningHours:
    """Set one weekday's hours (Monday = 0); the grid follows the opening time, so loads are recounted."""
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    opens_minute = _minute(opens)
    # 00:00 as a closing time means midnight at the end of the day.
    closes_minute = _minute(closes) or 24 * 60
    if opens_minute >= closes_minute:
        raise ValueError("the store must open before it closes")
    try:
        async with in_transaction():
            await OpeningHours.filter(weekday=weekday).update(
                opens_minute=opens_minute, closes_minute=closes_minute, closed=closed
            )
            clear_cache()  # the recount must see the new hours
            await recount_load(now)
    finally:
        clear_cache()
    return await OpeningHours.get(weekday=weekday)


async def add_closed_day(day: date, reason: str = "") -> ClosedDay:
    """Close the store on `day` (or change the reason); existing appointments stay and are not moved."""
    try:
        row, created = await ClosedDay.get_or_create(day=day, defaults={"reason": reason[:64]})
        if not created and row.reason != reason[:64]:
            row.reason = reason[:64]
            await row.save(update_fields=["reason"])
    finally:
        clear_cache()
    return row


async def remove_closed_day(day: date) -> bool:
    """Reopen `day`; False when it was not closed."""
    try:
        return bool(await ClosedDay.filter(day=day).delete())
    finally:
        clear_cache()


async def closed_days(since: date) -> list[ClosedDay]:
    """Closed days from `since` on, in date order."""
    return await ClosedDay.filter(day__gte=since).order_by("day")


async def active_appointments_on(day: date) -> int:
    """How many active appointments start on `day` (store time zone): who to call when closing it."""
    cal = await load_calendar()
    start = datetime.combine(day, time(), tzinfo=cal.tz)
    return await Appointment.filter(
        status__in=ACTIVE_STATUSES,
        start_at__gte=start.astimezone(UTC),
        start_at__lt=(start + timedelta(days=1)).astimezone(UTC),
    ).count()


async def set_rules(
    now: datetime,
    *,
    slot_minutes: int | None = None,
    capacity_per_slot: int | None = None,
    online_share: int | None = None,
    min_lead_minutes: int | None = None,
    horizon_days: int | None = None,
    change_cutoff_minutes: int | None = None,
) -> StoreSchedule:
    """Change any of the booking rules given; a new slot length moves the grid, so loads are recounted.

    Lowering capacity never cancels anything: slots already above the new limit just take no more.
    """
    changes: dict[str, int] = {}
    for name, value, low in (
        ("slot_minutes", slot_minutes, 5),
        ("capacity_per_slot", capacity_per_slot, 1),
        ("online_share", online_share, 0),
        ("min_lead_minutes", min_lead_minutes, 0),
        ("horizon_days", horizon_days, 0),
        ("change_cutoff_minutes", change_cutoff_minutes, 0),
    ):
        if value is not None:
            if value < low:
                raise ValueError(f"{name} must be at least {low}")
            changes[name] = value
    if online_share is not None and online_share > 100:
        raise ValueError("online_share is a percentage (0-100)")
    try:
        async with in_transaction():
            if changes:
                await StoreSchedule.filter(id=SCHEDULE_ID).update(**changes)
            clear_cache()  # the recount must see the new slot length
            if slot_minutes is not None:
                await recount_load(now)
    finally:
        clear_cache()
    return await StoreSchedule.get(id=SCHEDULE_ID)


async def set_service(
    code: str,
    *,
    name: str | None = None,
    duration_minutes: int | None = None,
    active: bool | None = None,
    bookable_online: bool | None = None,
    sort_order: int | None = None,
) -> ServiceKind:
    """Edit one service; booked appointments keep the duration they were booked with."""
    kind = await ServiceKind.get_or_none(code=code)
    if kind is None:
        raise ValueError(f"unknown service {code!r}")
    if duration_minutes is not None and duration_minutes < 5:
        raise ValueError("a service lasts at least 5 minutes")
    if name is not None:
        kind.name = name.strip()[:16] or kind.name
    if duration_minutes is not None:
        kind.duration_minutes = duration_minutes
    if active is not None:
        kind.active = active
    if bookable_online is not None:
        kind.bookable_online = bookable_online
    if sort_order is not None:
        kind.sort_order = sort_order
    try:
        await kind.save()
    finally:
        clear_cache()
    return kind


async def recount_load(now: datetime) -> int:
    """Rebuild slot loads from today on from the active appointments; returns the rows changed.

    Needed after the grid moves (slot length, opening time). Run it while nobody books, as an edit from
    the CLI is: a booking committed during the recount may be counted on the old grid until the next one.
    """
    cal = await load_calendar()
    since = datetime.combine(cal.day_of(now), time(), tzinfo=cal.tz).astimezone(UTC)
    async with in_transaction():
        appointments = await Appointment.filter(status__in=ACTIVE_STATUSES, end_at__gt=since).values_list(
            "start_at", "end_at"
        )
        wanted: Counter[datetime] = Counter()
        for start, end in appointments:
            wanted.update(s.astimezone(UTC) for s in cal.covered(start, end))
        current = {s: b for s, b in await SlotLoad.filter(slot_start__gte=since).values_list("slot_start", "booked")}
        changed = 0
        for slot, booked in current.items():
            if wanted.get(slot, 0) != booked:
                await SlotLoad.filter(slot_start=slot).update(booked=wanted.get(slot, 0))
                changed += 1
        for slot, booked in wanted.items():
            if slot not in current and slot >= since:
                await SlotLoad.create(slot_start=slot, booked=booked)
                changed += 1
    return changed
