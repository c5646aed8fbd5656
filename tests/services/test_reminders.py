"""The reminder rules' pure decisions: quiet hours, reminder moments, overdue mornings, periods, lost."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services import reminders

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "start", "end", "held_to"),
    [
        (at(11, 28, 21, 30), time(21), time(8), at(11, 29, 8)),
        (at(11, 28, 23, 59), time(21), time(8), at(11, 29, 8)),
        (at(11, 29, 6, 30), time(21), time(8), at(11, 29, 8)),
        (at(11, 29, 8, 0), time(21), time(8), None),
        (at(11, 28, 20, 59), time(21), time(8), None),
        (at(11, 28, 13, 0), time(12), time(14), at(11, 28, 14)),  # a span within one day
        (at(11, 28, 3, 0), time(0), time(0), None),  # equal ends: no quiet hours
    ],
)
def test_quiet_hours_hold_customer_messages_until_they_end(
    now: datetime, start: time, end: time, held_to: datetime | None
) -> None:
    assert reminders.quiet_until(now, TZ, start, end) == held_to


def test_the_evening_reminder_is_at_six_the_day_before_and_the_two_hour_one_needs_two_hours_notice() -> None:
    assert reminders.evening_before(at(11, 29, 9), TZ) == at(11, 28, 18)
    assert reminders.wants_soon_reminder(at(11, 29, 11), at(11, 29, 9))
    assert not reminders.wants_soon_reminder(at(11, 29, 11), at(11, 29, 9, 1))


@pytest.mark.parametrize(
    ("due", "now", "morning"),
    [
        (at(11, 28, 16), at(11, 28, 17), None),  # overdue, but the first morning is tomorrow
        (at(11, 28, 16), at(11, 29, 9), 1),
        (at(11, 28, 16), at(11, 30, 9), 2),
        (at(11, 28, 16), at(12, 1, 9), 3),
        (at(11, 28, 16), at(12, 2, 9), None),  # at most 3 mornings running
        (at(11, 28, 8), at(11, 28, 9), 1),  # due before 09:00: this morning is the first
        (at(11, 29, 16), at(11, 28, 9), None),  # not due yet
    ],
)
def test_overdue_tasks_are_reminded_on_at_most_three_mornings(
    due: datetime, now: datetime, morning: int | None
) -> None:
    assert reminders.overdue_morning(due.astimezone(UTC), now.astimezone(UTC), TZ) == morning


def test_maintenance_repeats_every_30_days_from_the_due_day() -> None:
    due = date(2026, 12, 1)
    assert reminders.maintenance_period(due, date(2026, 11, 30)) is None
    assert reminders.maintenance_period(due, date(2026, 12, 1)) == 0
    assert reminders.maintenance_period(due, date(2026, 12, 30)) == 0
    assert reminders.maintenance_period(due, date(2026, 12, 31)) == 1


def test_a_customer_is_lost_twelve_months_after_the_last_visit_without_a_booking() -> None:
    today = date(2026, 11, 28)
    assert reminders.is_lost(date(2025, 11, 27), None, today)
    assert not reminders.is_lost(date(2025, 11, 28), None, today)
    assert not reminders.is_lost(date(2025, 10, 1), date(2026, 3, 1), today)  # booked since
    assert not reminders.is_lost(None, None, today)  # never visited: not "not back"
