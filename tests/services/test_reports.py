"""Report numbers for a day, a week and a month, each checked against rows made here with the ORM."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from bot.models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Customer,
    FollowUp,
    Staff,
    StaffRole,
    Task,
    TaskStatus,
    Vehicle,
)
from bot.services import reports
from bot.services.reports import ClerkLine, PeriodKind

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 10, 30, tzinfo=TZ)  # Saturday; the week is Mon 23 - Sun 29 November
_refs = count(1)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def staff(name: str, role: StaffRole = StaffRole.CLERK, active: bool = True) -> Staff:
    return await Staff.create(name=name, mobile="13900000000", role=role, active=active, created_at=NOW)


async def customer(name: str) -> Customer:
    n = next(_refs)
    person = await Customer.create(name=name, mobile=f"1380000{n:04d}", created_at=NOW)
    await Vehicle.create(customer=person, plate=f"粤A{n:05d}", created_at=NOW)
    return person


async def appointment(
    created: datetime,
    start: datetime,
    status: AppointmentStatus,
    *,
    by: Staff | None = None,
    completed: datetime | None = None,
    checked_in: datetime | None = None,
) -> Appointment:
    person = await customer("预约客户")
    vehicle = await Vehicle.get(customer_id=person.id)
    return await Appointment.create(
        reference=f"A{next(_refs)}",
        customer=person,
        vehicle=vehicle,
        service="maintenance",
        start_at=start,
        end_at=start,
        status=status,
        source=BookingSource.CLERK if by else BookingSource.SELF,
        booked_by=by,
        created_at=created,
        updated_at=created,
        completed_at=completed,
        checked_in_at=checked_in,
    )


async def follow_up(who: Staff, person: Customer, at_: datetime, reached: bool = True) -> None:
    await FollowUp.create(customer=person, staff=who, reached=reached, content="沟通保养", created_at=at_)


async def task(who: Staff, due: datetime | None, done: datetime | None = None) -> None:
    await Task.create(
        title="回访",
        assignee=who,
        due_at=due,
        status=TaskStatus.DONE if done else TaskStatus.OPEN,
        done_at=done,
        created_at=at(11, 1, 9),
    )


async def seed() -> dict[str, Any]:
    """A store's month: appointments, follow-ups and tasks spread over today, this week and this month.

    The expected numbers in the tests below are counted by hand from these rows (see each comment)."""
    await staff("王店长", StaffRole.MANAGER)
    zhang, li = await staff("张三"), await staff("李四")
    gone = await staff("孙七", active=False)
    done, booked = AppointmentStatus.COMPLETED, AppointmentStatus.BOOKED
    # 1 today, self-booked, completed today        2 today, by 张三, no-show
    await appointment(at(11, 28, 9), at(11, 28, 9), done, completed=at(11, 28, 10))
    await appointment(at(11, 28, 8), at(11, 28, 8, 30), AppointmentStatus.NO_SHOW, by=zhang)
    # 3 today, self-booked, starts this afternoon  4 today, by 李四, cancelled
    await appointment(at(11, 28, 10), at(11, 28, 15), booked)
    await appointment(at(11, 28, 10, 10), at(11, 28, 9, 30), AppointmentStatus.CANCELLED, by=li)
    # 5 Tuesday, self, completed Wednesday         6 Tuesday, by 张三, checked in Thursday
    await appointment(at(11, 24, 9), at(11, 25, 10), done, completed=at(11, 25, 11))
    await appointment(
        at(11, 24, 9), at(11, 26, 10), AppointmentStatus.CHECKED_IN, by=zhang, checked_in=at(11, 26, 10, 5)
    )
    # 7 early November, self, no-show              8 booked in October, completed 2 November
    await appointment(at(11, 2, 9), at(11, 3, 10), AppointmentStatus.NO_SHOW)
    await appointment(at(10, 30, 9), at(11, 2, 10), done, completed=at(11, 2, 11))
    # 9 Friday, self, for next Monday
    await appointment(at(11, 27, 9), at(11, 30, 10), booked)

    a, b, c = await customer("甲"), await customer("乙"), await customer("丙")
    await follow_up(zhang, a, at(11, 28, 9))
    await follow_up(zhang, a, at(11, 28, 9, 30))
    await follow_up(zhang, b, at(11, 28, 10), reached=False)
    await follow_up(li, a, at(11, 28, 10, 15))
    await follow_up(li, c, at(11, 24, 15))
    await follow_up(zhang, c, at(11, 5, 15))
    await follow_up(gone, b, at(11, 28, 9))  # a clerk since deactivated: still in the numbers

    await task(zhang, at(11, 27, 18))  # open, overdue
    await task(zhang, at(11, 30, 18))  # open, not yet due
    await task(li, at(11, 28, 18), done=at(11, 28, 9))  # done today, on time
    await task(li, at(11, 23, 18), done=at(11, 24, 9))  # done Tuesday, late
    await task(zhang, at(11, 4, 18), done=at(11, 3, 9))  # done early November, on time

    # Customers the scheduler marked lost (流失): this morning, on Tuesday, in October; one never.
    for name, when in (("丁", at(11, 28, 8, 5)), ("戊", at(11, 24, 8, 5)), ("己", at(10, 20, 8, 5)), ("庚", None)):
        gone_customer = await customer(name)
        gone_customer.lost_at = when
        await gone_customer.save()
    return {"zhang": zhang, "li": li, "gone": gone}


def line(
    who: Staff, booked: int, follow_ups: int, reached: int, done: int, overdue: int, active: bool = True
) -> ClerkLine:
    return ClerkLine(who.id, who.name, active, booked, follow_ups, reached, done, overdue)


async def test_periods_are_store_local_days_monday_weeks_and_months() -> None:
    today = reports.period(PeriodKind.TODAY, NOW, TZ)
    assert (today.start, today.end) == (datetime(2026, 11, 28, tzinfo=TZ), datetime(2026, 11, 29, tzinfo=TZ))
    week = reports.period(PeriodKind.THIS_WEEK, NOW, TZ)
    assert (week.first.isoformat(), week.last.isoformat()) == ("2026-11-23", "2026-11-29")
    last_week = reports.period(PeriodKind.LAST_WEEK, NOW, TZ)
    assert (last_week.first.isoformat(), last_week.last.isoformat()) == ("2026-11-16", "2026-11-22")
    month = reports.period(PeriodKind.THIS_MONTH, NOW, TZ)
    assert (month.first.isoformat(), month.last.isoformat()) == ("2026-11-01", "2026-11-30")
    december = reports.period(PeriodKind.LAST_MONTH, datetime(2027, 1, 3, tzinfo=TZ), TZ)
    assert (december.first.isoformat(), december.last.isoformat()) == ("2026-12-01", "2026-12-31")
    # Just after midnight UTC is still the previous evening's day in the store... and vice versa.
    early = reports.period(PeriodKind.TODAY, datetime(2026, 11, 27, 16, 30, tzinfo=UTC), TZ)
    assert early.first.isoformat() == "2026-11-28"


async def test_today(database: str) -> None:
    s = await seed()
    r = await reports.build(PeriodKind.TODAY, NOW, TZ)
    assert (r.booked_self, r.booked_by_clerks, r.booked) == (2, 2, 4)  # 1, 3 | 2, 4
    assert r.completed == 1  # 1
    assert (r.showed, r.due, r.show_rate) == (1, 2, 0.5)  # 1 of 1, 2 (3 not started, 4 cancelled)
    assert r.no_shows == 1  # 2
    assert (r.follow_ups, r.reached) == (5, 2)  # 甲, 乙 (乙 reached by 孙七; 张三 missed 乙)
    assert (r.tasks_done, r.tasks_overdue) == (1, 1)
    assert r.lost == 1  # 丁
    assert r.clerks == (
        line(s["zhang"], 1, 3, 1, 0, 1),
        line(s["li"], 1, 1, 1, 1, 0),
        line(s["gone"], 0, 1, 1, 0, 0, active=False),
    )


async def test_this_week(database: str) -> None:
    s = await seed()
    r = await reports.build(PeriodKind.THIS_WEEK, NOW, TZ)
    assert (r.booked_self, r.booked_by_clerks) == (4, 3)  # 1, 3, 5, 9 | 2, 4, 6
    assert r.completed == 2  # 1, 5
    assert (r.showed, r.due, r.show_rate) == (3, 4, 0.75)  # 1, 5, 6 of 1, 2, 5, 6
    assert r.no_shows == 1  # 2
    assert (r.follow_ups, r.reached) == (6, 3)  # 甲, 乙, 丙
    assert (r.tasks_done, r.tasks_overdue) == (2, 2)  # 李四's two; 张三's open one and 李四's late one
    assert r.lost == 2  # 丁, 戊
    assert r.clerks == (
        line(s["zhang"], 2, 3, 1, 0, 1),
        line(s["li"], 1, 2, 2, 2, 1),
        line(s["gone"], 0, 1, 1, 0, 0, active=False),
    )


async def test_this_month(database: str) -> None:
    s = await seed()
    r = await reports.build(PeriodKind.THIS_MONTH, NOW, TZ)
    assert (r.booked_self, r.booked_by_clerks) == (5, 3)  # 1, 3, 5, 7, 9 | 2, 4, 6 (8 was booked in October)
    assert r.completed == 3  # 1, 5, 8
    assert (r.showed, r.due) == (4, 6)  # 1, 5, 6, 8 of 1, 2, 5, 6, 7, 8
    assert r.no_shows == 2  # 2, 7
    assert (r.follow_ups, r.reached) == (7, 3)
    assert (r.tasks_done, r.tasks_overdue) == (3, 2)
    assert r.lost == 2  # 丁, 戊 (己 was in October)
    assert r.clerks == (
        line(s["zhang"], 2, 4, 2, 1, 1),
        line(s["li"], 1, 2, 2, 2, 1),
        line(s["gone"], 0, 1, 1, 0, 0, active=False),
    )


async def test_an_empty_store_has_no_show_rate(database: str) -> None:
    r = await reports.build(PeriodKind.TODAY, NOW, TZ)
    assert (r.booked, r.completed, r.due, r.show_rate, r.lost, r.clerks) == (0, 0, 0, None, 0, ())
