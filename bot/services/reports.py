"""Managers' numbers for a day, week or month: bookings, visits, show rate, follow-ups and tasks per clerk."""

# Every number is one aggregate query over an indexed time column (created_at, start_at, completed_at,
# done_at), so a report costs the same whatever the size of the history. Periods are calendar days,
# Monday-to-Sunday weeks and calendar months in the store's time zone; times are compared in UTC.

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise.functions import Count

from bot.models import Appointment, AppointmentStatus, BookingSource, FollowUp, Staff
from bot.services import reminders, tasks


class PeriodKind(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in the store's time zone; `first` and `last` are its first and last days."""

    kind: PeriodKind
    start: datetime
    end: datetime

    @property
    def first(self) -> date:
        return self.start.date()

    @property
    def last(self) -> date:
        return (self.end - timedelta(days=1)).date()


def period(kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Period:
    """The calendar day, Monday-to-Sunday week or calendar month `kind` names, seen from `now`."""
    today = now.astimezone(tz).date()
    if kind in (PeriodKind.TODAY, PeriodKind.YESTERDAY):
        first = today - timedelta(days=1 if kind is PeriodKind.YESTERDAY else 0)
        after = first + timedelta(days=1)
    elif kind in (PeriodKind.THIS_WEEK, PeriodKind.LAST_WEEK):
        first = today - timedelta(days=today.weekday() + (7 if kind is PeriodKind.LAST_WEEK else 0))
        after = first + timedelta(days=7)
    else:
        this_month = today.replace(day=1)
        if kind is PeriodKind.LAST_MONTH:
            first, after = (this_month - timedelta(days=1)).replace(day=1), this_month
        else:
            first = this_month
            after = (this_month + timedelta(days=32)).replace(day=1)
    return Period(kind, _midnight(first, tz), _midnight(after, tz))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


@dataclass(frozen=True, slots=True)
class ClerkLine:
    """One staff member's part of a report."""

    staff_id: int
    name: str
    active: bool
    booked: int  # appointments they booked for customers (代客预约) in the period
    follow_ups: int  # follow-ups they logged
    reached: int  # distinct customers their follow-ups reached
    tasks_done: int
    tasks_overdue: int  # as in `tasks.TaskStats.overdue`


@dataclass(frozen=True, slots=True)
class Report:
    """The store's numbers for one period.

    - `booked_self` / `booked_by_clerks`: appointments made in the period (created_at), by source;
    - `completed`: visits completed in the period (completed_at);
    - `due`: appointments that started in the period, up to now, and were not cancelled; `showed` of them
      were checked in or completed; `show_rate` = showed / due (None when nothing was due);
    - `no_shows`: appointments that started in the period and are marked no-show;
    - `follow_ups`, `reached`: follow-ups logged in the period and distinct customers they reached;
    - `tasks_done`, `tasks_overdue`: summed over staff as `tasks.stats` counts them;
    - `lost`: customers the scheduler marked lost (流失: not back within 12 months) in the period.
    """

    period: Period
    booked_self: int
    booked_by_clerks: int
    completed: int
    due: int
    showed: int
    no_shows: int
    follow_ups: int
    reached: int
    tasks_done: int
    tasks_overdue: int
    lost: int
    clerks: tuple[ClerkLine, ...]

    @property
    def booked(self) -> int:
        return self.booked_self + self.booked_by_clerks

    @property
    def show_rate(self) -> float | None:
        return self.showed / self.due if self.due else None


async def build(kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Report:
    """The report for the period `kind` names, as of `now`."""
    span = period(kind, now, tz)
    start, end = span.start.astimezone(UTC), span.end.astimezone(UTC)
    in_span = {"created_at__gte": start, "created_at__lt": end}

    booked_self = booked_by_clerks = 0
    booked_by: dict[int, int] = {}
    for source, staff_id, n in (
        await Appointment.filter(**in_span)
        .annotate(n=Count("id"))
        .group_by("source", "booked_by_id")
        .values_list("source", "booked_by_id", "n")
    ):
        if source == BookingSource.SELF:
            booked_self += n
        else:
            booked_by_clerks += n
            if staff_id is not None:
                booked_by[staff_id] = booked_by.get(staff_id, 0) + n

    completed = await Appointment.filter(
        status=AppointmentStatus.COMPLETED, completed_at__gte=start, completed_at__lt=end
    ).count()

    # Appointments still to start are not yet due: the show rate only counts starts up to now.
    due_until = min(end, now.astimezone(UTC))
    by_status: dict[str, int] = dict(
        await Appointment.filter(start_at__gte=start, start_at__lt=due_until)
        .exclude(status=AppointmentStatus.CANCELLED)
        .annotate(n=Count("id"))
        .group_by("status")
        .values_list("status", "n")
    )
    showed = by_status.get(AppointmentStatus.CHECKED_IN, 0) + by_status.get(AppointmentStatus.COMPLETED, 0)
    no_shows = await Appointment.filter(status=AppointmentStatus.NO_SHOW, start_at__gte=start, start_at__lt=end).count()

    logged: dict[int, int] = dict(
        await FollowUp.filter(**in_span, staff_id__isnull=False)
        .annotate(n=Count("id"))
        .group_by("staff_id")
        .values_list("staff_id", "n")
    )
    follow_ups = await FollowUp.filter(**in_span).count()
    reached_by: dict[int, int] = dict(
        await FollowUp.filter(**in_span, reached=True, staff_id__isnull=False)
        .annotate(n=Count("customer_id", distinct=True))
        .group_by("staff_id")
        .values_list("staff_id", "n")
    )
    reached = len(set(await FollowUp.filter(**in_span, reached=True).values_list("customer_id", flat=True)))

    task_rows = {row.staff_id: row for row in await tasks.stats(span.start, span.end, now)}
    busy = booked_by.keys() | logged.keys() | task_rows.keys()
    members = await Staff.filter(tasks.clerks_and(busy)).order_by("id")
    lines = []
    for member in members:
        done = task_rows[member.id].done if member.id in task_rows else 0
        overdue = task_rows[member.id].overdue if member.id in task_rows else 0
        lines.append(
            ClerkLine(
                staff_id=member.id,
                name=member.name,
                active=member.active,
                booked=booked_by.get(member.id, 0),
                follow_ups=logged.get(member.id, 0),
                reached=reached_by.get(member.id, 0),
                tasks_done=done,
                tasks_overdue=overdue,
            )
        )
    lines.sort(key=lambda line: (not line.active, line.staff_id))
    return Report(
        period=span,
        booked_self=booked_self,
        booked_by_clerks=booked_by_clerks,
        completed=completed,
        due=sum(by_status.values()),
        showed=showed,
        no_shows=no_shows,
        follow_ups=follow_ups,
        reached=reached,
        tasks_done=sum(row.done for row in task_rows.values()),
        tasks_overdue=sum(row.overdue for row in task_rows.values()),
        lost=await reminders.lost_count(start, end),
        clerks=tuple(lines),
    )
