"""The store's calendar: which starts are open, why others are refused, and what is offered instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, time

import pytest
from tortoise.transactions import in_transaction

from bot.models import BookingSource, ClosedDay, OpeningHours, ServiceKind, SlotLoad, StoreSchedule
from bot.services import schedule
from tests.services.conftest import NOW, TZ, Person, at, book, load


async def fill(start: str, places: int = 3) -> None:
    """Occupy `places` of the slot at `start` (as 30-minute inspections booked by other customers)."""
    await SlotLoad.create(slot_start=at(start), booked=places)


CASES = [
    # (service, requested start, reason or None, alternatives)
    ("maintenance", "11-28 09:00", "past", ["11-28 11:30", "11-28 12:00", "11-28 12:30"]),
    ("maintenance", "11-28 10:30", "past", ["11-28 11:30", "11-28 12:00", "11-28 12:30"]),
    ("maintenance", "11-28 11:00", "too_soon", ["11-28 11:30", "11-28 12:00", "11-28 12:30"]),
    ("maintenance", "11-28 11:30", None, []),
    ("maintenance", "12-28 17:00", None, []),
    ("maintenance", "12-29 10:00", "too_far", ["12-28 16:00", "12-28 16:30", "12-28 17:00"]),
    ("maintenance", "11-29 08:00", "outside_hours", ["11-29 08:30", "11-29 09:00", "11-29 09:30"]),
    ("maintenance", "11-29 08:30", None, []),
    ("maintenance", "11-29 12:00", None, []),  # no lunch break
    ("maintenance", "11-29 12:30", None, []),
    ("maintenance", "11-29 17:00", None, []),
    ("maintenance", "11-29 17:30", "outside_hours", ["11-29 16:00", "11-29 16:30", "11-29 17:00"]),
    ("maintenance", "11-29 18:00", "outside_hours", ["11-29 16:00", "11-29 16:30", "11-29 17:00"]),
    ("maintenance", "11-29 21:00", "outside_hours", ["11-29 16:00", "11-29 16:30", "11-29 17:00"]),
    ("major_service", "11-29 16:00", None, []),
    ("major_service", "11-29 16:30", "outside_hours", ["11-29 15:00", "11-29 15:30", "11-29 16:00"]),
    ("inspection", "11-29 17:30", None, []),
    ("maintenance", "11-29 15:10", "not_on_grid", ["11-29 14:30", "11-29 15:00", "11-29 15:30"]),
    ("maintenance", "11-29 15:15", "not_on_grid", ["11-29 14:30", "11-29 15:00", "11-29 15:30"]),
    ("maintenance", "11-29 15:20", "not_on_grid", ["11-29 15:00", "11-29 15:30", "11-29 16:00"]),
    ("oil_change", "11-29 15:00", "unknown_service", []),
]


@pytest.mark.parametrize(("service", "start", "reason", "alternatives"), CASES)
async def test_check_rules(store: None, service: str, start: str, reason: str | None, alternatives: list[str]) -> None:
    result = await schedule.check(service, at(start), NOW)
    assert (result.reason, [f"{a:%m-%d %H:%M}" for a in result.alternatives]) == (reason, alternatives)
    assert result.ok is (reason is None)
    assert all(a.tzinfo == TZ for a in result.alternatives)


async def test_an_ok_check_says_what_to_reserve(store: None) -> None:
    result = await schedule.check("major_service", at("11-29 15:00"), NOW)
    assert result.ok and result.end == at("11-29 17:00") and result.capacity == 3
    assert result.slots == (at("11-29 15:00"), at("11-29 15:30"), at("11-29 16:00"), at("11-29 16:30"))
    assert (result.lead_minutes, result.horizon_days, result.hours_text) == (60, 30, "08:30-18:00")


async def test_a_closed_date_is_refused_with_the_nearest_open_days(store: None) -> None:
    await schedule.add_closed_day(date(2026, 12, 1), "盘点")
    result = await schedule.check("maintenance", at("12-01 10:00"), NOW)
    assert result.reason == "closed_day" and result.hours_text is None
    # 30 Nov 17:00 is 17 h before, 2 Dec 08:30 is 22.5 h after: the evening before wins.
    assert result.alternatives == [at("11-30 16:00"), at("11-30 16:30"), at("11-30 17:00")]


async def test_a_closed_weekday_is_refused(store: None) -> None:
    await schedule.set_opening_hours(6, time(8, 30), time(18, 0), closed=True, now=NOW)
    result = await schedule.check("maintenance", at("11-29 10:00"), NOW)
    assert result.reason == "closed_day"
    # Saturday 17:00 is 17 h before, Monday 08:30 22.5 h after.
    assert result.alternatives == [at("11-28 16:00"), at("11-28 16:30"), at("11-28 17:00")]


async def test_a_full_slot_offers_the_three_nearest_open_starts_in_time_order(store: None) -> None:
    await fill("11-29 15:00")
    result = await schedule.check("maintenance", at("11-29 15:00"), NOW)
    # 14:30 and 15:00 both cover the full 15:00 slot; 15:30 is 30 min away, 14:00 and 16:00 60 min.
    assert result.reason == "full"
    assert result.alternatives == [at("11-29 14:00"), at("11-29 15:30"), at("11-29 16:00")]
    assert not (await schedule.check("maintenance", at("11-29 14:30"), NOW)).ok
    assert (await schedule.check("inspection", at("11-29 14:30"), NOW)).ok


async def test_clerks_book_the_whole_capacity_customers_only_the_online_share(store: None) -> None:
    await fill("11-29 15:00")
    assert (await schedule.check("inspection", at("11-29 15:00"), NOW)).reason == "full"
    clerk = await schedule.check("inspection", at("11-29 15:00"), NOW, source=BookingSource.CLERK)
    assert clerk.ok and clerk.capacity == 4
    await SlotLoad.filter(slot_start=at("11-29 15:00").astimezone(UTC)).update(booked=4)
    assert (await schedule.check("inspection", at("11-29 15:00"), NOW, source="clerk")).reason == "full"


async def test_a_service_not_bookable_online_is_for_clerks_only(store: None) -> None:
    await schedule.set_service("bodywork", bookable_online=False)
    assert (await schedule.check("bodywork", at("11-29 10:00"), NOW)).reason == "unknown_service"
    assert (await schedule.check("bodywork", at("11-29 10:00"), NOW, source="clerk")).ok
    assert "bodywork" not in [s.code for s in await schedule.bookable_services()]
    assert "bodywork" in [s.code for s in await schedule.bookable_services(source="clerk")]


async def test_held_slots_count_as_free_for_a_move(store: None) -> None:
    await fill("11-29 15:30")
    assert (await schedule.check("maintenance", at("11-29 15:30"), NOW)).reason == "full"
    moving = await schedule.check("maintenance", at("11-29 15:30"), NOW, held=[at("11-29 15:30")])
    assert moving.ok


async def test_excluded_starts_are_never_offered(store: None) -> None:
    result = await schedule.check("maintenance", at("11-29 15:10"), NOW, exclude=[at("11-29 15:00")])
    assert result.alternatives == [at("11-29 14:30"), at("11-29 15:30"), at("11-29 16:00")]


async def test_naive_times_are_refused(store: None) -> None:
    with pytest.raises(ValueError, match="naive"):
        await schedule.check("maintenance", at("11-29 15:00").replace(tzinfo=None), NOW)


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("morning", ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
        (
            "afternoon",
            ["12:00", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30", "17:00"],
        ),
        ("evening", []),
    ],
)
async def test_open_slots_by_day_part(store: None, part: schedule.DayPart, expected: list[str]) -> None:
    starts = await schedule.open_slots("maintenance", date(2026, 11, 29), NOW, part=part)
    assert [f"{s:%H:%M}" for s in starts] == expected


async def test_open_slots_today_start_after_the_lead_and_skip_full_slots(store: None) -> None:
    await fill("11-28 14:00")
    starts = await schedule.open_slots("maintenance", date(2026, 11, 28), NOW, part="afternoon", limit=5)
    assert [f"{s:%H:%M}" for s in starts] == ["12:00", "12:30", "13:00", "14:30", "15:00"]
    morning = await schedule.open_slots("maintenance", date(2026, 11, 28), NOW, part="morning")
    assert [f"{s:%H:%M}" for s in morning] == ["11:30"]


async def test_evening_slots_when_the_store_opens_late(store: None) -> None:
    await schedule.set_opening_hours(0, time(8, 30), time(20, 0), now=NOW)
    starts = await schedule.open_slots("maintenance", date(2026, 11, 30), NOW, part="evening")
    assert [f"{s:%H:%M}" for s in starts] == ["18:00", "18:30", "19:00"]


async def test_no_open_slots_on_closed_past_or_too_far_days(store: None) -> None:
    await schedule.add_closed_day(date(2026, 12, 1))
    for day in (date(2026, 12, 1), date(2026, 11, 27), date(2026, 12, 29)):
        assert await schedule.open_slots("maintenance", day, NOW) == []
    assert await schedule.open_slots("no_such_service", date(2026, 11, 29), NOW) == []


async def test_a_day_with_no_open_start_says_why(store: None) -> None:
    await schedule.add_closed_day(date(2026, 12, 1))
    for hour in range(8, 18):
        for minute in (0, 30):
            if (hour, minute) >= (8, 30):
                await fill(f"11-30 {hour:02d}:{minute:02d}")
    cases = [
        (date(2026, 12, 1), None, "closed_day"),
        (date(2026, 11, 27), None, "past"),
        (date(2026, 12, 29), None, "too_far"),
        (date(2026, 11, 30), None, "full"),
        (date(2026, 11, 29), "evening", "outside_hours"),
    ]
    for day, part, reason in cases:
        check = await schedule.day_check("inspection", day, NOW, part=part)
        assert (check.reason, len(check.alternatives)) == (reason, 3), day
    # The closed day is named, its hours unknown; the alternatives are the open starts nearest its 10:00.
    closed = await schedule.day_check("inspection", date(2026, 12, 1), NOW)
    assert closed.requested == at("12-01 10:00") and closed.hours_text is None
    assert closed.alternatives == [at("12-02 08:30"), at("12-02 09:00"), at("12-02 09:30")]
    # This morning at 11:05 the last starts are inside the hour's lead, the rest past.
    late = await schedule.day_check("inspection", date(2026, 11, 28), at("11-28 11:05"), part="morning")
    assert late.reason == "too_soon"


async def test_nearest_open_skips_a_full_day(store: None) -> None:
    for hour in range(8, 18):
        for minute in (0, 30):
            if (hour, minute) >= (8, 30):
                await fill(f"11-30 {hour:02d}:{minute:02d}")
    nearest = await schedule.nearest_open("inspection", at("11-30 10:00"), NOW)
    # 29 Nov 17:30 is 16.5 h before 10:00 on the 30th, 1 Dec 08:30 is 22.5 h after.
    assert nearest == [at("11-29 16:30"), at("11-29 17:00"), at("11-29 17:30")]
    assert await schedule.open_slots("inspection", date(2026, 11, 30), NOW) == []


async def test_ensure_defaults_is_idempotent_and_keeps_edits(store: None) -> None:
    await schedule.set_service("maintenance", duration_minutes=90)
    await schedule.set_rules(NOW, capacity_per_slot=6)
    await schedule.ensure_defaults("Asia/Shanghai")
    assert await ServiceKind.all().count() == 10 and await OpeningHours.all().count() == 7
    assert (await ServiceKind.get(code="maintenance")).duration_minutes == 90
    assert (await StoreSchedule.get(id=1)).capacity_per_slot == 6
    menu = await schedule.bookable_services()
    assert [(s.code, s.name, s.duration_minutes) for s in menu][:3] == [
        ("maintenance", "保养", 90),
        ("minor_service", "小保养", 60),
        ("major_service", "大保养", 120),
    ]
    await schedule.ensure_defaults("Asia/Urumqi")
    assert (await schedule.load_calendar()).tz.key == "Asia/Urumqi"


async def test_services_need_the_schedule_to_be_set_up(database: str) -> None:
    with pytest.raises(schedule.ScheduleNotReady):
        await schedule.check("maintenance", at("11-29 15:00"), NOW)


@pytest.mark.parametrize(("capacity", "share", "online"), [(4, 75, 3), (4, 100, 4), (4, 0, 1), (1, 50, 1), (10, 75, 7)])
def test_online_capacity(capacity: int, share: int, online: int) -> None:
    assert schedule.online_capacity(capacity, share) == online


async def test_capacity_and_rules_edits_apply_to_the_next_check(store: None) -> None:
    await fill("11-29 15:00", places=3)
    await schedule.set_rules(NOW, capacity_per_slot=8)  # online share 75 % of 8 = 6
    assert (await schedule.check("inspection", at("11-29 15:00"), NOW)).ok
    await schedule.set_rules(NOW, min_lead_minutes=0, horizon_days=60)
    assert (await schedule.check("inspection", at("11-28 11:00"), NOW)).ok
    assert (await schedule.check("inspection", at("01-20 11:00").replace(year=2027), NOW)).ok
    with pytest.raises(ValueError):
        await schedule.set_rules(NOW, online_share=120)
    with pytest.raises(ValueError):
        await schedule.set_rules(NOW, capacity_per_slot=0)


async def test_a_new_slot_length_recounts_future_loads(store: None, person: Person) -> None:
    await book(person, "maintenance", at("11-29 15:00"))  # covers 15:00 and 15:30
    await book(person, "inspection", at("11-29 16:30"))
    await schedule.set_rules(NOW, slot_minutes=60)
    assert [await load(at(f"11-29 {t}")) for t in ("14:30", "15:30", "16:30")] == [1, 1, 1]
    assert await load(at("11-29 15:00")) == 0
    assert (await schedule.check("maintenance", at("11-29 16:30"), NOW)).ok
    assert (await schedule.check("maintenance", at("11-29 15:00"), NOW)).reason == "not_on_grid"
    await schedule.set_rules(NOW, slot_minutes=30)
    assert [await load(at(f"11-29 {t}")) for t in ("15:00", "15:30", "16:30")] == [1, 1, 1]
    assert await load(at("11-29 14:30")) == 0


async def test_opening_hours_must_make_sense(store: None) -> None:
    with pytest.raises(ValueError):
        await schedule.set_opening_hours(7, time(9), time(17), now=NOW)
    with pytest.raises(ValueError):
        await schedule.set_opening_hours(0, time(18), time(9), now=NOW)
    hours = await schedule.set_opening_hours(0, time(9), time(0), now=NOW)
    assert (hours.opens_minute, hours.closes_minute) == (540, 1440)
    assert (await schedule.load_calendar()).hours_text(date(2026, 11, 30)) == "09:00-24:00"


async def test_closed_days_are_added_listed_and_removed(store: None, person: Person) -> None:
    await book(person, "maintenance", at("12-01 10:00"))
    await schedule.add_closed_day(date(2026, 12, 1), "盘点")
    await schedule.add_closed_day(date(2026, 12, 1), "年终盘点")
    assert [(d.day, d.reason) for d in await schedule.closed_days(date(2026, 11, 28))] == [
        (date(2026, 12, 1), "年终盘点")
    ]
    assert await schedule.active_appointments_on(date(2026, 12, 1)) == 1
    assert await schedule.remove_closed_day(date(2026, 12, 1)) is True
    assert await schedule.remove_closed_day(date(2026, 12, 1)) is False
    assert await ClosedDay.all().count() == 0


def test_lead_text() -> None:
    assert [schedule.lead_text(m) for m in (60, 30, 90, 120)] == ["1小时", "30分钟", "1小时30分钟", "2小时"]


async def test_two_workers_seeding_at_once_make_one_set_of_rows(database: str) -> None:
    await asyncio.gather(*(schedule.ensure_defaults("Asia/Shanghai") for _ in range(3)))
    assert await ServiceKind.all().count() == 10 and await OpeningHours.all().count() == 7
    assert await StoreSchedule.all().count() == 1


async def test_rules_are_cached_until_expiry_but_own_edits_apply_at_once(
    store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(schedule._time, "monotonic", lambda: clock[0])
    assert (await schedule.load_calendar()).capacity == 4
    assert (await schedule.service_kind("tyres")) is not None
    # Another worker's edits, straight to the database: this worker keeps its snapshot for a while...
    await StoreSchedule.filter(id=1).update(capacity_per_slot=6)
    await ServiceKind.filter(code="tyres").update(active=False)
    await ClosedDay.create(day=date(2026, 11, 30), reason="")
    clock[0] += schedule.CACHE_SECONDS - 1
    cal = await schedule.load_calendar()
    assert cal.capacity == 4 and cal.is_open(date(2026, 11, 30))
    assert (await schedule.service_kind("tyres")) is not None
    # ...and reads them again once it expires.
    clock[0] += 2
    cal = await schedule.load_calendar()
    assert cal.capacity == 6 and not cal.is_open(date(2026, 11, 30))
    assert (await schedule.service_kind("tyres")) is None
    assert "tyres" not in [kind.code for kind in await schedule.bookable_services()]
    # This worker's own edits clear the cache at once, whatever the clock says.
    await schedule.set_rules(NOW, capacity_per_slot=8)
    assert (await schedule.load_calendar()).capacity == 8
    await schedule.set_service("tyres", active=True, name="换胎")
    assert (await schedule.service_kind("tyres")) is not None
    assert await schedule.service_name("tyres") == "换胎"
    await schedule.remove_closed_day(date(2026, 11, 30))
    assert (await schedule.load_calendar()).is_open(date(2026, 11, 30))
    await schedule.add_closed_day(date(2026, 12, 1))
    assert not (await schedule.load_calendar()).is_open(date(2026, 12, 1))
    await schedule.set_opening_hours(0, time(9, 0), time(17, 0), now=NOW)
    assert (await schedule.load_calendar()).hours[0] == (540, 1020, False)


async def test_a_load_overtaken_by_an_edit_is_not_cached(store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = schedule._read_calendar

    async def slow_read() -> schedule.Calendar:
        cal = await real()
        await schedule.set_rules(NOW, capacity_per_slot=7)  # an edit lands while the old rules are read
        return cal

    monkeypatch.setattr(schedule, "_read_calendar", slow_read)
    assert (await schedule.load_calendar()).capacity == 4
    monkeypatch.setattr(schedule, "_read_calendar", real)
    assert (await schedule.load_calendar()).capacity == 7


async def test_a_refused_reservation_undoes_the_slots_it_already_took(store: None) -> None:
    await fill("11-29 15:30", places=3)
    slots = {at("11-29 15:00"): 1, at("11-29 15:30"): 1}
    async with in_transaction():
        assert not await schedule.adjust_load(slots, 3)
        assert await load(at("11-29 15:00")) == 0
    assert await load(at("11-29 15:00")) == 0 and await load(at("11-29 15:30")) == 3
    assert await schedule.adjust_load({at("11-29 15:00"): 1, at("11-29 16:00"): 1}, 3)
    assert await load(at("11-29 15:00")) == 1 and await load(at("11-29 16:00")) == 1
